// Prefix resolution (whole segments, per option), severity thresholds including Silence, and
// the merge of daemon, node and section rules, table-driven; the node dispatcher's cache,
// limiters, counters and reloads.
#include "dispatcher/routing.hpp"

#include <gtest/gtest.h>

#include "config/load.hpp"
#include "dispatcher/node_dispatcher.hpp"

namespace ct::dispatcher {
namespace {

using protocol::severity;

config::tracer_config load(const std::string& rules, const std::string& sections) {
    auto r = config::load_string("networkMagic: 1\nnetwork: { tag: AcceptAt, contents: s }\n" +
                                 rules + "logging:\n" + sections);
    std::string diags;
    for (const auto& d : r.diagnostics) diags += d.to_string() + "\n";
    if (!r.ok()) ADD_FAILURE() << diags;
    return r.config.value_or(config::tracer_config{});
}

const std::string two_sections =
    "- { logRoot: /a, logMode: FileMode, logFormat: ForMachine }\n"
    "- { logRoot: /b, logMode: FileMode, logFormat: ForHuman,\n"
    "    TraceOptions: { \"\": { severity: Warning } } }\n";

struct resolve_case {
    std::string node, ns;
    severity sev;
    section_mask expected;  // bit 0: section /a, bit 1: section /b
};

TEST(Routing, MostSpecificWholeSegmentPrefixWinsPerOption) {
    const auto cfg = load(R"(TraceOptions:
  "": { severity: Info }
  ChainDB: { severity: Notice }
  ChainDB.AddBlockEvent: { maxFrequency: 2 }
  ChainDB.AddBlockEvent.AddBlockValidation: { severity: Silence }
  Net: { severity: Error }
  Net.PeerSelection: { severity: Debug }
nodeTraceOptions:
  "relay-*": { Mempool: { severity: Silence }, Net: { severity: Warning } }
  "relay-2": { Mempool: { severity: Info } }
)",
                          two_sections);
    auto r = routing::build(cfg);
    ASSERT_EQ(r->sections().size(), 2u);
    const std::vector<resolve_case> cases{
        // Root threshold Info; the second section's own root is Warning.
        {"bp", "Startup.Info", severity::debug, 0b00},
        {"bp", "Startup.Info", severity::info, 0b01},
        {"bp", "Startup.Info", severity::warning, 0b11},
        // A longer key wins; `ChainDB` does not match `ChainDBX` (whole segments).
        {"bp", "ChainDB.AddBlockEvent.AddedToCurrentChain", severity::info, 0b00},
        {"bp", "ChainDB.AddBlockEvent.AddedToCurrentChain", severity::notice, 0b11},
        {"bp", "ChainDBX.Thing", severity::info, 0b01},
        {"bp", "ChainDB", severity::notice, 0b11},
        // Silence passes nothing, even Emergency, in every section.
        {"bp", "ChainDB.AddBlockEvent.AddBlockValidation.ValidCandidate", severity::emergency, 0},
        // A more specific key lowers the threshold below its parent's (and below the
        // section root: the daemon's key is more specific than the section's "").
        {"bp", "Net.PeerSelection.Counters", severity::debug, 0b11},
        {"bp", "Net.Mux.Remote", severity::warning, 0b00},
        {"bp", "Net.Mux.Remote", severity::error, 0b11},
        // Node rules: relay-* silences Mempool; relay-2 (matched later) brings it back at
        // Info, in both sections (its Mempool key is more specific than /b's root).
        {"relay-1", "Mempool.AddedTx", severity::critical, 0},
        {"relay-2", "Mempool.AddedTx", severity::info, 0b11},
        {"relay-2", "Mempool.AddedTx", severity::debug, 0b00},
        {"bp", "Mempool.AddedTx", severity::info, 0b01},
        // relay-* lowers Net to Warning for that node only.
        {"relay-1", "Net.Mux.Remote", severity::warning, 0b11},
        {"bp", "Net.Mux.Remote", severity::warning, 0b00},
    };
    for (const auto& c : cases) {
        auto rules = r->rules_for(c.node);
        resolved_route out;
        rules->resolve(c.ns, out);
        EXPECT_EQ(out.by_severity[static_cast<std::size_t>(c.sev)], c.expected)
            << c.node << " " << c.ns << " " << protocol::severity_name(c.sev);
    }
    // The limit of ChainDB.AddBlockEvent applies to its leaves in both sections (one limiter).
    resolved_route out;
    r->rules_for("bp")->resolve("ChainDB.AddBlockEvent.AddedToCurrentChain", out);
    ASSERT_EQ(out.limits.size(), 1u);
    EXPECT_EQ(out.limits[0], (resolved_route::limit{2.0, 0b11}));
    r->rules_for("bp")->resolve("ChainDB.OpenEvent", out);
    EXPECT_TRUE(out.limits.empty());
    EXPECT_EQ(r->matching_patterns("relay-2"), (std::vector<std::string>{"relay-*", "relay-2"}));
    EXPECT_FALSE(r->passes_everything());
}

TEST(Routing, SectionRulesOverrideNodeRulesWhichOverrideTheDaemonsKeyByKey) {
    const auto cfg = load(R"(TraceOptions:
  ChainDB: { severity: Notice, maxFrequency: 5 }
nodeTraceOptions:
  "*": { ChainDB: { maxFrequency: 1 } }
)",
                          "- { logRoot: /a, logMode: FileMode, logFormat: ForMachine }\n"
                          "- { logRoot: /b, logMode: FileMode, logFormat: ForMachine,\n"
                          "    TraceOptions: { ChainDB: { severity: Error } } }\n"
                          "- { logRoot: /c, logMode: FileMode, logFormat: ForMachine,\n"
                          "    TraceOptions: { ChainDB: { maxFrequency: 0 } } }\n");
    auto r = routing::build(cfg);
    resolved_route out;
    r->rules_for("n")->resolve("ChainDB.X", out);
    // /a: Notice (daemon), 1/s (node); /b: Error (section), 1/s (node); /c: Notice, no limit.
    EXPECT_EQ(out.by_severity[static_cast<std::size_t>(severity::notice)], 0b101u);
    EXPECT_EQ(out.by_severity[static_cast<std::size_t>(severity::error)], 0b111u);
    ASSERT_EQ(out.limits.size(), 1u);
    EXPECT_EQ(out.limits[0], (resolved_route::limit{1.0, 0b011}));
}

