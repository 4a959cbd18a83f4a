#include "config/sources.hpp"

#include <string>
#include <string_view>

namespace ct::config {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

bool is_switch(std::string_view key) {
    return key.size() > 5 && key.starts_with("Trace") && key[5] >= 'A' && key[5] <= 'Z' &&
           key != "TraceOptions";
}

// True when `object` (a config object of the file) carries legacy switches, or its
// TraceOptions map legacy logger keys: rules absent from the file then come from them.
bool has_legacy_rules(const json& object) {
    if (!object.is_object()) return false;
    for (const auto& [k, v] : object.items()) {
        if (is_switch(k)) return true;
    }
    if (auto it = object.find("TraceOptions"); it != object.end() && it->is_object()) {
        for (const auto& [k, v] : it->items()) {
            if (k.starts_with("cardano.node.")) return true;
        }
    }
    return false;
}

ojson walk(const json* file, const ojson& eff) {
    if (!file) return "default";
    if (eff.is_object() && file->is_object()) {
        ojson out = ojson::object();
        for (const auto& [k, v] : eff.items()) {
            auto it = file->find(k);
            out[k] = walk(it == file->end() ? nullptr : &*it, v);
        }
        return out;
    }
    if (eff.is_array() && file->is_array() && eff.size() == file->size()) {
        ojson out = ojson::array();
        for (std::size_t i = 0; i < eff.size(); ++i) out.push_back(walk(&(*file)[i], eff[i]));
        return out;
    }
    return "file";
}

// A TraceOptions map: entries the file does not write come from legacy keys, if it has any
// (the root entry, when the file has none, is the default).
void mark_translated_rules(const json& file_object, const ojson& effective, ojson& sources) {
    if (!has_legacy_rules(file_object)) return;
    auto it = sources.find("TraceOptions");
    auto eff = effective.find("TraceOptions");
    if (it == sources.end() || eff == effective.end() || !eff->is_object()) return;
    if (it->is_string()) {
        if (*it != "default") return;
        ojson per_key = ojson::object();
        for (const auto& [k, v] : eff->items()) per_key[k] = k.empty() ? "default" : "legacy";
        *it = std::move(per_key);
        return;
    }
    for (auto& [k, v] : it->items()) {
        if (v == "default" && !k.empty()) v = "legacy";
    }
}

}  // namespace

ojson value_sources(const json& file_document, const ojson& effective) {
    ojson out = walk(file_document.is_object() ? &file_document : nullptr, effective);
    if (!out.is_object() || !file_document.is_object()) return out;
    mark_translated_rules(file_document, effective, out);
    // logging[i].TraceOptions and its switches.
    if (auto f = file_document.find("logging"); f != file_document.end() && f->is_array()) {
        if (auto s = out.find("logging"); s != out.end() && s->is_array()) {
            for (std::size_t i = 0; i < s->size() && i < f->size(); ++i) {
                if ((*s)[i].is_object() && effective["logging"].is_array() &&
                    i < effective["logging"].size())
                    mark_translated_rules((*f)[i], effective["logging"][i], (*s)[i]);
            }
        }
    }
    // rpMaxAgeMinutes derived from rpMaxAgeHours.
    if (auto f = file_document.find("rotation"); f != file_document.end() && f->is_object()) {
        if (auto s = out.find("rotation"); s != out.end() && s->is_object()) {
            auto m = s->find("rpMaxAgeMinutes");
            if (m != s->end() && *m == "default" && f->contains("rpMaxAgeHours")) *m = "legacy";
        }
    }
    return out;
}

}  // namespace ct::config
