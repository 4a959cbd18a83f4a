#include "config/diff.hpp"

#include <set>

namespace ct::config {

std::vector<config_change> diff_configs(const nlohmann::ordered_json& running,
                                        const nlohmann::ordered_json& proposed) {
    std::vector<config_change> out;
    std::set<std::string> seen;
    auto compare = [&](const std::string& key, reload_mode mode) {
        if (!seen.insert(key).second) return;
        const auto before = running.value(key, nlohmann::ordered_json());
        const auto after = proposed.value(key, nlohmann::ordered_json());
        if (before != after) out.push_back({key, before, after, mode});
    };
    for (const auto& e : schema()) {
        if (e.object.empty() && e.origin != key_origin::legacy)
            compare(std::string(e.key), e.reload);
    }
    for (const auto* side : {&running, &proposed}) {
        if (!side->is_object()) continue;
        for (const auto& [k, v] : side->items()) compare(k, reload_mode::live);
    }
    return out;
}

}  // namespace ct::config
