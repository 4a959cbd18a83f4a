#include "tracer/export/http_post.hpp"

#include <fcntl.h>
#include <netdb.h>
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

class socket_guard {
  public:
    explicit socket_guard(int fd) : fd_(fd) {}
    ~socket_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    socket_guard(const socket_guard&) = delete;
    socket_guard& operator=(const socket_guard&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

thread_local const std::atomic<bool>* cancelled = nullptr;  // the request being made

bool wait_for(int fd, short events, clock::time_point deadline) {
    pollfd p{fd, events, 0};
    for (;;) {
        const int left = remaining_ms(deadline);
        if (left == 0) return false;
        const int n = ::poll(&p, 1, std::min(left, 100));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
        if (cancelled && cancelled->load()) return false;
    }
}

}  // namespace

std::optional<http_url> parse_http_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme) return std::nullopt;
    url.remove_prefix(scheme.size());
    http_url out;
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
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
    out.shown =
        "http://" +
        std::string(url.substr(url.find('@') == std::string_view::npos ? 0 : url.find('@') + 1));
    return out;
}

http_answer http_post(const http_url& url,
                      const std::vector<std::string>& headers,
                      std::string_view body,
                      std::chrono::milliseconds timeout,
                      const std::atomic<bool>* cancel) {
    cancelled = cancel;
    http_answer a;
    const auto deadline = clock::now() + timeout;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc =
            ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
        rc != 0) {
        a.error = "cannot resolve " + url.host + ": " + ::gai_strerror(rc);
        return a;
    }
    std::string last_error = "no address";
    int connected = -1;
    for (auto* ai = found; ai && connected < 0; ai = ai->ai_next) {
        const int fd = ::socket(
            ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            last_error = std::strerror(errno);
            ::close(fd);
            continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (!wait_for(fd, POLLOUT, deadline) ||
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            last_error = err ? std::strerror(err) : "connect timed out";
            ::close(fd);
            continue;
        }
        connected = fd;
    }
    ::freeaddrinfo(found);
    if (connected < 0) {
        a.error =
            "cannot connect to " + url.host + ":" + std::to_string(url.port) + ": " + last_error;
        return a;
    }
    const socket_guard sock(connected);
    std::string request =
        "POST " + url.path + " HTTP/1.1\r\nHost: " + url.host + ":" + std::to_string(url.port) +
        "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    if (!url.basic_auth.empty()) request += "Authorization: Basic " + url.basic_auth + "\r\n";
    for (const auto& h : headers) request += h + "\r\n";
    request += "\r\n";
    request.append(body);
    std::size_t sent = 0;
    while (sent < request.size()) {
        const auto n =
            ::send(sock.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(sock.get(), POLLOUT, deadline)) {
                a.error = "sending timed out";
                return a;
            }
        } else {
            a.error = std::string("send: ") + std::strerror(errno);
            return a;
        }
    }
    std::string answer;
    char buf[4096];
    for (;;) {
        const auto n = ::recv(sock.get(), buf, sizeof buf, 0);
        if (n > 0) {
            if (answer.size() < 64 * 1024) answer.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) break;
        if (errno == EAGAIN || errno == EINTR) {
            if (!wait_for(sock.get(), POLLIN, deadline)) {
                if (answer.find("\r\n\r\n") != std::string::npos) break;
                a.error = "no answer in time";
                return a;
            }
            continue;
        }
        a.error = std::string("recv: ") + std::strerror(errno);
        return a;
    }
    // "HTTP/1.1 204 No Content\r\n..."
    if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) {
        a.error = "not an HTTP answer";
        return a;
    }
    a.status = std::atoi(answer.c_str() + 9);
    const auto head_end = answer.find("\r\n\r\n");
    const std::string head = answer.substr(0, head_end);
    for (std::size_t pos = 0; (pos = head.find("\r\n", pos)) != std::string::npos;) {
        pos += 2;
        static constexpr std::string_view name = "retry-after:";
        if (head.size() - pos >= name.size()) {
            bool match = true;
            for (std::size_t k = 0; k < name.size() && match; ++k)
                match = std::tolower(static_cast<unsigned char>(head[pos + k])) == name[k];
            if (match) a.retry_after = std::atof(head.c_str() + pos + name.size());
        }
    }
    if (head_end != std::string::npos) a.body = answer.substr(head_end + 4, 1024);
    return a;
}

}  // namespace ct::tracer::exporting
