// The daemon: owns the io_context and its threads, the listeners/connectors, the log writer
// and the name registry; handles SIGINT/SIGTERM (graceful stop) and SIGHUP (reload).
// Constructed and run from main(); not copyable; run() blocks.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
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
namespace ct::tracer::metrics {
class node_directory;
class http_server;
struct exposition_options;
}  // namespace ct::tracer::metrics

namespace ct::tracer {

class self_log;
class own_metrics;
struct reload_counters;
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
    void start_http();
    asio::awaitable<void> sample_resources_loop();
    /// Exposition settings (metricsHelp, metricsNoSuffix, prometheusLabels) of a snapshot.
    struct http_settings;
    std::shared_ptr<const http_settings> make_http_settings(const config::tracer_config& c);

    std::shared_ptr<const config::tracer_config> cfg_;
    server_options opts_;
    self_log& log_;
    asio::io_context ioc_;
    // HTTP runs on its own thread: a scrape is answered by the thread that saw the request
    // (no hand-off between threads, whose wake-up dominated latency) and never waits behind
    // node sessions.
    asio::io_context http_ioc_{1};
    std::thread http_thread_;
    // Registered before anything binds, so a signal that arrives during start-up is queued
    // rather than killing the process with the default action.
    asio::signal_set signals_{ioc_, SIGINT, SIGTERM, SIGHUP};
    std::unique_ptr<logs::log_writer> writer_;
    std::unique_ptr<dispatcher::node_name_registry> names_;
    std::unique_ptr<metrics::node_directory> directory_;
    std::unique_ptr<session_context> ctx_;
    std::unique_ptr<reload_counters> reloads_;
    std::unique_ptr<own_metrics> own_metrics_;
    std::shared_ptr<const http_settings> http_settings_;  // swapped whole on reload
    std::vector<std::unique_ptr<metrics::http_server>> http_servers_;
    std::atomic<bool> listening_{false};
    std::unique_ptr<listener> listener_;
    std::vector<std::unique_ptr<connector>> connectors_;
    std::vector<std::thread> threads_;
    int exit_code_ = 0;
};

}  // namespace ct::tracer
