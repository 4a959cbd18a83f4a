// The EKG metrics of one connected node, filled from the node's replies (spec §6): new names
// are created, counters only move up, gauges and labels are overwritten. Sessions write on
// their strand while HTTP handlers read from other threads, so every access takes the mutex;
// readers copy a snapshot out.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "protocol/ekg_codec.hpp"

namespace ct::tracer::metrics {

struct metric_value {
    protocol::metric_kind kind = protocol::metric_kind::gauge;
    std::int64_t number = 0;
    std::string text;
    bool operator==(const metric_value&) const = default;
};

using metric_snapshot = std::map<std::string, metric_value>;

class node_metrics {
  public:
    /// At most `max_names` distinct names (a peer chooses them); further new names are
    /// ignored.
    explicit node_metrics(std::size_t max_names = 20000) : max_names_(max_names) {}
    /// Returns how many new names were ignored because the store is full.
    std::size_t apply(const protocol::ekg_response_view& response);
    /// All metrics plus `ekg.server_timestamp_ms` (now, in ms), sorted by name.
    metric_snapshot snapshot() const;
    /// Calls f with the same view as snapshot(), under the lock, without copying (scrapes).
    template <typename F>
    void visit(F&& f) const {
        std::lock_guard lock(mutex_);
        stamp_server_time();
        f(static_cast<const metric_snapshot&>(metrics_));
    }

  private:
    /// Sets `ekg.server_timestamp_ms` to now (nodes do not send that name: the EKG server adds
    /// it); the entry stays in the map and is refreshed at every read.
    void stamp_server_time() const;
    std::size_t max_names_;
    mutable bool stamped_ = false;  // metrics_ holds ekg.server_timestamp_ms
    mutable std::mutex mutex_;
    mutable metric_snapshot metrics_;  // mutable: reads stamp the server time
};

}  // namespace ct::tracer::metrics
