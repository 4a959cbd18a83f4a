// trace-forwarder: a simulated cardano-node that forwards trace objects, EKG metrics and data
// points to cardano-tracer over the real protocol (Initiator or Responder mode), for tests,
// demos and benchmarks. One io_context thread drives every simulated node.
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "protocol/data_points_codec.hpp"
#include "protocol/demuxer.hpp"
#include "protocol/ekg_codec.hpp"
#include "protocol/handshake.hpp"
#include "protocol/sdu.hpp"
#include "protocol/trace_objects_codec.hpp"
#include "tools/trace_forwarder/gathered_send.hpp"
#include "tools/trace_forwarder/simulated_node.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
namespace proto = ct::protocol;
using ct::forwarder::simulated_node;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

struct options {
    std::string connect, accept;
    std::uint32_t magic = 764824073;
    std::size_t nodes = 1;
    std::string name, name_prefix = "node";
    std::optional<std::uint64_t> count;
    double rate = 0;  // objects/s per node; 0 = as fast as the tracer takes them
    double duration = 0;
    std::size_t size = 400, queue_size = 192, metrics = 30;
    bool node_info = true;
    std::string tracer_config_info;
    std::string misbehave;
    std::size_t misbehave_nodes = SIZE_MAX;
    std::string summary_file;
    std::string sent_log;
    std::string host = "simhost";
    unsigned ekg_tick_ms = 500;
    bool replay = false;
    std::size_t replay_pool = 128;
};

const char* usage =
    "trace-forwarder - a simulated cardano-node forwarding traces to cardano-tracer\n\n"
    "Usage: trace-forwarder (--connect ADDR | --accept ADDR) [options]\n"
    "  --connect ADDR        Initiator: connect to the tracer (Unix path or host:port),\n"
    "                        like --tracer-socket-path-connect / --tracer-socket-network-connect\n"
    "  --accept ADDR         Responder: listen (like --tracer-socket-path-accept); with several\n"
    "                        nodes, node i listens on ADDR.i (path) or port+i (TCP)\n"
    "  --network-magic N     default 764824073\n"
    "  --nodes N             independent simulated nodes (connections), default 1\n"
    "  --name NAME           name of the single node (NodeInfo.niName)\n"
    "  --name-prefix P       names P-1 … P-N (default node)\n"
    "  --count N             trace objects per node; exit when all are sent\n"
    "  --rate R              trace objects per second per node (default: as fast as requested)\n"
    "  --duration S          stop after S seconds\n"
    "  --size BYTES          mean size of the machine JSON (default 400)\n"
    "  --queue-size N        node-side queue (default 192; overflow drops the whole queue)\n"
    "  --metrics K           EKG metrics per node (default 30)\n"
    "  --no-node-info        do not answer the NodeInfo data point\n"
    "  --host NAME           host field of trace objects (default simhost)\n"
    "  --misbehave X         wrong-magic | garbage | truncated-sdu | zero-length-sdu |\n"
    "                        unknown-protocol | invalid-cbor | invalid-utf8 | huge-string |\n"
    "                        disconnect-mid-message\n"
    "  --misbehave-nodes K   only the first K nodes misbehave (default all)\n"
    "  --summary-file F      also write the exit summary (JSON) to F\n"
    "  --tracer-config-info S  send Reflection.TracerConfigInfo first, shape TraceOptions|Options\n"
    "  --sent-log F          write \"<node> <seq> <namespace> <severity>\" per object sent to F\n"
    "  --replay              encode --replay-pool objects once and replay them (only the seq is\n"
    "                        written per object, as a fixed-width number): a generator cheap\n"
    "                        enough that the tracer is what a benchmark measures\n"
    "  --replay-pool N       distinct objects replayed per node (default 128:\n"
    "                        10 nodes' pools fit in a core's L2 cache)\n"
    "On exit a one-line JSON summary goes to stdout:\n"
    "  "
    "{\"nodes\":[{\"name\",\"generated\",\"sent\",\"first_seq\",\"last_seq\",\"overflow_drops\","
    "\"late_skipped\",\"connections\"}],\"cpu_seconds\",\"user_cpu_seconds\",\"setup_cpu_seconds\"}"
    "\n"
    "  (cpu_seconds: this process's own CPU time after setup, i.e. spent generating and sending;\n"
    "  user_cpu_seconds: the part of it in user space, without the kernel's send; setup: building\n"
    "  replay pools; late_skipped: objects --rate did not make because this process was late,\n"
    "  at most half a queue is made at once), and \"request_wait_us\": {replies, p50, p99, p999,\n"
    "  max}, from each reply handed to the socket to the next request's arrival\n";

