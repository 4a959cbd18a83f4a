// A blocking HTTP/1.1 POST with one deadline (connect, send, answer), for exporters that push
// from their own thread every few seconds: one connection per request, `Connection: close`.
// Plain HTTP only; user:password in the URL becomes Basic authentication (never logged).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ct::tracer::exporting {

struct http_url {
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";
    std::string basic_auth;  // base64 of user:password, or empty
    /// The URL without user information, for labels and messages.
    std::string shown;
};

/// http://[user:password@]host[:port][/path]; nullopt when it is not that.
std::optional<http_url> parse_http_url(std::string_view url);

struct http_answer {
    int status = 0;                     // 0: no answer (see error)
    std::string error;                  // connection or protocol problem
    std::optional<double> retry_after;  // seconds, from Retry-After
    std::string body;                   // the first KiB, for messages
};

/// `cancel`: checked every 100 ms while waiting; set, the request ends with an error.
http_answer http_post(const http_url& url,
                      const std::vector<std::string>& headers,
                      std::string_view body,
                      std::chrono::milliseconds timeout,
                      const std::atomic<bool>* cancel = nullptr);

}  // namespace ct::tracer::exporting
