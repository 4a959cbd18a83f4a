#include "dispatcher/node_dispatcher.hpp"

namespace ct::dispatcher {

filter_counts& namespace_filter_stats::for_segment(std::string_view top) {
    std::lock_guard lock(mutex_);
    if (auto it = segments_.find(top); it != segments_.end()) return it->second;
    if (segments_.size() >= max_) top = "_other_";
    return segments_.try_emplace(std::string(top)).first->second;
}

std::map<std::string, namespace_filter_stats::totals> namespace_filter_stats::snapshot() const {
    std::lock_guard lock(mutex_);
    std::map<std::string, totals> out;
    for (const auto& [k, v] : segments_) {
        out[k] = {v.severity.load(std::memory_order_relaxed),
                  v.limiter.load(std::memory_order_relaxed)};
    }
    return out;
}

node_dispatcher::node_dispatcher(std::shared_ptr<const routing> rules,
                                 std::string_view node_name,
                                 std::shared_ptr<namespace_filter_stats> stats,
                                 std::size_t max_namespaces)
    : routing_(std::move(rules)),
      node_name_(node_name),
      rules_(routing_->rules_for(node_name_)),
      stats_(std::move(stats)),
      max_namespaces_(max_namespaces) {}

void node_dispatcher::rebind(std::shared_ptr<const routing> rules) {
    if (rules == routing_) return;
    routing_ = std::move(rules);
    rules_ = routing_->rules_for(node_name_);
    for (auto& [ns, e] : cache_) {
        auto old = std::move(e.limiters);
        fill(e, ns, &old);
    }
}

void node_dispatcher::fill(entry& e,
                           std::string_view ns,
                           const std::vector<frequency_limiter>* keep) {
    rules_->resolve(ns, e.r);
    e.limiters.clear();
    for (const auto& l : e.r.limits) {
        const frequency_limiter* same = nullptr;
        if (keep) {
            for (const auto& k : *keep) {
                if (k.max_frequency() == l.max_frequency) same = &k;
            }
        }
        e.limiters.push_back(same ? *same : frequency_limiter(l.max_frequency));
    }
    if (!e.counts && stats_) e.counts = &stats_->for_segment(top_segment(ns));
}

node_dispatcher::entry* node_dispatcher::find_or_add(std::string_view ns) {
    if (auto it = cache_.find(ns); it != cache_.end()) return &it->second;
    if (cache_.size() >= max_namespaces_) return nullptr;
    auto [it, added] = cache_.try_emplace(std::string(ns));
    fill(it->second, ns, nullptr);
    return &it->second;
}

section_mask node_dispatcher::apply(entry& e,
                                    std::string_view ns,
                                    protocol::severity sev,
                                    double at) {
    section_mask mask = e.r.by_severity[static_cast<std::size_t>(sev)];
    const section_mask by_severity = mask;
    for (std::size_t i = 0; i < e.limiters.size(); ++i) {
        const auto& l = e.r.limits[i];
        if ((l.sections & mask) == 0) continue;  // only what passed the threshold is limited
        limiter_report report = limiter_report::none;
        if (!e.limiters[i].admit(at, report)) mask &= ~l.sections;
        if (report != limiter_report::none) {
            events_.push_back(
                {report, std::string(ns), l.max_frequency, e.limiters[i].reported_count()});
        }
    }
    if (mask == 0) {
        ++filtered_;
        if (e.counts) {
            (by_severity == 0 ? e.counts->severity : e.counts->limiter)
                .fetch_add(1, std::memory_order_relaxed);
        }
    }
    return mask;
}

section_mask node_dispatcher::route(std::string_view ns,
                                    protocol::severity sev,
                                    double at) noexcept {
    if (routing_->passes_everything()) return routing_->all_sections();
    try {
        if (entry* e = find_or_add(ns)) return apply(*e, ns, sev, at);
        // Beyond the bound (a peer inventing namespaces): resolved each time, no limiter
        // state; the storage of `scratch_` is reused.
        ++uncached_;
        rules_->resolve(ns, scratch_.r);
        scratch_.limiters.clear();
        scratch_.counts = stats_ ? &stats_->for_segment("_other_") : nullptr;
        const section_mask mask = scratch_.r.by_severity[static_cast<std::size_t>(sev)];
        if (mask == 0) {
            ++filtered_;
            if (scratch_.counts) scratch_.counts->severity.fetch_add(1, std::memory_order_relaxed);
        }
        return mask;
    } catch (...) {
        // Out of memory while learning a namespace: keep the object (losing nothing beats
        // filtering correctly).
        return routing_->all_sections();
    }
}

}  // namespace ct::dispatcher
