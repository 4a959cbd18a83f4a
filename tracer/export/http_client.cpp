#include "tracer/export/http_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace ct::tracer::exporting {

namespace {

using clock = std::chrono::steady_clock;

std::string base64(std::string_view in) {
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
        for (int k = 18; k >= 0; k -= 6) out.push_back(table[(n >> k) & 63]);
    }
    if (i < in.size()) {
        unsigned n = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
        out.push_back(table[(n >> 18) & 63]);
        out.push_back(table[(n >> 12) & 63]);
        out.push_back(i + 1 < in.size() ? table[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

int remaining_ms(clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    if (e == 0) return "TLS error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

bool iequals_prefix(std::string_view line, std::string_view name) {
    if (line.size() < name.size()) return false;
    for (std::size_t k = 0; k < name.size(); ++k) {
        if (std::tolower(static_cast<unsigned char>(line[k])) != name[k]) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<http_url> parse_http_url(std::string_view url) {
    http_url out;
    if (url.rfind("http://", 0) == 0) {
        url.remove_prefix(7);
    } else if (url.rfind("https://", 0) == 0) {
        url.remove_prefix(8);
        out.tls = true;
        out.port = 443;
    } else {
        return std::nullopt;
    }
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    const std::string_view after_user = [&] {
        const auto at = authority.rfind('@');
        return at == std::string_view::npos ? url : url.substr(at + 1);
    }();
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        out.basic_auth = base64(authority.substr(0, at));
        authority.remove_prefix(at + 1);
    }
    std::string_view host = authority;
    if (!authority.empty() && authority.front() == '[') {  // [v6]:port
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = authority.substr(1, close - 1);
        authority.remove_prefix(close + 1);
        if (!authority.empty() && authority.front() != ':') return std::nullopt;
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        authority.remove_prefix(colon);
    } else {
        authority = {};
    }
    if (!authority.empty()) {  // ":port"
        const std::string port(authority.substr(1));
        char* end = nullptr;
        const long p = std::strtol(port.c_str(), &end, 10);
        if (port.empty() || *end != '\0' || p <= 0 || p > 65535) return std::nullopt;
        out.port = static_cast<std::uint16_t>(p);
    }
    if (host.empty()) return std::nullopt;
    out.host = std::string(host);
    out.shown = std::string(out.tls ? "https://" : "http://") + std::string(after_user);
    return out;
}

// One open connection: the socket, and the TLS session over it for https.
struct http_client::connection {
    int fd = -1;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    const std::atomic<bool>* cancel = nullptr;

    ~connection() {
        if (ssl) SSL_free(ssl);
        if (ctx) SSL_CTX_free(ctx);
        if (fd >= 0) ::close(fd);
    }

    bool cancelled() const { return cancel && cancel->load(); }

    // Waits until `fd` is ready for `events`; false on deadline, cancel or a poll error.
    bool wait_for(short events, clock::time_point deadline) const {
        pollfd p{fd, events, 0};
        for (;;) {
            const int left = remaining_ms(deadline);
            if (left == 0 || cancelled()) return false;
            const int n = ::poll(&p, 1, std::min(left, 100));
            if (n > 0) return true;
            if (n < 0 && errno != EINTR) return false;
        }
    }

    std::string open(const http_url& url,
                     const std::optional<std::string>& ca_file,
                     clock::time_point deadline) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        if (const int rc =
                ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
            rc != 0) {
            return "cannot resolve " + url.host + ": " + ::gai_strerror(rc);
        }
        std::string last_error = "no address";
        for (auto* ai = found; ai && fd < 0; ai = ai->ai_next) {
            fd = ::socket(
                ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd < 0) continue;
            int err = 0;
            socklen_t len = sizeof err;
            if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
                err = errno;
            } else if (!wait_for(POLLOUT, deadline)) {
                last_error = cancelled() ? "cancelled" : "connect timed out";
            } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
                break;
            }
            if (err) last_error = std::strerror(err);
            ::close(fd);
            fd = -1;
        }
        ::freeaddrinfo(found);
        if (fd < 0) {
            return "cannot connect to " + url.host + ":" + std::to_string(url.port) + ": " +
                   last_error;
        }
        if (!url.tls) return {};
        return start_tls(url, ca_file, deadline);
    }

    std::string start_tls(const http_url& url,
                          const std::optional<std::string>& ca_file,
                          clock::time_point deadline) {
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx) return openssl_error();
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        const int loaded = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file->c_str(), nullptr)
                                   : SSL_CTX_set_default_verify_paths(ctx);
        if (loaded != 1) {
            return "cannot load the CA certificates" + (ca_file ? " of " + *ca_file : "") + ": " +
                   openssl_error();
        }
        ssl = SSL_new(ctx);
        if (!ssl) return openssl_error();
        SSL_set_fd(ssl, fd);
        // The certificate must name the host we asked for (an IP address: its IP SAN).
        in6_addr ip6{};
        in_addr ip4{};
        const bool is_ip = ::inet_pton(AF_INET, url.host.c_str(), &ip4) == 1 ||
                           ::inet_pton(AF_INET6, url.host.c_str(), &ip6) == 1;
        if (is_ip) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str());
        } else {
            SSL_set_tlsext_host_name(ssl, url.host.c_str());
            SSL_set1_host(ssl, url.host.c_str());
        }
        for (;;) {
            const int rc = SSL_connect(ssl);
            if (rc == 1) return {};
            const int e = SSL_get_error(ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (!wait_for(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
                    return "TLS handshake with " + url.host + " timed out";
                continue;
            }
            const long verify = SSL_get_verify_result(ssl);
            if (verify != X509_V_OK) {
                return "TLS handshake with " + url.host +
                       ": certificate not trusted: " + X509_verify_cert_error_string(verify);
            }
            return "TLS handshake with " + url.host + ": " + openssl_error();
        }
    }

    // Sends everything; an error text, or empty.
    std::string write_all(std::string_view data, clock::time_point deadline) {
        std::size_t sent = 0;
        while (sent < data.size()) {
            const std::size_t chunk = std::min<std::size_t>(data.size() - sent, 1 << 20);
            if (ssl) {
                const int n = SSL_write(ssl, data.data() + sent, static_cast<int>(chunk));
                if (n > 0) {
                    sent += static_cast<std::size_t>(n);
                    continue;
                }
                const int e = SSL_get_error(ssl, n);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                    if (!wait_for(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
                        return cancelled() ? "cancelled" : "sending timed out";
                    continue;
                }
                return "TLS send: " + openssl_error();
            }
            const auto n = ::send(fd, data.data() + sent, chunk, MSG_NOSIGNAL);
            if (n > 0) {
                sent += static_cast<std::size_t>(n);
            } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                if (!wait_for(POLLOUT, deadline))
                    return cancelled() ? "cancelled" : "sending timed out";
            } else {
                return std::string("send: ") + std::strerror(errno);
            }
        }
        return {};
    }

    // Appends what arrives to `into`: >0 bytes read, 0 at the peer's end, -1 on error (text in
    // `error`).
    long read_some(std::string& into, clock::time_point deadline, std::string& error) {
        char buf[16384];
        for (;;) {
            if (ssl) {
                const int n = SSL_read(ssl, buf, sizeof buf);
                if (n > 0) {
                    into.append(buf, static_cast<std::size_t>(n));
                    return n;
                }
                const int e = SSL_get_error(ssl, n);
                if (e == SSL_ERROR_ZERO_RETURN) return 0;
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                    if (!wait_for(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
                        error = cancelled() ? "cancelled" : "no answer in time";
                        return -1;
                    }
                    continue;
                }
                if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;  // closed
                error = "TLS receive: " + openssl_error();
                return -1;
            }
            const auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n > 0) {
                into.append(buf, static_cast<std::size_t>(n));
                return n;
            }
            if (n == 0) return 0;
            if (errno == EAGAIN || errno == EINTR) {
                if (!wait_for(POLLIN, deadline)) {
                    error = cancelled() ? "cancelled" : "no answer in time";
                    return -1;
                }
                continue;
            }
            error = std::string("recv: ") + std::strerror(errno);
            return -1;
        }
    }
};

