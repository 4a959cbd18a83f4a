#include "tracer/core/session.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "dispatcher/node_dispatcher.hpp"
#include "dispatcher/node_names.hpp"
#include "protocol/data_points_codec.hpp"
#include "protocol/demuxer.hpp"
#include "protocol/describe.hpp"
#include "protocol/ekg_codec.hpp"
#include "protocol/handshake.hpp"
#include "protocol/sdu.hpp"
#include "protocol/trace_objects_codec.hpp"
#include "tracer/core/ekg_schedule.hpp"
#include "tracer/core/read_buffer.hpp"
#include "tracer/core/self_log.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/core/slot_timers.hpp"
#include "tracer/metrics/node_directory.hpp"
#include "tracer/outputs/output_router.hpp"
#include "tracer/timeseries/service.hpp"
#include "tracer/timeseries/store.hpp"

namespace ct::tracer {
namespace {

namespace proto = ct::protocol;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

constexpr std::uint16_t p_handshake = 0;
constexpr std::uint16_t p_ekg = 1;
constexpr std::uint16_t p_trace_objects = 2;
constexpr std::uint16_t p_data_points = 3;

std::uint32_t timestamp_us() {
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(clock::now().time_since_epoch());
    return static_cast<std::uint32_t>(us.count());
}

/// Pointers the outside world may use to poke a live session; they are only dereferenced on the
/// session's strand, and the session clears them before it ends.
struct session_handle {
    stream_socket* socket = nullptr;
    asio::steady_timer* delivery_signal = nullptr;
};

/// A TraceObject's timestamp in seconds: the frequency limiters' clock.
double seconds_of(const proto::utc_time& t) {
    return static_cast<double>(t.seconds) + static_cast<double>(t.picoseconds) * 1e-12;
}

asio::awaitable<bool> was_cancelled() {
    auto cs = co_await asio::this_coro::cancellation_state;
    co_return cs.cancelled() != asio::cancellation_type::none;
}

class session {
  public:
    session(stream_socket& sock, peer_info& peer, session_context& ctx)
        : sock_(sock),
          peer_(peer),
          ctx_(ctx),
          cfg_(ctx.settings()),
          demux_(peer.we_connected,
                 proto::demux_limits{cfg_->max_message_bytes, cfg_->max_ingress_bytes}),
          write_signal_(sock.get_executor()),
          delivery_signal_(sock.get_executor()),
          ekg_wait_(sock.get_executor()),
          name_timer_(sock.get_executor()) {}

    asio::awaitable<void> run();

    /// Shutdown, step 1: ask for nothing more; close once the outstanding reply has been read
    /// (so every object the node already took from its queue reaches the writer).
    void begin_drain() {
        draining_ = true;
        if (!request_outstanding_) force_close();
    }
    /// Shutdown, step 2 (or at once): close the socket; the read loop ends.
    void force_close() {
        boost::system::error_code ec;
        sock_.shutdown(asio::socket_base::shutdown_both, ec);
        sock_.close(ec);
        fail("closed by the tracer (shutdown)", false);
    }

    /// Why it ended (empty while it runs) and whether that is a problem worth counting.
    const std::string& reason() const { return reason_; }
    bool ended_badly() const { return reason_is_problem_ && !reason_.empty(); }
    session_error error_kind() const { return error_kind_; }
    /// An exception escaped one of the loops: the session ends as a whole.
    void fail_internal(const std::string& what) {
        fail("internal error: " + what, session_error::internal);
        boost::system::error_code ec;
        sock_.close(ec);
    }

  private:
    // --- helpers -------------------------------------------------------------------------
    bool quiet_problems() const { return cfg_->verbose == verbosity::minimum; }
    nlohmann::json conn_json() const {
        return {{"conn", peer_.address}, {"connectionId", peer_.connection_id}};
    }
    void send(std::uint16_t protocol, std::string_view payload) {
        // SDUs we send carry M=1 when we accepted the connection (spec §2.2).
        const bool idle = outbox_.empty() && !write_in_flight_;
        proto::append_sdus(outbox_, protocol, !peer_.we_connected, payload, timestamp_us());
        dump(protocol, "send", payload);
        if (idle) {
            // Nothing queued or being written: try the socket at once (a request is a few
            // bytes) instead of waking the write loop; what does not fit goes the usual way.
            const ssize_t n = ::send(
                sock_.native_handle(), outbox_.data(), outbox_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) outbox_.erase(0, static_cast<std::size_t>(n));
            if (outbox_.empty()) return;
        }
        write_signal_.cancel();
    }
    void dump(std::uint16_t protocol, const char* direction, std::string_view payload) {
        if (cfg_->verbose != verbosity::maximum) return;
        auto j = conn_json();
        j["protocol"] = protocol;
        j["direction"] = direction;
        j["message"] = proto::describe_message(protocol, payload);
        ctx_.log.emit("MiniProtocolMessage", own_severity::info, std::move(j));
    }
    // The first reason wins; `kind` counts it in cardano_tracer_session_errors_total.
    void fail(std::string reason, bool problem = true, session_error kind = session_error::io) {
        if (reason_.empty()) {
            reason_ = std::move(reason);
            reason_is_problem_ = problem;
            error_kind_ = kind;
        }
    }
    void fail(std::string reason, session_error kind) { fail(std::move(reason), true, kind); }

