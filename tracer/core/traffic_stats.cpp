#include "tracer/core/traffic_stats.hpp"

#include <algorithm>

namespace ct::tracer {

std::shared_ptr<node_traffic> traffic_registry::for_node(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(name);
    if (it != nodes_.end()) return it->second;
    if (nodes_.size() >= max_names_) {
        // Forget names no live session holds (use_count 1: only this map).
        std::erase_if(nodes_, [](const auto& kv) { return kv.second.use_count() == 1; });
    }
    return nodes_.emplace(name, std::make_shared<node_traffic>()).first->second;
}

std::map<std::string, node_traffic_totals> traffic_registry::snapshot() const {
    std::map<std::string, node_traffic_totals> out;
    std::lock_guard lock(mutex_);
    for (const auto& [name, t] : nodes_) {
        out[name] = {t->received.load(std::memory_order_relaxed),
                     t->filtered.load(std::memory_order_relaxed),
                     t->dropped.load(std::memory_order_relaxed)};
    }
    return out;
}

std::map<std::string, std::map<std::string, dispatcher::namespace_filter_stats::totals>>
traffic_registry::filtered_by_namespace() const {
    std::vector<std::pair<std::string, std::shared_ptr<dispatcher::namespace_filter_stats>>> all;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [name, t] : nodes_) all.emplace_back(name, t->by_namespace);
    }
    std::map<std::string, std::map<std::string, dispatcher::namespace_filter_stats::totals>> out;
    for (const auto& [name, stats] : all) {
        auto snap = stats->snapshot();
        if (!snap.empty()) out[name] = std::move(snap);
    }
    return out;
}

void latency_histogram::observe(std::chrono::nanoseconds d) {
    const auto ns = std::max<std::int64_t>(0, d.count());
    const double seconds = static_cast<double>(ns) / 1e9;
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

latency_histogram::totals latency_histogram::snapshot() const {
    totals t;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        t.cumulative[i] = running;
    }
    t.count = running;
    t.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return t;
}

}  // namespace ct::tracer
