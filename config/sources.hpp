// Where each value of the effective configuration came from, for `GET /config`: the file, a
// default, or a translation of a legacy key (TraceXxx switches, `cardano.node.X` rule keys,
// rpMaxAgeHours). Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

namespace ct::config {

/// A document shaped like `effective` (to_ordered_json of the loaded config) whose leaves are
/// "file", "default" or "legacy"; `file_document` is the file as read (load_result::document).
/// Objects and lists are broken down as far as the file's own structure goes.
nlohmann::ordered_json value_sources(const nlohmann::json& file_document,
                                     const nlohmann::ordered_json& effective);

}  // namespace ct::config
