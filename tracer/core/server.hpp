// The daemon: owns the io_context and its threads, the listeners/connectors, the log writer
// and the name registry; handles SIGINT/SIGTERM (graceful stop) and SIGHUP (reload).
// Constructed and run from main(); not copyable; run() blocks.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "tracer/core/io_pool.hpp"
#include "tracer/core/net.hpp"
#include "tracer/core/snapshot.hpp"

namespace ct::dispatcher {
class node_name_registry;
}
namespace ct::tracer::outputs {
class output_router;
class forward_queue;
}  // namespace ct::tracer::outputs
namespace ct::tracer::metrics {
class node_directory;
class http_server;
struct exposition_options;
struct http_request;
struct http_response;
}  // namespace ct::tracer::metrics

namespace ct::tracer {
namespace exporting {
class remote_writer;
class otlp_metrics_writer;
struct metrics_page;
class otlp_output;
struct sample;
}  // namespace exporting
namespace timeseries {
class query_service;
class service;
}  // namespace timeseries

class self_log;
class own_metrics;
class memory_trimmer;
struct reload_counters;
class node_endpoints;
class http_endpoints;
class reforwarder;
struct reforward_counters;
struct session_context;

struct server_options {
    std::string config_path;  // re-read on SIGHUP
    bool strict = false;
    nlohmann::json file_document;  // the file as read at start (for GET /config's sources)
};

class server {
  public:
    server(std::shared_ptr<const config::tracer_config> cfg, server_options opts, self_log& log);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds listeners (throws startup_error on failure), serves until SIGINT/SIGTERM, drains
    /// and returns the exit status. Returns only when every io_context ran out of work.
    int run();

  private:
    using strand = asio::strand<asio::io_context::executor_type>;
    void start();
    asio::awaitable<void> handle_signals();
    asio::awaitable<void> shutdown();
    asio::awaitable<void> wait_for_sessions(std::chrono::steady_clock::time_point deadline);
    asio::awaitable<void> wait_for_writer(std::chrono::steady_clock::time_point deadline);
    void reload();
    /// Prepares what binds (listeners, HTTP endpoints, TLS contexts) and then applies the
    /// whole snapshot; throws (before changing anything) when something cannot be prepared.
    /// `committed` runs once the new snapshot is in place and before the reload is reported,
    /// so whoever reads the report sees the status that goes with it.
    void apply(std::shared_ptr<const config::tracer_config> fresh,
               const std::function<void()>& committed);
    /// The handler of the HTTP endpoint `name` (see http_endpoints).
    std::function<metrics::http_response(const metrics::http_request&)> http_handler(
        const std::string& name);
    void start_watchdog();
    /// A re-forwarder for `c` (bound, not started), or null when it has no hasForwarding.
    std::shared_ptr<reforwarder> make_reforwarder(const config::tracer_config& c);
    /// Whether a reload from `before` to `after` needs a new re-forwarder (its network,
    /// perNode or back-off changed; queueSize, prefixes and verbosity apply in place).
    static bool reforwarder_changes(const config::tracer_config& before,
                                    const config::tracer_config& after);
    void restart_resource_loop(const config::tracer_config& c);
    /// One remote writer per remoteWrite entry (the old ones are stopped first).
    void start_remote_writers(const config::tracer_config& c);
    void start_otlp_metrics_writers(const config::tracer_config& c);
    std::vector<exporting::metrics_page> otlp_metrics_pages(
        const std::map<std::string, std::string>& resource_attributes);
    std::vector<exporting::sample> remote_write_samples();
    asio::awaitable<void> sample_resources_loop(std::chrono::milliseconds period,
                                                std::shared_ptr<asio::steady_timer> timer);
    [[noreturn]] void exit_now(int status, const std::string& why);
    /// Exposition settings (metricsHelp, metricsNoSuffix, prometheusLabels) of a snapshot.
    struct http_settings;
    std::shared_ptr<const http_settings> make_http_settings(const config::tracer_config& c);
    std::shared_ptr<const config::tracer_config> config() const { return cfg_.load(); }
    /// GET /config: the effective configuration, each value's source, the reload history.
    std::string effective_config_page(bool yaml) const;