std::optional<options> parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
            return argv[++i];
        };
        if (a == "--connect")
            o.connect = val();
        else if (a == "--accept")
            o.accept = val();
        else if (a == "--network-magic")
            o.magic = static_cast<std::uint32_t>(std::stoul(val()));
        else if (a == "--nodes")
            o.nodes = std::stoul(val());
        else if (a == "--name")
            o.name = val();
        else if (a == "--name-prefix")
            o.name_prefix = val();
        else if (a == "--count")
            o.count = std::stoull(val());
        else if (a == "--rate")
            o.rate = std::stod(val());
        else if (a == "--duration")
            o.duration = std::stod(val());
        else if (a == "--size")
            o.size = std::stoul(val());
        else if (a == "--queue-size")
            o.queue_size = std::stoul(val());
        else if (a == "--metrics")
            o.metrics = std::stoul(val());
        else if (a == "--no-node-info")
            o.node_info = false;
        else if (a == "--host")
            o.host = val();
        else if (a == "--misbehave")
            o.misbehave = val();
        else if (a == "--misbehave-nodes")
            o.misbehave_nodes = std::stoul(val());
        else if (a == "--summary-file")
            o.summary_file = val();
        else if (a == "--tracer-config-info")
            o.tracer_config_info = val();
        else if (a == "--sent-log")
            o.sent_log = val();
        else if (a == "--replay")
            o.replay = true;
        else if (a == "--replay-pool")
            o.replay_pool = std::stoul(val());
        else if (a == "-h" || a == "--help") {
            std::cout << usage;
            return std::nullopt;
        } else {
            throw std::runtime_error("unknown option " + a);
        }
    }
    if (o.connect.empty() == o.accept.empty())
        throw std::runtime_error("give exactly one of --connect and --accept");
    if (o.nodes == 0 || o.queue_size == 0)
        throw std::runtime_error("--nodes and --queue-size must be > 0");
    return o;
}

struct address {
    bool tcp = false;
    std::string path, host;
    unsigned short port = 0;
};

address parse_address(const std::string& s) {
    address a;
    auto colon = s.rfind(':');
    if (colon != std::string::npos && colon > 0 && colon + 1 < s.size() &&
        s.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
        s.size() - colon <= 6) {
        a.tcp = true;
        a.host = s.substr(0, colon);
        a.port = static_cast<unsigned short>(std::stoul(s.substr(colon + 1)));
    } else {
        a.path = s;
    }
    return a;
}

using socket_t = asio::generic::stream_protocol::socket;

class node_runtime {
  public:
    node_runtime(asio::io_context& ioc, const options& o, std::size_t index)
        : ioc_(ioc),
          o_(o),
          index_(index),
          node_(make_node_options(o, index)),
          wake_(ioc),
          drained_(ioc),
          done_signal_(ioc) {
        misbehave_ = index < o.misbehave_nodes ? o.misbehave : std::string();
    }

    simulated_node& node() { return node_; }
    bool finished() const { return finished_; }
    std::uint64_t connections() const { return connections_; }
    std::uint64_t late_skipped() const { return late_skipped_; }
    const std::vector<std::uint32_t>& request_waits_us() const { return request_waits_us_; }
    // A graceful stop: answer no further request, let the writer flush what was already handed
    // to the socket layer (those objects count as sent), then close.
    void begin_stop() {
        stopped_ = true;
        closing_ = true;
        wake_.cancel();
        drained_.cancel();
    }
    bool flushed() const { return sock_ == nullptr; }
    void stop() {
        stopped_ = true;
        close_socket();
        wake_.cancel();
        drained_.cancel();
    }

