// Reliability of the daemon as a whole (issue: safe to run unattended): shutdown with
// keep-alive scrapers and streaming nodes, reloads that fail or change what runs, a second
// signal during the shutdown. Each test is the regression test of a defect seen on a clean
// clone; under ASan a use after free makes the daemon exit non-zero.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "tests/integration/daemon_fixture.hpp"

namespace ct::test {
namespace {

using namespace std::chrono_literals;

class ReliabilityTest : public DaemonTest {
  protected:
    /// Every object the simulated node reports as sent is on disk exactly once, in order (its
    /// own queue overflow may have dropped objects it never sent).
    void expect_sent_exactly_once(child_process& fwd,
                                  const std::string& root,
                                  const std::string& node) {
        const auto sent =
            nlohmann::json::parse(fwd.stdout_text())["nodes"][0]["sent"].get<std::uint64_t>();
        ASSERT_TRUE(wait_until([&] { return seqs(root, node).size() >= sent; }, 30s));
        EXPECT_EQ(stop_tracer(), 0);
        const auto got = seqs(root, node);
        EXPECT_EQ(got.size(), sent);
        EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
        EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end());
    }

    std::string base_config(const std::string& extra = "") {
        return "networkMagic: 42\n"
               "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
               "logging:\n"
               "- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }\n" +
               extra;
    }
};

// Defect 1 and 10: SIGTERM with idle keep-alive clients on both endpoints, a half-sent
// request and a scrape in flight, while a node streams: exit 0 (no ASan report), every
// object the node handed over is on disk, every HTTP connection is closed by the daemon.
TEST_F(ReliabilityTest, SigtermWithKeepAliveScrapersAndAStreamingNodeExitsCleanly) {
    start_tracer(
        base_config("hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n"
                    "hasEKG: { epHost: 127.0.0.1, epPort: 0 }\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const auto prom = bound_port("Tracer.StartedPrometheus");
    const auto ekg = bound_port("Tracer.StartedMonitoring");
    ASSERT_NE(prom, 0);
    ASSERT_NE(ekg, 0);
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--name",
                              "relay",
                              "--rate",
                              std::to_string(2000 / slowdown),
                              "--duration",
                              "60"});
    ASSERT_TRUE(wait_until([&] { return !machine_lines("logs", "relay").empty(); }));

    keep_alive_client idle_prom(prom), idle_ekg(ekg), half(prom), in_flight(prom);
    auto r1 = idle_prom.get("/metrics");
    ASSERT_TRUE(r1 && r1->status == 200);
    auto r2 = idle_ekg.get("/");
    ASSERT_TRUE(r2 && r2->status == 200);
    ASSERT_TRUE(half.send_partial("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
    ASSERT_TRUE(in_flight.send_request("/metrics"));
    // The keep-alive clients are still connected after their answers.
    auto again = idle_prom.get("/metrics");
    ASSERT_TRUE(again && again->status == 200);
    EXPECT_EQ(idle_prom.reconnects(), 0);

    EXPECT_EQ(stop_tracer(), 0);
    EXPECT_TRUE(idle_prom.closed_by_server(5s));
    EXPECT_TRUE(idle_ekg.closed_by_server(5s));
    EXPECT_TRUE(half.closed_by_server(5s));
    EXPECT_TRUE(in_flight.closed_by_server(5s));
    auto done = messages("Tracer.ShutdownComplete");
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0]["data"]["recordsLost"], 0);
    // What reached disk is a gap-free prefix of what the node sent: nothing in the middle lost.
    const auto seqs_on_disk = seqs("logs", "relay");
    ASSERT_FALSE(seqs_on_disk.empty());
    EXPECT_EQ(seqs_on_disk, one_to(seqs_on_disk.size()));
    fwd->signal(SIGTERM);
    (void)fwd->wait_exit(10s);
}

// Defect 2: a config file with text that is not UTF-8 is a reload failure with a clear
// message; SIGHUP and SIGTERM keep working afterwards.
TEST_F(ReliabilityTest, ReloadOfANonUtf8FileFailsAndSignalsKeepWorking) {
    start_tracer(base_config());
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    ASSERT_TRUE(wait_until([&] { return count("Tracer.InitDone") == 1; }));
    write_file(dir / "tracer.yaml",
               "networkMagic: 42\n"
               "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
               "logging:\n"
               "- { logRoot: \"logs-\xff\xfe\", logMode: FileMode, logFormat: ForMachine }\n");
    tracer->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return count("Tracer.ReloadFailed") == 1; }));
    const auto failed = messages("Tracer.ReloadFailed").front();
    EXPECT_NE(failed.dump().find("logging[0].logRoot: is not valid UTF-8"), std::string::npos)
        << failed.dump();
    // A second SIGHUP with a good file applies it.
    write_file(dir / "tracer.yaml", base_config("loRequestNum: 50\n"));
    tracer->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return count("Tracer.ConfigReloaded") == 1; }));
    EXPECT_EQ(stop_tracer(), 0);
}

