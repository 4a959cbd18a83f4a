// The dispatcher of one node connection: for each trace object, the logging sections that
// take it (severity thresholds, then the frequency limiters of trace-dispatcher, per node and
// leaf namespace). Resolved routes are cached per namespace (bounded), so the cost per object
// is one hash lookup; no allocation per object once a namespace has been seen. Counts what it
// filters per top-level namespace segment. Not thread-safe: one per session, on its strand;
// the counters it updates are atomics shared with the metrics endpoint.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dispatcher/frequency_limiter.hpp"
#include "dispatcher/routing.hpp"

namespace ct::dispatcher {

/// Objects that no section took, by the reason of the last section to refuse them.
struct filter_counts {
    std::atomic<std::uint64_t> severity{0};
    std::atomic<std::uint64_t> limiter{0};
};

/// Filter counters of one node name by top-level namespace segment, bounded: beyond
/// `max_segments` distinct segments everything is counted under "_other_". Thread-safe.
class namespace_filter_stats {
  public:
    explicit namespace_filter_stats(std::size_t max_segments = 64) : max_(max_segments) {}
    /// A stable reference (the entry lives as long as this object).
    filter_counts& for_segment(std::string_view top);
    struct totals {
        std::uint64_t severity = 0, limiter = 0;
    };
    std::map<std::string, totals> snapshot() const;

  private:
    std::size_t max_;
    mutable std::mutex mutex_;
    std::map<std::string, filter_counts, std::less<>> segments_;
};

/// A frequency limiter's announcement, for the daemon's own log.
struct limiter_event {
    limiter_report kind = limiter_report::none;
    std::string ns;
    double max_frequency = 0;
    std::uint64_t suppressed = 0;
};

class node_dispatcher {
  public:
    node_dispatcher(std::shared_ptr<const routing> rules,
                    std::string_view node_name,
                    std::shared_ptr<namespace_filter_stats> stats,
                    std::size_t max_namespaces = 4096);

    /// A reload: the new rules apply from the next object. Limiters whose namespace keeps its
    /// maxFrequency keep their state (budget, suppressed count); the others start afresh.
    void rebind(std::shared_ptr<const routing> rules);
    const std::shared_ptr<const routing>& rules() const { return routing_; }

    /// The sections that take one object (0: none; the object is counted as filtered).
    /// `at` is the object's own timestamp in seconds, the limiters' clock.
    section_mask route(std::string_view ns, protocol::severity sev, double at) noexcept;

    /// Limiter announcements since the last call (the caller logs and clears them).
    std::vector<limiter_event>& events() { return events_; }
    std::uint64_t filtered() const { return filtered_; }
    /// Namespaces seen beyond the cache bound: resolved each time, without limiters.
    std::uint64_t uncached() const { return uncached_; }
    std::size_t cached_namespaces() const { return cache_.size(); }

  private:
    struct entry {
        resolved_route r;
        std::vector<frequency_limiter> limiters;  // one per r.limits element
        filter_counts* counts = nullptr;
    };
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    entry* find_or_add(std::string_view ns);
    void fill(entry& e, std::string_view ns, const std::vector<frequency_limiter>* keep);
    section_mask apply(entry& e, std::string_view ns, protocol::severity sev, double at);

    std::shared_ptr<const routing> routing_;
    std::string node_name_;
    std::shared_ptr<const node_rules> rules_;
    std::shared_ptr<namespace_filter_stats> stats_;
    std::size_t max_namespaces_;
    std::unordered_map<std::string, entry, string_hash, std::equal_to<>> cache_;
    entry scratch_;  // for namespaces beyond the bound
    std::vector<limiter_event> events_;
    std::uint64_t filtered_ = 0;
    std::uint64_t uncached_ = 0;
};

}  // namespace ct::dispatcher
