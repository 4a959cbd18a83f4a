// Rendering cost of a node's Prometheus exposition with 500 series.
#include <benchmark/benchmark.h>

#include "tracer/core/own_metrics.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/core/traffic_stats.hpp"
#include "tracer/metrics/exposition.hpp"
#include "tracer/outputs/output_router.hpp"

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

// A node's store as the daemon fills it (names created by EKG responses): the renderer uses
// the store's cached Prometheus names and its word that no two names collide.
std::unique_ptr<node_metrics> make_store(int n) {
    const auto series = make_series(n);
    ct::protocol::ekg_response_view response;
    for (const auto& [name, m] : series)
        response.entries.push_back({name, {m.kind, m.number, m.text}});
    auto store = std::make_unique<node_metrics>();
    store->apply(response);
    return store;
}

void Render500Series(benchmark::State& state) {
    const auto store = make_store(500);
    exposition_options o;
    o.help = {{"series1", "help one"}, {"series2", "help two"}};
    o.help_generation = new_help_generation();  // as the daemon's options
    for (auto _ : state) {
        std::string text;
        store->visit(
            [&](const metric_snapshot& m, const series_hints& h) { text = render_node(m, o, &h); });
        benchmark::DoNotOptimize(text.data());
    }
}
BENCHMARK(Render500Series)->Unit(benchmark::kMicrosecond);

// The same series from a snapshot without the store's hints (tools, tests): every name is
// made and checked for duplicates while rendering.
void Render500SeriesFromSnapshot(benchmark::State& state) {
    const auto s = make_series(500);
    exposition_options o;
    o.help = {{"series1", "help one"}, {"series2", "help two"}};
    for (auto _ : state) {
        auto text = render_node(s, o);
        benchmark::DoNotOptimize(text.data());
    }
}
BENCHMARK(Render500SeriesFromSnapshot)->Unit(benchmark::kMicrosecond);

// The aggregated /metrics body: nodes (10 unless said) with the same metric names, grouped by
// family.
// `changed`: every node's metrics moved since the last scrape (each is rendered again);
// otherwise only the server time moved (each node's kept rendering is merged).
void render_all_nodes(benchmark::State& state, int series, bool changed, int node_count = 10) {
    std::vector<std::pair<std::string, std::unique_ptr<node_metrics>>> nodes;
    for (int n = 1; n <= node_count; ++n)
        nodes.emplace_back("node-" + std::to_string(n), make_store(series));
    ct::protocol::ekg_response_view one;
    one.entries.push_back(
        {"cardano.node.metrics.series0_int", {ct::protocol::metric_kind::gauge, 7, {}}});
    exposition_options o;
    o.help_generation = new_help_generation();
    for (auto _ : state) {
        if (changed) {
            state.PauseTiming();
            for (const auto& [name, store] : nodes) store->apply(one);
            state.ResumeTiming();
        }
        multi_node_exposition e(o);
        for (const auto& [name, store] : nodes) {
            store->visit(
                [&](const metric_snapshot& m, const series_hints& h) { e.add_node(name, m, &h); });
        }
        auto text = e.finish();
        benchmark::DoNotOptimize(text.data());
    }
}
void RenderAllNodes10x50(benchmark::State& state) { render_all_nodes(state, 50, false); }
void RenderAllNodes10x50Changed(benchmark::State& state) { render_all_nodes(state, 50, true); }
void RenderAllNodes10x500(benchmark::State& state) { render_all_nodes(state, 500, false); }
void RenderAllNodes10x500Changed(benchmark::State& state) { render_all_nodes(state, 500, true); }
// A large deployment: 1000 nodes with a relay's 30 metrics each (EKG polled every second,
// so a scrape every 15 s finds every node changed).
void RenderAllNodes1000x30Changed(benchmark::State& state) {
    render_all_nodes(state, 30, true, 1000);
}
BENCHMARK(RenderAllNodes10x50)->Unit(benchmark::kMicrosecond);
BENCHMARK(RenderAllNodes10x50Changed)->Unit(benchmark::kMicrosecond);
BENCHMARK(RenderAllNodes10x500)->Unit(benchmark::kMicrosecond);
BENCHMARK(RenderAllNodes10x500Changed)->Unit(benchmark::kMicrosecond);
BENCHMARK(RenderAllNodes1000x30Changed)->Unit(benchmark::kMicrosecond);

// The daemon's own metrics as /metrics appends them: prometheus-cpp registry + 10 nodes'
// per-node families + two histograms.
void RenderOwnMetrics10Nodes(benchmark::State& state) {
    using namespace ct::tracer;
    session_counters sessions;
    traffic_registry traffic;
    latency_histogram turnaround;
    reload_counters reloads;
    outputs::output_router writer(outputs::writer_options{});
    std::vector<std::shared_ptr<node_traffic>> nodes;
    for (int n = 1; n <= 10; ++n) {
        nodes.push_back(traffic.for_node("node-" + std::to_string(n)));
        nodes.back()->received += 1000u * static_cast<unsigned>(n);
        turnaround.observe(std::chrono::microseconds(20 * n));
    }
    own_metrics own(sessions, traffic, turnaround, writer, reloads);
    for (auto _ : state) {
        auto text = own.render();
        benchmark::DoNotOptimize(text.data());
    }
}
BENCHMARK(RenderOwnMetrics10Nodes)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