// Defect 3: a reload that removes resourceFreq stops the resource loop (it used to read the
// empty optional); one that sets it again restarts it with the new period; a change that
// needs a restart is reported by every reload until it is applied.
TEST_F(ReliabilityTest, ReloadStopsAndRestartsWhatRunsFromItsOwnSnapshot) {
    start_tracer(base_config("resourceFreq: 50\n"));
    ASSERT_TRUE(wait_until([&] { return count("Tracer.Resources") >= 2; }));
    write_file(dir / "tracer.yaml", base_config("ioThreads: 3\n"));
    tracer->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return count("Tracer.ConfigReloaded") == 1; }));
    const auto resources_after_first = count("Tracer.Resources");
    tracer->signal(SIGHUP);  // same file again: the unapplied network change is still reported
    ASSERT_TRUE(wait_until([&] { return count("Tracer.ConfigReloaded") == 2; }));
    for (const auto& m : messages("Tracer.ConfigReloaded")) {
        EXPECT_NE(m["data"]["notApplied"].dump().find("ioThreads"), std::string::npos) << m.dump();
    }
    // At most one sample can have been on its way while the first reload ran.
    EXPECT_LE(count("Tracer.Resources"), resources_after_first + 1);
    write_file(dir / "tracer.yaml", base_config("resourceFreq: 50\n"));
    tracer->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return count("Tracer.ConfigReloaded") == 3; }));
    EXPECT_EQ(messages("Tracer.ConfigReloaded").back()["data"]["notApplied"].size(), 0u);
    const auto before = count("Tracer.Resources");
    EXPECT_TRUE(wait_until([&] { return count("Tracer.Resources") >= before + 2; }));
    EXPECT_TRUE(tracer->running());
    EXPECT_EQ(stop_tracer(), 0);
}

// Defect 10: a second SIGTERM during the shutdown exits at once, non-zero, with a message.
// The shutdown is held open by a node that never answers its outstanding request (the drain
// waits for that reply).
TEST_F(ReliabilityTest, SecondSigtermDuringTheShutdownExitsAtOnce) {
    start_tracer(base_config("shutdownTimeoutSecs: 60\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--name",
                              "quiet",
                              "--rate",
                              "0.01",
                              "--duration",
                              "120"});
    ASSERT_TRUE(wait_until([&] { return count("Tracer.AddNewNodeIdMapping") == 1; }));
    tracer->signal(SIGTERM);
    ASSERT_TRUE(wait_until([&] { return count("Tracer.ShutdownInitiated") == 1; }));
    tracer->signal(SIGTERM);
    auto st = tracer->wait_exit(5s);
    ASSERT_TRUE(st);
    EXPECT_EQ(*st, 128 + SIGTERM);
    EXPECT_EQ(count("Tracer.ShutdownForced"), 1u);
    fwd->signal(SIGTERM);
    (void)fwd->wait_exit(10s);
}

// Defect 10: the shutdown has one deadline; a node that holds its reply cannot keep the
// daemon past it.
TEST_F(ReliabilityTest, ShutdownEndsWithinItsDeadline) {
    start_tracer(base_config("shutdownTimeoutSecs: 2\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--name",
                              "quiet",
                              "--rate",
                              "0.01",
                              "--duration",
                              "120"});
    ASSERT_TRUE(wait_until([&] { return count("Tracer.AddNewNodeIdMapping") == 1; }));
    tracer->signal(SIGTERM);
    auto st = tracer->wait_exit(8s);
    ASSERT_TRUE(st);
    EXPECT_EQ(*st, 0);
    fwd->signal(SIGTERM);
    (void)fwd->wait_exit(10s);
}

