// The only translation unit with Beast (it is slow to compile).
#include "tracer/metrics/http_server.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>
#include <future>
#include <map>
#include <mutex>

namespace ct::tracer::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

std::string header(const http::request<http::string_body>& req, http::field f) {
    auto it = req.find(f);
    return it == req.end() ? std::string() : std::string(it->value());
}

// What stop() and the session share about one connection (its strand only).
struct connection_state {
    bool writing = false;          // an answer is being written: stop() lets it finish
    bool close_requested = false;  // stop() was called: no further request is read
};

// Waits, without holding the thread, for a response computed elsewhere; it is handed back
// on this coroutine's executor.
asio::awaitable<http_response> finish_elsewhere(
    std::function<void(std::function<void(http_response)>)> start) {
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(http_response)>(
        [&start](auto handler) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            start([shared](http_response r) {
                auto ex = asio::get_associated_executor(*shared);
                asio::post(ex, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
            });
        },
        asio::use_awaitable);
}

// Serves requests on one connection until the client goes away, idles too long, breaks the
// limits, or the endpoint stops.
template <typename Stream>
asio::awaitable<void> serve_requests(Stream& stream,
                                     const http_server::handler& h,
                                     const http_limits& limits,
                                     connection_state& state) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
        parser.body_limit(limits.body_bytes);
        beast::get_lowest_layer(stream).expires_after(limits.idle);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, nothrow);
        if (ec || state.close_requested) co_return;
        const auto& req = parser.get();
        http_request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        r.has_accept = req.find(http::field::accept) != req.end();
        r.accept = header(req, http::field::accept);
        r.host = header(req, http::field::host);
        if (auto it = req.find("X-Forwarded-Host"); it != req.end())
            r.forwarded_host = std::string(it->value());
        r.body = req.body();

        http_response out;
        try {
            out = h(r);
            if (out.deferred) out = co_await finish_elsewhere(std::move(out.deferred));
        } catch (const std::exception& e) {
            out = {500, "text/plain;charset=utf-8", std::string("Internal error: ") + e.what()};
        }
        http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
        res.set(http::field::server, "cardano-tracer");
        if (!out.content_type.empty()) res.set(http::field::content_type, out.content_type);
        res.keep_alive(req.keep_alive() && !state.close_requested);
        res.body() = std::move(out.body);
        res.prepare_payload();
        beast::get_lowest_layer(stream).expires_after(limits.idle);
        state.writing = true;
        auto [wec, wn] = co_await http::async_write(stream, res, nothrow);
        state.writing = false;
        if (wec || !res.keep_alive() || state.close_requested) co_return;
    }
}

asio::ip::address bind_address(asio::io_context& ioc,
                               const std::string& host,
                               const std::string& what) {
    // warp's special host preferences.
    if (host == "*" || host == "*4" || host == "!4") return asio::ip::address_v4::any();
    if (host == "*6" || host == "!6") return asio::ip::address_v6::any();
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (!ec) return addr;
    tcp::resolver r(ioc);
    auto results = r.resolve(host, "", ec);
    if (ec || results.empty()) throw endpoint_error(what + ": cannot resolve host " + host);
    return results.begin()->endpoint().address();
}

}  // namespace

struct tls_context {
    mutable asio::ssl::context ssl{asio::ssl::context::tls_server};
};

// Shared by the server object and every coroutine it started: a session frame that is still
// suspended when the io_context is destroyed keeps what it touches alive. Sessions register
// themselves, so that stop() can close each one on its own strand and the io_context runs out
// of work instead of being destroyed with frames inside.
struct http_server::impl : std::enable_shared_from_this<impl> {
    using strand = asio::strand<asio::io_context::executor_type>;

    asio::io_context& ioc;
    std::string what;
    handler h;
    http_limits limits;
    strand acceptor_strand;
    tcp::acceptor acceptor;
    // The TLS context new connections use (null: plain HTTP); swapped by use_tls().
    std::mutex tls_mutex;
    std::shared_ptr<const tls_context> tls;
    std::atomic<bool> stopped{false};
    std::atomic<std::size_t> open_connections{0};
    std::uint16_t bound_port = 0;  // set once, before start()

    // Live sessions: how to close each one (only ever called on that session's strand).
    struct live_session {
        strand executor;
        std::function<void()> close;
    };
    std::mutex sessions_mutex;
    std::map<std::uint64_t, live_session> sessions;
    std::uint64_t next_session_id = 0;

