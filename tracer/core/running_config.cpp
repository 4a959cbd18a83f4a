#include "tracer/core/running_config.hpp"

#include <array>
#include <boost/asio.hpp>
#include <functional>
#include <optional>
#include <sstream>

#include "config/diff.hpp"

namespace ct::tracer {
namespace asio = boost::asio;

namespace {

struct http_url {
    std::string host, port, path;
};

std::variant<http_url, std::string> parse_url(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (url.rfind("https://", 0) == 0)
        return std::string("https is not supported here (use the plain endpoint)");
    if (url.rfind(scheme, 0) != 0) return std::string("the URL must start with http://");
    std::string rest = url.substr(scheme.size());
    http_url u;
    const auto slash = rest.find('/');
    u.path = slash == std::string::npos ? "" : rest.substr(slash);
    rest = rest.substr(0, slash);
    while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
    u.path += "/config";
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
        return std::string("the URL needs host:port");
    u.host = rest.substr(0, colon);
    u.port = rest.substr(colon + 1);
    if (u.host.size() > 2 && u.host.front() == '[' && u.host.back() == ']')
        u.host = u.host.substr(1, u.host.size() - 2);
    return u;
}

// Decodes a chunked body (RFC 9112 §7.1); empty optional when malformed.
std::optional<std::string> unchunk(std::string_view body) {
    std::string out;
    for (;;) {
        const auto eol = body.find("\r\n");
        if (eol == std::string_view::npos) return std::nullopt;
        std::size_t size = 0;
        std::istringstream(std::string(body.substr(0, eol))) >> std::hex >> size;
        body.remove_prefix(eol + 2);
        if (size == 0) return out;
        if (body.size() < size + 2) return std::nullopt;
        out.append(body.substr(0, size));
        body.remove_prefix(size + 2);
    }
}

}  // namespace

std::variant<nlohmann::ordered_json, std::string> fetch_running_config(
    const std::string& url, std::chrono::milliseconds timeout) {
    auto parsed = parse_url(url);
    if (auto* err = std::get_if<std::string>(&parsed)) return url + ": " + *err;
    const auto& u = std::get<http_url>(parsed);
    asio::io_context ioc;
    asio::ip::tcp::socket socket(ioc);
    std::string response;
    boost::system::error_code result = asio::error::timed_out;
    asio::steady_timer deadline(ioc, timeout);
    deadline.async_wait([&](boost::system::error_code ec) {
        if (!ec) socket.close();
    });
    asio::ip::tcp::resolver resolver(ioc);
    std::string request;
    std::array<char, 16384> buf{};
    std::function<void()> read_more = [&] {
        socket.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
            response.append(buf.data(), n);
            if (!ec && response.size() < (64u << 20)) return read_more();
            result = ec == asio::error::eof ? boost::system::error_code{} : ec;
            deadline.cancel();
        });
    };
    resolver.async_resolve(u.host, u.port, [&](boost::system::error_code ec, auto endpoints) {
        if (ec) {
            result = ec;
            deadline.cancel();
            return;
        }
        asio::async_connect(socket, endpoints, [&](boost::system::error_code cec, const auto&) {
            if (cec) {
                result = cec;
                deadline.cancel();
                return;
            }
            request = "GET " + u.path + " HTTP/1.1\r\nHost: " + u.host + ":" + u.port +
                      "\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
            asio::async_write(
                socket, asio::buffer(request), [&](boost::system::error_code wec, std::size_t) {
                    if (wec) {
                        result = wec;
                        deadline.cancel();
                        return;
                    }
                    read_more();
                });
        });
    });
    ioc.run();
    const std::string where = "http://" + u.host + ":" + u.port + u.path;
    if (result) return "cannot read " + where + ": " + result.message();
    const auto head_end = response.find("\r\n\r\n");
    if (head_end == std::string::npos || response.rfind("HTTP/1.", 0) != 0)
        return where + " did not answer HTTP";
    const std::string head = response.substr(0, head_end);
    std::string body = response.substr(head_end + 4);
    const auto status = head.substr(9, 3);
    if (status != "200")
        return where + " answered " + head.substr(9, head.find("\r\n") - 9) +
               " (is it the daemon's Prometheus endpoint, and does it serve /config?)";
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("transfer-encoding: chunked") != std::string::npos) {
        auto decoded = unchunk(body);
        if (!decoded) return where + ": malformed chunked body";
        body = std::move(*decoded);
    }
    try {
        auto page = nlohmann::ordered_json::parse(body);
        if (!page.is_object() || !page.contains("config"))
            return where + ": not a configuration page";
        return page;
    } catch (const std::exception& e) {
        return where + ": not JSON (" + e.what() + ")";
    }
}

std::string describe_reload(const nlohmann::ordered_json& running_page,
                            const nlohmann::ordered_json& proposed,
                            const std::string& file,
                            const std::string& url) {
    std::ostringstream out;
    const auto changes = config::diff_configs(running_page["config"], proposed);
    out << "compared with generation " << running_page.value("generation", 0) << " running at "
        << url << " (" << running_page.value("configPath", std::string("?")) << "):\n";
    if (changes.empty()) {
        out << "  a reload of " << file << " would change nothing\n";
        return out.str();
    }
    for (const auto& c : changes) {
        out << "  " << c.key << ": " << c.before.dump() << " -> " << c.after.dump() << " ("
            << (c.reload == config::reload_mode::live ? "applied by a reload" : "needs a restart")
            << ")\n";
    }
    return out.str();
}

}  // namespace ct::tracer