    asio::awaitable<void> run_initiator(address target);
    asio::awaitable<void> run_responder(address where);
    asio::awaitable<void> generate();
    void catch_up();
    asio::awaitable<void> tick_metrics();

  private:
    static ct::forwarder::node_options make_node_options(const options& o, std::size_t i) {
        ct::forwarder::node_options n;
        n.name =
            !o.name.empty() && o.nodes == 1 ? o.name : o.name_prefix + "-" + std::to_string(i + 1);
        n.host = o.host;
        n.queue_size = o.queue_size;
        n.mean_size = o.size;
        n.metrics = o.metrics;
        n.node_info = o.node_info;
        n.seed = 1000 + i;
        n.tracer_config_info = o.tracer_config_info;
        n.replay = o.replay;
        n.replay_pool = o.replay_pool;
        return n;
    }

    bool all_generated() const { return o_.count && node_.generated() >= *o_.count; }
    void fill_queue() {
        // Without a rate, keep the queue topped up (no overflow); with a rate, `generate` does it.
        if (o_.rate > 0) return;
        while (node_.room() > 0 && !all_generated()) node_.generate_one();
    }
    void close_socket() {
        if (sock_) {
            boost::system::error_code ec;
            sock_->shutdown(asio::socket_base::shutdown_both, ec);
            sock_->close(ec);
        }
    }
    void send(std::uint16_t protocol, std::string_view payload) {
        proto::append_sdus(outbox_, protocol, !we_connected_, payload, 0);
        wake_.cancel();
    }
    void try_answer();
    asio::awaitable<void> serve(socket_t sock, bool we_connected);
    asio::awaitable<void> reader();
    asio::awaitable<void> read_then_close();
    asio::awaitable<void> writer();
    bool misbehaving(const char* what) const { return misbehave_ == what; }

    asio::io_context& ioc_;
    const options& o_;
    std::size_t index_;
    simulated_node node_;
    std::string misbehave_;
    asio::steady_timer wake_;
    asio::steady_timer drained_;  // a write completed
    static constexpr std::size_t max_unwritten = 1 << 16;
    asio::steady_timer done_signal_;
    socket_t* sock_ = nullptr;
    bool we_connected_ = true;
    std::string outbox_, sending_;
    ct::forwarder::simulated_node::gathered_reply gathered_;
    std::vector<iovec> iov_;
    std::unique_ptr<proto::demuxer> demux_;
    std::optional<proto::trace_objects_request> pending_;
    bool replied_since_request_ = false;
    bool all_sent_acknowledged_ = false;
    bool node_info_answered_ = false;
    bool finished_ = false;
    bool stopped_ = false;
    bool closing_ = false;
    std::uint64_t connections_ = 0;
    std::chrono::steady_clock::time_point rate_start_;
    bool rate_started_ = false;
    std::uint64_t made_ = 0;
    std::uint64_t late_skipped_ = 0;  // objects not made because this process was late
    // The node's view of the tracer's turnaround: reply handed to the socket -> next request.
    std::optional<std::chrono::steady_clock::time_point> last_reply_at_;
    std::vector<std::uint32_t> request_waits_us_;
    static constexpr std::size_t max_wait_samples = 20'000'000;
    ct::forwarder::ekg_back_buffer ekg_back_;
};

