// The timeseries store (issue 13): the cost of inserting a point as the daemon does (one EKG
// response of 500 values per node and poll), an instant lookup over 10 nodes, and the bytes a
// point occupies, for 10 nodes x 500 series x 1 h at 1 s (18 M points).
#include <benchmark/benchmark.h>

#include "tracer/timeseries/store.hpp"

namespace {

using namespace ct::tracer::timeseries;

constexpr std::uint64_t B = 1'700'000'000'000;

std::vector<std::pair<std::string, double>> response(int series, double v) {
    std::vector<std::pair<std::string, double>> out;
    for (int i = 0; i < series; ++i)
        out.emplace_back("cardano_node_metrics_series" + std::to_string(i) + "_int", v + i);
    return out;
}

// One response of 500 values per node and second, 10 nodes: ns per point.
void InsertPerPoint(benchmark::State& state) {
    store s;
    std::vector<label_set> nodes;
    for (int n = 0; n < 10; ++n) nodes.push_back({{"node_name", "node-" + std::to_string(n)}});
    const auto values = response(500, 1.0);
    std::uint64_t t = B;
    for (auto _ : state) {
        for (const auto& labels : nodes) s.insert(labels, t, values);
        t += 1000;
    }
    state.SetItemsProcessed(state.iterations() * 10 * 500);
    state.counters["bytes_per_point"] =
        static_cast<double>(s.point_bytes()) / static_cast<double>(s.point_count());
}
BENCHMARK(InsertPerPoint)->Unit(benchmark::kMicrosecond);

// 10 nodes x 500 series x 3600 points (1 h at 1 s); an instant lookup of one metric.
void InstantLookupOver18MPoints(benchmark::State& state) {
    store s;
    std::vector<label_set> nodes;
    for (int n = 0; n < 10; ++n) nodes.push_back({{"node_name", "node-" + std::to_string(n)}});
    const auto values = response(500, 1.0);
    for (int sec = 0; sec < 3600; ++sec)
        for (const auto& labels : nodes)
            s.insert(labels, B + static_cast<std::uint64_t>(sec) * 1000, values);
    std::uint64_t t = B + 1800 * 1000;
    for (auto _ : state) {
        auto v = s.instant("cardano_node_metrics_series7_int", t);
        benchmark::DoNotOptimize(v.data());
        t += 1;
    }
    state.counters["points"] = static_cast<double>(s.point_count());
    state.counters["bytes_per_point"] =
        static_cast<double>(s.point_bytes()) / static_cast<double>(s.point_count());
}
BENCHMARK(InstantLookupOver18MPoints)->Unit(benchmark::kMicrosecond)->Iterations(20000);

}  // namespace

BENCHMARK_MAIN();
