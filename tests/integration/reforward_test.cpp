// Re-forwarding (hasForwarding) between two real daemons: A receives from simulated nodes and
// re-forwards to B. Both modes: one shared stream that B dials (AcceptAt, as upstream), and
// perNode where A dials B once per node, so B files each node under its own name. Every
// object must reach B exactly once, also when B restarts while the nodes stream.
#include "tests/integration/daemon_fixture.hpp"

namespace ct::test {
namespace {

class ReforwardTest : public DaemonTest {
  protected:
    std::unique_ptr<child_process> downstream;
    int downstream_runs = 0;

    void start_downstream(const std::string& yaml) {
        write_file(dir / "b.yaml", yaml);
        ++downstream_runs;
        downstream = std::make_unique<child_process>(tracer_exe,
                                                     std::vector<std::string>{"-c", "b.yaml"},
                                                     dir.path(),
                                                     "b" + std::to_string(downstream_runs),
                                                     dir.path());
    }
    int stop_downstream() {
        downstream->signal(SIGTERM);
        return downstream->wait_exit(15s).value_or(-1);
    }
    std::size_t lines_under(const std::string& root) {
        std::size_t n = 0;
        for (const auto& [node, s] : seqs_by_origin(root)) n += s.size();
        return n;
    }
    std::map<std::string, std::uint64_t> sent_by_node(const std::string& summary_file) {
        std::map<std::string, std::uint64_t> out;
        const auto summary = nlohmann::json::parse(read_file(dir / summary_file));
        for (const auto& n : summary["nodes"])
            out[n["name"].get<std::string>()] = n["sent"].get<std::uint64_t>();
        return out;
    }
    /// Streams from 3 nodes into A, restarts B in the middle, then checks that A's and B's
    /// logs both hold every object exactly once, in order.
    void stream_and_restart_downstream(const std::string& b_yaml) {
        auto nodes = run_forwarder({"--connect",
                                    "a.sock",
                                    "--network-magic",
                                    "42",
                                    "--nodes",
                                    "3",
                                    "--name-prefix",
                                    "n",
                                    "--rate",
                                    std::to_string(300 / slowdown),
                                    "--duration",
                                    "120",
                                    "--summary-file",
                                    "nodes.json"},
                                   "nodes");
        ASSERT_TRUE(wait_until([&] { return lines_under("logs-b") >= 150; }, 30s));
        ASSERT_EQ(stop_downstream(), 0) << downstream->stdout_text();
        // A keeps receiving and queues for B meanwhile.
        const auto a_before = lines_under("logs-a");
        ASSERT_TRUE(wait_until([&] { return lines_under("logs-a") >= a_before + 150; }, 30s));
        start_downstream(b_yaml);
        const auto b_before = lines_under("logs-b");
        ASSERT_TRUE(wait_until([&] { return lines_under("logs-b") >= b_before + 300; }, 30s));
        nodes->signal(SIGTERM);
        ASSERT_EQ(nodes->wait_exit(30s), 0);
        const auto sent = sent_by_node("nodes.json");
        ASSERT_EQ(sent.size(), 3u) << read_file(dir / "nodes.json");
        std::uint64_t total = 0;
        for (const auto& [n, c] : sent) total += c;
        ASSERT_TRUE(wait_until([&] { return lines_under("logs-b") >= total; }, 30s))
            << lines_under("logs-b") << " of " << total;
        EXPECT_EQ(stop_tracer(), 0);
        EXPECT_EQ(stop_downstream(), 0);
        for (const auto* root : {"logs-a", "logs-b"}) {
            const auto got = seqs_by_origin(root);
            for (const auto& [node, count] : sent) {
                auto it = got.find(node);
                ASSERT_NE(it, got.end()) << root << " " << node;
                EXPECT_EQ(it->second, one_to(count)) << root << " " << node;
            }
        }
        const auto reforwarded = messages("Tracer.ShutdownComplete");
        ASSERT_EQ(reforwarded.size(), 1u);
        EXPECT_EQ(reforwarded[0]["data"]["recordsLost"], 0);
    }
};

// Upstream's mode: A listens, B dials; all nodes in one stream (B names it by its NodeId, the
// objects keep their fields).
TEST_F(ReforwardTest, SharedStreamReachesADialingTracerExactlyOnceAcrossItsRestart) {
    start_tracer(
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: a.sock }\n"
        "logging: [ { logRoot: logs-a, logMode: FileMode, logFormat: ForMachine } ]\n"
        "hasForwarding: [ { tag: AcceptAt, contents: fwd.sock }, null, { queueSize: 100000 } ]\n");
    ASSERT_TRUE(wait_for_socket("a.sock"));
    ASSERT_TRUE(wait_for_socket("fwd.sock"));
    EXPECT_EQ(count("Tracer.StartedReforwarder"), 1u);
    const std::string b_yaml =
        "networkMagic: 42\n"
        "network: { tag: ConnectTo, contents: [ fwd.sock ] }\n"
        "logging: [ { logRoot: logs-b, logMode: FileMode, logFormat: ForMachine } ]\n";
    start_downstream(b_yaml);
    stream_and_restart_downstream(b_yaml);
}

// perNode: A dials B once per node; B names each connection from the NodeInfo A passes on,
// so every node has its own directory at B, as if it were connected there.
TEST_F(ReforwardTest, PerNodeConnectionsKeepEachNodesNameAcrossADownstreamRestart) {
    const std::string b_yaml =
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: b.sock }\n"
        "logging: [ { logRoot: logs-b, logMode: FileMode, logFormat: ForMachine } ]\n";
    start_downstream(b_yaml);
    ASSERT_TRUE(wait_for_socket("b.sock"));
    start_tracer(
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: a.sock }\n"
        "logging: [ { logRoot: logs-a, logMode: FileMode, logFormat: ForMachine } ]\n"
        "hasForwarding: [ { tag: ConnectTo, contents: [ b.sock ] }, null,\n"
        "                 { queueSize: 100000, perNode: true, maxReconnectDelay: 0.5 } ]\n");
    ASSERT_TRUE(wait_for_socket("a.sock"));
    stream_and_restart_downstream(b_yaml);
    // Each node's directory at B carries its name and only its objects.
    for (const auto* n : {"n-1", "n-2", "n-3"}) {
        const auto lines = machine_lines("logs-b", n);
        ASSERT_FALSE(lines.empty()) << n;
        for (const auto& l : lines) {
            EXPECT_EQ(nlohmann::json::parse(l)["data"]["node"], n);
        }
    }
}

