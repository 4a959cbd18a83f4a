// The daemon end to end: real cardano-tracer, real trace-forwarder, real sockets and files.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <regex>
#include <set>
#include <thread>

#include "tests/integration/daemon_fixture.hpp"

namespace {

using namespace ct::test;
using nlohmann::json;

std::string config(const std::string& network, const std::string& extra = "") {
    return "networkMagic: 42\n"
           "network: " +
           network +
           "\n"
           "logging:\n"
           "- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }\n"
           "- { logRoot: logs, logMode: FileMode, logFormat: ForHuman }\n" +
           extra;
}

json summary_of(child_process& fwd) { return json::parse(fwd.stdout_text()); }

TEST_F(DaemonTest, AcceptAtUnixTwoNodesEveryObjectOnceInOrder) {
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })"));
    ASSERT_TRUE(wait_for_socket("tracer.sock")) << tracer->stderr_text();
    auto fwd = run_forwarder(
        {"--connect", "tracer.sock", "--network-magic", "42", "--nodes", "2", "--count", "3000"});
    ASSERT_EQ(fwd->wait_exit(60s), 0) << fwd->stderr_text();
    for (const std::string node : {"node-1", "node-2"}) {
        ASSERT_TRUE(wait_until([&] {
            return fs::exists(dir / "logs" / node) && seqs("logs", node).size() >= 3000;
        })) << node;
        EXPECT_EQ(seqs("logs", node), one_to(3000)) << node;
    }
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DaemonTest, FileLayoutSymlinksAndExactLineBytes) {
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--name",
                              "relay-1",
                              "--count",
                              "50"});
    ASSERT_EQ(fwd->wait_exit(30s), 0) << fwd->stderr_text();
    ASSERT_EQ(stop_tracer(), 0);

    const auto node_dir = dir / "logs" / "relay-1";
    ASSERT_TRUE(fs::is_symlink(node_dir / "node.json"));
    ASSERT_TRUE(fs::is_symlink(node_dir / "node.log"));
    const auto target = fs::read_symlink(node_dir / "node.json");
    EXPECT_TRUE(target.is_absolute()) << target;
    EXPECT_EQ(target.parent_path(), fs::canonical(node_dir));
    const auto name = target.filename().string();
    EXPECT_TRUE(std::regex_match(name, std::regex(R"(node-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.json)")))
        << name;

    const std::string machine = read_file(node_dir / "node.json");
    ASSERT_FALSE(machine.empty());
    EXPECT_NE(machine.front(), '\n') << "no leading empty line";
    EXPECT_EQ(machine.back(), '\n') << "every record ends with a newline";
    const auto mlines = split_lines(machine);
    ASSERT_EQ(mlines.size(), 50u);
    const std::string human = read_file(node_dir / "node.log");
    const auto hlines = split_lines(human);
    ASSERT_EQ(hlines.size(), 50u);
    for (std::size_t i = 0; i < 50; ++i) {
        const auto j = json::parse(mlines[i]);
        EXPECT_EQ(j["data"]["seq"], i + 1);
        EXPECT_EQ(j["data"]["node"], "relay-1");
        // The simulator gives every 7th object no human text: the machine JSON stands in.
        if ((i + 1) % 7 == 0) {
            EXPECT_EQ(hlines[i], mlines[i]);
        } else {
            EXPECT_EQ(
                hlines[i],
                std::string(j["data"]["kind"]) + ": node relay-1 seq " + std::to_string(i + 1));
        }
    }
}

