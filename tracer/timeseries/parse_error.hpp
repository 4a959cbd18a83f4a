// Parse errors of the timeseries query language, rendered byte for byte as megaparsec 9.7's
// errorBundlePretty renders them (spec timeseries §5.2.4): the "input:<line>:<col>:" header,
// the offending line with tabs expanded and a pointer under the error, then either
// "unexpected …" / "expecting …" lines or the fancy messages.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ct::tracer::timeseries {

/// What a parser expected or found at an offset (megaparsec's ErrorItem).
struct error_item {
    enum class kind { tokens, label, end_of_input };  // ordered as megaparsec's Ord
    kind what = kind::end_of_input;
    std::string text;  // tokens: the characters (UTF-8); label: the label
    auto operator<=>(const error_item&) const = default;
};

struct parse_error {
    std::size_t offset = 0;  // in bytes of the UTF-8 input
    // Trivial error:
    std::optional<error_item> unexpected;
    std::set<error_item> expected;
    // Fancy error (`fail`): non-empty makes the error fancy.
    std::set<std::string> messages;
};

/// megaparsec's showErrorItem for a Char stream: one char as 'c' (or its name: space,
/// newline, tab, …), several as "abc" with named characters as <name>, a label as is,
/// "end of input".
std::string show_error_item(const error_item& item);

/// megaparsec's line and column of a byte offset: a tab advances the column to the next
/// multiple of 8 plus one, a newline starts a line, columns count code points.
struct source_position {
    std::size_t line = 1, column = 1;
};
source_position position_of(std::string_view input, std::size_t offset);

/// errorBundlePretty of one error over `input`, source name "input".
std::string render_parse_error(std::string_view input, const parse_error& e);

}  // namespace ct::tracer::timeseries