// Only whole-segment prefixes are re-forwarded (upstream matches plain string prefixes, so
// "ChainDB" would also take "ChainDBX"); the drops of a full queue are counted, not printed.
TEST_F(ReforwardTest, PrefixesMatchWholeSegmentsAndOverflowIsCounted) {
    const auto prom = free_tcp_port();
    start_tracer(
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: a.sock }\n"
        "logging: [ { logRoot: logs-a, logMode: FileMode, logFormat: ForMachine } ]\n"
        "hasPrometheus: { epHost: 127.0.0.1, epPort: " +
        std::to_string(prom) +
        " }\n"
        "hasForwarding: [ { tag: AcceptAt, contents: fwd.sock }, [ [ChainDB], [Mempool] ],\n"
        "                 { queueSize: 50 } ]\n");
    ASSERT_TRUE(wait_for_socket("a.sock"));
    // Nobody takes from the queue yet: 400 objects overflow a queue of 50.
    auto nodes = run_forwarder(
        {"--connect", "a.sock", "--network-magic", "42", "--name", "n", "--count", "400"}, "n");
    ASSERT_EQ(nodes->wait_exit(30s), 0);
    ASSERT_TRUE(wait_until([&] { return seqs("logs-a", "n").size() == 400; }));
    std::size_t forwardable = 0;
    for (const auto& l : machine_lines("logs-a", "n")) {
        const auto ns = nlohmann::json::parse(l)["ns"].get<std::string>();
        if (ns.starts_with("ChainDB.") || ns.starts_with("Mempool.")) ++forwardable;
    }
    ASSERT_GT(forwardable, 50u);
    double dropped = -1, queued = -1;
    ASSERT_TRUE(wait_until([&] {
        auto m = http_get(prom, "/metrics");
        if (!m) return false;
        for (const auto& line : split_lines(m->body)) {
            if (line.starts_with("cardano_tracer_reforward_dropped_total "))
                dropped = std::stod(line.substr(line.rfind(' ')));
            if (line.starts_with("cardano_tracer_reforward_queued "))
                queued = std::stod(line.substr(line.rfind(' ')));
        }
        return dropped + queued == static_cast<double>(forwardable);
    })) << dropped
        << " + " << queued << " != " << forwardable;
    EXPECT_EQ(queued, 50);
    // A downstream tracer now gets the 50 newest, all under the two prefixes.
    write_file(dir / "b.yaml",
               "networkMagic: 42\n"
               "network: { tag: ConnectTo, contents: [ fwd.sock ] }\n"
               "logging: [ { logRoot: logs-b, logMode: FileMode, logFormat: ForMachine } ]\n");
    child_process b(tracer_exe, {"-c", "b.yaml"}, dir.path(), "b", dir.path());
    ASSERT_TRUE(wait_until([&] { return lines_under("logs-b") == 50; }));
    for (const auto& [node, seq_list] : seqs_by_origin("logs-b")) {
        EXPECT_EQ(node, "n");
        EXPECT_TRUE(std::is_sorted(seq_list.begin(), seq_list.end()));
    }
    for (const auto& d : fs::directory_iterator(dir / "logs-b")) {
        for (const auto& l : machine_lines("logs-b", d.path().filename().string())) {
            const auto ns = nlohmann::json::parse(l)["ns"].get<std::string>();
            EXPECT_TRUE(ns.starts_with("ChainDB.") || ns.starts_with("Mempool.")) << ns;
        }
    }
    EXPECT_EQ(tracer->stderr_text().find("overflowed"), std::string::npos);
    b.signal(SIGTERM);
    EXPECT_EQ(b.wait_exit(15s), 0);
    EXPECT_EQ(stop_tracer(), 0);
}

}  // namespace
}  // namespace ct::test