void node_runtime::try_answer() {
    if (!pending_ || closing_) return;
    catch_up();
    fill_queue();
    if (node_.queued() == 0 && pending_->blocking) return;  // blocking: wait for an object
    const auto n = pending_->count;
    pending_.reset();
    if (misbehaving("invalid-cbor")) {
        send(proto::mini_protocol::trace_objects, "\xff\xff\xff");
        closing_ = true;
        return;
    }
    if (misbehaving("invalid-utf8")) {
        std::string bad;
        proto::trace_object_view v;
        v.machine = "{\"bad\":\"\xc3\x28\"}";
        v.ns = "Bad.Utf8";
        v.host = "h";
        v.thread = "1";
        proto::encode_trace_object(v, bad);
        std::vector<std::string_view> parts{bad};
        send(proto::mini_protocol::trace_objects,
             proto::encode_trace_objects_reply_from_encoded(parts));
        return;
    }
    if (misbehaving("huge-string")) {
        send(proto::mini_protocol::trace_objects,
             std::string("\x82\x03\x9f\x89\x00\x80\x7b\x00\x00\x01\x00\x00\x00\x00\x00", 15));
        return;
    }
    if (!misbehaving("disconnect-mid-message")) {
        // Usually nothing is waiting to be written: the reply then goes to the socket at once
        // as one gathered write of the replay pool's bytes (no copy in this process; a copy
        // of 400-byte objects was half of its user time). Otherwise, and for what the socket
        // does not take now, it is framed into the outbox: one copy per byte.
        if (outbox_.empty() && sending_.empty() &&
            node_.take_gathered_reply(n, !we_connected_, gathered_)) {
            ct::forwarder::send_gathered(sock_->native_handle(), gathered_.parts, outbox_, iov_);
            if (!outbox_.empty()) wake_.cancel();  // the rest goes by the writer
        } else {
            proto::sdu_stream out(outbox_, proto::mini_protocol::trace_objects, !we_connected_);
            node_.take_reply(n, out);
            wake_.cancel();
        }
        replied_since_request_ = true;
        last_reply_at_ = std::chrono::steady_clock::now();
        fill_queue();
        return;
    }
    {
        std::string reply = node_.take_reply(n);
        std::string sdus;
        proto::append_sdus(sdus,
                           proto::mini_protocol::trace_objects,
                           !we_connected_,
                           reply.substr(0, reply.size() / 2),
                           0);
        outbox_ += sdus;
        wake_.cancel();
        closing_ = true;
    }
}

asio::awaitable<void> node_runtime::reader() {
    std::array<char, 65536> buf;
    bool first = true;  // requests that arrived with the handshake reply are already buffered
    for (;;) {
        if (!first) {
            auto [ec, n] = co_await sock_->async_read_some(asio::buffer(buf), nothrow);
            if (ec) co_return;
            if (demux_->feed(std::string_view(buf.data(), n))) co_return;
        }
        first = false;
        for (std::uint16_t p : {proto::mini_protocol::ekg,
                                proto::mini_protocol::trace_objects,
                                proto::mini_protocol::data_points}) {
            for (;;) {
                auto next = demux_->next_message(p);
                if (!next) co_return;
                if (!next->has_value()) break;
                // Back-pressure: answer no further request while a lot is still unwritten (a
                // peer that requests far ahead must not grow the outbox without bound).
                while (outbox_.size() > max_unwritten && !closing_ && !stopped_) {
                    drained_.expires_at(asio::steady_timer::time_point::max());
                    co_await drained_.async_wait(nothrow);
                }
                if (closing_ || stopped_) co_return;
                const std::string_view msg = **demux_->next_message(p);
                if (p == proto::mini_protocol::trace_objects) {
                    auto req = proto::decode_trace_objects_request(msg);
                    demux_->pop_message(p);
                    if (!req || req->done) co_return;  // MsgDone: a real node stops forwarding
                    if (all_generated() && node_.queued() == 0 && replied_since_request_) {
                        // The tracer asked again after the last reply: it has read everything.
                        all_sent_acknowledged_ = true;
                        // A real node is asked for NodeInfo early and always answers; do not
                        // leave before that (the tracer would name us by our NodeId).
                        if (node_info_answered_ || !o_.node_info) {
                            finished_ = true;
                            done_signal_.cancel();
                        }
                    }
                    if (last_reply_at_ && request_waits_us_.size() < max_wait_samples) {
                        const auto waited = std::chrono::steady_clock::now() - *last_reply_at_;
                        request_waits_us_.push_back(static_cast<std::uint32_t>(
                            std::chrono::duration_cast<std::chrono::microseconds>(waited).count()));
                    }
                    last_reply_at_.reset();
                    pending_ = *req;
                    try_answer();
                } else if (p == proto::mini_protocol::ekg) {
                    auto req = proto::decode_ekg_request(msg);
                    if (!req || req->done) co_return;
                    send(p, node_.ekg_reply(*req, ekg_back_));
                    demux_->pop_message(p);
                } else {
                    auto req = proto::decode_data_points_request(msg);
                    if (!req || req->done) co_return;
                    std::vector<std::string> values;
                    std::vector<std::pair<std::string_view, std::optional<std::string_view>>> reply;
                    values.reserve(req->names.size());
                    for (auto name : req->names) {
                        auto v = node_.data_point(name);
                        values.push_back(v.value_or(""));
                        reply.emplace_back(
                            name,
                            v ? std::optional<std::string_view>(values.back()) : std::nullopt);
                    }
                    send(p, proto::encode_data_points_reply(reply));
                    demux_->pop_message(p);
                    for (auto name : req->names) node_info_answered_ |= name == "NodeInfo";
                    if (node_info_answered_ && all_sent_acknowledged_ && !finished_) {
                        finished_ = true;
                        done_signal_.cancel();
                    }
                }
            }
        }
        if (finished_ && o_.count) co_return;
    }
}

