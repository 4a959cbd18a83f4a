// The timeseries store as the daemon runs it: node sessions submit EKG batches without ever
// waiting (a bounded queue, drained by the service's own thread), queries read the store under
// a shared lock, and the pruner follows the retention and pruning settings that the HTTP
// routes change at run time (spec timeseries §2.2, §3.3).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tracer/timeseries/store.hpp"

namespace ct::tracer::timeseries {

struct service_options {
    store_limits limits;
    std::uint64_t min_retention_ms = 1000;  // round(ekgRequestFreq * 1000)
    std::size_t queue_batches = 4096;       // submitted batches waiting for the store
    /// The tracer's clock in ms since the epoch (empty: the system clock; tests set one).
    std::function<std::uint64_t()> clock_ms;
};

struct service_counters {
    std::uint64_t points_inserted = 0;
    std::uint64_t points_refused = 0;   // over a point cap
    std::uint64_t series_refused = 0;   // over the series cap
    std::uint64_t batches_dropped = 0;  // the queue was full
    std::uint64_t points_pruned = 0;
};

class service {
  public:
    /// `report`: an own message (called on the service's thread, at most once a minute per
    /// kind of problem).
    service(service_options o, std::function<void(const std::string&)> report);
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    /// A named node's EKG values, stamped with the tracer's clock now. Never blocks; a full
    /// queue drops the batch and counts it.
    void submit(std::string node_name, std::vector<std::pair<std::string, double>> batch);

    std::uint64_t retention_ms() const;
    std::optional<std::uint64_t> pruning_period_ms() const;
    std::uint64_t min_retention_ms() const { return options_.min_retention_ms; }
    /// False (and nothing changes) below the minimum retention.
    bool set_retention(std::uint64_t ms);
    /// nullopt: no automatic pruning. Both setters prune at once, as upstream.
    void set_pruning(std::optional<std::uint64_t> ms);
    /// New caps (a reload); what is stored beyond them stays until pruned.
    void set_limits(const store_limits& limits);
    /// Drops what is older than now − retention (upstream's unsigned arithmetic: a retention
    /// longer than the clock empties the store).
    void prune_now();

    /// Calls f(const store&) under the shared lock: a consistent view for one query.
    template <typename F>
    auto read(F&& f) const {
        std::shared_lock lock(store_mutex_);
        return f(static_cast<const store&>(store_));
    }

    service_counters counters() const;
    /// The tracer's clock in ms since the epoch (the test clock when one is set).
    std::uint64_t now_ms() const;
    /// Waits until everything submitted so far is in the store (tests).
    void flush();

  private:
    void run();

    struct batch {
        std::string node;
        std::uint64_t ts;
        std::vector<std::pair<std::string, double>> values;
    };

    const service_options options_;
    std::function<void(const std::string&)> report_;

    mutable std::shared_mutex store_mutex_;
    store store_;

    mutable std::mutex mutex_;  // below: queue, settings, counters
    std::condition_variable cv_;
    std::deque<batch> queue_;
    std::uint64_t retention_ms_ = 86'400'000;
    std::optional<std::uint64_t> pruning_ms_ = 900'000;
    bool reconfigured_ = false;
    bool prune_requested_ = false;
    bool stopping_ = false;
    std::uint64_t submitted_ = 0, applied_ = 0;
    std::condition_variable applied_cv_;
    service_counters counters_;
    std::chrono::steady_clock::time_point last_cap_report_{};
    std::thread thread_;
};

}  // namespace ct::tracer::timeseries
