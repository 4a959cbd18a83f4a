// Pushes every series to one Prometheus remote-write receiver at a fixed interval, from its own
// thread. A push that fails with a connection error, 429 or 5xx is retried with exponential
// back-off (honouring Retry-After) until the next one is due; then its samples are counted as
// dropped: the next push carries every current value anyway. Other 4xx answers are not retried.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "tracer/export/http_client.hpp"
#include "tracer/export/remote_write.hpp"

namespace ct::tracer::exporting {

struct remote_write_counters {
    std::atomic<std::uint64_t> samples_sent{0};
    std::atomic<std::uint64_t> samples_dropped{0};
    std::atomic<std::uint64_t> pushes{0};    // answered 2xx
    std::atomic<std::uint64_t> retries{0};   // attempts after the first
    std::atomic<std::uint64_t> failures{0};  // pushes given up (dropped or refused)
};

class remote_writer {
  public:
    static constexpr std::size_t max_samples_per_request = 2000;
    using collector = std::function<std::vector<sample>()>;
    /// `report(message)`: a push failed or recovered (at most one failure report a minute).
    remote_writer(config::remote_write_target target,
                  collector collect,
                  std::function<void(const std::string&)> report);
    ~remote_writer();
    remote_writer(const remote_writer&) = delete;
    remote_writer& operator=(const remote_writer&) = delete;

    const config::remote_write_target& target() const { return target_; }
    /// The URL without user information (for labels).
    const std::string& shown_url() const { return url_.shown; }
    const remote_write_counters& counters() const { return counters_; }

  private:
    void run();
    bool push(std::chrono::steady_clock::time_point give_up_at);
    bool send(const std::vector<sample>& part,
              std::int64_t now_ms,
              std::chrono::steady_clock::time_point give_up_at);
    bool wait_until(std::chrono::steady_clock::time_point t);

    const config::remote_write_target target_;
    http_url url_;
    collector collect_;
    std::function<void(const std::string&)> report_;
    remote_write_counters counters_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::atomic<bool> cancel_{false};  // ends a request in flight at shutdown
    bool failing_ = false;
    std::chrono::steady_clock::time_point last_report_{};
    std::string problem_;  // of the last failed attempt
    std::thread thread_;
};

}  // namespace ct::tracer::exporting