TEST_F(DaemonTest, AcceptAtTcp) {
    // Port 0: the daemon binds a free port and reports it (Tracer.SockListen).
    start_tracer(config("{ tag: AcceptAt, contents: \"127.0.0.1:0\" }"));
    const auto port = bound_port("Tracer.SockListen");
    ASSERT_NE(port, 0);
    auto fwd = run_forwarder({"--connect",
                              "127.0.0.1:" + std::to_string(port),
                              "--network-magic",
                              "42",
                              "--nodes",
                              "2",
                              "--count",
                              "1000"});
    ASSERT_EQ(fwd->wait_exit(30s), 0) << fwd->stderr_text();
    for (const std::string node : {"node-1", "node-2"}) {
        ASSERT_TRUE(wait_until(
            [&] { return fs::exists(dir / "logs" / node) && seqs("logs", node).size() >= 1000; }));
        EXPECT_EQ(seqs("logs", node), one_to(1000));
    }
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DaemonTest, ConnectToUnixAndTcp) {
    const auto port = free_tcp_port();
    // Nodes listen first (Responder mode), the tracer dials them.
    auto unix_nodes = run_forwarder({"--accept",
                                     "node.sock",
                                     "--network-magic",
                                     "42",
                                     "--nodes",
                                     "2",
                                     "--name-prefix",
                                     "unode",
                                     "--count",
                                     "500"},
                                    "fwd-unix");
    auto tcp_node = run_forwarder({"--accept",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--network-magic",
                                   "42",
                                   "--name",
                                   "tnode",
                                   "--count",
                                   "500"},
                                  "fwd-tcp");
    ASSERT_TRUE(wait_for_socket("node.sock.1") && wait_for_socket("node.sock.2") &&
                wait_for_port(port));
    start_tracer(
        config("{ tag: ConnectTo, contents: [\"node.sock.1\", \"node.sock.2\", \"127.0.0.1:" +
               std::to_string(port) + "\"] }"));
    EXPECT_EQ(unix_nodes->wait_exit(30s), 0) << unix_nodes->stderr_text();
    EXPECT_EQ(tcp_node->wait_exit(30s), 0) << tcp_node->stderr_text();
    for (const std::string node : {"unode-1", "unode-2", "tnode"}) {
        ASSERT_TRUE(wait_until([&] {
            return fs::exists(dir / "logs" / node) && seqs("logs", node).size() >= 500;
        })) << node;
        EXPECT_EQ(seqs("logs", node), one_to(500)) << node;
    }
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DaemonTest, ConnectToTcpTwoNodes) {
    const auto p1 = free_tcp_port();
    auto n1 = run_forwarder({"--accept",
                             "127.0.0.1:" + std::to_string(p1),
                             "--network-magic",
                             "42",
                             "--name",
                             "t1",
                             "--count",
                             "300"},
                            "t1");
    ASSERT_TRUE(wait_for_port(p1));
    const auto p2 = free_tcp_port();
    auto n2 = run_forwarder({"--accept",
                             "127.0.0.1:" + std::to_string(p2),
                             "--network-magic",
                             "42",
                             "--name",
                             "t2",
                             "--count",
                             "300"},
                            "t2");
    ASSERT_TRUE(wait_for_port(p2));
    start_tracer(config("{ tag: ConnectTo, contents: [\"127.0.0.1:" + std::to_string(p1) +
                        "\", \"127.0.0.1:" + std::to_string(p2) + "\"] }"));
    EXPECT_EQ(n1->wait_exit(30s), 0);
    EXPECT_EQ(n2->wait_exit(30s), 0);
    for (const std::string node : {"t1", "t2"}) {
        ASSERT_TRUE(wait_until(
            [&] { return fs::exists(dir / "logs" / node) && seqs("logs", node).size() >= 300; }));
        EXPECT_EQ(seqs("logs", node), one_to(300));
    }
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DaemonTest, RotationWithTinyLimitsInBothFormats) {
    // Ports of upstream's L1–L3: a 100-byte limit, checked every second.
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })",
                        "loRequestNum: 1\nrotation: { rpFrequencySecs: 1, rpLogLimitBytes: 100, "
                        "rpKeepFilesNum: 10, rpMaxAgeMinutes: 60 }\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--name",
                              "r",
                              "--rate",
                              "25",
                              "--size",
                              "100"});
    auto files_with = [&](const std::string& ext) {
        std::size_t n = 0;
        if (!fs::exists(dir / "logs/r")) return n;
        for (const auto& e : fs::directory_iterator(dir / "logs/r")) {
            const auto f = e.path().filename().string();
            n += f.starts_with("node-") && f.ends_with(ext);
        }
        return n;
    };
    EXPECT_TRUE(wait_until([&] { return files_with(".json") > 1 && files_with(".log") > 1; }, 15s));
    fwd->signal(SIGTERM);
    fwd->wait_exit(10s);
    EXPECT_EQ(stop_tracer(), 0);
    const auto sent = summary_of(*fwd)["nodes"][0]["sent"].get<std::uint64_t>();
    EXPECT_EQ(seqs("logs", "r"), one_to(sent));
}