    // --- phases --------------------------------------------------------------------------
    asio::awaitable<bool> read_into_demux();
    asio::awaitable<bool> handshake();
    asio::awaitable<void> read_loop();
    asio::awaitable<void> write_loop();
    asio::awaitable<void> delivery_loop();
    asio::awaitable<void> ekg_loop();
    asio::awaitable<void> naming_loop();
    asio::awaitable<void> flush_pending_after_close();
    asio::awaitable<void> wait_forever(asio::steady_timer& t);
    template <typename T>
    asio::awaitable<T> guarded(asio::awaitable<T> loop);
    void enable_keep_alive();

    bool handle_messages();
    bool on_trace_objects(std::string_view msg);
    /// The reply just decoded into objects_ (or the decoder's error).
    bool on_trace_objects_decoded(std::error_code ec);
    bool on_ekg(std::string_view msg);
    void submit_to_timeseries(const proto::ekg_response_view& response);
    bool on_data_points(std::string_view msg);
    void send_trace_request() {
        if (draining_) return;
        if (reply_at_) {
            ctx_.turnaround.observe(clock::now() - *reply_at_);
            reply_at_.reset();
        }
        request_outstanding_ = true;
        send(p_trace_objects, proto::encode_trace_objects_request(true, cfg_->request_num));
    }
    void resolve_name(std::optional<std::string> preferred);
    /// Picks up a reloaded configuration (once per reply): the next request, the EKG pause
    /// and the dispatcher's rules follow it.
    void refresh_settings() {
        auto fresh = ctx_.settings();
        if (fresh == cfg_) return;
        cfg_ = std::move(fresh);
        if (dispatcher_ && cfg_->routing) dispatcher_->rebind(cfg_->routing);
    }
    /// The dispatcher's decision for each object of the reply; filtered ones are not copied.
    void dispatch_reply(outputs::trace_batch& batch);
    /// A batch received before the node's name was known gets its routes now; false when
    /// nothing of it is left.
    bool dispatch_late(outputs::trace_batch& batch);
    /// The usual case, without waking the delivery loop: a reply's batch handed to the writer
    /// as it is decoded (name known, nothing waiting before it). False: it waits in pending_.
    bool hand_over_now(outputs::trace_batch& batch);
    void count_filtered(std::uint64_t n);
    void remember_tracer_config(const proto::trace_object_view& o);
    void report_limiter_events();

    stream_socket& sock_;
    bool write_in_flight_ = false;  // the write loop has bytes in the socket layer
    peer_info& peer_;
    session_context& ctx_;
    std::shared_ptr<const session_settings> cfg_;
    proto::demuxer demux_;
    read_buffer read_buffer_;

    std::string outbox_;
    asio::steady_timer write_signal_;

    // TraceObjects
    proto::trace_objects_reply_decoder decoder_;
    std::vector<proto::trace_object_view> objects_;
    bool request_outstanding_ = false;
    clock::time_point last_read_at_{};           // when the last bytes arrived
    std::optional<clock::time_point> reply_at_;  // last reply, until the next request leaves
    std::shared_ptr<node_traffic> traffic_;      // once named
    std::uint64_t received_before_name_ = 0;
    std::deque<outputs::trace_batch> pending_;
    asio::steady_timer delivery_signal_;
    std::optional<dispatcher::node_dispatcher> dispatcher_;  // once named
    std::vector<dispatcher::section_mask> masks_;            // per object of a reply

    // EKG
    bool ekg_response_ready_ = false;
    bool ekg_response_late_ = false;  // the loop waits for the response itself: wake it
    clock::time_point ekg_request_at_{}, ekg_response_at_{};
    slot_wait ekg_wait_;  // one of many sessions' waits on one timer (slot_timers.hpp)

    // Naming via the NodeInfo data point
    enum class dp_expect { initial, node_info, node_state, none };
    static constexpr std::chrono::seconds node_state_period{5};
    dp_expect dp_expect_ = dp_expect::initial;
    bool name_resolved_ = false;
    std::string name_;
    asio::steady_timer name_timer_;

