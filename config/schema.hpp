// The configuration schema: one table of every key (path, type, default, description, reload
// mode). It drives unknown-key detection, the key order of emitted configs, the reload
// classification and docs/config.md.
// Immutable static data; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ct::config {

/// legacy: accepted, "no longer used"; ignored: accepted from another tool's files (a node's
/// TraceOptions), warned about with the entry's description as the reason.
enum class key_origin { upstream, extension, legacy, ignored };

/// What a SIGHUP does with a changed value of a top-level key (nested keys share their
/// top-level key's mode): live = applied by the reload; restart = refused by name (reported in
/// Tracer.ConfigReloaded's notApplied) while the rest of the file applies.
enum class reload_mode { live, restart };

struct schema_entry {
    std::string_view object;  // "" = top level, "network", "rotation", "logging[]", ...
    std::string_view key;
    std::string_view type;
    std::string_view default_text;  // "required" for required keys
    std::string_view description;
    key_origin origin = key_origin::upstream;
    reload_mode reload = reload_mode::live;
};

/// Every key, in the order configs are emitted and documented.
std::span<const schema_entry> schema();

/// Keys known in `object` (legacy keys included).
std::vector<std::string_view> known_keys(std::string_view object);

/// The schema entry of `key` in `object`, or nullptr.
const schema_entry* find_key(std::string_view object, std::string_view key);

/// The known key of `object` closest to `unknown` (edit distance), or "" when none is close.
std::string_view nearest_key(std::string_view object, std::string_view unknown);

/// The top-level keys a reload cannot apply (reload_mode::restart), in table order.
std::vector<std::string_view> restart_keys();

/// docs/config.md, generated from the table.
std::string render_markdown_reference();

}  // namespace ct::config
