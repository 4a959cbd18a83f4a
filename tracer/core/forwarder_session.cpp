#include "tracer/core/forwarder_session.hpp"

#include <array>
#include <memory>

#include "protocol/data_points_codec.hpp"
#include "protocol/demuxer.hpp"
#include "protocol/ekg_codec.hpp"
#include "protocol/handshake.hpp"
#include "protocol/sdu.hpp"
#include "protocol/trace_objects_codec.hpp"

namespace ct::tracer {
namespace {

namespace proto = ct::protocol;
using namespace asio::experimental::awaitable_operators;

class forwarder_session {
  public:
    forwarder_session(stream_socket& sock,
                      forwarder_session_options opts,
                      forwarder_stream stream,
                      reforward_counters& counters)
        : sock_(sock),
          opts_(opts),
          stream_(std::move(stream)),
          counters_(counters),
          demux_(opts.we_connected),
          writer_wake_(sock.get_executor()),
          replier_wake_(std::make_shared<asio::steady_timer>(sock.get_executor())) {}

    asio::awaitable<std::string> run() {
        asio::steady_timer deadline(sock_.get_executor());
        deadline.expires_after(opts_.handshake_timeout);
        auto shaken = co_await (handshake() || deadline.async_wait(use_nothrow_awaitable));
        if (shaken.index() == 1) co_return "handshake timed out";
        if (auto problem = std::get<0>(shaken); !problem.empty()) {
            counters_.handshake_failures++;
            co_return problem;
        }
        counters_.connections++;
        counters_.connections_total++;
        co_await (read_loop() || write_loop() || reply_loop());
        counters_.connections--;
        // What was taken for a reply that never went out goes back for the next connection.
        if (!unsent_.empty() || !writing_.empty()) {
            std::vector<std::string> back = std::move(writing_);
            for (auto& o : unsent_) back.push_back(std::move(o));
            counters_.put_back += back.size();
            stream_.queue->put_back(stream_.name, std::move(back));
        }
        co_return reason_;
    }

    void close() {
        boost::system::error_code ec;
        sock_.shutdown(asio::socket_base::shutdown_both, ec);
        sock_.close(ec);
    }

  private:
    bool responder() const { return !opts_.we_connected; }

    void send(std::uint16_t protocol, std::string_view payload) {
        proto::append_sdus(outbox_, protocol, responder(), payload, 0);
        writer_wake_.cancel();
    }

    // Reads until a complete handshake message; "" when done, else the problem.
    asio::awaitable<std::string> handshake() {
        if (opts_.we_connected) {
            std::string out;
            proto::append_sdus(
                out, 0, false, proto::encode_propose_versions(opts_.network_magic), 0);
            auto [ec, n] =
                co_await asio::async_write(sock_, asio::buffer(out), use_nothrow_awaitable);
            if (ec) co_return "cannot send the handshake: " + ec.message();
        }
        std::string msg;
        for (;;) {
            auto next = demux_.next_message(proto::mini_protocol::handshake);
            if (!next) co_return "handshake: " + next.error().message();
            if (next->has_value()) {
                msg = std::string(**next);
                demux_.pop_message(proto::mini_protocol::handshake);
                break;
            }
            auto [ec, n] =
                co_await sock_.async_read_some(asio::buffer(buf_), use_nothrow_awaitable);
            if (ec) co_return "handshake: " + ec.message();
            if (auto fe = demux_.feed(std::string_view(buf_.data(), n)))
                co_return "handshake: " + fe.message();
        }
        if (opts_.we_connected) {
            auto check = proto::check_handshake_reply(msg, opts_.network_magic);
            if (!check.accepted) co_return "handshake refused: " + check.reason;
        } else {
            auto d = proto::decide_handshake(msg, opts_.network_magic);
            std::string out;
            proto::append_sdus(out, 0, true, d.reply_payload, 0);
            auto [ec, n] =
                co_await asio::async_write(sock_, asio::buffer(out), use_nothrow_awaitable);
            if (ec) co_return "cannot answer the handshake: " + ec.message();
            if (!d.accepted) co_return "handshake refused: " + d.refuse_reason;
        }
        demux_.handshake_done();
        co_return "";
    }

    // Requests of the three mini-protocols; TraceObjects requests are answered by reply_loop.
    asio::awaitable<void> read_loop() {
        bool first = true;  // bytes that came with the handshake are already in the demuxer
        for (;;) {
            if (!first) {
                auto [ec, n] =
                    co_await sock_.async_read_some(asio::buffer(buf_), use_nothrow_awaitable);
                if (ec) {
                    if (ec != asio::error::eof && ec != asio::error::operation_aborted)
                        reason_ = ec.message();
                    co_return;
                }
                if (auto fe = demux_.feed(std::string_view(buf_.data(), n))) {
                    reason_ = "protocol error: " + fe.message();
                    co_return;
                }
            }
            first = false;
            if (!handle_messages()) co_return;
        }
    }

