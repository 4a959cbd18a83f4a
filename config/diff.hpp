// What a reload would change: the top-level keys whose effective values differ between two
// configurations, each with what a SIGHUP does with it (from the schema table). Pure; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/schema.hpp"

namespace ct::config {

struct config_change {
    std::string key;
    nlohmann::ordered_json before, after;
    reload_mode reload = reload_mode::live;
};

/// Both arguments as to_ordered_json (or GET /config's "config"); changes in schema order,
/// then keys the schema does not know (a newer daemon's), in their order.
std::vector<config_change> diff_configs(const nlohmann::ordered_json& running,
                                        const nlohmann::ordered_json& proposed);

}  // namespace ct::config
