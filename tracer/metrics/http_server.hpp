// A small HTTP/1.1 server (Boost.Beast, C++20 coroutines) for the Prometheus and EKG
// endpoints: optional TLS, bounded request size and idle time, one strand per client so a
// slow client stalls nobody else. The handler is called concurrently from io threads.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tracer/metrics/routes.hpp"

namespace ct::tracer::metrics {

struct tls_files {
    std::string certificate_file;
    std::string key_file;
    std::vector<std::string> chain;
};

struct http_limits {
    std::size_t header_bytes = 8 * 1024;
    std::size_t body_bytes = 1024 * 1024;
    std::chrono::seconds idle{30};
    /// Open connections at most; more are closed at once, so that idle clients cannot use up
    /// the file descriptors the node connections need.
    std::size_t connections = 256;
};

/// Start-up failure of an endpoint (bind error, unreadable certificate): fatal, never a
/// silent fallback to plain HTTP.
struct endpoint_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class http_server {
  public:
    using handler = std::function<http_response(const http_request&)>;

    /// Binds at once (throws endpoint_error naming `what` on failure).
    http_server(boost::asio::io_context& ioc,
                const std::string& what,
                const std::string& host,
                std::uint16_t port,
                handler h,
                std::optional<tls_files> tls = std::nullopt,
                http_limits limits = {});
    ~http_server();

    void start();
    /// Thread-safe and idempotent: closes the acceptor and every open connection (keep-alive
    /// clients, half-sent requests, answers being written), each on its own strand, so the
    /// io_context runs out of work. Also done by the destructor.
    void stop();
    std::uint16_t port() const;
    std::size_t open_connections() const;

  private:
    struct impl;
    // Shared with every coroutine the server started: a frame destroyed late (with its
    // io_context) never touches freed state.
    std::shared_ptr<impl> impl_;
};

}  // namespace ct::tracer::metrics