    bool handle_messages() {
        for (std::uint16_t p : {proto::mini_protocol::ekg,
                                proto::mini_protocol::trace_objects,
                                proto::mini_protocol::data_points}) {
            for (;;) {
                auto next = demux_.next_message(p);
                if (!next) {
                    reason_ = "protocol error: " + next.error().message();
                    return false;
                }
                if (!next->has_value()) break;
                const std::string_view msg = **next;
                if (p == proto::mini_protocol::trace_objects) {
                    auto req = proto::decode_trace_objects_request(msg);
                    demux_.pop_message(p);
                    if (!req) {
                        reason_ = "protocol error in a TraceObjects request";
                        return false;
                    }
                    if (req->done) return false;  // the downstream stops asking
                    pending_ = *req;
                    replier_wake_->cancel();
                } else if (p == proto::mini_protocol::ekg) {
                    auto req = proto::decode_ekg_request(msg);
                    demux_.pop_message(p);
                    if (!req) {
                        reason_ = "protocol error in an EKG request";
                        return false;
                    }
                    if (req->done) return false;
                    // Metrics are not re-forwarded (as upstream): an empty answer.
                    send(p, proto::encode_ekg_response({}));
                } else {
                    auto req = proto::decode_data_points_request(msg);
                    if (!req) {
                        reason_ = "protocol error in a DataPoints request";
                        return false;
                    }
                    if (req->done) return false;
                    std::vector<std::string> values;
                    values.reserve(req->names.size());
                    std::vector<std::pair<std::string_view, std::optional<std::string_view>>> reply;
                    for (auto name : req->names) {
                        auto v = stream_.data_point ? stream_.data_point(name) : std::nullopt;
                        values.push_back(v.value_or(std::string()));
                        reply.emplace_back(
                            name,
                            v ? std::optional<std::string_view>(values.back()) : std::nullopt);
                    }
                    send(p, proto::encode_data_points_reply(reply));
                    demux_.pop_message(p);
                }
            }
        }
        return true;
    }

    asio::awaitable<void> write_loop() {
        for (;;) {
            if (outbox_.empty()) {
                writer_wake_.expires_at(asio::steady_timer::time_point::max());
                co_await writer_wake_.async_wait(use_nothrow_awaitable);
                if ((co_await asio::this_coro::cancellation_state).cancelled() !=
                    asio::cancellation_type::none)
                    co_return;
                continue;
            }
            std::string bytes = std::move(outbox_);
            outbox_.clear();
            writing_ = std::move(unsent_);
            unsent_.clear();
            auto [ec, n] =
                co_await asio::async_write(sock_, asio::buffer(bytes), use_nothrow_awaitable);
            if (ec) {
                reason_ = "cannot write: " + ec.message();
                co_return;  // run() puts `writing_` back
            }
            counters_.forwarded += writing_.size();
            writing_.clear();
        }
    }

    asio::awaitable<void> reply_loop() {
        auto wake = replier_wake_;
        const std::weak_ptr<asio::steady_timer> weak = wake;
        auto ex = sock_.get_executor();
        std::vector<std::string> objects;
        for (;;) {
            std::uint64_t token = 0;
            if (pending_) {
                objects.clear();
                stream_.queue->take(stream_.name, pending_->count, objects);
                if (!objects.empty() || !pending_->blocking) {
                    std::vector<std::string_view> parts(objects.begin(), objects.end());
                    send(proto::mini_protocol::trace_objects,
                         proto::encode_trace_objects_reply_from_encoded(parts));
                    for (auto& o : objects) unsent_.push_back(std::move(o));
                    pending_.reset();
                    continue;
                }
                // A blocking request with nothing to send: wait for the stream.
                token = stream_.queue->when_available(stream_.name, [ex, weak] {
                    asio::post(ex, [weak] {
                        if (auto t = weak.lock()) t->cancel();
                    });
                });
            }
            wake->expires_at(asio::steady_timer::time_point::max());
            co_await wake->async_wait(use_nothrow_awaitable);
            if (token) stream_.queue->cancel_wait(token);
            if ((co_await asio::this_coro::cancellation_state).cancelled() !=
                asio::cancellation_type::none)
                co_return;
        }
    }

    stream_socket& sock_;
    forwarder_session_options opts_;
    forwarder_stream stream_;
    reforward_counters& counters_;
    proto::demuxer demux_;
    std::array<char, 65536> buf_{};
    std::string outbox_;
    std::vector<std::string> unsent_;   // objects whose reply is in outbox_
    std::vector<std::string> writing_;  // objects whose reply is being written
    std::optional<proto::trace_objects_request> pending_;
    asio::steady_timer writer_wake_;
    std::shared_ptr<asio::steady_timer> replier_wake_;
    std::string reason_;
};

}  // namespace

asio::awaitable<std::string> run_forwarder_session(
    stream_socket sock,
    forwarder_session_options opts,
    forwarder_stream stream,
    reforward_counters& counters,
    std::function<void(std::function<void()> close)> on_close) {
    forwarder_session s(sock, opts, std::move(stream), counters);
    // The closer runs on this connection's strand, where the session lives; the weak handle
    // expires before the session is destroyed.
    auto handle = std::make_shared<forwarder_session*>(&s);
    std::weak_ptr<forwarder_session*> weak = handle;
    auto ex = sock.get_executor();
    if (on_close) {
        on_close([ex, weak] {
            asio::post(ex, [weak] {
                if (auto h = weak.lock()) (**h).close();
            });
        });
    }
    auto reason = co_await s.run();
    handle.reset();
    boost::system::error_code ec;
    sock.close(ec);
    co_return reason;
}

}  // namespace ct::tracer
