// Severity of the daemon's own messages (trace-dispatcher's SeverityS): the value of
// `--min-log-severity`, with names as printed and parsed. Pure functions; thread-safe.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace ct::config {

/// Ordered from least to most severe, like SeverityS, so `a < b` means "a is less severe".
enum class severity { debug, info, notice, warning, error, critical, alert, emergency };

/// Every severity, least severe first.
inline constexpr std::array<severity, 8> all_severities{
    severity::debug,
    severity::info,
    severity::notice,
    severity::warning,
    severity::error,
    severity::critical,
    severity::alert,
    severity::emergency,
};

/// "Debug", "Info", ... "Emergency".
std::string_view to_string(severity s);

/// The constructor name, case-sensitive, as Haskell's derived Read accepts it: surrounding
/// white space and balanced parentheses are allowed ("(Info)", " Warning "), nothing else.
/// `Silence` is not a severity.
std::optional<severity> parse_severity(std::string_view text);

/// The syslog/journald PRIORITY of a severity: Emergency 0 ... Debug 7.
int syslog_priority(severity s);

}  // namespace ct::config
