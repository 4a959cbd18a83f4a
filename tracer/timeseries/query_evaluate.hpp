// The interpreter of the timeseries query language (spec timeseries §5.6–§5.8) and the JSON
// of its values (§6). Strict, left to right, as upstream; every query is bounded: evaluation
// steps, points touched and wall time, each configurable, so one request never pins a core.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tracer/timeseries/query_elaborate.hpp"
#include "tracer/timeseries/store.hpp"

namespace ct::tracer::timeseries::query {

/// Where a query reads series from: the store behind its lock, or a store in a test.
class series_source {
  public:
    virtual ~series_source() = default;
    /// Label sets returned here stay valid for the source's lifetime (the store never erases a
    /// series).
    virtual std::vector<instant_sample> instant(std::string_view metric, std::uint64_t t) const = 0;
    virtual std::vector<std::string> metric_names() const = 0;  // ascending
    virtual bool has_metric(std::string_view metric) const = 0;
};

/// A plain store (tests, benchmarks).
class store_source final : public series_source {
  public:
    explicit store_source(const store& s) : store_(s) {}
    std::vector<instant_sample> instant(std::string_view metric, std::uint64_t t) const override {
        return store_.instant(metric, t);
    }
    std::vector<std::string> metric_names() const override { return store_.metric_names(); }
    bool has_metric(std::string_view metric) const override { return store_.has_metric(metric); }

  private:
    const store& store_;
};

struct query_limits {
    std::uint64_t max_steps = 20'000'000;   // evaluation steps (and elaboration problems)
    std::uint64_t max_points = 10'000'000;  // points looked up or produced
    std::chrono::milliseconds max_time{10'000};
    /// Checked as often as the time: set, the query stops with an error (daemon shutdown).
    const std::atomic<bool>* cancelled = nullptr;
};

// ---- values --------------------------------------------------------------------------------

enum class value_kind {
    scalar,
    instant_vector,
    range_vector,
    pair,
    unit,
    truth,
    falsity,
    duration,
    timestamp,
    text,
    function,
    nil,
    cons,
};

struct compound;
using labels_ptr = std::shared_ptr<const label_set>;

struct value {
    value_kind kind = value_kind::unit;
    double scalar = 0;
    std::uint64_t ms = 0;  // duration, timestamp
    std::shared_ptr<const compound> more;
};

struct instant {
    labels_ptr labels;
    std::uint64_t ts = 0;
    value v;
};

struct series {
    labels_ptr labels;
    std::vector<std::pair<std::uint64_t, value>> points;
};

struct environment;
using environment_ptr = std::shared_ptr<const environment>;
struct environment {
    std::string name;
    value v;
    environment_ptr outer;
};

struct compound {
    std::string text;               // text; metric function: the metric
    std::vector<instant> instants;  // instant vector
    std::vector<series> range;      // range vector
    value first, second;            // pair; cons: head, tail
    const core* body = nullptr;     // closure
    std::string parameter;
    environment_ptr env;
};

struct evaluation_error {
    std::string message;
};

std::variant<value, evaluation_error> evaluate(const core& program,
                                               const series_source& source,
                                               std::uint64_t now_ms,
                                               const query_limits& limits = {});

/// The JSON of a value (spec §6.3), keys in aeson's order.
std::string value_json(const value& v);
/// Haskell's `show` of a value, as in the strings of "value"/"values" (spec §6.5).
std::string show_value(const value& v);

// ---- the whole query -----------------------------------------------------------------------

struct query_response {
    int status = 200;
    std::string body;  // JSON
};

/// Parses, elaborates and evaluates `text` at `now_ms`: the body and status of
/// `/timeseries/query` (spec §4.3.1, §4.4).
query_response run_query(std::string_view text,
                         std::uint64_t now_ms,
                         const series_source& source,
                         const query_limits& limits = {});

/// aeson's string escaping (spec §6.1), quotes included.
std::string json_string(std::string_view s);

}  // namespace ct::tracer::timeseries::query