TEST_F(DaemonTest, MinLogSeverityFiltersOwnMessages) {
    write_file(dir / "tracer.yaml", config(R"({ tag: AcceptAt, contents: "tracer.sock" })"));
    child_process t(tracer_exe,
                    {"-c", "tracer.yaml", "--min-log-severity", "Warning"},
                    dir.path(),
                    "quiet",
                    dir.path());
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    t.signal(SIGTERM);
    // Seen once under TSan with the whole suite running: no exit within 10 s (not reproduced in
    // 380 tries); what the daemon said is then the evidence.
    ASSERT_EQ(t.wait_exit(10s), 0) << "stdout:\n"
                                   << t.stdout_text() << "stderr:\n"
                                   << t.stderr_text();
    const auto lines = split_lines(t.stdout_text());
    bool saw_config = false;
    for (const auto& l : lines) {
        if (l.empty() || l[0] != '{') continue;  // " Program is stopping, please wait..."
        const auto j = json::parse(l);
        EXPECT_TRUE(j["sev"] != "Info" && j["sev"] != "Debug" && j["sev"] != "Notice") << l;
        for (const char* key : {"at", "ns", "data", "sev", "thread", "host"})
            EXPECT_TRUE(j.contains(key)) << l;
        saw_config = saw_config || j["ns"] == "Tracer.ConfigIs";
    }
    EXPECT_TRUE(saw_config);
}

TEST_F(DaemonTest, VerbosityMaximumShowsProtocolMessagesMinimumSilencesProblems) {
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })", "verbosity: Maximum\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd =
        run_forwarder({"--connect", "tracer.sock", "--network-magic", "42", "--count", "20"});
    ASSERT_EQ(fwd->wait_exit(30s), 0) << fwd->stderr_text();
    ASSERT_TRUE(wait_until([&] { return seqs("logs", "node-1").size() == 20; }));
    ASSERT_EQ(stop_tracer(), 0);
    const auto maximum = tracer->stdout_text();
    EXPECT_NE(maximum.find("\"ns\":\"Tracer.MiniProtocolMessage\""), std::string::npos);
    EXPECT_NE(maximum.find("MsgTraceObjectsRequest"), std::string::npos) << maximum;

    // Minimum: a refused handshake is not reported; Maximum (above) and the default do report.
    fs::remove(dir / "tracer.sock");
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })", "verbosity: Minimum\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto wrong = run_forwarder({"--connect",
                                "tracer.sock",
                                "--network-magic",
                                "42",
                                "--misbehave",
                                "wrong-magic",
                                "--count",
                                "1"});
    wrong->wait_exit(30s);
    ASSERT_EQ(stop_tracer(), 0);
    EXPECT_EQ(tracer->stdout_text().find("HandshakeRefused"), std::string::npos);
    EXPECT_EQ(tracer->stdout_text().find("MiniProtocolMessage"), std::string::npos);
}

TEST_F(DaemonTest, ResourceFreqEmitsResourcesMessages) {
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })", "resourceFreq: 100\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const auto resources = [&] {
        std::vector<json> out;
        for (const auto& l : split_lines(tracer->stdout_text())) {
            if (l.find("\"Tracer.Resources\"") == std::string::npos) continue;
            out.push_back(json::parse(l));
        }
        return out;
    };
    ASSERT_TRUE(wait_until([&] { return resources().size() >= 3; }));  // every 100 ms
    ASSERT_EQ(stop_tracer(), 0);
    const auto r = resources().back()["data"];
    EXPECT_EQ(r["kind"], "ResourceStats");
    EXPECT_GT(r["RSS"].get<std::int64_t>(), 1 << 20) << r;
    EXPECT_GE(r["Threads"].get<std::int64_t>(), 2) << r;
    EXPECT_GE(r["OpenFiles"].get<std::int64_t>(), 3) << r;
    for (const char* key : {"CentiCpu", "CentiBlkIO", "FsRd", "FsWr"})
        EXPECT_TRUE(r.contains(key)) << key;
}

TEST_F(DaemonTest, UnwritableLogRootIsReportedAndWritingResumes) {
    // A regular file where the log root's parent should be: creating directories fails even
    // for root (ENOTDIR), unlike a chmod.
    write_file(dir / "blocked", "not a directory");
    start_tracer(
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
        "logging: [ { logRoot: blocked/logs, logMode: FileMode, logFormat: ForMachine } ]\n");
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder(
        {"--connect", "tracer.sock", "--network-magic", "42", "--name", "relay", "--count", "500"});
    ASSERT_TRUE(wait_until([&] {
        return tracer->stdout_text().find("cannot create the log directory") != std::string::npos;
    }));
    EXPECT_TRUE(tracer->running());
    fs::remove(dir / "blocked");
    fs::create_directories(dir / "blocked/logs");
    ASSERT_EQ(fwd->wait_exit(60s), 0) << fwd->stderr_text();
    const auto sent = summary_of(*fwd)["nodes"][0]["sent"].get<std::uint64_t>();
    EXPECT_EQ(sent, 500u);
    EXPECT_TRUE(wait_until([&] { return seqs("blocked/logs", "relay").size() >= sent; }, 30s));
    EXPECT_EQ(stop_tracer(), 0);
    EXPECT_EQ(seqs("blocked/logs", "relay"), one_to(sent));
}