http_client::http_client(http_url url, std::optional<std::string> ca_file)
    : url_(std::move(url)), ca_file_(std::move(ca_file)) {}

http_client::~http_client() = default;

http_answer http_client::post(std::string_view path,
                              const std::vector<std::string>& headers,
                              std::string_view body,
                              std::chrono::milliseconds timeout,
                              const std::atomic<bool>* cancel) {
    const auto deadline = clock::now() + timeout;
    std::string request = "POST ";
    request += path.empty() ? std::string_view(url_.path) : path;
    request += " HTTP/1.1\r\nHost: " + url_.host + ":" + std::to_string(url_.port) +
               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    if (!url_.basic_auth.empty()) request += "Authorization: Basic " + url_.basic_auth + "\r\n";
    for (const auto& h : headers) request += h + "\r\n";
    request += "\r\n";
    // The body goes out as it is, after the head: a request of megabytes is not copied.

    http_answer a;
    // A kept-alive connection the server closed in the meantime fails at once: one retry on a
    // fresh connection, only then (a fresh connection's failure is the answer).
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool reused = conn_ != nullptr;
        if (!conn_) {
            conn_ = std::make_unique<connection>();
            conn_->cancel = cancel;
            if (auto e = conn_->open(url_, ca_file_, deadline); !e.empty()) {
                conn_.reset();
                a.error = std::move(e);
                return a;
            }
            ++connections_;
        }
        conn_->cancel = cancel;
        std::string answer;
        std::string error = conn_->write_all(request, deadline);
        if (error.empty()) error = conn_->write_all(body, deadline);
        // The head.
        std::size_t head_end = std::string::npos;
        while (error.empty() && (head_end = answer.find("\r\n\r\n")) == std::string::npos) {
            if (answer.size() > 64 * 1024) {
                error = "answer head too long";
                break;
            }
            const long n = conn_->read_some(answer, deadline, error);
            if (n == 0) error = answer.empty() ? "connection closed" : "connection closed early";
        }
        if (!error.empty()) {
            conn_.reset();
            if (reused && answer.empty() && error != "cancelled" && clock::now() < deadline)
                continue;
            a.error = std::move(error);
            return a;
        }
        if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) {
            conn_.reset();
            a.error = "not an HTTP answer";
            return a;
        }
        a.status = std::atoi(answer.c_str() + 9);
        const std::string_view head(answer.data(), head_end);
        std::optional<std::size_t> content_length;
        bool chunked = false, close = answer.rfind("HTTP/1.0", 0) == 0;
        for (std::size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
            pos += 2;
            const auto eol = head.find("\r\n", pos);
            const std::string_view line =
                head.substr(pos, eol == std::string_view::npos ? head.npos : eol - pos);
            const auto value = [&](std::size_t n) { return trim(line.substr(n)); };
            if (iequals_prefix(line, "retry-after:")) {
                a.retry_after = std::atof(std::string(value(12)).c_str());
            } else if (iequals_prefix(line, "content-length:")) {
                content_length = static_cast<std::size_t>(
                    std::strtoull(std::string(value(15)).c_str(), nullptr, 10));
            } else if (iequals_prefix(line, "transfer-encoding:")) {
                chunked = value(18).find("chunked") != std::string_view::npos;
            } else if (iequals_prefix(line, "connection:")) {
                std::string v(value(11));
                for (auto& c : v)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (v.find("close") != std::string::npos) close = true;
                if (v.find("keep-alive") != std::string::npos) close = false;
            }
            pos = eol;
        }
        // The body: by length, chunked, or up to the end of the connection.
        std::string rest = answer.substr(head_end + 4);
        std::string body_text;
        if (chunked) {
            for (;;) {
                const auto eol = rest.find("\r\n");
                if (eol == std::string::npos) {
                    if (conn_->read_some(rest, deadline, error) <= 0) break;
                    continue;
                }
                const std::size_t size =
                    static_cast<std::size_t>(std::strtoull(rest.c_str(), nullptr, 16));
                if (size == 0) {
                    // The last chunk, then trailers (usually none) and an empty line.
                    while (rest.find("\r\n\r\n", eol) == std::string::npos) {
                        if (conn_->read_some(rest, deadline, error) <= 0) break;
                    }
                    break;
                }
                if (rest.size() < eol + 2 + size + 2) {
                    if (conn_->read_some(rest, deadline, error) <= 0) break;
                    continue;
                }
                if (body_text.size() < 1024) body_text.append(rest, eol + 2, size);
                rest.erase(0, eol + 2 + size + 2);
            }
            if (!error.empty()) close = true;
        } else if (content_length) {
            while (rest.size() < *content_length) {
                if (conn_->read_some(rest, deadline, error) <= 0) {
                    close = true;
                    break;
                }
            }
            body_text = rest.substr(0, std::min(*content_length, rest.size()));
        } else if (a.status >= 200 && a.status != 204 && a.status != 304) {
            while (conn_->read_some(rest, deadline, error) > 0) {
            }
            body_text = rest;
            close = true;
        }
        a.body = body_text.substr(0, 1024);
        if (close) conn_.reset();
        return a;
    }
    return a;
}

http_answer http_post(const http_url& url,
                      const std::vector<std::string>& headers,
                      std::string_view body,
                      std::chrono::milliseconds timeout,
                      const std::atomic<bool>* cancel) {
    http_client client(url);
    std::vector<std::string> with_close = headers;
    with_close.emplace_back("Connection: close");
    return client.post({}, with_close, body, timeout, cancel);
}

}  // namespace ct::tracer::exporting
