// The timeseries query language end to end (parse, elaborate, evaluate, render) on hostile
// text, over the worked example's store, with tight bounds: no crash, no hang, no leak.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tracer/timeseries/query_evaluate.hpp"

namespace {

using namespace ct::tracer::timeseries;

const store& example_store() {
    static const store s = [] {
        store st;
        const std::uint64_t b = 1700000000000;
        const label_set alpha{{"node_name", "alpha"}}, beta{{"node_name", "beta"}};
        st.insert(alpha, b, {{"blocks", 10}});
        st.insert(beta, b, {{"blocks", 20}});
        st.insert(alpha, b + 15000, {{"blocks", 12}});
        st.insert(alpha, b + 30000, {{"blocks", 15}, {"mem", 1024}});
        st.insert(beta, b + 30000, {{"blocks", 21}, {"mem", 2048}});
        return st;
    }();
    return s;
}

// The HTTP route hands the parser valid UTF-8 only (lenient decoding); bytes that are not
// ASCII stay as they are when they form valid sequences, else become '?'.
std::string as_utf8(const std::uint8_t* data, std::size_t size) {
    std::string out;
    for (std::size_t i = 0; i < size;) {
        const auto b = data[i];
        const std::size_t len = b < 0x80         ? 1
                                : (b >> 5) == 6  ? 2
                                : (b >> 4) == 14 ? 3
                                : (b >> 3) == 30 ? 4
                                                 : 0;
        bool ok = len > 0 && i + len <= size;
        for (std::size_t k = 1; ok && k < len; ++k) ok = (data[i + k] & 0xC0) == 0x80;
        if (ok) {
            out.append(reinterpret_cast<const char*>(data + i), len);
            i += len;
        } else {
            out.push_back('?');
            ++i;
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    query::query_limits limits;
    limits.max_steps = 200'000;
    limits.max_points = 200'000;
    limits.max_time = std::chrono::milliseconds(200);
    const auto r = query::run_query(
        as_utf8(data, size), 1700000030000, query::store_source(example_store()), limits);
    if (r.status != 200 && r.status != 400) __builtin_trap();
    return 0;
}
