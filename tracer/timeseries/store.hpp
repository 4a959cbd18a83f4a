// The timeseries store of cardano-tracer 0.5.0 (spec timeseries §3): every named node's numeric
// EKG values, by metric name and label set, at the tracer's clock in milliseconds. Bounded:
// caps on series and points (total and per node) are counted when hit, never exceeded.
//
// A series is a point_column: timestamps (32-bit offsets) and values in timestamp order, 12
// bytes a point plus the deques' blocks. Equal timestamps keep their insertion order, so a
// lookup that takes the first of equals returns the earliest inserted, as upstream's Tree does.
// Metric names are never forgotten, even when pruning empties them (upstream keeps them as valid
// names).
//
// Not thread-safe by itself: timeseries::service serialises writers and lets queries read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tracer/timeseries/point_column.hpp"

namespace ct::tracer::timeseries {

/// Label pairs in ascending order; compared lexicographically (UTF-8 byte order is code point
/// order, as upstream's Text comparison). The tracer's series carry one: node_name.
using label_set = std::vector<std::pair<std::string, std::string>>;

struct point {
    std::uint64_t ts;  // ms since the epoch
    double value;
};

struct store_limits {
    std::size_t max_series = 100'000;             // metric × label set, all nodes
    std::size_t max_points = 32'000'000;          // all series (12-13 B each: ~400 MB)
    std::size_t max_points_per_node = 8'000'000;  // by node_name label
};

/// Where a lookup looks back from its time (upstream's staleness constant, 5 minutes).
inline constexpr std::uint64_t lookback_ms = 5 * 60 * 1000;

struct instant_sample {
    const label_set* labels;
    double value;
};

struct insert_result {
    std::size_t inserted = 0;
    std::size_t refused_series = 0;  // a new series over max_series
    std::size_t refused_points = 0;  // over max_points or max_points_per_node
};

class store {
  public:
    explicit store(store_limits limits = {}) : limits_(limits) {}

    void set_limits(const store_limits& limits) { limits_ = limits; }
    const store_limits& limits() const { return limits_; }

    /// Inserts one EKG batch of a node at one timestamp, in batch order.
    insert_result insert(const label_set& labels,
                         std::uint64_t ts,
                         const std::vector<std::pair<std::string, double>>& batch);

    /// Drops every point older than `cutoff` (ts < cutoff); names stay.
    std::size_t truncate(std::uint64_t cutoff);

    /// Instant lookup (spec §3.2): per series of `metric`, the latest point in
    /// (t − 5 min, t], the earliest inserted among equal timestamps; ascending by label set.
    /// For t < 5 min nothing (upstream's unsigned wrap-around).
    std::vector<instant_sample> instant(std::string_view metric, std::uint64_t t) const;

    /// Every metric name ever inserted, ascending.
    std::vector<std::string> metric_names() const;
    bool has_metric(std::string_view metric) const;

    std::size_t series_count() const { return series_; }
    std::size_t point_count() const { return points_; }
    /// Bytes held by the points (the deques' blocks included), for the bytes-per-point figure.
    std::size_t point_bytes() const;

  private:
    struct series {
        point_column points;
        std::string node;  // node_name label ("" when absent): the per-node cap
    };
    using by_labels = std::map<label_set, series>;

    struct name_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    store_limits limits_;
    // Hashed: an insert looks up every name of a response (500 names of a long common prefix
    // made a tree's comparisons the main cost); metric_names() sorts.
    std::unordered_map<std::string, by_labels, name_hash, std::equal_to<>> metrics_;
    std::map<std::string, std::size_t, std::less<>> node_points_;
    // A node sends its metrics in the same order every time: per label set, the series each
    // position of its last batch went to (checked by name before use). Series are never
    // erased, so the pointers stay valid.
    struct cached_position {
        const std::string* name = nullptr;
        series* target = nullptr;
    };
    std::map<label_set, std::vector<cached_position>> positions_;
    std::size_t series_ = 0;
    std::size_t points_ = 0;
};

/// Upstream's metric name sanitiser (spec §3.1): '.', '-', ' ' become '_', then everything
/// outside [A-Za-z0-9_] is deleted (ASCII only; the result may be empty).
std::string sanitise_metric_name(std::string_view name);

/// Data.Text.Read.double applied to a whole text (spec §3.1.1), same algorithm and rounding;
/// nullopt when anything remains or the grammar does not match.
std::optional<double> read_double(std::string_view text);

}  // namespace ct::tracer::timeseries