asio::awaitable<void> node_runtime::read_then_close() {
    co_await reader();
    closing_ = true;
    wake_.cancel();
}

asio::awaitable<void> node_runtime::writer() {
    struct stop_reader {
        node_runtime& self;
        ~stop_reader() {
            boost::system::error_code ec;
            if (self.sock_) self.sock_->cancel(ec);
            self.closing_ = true;
            self.drained_.cancel();
        }
    } on_exit{*this};
    for (;;) {
        if (outbox_.empty()) {
            if (closing_ || stopped_) co_return;
            wake_.expires_at(asio::steady_timer::time_point::max());
            co_await wake_.async_wait(nothrow);
            continue;
        }
        // Two buffers swapped, so both keep their capacity: no allocation per write.
        sending_.swap(outbox_);
        outbox_.clear();
        auto [ec, n] = co_await asio::async_write(*sock_, asio::buffer(sending_), nothrow);
        sending_.clear();
        drained_.cancel();
        if (ec) co_return;
    }
}

asio::awaitable<void> node_runtime::serve(socket_t sock, bool we_connected) {
    ++connections_;
    sock_ = &sock;
    we_connected_ = we_connected;
    closing_ = false;
    outbox_.clear();
    pending_.reset();
    replied_since_request_ = false;
    ekg_back_ = {};  // the EKG back buffer is per connection
    demux_ = std::make_unique<proto::demuxer>(we_connected);

    // Handshake (and the misbehaviours that break it).
    const bool proto0_responder = !we_connected;
    auto raw_write = [&](std::string bytes) -> asio::awaitable<bool> {
        auto [ec, n] = co_await asio::async_write(sock, asio::buffer(bytes), nothrow);
        co_return !ec;
    };
    if (misbehaving("garbage")) {
        std::string junk(64, '\0');
        std::mt19937 rng(static_cast<unsigned>(index_));
        for (auto& c : junk) c = static_cast<char>(rng());
        co_await raw_write(junk);
        sock_ = nullptr;
        co_return;
    }
    if (misbehaving("truncated-sdu")) {
        co_await raw_write(std::string("\x00\x00\x00\x00\x00\x00\x00\x20\x82\x00", 10));
        sock_ = nullptr;
        co_return;
    }
    if (misbehaving("zero-length-sdu")) {
        co_await raw_write(std::string("\x00\x00\x00\x00\x00\x02\x00\x00", 8));
        sock_ = nullptr;
        co_return;
    }
    if (we_connected) {
        std::string out;
        proto::append_sdus(
            out,
            0,
            false,
            proto::encode_propose_versions(misbehaving("wrong-magic") ? o_.magic + 1 : o_.magic),
            0);
        const bool written = co_await raw_write(out);
        if (!written) co_return;
    }
    std::array<char, 8192> buf;
    std::string msg;
    for (;;) {
        auto next = demux_->next_message(0);
        if (!next) co_return;
        if (next->has_value()) {
            msg = std::string(**next);
            demux_->pop_message(0);
            break;
        }
        auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), nothrow);
        if (ec || demux_->feed(std::string_view(buf.data(), n))) {
            sock_ = nullptr;
            co_return;
        }
    }
    if (proto0_responder) {
        auto d = proto::decide_handshake(msg, misbehaving("wrong-magic") ? o_.magic + 1 : o_.magic);
        std::string out;
        proto::append_sdus(out, 0, true, d.reply_payload, 0);
        co_await raw_write(out);
        if (!d.accepted) {
            std::cerr << node_.name() << ": handshake refused: " << d.refuse_reason << "\n";
            sock_ = nullptr;
            co_return;
        }
    } else {
        auto c = proto::check_handshake_reply(msg, o_.magic);
        if (!c.accepted) {
            std::cerr << node_.name() << ": handshake refused: " << c.reason << "\n";
            sock_ = nullptr;
            co_return;
        }
    }
    demux_->handshake_done();
    if (misbehaving("unknown-protocol")) {
        std::string out;
        proto::append_sdus(out, 9, !we_connected, "\x80", 0);
        co_await raw_write(out);
    }
    fill_queue();
    // The writer always drains what was answered before it stops (a reader that finishes must
    // not cancel a write half done: the peer would lose replies it asked for, or see a torn
    // SDU); when the writer stops, it cancels the reader.
    co_await (read_then_close() && writer());
    boost::system::error_code ec;
    sock.shutdown(asio::socket_base::shutdown_both, ec);
    sock.close(ec);
    sock_ = nullptr;
}

