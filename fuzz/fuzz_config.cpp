// Fuzzes the configuration loader (YAML and JSON text): it never throws or crashes; a
// configuration it accepts can always be shown (--print-config in JSON and YAML) and the
// shown JSON loads again to the same configuration.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/emit.hpp"
#include "config/load.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto r = ct::config::load_string(text);
    for (const auto& d : r.diagnostics) (void)d.to_string();
    if (!r.ok()) return 0;
    const auto json = ct::config::to_json_text(*r.config);
    (void)ct::config::to_yaml_text(*r.config);
    const auto again = ct::config::load_string(json);
    if (!again.ok() || !(*again.config == *r.config)) {
        std::fprintf(stderr, "shown configuration does not load back:\n%s\n", json.c_str());
        for (const auto& d : again.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        std::abort();
    }
    return 0;
}