    impl(asio::io_context& io, std::string w, handler hh, http_limits l)
        : ioc(io),
          what(std::move(w)),
          h(std::move(hh)),
          limits(l),
          acceptor_strand(asio::make_strand(io)),
          acceptor(acceptor_strand) {}

    // Registration of one session for the time it runs; refused once stop() has begun.
    class registration {
      public:
        registration(impl& owner, strand ex, std::function<void()> close) : owner_(owner) {
            std::lock_guard lock(owner_.sessions_mutex);
            if (owner_.stopped.load()) return;
            id_ = ++owner_.next_session_id;
            owner_.sessions.emplace(id_, live_session{std::move(ex), std::move(close)});
        }
        ~registration() {
            if (id_ == 0) return;
            std::lock_guard lock(owner_.sessions_mutex);
            owner_.sessions.erase(id_);
        }
        registration(const registration&) = delete;
        registration& operator=(const registration&) = delete;
        bool active() const { return id_ != 0; }

      private:
        impl& owner_;
        std::uint64_t id_ = 0;
    };

    template <typename Stream>
    static std::function<void()> closer(Stream& stream, connection_state& state) {
        // Runs on the session's strand while the registration (and so `stream`) lives. An
        // answer being written is finished first; the session then ends by itself.
        return [&stream, &state] {
            state.close_requested = true;
            if (state.writing) return;
            beast::error_code ec;
            beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
            beast::get_lowest_layer(stream).close();
        };
    }

    std::shared_ptr<const tls_context> current_tls() {
        std::lock_guard lock(tls_mutex);
        return tls;
    }

    // `self` is a parameter, not taken in the body: it is then held by the frame from its
    // creation, even before the first resumption.
    asio::awaitable<void> session(std::shared_ptr<impl> self, tcp::socket sock, strand ex) {
        (void)self;
        struct counted {
            std::atomic<std::size_t>& n;
            ~counted() { --n; }
        } release{open_connections};
        beast::tcp_stream stream(std::move(sock));
        connection_state state;
        // The context in force when the connection was accepted, for its whole life.
        const auto context = current_tls();
        if (!context) {
            registration reg(*this, ex, closer(stream, state));
            if (!reg.active()) co_return;
            co_await serve_requests(stream, h, limits, state);
            beast::error_code ec;
            stream.socket().shutdown(tcp::socket::shutdown_both, ec);
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(stream), context->ssl);
        registration reg(*this, ex, closer(tls_stream, state));
        if (!reg.active()) co_return;
        beast::get_lowest_layer(tls_stream).expires_after(limits.idle);
        auto [ec] = co_await tls_stream.async_handshake(asio::ssl::stream_base::server, nothrow);
        if (ec || state.close_requested) co_return;
        co_await serve_requests(tls_stream, h, limits, state);
        // Closed by stop() while idle: no TLS goodbye on a dead socket.
        if (!beast::get_lowest_layer(tls_stream).socket().is_open()) co_return;
        beast::get_lowest_layer(tls_stream).expires_after(std::chrono::seconds(2));
        co_await tls_stream.async_shutdown(nothrow);
    }

    asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
        asio::steady_timer backoff(acceptor_strand);
        while (!stopped.load()) {
            auto ex = asio::make_strand(ioc);
            auto [ec, sock] = co_await acceptor.async_accept(ex, nothrow);
            if (ec) {
                if (stopped.load() || ec == asio::error::operation_aborted) co_return;
                backoff.expires_after(std::chrono::milliseconds(100));  // e.g. EMFILE: no spin
                co_await backoff.async_wait(nothrow);
                continue;
            }
            if (stopped.load() || open_connections.load() >= limits.connections) {
                boost::system::error_code ignored;
                sock.close(ignored);  // over the limit: refuse rather than queue
                continue;
            }
            ++open_connections;
            asio::co_spawn(ex, session(self, std::move(sock), ex), asio::detached);
        }
    }

    // Thread-safe; idempotent. Closes the acceptor and every session on their own strands.
    void stop() {
        std::vector<std::pair<std::uint64_t, strand>> to_close;
        {
            std::lock_guard lock(sessions_mutex);
            if (stopped.exchange(true)) return;
            for (auto& [id, s] : sessions) to_close.emplace_back(id, s.executor);
        }
        auto self = shared_from_this();
        asio::post(acceptor_strand, [self] {
            boost::system::error_code ec;
            self->acceptor.close(ec);
        });
        for (auto& [id, executor] : to_close) {
            // Runs on the session's strand, so the session cannot end (and destroy its stream)
            // while `close` runs; a session that ended meanwhile is no longer registered.
            asio::post(executor, [self, id = id] {
                std::function<void()> close;
                {
                    std::lock_guard lock(self->sessions_mutex);
                    auto it = self->sessions.find(id);
                    if (it == self->sessions.end()) return;
                    close = it->second.close;
                }
                close();
            });
        }
    }
};