TEST(Routing, WithoutRulesEverythingPassesAndResolutionIsSkipped) {
    auto r = routing::build(load("", two_sections.substr(0, two_sections.find('\n') + 1)));
    EXPECT_TRUE(r->passes_everything());
    node_dispatcher d(r, "n", nullptr);
    EXPECT_EQ(d.route("Any.Thing", severity::debug, 0), 0b1u);
    EXPECT_EQ(d.cached_namespaces(), 0u);
}

TEST(Routing, GlobsMatchTheWholeName) {
    EXPECT_TRUE(glob_match("relay-*", "relay-1"));
    EXPECT_TRUE(glob_match("relay-?", "relay-1"));
    EXPECT_TRUE(glob_match("bp-[12]", "bp-2"));
    EXPECT_FALSE(glob_match("bp-[12]", "bp-3"));
    EXPECT_TRUE(glob_match("bp-[!12]", "bp-3"));
    EXPECT_FALSE(glob_match("relay", "relay-1"));
    EXPECT_TRUE(glob_match("*", ""));
}

TEST(NodeDispatcher, CountsFilteredObjectsByTopSegmentAndReason) {
    auto r =
        routing::build(load("TraceOptions: { \"\": { severity: Warning }, Forge: { "
                            "maxFrequency: 1 } }\n",
                            two_sections));
    auto stats = std::make_shared<namespace_filter_stats>();
    node_dispatcher d(r, "n", stats);
    EXPECT_EQ(d.route("ChainDB.A", severity::info, 0), 0u);
    EXPECT_EQ(d.route("ChainDB.B", severity::debug, 0), 0u);
    EXPECT_EQ(d.route("ChainDB.A", severity::error, 0), 0b11u);
    // Forge: a burst of Error messages 1/16 s apart starts limiting at the fourth.
    for (int k = 0; k < 6; ++k) {
        const auto m = d.route("Forge.Loop.X", severity::error, k / 16.0);
        EXPECT_EQ(m, k <= 3 ? 0b11u : 0u) << k;
    }
    ASSERT_EQ(d.events().size(), 1u);
    EXPECT_EQ(d.events()[0].kind, limiter_report::start);
    EXPECT_EQ(d.events()[0].ns, "Forge.Loop.X");
    EXPECT_EQ(d.events()[0].max_frequency, 1.0);
    EXPECT_EQ(d.filtered(), 4u);
    const auto snap = stats->snapshot();
    EXPECT_EQ(snap.at("ChainDB").severity, 2u);
    EXPECT_EQ(snap.at("ChainDB").limiter, 0u);
    EXPECT_EQ(snap.at("Forge").limiter, 2u);
    EXPECT_EQ(d.cached_namespaces(), 3u);
}

TEST(NodeDispatcher, AReloadKeepsTheStateOfUnchangedLimitersOnly) {
    const std::string sec = "- { logRoot: /a, logMode: FileMode, logFormat: ForMachine }\n";
    auto r1 = routing::build(
        load("TraceOptions: { A: { maxFrequency: 1 }, B: { maxFrequency: 1 } }\n", sec));
    auto r2 = routing::build(
        load("TraceOptions: { A: { maxFrequency: 1 }, B: { maxFrequency: 2 } }\n", sec));
    node_dispatcher d(r1, "n", nullptr);
    for (int k = 0; k < 5; ++k) {
        d.route("A.x", severity::info, k / 16.0);
        d.route("B.x", severity::info, k / 16.0);
    }
    d.events().clear();
    d.rebind(r2);
    // A keeps limiting (its 5th message was suppressed, so is the 6th); B starts afresh.
    EXPECT_EQ(d.route("A.x", severity::info, 5 / 16.0), 0u);
    EXPECT_EQ(d.route("B.x", severity::info, 5 / 16.0), 1u);
    EXPECT_TRUE(d.events().empty());
}

TEST(NodeDispatcher, NamespacesBeyondTheBoundAreResolvedWithoutCaching) {
    auto r = routing::build(load("TraceOptions: { \"\": { severity: Info } }\n",
                                 "- { logRoot: /a, logMode: FileMode, logFormat: ForMachine }\n"));
    auto stats = std::make_shared<namespace_filter_stats>(2);
    node_dispatcher d(r, "n", stats, 2);
    EXPECT_EQ(d.route("A.x", severity::info, 0), 1u);
    EXPECT_EQ(d.route("B.x", severity::info, 0), 1u);
    EXPECT_EQ(d.route("C.x", severity::info, 0), 1u);
    EXPECT_EQ(d.route("D.x", severity::debug, 0), 0u);
    EXPECT_EQ(d.cached_namespaces(), 2u);
    EXPECT_EQ(d.uncached(), 2u);
    const auto snap = stats->snapshot();
    EXPECT_EQ(snap.size(), 3u);  // A, B, then everything else
    EXPECT_EQ(snap.at("_other_").severity, 1u);
}

}  // namespace
}  // namespace ct::dispatcher
