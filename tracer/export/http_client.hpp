// A blocking HTTP/1.1 client for exporters that push from their own threads: one connection
// kept alive between requests (re-opened after any error or `Connection: close`), one deadline
// per request (connect, TLS handshake, send, answer), a cancel flag checked while waiting.
// https verifies the server's certificate and name against the system's trust store or a
// configured CA file. user:password in the URL becomes Basic authentication (never logged).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ct::tracer::exporting {

struct http_url {
    bool tls = false;  // https
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";
    std::string basic_auth;  // base64 of user:password, or empty
    /// The URL without user information, for labels and messages.
    std::string shown;
};

/// http(s)://[user:password@]host[:port][/path]; nullopt when it is not that.
std::optional<http_url> parse_http_url(std::string_view url);

struct http_answer {
    int status = 0;                     // 0: no answer (see error)
    std::string error;                  // connection or protocol problem
    std::optional<double> retry_after;  // seconds, from Retry-After
    std::string body;                   // the first KiB, for messages
};

class http_client {
  public:
    /// `ca_file`: for https, the CA certificates to trust instead of the system's.
    explicit http_client(http_url url, std::optional<std::string> ca_file = std::nullopt);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    const http_url& url() const { return url_; }
    /// POSTs `body` to `path` (the URL's own path when empty). `headers` are whole lines
    /// ("Name: value"). `cancel`, when set, ends the wait with an error within 100 ms.
    http_answer post(std::string_view path,
                     const std::vector<std::string>& headers,
                     std::string_view body,
                     std::chrono::milliseconds timeout,
                     const std::atomic<bool>* cancel = nullptr);
    /// Connections opened so far (a kept-alive connection is counted once).
    std::uint64_t connections() const { return connections_; }

  private:
    struct connection;
    http_url url_;
    std::optional<std::string> ca_file_;
    std::unique_ptr<connection> conn_;
    std::uint64_t connections_ = 0;
};

/// One request on its own connection (`Connection: close`).
http_answer http_post(const http_url& url,
                      const std::vector<std::string>& headers,
                      std::string_view body,
                      std::chrono::milliseconds timeout,
                      const std::atomic<bool>* cancel = nullptr);

}  // namespace ct::tracer::exporting
