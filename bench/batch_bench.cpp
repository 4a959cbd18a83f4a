// The connection threads' other per-object work after decoding: copying a decoded reply of
// 100 objects into a fresh trace batch (machine lines first, back to back, then the other
// fields), as a session does for every reply.
#include <benchmark/benchmark.h>

#include "bench/sample_reply.hpp"
#include "tracer/outputs/trace_batch.hpp"

namespace {

void BatchOfReplyOf100(benchmark::State& state) {
    const std::string msg = ct::bench::make_reply(100);
    ct::protocol::trace_objects_reply_decoder decoder;
    std::vector<ct::protocol::trace_object_view> objects;
    if (decoder.decode(msg, objects) || objects.size() != 100) {
        state.SkipWithError("the sample reply does not decode");
        return;
    }
    for (auto _ : state) {
        ct::tracer::outputs::trace_batch batch;
        batch.add_all(objects);
        benchmark::DoNotOptimize(batch.records.data());
        benchmark::DoNotOptimize(batch.arena.data());
    }
    state.counters["ns_per_object"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * 100,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BatchOfReplyOf100);

}  // namespace

BENCHMARK_MAIN();
