// Rendering cost of a node's Prometheus exposition with 500 series.
#include <benchmark/benchmark.h>

#include "tracer/metrics/exposition.hpp"

namespace {

using namespace ct::tracer::metrics;

metric_snapshot make_series(int n) {
    metric_snapshot s;
    for (int i = 0; i < n; ++i) {
        const auto base = "cardano.node.metrics.series" + std::to_string(i);
        switch (i % 3) {
            case 0:
                s[base + "_int"] = {ct::protocol::metric_kind::gauge, i * 1000, {}};
                break;
            case 1:
                s[base + "_counter"] = {ct::protocol::metric_kind::counter, i, {}};
                break;
            default:
                s[base + "_real"] = {ct::protocol::metric_kind::label, 0, "4.95e-2"};
        }
    }
    return s;
}

void Render500Series(benchmark::State& state) {
    const auto s = make_series(500);
    exposition_options o;
    o.help = {{"series1", "help one"}, {"series2", "help two"}};
    for (auto _ : state) {
        auto text = render_node(s, o);
        benchmark::DoNotOptimize(text.data());
    }
}
BENCHMARK(Render500Series)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
