// The hand-written OTLP logs encoder against protoc's generated serializer, on the same
// requests of 2048 varied records (tests/tracer/export/otlp_reference.hpp builds both; the
// reference test checks that the bytes are identical). Per record: building the request and
// its bytes, as the exporter does for each one.
#include <benchmark/benchmark.h>

#include "tests/tracer/export/otlp_reference.hpp"

namespace {

using namespace ct::test::otlp_reference;
using ct::tracer::exporting::otlp_logs_request;

const std::vector<owned_record>& records() {
    static const auto r = [] {
        std::mt19937 rng(11);
        auto v = sample_records(rng, 2048);
        for (auto& x : v) {  // ~400 B bodies, as the ingest benchmark's objects
            if (x.body.size() > 600) x.body.resize(400);
        }
        return v;
    }();
    return r;
}

void HandWritten(benchmark::State& state) {
    otlp_logs_request request(otlp_logs_request::encoding::protobuf, {});
    std::size_t bytes = 0;
    for (auto _ : state) {
        for (const auto& r : records()) request.add(r.node, r.host, r.view());
        const auto body = request.finish();
        bytes += body.size();
        benchmark::DoNotOptimize(body.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(records().size()));
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(HandWritten);

void Protoc(benchmark::State& state) {
    std::size_t bytes = 0;
    for (auto _ : state) {
        const auto body = serialize_with_protoc(records(), {});
        bytes += body.size();
        benchmark::DoNotOptimize(body.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(records().size()));
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(Protoc);

}  // namespace

BENCHMARK_MAIN();
