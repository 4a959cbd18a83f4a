// The daemon: owns the io_context and its threads, the listeners/connectors, the log writer
// and the name registry; handles SIGINT/SIGTERM (graceful stop) and SIGHUP (reload).
// Constructed and run from main(); not copyable; run() blocks.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "tracer/core/net.hpp"

namespace ct::dispatcher {
class node_name_registry;
}
namespace ct::tracer::logs {
class log_writer;
}

namespace ct::tracer {

class self_log;
class listener;
class connector;
struct session_context;

struct server_options {
    std::string config_path;  // re-read on SIGHUP
    bool strict = false;
};

class server {
public:
    server(std::shared_ptr<const config::tracer_config> cfg, server_options opts, self_log& log);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds listeners (throws startup_error on failure), serves until SIGINT/SIGTERM, drains
    /// and returns the exit status.
    int run();

private:
    void start();
    asio::awaitable<void> handle_signals();
    asio::awaitable<void> shutdown();
    asio::awaitable<void> wait_for_sessions(std::chrono::milliseconds budget);
    void reload();

    std::shared_ptr<const config::tracer_config> cfg_;
    server_options opts_;
    self_log& log_;
    asio::io_context ioc_;
    std::unique_ptr<logs::log_writer> writer_;
    std::unique_ptr<dispatcher::node_name_registry> names_;
    std::unique_ptr<session_context> ctx_;
    std::unique_ptr<listener> listener_;
    std::vector<std::unique_ptr<connector>> connectors_;
    std::vector<std::thread> threads_;
    int exit_code_ = 0;
};

}  // namespace ct::tracer