// Defect 4: a regular file where one node's directory should be blocks that node only: the
// other node's objects all reach disk meanwhile, and once the file is removed the first
// node's objects arrive exactly once, in order.
TEST_F(ReliabilityTest, OneBlockedNodeDirectoryDoesNotStallTheOthers) {
    start_tracer(base_config("hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    fs::create_directories(dir / "logs");
    write_file(dir / "logs" / "stuck", "a regular file where a directory should be");
    auto stuck = run_forwarder({"--connect",
                                "tracer.sock",
                                "--network-magic",
                                "42",
                                "--name",
                                "stuck",
                                "--count",
                                "3000",
                                "--rate",
                                std::to_string(1000 / slowdown)},
                               "stuck");
    ASSERT_TRUE(wait_until([&] {
        return tracer->stdout_text().find("cannot create the log directory") != std::string::npos;
    }));
    auto free_node = run_forwarder(
        {"--connect", "tracer.sock", "--network-magic", "42", "--name", "free", "--count", "5000"},
        "free");
    ASSERT_EQ(free_node->wait_exit(60s), 0) << free_node->stderr_text();
    ASSERT_TRUE(wait_until([&] { return seqs("logs", "free").size() >= 5000; }));
    EXPECT_EQ(seqs("logs", "free"), one_to(5000));
    EXPECT_TRUE(fs::is_regular_file(dir / "logs" / "stuck")) << "still blocked meanwhile";
    // The stall is visible to the operator.
    const auto prom = bound_port("Tracer.StartedPrometheus");
    keep_alive_client scraper(prom);
    auto own = scraper.get("/metrics");
    ASSERT_TRUE(own && own->status == 200);
    EXPECT_NE(own->body.find("cardano_tracer_writer_stalled_seconds{"), std::string::npos);
    fs::remove(dir / "logs" / "stuck");
    // Exit status 1 when the node's own queue overflowed while it was not asked.
    ASSERT_TRUE(stuck->wait_exit(60s));
    expect_sent_exactly_once(*stuck, "logs", "stuck");
}

// Defect 9: a peer that connects to the Unix socket and says nothing is closed after the
// handshake deadline (upstream limits TCP only) and counted as a timeout.
TEST_F(ReliabilityTest, SilentUnixPeerIsClosedAfterTheHandshakeDeadline) {
    start_tracer(
        base_config("handshakeTimeoutSecs: 0.5\n"
                    "hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    boost::asio::io_context io;
    boost::asio::local::stream_protocol::socket silent(io);
    // The socket file appears at bind(), a moment before listen(): retry a refused connect.
    ASSERT_TRUE(wait_until([&] {
        boost::system::error_code cec;
        silent.close(cec);
        silent.connect((dir / "tracer.sock").string(), cec);
        return !cec;
    }));
    char c;
    boost::system::error_code ec;
    silent.read_some(boost::asio::buffer(&c, 1), ec);  // returns when the daemon closes it
    EXPECT_TRUE(ec);
    keep_alive_client scraper(bound_port("Tracer.StartedPrometheus"));
    auto own = scraper.get("/metrics");
    ASSERT_TRUE(own);
    EXPECT_NE(own->body.find("cardano_tracer_session_errors_total{reason=\"timeout\"} 1"),
              std::string::npos);
    EXPECT_EQ(stop_tracer(), 0);
}

// Defect 9: a node whose process froze (SIGSTOP) stops answering; the daemon closes it after
// peerSilenceTimeoutSecs and frees its name, so the node's next connection gets its name
// back instead of a NodeId fallback.
TEST_F(ReliabilityTest, FrozenNodeIsClosedAndItsNameIsFreeForItsNextConnection) {
    start_tracer(base_config("peerSilenceTimeoutSecs: 1\nekgRequestFreq: 0.1\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const std::vector<std::string> args = {"--connect",
                                           "tracer.sock",
                                           "--network-magic",
                                           "42",
                                           "--name",
                                           "relay-x",
                                           "--rate",
                                           "10",
                                           "--duration",
                                           "120"};
    auto frozen = run_forwarder(args, "frozen");
    ASSERT_TRUE(wait_until([&] { return count("Tracer.AddNewNodeIdMapping") == 1; }));
    frozen->signal(SIGSTOP);
    ASSERT_TRUE(wait_until([&] {
        return tracer->stdout_text().find("the node did not answer") != std::string::npos;
    }));
    ASSERT_TRUE(wait_until([&] {
        return count("Tracer.ConnectionClosed") + count("Tracer.ForwardingInterrupted") >= 1;
    }));
    auto back = run_forwarder(args, "back");
    ASSERT_TRUE(wait_until([&] { return count("Tracer.AddNewNodeIdMapping") == 2; }));
    EXPECT_EQ(messages("Tracer.AddNewNodeIdMapping")[1]["data"]["nodeName"], "relay-x");
    frozen->signal(SIGKILL);
    back->signal(SIGTERM);
    (void)back->wait_exit(10s);
    EXPECT_EQ(stop_tracer(), 0);
}

// A node that answers an EKG request late (frozen for a while, then resumed) is polled on as
// before: the EKG loop, which otherwise finds each response when it wakes for the next poll,
// is woken by a response that comes after that time, instead of sleeping until
// peerSilenceTimeoutSecs.
TEST_F(ReliabilityTest, EkgPollsGoOnAfterALateResponse) {
    start_tracer(
        base_config("peerSilenceTimeoutSecs: 60\nekgRequestFreq: 0.1\nverbosity: Maximum\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto node = run_forwarder(
        {"--connect", "tracer.sock", "--network-magic", "42", "--rate", "10", "--duration", "120"},
        "late");
    auto responses = [&] {
        std::size_t n = 0;
        for (const auto& m : messages("Tracer.MiniProtocolMessage"))
            n += m["data"]["protocol"] == 1 && m["data"]["direction"] == "recv";
        return n;
    };
    ASSERT_TRUE(wait_until([&] { return responses() >= 3; }));
    node->signal(SIGSTOP);
    // The scenario, not a wait for a result: the node stays frozen well past the 0.1 s at
    // which the daemon's loop looks for the response of its pending request.
    std::this_thread::sleep_for(500ms);
    const auto before = responses();
    node->signal(SIGCONT);
    // Polls every 0.1 s again: with the loop left asleep, only the late response would come
    // within this bound (the next request would wait for the 60 s silence deadline).
    EXPECT_TRUE(wait_until([&] { return responses() >= before + 5; }, 10s))
        << responses() - before << " responses after the node resumed";
    node->signal(SIGTERM);
    (void)node->wait_exit(10s);
    EXPECT_EQ(stop_tracer(), 0);
}

// A small tmpfs for the disk-full test (root only, as on CI); unmounted however the test ends.
struct small_tmpfs {
    fs::path where;
    bool mounted = false;
    small_tmpfs(const fs::path& p, const std::string& size) : where(p) {
        fs::create_directories(p);
        if (::geteuid() != 0) return;
        const std::string cmd =
            "mount -t tmpfs -o size=" + size + " tmpfs '" + p.string() + "' 2>/dev/null";
        mounted = std::system(cmd.c_str()) == 0;
    }
    bool resize(const std::string& size) {
        const std::string cmd =
            "mount -o remount,size=" + size + " '" + where.string() + "' 2>/dev/null";
        return std::system(cmd.c_str()) == 0;
    }
    ~small_tmpfs() {
        if (mounted) (void)std::system(("umount -l '" + where.string() + "'").c_str());
    }
};

// Fault: the disk fills up under a streaming node. Writing stops (the node is parked and not
// asked), is reported, and resumes by itself when space returns; nothing the node sent is lost
// or written twice.
TEST_F(ReliabilityTest, FullDiskResumesWhenSpaceReturnsAndLosesNothing) {
    small_tmpfs disk(dir / "small", "1m");
    if (!disk.mounted)
        GTEST_SKIP() << "needs root to mount a tmpfs (the writer's unit tests "
                        "inject ENOSPC instead)";
    start_tracer(
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
        "logging:\n"
        "- { logRoot: small/logs, logMode: FileMode, logFormat: ForMachine }\n");
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--name",
                              "full",
                              "--count",
                              "8000",
                              "--rate",
                              std::to_string(4000 / slowdown)});
    ASSERT_TRUE(wait_until(
        [&] { return tracer->stdout_text().find("No space left on device") != std::string::npos; },
        30s));
    ASSERT_TRUE(disk.resize("64m"));
    ASSERT_TRUE(fwd->wait_exit(60s));
    expect_sent_exactly_once(*fwd, "small/logs", "full");
}

// Fault: the whole logRoot is removed while a node streams. The daemon notices (within a
// second), recreates the directories and writes on into a new file.
TEST_F(ReliabilityTest, RemovedLogRootIsRecreated) {
    start_tracer(base_config());
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--name",
                              "relay",
                              "--rate",
                              std::to_string(500 / slowdown),
                              "--duration",
                              "60"});
    ASSERT_TRUE(wait_until([&] { return !machine_lines("logs", "relay").empty(); }));
    fs::remove_all(dir / "logs");
    ASSERT_TRUE(wait_until([&] { return machine_lines("logs", "relay").size() >= 10; }, 20s));
    EXPECT_TRUE(fs::exists(dir / "logs/relay/node.json"));
    fwd->signal(SIGTERM);
    (void)fwd->wait_exit(10s);
    EXPECT_EQ(stop_tracer(), 0);
    // What was written after the removal is a gap-free run of the node's sequence numbers.
    const auto got = seqs("logs", "relay");
    ASSERT_FALSE(got.empty());
    for (std::size_t i = 1; i < got.size(); ++i) EXPECT_EQ(got[i], got[i - 1] + 1);
}

// Fault: kill -9 mid-stream, then a restart. Every line on disk is a complete record (one
// write per batch: no torn lines), and the restarted daemon writes into a new file.
TEST_F(ReliabilityTest, KillNineMidStreamLeavesValidFilesAndARestartStartsNewOnes) {
    start_tracer(base_config());
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto fwd = run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--name",
                              "relay",
                              "--rate",
                              std::to_string(5000 / slowdown),
                              "--duration",
                              "60"});
    ASSERT_TRUE(wait_until([&] { return machine_lines("logs", "relay").size() >= 1000; }));
    tracer->signal(SIGKILL);
    ASSERT_TRUE(tracer->wait_exit(10s));
    const auto before = machine_lines("logs", "relay");
    for (const auto& line : before)
        ASSERT_TRUE(nlohmann::json::parse(line, nullptr, false).is_object()) << line;
    std::size_t files_before = 0;
    for (const auto& e : fs::directory_iterator(dir / "logs/relay"))
        files_before += e.path().filename().string().starts_with("node-");
    fwd->signal(SIGTERM);
    (void)fwd->wait_exit(10s);
    // The socket file of the killed daemon is stale: the restart replaces it.
    start_tracer(base_config());
    ASSERT_TRUE(wait_until([&] { return count("Tracer.InitDone") == 1; }));
    auto again = run_forwarder(
        {"--connect", "tracer.sock", "--network-magic", "42", "--name", "relay", "--count", "100"},
        "again");
    ASSERT_EQ(again->wait_exit(30s), 0) << again->stderr_text();
    ASSERT_TRUE(
        wait_until([&] { return machine_lines("logs", "relay").size() >= before.size() + 100; }));
    EXPECT_EQ(stop_tracer(), 0);
    std::size_t files_after = 0;
    for (const auto& e : fs::directory_iterator(dir / "logs/relay"))
        files_after += e.path().filename().string().starts_with("node-");
    EXPECT_GT(files_after, files_before);
    // The old lines are untouched (no truncation).
    const auto after = machine_lines("logs", "relay");
    EXPECT_TRUE(std::equal(before.begin(), before.end(), after.begin()));
}

}  // namespace
}  // namespace ct::test
