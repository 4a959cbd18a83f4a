// Decoding cost of the hot path: a TraceObjects reply of 100 objects of ~400 bytes, and
// demultiplexing + reassembly of a stream of such replies.
#include <benchmark/benchmark.h>

#include "bench/sample_reply.hpp"
#include "protocol/demuxer.hpp"
#include "protocol/sdu.hpp"
#include "protocol/trace_objects_codec.hpp"

namespace {

using namespace ct::protocol;

using ct::bench::make_reply;

void DecodeReplyOf100(benchmark::State& state) {
    const std::string msg = make_reply(100);
    trace_objects_reply_decoder decoder;
    std::vector<trace_object_view> out;
    out.reserve(100);
    for (auto _ : state) {
        auto ec = decoder.decode(msg, out);
        benchmark::DoNotOptimize(ec);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * 100);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(msg.size()));
    state.counters["bytes_per_object"] = static_cast<double>(msg.size()) / 100.0;
    state.counters["ns_per_object"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * 100,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(DecodeReplyOf100);

void DemuxAndDecodeStream(benchmark::State& state) {
    const std::string msg = make_reply(100);
    std::string wire;
    for (int i = 0; i < 16; ++i) append_sdus(wire, 2, false, msg, 0);
    trace_objects_reply_decoder decoder;
    std::vector<trace_object_view> out;
    for (auto _ : state) {
        demuxer d(false);
        d.handshake_done();
        // Feed in 64 KiB reads as a socket would.
        for (std::size_t pos = 0; pos < wire.size(); pos += 65536) {
            d.feed(std::string_view(wire).substr(pos, 65536));
            for (;;) {
                auto next = d.next_message(2);
                if (!next || !next->has_value()) break;
                decoder.decode(**next, out);
                d.pop_message(2);
            }
        }
    }
    state.SetItemsProcessed(state.iterations() * 1600);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(DemuxAndDecodeStream);

}  // namespace

BENCHMARK_MAIN();
