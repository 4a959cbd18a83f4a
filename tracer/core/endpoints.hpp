// The network edges of the daemon: `listener` accepts node connections (AcceptAt, Unix or TCP)
// and `connector` dials one node endpoint with back-off (ConnectTo). Each hands every
// established socket to a session factory. Objects live on the io_context; methods are called
// from server setup only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "tracer/core/io_pool.hpp"
#include "tracer/core/net.hpp"
#include "tracer/core/peer.hpp"

namespace ct::tracer {

class self_log;

/// Runs the session of an established connection to its end. It is spawned on the socket's
/// own strand; it reports failures as values and never throws for peer misbehaviour.
using session_runner = std::function<asio::awaitable<void>(stream_socket, peer_info)>;

/// Thrown at start-up when a listener cannot be set up (port in use, live socket at the path).
struct startup_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct endpoint_address {
    bool is_tcp = false;
    std::string path;  // Unix
    std::string host;  // TCP
    std::uint16_t port = 0;
    std::string to_string() const { return is_tcp ? host + ":" + std::to_string(port) : path; }
    bool operator==(const endpoint_address&) const = default;
};

class listener : public std::enable_shared_from_this<listener> {
  public:
    /// Binds immediately so that start-up (and reload) errors surface before the daemon
    /// reports ready. `socket_mode` applies to Unix sockets. A stale socket file (nobody
    /// listening) is replaced; a live one is a startup_error. `adopted_fd` >= 0: a listening
    /// Unix socket handed over by systemd (socket activation) is used instead of binding; its
    /// file belongs to systemd and is left in place on stop.
    /// The acceptor lives on the pool's main context; each connection on the pool's next.
    listener(io_pool& pool,
             endpoint_address where,
             unsigned socket_mode,
             session_runner runner,
             self_log& log,
             int adopted_fd = -1,
             std::string role = {});
    ~listener();

    void start();  // spawns the accept loop
    /// Thread-safe: closes the acceptor on its strand (the accept loop ends); the socket file
    /// is removed. Connections already accepted are not touched.
    void stop();
    std::string bound_address() const;  // with the real port for TCP port 0
    const endpoint_address& address() const { return where_; }
    bool adopted() const { return adopted_; }
    /// Changes the mode of the Unix socket file (socketMode on reload); "" or the problem.
    std::string set_socket_mode(unsigned mode);

  private:
    asio::awaitable<void> accept_loop(std::shared_ptr<listener> self);
    void bind();
    void close_acceptors();

    io_pool& pool_;  // its own work on the main context; each connection on next()
    strand strand_;  // the acceptor and its loop
    endpoint_address where_;
    unsigned socket_mode_;
    session_runner runner_;
    self_log& log_;
    std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor_;
    std::unique_ptr<asio::ip::tcp::acceptor> tcp_acceptor_;
    std::uint64_t accepted_ = 0;
    std::atomic<bool> stopped_{false};
    bool adopted_ = false;
    bool removed_file_ = false;
    std::string role_;  // stop() already unlinked the socket file
};

class connector : public std::enable_shared_from_this<connector> {
  public:
    /// `max_delay`: the largest back-off between attempts. `role` ("reforwarder") is added
    /// to the connector's messages, so they are not taken for node connections.
    connector(io_pool& pool,
              endpoint_address target,
              session_runner runner,
              self_log& log,
              bool log_problems,
              std::chrono::milliseconds max_delay = std::chrono::seconds(30),
              std::string role = {});
    void start();
    /// Thread-safe: cancels the back-off wait and a connection attempt in progress (on the
    /// connector's strand). A running session is left alone (shutdown drains every session),
    /// or handed to `end_session` on the connector's strand (a target removed by a reload).
    void stop(std::function<void(std::uint64_t connection_id)> end_session = {});
    const endpoint_address& target() const { return target_; }
    /// verbosity after a reload (Minimum silences connection problems).
    void set_log_problems(bool on) { log_problems_ = on; }
    /// The connection id of the session running now, 0 when none.
    std::uint64_t current_connection() const { return current_connection_.load(); }

  private:
    asio::awaitable<void> connect_loop(std::shared_ptr<connector> self);

    io_pool& pool_;  // its own work on the main context; each connection on next()
    strand strand_;  // the loop, its timer and the attempt in progress
    endpoint_address target_;
    session_runner runner_;
    self_log& log_;
    std::atomic<bool> log_problems_;
    std::chrono::milliseconds max_delay_;
    std::string role_;
    asio::steady_timer timer_;
    std::atomic<bool> stopped_{false};
    std::atomic<std::uint64_t> current_connection_{0};
    // The attempt in progress (strand only), so that stop() can cancel it.
    asio::ip::tcp::resolver* resolving_ = nullptr;
    asio::ip::tcp::socket* connecting_tcp_ = nullptr;
    asio::local::stream_protocol::socket* connecting_unix_ = nullptr;
};

/// Unique connection ids for the whole process.
std::uint64_t next_connection_id();

}  // namespace ct::tracer