asio::awaitable<void> node_runtime::run_initiator(address target) {
    auto delay = 1s;
    asio::steady_timer t(ioc_);
    while (!stopped_ && !finished_) {
        boost::system::error_code ec;
        std::optional<socket_t> sock;
        if (target.tcp) {
            asio::ip::tcp::resolver r(ioc_);
            auto [rec, res] =
                co_await r.async_resolve(target.host, std::to_string(target.port), nothrow);
            ec = rec;
            if (!ec) {
                asio::ip::tcp::socket s(ioc_);
                auto [cec, ep] = co_await asio::async_connect(s, res, nothrow);
                ec = cec;
                if (!ec) {
                    s.set_option(asio::ip::tcp::no_delay(true), ec);
                    sock.emplace(
                        ioc_,
                        asio::generic::stream_protocol(ep.protocol().family(), SOCK_STREAM),
                        s.release());
                }
            }
        } else {
            asio::local::stream_protocol::socket s(ioc_);
            std::tie(ec) = co_await s.async_connect(
                asio::local::stream_protocol::endpoint(target.path), nothrow);
            if (!ec)
                sock.emplace(
                    ioc_, asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), s.release());
        }
        if (sock) {
            delay = 1s;
            co_await serve(std::move(*sock), true);
            if (!misbehave_.empty() && misbehave_ != "invalid-utf8")
                break;  // one bad connection is enough
        }
        if (stopped_ || finished_) break;
        t.expires_after(delay);
        co_await t.async_wait(nothrow);
        delay = std::min<std::chrono::seconds>(delay * 2, 8s);
    }
    finished_ = true;
    done_signal_.cancel();
}

asio::awaitable<void> node_runtime::run_responder(address where) {
    if (where.tcp) {
        asio::ip::tcp::acceptor acc(
            ioc_,
            asio::ip::tcp::endpoint(
                asio::ip::make_address(where.host == "localhost" ? "127.0.0.1" : where.host),
                where.port));
        while (!stopped_ && !finished_) {
            auto [ec, s] = co_await acc.async_accept(nothrow);
            if (ec) break;
            auto ep = s.remote_endpoint(ec);
            co_await serve(
                socket_t(ioc_,
                         asio::generic::stream_protocol(ep.protocol().family(), SOCK_STREAM),
                         s.release()),
                false);
        }
    } else {
        ::unlink(where.path.c_str());
        asio::local::stream_protocol::acceptor acc(
            ioc_, asio::local::stream_protocol::endpoint(where.path));
        while (!stopped_ && !finished_) {
            auto [ec, s] = co_await acc.async_accept(nothrow);
            if (ec) break;
            co_await serve(
                socket_t(ioc_, asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), s.release()),
                false);
        }
        ::unlink(where.path.c_str());
    }
    finished_ = true;
}