TEST_F(DaemonTest, ConnectToReconnectsAfterNodeRestart) {
    auto first = run_forwarder(
        {"--accept", "node.sock", "--network-magic", "42", "--name", "n", "--count", "100"}, "f1");
    ASSERT_TRUE(wait_for_socket("node.sock"));
    start_tracer(config(R"({ tag: ConnectTo, contents: ["node.sock"] })"));
    ASSERT_EQ(first->wait_exit(30s), 0);
    // The node is gone; a new one comes up at the same path and the tracer dials it again.
    auto second = run_forwarder(
        {"--accept", "node.sock", "--network-magic", "42", "--name", "n", "--count", "100"}, "f2");
    ASSERT_EQ(second->wait_exit(30s), 0) << second->stderr_text();
    // A simulated node that exits right after its last object may close before it answered
    // NodeInfo; its objects then go to the NodeId fallback directory (as upstream). Count by
    // origin, over every directory: both runs are complete.
    auto total = [&] {
        std::size_t n = 0;
        for (const auto& [origin, seqs] : seqs_by_origin("logs")) n += seqs.size();
        return n;
    };
    ASSERT_TRUE(wait_until([&] { return total() >= 200; }));
    EXPECT_EQ(total(), 200u);
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DaemonTest, FallbackNameWithoutNodeInfo) {
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder(
        {"--connect", "tracer.sock", "--network-magic", "42", "--no-node-info", "--count", "20"});
    ASSERT_EQ(fwd->wait_exit(30s), 0);
    ASSERT_TRUE(wait_until([&] { return fs::exists(dir / "logs" / "tracersock_0"); }))
        << tracer->stdout_text();
    EXPECT_EQ(seqs("logs", "tracersock_0"), one_to(20));
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DaemonTest, StressFiveNodesWithRotationNothingLostNothingDuplicated) {
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })",
                        "rotation: { rpFrequencySecs: 1, rpLogLimitBytes: 2000000, rpKeepFilesNum: "
                        "100, rpMaxAgeMinutes: 60 }\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    // Paced so that the stream spans several rotation checks (one per second).
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--nodes",
                              "5",
                              "--count",
                              "45000",
                              "--rate",
                              std::to_string(15000 / slowdown),
                              "--queue-size",
                              "100000"});
    ASSERT_EQ(fwd->wait_exit(120s), 0) << fwd->stderr_text();
    const auto sum = summary_of(*fwd);
    // By origin over every directory: under a heavy load a node's NodeInfo can come after the
    // naming deadline, and its objects then go to its NodeId directory (nothing is lost).
    // Waiting counts lines only (cheap); the records are parsed once, at the end.
    auto lines_on_disk = [&] {
        std::size_t n = 0;
        for (const auto& d : fs::directory_iterator(dir / "logs")) {
            for (const auto& e : fs::directory_iterator(d.path())) {
                const auto name = e.path().filename().string();
                if (!name.starts_with("node-") || !name.ends_with(".json")) continue;
                const auto text = read_file(e.path());
                n += static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
            }
        }
        return n;
    };
    ASSERT_TRUE(wait_until([&] { return lines_on_disk() >= 5 * 45000; }, 30s * slowdown));
    const auto by_origin = seqs_by_origin("logs");
    for (const auto& n : sum["nodes"]) {
        const std::string node = n["name"];
        EXPECT_EQ(n["overflow_drops"], 0);
        ASSERT_TRUE(by_origin.contains(node)) << node;
        EXPECT_EQ(by_origin.at(node), one_to(45000)) << node;
    }
    std::size_t files = 0;
    for (const auto& d : fs::directory_iterator(dir / "logs")) {
        for (const auto& e : fs::directory_iterator(d.path()))
            files += e.path().extension() == ".json" && e.path().filename() != "node.json";
    }
    EXPECT_GT(files, 5u) << "the streams crossed rotated files";
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DaemonTest, SigtermWhileTenNodesStreamKeepsEverythingHandedOver) {
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--nodes",
                              "10",
                              "--rate",
                              std::to_string(2000 / slowdown / slowdown),
                              "--queue-size",
                              "100000"});
    ASSERT_TRUE(wait_until([&] { return fs::exists(dir / "logs" / "node-10"); }));
    std::this_thread::sleep_for(500ms);  // let them stream (not a synchronisation wait)
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(stop_tracer(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    fwd->signal(SIGTERM);
    ASSERT_TRUE(fwd->wait_exit(10s));
    const auto sum = summary_of(*fwd);
    for (const auto& n : sum["nodes"]) {
        const std::string node = n["name"];
        EXPECT_GT(n["sent"].get<std::uint64_t>(), 0u);
        EXPECT_EQ(seqs("logs", node), one_to(n["sent"].get<std::uint64_t>())) << node;
    }
}

TEST_F(DaemonTest, MisbehavingPeersDoNotDisturbOthers) {
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto good = run_forwarder({"--connect",
                               "tracer.sock",
                               "--network-magic",
                               "42",
                               "--name",
                               "good",
                               "--rate",
                               "500",
                               "--duration",
                               "6"},
                              "good");
    std::vector<std::unique_ptr<child_process>> bad;
    for (const std::string m : {"wrong-magic",
                                "garbage",
                                "truncated-sdu",
                                "zero-length-sdu",
                                "unknown-protocol",
                                "invalid-cbor",
                                "invalid-utf8",
                                "huge-string",
                                "disconnect-mid-message"}) {
        bad.push_back(run_forwarder({"--connect",
                                     "tracer.sock",
                                     "--network-magic",
                                     "42",
                                     "--name-prefix",
                                     m,
                                     "--nodes",
                                     "2",
                                     "--misbehave",
                                     m,
                                     "--count",
                                     "10",
                                     "--duration",
                                     "3"},
                                    "bad-" + m));
    }
    for (auto& b : bad) b->wait_exit(15s);
    ASSERT_TRUE(good->wait_exit(20s));
    EXPECT_TRUE(tracer->running()) << "the daemon survived every misbehaving peer";
    const auto sum = summary_of(*good);
    const auto sent = sum["nodes"][0]["sent"].get<std::uint64_t>();
    EXPECT_GT(sent, 1000u);
    EXPECT_EQ(seqs("logs", "good"), one_to(sent));
    const auto out = tracer->stdout_text();
    EXPECT_NE(out.find("Tracer.HandshakeRefused"), std::string::npos);
    EXPECT_NE(out.find("ForwardingVersionData mismatch"), std::string::npos);
    EXPECT_NE(out.find("Tracer.ForwardingInterrupted"), std::string::npos);
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DaemonTest, TwoHundredConnectionsAtOnce) {
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder(
        {"--connect", "tracer.sock", "--network-magic", "42", "--nodes", "200", "--count", "50"});
    ASSERT_EQ(fwd->wait_exit(60s * slowdown), 0) << fwd->stderr_text();
    // Under heavy load a node's NodeInfo may come after the 10 s naming deadline (its directory
    // is then named after the connection), so group by the node named inside each trace.
    std::map<std::string, std::vector<std::uint64_t>> by_origin;
    EXPECT_TRUE(wait_until(
        [&] {
            by_origin = seqs_by_origin("logs");
            std::size_t total = 0;
            for (const auto& [n, v] : by_origin) total += v.size();
            return total >= 200 * 50;
        },
        20s * slowdown));
    ASSERT_EQ(by_origin.size(), 200u);
    for (const auto& [node, v] : by_origin) EXPECT_EQ(v, one_to(50)) << node;
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(DaemonTest, StaleSocketIsReplacedLiveSocketIsAnError) {
    // A stale socket file (nobody listening) from a crashed process.
    {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        const auto path = (dir / "tracer.sock").string();
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        ::close(fd);
    }
    start_tracer(config(R"({ tag: AcceptAt, contents: "tracer.sock" })", "socketMode: \"0600\"\n"));
    ASSERT_TRUE(wait_until(
        [&] { return tracer->stdout_text().find("Tracer.SockListen") != std::string::npos; }));
    struct stat st {};
    ASSERT_EQ(::stat((dir / "tracer.sock").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // A second daemon on the same live socket refuses to start, naming the problem.
    child_process second(tracer_exe, {"-c", "tracer.yaml"}, dir.path(), "second", dir.path());
    EXPECT_EQ(second.wait_exit(10s), 2);
    EXPECT_NE(second.stderr_text().find("another process is already listening"), std::string::npos);
    EXPECT_EQ(stop_tracer(), 0);
}

}  // namespace
