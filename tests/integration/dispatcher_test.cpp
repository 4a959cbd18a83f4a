// The dispatcher end to end: the real daemon and simulated nodes with a namespace mix; each
// logging section holds exactly what its rules let through, in order; a reload reaches live
// connections at their next reply and keeps every open file; the frequency limiter reports.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>

#include "protocol/severity.hpp"
#include "tests/integration/daemon_fixture.hpp"

namespace ct::test {
namespace {

using namespace std::chrono_literals;
using protocol::severity;

struct sent_object {
    std::uint64_t seq;
    std::string ns;
    severity sev;
};

class DispatcherTest : public DaemonTest {
  protected:
    /// The simulated nodes' --sent-log: node name -> objects in the order sent.
    std::map<std::string, std::vector<sent_object>> read_sent_log(const std::string& file) {
        std::map<std::string, std::vector<sent_object>> out;
        std::istringstream in(read_file(dir / file));
        std::string node, ns, sev;
        std::uint64_t seq = 0;
        while (in >> node >> seq >> ns >> sev) {
            out[node].push_back({seq, ns, protocol::parse_severity(sev).value()});
        }
        return out;
    }
    /// A simulated node connecting to tracer.sock (magic 42), with `more` arguments.
    std::unique_ptr<child_process> run_node(std::vector<std::string> more,
                                            const std::string& label = "fwd") {
        std::vector<std::string> args{"--connect", "tracer.sock", "--network-magic", "42"};
        args.insert(args.end(), more.begin(), more.end());
        return run_forwarder(args, label);
    }
    std::string head(const std::string& extra = "") {
        return "networkMagic: 42\n"
               "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
               "loRequestNum: 50\n" +
               extra;
    }
};

bool at_least(severity s, severity t) { return static_cast<int>(s) >= static_cast<int>(t); }
bool under(const std::string& ns, const std::string& prefix) {
    return ns == prefix || ns.starts_with(prefix + ".");
}

TEST_F(DispatcherTest, EachSectionHoldsExactlyWhatItsRulesLetThroughInOrder) {
    start_tracer(head(R"(hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }
TraceOptions:
  "": { severity: Info }
  Mempool: { severity: Warning }
  Net.PeerSelection: { severity: Silence }
nodeTraceOptions:
  "relay-*": { ChainSync: { severity: Silence } }
logging:
- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }
- { logRoot: warn, logMode: FileMode, logFormat: ForMachine,
    TraceOptions: { "": { severity: Warning } } }
)"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const std::string count = std::to_string(600 / slowdown);
    auto relays = run_node({"--nodes",
                            "2",
                            "--name-prefix",
                            "relay",
                            "--count",
                            count,
                            "--sent-log",
                            "sent-relays.txt"},
                           "relays");
    auto bp = run_node({"--name", "bp", "--count", count, "--sent-log", "sent-bp.txt"}, "bp");
    ASSERT_EQ(relays->wait_exit(60s), 0);
    ASSERT_EQ(bp->wait_exit(60s), 0);
    auto sent = read_sent_log("sent-relays.txt");
    sent.merge(read_sent_log("sent-bp.txt"));
    ASSERT_EQ(sent.size(), 3u);

    // What the rules say, written out by hand for this mix.
    std::map<std::string, std::vector<std::uint64_t>> want_all, want_warn;
    std::map<std::string, std::uint64_t> want_filtered, want_mempool_filtered;
    for (const auto& [node, objects] : sent) {
        const bool relay = node.starts_with("relay-");
        for (const auto& o : objects) {
            bool all = at_least(o.sev, severity::info), warn = at_least(o.sev, severity::warning);
            if (under(o.ns, "Mempool")) all = warn = at_least(o.sev, severity::warning);
            if (under(o.ns, "Net.PeerSelection")) all = warn = false;
            if (relay && under(o.ns, "ChainSync")) all = warn = false;
            if (all) want_all[node].push_back(o.seq);
            if (warn) want_warn[node].push_back(o.seq);
            if (!all && !warn) {
                ++want_filtered[node];
                if (under(o.ns, "Mempool")) ++want_mempool_filtered[node];
            }
        }
        ASSERT_GT(want_filtered[node], 0u) << node;  // the mix exercises the rules
        ASSERT_GT(want_warn[node].size(), 0u) << node;
    }
    for (const auto& [node, objects] : sent) {
        ASSERT_TRUE(wait_until([&] {
            return seqs("logs", node).size() >= want_all[node].size() &&
                   seqs("warn", node).size() >= want_warn[node].size();
        })) << node;
    }
    const auto port = bound_port("Tracer.StartedPrometheus");
    const auto metrics = http_get(port, "/metrics");
    ASSERT_TRUE(metrics);
    for (const auto& [node, objects] : sent) {
        EXPECT_EQ(seqs("logs", node), want_all[node]) << node;
        EXPECT_EQ(seqs("warn", node), want_warn[node]) << node;
        EXPECT_NE(
            metrics->body.find("cardano_tracer_node_trace_objects_filtered_total{node_name=\"" +
                               node + "\"} " + std::to_string(want_filtered[node])),
            std::string::npos)
            << node << "\n"
            << metrics->body;
        if (want_mempool_filtered[node] > 0) {
            EXPECT_NE(metrics->body.find("cardano_tracer_dispatcher_filtered_total{node_name=\"" +
                                         node + "\",namespace=\"Mempool\",reason=\"severity\"} " +
                                         std::to_string(want_mempool_filtered[node])),
                      std::string::npos)
                << node;
        }
    }
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DispatcherTest, AReloadReachesLiveConnectionsAndKeepsEveryOpenFile) {
    const std::string all = "- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }\n";
    const std::string warn_silent =
        "- { logRoot: warn, logMode: FileMode, logFormat: ForMachine,\n"
        "    TraceOptions: { \"\": { severity: Silence } } }\n";
    const std::string warn_open = "- { logRoot: warn, logMode: FileMode, logFormat: ForMachine }\n";
    start_tracer(head("logging:\n" + all + warn_silent));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd =
        run_node({"--name", "n", "--rate", std::to_string(100 / slowdown), "--duration", "60"});
    ASSERT_TRUE(wait_until([&] { return seqs("logs", "n").size() >= 20; }));
    EXPECT_FALSE(fs::exists(dir / "warn" / "n"));  // Silence: not even a directory

    // The sections swap places and the second opens up; the node stays connected.
    write_file(dir / "tracer.yaml", head("logging:\n" + warn_open + all));
    tracer->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return count("Tracer.ConfigReloaded") == 1; }));
    ASSERT_TRUE(wait_until([&] { return seqs("warn", "n").size() >= 20; }));
    fwd->signal(SIGTERM);
    ASSERT_EQ(fwd->wait_exit(10s), 0);
    const auto summary = nlohmann::json::parse(fwd->stdout_text())["nodes"][0];
    EXPECT_EQ(summary["connections"].get<int>(), 1);
    const auto sent = summary["sent"].get<std::uint64_t>();
    ASSERT_TRUE(wait_until([&] { return seqs("logs", "n").size() >= sent; }));
    EXPECT_EQ(stop_tracer(), 0);

    // Section `logs` moved from first to second place and kept its one file, gap-free.
    EXPECT_EQ(seqs("logs", "n"), one_to(sent));
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir / "logs" / "n"))
        files += e.path().filename().string().starts_with("node-");
    EXPECT_EQ(files, 1u);
    // Section `warn` got a gap-free tail, from the first reply after the reload.
    const auto tail = seqs("warn", "n");
    ASSERT_FALSE(tail.empty());
    EXPECT_GT(tail.front(), 1u);
    for (std::size_t i = 1; i < tail.size(); ++i) EXPECT_EQ(tail[i], tail[i - 1] + 1);
    EXPECT_EQ(tail.back(), sent);
}

