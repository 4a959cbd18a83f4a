// Per-node traffic counters (trace objects received, filtered, dropped by the daemon) and the
// request-turnaround histogram. Sessions update them on their strands; the metrics endpoint
// reads them at scrape time. Thread-safe: atomics, plus a mutex around the name map.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "dispatcher/node_dispatcher.hpp"

namespace ct::tracer {

struct node_traffic {
    std::atomic<std::uint64_t> received{0};
    std::atomic<std::uint64_t> filtered{0};  // by the dispatcher's routing and filters
    std::atomic<std::uint64_t> dropped{0};   // handed over by the node but never written
    /// The filtered ones by top-level namespace segment and reason.
    std::shared_ptr<dispatcher::namespace_filter_stats> by_namespace =
        std::make_shared<dispatcher::namespace_filter_stats>();
};

struct node_traffic_totals {
    std::uint64_t received = 0;
    std::uint64_t filtered = 0;
    std::uint64_t dropped = 0;
};

/// Counters by node name; a reconnecting node continues its series. Names of nodes that are
/// gone are forgotten once more than `max_names` are known (NodeId fallbacks of ephemeral TCP
/// peers would otherwise grow the map without bound).
class traffic_registry {
  public:
    explicit traffic_registry(std::size_t max_names = 10000) : max_names_(max_names) {}
    /// maxTrackedNodes, from the configuration (and each reload).
    void set_max_names(std::size_t n) {
        std::lock_guard lock(mutex_);
        max_names_ = n;
    }
    /// The counters of `name`, shared by every session that has that name.
    std::shared_ptr<node_traffic> for_node(const std::string& name);
    std::map<std::string, node_traffic_totals> snapshot() const;
    /// Filtered objects by node name, then top-level namespace segment.
    std::map<std::string, std::map<std::string, dispatcher::namespace_filter_stats::totals>>
    filtered_by_namespace() const;

  private:
    std::size_t max_names_;
    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<node_traffic>> nodes_;
};

/// A fixed-bucket latency histogram with lock-free observation.
class latency_histogram {
  public:
    /// Upper bounds in seconds, from 10 µs (a reply turned around at once) to 1 s (the writer
    /// pushed back); an implicit +Inf bucket follows.
    static constexpr std::array<double, 15> bounds = {10e-6,
                                                      25e-6,
                                                      50e-6,
                                                      100e-6,
                                                      250e-6,
                                                      500e-6,
                                                      1e-3,
                                                      2.5e-3,
                                                      5e-3,
                                                      10e-3,
                                                      25e-3,
                                                      50e-3,
                                                      100e-3,
                                                      250e-3,
                                                      1.0};

    void observe(std::chrono::nanoseconds d);

    struct totals {
        std::array<std::uint64_t, bounds.size() + 1> cumulative{};  // last: +Inf
        double sum_seconds = 0;
        std::uint64_t count = 0;
    };
    totals snapshot() const;

  private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace ct::tracer