    std::string reason_;
    bool reason_is_problem_ = true;
    session_error error_kind_ = session_error::io;
    bool draining_ = false;
    std::shared_ptr<metrics::node_metrics> store_;  // this node's EKG metrics
};

asio::awaitable<void> session::wait_forever(asio::steady_timer& t) {
    t.expires_at(clock::time_point::max());
    co_await t.async_wait(use_nothrow_awaitable);
}

// Runs one loop; an exception becomes the session's end reason and a normal completion, so
// that `||` cancels the sibling loops.
template <typename T>
asio::awaitable<T> session::guarded(asio::awaitable<T> loop) {
    std::string what;
    try {
        co_return co_await std::move(loop);
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
        what = "unknown exception";
    }
    fail_internal(what);
    co_return T{};
}

template <>
asio::awaitable<void> session::guarded(asio::awaitable<void> loop) {
    std::string what;
    try {
        co_await std::move(loop);
        co_return;
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
        what = "unknown exception";
    }
    fail_internal(what);
}

void session::enable_keep_alive() {
    // A node whose host froze is noticed by the kernel: the read fails and the name is freed.
    const auto idle = cfg_->tcp_keep_alive.count();
    if (idle <= 0) return;
    const int fd = sock_.native_handle();
    const int on = 1, interval = 10, probes = 4, idle_secs = static_cast<int>(idle);
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_secs, sizeof idle_secs);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

asio::awaitable<bool> session::read_into_demux() {
    const auto space = read_buffer_.space();
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(space.data(), space.size()),
                                                  use_nothrow_awaitable);
    if (ec) {
        if (ec == asio::error::eof) {
            fail("the node closed the connection", false);
        } else if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) {
            fail("closed by the tracer", false);
        } else {
            fail("read error: " + ec.message());
        }
        co_return false;
    }
    last_read_at_ = clock::now();
    const auto fed = demux_.feed(std::string_view(space.data(), n));
    read_buffer_.filled(n);
    if (auto err = fed) {
        ctx_.counters.protocol_errors++;
        fail("protocol error: " + err.message(), session_error::protocol);
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> session::handshake() {
    if (peer_.we_connected) {
        send(p_handshake, proto::encode_propose_versions(cfg_->network_magic));
        std::string buf;
        buf.swap(outbox_);
        auto [wec, wn] =
            co_await asio::async_write(sock_, asio::buffer(buf), use_nothrow_awaitable);
        if (wec) {
            fail("write error: " + wec.message());
            co_return false;
        }
    }
    for (;;) {
        auto next = demux_.next_message(p_handshake);
        if (!next) {
            ctx_.counters.protocol_errors++;
            fail("handshake: " + next.error().message(), session_error::handshake);
            co_return false;
        }
        if (next->has_value()) break;
        const bool more = co_await read_into_demux();
        if (!more) co_return false;
    }
    const std::string_view msg = **demux_.next_message(p_handshake);
    dump(p_handshake, "recv", msg);

    if (peer_.we_connected) {
        auto check = proto::check_handshake_reply(msg, cfg_->network_magic);
        demux_.pop_message(p_handshake);
        if (!check.accepted) {
            ctx_.counters.handshakes_refused++;
            if (!quiet_problems()) {
                auto j = conn_json();
                j["reason"] = check.reason;
                ctx_.log.emit("HandshakeRefused", own_severity::warning, std::move(j));
            }
            fail("handshake refused: " + check.reason, session_error::handshake);
            co_return false;
        }
    } else {
        auto decision = proto::decide_handshake(msg, cfg_->network_magic);
        demux_.pop_message(p_handshake);
        send(p_handshake, decision.reply_payload);
        std::string buf;
        buf.swap(outbox_);
        auto [wec, wn] =
            co_await asio::async_write(sock_, asio::buffer(buf), use_nothrow_awaitable);
        if (!decision.accepted) {
            ctx_.counters.handshakes_refused++;
            if (!quiet_problems()) {
                auto j = conn_json();
                j["reason"] = decision.refuse_reason;
                ctx_.log.emit("HandshakeRefused", own_severity::warning, std::move(j));
            }
            fail("handshake refused: " + decision.refuse_reason, session_error::handshake);
            co_return false;
        }
        if (wec) {
            fail("write error: " + wec.message());
            co_return false;
        }
    }
    demux_.handshake_done();
    auto j = conn_json();
    j["networkMagic"] = cfg_->network_magic;
    ctx_.log.emit("HandshakeAccepted", own_severity::info, std::move(j));
    co_return true;
}

asio::awaitable<void> session::run() {
    {
        auto j = conn_json();
        j["connectionIncomingAt"] = peer_.we_connected ? peer_.address : peer_.local_path;
        if (!peer_.we_connected) {
            ctx_.log.emit("SockIncoming", own_severity::info, std::move(j));
        }
    }

    if (peer_.is_tcp) enable_keep_alive();
    // A silent peer is closed after handshakeTimeoutSecs, on TCP and on Unix sockets
    // (upstream limits TCP only, spec §3.7: a frozen local peer would hold a slot forever).
    bool ok = false;
    {
        asio::steady_timer deadline(sock_.get_executor());
        deadline.expires_after(cfg_->handshake_timeout);
        auto result = co_await (guarded(handshake()) || deadline.async_wait(use_nothrow_awaitable));
        if (result.index() == 0) {
            ok = std::get<0>(result);
        } else {
            // The cancelled handshake may have recorded "closed by the tracer" first.
            reason_.clear();
            fail("handshake timed out", session_error::timeout);
        }
    }

    if (ok) {
        store_ = ctx_.directory.add(peer_.connection_id, cfg_->max_metrics_per_node);
        // All three mini-protocols start at once; the tracer speaks first on each.
        send(p_ekg,
             proto::encode_ekg_request(cfg_->ekg_full ? proto::ekg_request_kind::get_all
                                                      : proto::ekg_request_kind::get_updated));
        send_trace_request();
        send(p_data_points, proto::encode_data_points_request({}));
        name_timer_.expires_after(cfg_->node_info_timeout);
        // The first loop to end ends them all; an exception in one ends the session too
        // (guarded), instead of leaving the others waiting on their timers.
        co_await (guarded(read_loop()) || guarded(write_loop()) || guarded(delivery_loop()) ||
                  guarded(ekg_loop()) || guarded(naming_loop()));
    }

    // Everything the node handed over reaches the writer, even when the connection broke.
    co_await flush_pending_after_close();

    auto j = conn_json();
    j["nodeId"] = peer_.node_id;
    if (name_resolved_) j["nodeName"] = name_;
    if (reason_is_problem_) {
        if (!quiet_problems()) {
            j["message"] = reason_;
            ctx_.log.emit("ForwardingInterrupted", own_severity::warning, std::move(j));
        }
    } else {
        j["reason"] = reason_;
        ctx_.log.emit("ConnectionClosed", own_severity::info, std::move(j));
    }
}

asio::awaitable<void> session::read_loop() {
    // Bytes that arrived together with the handshake are already in the demuxer.
    for (;;) {
        if (!handle_messages()) co_return;
        const bool more = co_await read_into_demux();
        if (!more) co_return;
    }
}

bool session::handle_messages() {
    for (std::uint16_t p : {p_ekg, p_trace_objects, p_data_points}) {
        for (;;) {
            if (p == p_trace_objects && !demux_.scanning(p)) {
                // Decode-first: a reply that arrived whole (the usual case) is decoded in one
                // pass that also finds its end; only one that arrives in pieces is scanned.
                const auto bytes = demux_.buffered(p);
                if (bytes.empty()) break;
                std::size_t used = 0;
                const auto ec = decoder_.decode_front(bytes, objects_, used);
                if (ec != proto::errc::truncated) {
                    dump(p, "recv", bytes.substr(0, ec ? bytes.size() : used));
                    const bool ok = on_trace_objects_decoded(ec);
                    demux_.consume_message(p, used);
                    if (!ok) return false;
                    continue;
                }
            }
            auto next = demux_.next_message(p);
            if (!next) {
                ctx_.counters.protocol_errors++;
                fail("protocol error: " + next.error().message(), session_error::protocol);
                return false;
            }
            if (!next->has_value()) break;
            std::string_view msg = **next;
            dump(p, "recv", msg);
            bool ok = p == p_trace_objects ? on_trace_objects(msg)
                      : p == p_ekg         ? on_ekg(msg)
                                           : on_data_points(msg);
            demux_.pop_message(p);
            if (!ok) return false;
        }
    }
    return true;
}

bool session::on_trace_objects(std::string_view msg) {
    return on_trace_objects_decoded(decoder_.decode(msg, objects_));
}

bool session::on_trace_objects_decoded(std::error_code ec) {
    if (!request_outstanding_) {
        ctx_.counters.protocol_errors++;
        fail("protocol error: a TraceObjects reply without a request", session_error::protocol);
        return false;
    }
    if (ec) {
        ctx_.counters.protocol_errors++;
        fail("protocol error in TraceObjects reply: " + ec.message(), session_error::protocol);
        return false;
    }
    if (objects_.empty()) {
        // A blocking request must be answered with at least one object (spec §6.2).
        ctx_.counters.protocol_errors++;
        fail("protocol error: empty TraceObjects reply to a blocking request",
             session_error::protocol);
        return false;
    }
    request_outstanding_ = false;
    reply_at_ = last_read_at_;
    ctx_.counters.batches_received++;
    ctx_.counters.trace_objects_received += objects_.size();
    if (traffic_) {
        traffic_->received += objects_.size();
    } else {
        received_before_name_ += objects_.size();
    }

    refresh_settings();
    // The usual case (name known, writer keeping up): the next request leaves now, before this
    // reply is dispatched and copied, so the node assembles its next reply meanwhile.
    const bool requested_early = name_resolved_ && pending_.empty() && !draining_;
    if (requested_early) send_trace_request();
    for (const auto& o : objects_) {
        // Kept whatever the rules say about it: the operator's view of the node's tracing.
        if (o.ns == "Reflection.TracerConfigInfo") remember_tracer_config(o);
    }
    outputs::trace_batch batch;
    batch.connection_id = peer_.connection_id;
    batch.routing = cfg_->routing;
    if (dispatcher_) {
        dispatch_reply(batch);
    } else {
        batch.add_all(objects_);
        // Routed once the name (and so the node's rules) is known.
        batch.dispatched = name_resolved_;
    }

    // Turnaround is the loss metric (the node drops its whole queue on overflow), so the
    // next request leaves before anything is written — unless the writer pushes back or the
    // node's name is still unknown for too long.
    const bool writer_clear = pending_.empty();
    if (!batch.records.empty() && !(writer_clear && !draining_ && hand_over_now(batch))) {
        pending_.push_back(std::move(batch));
    }
    if (draining_) {
        delivery_signal_.cancel();
        force_close();
        return false;
    }
    if (!requested_early &&
        (name_resolved_ ? writer_clear : pending_.size() < cfg_->max_batches_before_name)) {
        send_trace_request();
    }
    // Only a batch left waiting needs the delivery loop: waking it costs a timer operation
    // and a resumption per reply (a third of the CPU at 10 nodes x 20,000 objects/s).
    if (!pending_.empty()) delivery_signal_.cancel();
    return true;
}

bool session::hand_over_now(outputs::trace_batch& batch) {
    if (!name_resolved_) return false;
    if (ctx_.fault_injection) ctx_.fault_injection("delivery");
    batch.node_name = name_;
    if (!dispatch_late(batch)) return true;           // everything in it was filtered
    return ctx_.writer.try_submit(std::move(batch));  // left intact when refused
}

void session::dispatch_reply(outputs::trace_batch& batch) {
    masks_.resize(objects_.size());
    std::uint64_t filtered = 0;
    for (std::size_t i = 0; i < objects_.size(); ++i) {
        const auto& o = objects_[i];
        masks_[i] = dispatcher_->route(o.ns, o.sev, seconds_of(o.at));
        filtered += masks_[i] == 0;
    }
    batch.add_routed(objects_, masks_);
    count_filtered(filtered);
    report_limiter_events();
}

bool session::dispatch_late(outputs::trace_batch& batch) {
    if (batch.dispatched || !dispatcher_) {
        batch.dispatched = true;
        return !batch.records.empty();
    }
    batch.routing = dispatcher_->rules();
    std::uint64_t filtered = 0;
    for (auto& r : batch.records) {
        r.sections = dispatcher_->route(batch.ns(r), r.sev, seconds_of(r.at));
        filtered += r.sections == 0;
    }
    batch.drop_unrouted();
    batch.dispatched = true;
    count_filtered(filtered);
    report_limiter_events();
    return !batch.records.empty();
}

void session::remember_tracer_config(const proto::trace_object_view& o) {
    // {"data":{"conf":{...}}}: trace-dispatcher <= 2.12.0 names the keys TraceOptions...,
    // 2.12.1+ Options... (spec dispatcher §6.1); both are kept as they came.
    auto j = nlohmann::json::parse(o.machine, nullptr, false);
    if (!j.is_object() || !j.contains("data") || !j["data"].is_object() ||
        !j["data"].contains("conf") || !j["data"]["conf"].is_object())
        return;
    const auto& conf = j["data"]["conf"];
    nlohmann::json out;
    out["receivedAt"] = j.value("at", "");
    out["shape"] = conf.contains("Options") ? "Options" : "TraceOptions";
    out["config"] = conf;
    ctx_.directory.set_tracer_config(
        peer_.connection_id, out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void session::count_filtered(std::uint64_t n) {
    if (n == 0) return;
    if (traffic_) traffic_->filtered += n;
}

void session::report_limiter_events() {
    auto& events = dispatcher_->events();
    for (const auto& e : events) {
        nlohmann::json j{{"nodeName", name_}, {"name", e.ns}};
        std::string_view what = "StartLimiting";
        if (e.kind == dispatcher::limiter_report::start) {
            j["maxFrequency"] = e.max_frequency;
        } else {
            what = e.kind == dispatcher::limiter_report::stop ? "StopLimiting" : "RememberLimiting";
            j["numSuppressed"] = e.suppressed;
        }
        ctx_.log.emit(what, own_severity::notice, std::move(j));
    }
    events.clear();
}

bool session::on_ekg(std::string_view msg) {
    proto::ekg_response_view response;
    if (auto ec = proto::decode_ekg_response(msg, response)) {
        ctx_.counters.protocol_errors++;
        fail("protocol error in EKG response: " + ec.message(), session_error::protocol);
        return false;
    }
    ctx_.counters.ekg_responses++;
    if (store_) ctx_.counters.ekg_metrics_ignored += store_->apply(response);
    if (ctx_.timeseries && name_resolved_) submit_to_timeseries(response);
    ekg_response_ready_ = true;
    ekg_response_at_ = last_read_at_;
    if (ekg_response_late_) ekg_wait_.timer.cancel();  // else the loop finds it when it wakes
    return true;
}

void session::submit_to_timeseries(const proto::ekg_response_view& response) {
    // Upstream's rules (spec timeseries §3.1): numbers as they are, labels only when the whole
    // text reads as a number, names sanitised; an unnamed node's values are not kept.
    std::vector<std::pair<std::string, double>> batch;
    batch.reserve(response.entries.size());
    for (const auto& e : response.entries) {
        double value = 0;
        if (e.value.kind == proto::metric_kind::label) {
            const auto parsed = timeseries::read_double(e.value.text);
            if (!parsed) continue;
            value = *parsed;
        } else {
            value = static_cast<double>(e.value.number);
        }
        batch.emplace_back(timeseries::sanitise_metric_name(e.name), value);
    }
    ctx_.timeseries->submit(name_, std::move(batch));
}

bool session::on_data_points(std::string_view msg) {
    proto::data_points_reply_view reply;
    if (auto ec = proto::decode_data_points_reply(msg, reply)) {
        ctx_.counters.protocol_errors++;
        fail("protocol error in DataPoints reply: " + ec.message(), session_error::protocol);
        return false;
    }
    switch (dp_expect_) {
        case dp_expect::initial:
            // The initial empty exchange is done; ask for the node's name right away.
            dp_expect_ = dp_expect::node_info;
            send(p_data_points, proto::encode_data_points_request({"NodeInfo"}));
            break;
        case dp_expect::node_info: {
            dp_expect_ = dp_expect::none;
            std::optional<std::string> preferred;
            std::string node_info;
            for (const auto& [name, value] : reply.values) {
                if (name != "NodeInfo" || !value) continue;
                auto j = nlohmann::json::parse(*value, nullptr, false);
                if (j.is_object() && j.contains("niName") && j["niName"].is_string()) {
                    preferred = j["niName"].get<std::string>();
                    node_info = std::string(*value);
                }
            }
            if (!name_resolved_) resolve_name(preferred);
            // Kept as sent, for the re-forwarder's perNode connections.
            if (!node_info.empty()) ctx_.set_node_info(name_, std::move(node_info));
            break;
        }
        case dp_expect::node_state:
            dp_expect_ = dp_expect::none;
            for (const auto& [name, value] : reply.values) {
                if (value) ctx_.set_data_point(name_, std::string(name), std::string(*value));
            }
            break;
        case dp_expect::none:
            break;
    }
    return true;
}

void session::resolve_name(std::optional<std::string> preferred) {
    std::string sanitized = preferred ? dispatcher::sanitize_node_name(*preferred) : std::string();
    name_ = ctx_.names.claim(sanitized.empty() ? peer_.node_id : sanitized, peer_.node_id);
    name_resolved_ = true;
    name_timer_.cancel();
    traffic_ = ctx_.traffic.for_node(name_);
    traffic_->received += received_before_name_;
    received_before_name_ = 0;
    if (cfg_->routing) dispatcher_.emplace(cfg_->routing, name_, traffic_->by_namespace);
    // Named from NodeInfo at connection start, so nodes that send metrics but no trace
    // objects are served too (upstream hides them).
    ctx_.directory.set_name(peer_.connection_id, name_);
    ctx_.log.emit("AddNewNodeIdMapping",
                  own_severity::info,
                  {{"nodeId", peer_.node_id}, {"nodeName", name_}});
    delivery_signal_.cancel();
}

asio::awaitable<void> session::naming_loop() {
    // Fallback to the NodeId when no usable NodeInfo arrives in time (upstream: 10 s).
    co_await name_timer_.async_wait(use_nothrow_awaitable);
    if (const bool c = co_await was_cancelled(); c) co_return;
    if (!name_resolved_) resolve_name(std::nullopt);
    if (!ctx_.timeseries) {
        co_await wait_forever(name_timer_);
        co_return;
    }
    // hasTimeseries serves the node's startup and sync-progress data points: they are asked
    // for every few seconds and kept, so the routes answer at once (upstream asks on each
    // request, under one lock for the whole process, and may wait 10 s).
    for (;;) {
        if (dp_expect_ == dp_expect::none) {
            dp_expect_ = dp_expect::node_state;
            send(p_data_points,
                 proto::encode_data_points_request({"NodeStartupInfo", "NodeAddBlock"}));
        }
        name_timer_.expires_after(node_state_period);
        co_await name_timer_.async_wait(use_nothrow_awaitable);
        if (const bool c = co_await was_cancelled(); c) co_return;
    }
}

asio::awaitable<void> session::write_loop() {
    for (;;) {
        if (outbox_.empty()) {
            co_await wait_forever(write_signal_);
            if (const bool c = co_await was_cancelled(); c) co_return;
            continue;
        }
        std::string buf;
        buf.swap(outbox_);
        write_in_flight_ = true;
        auto [ec, n] = co_await asio::async_write(sock_, asio::buffer(buf), use_nothrow_awaitable);
        write_in_flight_ = false;
        if (ec) {
            fail("write error: " + ec.message());
            co_return;
        }
    }
}

asio::awaitable<void> session::delivery_loop() {
    auto handle = std::make_shared<session_handle>(session_handle{&sock_, &delivery_signal_});
    auto ex = sock_.get_executor();
    std::weak_ptr<session_handle> weak = handle;
    const auto token = ctx_.add_space_waiter([ex, weak] {
        asio::post(ex, [weak] {
            if (auto h = weak.lock()) h->delivery_signal->cancel();
        });
    });
    struct unregister {
        session_context& ctx;
        std::uint64_t token;
        ~unregister() { ctx.remove_space_waiter(token); }
    } guard{ctx_, token};

    for (;;) {
        if (ctx_.fault_injection) ctx_.fault_injection("delivery");
        bool blocked = false;
        while (name_resolved_ && !pending_.empty()) {
            pending_.front().node_name = name_;
            if (!dispatch_late(pending_.front())) {
                pending_.pop_front();  // everything in it was filtered
                continue;
            }
            if (!ctx_.writer.try_submit(std::move(pending_.front()))) {
                blocked = true;
                ctx_.counters.writer_backpressure_waits++;
                break;
            }
            pending_.pop_front();
        }
        if (name_resolved_ && pending_.empty() && !request_outstanding_) send_trace_request();

        if (blocked) {
            // Woken by the writer when space frees up; the timeout guards a lost wake-up.
            delivery_signal_.expires_after(100ms);
            co_await delivery_signal_.async_wait(use_nothrow_awaitable);
        } else {
            co_await wait_forever(delivery_signal_);
        }
        if (const bool c = co_await was_cancelled(); c) co_return;
    }
}

asio::awaitable<void> session::ekg_loop() {
    const auto request = proto::encode_ekg_request(
        cfg_->ekg_full ? proto::ekg_request_kind::get_all : proto::ekg_request_kind::get_updated);
    ekg_request_at_ = clock::now();  // run() sent the first request
    // One timer wait per poll: the loop sleeps until the next request would be due and finds
    // the response there (a node answers within milliseconds), instead of being woken by each
    // response and then sleeping again. Only a response later than that wakes it (on_ekg).
    for (;;) {
        const auto silence = cfg_->peer_silence_timeout;
        clock::time_point wake_at;
        if (ekg_response_ready_) {
            // The next request leaves ekgRequestFreq after each response (spec §8.5), at the
            // end of a 10 ms slot shared with the other nodes (ekg_schedule.hpp).
            wake_at = next_ekg_poll(ekg_response_at_, cfg_->ekg_period);
        } else {
            // Liveness of the peer on every transport: a node answers EKG requests within
            // ekgRequestFreq even when it has no traces; one that stays silent is frozen.
            const auto give_up =
                silence.count() > 0 ? ekg_request_at_ + silence : clock::time_point::max();
            const auto due = next_ekg_poll(ekg_request_at_, cfg_->ekg_period);
            ekg_response_late_ = clock::now() >= due;
            wake_at = ekg_response_late_ ? give_up : std::min(due, give_up);
        }
        ekg_wait_.schedule(wake_at);
        co_await ekg_wait_.timer.async_wait(use_nothrow_awaitable);  // its slot, or on_ekg
        ekg_wait_.unschedule();
        ekg_response_late_ = false;
        if (const bool c = co_await was_cancelled(); c) co_return;
        if (ekg_response_ready_) {
            if (clock::now() < next_ekg_poll(ekg_response_at_, cfg_->ekg_period)) continue;
            ekg_response_ready_ = false;
            if (ctx_.fault_injection) ctx_.fault_injection("ekg");
            send(p_ekg, request);
            ekg_request_at_ = clock::now();
            continue;
        }
        if (silence.count() > 0 && clock::now() >= ekg_request_at_ + silence) {
            fail("the node did not answer for " + std::to_string(silence.count()) +
                     " s (peerSilenceTimeoutSecs)",
                 session_error::timeout);
            boost::system::error_code ignored;
            sock_.close(ignored);
            co_return;
        }
    }
}

asio::awaitable<void> session::flush_pending_after_close() {
    if (!pending_.empty() && !name_resolved_) resolve_name(std::nullopt);
    asio::steady_timer wait(sock_.get_executor());
    const auto give_up = clock::now() + 30s;
    while (!pending_.empty()) {
        pending_.front().node_name = name_;
        if (!dispatch_late(pending_.front())) {
            pending_.pop_front();
            continue;
        }
        if (ctx_.writer.try_submit(std::move(pending_.front()))) {
            pending_.pop_front();
            continue;
        }
        if (ctx_.abandon_pending.load()) {
            // The shutdown deadline is near: count what could not be handed over.
            std::uint64_t n = 0;
            for (const auto& b : pending_) n += b.records.size();
            ctx_.counters.records_lost_at_shutdown += n;
            if (traffic_) traffic_->dropped += n;
            pending_.clear();
            break;
        }
        if (clock::now() > give_up) {
            for (const auto& b : pending_) traffic_->dropped += b.records.size();
            ctx_.log.emit("Error",
                          own_severity::error,
                          {{"error",
                            "writer queue stayed full for 30 s after the connection of " + name_ +
                                " closed; " + std::to_string(pending_.size()) +
                                " batches could not be queued"}});
            break;
        }
        wait.expires_after(20ms);
        co_await wait.async_wait(use_nothrow_awaitable);
    }
}

}  // namespace

asio::awaitable<void> run_session(stream_socket socket, peer_info peer, session_context& ctx) {
    ctx.counters.connections_accepted++;
    const auto settings = ctx.settings();
    if (ctx.counters.connections_active.load() >= settings->max_connections) {
        // Each connection may buffer maxIngressBytes: a cap keeps memory and descriptors
        // bounded whatever the peers do.
        ctx.counters.connections_refused++;
        boost::system::error_code ec;
        socket.close(ec);
        co_return;
    }
    ctx.counters.connections_active++;

    // Everything a connection holds in the daemon is released here, however it ends (a
    // return, an exception, or the frame destroyed with its io_context).
    struct release_on_exit {
        session_context& ctx;
        stream_socket& socket;
        const peer_info& peer;
        ~release_on_exit() {
            ctx.sessions.remove(peer.connection_id);
            boost::system::error_code ec;
            socket.close(ec);
            ctx.directory.remove(peer.connection_id);
            ctx.writer.node_disconnected(peer.connection_id);
            ctx.names.release(peer.node_id);
            ctx.counters.connections_active--;
        }
    } release{ctx, socket, peer};

    session s(socket, peer, ctx);
    // Shutdown pokes the session through these; they only run on the session's strand, and
    // the weak pointer expires before the session is destroyed.
    auto handle = std::make_shared<session*>(&s);
    std::weak_ptr<session*> weak = handle;
    auto ex = socket.get_executor();
    auto on_strand = [ex, weak](void (session::*what)()) {
        return [ex, weak, what] {
            asio::post(ex, [weak, what] {
                if (auto h = weak.lock()) ((**h).*what)();
            });
        };
    };
    ctx.sessions.add(peer.connection_id,
                     {on_strand(&session::begin_drain), on_strand(&session::force_close)});

    std::string internal;
    try {
        co_await s.run();
    } catch (const std::exception& e) {
        internal = e.what();
    } catch (...) {
        internal = "unknown exception";
    }
    if (!internal.empty()) {
        s.fail_internal(internal);
        ctx.log.emit("Error",
                     own_severity::error,
                     {{"error",
                       "connection " + std::to_string(peer.connection_id) +
                           " ended by an internal error: " + internal}});
    }
    if (s.ended_badly()) ctx.counters.session_errors[static_cast<std::size_t>(s.error_kind())]++;
    handle.reset();
}

}  // namespace ct::tracer