namespace {

void add_chain_certificates(asio::ssl::context& ctx,
                            const std::string& file,
                            const std::string& what) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(file.c_str(), "r"), &BIO_free);
    if (!bio) throw endpoint_error(what + ": cannot read certificate chain file " + file);
    int added = 0;
    for (;;) {
        X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
        if (!cert) break;
        const long ok = SSL_CTX_add1_chain_cert(ctx.native_handle(), cert);
        X509_free(cert);  // add1 took its own reference
        if (ok != 1) throw endpoint_error(what + ": cannot use chain certificate from " + file);
        ++added;
    }
    ERR_clear_error();  // the loop ends with a "no start line" error
    if (added == 0)
        throw endpoint_error(what + ": no PEM certificate in certificate chain file " + file);
}

}  // namespace

std::shared_ptr<const tls_context> load_tls_context(const tls_files& files,
                                                    const std::string& what) {
    // Fail closed: a missing or unreadable certificate stops the start (or the reload).
    for (const auto& f : {files.certificate_file, files.key_file}) {
        if (!std::ifstream(f)) throw endpoint_error(what + ": cannot read TLS file " + f);
    }
    auto out = std::make_shared<tls_context>();
    auto& ssl = out->ssl;
    boost::system::error_code ec;
    ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1);
    ssl.use_certificate_chain_file(files.certificate_file, ec);
    if (ec)
        throw endpoint_error(what + ": invalid certificate " + files.certificate_file + ": " +
                             ec.message());
    ssl.use_private_key_file(files.key_file, asio::ssl::context::pem, ec);
    if (ec)
        throw endpoint_error(what + ": invalid private key " + files.key_file + ": " +
                             ec.message());
    // certificateChain: intermediate certificates sent to clients after ours (as warp-tls
    // does), not trust anchors. A file may hold several PEM certificates.
    for (const auto& c : files.chain) add_chain_certificates(ssl, c, what);
    // Also catches a key that does not belong to the certificate.
    if (SSL_CTX_check_private_key(ssl.native_handle()) != 1) {
        ERR_clear_error();
        throw endpoint_error(what + ": the private key " + files.key_file +
                             " does not match the certificate " + files.certificate_file);
    }
    return out;
}

http_server::http_server(asio::io_context& ioc,
                         const std::string& what,
                         const std::string& host,
                         std::uint16_t port,
                         handler h,
                         std::optional<tls_files> tls,
                         http_limits limits)
    : http_server(ioc,
                  what,
                  host,
                  port,
                  std::move(h),
                  tls ? load_tls_context(*tls, what) : nullptr,
                  limits) {}

http_server::http_server(asio::io_context& ioc,
                         const std::string& what,
                         const std::string& host,
                         std::uint16_t port,
                         handler h,
                         std::shared_ptr<const tls_context> tls,
                         http_limits limits)
    : impl_(std::make_shared<impl>(ioc, what, std::move(h), limits)) {
    impl_->tls = std::move(tls);
    const tcp::endpoint ep(bind_address(ioc, host, what), port);
    boost::system::error_code ec;
    impl_->acceptor.open(ep.protocol(), ec);
    if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(ep, ec);
    if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) impl_->bound_port = impl_->acceptor.local_endpoint(ec).port();
    if (ec)
        throw endpoint_error(what + ": cannot listen on " + host + ":" + std::to_string(port) +
                             ": " + ec.message());
}

void http_server::use_tls(std::shared_ptr<const tls_context> tls) {
    std::lock_guard lock(impl_->tls_mutex);
    impl_->tls = std::move(tls);
}

http_server::~http_server() { stop(); }

void http_server::start() {
    asio::co_spawn(impl_->acceptor_strand, impl_->accept_loop(impl_), asio::detached);
}

void http_server::stop(bool wait_for_acceptor) {
    if (!impl_) return;
    impl_->stop();
    if (!wait_for_acceptor || impl_->acceptor_strand.running_in_this_thread()) return;
    // Posted after stop()'s close on the same strand: it runs once the acceptor is closed.
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    asio::post(impl_->acceptor_strand, [closed] { closed->set_value(); });
    (void)done.wait_for(std::chrono::seconds(2));
}

std::uint16_t http_server::port() const { return impl_->bound_port; }

std::size_t http_server::open_connections() const { return impl_->open_connections.load(); }

}  // namespace ct::tracer::metrics
