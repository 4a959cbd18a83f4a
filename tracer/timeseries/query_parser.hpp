// The parser of the timeseries query language (spec timeseries §5.1–§5.2). Errors are the
// ones megaparsec 9.7 reports for upstream's grammar: the grammar is written over a small core
// that keeps megaparsec's rules (consumed/empty results, hints, error merging, try, labels),
// so the same inputs fail at the same place with the same expected items.
#pragma once

#include <string_view>
#include <variant>

#include "tracer/timeseries/parse_error.hpp"
#include "tracer/timeseries/query_syntax.hpp"

namespace ct::tracer::timeseries::query {

/// Parses a whole query (`expr <* space <* eof`). The input must be valid UTF-8.
std::variant<syntax_ptr, parse_error> parse(std::string_view input);

/// Haskell's isSpace, isAlpha, isAlphaNum and isControl on one code point (the Unicode letter
/// and number categories through the C library's wide-character classes).
bool is_space(char32_t c);
bool is_alpha(char32_t c);
bool is_alpha_num(char32_t c);
bool is_control(char32_t c);

}  // namespace ct::tracer::timeseries::query
