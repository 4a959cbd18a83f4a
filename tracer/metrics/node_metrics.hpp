// The EKG metrics of one connected node, filled from the node's replies (spec §6): new names
// are created, counters only move up, gauges and labels are overwritten. Sessions write on
// their strand while HTTP handlers read from other threads, so every access takes the mutex;
// readers copy a snapshot out.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "protocol/ekg_codec.hpp"

namespace ct::tracer::metrics {

struct metric_value {
    metric_value() = default;
    metric_value(protocol::metric_kind k, std::int64_t n, std::string t)
        : kind(k), number(n), text(std::move(t)) {}

    protocol::metric_kind kind = protocol::metric_kind::gauge;
    std::int64_t number = 0;
    std::string text;
    /// The name's Prometheus form, made once when the store creates the name (empty in
    /// hand-made snapshots: the renderer makes it), and how many of its last bytes are the
    /// `_int`/`_counter`/`_real` suffix that metricsNoSuffix drops.
    std::string exposition_name;
    std::uint8_t suffix_bytes = 0;
    /// The HELP text found for the name under the exposition options of that generation
    /// (the search runs once per name and configuration, not per scrape).
    mutable const std::string* help = nullptr;
    mutable std::uint64_t help_generation = 0;
    /// The value, not the cached name.
    bool operator==(const metric_value& o) const {
        return kind == o.kind && number == o.number && text == o.text;
    }
};

// std::less<>: a name from a response is looked up as it is, without making a string of it.
using metric_snapshot = std::map<std::string, metric_value, std::less<>>;

/// The name the store adds itself: the time of each read (the EKG server's clock).
inline constexpr std::string_view server_timestamp_name = "ekg.server_timestamp_ms";

struct node_families;  // exposition.hpp

/// What a store knows about its names as a whole, for the renderer.
struct series_hints {
    /// No two names share a Prometheus form ([0] as they are, [1] under metricsNoSuffix):
    /// the renderer need not look for duplicates.
    std::array<bool, 2> distinct_names{false, false};
    /// Moves whenever a response is applied or a name is created (not when a read stamps the
    /// server time): a rendering made at another count is stale.
    std::uint64_t changes = 0;
    /// The store's series as /metrics last rendered them, kept by the renderer (under the
    /// store's lock) and reused while `changes` and the options stay the same.
    mutable std::shared_ptr<const node_families> rendered;
    /// The store's own ekg.server_timestamp_ms entry, once a read has made it (the renderer
    /// need not search the map for it at every scrape).
    const metric_value* server_time = nullptr;
};

class node_metrics {
  public:
    /// At most `max_names` distinct names (a peer chooses them); further new names are
    /// ignored.
    explicit node_metrics(std::size_t max_names = 20000) : max_names_(max_names) {}
    /// Returns how many new names were ignored because the store is full.
    std::size_t apply(const protocol::ekg_response_view& response);
    /// All metrics plus `ekg.server_timestamp_ms` (now, in ms), sorted by name.
    metric_snapshot snapshot() const;
    /// Calls f with the same view as snapshot(), under the lock, without copying (scrapes);
    /// also with the store's series_hints when f takes them.
    template <typename F>
    void visit(F&& f) const {
        std::lock_guard lock(mutex_);
        stamp_server_time();
        if constexpr (std::is_invocable_v<F, const metric_snapshot&, const series_hints&>) {
            f(static_cast<const metric_snapshot&>(metrics_), hints_);
        } else {
            f(static_cast<const metric_snapshot&>(metrics_));
        }
    }

  private:
    /// Sets `ekg.server_timestamp_ms` to now (nodes do not send that name: the EKG server adds
    /// it); the entry stays in the map and is refreshed at every read.
    void stamp_server_time() const;
    /// A name just created: its exposition form, and whether it shares it with another.
    void name_created(const std::string& ekg_name, metric_value& m) const;
    std::size_t max_names_;
    mutable std::mutex mutex_;
    mutable metric_snapshot metrics_;  // mutable: reads stamp the server time
    mutable series_hints hints_{{true, true}, 0, nullptr, nullptr};
    // metrics_' ekg.server_timestamp_ms, once a read has made it (none before).
    mutable metric_value* server_time_ = nullptr;
    std::vector<metric_snapshot::iterator> response_order_;          // by position in a response
    mutable std::array<std::vector<std::uint64_t>, 2> name_hashes_;  // sorted, per form
};

}  // namespace ct::tracer::metrics
