// The timeseries store (issue 13): the cost of inserting a point as the daemon does (one EKG
// response of 500 values per node and poll), an instant lookup over 10 nodes, the bytes a
// point occupies, and query latency, for 10 nodes x 500 series x 1 h at 1 s (18 M points).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include "tracer/timeseries/query_evaluate.hpp"
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
    const auto heap_before = mallinfo2().uordblks;
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
    // What the heap really holds for the store (points, series, names), per point.
    state.counters["heap_bytes_per_point"] =
        static_cast<double>(mallinfo2().uordblks - heap_before) /
        static_cast<double>(s.point_count());
    state.counters["points"] = static_cast<double>(s.point_count());
    state.counters["bytes_per_point"] =
        static_cast<double>(s.point_bytes()) / static_cast<double>(s.point_count());
}
BENCHMARK(InstantLookupOver18MPoints)->Unit(benchmark::kMicrosecond)->Iterations(20000);

// The same 18 M points, shared by the query benchmarks (built once).
const store& hour_of_ten_nodes() {
    static const store s = [] {
        store st;
        std::vector<label_set> nodes;
        for (int n = 0; n < 10; ++n) nodes.push_back({{"node_name", "node-" + std::to_string(n)}});
        for (int sec = 0; sec < 3600; ++sec) {
            const auto values = response(500, sec);
            for (const auto& labels : nodes)
                st.insert(labels, B + static_cast<std::uint64_t>(sec) * 1000, values);
        }
        return st;
    }();
    return s;
}

// One query through the whole pipeline (parse, elaborate, evaluate, JSON) at the end of the
// hour; state.range(0) picks the query.
void QueryLatency(benchmark::State& state) {
    static const char* const queries[] = {
        // The issue's `rate(m[now - 5m; now])`, in this language (a builtin takes its argument
        // after white space): 21 samples at the default 15 s step, 10 series.
        "rate cardano_node_metrics_series7_int[now - 5m; now]",
        "rate cardano_node_metrics_series7_int[now - 1h; now : 1s]",
        "avg_over_time cardano_node_metrics_series7_int[now - 1h; now : 1s]",
        "max (cardano_node_metrics_series7_int now)",
        "cardano_node_metrics_series7_int[now - 5m; now : 1s]",
    };
    const char* q = queries[state.range(0)];
    const query::store_source source(hour_of_ten_nodes());
    const std::uint64_t now = B + 3599 * 1000;
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto r = query::run_query(q, now, source);
        if (r.status != 200) state.SkipWithError(r.body.c_str());
        bytes = r.body.size();
        benchmark::DoNotOptimize(r.body.data());
    }
    state.SetLabel(q);
    state.counters["response_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(QueryLatency)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