    // What GET /config reports besides the snapshot (any thread, under its mutex).
    struct config_status {
        std::uint64_t generation = 1;  // 1 = as started, +1 per applied reload
        std::string loaded_at;         // UTC, of the snapshot in force
        nlohmann::json file_document;  // the file the snapshot was loaded from
        nlohmann::json last_failure;   // {at, problems} of the last refused reload, or null
    };
    mutable std::mutex status_mutex_;
    config_status status_;

    // The published configuration snapshot, read by every thread; replaced whole on reload.
    snapshot<config::tracer_config> cfg_;
    // The snapshot the running listener/connectors and HTTP endpoints were built from (control
    // strand only): a reload that changes them is compared against this, not against the last
    // published snapshot, so a change that was not applied is never forgotten.
    std::shared_ptr<const config::tracer_config> running_;
    server_options opts_;
    self_log& log_;

    // State that coroutines touch. Declared before the io_contexts, so that a frame still
    // inside a context when it is destroyed (only after a forced stop) finds it alive.
    std::unique_ptr<outputs::output_router> writer_;
    std::unique_ptr<dispatcher::node_name_registry> names_;
    std::unique_ptr<metrics::node_directory> directory_;
    std::unique_ptr<timeseries::service> timeseries_;     // hasTimeseries (restart to change)
    std::unique_ptr<timeseries::query_service> queries_;  // its query thread
    exporting::otlp_output* otlp_ = nullptr;              // owned by writer_
    std::mutex remote_writers_mutex_;  // replaced on reload, read by the own metrics
    std::vector<std::unique_ptr<exporting::remote_writer>> remote_writers_;
    std::vector<std::unique_ptr<exporting::otlp_metrics_writer>> otlp_metrics_writers_;
    std::unique_ptr<session_context> ctx_;
    std::unique_ptr<reload_counters> reloads_;
    // The re-forwarder's queue and counters outlive any one re-forwarder (reloads replace it).
    std::shared_ptr<outputs::forward_queue> forward_queue_;
    std::shared_ptr<std::atomic<bool>> forward_per_node_;
    std::unique_ptr<reforward_counters> reforward_counters_;
    std::unique_ptr<memory_trimmer> trimmer_;  // before own_metrics_, which reads it
    std::unique_ptr<own_metrics> own_metrics_;
    snapshot<http_settings> http_settings_;  // swapped on reload
    std::atomic<bool> listening_{false};
    std::chrono::steady_clock::time_point reload_started_;  // control strand only
    bool stopping_ = false;                                 // control strand only
    bool shutdown_done_ = false;                            // control strand only
    int exit_code_ = 0;

    // Run by the main thread alone; the further io threads each run a context of pool_.
    asio::io_context ioc_{1};
    std::unique_ptr<io_pool> pool_;  // connections: ioc_ and one context per further thread
    // HTTP runs on its own thread: a scrape is answered by the thread that saw the request
    // (no hand-off between threads, whose wake-up dominated latency) and never waits behind
    // node sessions.
    asio::io_context http_ioc_{1};
    // Signals, reload, shutdown and the resource loop run here, one at a time.
    strand control_{asio::make_strand(ioc_)};
    // Registered before anything binds, so a signal that arrives during start-up is queued
    // rather than killing the process with the default action.
    asio::signal_set signals_{control_, SIGINT, SIGTERM, SIGHUP};
    std::shared_ptr<asio::steady_timer> resource_timer_;  // control strand only
    std::shared_ptr<asio::steady_timer> watchdog_timer_;  // control strand only
    // Keeps the HTTP thread alive while no endpoint is configured (a reload may add one).
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> http_work_;
    // I/O objects after their contexts: destroyed first.
    std::unique_ptr<http_endpoints> http_;
    std::unique_ptr<node_endpoints> network_;
    std::shared_ptr<reforwarder> reforwarder_;  // control strand only; null when off
    std::thread http_thread_;
};

}  // namespace ct::tracer
