// The elaborator of the timeseries query language (spec timeseries §5.3–§5.5): infers types
// with upstream's constraint solver (type and expression holes from one counter, a problem
// queue, its rule tables in their order) and produces the unambiguous core that the
// interpreter runs. Same programs accepted, same types, same error texts (hole numbers
// included). Where upstream loops forever (a vector-vector sum) the problem is reported as
// stuck instead; an occurs-check failure is an error instead of a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tracer/timeseries/query_syntax.hpp"

namespace ct::tracer::timeseries::query {

// ---- types ---------------------------------------------------------------------------------

enum class type_kind {
    scalar,
    boolean,
    text,
    unit,
    timestamp,
    duration,
    instant_vector,
    range_vector,
    list,
    pair,
    function,
    hole,
};

struct type_node;
using type = std::shared_ptr<const type_node>;

struct type_node {
    type_kind kind = type_kind::unit;
    type first, second;  // element (vectors, list); components (pair); domain, codomain
    int hole = -1;
};

/// upstream's prettyTy: "InstantVector (InstantVector Scalar)", "(?2 -> ?3) -> Scalar".
std::string pretty(const type& t);

/// Haskell's `show` of a String: quoted, backslash escapes, non-ASCII as decimal escapes.
std::string haskell_show_string(std::string_view s);

// ---- the core language ---------------------------------------------------------------------

enum class core_kind {
    number,
    text,
    variable,
    application,
    lambda,
    let,
    truth,
    falsity,
    unit,
    conjunction,
    disjunction,
    negation,
    relation_bool,  // op: a relation
    relation_scalar,
    relation_instant,   // filters the vector
    arithmetic_scalar,  // op: + - * /
    arithmetic_instant,
    arithmetic_range,
    duration,  // ms
    add_duration,
    now,
    epoch,
    rewind,
    fast_forward,
    timestamp_to_scalar,
    duration_to_scalar,
    bool_to_scalar,
    abs,
    round,
    make_pair,
    fst,
    snd,
    avg_over_time,
    sum_over_time,
    avg,
    quantile_by,
    max,
    min,
    rate,
    increase,
    quantile_over_time,
    filter,
    map,
    join,
    range,  // function, from, to[, step]
    unless,
    filter_by_label,
    metrics,
};

struct core {
    core_kind kind = core_kind::unit;
    syntax_kind op = syntax_kind::add;  // relations and arithmetic
    double number = 0;
    std::uint64_t ms = 0;
    std::string text;  // variable, bound name, string
    std::vector<std::string> labels;
    std::vector<label_constraint> constraints;
    std::vector<std::unique_ptr<core>> args;
};

using core_ptr = std::unique_ptr<core>;

struct elaboration_error {
    std::string message;
};

struct elaboration_limits {
    std::uint64_t max_steps = 1'000'000;  // problems processed
};

/// The store's metric names as the elaborator asks for them: one name at a time, and all of
/// them (ascending) only for an undefined name's suggestions.
struct metric_catalogue {
    std::function<bool(std::string_view)> contains;
    std::function<std::vector<std::string>()> all;
};

/// Elaborates `s` against the store's metric names. `input` is the query text, for the
/// "@ input:line:col" positions.
std::variant<core_ptr, elaboration_error> elaborate(const syntax& s,
                                                    std::string_view input,
                                                    const metric_catalogue& metrics,
                                                    const elaboration_limits& limits = {});

}  // namespace ct::tracer::timeseries::query