TEST_F(DispatcherTest, TheFrequencyLimiterSuppressesAndReports) {
    start_tracer(head(R"(TraceOptions:
  "": { maxFrequency: 2 }
logging:
- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }
)"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd =
        run_node({"--name", "n", "--rate", "400", "--duration", "3", "--sent-log", "sent.txt"});
    ASSERT_EQ(fwd->wait_exit(30s), 0);
    const auto sent = read_sent_log("sent.txt")["n"];
    ASSERT_TRUE(wait_until([&] { return count("Tracer.StartLimiting") > 0; }));
    EXPECT_EQ(stop_tracer(), 0);
    // Per leaf namespace (the limiter's scope): at most the burst before limiting starts (4
    // objects) plus 2/s over the objects' 3-4 s of timestamps; a namespace sent below the
    // limit keeps everything.
    std::map<std::string, std::size_t> sent_by_ns, kept_by_ns;
    std::map<std::uint64_t, std::string> ns_of;
    for (const auto& o : sent) {
        ++sent_by_ns[o.ns];
        ns_of[o.seq] = o.ns;
    }
    const auto kept = seqs("logs", "n");
    for (auto seq : kept) ++kept_by_ns[ns_of.at(seq)];
    std::size_t limited = 0;
    for (const auto& [ns, n] : sent_by_ns) {
        EXPECT_LE(kept_by_ns[ns], std::min<std::size_t>(n, 4 + 2 * 4 + 1)) << ns << " sent " << n;
        limited += n > 20;
    }
    EXPECT_GT(limited, 3u) << "the mix must exceed the limit in several namespaces";
    EXPECT_LT(kept.size(), sent.size());
    EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
    const auto start = messages("Tracer.StartLimiting").front();
    EXPECT_EQ(start["sev"], "Notice");
    EXPECT_EQ(start["data"]["nodeName"], "n");
    EXPECT_EQ(start["data"]["maxFrequency"], 2.0);
    EXPECT_FALSE(start["data"]["name"].get<std::string>().empty());
}

}  // namespace
}  // namespace ct::test

