// The surface syntax of the timeseries query language (spec timeseries §5.2): what the parser
// builds and the elaborator reads. One node type with a kind tag keeps the tree small and the
// parser and the elaborator free of visitor boilerplate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ct::tracer::timeseries::query {

/// The builtin heads, in the order of upstream's Head type.
enum class builtin {
    fst,
    snd,
    min,
    max,
    avg,
    filter,
    join,
    map,
    abs,
    round,
    increase,
    rate,
    avg_over_time,
    sum_over_time,
    quantile_over_time,
    unless,
    quantile_by,
    earliest,
    latest,
    to_scalar,
    metrics,
};

enum class duration_unit { milliseconds, seconds, minutes, hours };

struct label_constraint {
    std::string key, value;
    bool equal = true;  // "k" = "v"; false: "k" != "v"
    auto operator<=>(const label_constraint&) const = default;
};

enum class syntax_kind {
    number,
    string,
    truth,
    falsity,
    now,
    epoch,
    unit,
    duration,
    variable,
    let,     // args: bound value, body; text: the name
    lambda,  // args: body; text: the parameter
    apply,   // args: function, argument
    pair,    // args: first, second
    negation,
    conjunction,
    disjunction,
    equal,
    not_equal,
    less,
    less_equal,
    greater,
    greater_equal,
    add,
    subtract,
    multiply,
    divide,
    range,            // args: function, from, to[, step]
    filter_by_label,  // args: vector; constraints
    builtin,          // head; args in the order written; labels / text for quantile_by, earliest
};

struct syntax {
    syntax_kind kind = syntax_kind::unit;
    std::size_t offset = 0;  // where it starts in the query (bytes), for "@ input:l:c"
    double number = 0;
    std::string text;  // variable, string literal, bound name
    duration_unit unit = duration_unit::milliseconds;
    std::uint64_t count = 0;  // duration literal (wrapped as upstream's Word64)
    builtin head = builtin::fst;
    std::vector<std::string> labels;            // quantile_by: a set (ascending, distinct)
    std::vector<label_constraint> constraints;  // a set (ascending, distinct)
    std::vector<std::unique_ptr<syntax>> args;
};

using syntax_ptr = std::unique_ptr<syntax>;

bool is_relation(syntax_kind k);
bool is_arithmetic(syntax_kind k);
/// The operator as written ("==", "+", …) of a relation or arithmetic node.
std::string_view operator_text(syntax_kind k);
/// The head's name as upstream's derived Show writes it (Fst, AvgOverTime, …).
std::string_view builtin_show_name(builtin h);

}  // namespace ct::tracer::timeseries::query