void node_runtime::catch_up() {
    // Objects appear at the configured rate, smoothly: whenever the node looks (a timer, or a
    // request about to be answered) it makes what is due by now, so a fast tracer sees no
    // bursts and the queue overflows only when the tracer really is too slow.
    if (o_.rate <= 0 || !rate_started_) return;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - rate_start_).count();
    const auto due = static_cast<std::uint64_t>(elapsed * o_.rate);
    // When this process was late (descheduled on a busy machine), the objects of the missed
    // time are not made in one burst: a burst over the queue would overflow it with the
    // tracer's request already waiting, a drop that is the generator's, not the tracer's.
    // At most half a queue is made at once; what is skipped lowers the offered rate, counted.
    const std::uint64_t burst = std::max<std::size_t>(1, o_.queue_size / 2);
    if (due > made_ + burst) {
        late_skipped_ += due - made_ - burst;
        made_ = due - burst;
    }
    while (made_ < due && !all_generated()) {
        node_.generate_one();
        ++made_;
    }
}

asio::awaitable<void> node_runtime::generate() {
    if (o_.rate <= 0) co_return;
    asio::steady_timer t(ioc_);
    rate_start_ = std::chrono::steady_clock::now();
    rate_started_ = true;
    // Look often enough that a quarter of the queue at most is made between looks.
    const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(
            std::clamp(static_cast<double>(o_.queue_size) / o_.rate / 4, 0.0002, 0.01)));
    while (!stopped_ && !all_generated() && !finished_) {
        t.expires_after(period);
        co_await t.async_wait(nothrow);
        catch_up();
        try_answer();
    }
}

