// The one severity type of the whole daemon: trace-dispatcher's SeverityS, as it arrives in
// every TraceObject (spec §6.3) and as the daemon's own messages, the configuration's
// thresholds and the journal use it. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ct::protocol {

/// Least to most severe, so `a < b` means "a is less severe" (the wire encodes the index).
enum class severity : std::uint8_t {
    debug,
    info,
    notice,
    warning,
    error,
    critical,
    alert,
    emergency
};

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
std::string_view severity_name(severity s);
/// The exact constructor name (case-sensitive); `Silence` is not a severity.
std::optional<severity> parse_severity(std::string_view name);
/// As Haskell's derived Read accepts it (the CLI's `--min-log-severity`): surrounding white
/// space and balanced parentheses are allowed ("(Info)", " Warning "), nothing else.
std::optional<severity> read_severity(std::string_view text);
/// The syslog/journald PRIORITY: Emergency 0 ... Debug 7.
inline int syslog_priority(severity s) { return 7 - static_cast<int>(s); }

}  // namespace ct::protocol
