// Pushes every node's metrics and the daemon's own to one OTLP/HTTP receiver
// (`<endpoint>/v1/metrics`) at a fixed interval, from its own thread, over one kept-alive
// connection. A push that fails with a connection error, 408, 429 or 5xx is retried with
// exponential back-off (at least Retry-After) until the next one is due; then it is dropped and
// counted: the next push carries every current value anyway. Other 4xx are not retried.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "tracer/export/http_client.hpp"
#include "tracer/export/otlp_metrics.hpp"

namespace ct::tracer::exporting {

struct otlp_metrics_counters {
    std::atomic<std::uint64_t> points{0};    // data points the receiver took
    std::atomic<std::uint64_t> pushes{0};    // pushes the receiver took
    std::atomic<std::uint64_t> retries{0};   // attempts after a failed one
    std::atomic<std::uint64_t> failures{0};  // pushes given up (out of time, or a 4xx)
};

class otlp_metrics_writer {
  public:
    /// The pages to push: each node's, then the daemon's own, with their resources.
    using collector = std::function<std::vector<metrics_page>()>;
    otlp_metrics_writer(config::otlp_metrics_target target,
                        collector collect,
                        std::function<void(const std::string&)> report);
    ~otlp_metrics_writer();
    otlp_metrics_writer(const otlp_metrics_writer&) = delete;
    otlp_metrics_writer& operator=(const otlp_metrics_writer&) = delete;

    const config::otlp_metrics_target& target() const { return target_; }
    /// The endpoint without user information (for labels).
    const std::string& shown() const { return shown_; }
    const otlp_metrics_counters& counters() const { return counters_; }

  private:
    void run();
    void push(std::chrono::steady_clock::time_point give_up_at);
    bool wait_until(std::chrono::steady_clock::time_point t);

    const config::otlp_metrics_target target_;
    collector collect_;
    std::function<void(const std::string&)> report_;
    std::string shown_, path_;
    std::vector<std::string> headers_;
    std::unique_ptr<http_client> client_;
    otlp_metrics_counters counters_;
    const std::uint64_t start_ns_;  // cumulative series count from the writer's start
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::atomic<bool> cancel_{false};  // ends a request in flight at shutdown
    std::chrono::steady_clock::time_point last_report_{};
    std::thread thread_;
};

}  // namespace ct::tracer::exporting
