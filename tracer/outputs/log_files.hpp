// Names of log files on disk and the rotation's deletion rules, as pure functions so that
// they can be tested without clocks or directories. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "protocol/trace_object.hpp"

namespace ct::tracer::outputs {

using protocol::syslog_priority;  // journald PRIORITY (spec §5.5)
/// journald TIME field: `%F %T%12QZ`, i.e. "2026-07-23 08:56:07.123456789000Z" (spec §5.5).
std::string journal_time(const protocol::utc_time& t);

std::string_view extension(config::log_format f);     // "json" or "log"
std::string_view symlink_name(config::log_format f);  // "node.json" / "node.log"

/// `node-YYYY-MM-DDTHH-MM-SS.<ext>` (UTC, as upstream). A second file created in the same
/// second gets `_1`, `_2`, … before the extension (upstream would truncate the first).
std::string make_log_file_name(std::time_t created, config::log_format f, unsigned counter = 0);

struct log_file_name {
    std::time_t created = 0;
    unsigned counter = 0;
    bool compressed = false;  // ".gz"
    bool operator<(const log_file_name& o) const {
        return created != o.created ? created < o.created : counter < o.counter;
    }
};
std::optional<log_file_name> parse_log_file_name(std::string_view name, config::log_format f);

struct existing_file {
    std::string name;
    log_file_name parsed;
    std::uint64_t size = 0;
};

/// Which files (oldest first, `files` sorted oldest first, the newest is the current file)
/// the rotation deletes: upstream's age rule with the keep-N floor (spec §5.6), then our caps
/// on the number of files and on total bytes. The current file is never deleted.
std::vector<std::string> plan_deletions(const std::vector<existing_file>& files,
                                        const config::rotation_params& rp,
                                        std::time_t now);

/// The rpMaxTotalBytes cap over a whole node directory (all formats, `files` sorted oldest
/// first): the oldest files that are not `current` go until the total fits.
std::vector<std::string> plan_total_bytes(const std::vector<existing_file>& files,
                                          const std::set<std::string>& current,
                                          std::uint64_t max_total_bytes);

}  // namespace ct::tracer::outputs
