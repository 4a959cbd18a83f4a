// Fuzzes the Prometheus exposition with arbitrary metric names, kinds, label texts and help
// texts (as nodes and operators may send them): the output must always parse
// (tests/support/prom_text_check.hpp), per node and aggregated.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/prom_text_check.hpp"
#include "tracer/metrics/exposition.hpp"

namespace {

// Input: fields separated by 0x00: name, label text, name, label text, ...; the first byte of
// each name picks the kind. Texts from the protocol are always valid UTF-8, so bytes >= 0x80
// are mapped to 'é'.
std::vector<std::string> fields(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> out(1);
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            out.emplace_back();
        } else if (data[i] >= 0x80) {
            out.back() += "\xc3\xa9";
        } else {
            out.back() += static_cast<char>(data[i]);
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace ct::tracer::metrics;
    const auto f = fields(data, size);
    metric_snapshot s;
    exposition_options o;
    for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
        const auto kind = static_cast<ct::protocol::metric_kind>(f[i].empty() ? 0 : f[i][0] % 3);
        s[f[i]] = {kind, static_cast<std::int64_t>(f[i + 1].size()) - 3, f[i + 1]};
    }
    if (f.size() % 2 == 1) o.help[f.back().substr(0, 3)] = f.back();
    o.no_suffix = size % 2 == 1;
    const auto one = render_node(s, o);
    const auto all = render_nodes({{f.front(), s}, {"b", s}}, o);
    for (const auto& [text, eof] : {std::pair{one, true}, std::pair{all, false}}) {
        const auto problem = ct::test::check_prom_text(text, eof);
        if (!problem.empty()) {
            std::fprintf(stderr, "invalid exposition: %s\n%s\n", problem.c_str(), text.c_str());
            std::abort();
        }
    }
    return 0;
}
