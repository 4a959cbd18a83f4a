// Pieces of the Prometheus text format (0.0.4) shared by the node expositions and the daemon's
// own metrics: the escapes the format requires, and numbers in their shortest exact form.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ct::tracer::metrics {

/// A HELP text: backslash and newline escaped.
void append_escaped_help(std::string& out, std::string_view s);
/// A label value: backslash, newline and double quote escaped.
void append_escaped_label_value(std::string& out, std::string_view s);
/// NaN, +Inf, -Inf, or the shortest text that reads back as `v`.
void append_double(std::string& out, double v);
void append_int(std::string& out, std::int64_t v);
void append_uint(std::string& out, std::uint64_t v);

}  // namespace ct::tracer::metrics
