// The EKG metrics of one connected node, filled from the node's replies (spec §6): new names
// are created, counters only move up, gauges and labels are overwritten. Sessions write on
// their strand while HTTP handlers read from other threads, so every access takes the mutex;
// readers copy a snapshot out.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

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
    void apply(const protocol::ekg_response_view& response);
    /// All metrics plus `ekg.server_timestamp_ms` (now, in ms), sorted by name.
    metric_snapshot snapshot() const;
    /// Calls f with the same view as snapshot(), under the lock, without copying (scrapes).
    template <typename F>
    void visit(F&& f) const {
        std::lock_guard lock(mutex_);
        auto [it, fresh] = metrics_.try_emplace(std::string(server_timestamp_name));
        const metric_value saved = it->second;
        it->second = {protocol::metric_kind::counter, now_ms(), {}};
        try {
            f(static_cast<const metric_snapshot&>(metrics_));
        } catch (...) {
            restore(it, fresh, saved);
            throw;
        }
        restore(it, fresh, saved);
    }
    std::size_t size() const;

  private:
    static constexpr std::string_view server_timestamp_name = "ekg.server_timestamp_ms";
    static std::int64_t now_ms();
    void restore(metric_snapshot::iterator it, bool fresh, const metric_value& saved) const {
        if (fresh) {
            metrics_.erase(it);
        } else {
            it->second = saved;
        }
    }
    mutable std::mutex mutex_;
    mutable metric_snapshot metrics_;  // mutable: visit() stamps the server time in place
};

}  // namespace ct::tracer::metrics