namespace ct::test {
namespace {

/// The legacy logger of each namespace of the simulated node's mix, written out by hand from
/// legacy/namespaces.txt (longest prefix with a logger).
const std::map<std::string, std::string> legacy_logger{
    {"ChainDB.AddBlockEvent.AddedToCurrentChain", "cardano.node.ChainDB"},
    {"ChainDB.AddBlockEvent.AddedBlockToQueue", "cardano.node.ChainDB"},
    {"ChainDB.AddBlockEvent.AddedBlockToVolatileDB", "cardano.node.ChainDB"},
    {"ChainDB.AddBlockEvent.AddBlockValidation.ValidCandidate", "cardano.node.ChainDB"},
    {"ChainDB.CopyToImmutableDBEvent.CopiedBlockToImmutableDB", "cardano.node.ChainDB"},
    {"ChainDB.ImmDbEvent.ChunkValidation.ValidatedChunk", "cardano.node.ChainDB"},
    {"ChainDB.LedgerEvent.Forker.ForkerOpen", "cardano.node.ChainDB"},
    {"ChainDB.ReplayBlock.LedgerReplay", "cardano.node.ChainDB"},
    {"BlockFetch.Client.CompletedBlockFetch", "cardano.node.BlockFetchClient"},
    {"BlockFetch.Client.SendFetchRequest", "cardano.node.BlockFetchClient"},
    {"BlockFetch.Decision.Decline", "cardano.node.BlockFetchDecision"},
    {"BlockFetch.Server.SendBlock", "cardano.node.BlockFetchServer"},
    {"ChainSync.Client.DownloadedHeader", "cardano.node.ChainSyncClient"},
    {"ChainSync.Client.RolledBack", "cardano.node.ChainSyncClient"},
    {"ChainSync.ServerHeader.Update", "cardano.node.ChainSyncHeaderServer"},
    {"Mempool.AddedTx", "cardano.node.Mempool"},
    {"Mempool.RejectedTx", "cardano.node.Mempool"},
    {"Mempool.RemoveTxs", "cardano.node.Mempool"},
    {"Forge.Loop.StartLeadershipCheck", "cardano.node.Forge"},
    {"Forge.Loop.NodeNotLeader", "cardano.node.Forge"},
    {"Forge.StateInfo", "cardano.node.Forge"},
    {"TxSubmission.TxInbound.Collected", "cardano.node.TxInbound"},
    {"TxSubmission.TxInbound.Processed", "cardano.node.TxInbound"},
    {"Net.PeerSelection.Actions.MonitoringResult", "cardano.node.PeerSelectionActions"},
    {"Net.PeerSelection.Selection.GovernorWakeup", "cardano.node.PeerSelection"},
    {"Net.PeerSelection.Counters", "cardano.node.PeerSelectionCounters"},
    {"Net.ConnectionManager.Remote.ConnectionManagerCounters", "cardano.node.ConnectionManager"},
    {"Net.ConnectionManager.Remote.ConnectionHandler", "cardano.node.ConnectionManager"},
    {"Net.InboundGovernor.Remote.InboundGovernorCounters", "cardano.node.InboundGovernor"},
    {"Net.InboundGovernor.Remote.InboundGovernorError", "cardano.node.InboundGovernor"},
    {"Net.Mux.Remote.Bearer.RecvEnd", "cardano.node.MuxBearerTracer"},
    {"Net.Handshake.Remote.Send.ProposeVersions", "cardano.node.Handshake"},
    {"Net.DNS.LookupResult", "cardano.node.DNS"},
    {"Net.Server.Remote.Error", "cardano.node.Server"},
    {"BlockchainTime.CurrentSlotUnknown", "cardano.node.BlockchainTime"},  // no logger: fallback
    {"Consensus.GSM.EnterCaughtUp", "cardano.node.GSM"},
    {"Resources", "cardano.node.resources"},
    {"Startup.Info", "cardano.node.startup"},
    {"Shutdown.Requested", "cardano.node.shutdown"},
    {"Reflection.TracerInfo", "cardano.node.Reflection"},  // not in the table: fallback
};

/// "2026-12-02T19:10:11.1234567Z" -> date, time, and the fraction padded to `digits`.
std::string legacy_time(const std::string& at, char sep, std::size_t digits) {
    const auto dot = at.find('.');
    std::string frac = dot == std::string::npos ? "" : at.substr(dot + 1, at.size() - dot - 2);
    frac.resize(digits, '0');
    return at.substr(0, 10) + sep + at.substr(11, 8) + "." + frac;
}

std::vector<std::string> lines_of(const fs::path& dir, const std::string& ext) {
    std::vector<std::string> out;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto f = e.path().filename().string();
        if (f.starts_with("node-") && f.ends_with(ext)) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
        for (auto& l : split_lines(read_file(f))) out.push_back(l);
    return out;
}

TEST_F(DispatcherTest, LegacyAndDispatcherFormatsAreWrittenLineForLine) {
    start_tracer(head(R"(logging:
- { logRoot: machine, logMode: FileMode, logFormat: ForMachine }
- { logRoot: human, logMode: FileMode, logFormat: ForHuman }
- { logRoot: dispatcher, logMode: FileMode, logFormat: DispatcherHuman }
- { logRoot: legacy, logMode: FileMode, logFormat: LegacyText }
- { logRoot: legacy, logMode: FileMode, logFormat: LegacyJson }
)"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_node({"--name", "n", "--count", "200", "--host", "relay-frankfurt.example.org"});
    ASSERT_EQ(fwd->wait_exit(60s), 0);
    ASSERT_TRUE(wait_until([&] { return seqs("machine", "n").size() >= 200; }));
    ASSERT_TRUE(wait_until([&] { return lines_of(dir / "legacy" / "n", ".json").size() >= 200; }));
    EXPECT_EQ(stop_tracer(), 0);
    const auto machine = lines_of(dir / "machine" / "n", ".json");
    const auto human = lines_of(dir / "human" / "n", ".log");
    const auto dispatcher = lines_of(dir / "dispatcher" / "n", ".log");
    const auto text = lines_of(dir / "legacy" / "n", ".log");
    const auto legacy_json = lines_of(dir / "legacy" / "n", ".json");
    ASSERT_EQ(machine.size(), 200u);
    ASSERT_EQ(human.size(), 200u);
    ASSERT_EQ(dispatcher.size(), 200u);
    ASSERT_EQ(text.size(), 200u);
    ASSERT_EQ(legacy_json.size(), 200u);
    for (std::size_t i = 0; i < machine.size(); ++i) {
        const auto m = nlohmann::ordered_json::parse(machine[i]);
        const auto at = m["at"].get<std::string>();
        const auto ns = m["ns"].get<std::string>();
        const auto sev = m["sev"].get<std::string>();
        const auto thread = m["thread"].get<std::string>();
        const auto seq = m["data"]["seq"].get<std::uint64_t>();
        const std::string data = m["data"].dump();
        // The simulated node has a human text except for every 7th object.
        const bool has_human = seq % 7 != 0;
        const std::string text_or_data = has_human ? human[i] : data;
        ASSERT_TRUE(legacy_logger.contains(ns)) << ns;
        EXPECT_EQ(dispatcher[i],
                  "[" + legacy_time(at, ' ', 4) + "Z][relay-frankfurt.example.org:" + ns + "](" +
                      sev + "," + thread + ") " +
                      (has_human ? human[i] : "{\"data\":" + data + "}"))
            << i;
        EXPECT_EQ(text[i],
                  "[relay-fr:" + legacy_logger.at(ns) + ":" + sev + ":" + thread + "] [" +
                      legacy_time(at, ' ', 2) + " UTC] " + text_or_data)
            << i;
        EXPECT_EQ(legacy_json[i],
                  "{\"at\":\"" + legacy_time(at, 'T', 2) + "Z\",\"env\":\"\",\"ns\":[\"" +
                      legacy_logger.at(ns) + "\"],\"data\":" + data +
                      ",\"app\":[],\"msg\":" + nlohmann::json(has_human ? human[i] : "").dump() +
                      ",\"pid\":\"\",\"loc\":null,\"host\":\"relay-fr\",\"sev\":\"" + sev +
                      "\",\"thread\":\"" + thread + "\"}")
            << i;
    }
}

}  // namespace
}  // namespace ct::test

namespace ct::test {
namespace {

TEST_F(DispatcherTest, LegacyMetricNamesOnEveryRouteAndAPerNodeLegacyEndpoint) {
    start_tracer(head(R"(hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }
hasEKG: { epHost: 127.0.0.1, epPort: 0 }
metricsLegacyNames: true
legacyMetricsEndpoints: { relay-1: { epHost: 127.0.0.1, epPort: 0 } }
ekgRequestFreq: 0.2
logging:
- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }
)"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const auto prom = bound_port("Tracer.StartedPrometheus");
    const auto ekg = bound_port("Tracer.StartedMonitoring");
    const auto legacy = bound_port("Tracer.StartedLegacyMetrics");
    ASSERT_NE(legacy, 0);
    // Not connected yet: the legacy endpoint says so.
    EXPECT_EQ(http_get(legacy, "/metrics")->status, 503u);
    auto fwd =
        run_node({"--name", "relay-1", "--rate", "20", "--metrics", "12", "--duration", "30"});
    ASSERT_TRUE(wait_until([&] {
        auto r = http_get(legacy, "/metrics");
        return r && r->status == 200 &&
               r->body.find("cardano_node_metrics_served_header_counter_int ") != std::string::npos;
    }));
    const auto node_page = http_get(prom, "/relay-1")->body;
    const auto all = http_get(prom, "/metrics")->body;
    const auto page = http_get(legacy, "/metrics")->body;
    const auto ekg_json = http_get(ekg, "/relay-1", {"Accept: application/json"})->body;
    for (const auto& [new_name, old_name] : std::vector<std::pair<std::string, std::string>>{
             {"cardano_node_metrics_served_header_counter",
              "cardano_node_metrics_served_header_counter_int"},
             {"cardano_node_metrics_peerSelection_Cold_int",
              "cardano_node_metrics_peerSelection_cold"}}) {
        for (const auto* body : {&node_page, &page}) {
            EXPECT_NE(body->find("\n" + new_name + " "), std::string::npos) << new_name << *body;
            EXPECT_NE(body->find("\n" + old_name + " "), std::string::npos) << old_name << *body;
        }
        EXPECT_NE(all.find(old_name + "{node_name=\"relay-1\"}"), std::string::npos) << old_name;
    }
    // gLiveView's expression on the node's own page: no labels.
    EXPECT_NE(page.find("\ncardano_node_metrics_blockNum_int "), std::string::npos);
    EXPECT_EQ(page.find("node_name"), std::string::npos);
    EXPECT_TRUE(page.ends_with("# EOF\n"));
    const auto tree = nlohmann::json::parse(ekg_json);
    EXPECT_TRUE(tree["cardano"]["node"]["metrics"]["served"]["header"].contains("counter_int"))
        << ekg_json;
    EXPECT_TRUE(tree["cardano"]["node"]["metrics"]["peerSelection"].contains("cold")) << ekg_json;
    EXPECT_EQ(http_get(legacy, "/other")->status, 404u);
    for (const auto& [name, body] :
         {std::pair<std::string, std::string>{"node", node_page}, {"all", all}, {"legacy", page}}) {
        EXPECT_EQ(promtool_errors(name, body), "") << name;
    }
    fwd->signal(SIGTERM);
    EXPECT_EQ(fwd->wait_exit(10s), 0);
    EXPECT_EQ(stop_tracer(), 0);
}

}  // namespace
}  // namespace ct::test

namespace ct::test {
namespace {

TEST_F(DispatcherTest, EachNodesTracerConfigIsServedInBothShapesEvenWhenFiltered) {
    start_tracer(head(R"(hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }
TraceOptions: { Reflection: { severity: Silence } }
logging:
- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }
)"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const auto prom = bound_port("Tracer.StartedPrometheus");
    std::vector<std::unique_ptr<child_process>> nodes;
    for (const std::string name : {"TraceOptions", "Options", "plain"}) {
        std::vector<std::string> args{"--name", "node-" + name, "--rate", "20", "--duration", "30"};
        if (name != "plain") {
            args.push_back("--tracer-config-info");
            args.push_back(name);
        }
        nodes.push_back(run_node(args, name));
    }
    for (const std::string shape : {"TraceOptions", "Options"}) {
        std::optional<http_reply> r;
        ASSERT_TRUE(wait_until([&] {
            // The route is the name's slug (lower case).
            r = http_get(prom,
                         shape == "Options" ? "/node-options/tracer-config"
                                            : "/node-traceoptions/tracer-config");
            return r && r->status == 200;
        })) << shape;
        EXPECT_NE(r->headers.find("application/json"), std::string::npos) << r->headers;
        const auto j = nlohmann::json::parse(r->body);
        EXPECT_EQ(j["shape"], shape);
        EXPECT_EQ(j["config"][shape]["ChainDB"]["severity"], "Info") << r->body;
        EXPECT_EQ(j["config"][shape]["Mempool"]["severity"], "Silence") << r->body;
        EXPECT_FALSE(j["receivedAt"].get<std::string>().empty());
    }
    // 404 either way; "has not sent" once the node is known (before that: no such node).
    std::optional<http_reply> plain;
    ASSERT_TRUE(wait_until([&] {
        plain = http_get(prom, "/node-plain/tracer-config");
        return plain && plain->status == 404 &&
               plain->body.find("has not sent") != std::string::npos;
    })) << (plain ? plain->body : "no reply");
    for (auto& n : nodes) n->signal(SIGTERM);
    for (auto& n : nodes) EXPECT_EQ(n->wait_exit(10s), 0);
    EXPECT_EQ(stop_tracer(), 0);
    // The rules silenced Reflection: the config objects are cached, not written.
    for (const auto& l : machine_lines("logs", "node-Options"))
        EXPECT_EQ(l.find("Reflection.TracerConfigInfo"), std::string::npos);
}

}  // namespace
}  // namespace ct::test

namespace ct::test {
namespace {

// A limit in one section only: the other section keeps everything, the limited one keeps at
// most the burst plus 1/s per leaf namespace, and both stay in order.
TEST_F(DispatcherTest, ALimitInOneSectionLeavesTheOtherComplete) {
    start_tracer(head(R"(logging:
- { logRoot: all, logMode: FileMode, logFormat: ForMachine }
- { logRoot: limited, logMode: FileMode, logFormat: ForMachine,
    TraceOptions: { "": { maxFrequency: 1 } } }
)"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd =
        run_node({"--name", "n", "--rate", "300", "--duration", "3", "--sent-log", "sent.txt"});
    ASSERT_EQ(fwd->wait_exit(30s), 0);
    const auto sent = read_sent_log("sent.txt")["n"];
    ASSERT_FALSE(sent.empty());
    ASSERT_TRUE(wait_until([&] { return seqs("all", "n").size() >= sent.size(); }));
    EXPECT_EQ(stop_tracer(), 0);
    std::vector<std::uint64_t> all_seqs;
    std::map<std::uint64_t, std::string> ns_of;
    std::map<std::string, std::size_t> sent_by_ns, kept_by_ns;
    for (const auto& o : sent) {
        all_seqs.push_back(o.seq);
        ns_of[o.seq] = o.ns;
        ++sent_by_ns[o.ns];
    }
    EXPECT_EQ(seqs("all", "n"), all_seqs);
    const auto limited = seqs("limited", "n");
    EXPECT_TRUE(std::includes(all_seqs.begin(), all_seqs.end(), limited.begin(), limited.end()));
    for (auto seq : limited) ++kept_by_ns[ns_of.at(seq)];
    std::size_t busy = 0;
    for (const auto& [ns, n] : sent_by_ns) {
        EXPECT_LE(kept_by_ns[ns], std::min<std::size_t>(n, 4 + 1 * 4 + 1)) << ns << " sent " << n;
        busy += n > 15;
    }
    EXPECT_GT(busy, 3u);
    EXPECT_LT(limited.size(), sent.size());
    EXPECT_GT(count("Tracer.StartLimiting"), 0u);
}

}  // namespace
}  // namespace ct::test
