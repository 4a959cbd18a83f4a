// A small HTTP/1.1 server (Boost.Beast, C++20 coroutines) for the Prometheus and EKG
// endpoints: optional TLS, bounded request size and idle time, one strand per client so a
// slow client stalls nobody else. The handler is called concurrently from io threads.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
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

/// A server-side TLS context loaded from certificate, key and chain files (opaque: Beast and
/// OpenSSL stay in http_server.cpp). Immutable once loaded; shared by the connections that
/// were accepted while it was in force.
struct tls_context;

/// Reads and checks the files (the key must match the certificate); throws endpoint_error
/// naming `what` and the file at fault. Used at start-up and by every reload, so that renewed
/// certificates are picked up and a bad pair is refused before anything changes.
std::shared_ptr<const tls_context> load_tls_context(const tls_files& files,
                                                    const std::string& what);

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
    /// As above with a context loaded beforehand (null: plain HTTP).
    http_server(boost::asio::io_context& ioc,
                const std::string& what,
                const std::string& host,
                std::uint16_t port,
                handler h,
                std::shared_ptr<const tls_context> tls,
                http_limits limits = {});
    ~http_server();

    void start();
    /// Thread-safe and idempotent: closes the acceptor and every open connection, each on its
    /// own strand, so the io_context runs out of work. Idle keep-alive clients are closed at
    /// once; an answer being written is finished first (with `Connection: close`). Also done
    /// by the destructor. `wait_for_acceptor`: returns once the listening socket is closed
    /// (at most 2 s; the port can then be bound again at once). Needs the io_context running.
    void stop(bool wait_for_acceptor = false);
    /// Thread-safe: connections accepted from now on use `tls` (null: plain HTTP); open ones
    /// keep the context they started with. A reload's certificate renewal.
    void use_tls(std::shared_ptr<const tls_context> tls);
    std::uint16_t port() const;
    std::size_t open_connections() const;

  private:
    struct impl;
    // Shared with every coroutine the server started: a frame destroyed late (with its
    // io_context) never touches freed state.
    std::shared_ptr<impl> impl_;
};

}  // namespace ct::tracer::metrics
