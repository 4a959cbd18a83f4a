// The effective configuration rendered as JSON or YAML with cardano-tracer's key names and
// every default filled in; the output is itself a valid configuration file
// (load(emit(c)) == c). Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "config/config.hpp"

namespace ct::config {

/// Keys in schema order.
nlohmann::ordered_json to_ordered_json(const tracer_config& c);
/// Same content with sorted keys (for embedding in own messages, like aeson does).
nlohmann::json to_json(const tracer_config& c);
std::string to_json_text(const tracer_config& c);  // pretty, 2-space indent
std::string to_yaml_text(const tracer_config& c);
/// Any JSON document as YAML (keys in the given order).
std::string to_yaml_text(const nlohmann::ordered_json& j);

}  // namespace ct::config
