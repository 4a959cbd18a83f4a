// The TraceObject record of trace-dispatcher (spec §6.3) as a zero-copy view (decoder output)
// and as an owning value (encoder input). Plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/severity.hpp"

namespace ct::protocol {

enum class detail_level : std::uint8_t { minimal, normal, detailed, maximum };

std::string_view detail_level_name(detail_level d);  // "DMinimal" … "DMaximum"

/// UTCTime as serialise encodes it: floor seconds and picoseconds in [0, 10^12).
struct utc_time {
    std::int64_t seconds = 0;
    std::uint64_t picoseconds = 0;
    bool operator==(const utc_time&) const = default;
};

struct trace_object_view {
    bool has_human = false;
    std::string_view human;
    std::string_view machine;
    std::string_view ns;  // dotted namespace
    severity sev = severity::info;
    detail_level detail = detail_level::normal;
    utc_time at;
    std::string_view host;
    std::string_view thread;
};

struct trace_object {
    std::optional<std::string> human;
    std::string machine;
    std::string ns;
    severity sev = severity::info;
    detail_level detail = detail_level::normal;
    utc_time at;
    std::string host;
    std::string thread;
    bool operator==(const trace_object&) const = default;

    trace_object_view view() const {
        return {human.has_value(),
                human ? std::string_view(*human) : std::string_view(),
                machine,
                ns,
                sev,
                detail,
                at,
                host,
                thread};
    }
};

}  // namespace ct::protocol