asio::awaitable<void> node_runtime::tick_metrics() {
    asio::steady_timer t(ioc_);
    while (!stopped_ && !finished_) {
        t.expires_after(std::chrono::milliseconds(o_.ekg_tick_ms));
        co_await t.async_wait(nothrow);
        node_.tick_metrics();
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<options> parsed;
    try {
        parsed = parse(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "trace-forwarder: " << e.what() << "\n\n" << usage;
        return 2;
    }
    if (!parsed) return 0;
    const options o = *parsed;
    std::signal(SIGPIPE, SIG_IGN);

    asio::io_context ioc(1);
    std::vector<std::unique_ptr<node_runtime>> nodes;
    for (std::size_t i = 0; i < o.nodes; ++i)
        nodes.push_back(std::make_unique<node_runtime>(ioc, o, i));
    // The replay pools are built before the clock starts: cpu_seconds is the cost of sending.
    // {all, user}: its own work (user) plus the kernel's copies into the sockets (system),
    // which any sender pays.
    struct cpu_times {
        double all, user;
    };
    const auto cpu_now = [] {
        const auto seconds = [](const timeval& t) {
            return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
        };
        rusage usage{};
        ::getrusage(RUSAGE_SELF, &usage);
        return cpu_times{seconds(usage.ru_utime) + seconds(usage.ru_stime),
                         seconds(usage.ru_utime)};
    };
    for (auto& n : nodes) n->node().build_pool();
    const cpu_times setup_cpu = cpu_now();
    std::ofstream sent_log;
    if (!o.sent_log.empty()) {
        sent_log.open(o.sent_log);
        for (auto& n : nodes) n->node().set_sent_log(&sent_log);
    }

    // Stopping flushes first, so "sent" in the summary is exactly what reached the socket; a
    // peer that does not read gets a bounded grace period.
    asio::steady_timer grace(ioc);
    bool stopping = false;
    std::function<void(std::chrono::steady_clock::time_point)> finish_stop =
        [&](std::chrono::steady_clock::time_point deadline) {
            bool all = true;
            for (auto& n : nodes) all = all && n->flushed();
            if (all || std::chrono::steady_clock::now() >= deadline) {
                for (auto& n : nodes) n->stop();
                ioc.stop();
                return;
            }
            grace.expires_after(5ms);
            grace.async_wait([&, deadline](boost::system::error_code ec) {
                if (!ec) finish_stop(deadline);
            });
        };
    auto stop_all = [&] {
        if (std::exchange(stopping, true)) return;
        for (auto& n : nodes) n->begin_stop();
        finish_stop(std::chrono::steady_clock::now() + 2s);
    };
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec) stop_all();
    });
    asio::steady_timer duration_timer(ioc);
    if (o.duration > 0) {
        duration_timer.expires_after(
            std::chrono::milliseconds(static_cast<long long>(o.duration * 1000)));
        duration_timer.async_wait([&](boost::system::error_code ec) {
            if (!ec) stop_all();
        });
    }
    // Exit when every node is finished (count mode, or gave up after misbehaving).
    asio::steady_timer poll(ioc);
    std::function<void()> check = [&] {
        bool all = true;
        for (auto& n : nodes) all = all && n->finished();
        if (all) {
            stop_all();
            return;
        }
        poll.expires_after(20ms);
        poll.async_wait([&](boost::system::error_code ec) {
            if (!ec) check();
        });
    };
    check();

    for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto& n = *nodes[i];
        if (!o.connect.empty()) {
            asio::co_spawn(ioc, n.run_initiator(parse_address(o.connect)), asio::detached);
        } else {
            address a = parse_address(o.accept);
            if (o.nodes > 1) {
                if (a.tcp) {
                    a.port = static_cast<unsigned short>(a.port + i);
                } else {
                    a.path += "." + std::to_string(i + 1);
                }
            }
            asio::co_spawn(ioc, n.run_responder(a), asio::detached);
        }
        asio::co_spawn(ioc, n.generate(), asio::detached);
        asio::co_spawn(ioc, n.tick_metrics(), asio::detached);
    }
    try {
        ioc.run();
    } catch (const std::exception& e) {
        std::cerr << "trace-forwarder: " << e.what() << "\n";
    }

    nlohmann::ordered_json summary;
    summary["nodes"] = nlohmann::ordered_json::array();
    bool ok = true;
    for (auto& n : nodes) {
        nlohmann::ordered_json j;
        j["name"] = n->node().name();
        j["generated"] = n->node().generated();
        j["sent"] = n->node().sent();
        j["first_seq"] = n->node().first_sent_seq();
        j["last_seq"] = n->node().last_sent_seq();
        j["overflow_drops"] = n->node().overflow_drops();
        j["late_skipped"] = n->late_skipped();
        j["connections"] = n->connections();
        summary["nodes"].push_back(j);
        if (o.count && n->node().sent() < *o.count) ok = false;
    }
    // Reply out -> next request in, over all nodes (the tracer's turnaround plus both sockets,
    // as the node sees it; this process's own scheduling delays are in it too).
    std::vector<std::uint32_t> waits;
    for (auto& n : nodes)
        waits.insert(waits.end(), n->request_waits_us().begin(), n->request_waits_us().end());
    if (!waits.empty()) {
        std::sort(waits.begin(), waits.end());
        const auto at = [&](double q) {
            const auto rank = static_cast<std::size_t>(q * static_cast<double>(waits.size()));
            return waits[std::min(waits.size() - 1, rank)];
        };
        summary["request_wait_us"] = {{"replies", waits.size()},
                                      {"p50", at(0.5)},
                                      {"p99", at(0.99)},
                                      {"p999", at(0.999)},
                                      {"max", waits.back()}};
    }
    const cpu_times end_cpu = cpu_now();
    summary["cpu_seconds"] = end_cpu.all - setup_cpu.all;
    summary["user_cpu_seconds"] = end_cpu.user - setup_cpu.user;
    summary["setup_cpu_seconds"] = setup_cpu.all;
    std::cout << summary.dump() << std::endl;
    if (!o.summary_file.empty()) std::ofstream(o.summary_file) << summary.dump() << "\n";
    return ok ? 0 : 1;
}
