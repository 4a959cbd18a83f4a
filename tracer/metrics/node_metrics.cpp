#include "tracer/metrics/node_metrics.hpp"

#include <chrono>

namespace ct::tracer::metrics {

std::size_t node_metrics::apply(const protocol::ekg_response_view& response) {
    std::lock_guard lock(mutex_);
    std::size_t ignored = 0;
    for (const auto& e : response.entries) {
        // The server timestamp entry is ours, not the node's.
        if (metrics_.size() - (stamped_ ? 1 : 0) >= max_names_ &&
            metrics_.find(std::string(e.name)) == metrics_.end()) {
            ++ignored;
            continue;
        }
        auto [it, fresh] = metrics_.try_emplace(std::string(e.name));
        auto& m = it->second;
        if (fresh || m.kind != e.value.kind) {
            m = {e.value.kind, e.value.number, std::string(e.value.text)};
            continue;
        }
        switch (m.kind) {
            case protocol::metric_kind::counter:
                if (e.value.number > m.number) m.number = e.value.number;  // counters never go down
                break;
            case protocol::metric_kind::gauge:
                m.number = e.value.number;
                break;
            case protocol::metric_kind::label:
                m.text = std::string(e.value.text);
                break;
        }
    }
    return ignored;
}

void node_metrics::stamp_server_time() const {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    static const std::string name = "ekg.server_timestamp_ms";
    metrics_[name] = {protocol::metric_kind::counter, static_cast<std::int64_t>(now), {}};
    stamped_ = true;
}

metric_snapshot node_metrics::snapshot() const {
    metric_snapshot copy;
    visit([&](const metric_snapshot& m) { copy = m; });
    return copy;
}

}  // namespace ct::tracer::metrics
