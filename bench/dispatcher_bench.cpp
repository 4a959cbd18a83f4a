// Cost of the dispatcher per trace object with a realistic rule set: the shipped mainnet
// TraceOptions (24 rules) plus per-node and per-section rules (30 in all), 3 logging sections,
// a stream of real node namespaces and severities. Also counts heap allocations inside the
// timed loop (the dispatcher must not allocate per object once a namespace is known).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "config/load.hpp"
#include "dispatcher/node_dispatcher.hpp"

// Counting replacements of the global allocation functions (malloc/free underneath, which
// GCC cannot see through; hence the pragma).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<std::uint64_t> allocations{0};
}

void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace ct;
using protocol::severity;

const char* rules_yaml = R"(networkMagic: 764824073
network: { tag: AcceptAt, contents: "/tmp/forwarder.sock" }
TraceOptions:
  "": { severity: Notice }
  BlockFetch.Client.CompletedBlockFetch: { maxFrequency: 2.0 }
  BlockFetch.Decision: { severity: Info }
  ChainDB: { severity: Info }
  ChainDB.AddBlockEvent.AddBlockValidation: { severity: Silence }
  ChainDB.AddBlockEvent.AddBlockValidation.ValidCandidate: { maxFrequency: 2.0 }
  ChainDB.AddBlockEvent.AddedBlockToQueue: { maxFrequency: 2.0 }
  ChainDB.AddBlockEvent.AddedBlockToVolatileDB: { maxFrequency: 2.0 }
  ChainDB.CopyToImmutableDBEvent.CopiedBlockToImmutableDB: { maxFrequency: 2.0 }
  ChainDB.LedgerEvent.Forker: { severity: Silence }
  ChainSync.Client: { severity: Warning }
  Forge.Loop: { severity: Info }
  Forge.StateInfo: { severity: Info }
  Mempool: { severity: Silence }
  Mempool.AttemptAdd: { severity: Silence }
  Mempool.SyncNotNeeded: { severity: Silence }
  Net.ConnectionManager.Remote: { severity: Info }
  Net.InboundGovernor: { severity: Warning }
  Net.InboundGovernor.Remote: { severity: Info }
  Net.Mux.Remote: { severity: Info }
  Net.PeerSelection: { severity: Info }
  Resources: { severity: Silence }
  Startup.DiffusionInit: { severity: Info }
nodeTraceOptions:
  "relay-*": { Mempool: { severity: Info }, Net.PeerSelection: { severity: Silence } }
  "relay-1": { ChainSync: { maxFrequency: 10 } }
logging:
- { logRoot: /tmp/a, logMode: FileMode, logFormat: ForMachine }
- { logRoot: /tmp/b, logMode: FileMode, logFormat: ForHuman,
    TraceOptions: { "": { severity: Warning }, ChainDB: { severity: Notice } } }
- { logRoot: /tmp/c, logMode: JournalMode, logFormat: ForMachine,
    TraceOptions: { "": { severity: Error } } }
)";

struct object {
    std::string ns;
    severity sev;
};

std::vector<object> make_stream(std::size_t n) {
    const std::array<std::pair<const char*, severity>, 24> kinds{{
        {"ChainDB.AddBlockEvent.AddedToCurrentChain", severity::notice},
        {"ChainDB.AddBlockEvent.AddedBlockToQueue", severity::debug},
        {"ChainDB.AddBlockEvent.AddedBlockToVolatileDB", severity::debug},
        {"ChainDB.AddBlockEvent.AddBlockValidation.ValidCandidate", severity::info},
        {"ChainDB.CopyToImmutableDBEvent.CopiedBlockToImmutableDB", severity::debug},
        {"ChainDB.ImmDbEvent.ChunkValidation.ValidatedChunk", severity::info},
        {"ChainDB.LedgerEvent.Forker.ForkerOpen", severity::debug},
        {"BlockFetch.Client.CompletedBlockFetch", severity::info},
        {"BlockFetch.Client.SendFetchRequest", severity::info},
        {"BlockFetch.Decision.Decline", severity::info},
        {"ChainSync.Client.DownloadedHeader", severity::info},
        {"ChainSync.Client.RolledBack", severity::notice},
        {"ChainSync.ServerHeader.Update", severity::info},
        {"Mempool.AddedTx", severity::info},
        {"Mempool.RejectedTx", severity::info},
        {"Forge.Loop.StartLeadershipCheck", severity::info},
        {"Forge.Loop.NodeNotLeader", severity::info},
        {"Forge.StateInfo", severity::info},
        {"Net.PeerSelection.Actions.MonitoringResult", severity::debug},
        {"Net.PeerSelection.Selection.GovernorWakeup", severity::info},
        {"Net.ConnectionManager.Remote.ConnectionManagerCounters", severity::info},
        {"Net.InboundGovernor.Remote.InboundGovernorCounters", severity::info},
        {"Net.Mux.Remote.Bearer.RecvEnd", severity::debug},
        {"TxSubmission.TxInbound.Collected", severity::debug},
    }};
    std::mt19937 rng(7);
    std::vector<object> out;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& k = kinds[rng() % kinds.size()];
        out.push_back({k.first, k.second});
    }
    return out;
}

void run(benchmark::State& state, const char* node) {
    auto loaded = config::load_string(rules_yaml);
    if (!loaded.ok()) {
        state.SkipWithError("rules do not load");
        return;
    }
    auto routing = dispatcher::routing::build(*loaded.config);
    auto stats = std::make_shared<dispatcher::namespace_filter_stats>();
    dispatcher::node_dispatcher d(routing, node, stats);
    const auto stream = make_stream(4096);
    // Objects 1 ms apart: the limited namespaces run at ~40/s each, well above 2/s.
    double at = 1.7e9;
    for (const auto& o : stream) d.route(o.ns, o.sev, at += 0.001);  // learn the namespaces
    d.events().reserve(4096);
    std::uint64_t passed = 0;
    const auto before = allocations.load();
    std::size_t i = 0;
    for (auto _ : state) {
        const auto& o = stream[i++ & 4095];
        const auto mask = d.route(o.ns, o.sev, at += 0.001);
        passed += mask != 0;
        benchmark::DoNotOptimize(mask);
        if (d.events().size() > 4000) d.events().clear();
    }
    const auto allocs = allocations.load() - before;
    state.counters["ns_per_object"] =
        benchmark::Counter(static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["allocs_per_object"] =
        static_cast<double>(allocs) /
        static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
    state.counters["passed_fraction"] =
        static_cast<double>(passed) /
        static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
    state.counters["rules"] = 30;
    state.counters["sections"] = static_cast<double>(routing->sections().size());
}

void RouteRelayNodeWithPerNodeRules(benchmark::State& s) { run(s, "relay-1"); }
void RouteBlockProducer(benchmark::State& s) { run(s, "bp-1"); }
BENCHMARK(RouteRelayNodeWithPerNodeRules);
BENCHMARK(RouteBlockProducer);

}  // namespace

BENCHMARK_MAIN();
