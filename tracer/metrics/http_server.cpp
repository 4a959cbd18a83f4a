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

// Serves requests on one connection until the client goes away, idles too long, or breaks
// the limits.
template <typename Stream>
asio::awaitable<void> serve_requests(Stream& stream,
                                     const http_server::handler& h,
                                     const http_limits& limits) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
        parser.body_limit(limits.body_bytes);
        beast::get_lowest_layer(stream).expires_after(limits.idle);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, nothrow);
        if (ec) co_return;
        const auto& req = parser.get();
        http_request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        r.has_accept = req.find(http::field::accept) != req.end();
        r.accept = header(req, http::field::accept);
        r.host = header(req, http::field::host);
        if (auto it = req.find("X-Forwarded-Host"); it != req.end())
            r.forwarded_host = std::string(it->value());

        http_response out;
        try {
            out = h(r);
        } catch (const std::exception& e) {
            out = {500, "text/plain;charset=utf-8", std::string("Internal error: ") + e.what()};
        }
        http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
        res.set(http::field::server, "cardano-tracer");
        res.set(http::field::content_type, out.content_type);
        res.keep_alive(req.keep_alive());
        res.body() = std::move(out.body);
        res.prepare_payload();
        beast::get_lowest_layer(stream).expires_after(limits.idle);
        auto [wec, wn] = co_await http::async_write(stream, res, nothrow);
        if (wec || !res.keep_alive()) co_return;
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

struct http_server::impl {
    asio::io_context& ioc;
    std::string what;
    handler h;
    http_limits limits;
    tcp::acceptor acceptor;
    std::optional<asio::ssl::context> ssl;
    bool stopped = false;
    std::atomic<std::size_t> open_connections{0};

    impl(asio::io_context& io, std::string w, handler hh, http_limits l)
        : ioc(io), what(std::move(w)), h(std::move(hh)), limits(l), acceptor(io) {}

    asio::awaitable<void> session(tcp::socket sock) {
        struct counted {
            std::atomic<std::size_t>& n;
            ~counted() { --n; }
        } release{open_connections};
        beast::tcp_stream stream(std::move(sock));
        if (!ssl) {
            co_await serve_requests(stream, h, limits);
            beast::error_code ec;
            stream.socket().shutdown(tcp::socket::shutdown_both, ec);
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), *ssl);
        beast::get_lowest_layer(tls).expires_after(limits.idle);
        auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, nothrow);
        if (ec) co_return;
        co_await serve_requests(tls, h, limits);
        beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(2));
        co_await tls.async_shutdown(nothrow);
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(ioc), nothrow);
            if (ec) {
                if (stopped || ec == asio::error::operation_aborted) co_return;
                asio::steady_timer t(ioc);
                t.expires_after(std::chrono::milliseconds(100));  // e.g. EMFILE: do not spin
                co_await t.async_wait(nothrow);
                continue;
            }
            if (open_connections.load() >= limits.connections) {
                boost::system::error_code ignored;
                sock.close(ignored);  // over the limit: refuse rather than queue
                continue;
            }
            ++open_connections;
            auto ex = sock.get_executor();
            asio::co_spawn(ex, session(std::move(sock)), asio::detached);
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

http_server::http_server(asio::io_context& ioc,
                         const std::string& what,
                         const std::string& host,
                         std::uint16_t port,
                         handler h,
                         std::optional<tls_files> tls,
                         http_limits limits)
    : impl_(std::make_unique<impl>(ioc, what, std::move(h), limits)) {
    if (tls) {
        // Fail closed: a missing or unreadable certificate stops the start.
        for (const auto& f : {tls->certificate_file, tls->key_file}) {
            if (!std::ifstream(f)) throw endpoint_error(what + ": cannot read TLS file " + f);
        }
        impl_->ssl.emplace(asio::ssl::context::tls_server);
        boost::system::error_code ec;
        impl_->ssl->set_options(asio::ssl::context::default_workarounds |
                                asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                                asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        impl_->ssl->use_certificate_chain_file(tls->certificate_file, ec);
        if (ec)
            throw endpoint_error(what + ": invalid certificate " + tls->certificate_file + ": " +
                                 ec.message());
        impl_->ssl->use_private_key_file(tls->key_file, asio::ssl::context::pem, ec);
        if (ec)
            throw endpoint_error(what + ": invalid private key " + tls->key_file + ": " +
                                 ec.message());
        // certificateChain: intermediate certificates sent to clients after ours (as warp-tls
        // does), not trust anchors. A file may hold several PEM certificates.
        for (const auto& c : tls->chain) add_chain_certificates(*impl_->ssl, c, what);
        // Also catches a key that does not belong to the certificate.
        if (SSL_CTX_check_private_key(impl_->ssl->native_handle()) != 1)
            throw endpoint_error(what + ": the private key " + tls->key_file +
                                 " does not match the certificate " + tls->certificate_file);
    }
    const tcp::endpoint ep(bind_address(ioc, host, what), port);
    boost::system::error_code ec;
    impl_->acceptor.open(ep.protocol(), ec);
    if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(ep, ec);
    if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw endpoint_error(what + ": cannot listen on " + host + ":" + std::to_string(port) +
                             ": " + ec.message());
}

http_server::~http_server() { stop(); }

void http_server::start() { asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached); }

void http_server::stop() {
    if (!impl_ || impl_->stopped) return;
    impl_->stopped = true;
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
}

std::uint16_t http_server::port() const {
    boost::system::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace ct::tracer::metrics
