// Hot reload of what binds: the node listener and connectors, the HTTP endpoints, TLS files
// and socketMode, applied by SIGHUP without dropping a node connection; and the systemd side
// of it (sd_notify sequence, watchdog, socket activation). Real daemon, real simulated nodes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "tests/integration/daemon_fixture.hpp"

namespace ct::test {
namespace {

class HotReloadTest : public DaemonTest {
  protected:
    static std::string logging() {
        return "logging:\n- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }\n";
    }
    static std::string accept_at(const std::string& where) {
        return "networkMagic: 42\nnetwork: { tag: AcceptAt, contents: \"" + where + "\" }\n" +
               logging();
    }

    /// The port of the last start message `ns` (an endpoint started by a reload).
    unsigned short last_bound_port(const std::string& ns) {
        const auto m = messages(ns);
        return m.empty() ? 0 : m.back()["data"]["endpoint"]["boundPort"].get<unsigned short>();
    }

    /// The exit summary of a simulated node that wrote --summary-file.
    nlohmann::json summary(const std::string& file) {
        auto j = nlohmann::json::parse(read_file(dir / file), nullptr, false);
        return j.is_object() ? j["nodes"][0] : nlohmann::json();
    }

    /// A self-signed EC certificate for CN=`cn` written to `cert` and `key` in the temp dir.
    bool make_certificate(const std::string& cn,
                          const std::string& cert = "cert.pem",
                          const std::string& key = "key.pem") {
        const std::string cmd = "cd '" + dir.path().string() +
                                "' && openssl req -x509 -newkey ec -pkeyopt "
                                "ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" +
                                cn + " -keyout " + key + " -out " + cert + " > openssl.out 2>&1";
        return std::system(cmd.c_str()) == 0;
    }

    /// The subject of the certificate a TLS endpoint serves now ("" when none).
    std::string served_subject(unsigned short port) {
        const std::string cmd = "cd '" + dir.path().string() +
                                "' && openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                                " < /dev/null 2>/dev/null | openssl x509 -noout -subject > "
                                "subject.out 2>&1";
        if (std::system(cmd.c_str()) != 0) return std::string();
        return read_file(dir / "subject.out");
    }

    static unsigned mode_of(const fs::path& p) {
        struct stat st {};
        return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
    }
};

// AcceptAt moves from one socket to another and then to TCP while a node streams: the new
// address is bound before the old one closes, the streaming node is never disconnected, new
// nodes reach the new address, socketMode changes in place, and an address in use refuses
// the reload with nothing changed.
TEST_F(HotReloadTest, AcceptAtMovesWithoutDroppingConnectedNodes) {
    start_tracer(accept_at("tracer.sock"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto streaming = run_forwarder({"--connect",
                                    "tracer.sock",
                                    "--network-magic",
                                    "42",
                                    "--name",
                                    "streaming",
                                    "--rate",
                                    std::to_string(400 / slowdown),
                                    "--duration",
                                    "60",
                                    "--summary-file",
                                    "streaming.json"},
                                   "streaming");
    ASSERT_TRUE(wait_until([&] { return machine_lines("logs", "streaming").size() >= 20; }));

    auto moved = reload(accept_at("moved.sock") + "socketMode: \"0600\"\n");
    ASSERT_EQ(moved.value("ns", ""), "Tracer.ConfigReloaded") << moved.dump();
    EXPECT_NE(moved["data"]["changed"].dump().find("network"), std::string::npos);
    EXPECT_EQ(moved["data"]["notApplied"].size(), 0u) << moved.dump();
    EXPECT_TRUE(fs::exists(dir / "moved.sock"));
    EXPECT_FALSE(fs::exists(dir / "tracer.sock"));
    EXPECT_EQ(mode_of(dir / "moved.sock"), 0600u);
    auto late = run_forwarder(
        {"--connect", "moved.sock", "--network-magic", "42", "--name", "late", "--count", "30"},
        "late");
    EXPECT_EQ(late->wait_exit(20s), 0);
    EXPECT_TRUE(wait_until([&] { return machine_lines("logs", "late").size() == 30; }));

    // The same address with another mode: chmod in place, no new socket.
    auto chmodded = reload(accept_at("moved.sock") + "socketMode: \"0666\"\n");
    ASSERT_EQ(chmodded.value("ns", ""), "Tracer.ConfigReloaded") << chmodded.dump();
    EXPECT_EQ(mode_of(dir / "moved.sock"), 0666u);
    EXPECT_EQ(count("Tracer.SockListen"), 2u);

    // An address in use: refused by name, the running socket keeps accepting.
    const int busy = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(busy, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(busy, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(busy, reinterpret_cast<sockaddr*>(&addr), &len);
    const auto busy_port = std::to_string(ntohs(addr.sin_port));
    auto refused = reload(accept_at("127.0.0.1:" + busy_port));
    ::close(busy);
    ASSERT_EQ(refused.value("ns", ""), "Tracer.ReloadFailed") << refused.dump();
    EXPECT_NE(refused["data"]["problems"].dump().find("127.0.0.1:" + busy_port), std::string::npos)
        << refused.dump();
    EXPECT_TRUE(fs::exists(dir / "moved.sock"));

    // To TCP.
    auto tcp = reload(accept_at("127.0.0.1:0"));
    ASSERT_EQ(tcp.value("ns", ""), "Tracer.ConfigReloaded") << tcp.dump();
    EXPECT_FALSE(fs::exists(dir / "moved.sock"));
    const auto listen_messages = messages("Tracer.SockListen");
    const auto at = listen_messages.back()["data"]["listenAt"].get<std::string>();
    auto over_tcp = run_forwarder(
        {"--connect", at, "--network-magic", "42", "--name", "tcp", "--count", "30"}, "tcp");
    EXPECT_EQ(over_tcp->wait_exit(20s), 0);
    EXPECT_TRUE(wait_until([&] { return machine_lines("logs", "tcp").size() == 30; }));

    streaming->signal(SIGTERM);
    ASSERT_EQ(streaming->wait_exit(20s), 0);
    const auto s = summary("streaming.json");
    EXPECT_EQ(s["connections"], 1) << "the streaming node was reconnected: " << s.dump();
    const auto sent = s["sent"].get<std::uint64_t>();
    ASSERT_TRUE(wait_until([&] { return machine_lines("logs", "streaming").size() >= sent; }));
    EXPECT_EQ(seqs("logs", "streaming"), one_to(sent));
    EXPECT_EQ(stop_tracer(), 0);
}

// ConnectTo: a reload starts and stops exactly the connectors whose target changed; the
// session to a removed target is drained (its outstanding reply is still written), the one
// to a kept target is not touched.
TEST_F(HotReloadTest, ConnectToStartsAndStopsOnlyTheTargetsThatDiffer) {
    std::vector<std::unique_ptr<child_process>> nodes;
    for (const auto* n : {"n1", "n2", "n3"}) {
        nodes.push_back(run_forwarder({"--accept",
                                       std::string(n) + ".sock",
                                       "--network-magic",
                                       "42",
                                       "--name",
                                       n,
                                       "--rate",
                                       std::to_string(200 / slowdown),
                                       "--duration",
                                       "60",
                                       "--summary-file",
                                       std::string(n) + ".json"},
                                      n));
    }
    for (const auto* n : {"n1.sock", "n2.sock", "n3.sock"}) ASSERT_TRUE(wait_for_socket(n));
    auto connect_to = [](const std::string& list) {
        return "networkMagic: 42\nnetwork: { tag: ConnectTo, contents: [" + list + "] }\n" +
               logging();
    };
    start_tracer(connect_to("n1.sock, n2.sock"));
    ASSERT_TRUE(wait_until([&] {
        return machine_lines("logs", "n1").size() >= 10 && machine_lines("logs", "n2").size() >= 10;
    }));
    auto outcome = reload(connect_to("n2.sock, n3.sock"));
    ASSERT_EQ(outcome.value("ns", ""), "Tracer.ConfigReloaded") << outcome.dump();
    EXPECT_NE(outcome["data"]["endpoints"].dump().find("stops connecting to n1.sock"),
              std::string::npos)
        << outcome.dump();
    EXPECT_NE(outcome["data"]["endpoints"].dump().find("connects to n3.sock"), std::string::npos)
        << outcome.dump();
    EXPECT_TRUE(wait_until([&] { return machine_lines("logs", "n3").size() >= 10; }));
    // n1's session ends by a drain (a clean close), and nobody dials it again.
    EXPECT_TRUE(wait_until([&] {
        for (const auto& m : messages("Tracer.ConnectionClosed")) {
            if (m["data"].value("nodeName", "") == "n1") return true;
        }
        return false;
    }));
    // n1's last batch was handed over before its close was logged, but the writer may still
    // hold it (it lingers up to 1 ms for more, and the disconnect that writes what n1 holds
    // is behind it in the queue). The file writer keeps order over all nodes:
    // once n2 has moved on by 20 lines, n1's count is final and must stay so.
    const auto n2_at_close = machine_lines("logs", "n2").size();
    EXPECT_TRUE(wait_until([&] { return machine_lines("logs", "n2").size() >= n2_at_close + 20; }));
    const auto n1_lines = machine_lines("logs", "n1").size();
    const auto n2_before = machine_lines("logs", "n2").size();
    EXPECT_TRUE(wait_until([&] { return machine_lines("logs", "n2").size() >= n2_before + 20; }));
    EXPECT_EQ(machine_lines("logs", "n1").size(), n1_lines);
    std::size_t dials_to_n1 = 0;
    for (const auto& m : messages("Tracer.SockConnecting")) {
        if (m["data"].dump().find("n1.sock") != std::string::npos) ++dials_to_n1;
    }
    EXPECT_EQ(dials_to_n1, 1u);

    EXPECT_EQ(stop_tracer(), 0);
    for (auto& n : nodes) {
        n->signal(SIGTERM);
        (void)n->wait_exit(20s);
    }
    // What each node sent reached the files, gap-free; n2 was never reconnected.
    EXPECT_EQ(summary("n2.json")["connections"], 1) << summary("n2.json").dump();
    for (const auto* n : {"n1", "n2", "n3"}) {
        const auto on_disk = seqs("logs", n);
        EXPECT_EQ(on_disk, one_to(on_disk.size())) << n;
    }
}

// HTTP endpoints: a moved endpoint is re-bound (its keep-alive clients are closed, the new
// address answers), a new one starts, a removed one stops, an unchanged one keeps its
// connections; two endpoints can trade ports in one reload.
TEST_F(HotReloadTest, HttpEndpointsMoveStartAndStop) {
    const auto p1 = free_tcp_port();
    const auto p2 = free_tcp_port();
    const auto p3 = free_tcp_port();
    ASSERT_TRUE(p1 != p2 && p2 != p3 && p1 != p3);
    auto ep = [](unsigned short p) {
        return "{ epHost: 127.0.0.1, epPort: " + std::to_string(p) + " }";
    };
    start_tracer(accept_at("tracer.sock") + "hasPrometheus: " + ep(p1) +
                 "\nlegacyMetricsEndpoints: { relay: { epHost: 127.0.0.1, epPort: 0 } }\n");
    ASSERT_TRUE(wait_for_port(p1));
    const auto legacy = bound_port("Tracer.StartedLegacyMetrics");
    ASSERT_NE(legacy, 0);
    keep_alive_client old_prom(p1);
    auto r = old_prom.get("/metrics");
    ASSERT_TRUE(r && r->status == 200);

    // Prometheus moves to p2, EKG starts on p3, the legacy endpoint goes.
    auto moved = reload(accept_at("tracer.sock") + "hasPrometheus: " + ep(p2) +
                        "\nhasEKG: " + ep(p3) + "\n");
    ASSERT_EQ(moved.value("ns", ""), "Tracer.ConfigReloaded") << moved.dump();
    EXPECT_TRUE(old_prom.closed_by_server(5s));
    auto on_p2 = http_get(p2, "/metrics");
    ASSERT_TRUE(on_p2);
    EXPECT_EQ(on_p2->status, 200);
    auto on_p3 = http_get(p3, "/", {"Accept: application/json"});
    ASSERT_TRUE(on_p3);
    EXPECT_EQ(on_p3->status, 200);
    EXPECT_FALSE(tcp_port_open(p1));
    EXPECT_FALSE(tcp_port_open(legacy));

    // An unchanged endpoint keeps its keep-alive clients through a reload; then Prometheus
    // and EKG trade ports (each port is bound after its holder closed).
    keep_alive_client prom(p2);
    ASSERT_TRUE(prom.get("/metrics"));
    auto same = reload(accept_at("tracer.sock") + "hasPrometheus: " + ep(p2) +
                       "\nhasEKG: " + ep(p3) + "\nloRequestNum: 10\n");
    ASSERT_EQ(same.value("ns", ""), "Tracer.ConfigReloaded") << same.dump();
    auto again = prom.get("/metrics");
    ASSERT_TRUE(again && again->status == 200);
    EXPECT_EQ(prom.reconnects(), 0);
    auto swapped = reload(accept_at("tracer.sock") + "hasPrometheus: " + ep(p3) +
                          "\nhasEKG: " + ep(p2) + "\n");
    ASSERT_EQ(swapped.value("ns", ""), "Tracer.ConfigReloaded") << swapped.dump();
    EXPECT_FALSE(swapped["data"].contains("problems")) << swapped.dump();
    EXPECT_TRUE(wait_until([&] {
        auto m = http_get(p3, "/metrics");
        return m && m->status == 200 && m->body.find("cardano_tracer") != std::string::npos;
    }));
    EXPECT_TRUE(wait_until([&] {
        auto e = http_get(p2, "/", {"Accept: application/json"});
        return e && e->status == 200 && e->body.find("cardano_tracer") == std::string::npos;
    }));
    EXPECT_EQ(stop_tracer(), 0);
}

// TLS: the certificate and key are re-read on every reload (renewal without a restart, on
// the same port); a key that does not match is refused with the file named, and the
// previous certificate keeps being served.
TEST_F(HotReloadTest, TlsCertificateIsRenewedByAReloadAndABadPairIsRefused) {
    ASSERT_TRUE(make_certificate("first")) << read_file(dir / "openssl.out");
    const std::string yaml = accept_at("tracer.sock") +
                             "hasPrometheus: { epHost: 127.0.0.1, epPort: 0, epForceSSL: true }\n"
                             "tlsCertificate: { certificateFile: cert.pem, "
                             "certificateKeyFile: key.pem }\n";
    start_tracer(yaml);
    const auto port = bound_port("Tracer.StartedPrometheus");
    ASSERT_NE(port, 0);
    EXPECT_NE(served_subject(port).find("first"), std::string::npos);

    // Renewal: new files at the same paths, SIGHUP, the same port serves the new certificate.
    ASSERT_TRUE(make_certificate("second"));
    auto renewed = reload(yaml);
    ASSERT_EQ(renewed.value("ns", ""), "Tracer.ConfigReloaded") << renewed.dump();
    EXPECT_NE(served_subject(port).find("second"), std::string::npos);
    EXPECT_EQ(count("Tracer.StartedPrometheus"), 1u) << "the endpoint was not re-bound";

    // A key of another pair: refused, naming the key file; "second" is still served.
    ASSERT_TRUE(make_certificate("third", "other.pem", "key.pem"));
    auto refused = reload(yaml);
    ASSERT_EQ(refused.value("ns", ""), "Tracer.ReloadFailed") << refused.dump();
    EXPECT_NE(refused["data"]["problems"].dump().find("key.pem"), std::string::npos)
        << refused.dump();
    EXPECT_NE(served_subject(port).find("second"), std::string::npos);
    EXPECT_EQ(stop_tracer(), 0);
}

// A stub NOTIFY_SOCKET sees READY=1, RELOADING=1 (with MONOTONIC_USEC), READY=1 and
// STOPPING=1 in that order, and watchdog pings when WATCHDOG_USEC is set.
TEST_F(HotReloadTest, NotifiesSystemdOfReadyReloadingAndStopping) {
    const auto notify_path = (dir / "notify.sock").string();
    const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notify_path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    std::vector<std::string> received;
    auto drain = [&] {
        char buf[4096];
        for (;;) {
            const auto n = ::recv(sock, buf, sizeof buf, 0);
            if (n <= 0) break;
            received.emplace_back(buf, static_cast<std::size_t>(n));
        }
    };
    auto states = [&] {
        drain();
        std::vector<std::string> out;
        for (const auto& m : received) {
            if (m != "WATCHDOG=1") out.push_back(m.substr(0, m.find('\n')));
        }
        return out;
    };
    auto pings = [&] {
        drain();
        return std::count(received.begin(), received.end(), "WATCHDOG=1");
    };
    start_tracer(accept_at("tracer.sock"),
                 child_extras{{"NOTIFY_SOCKET=" + notify_path, "WATCHDOG_USEC=200000"}, -1});
    ASSERT_TRUE(wait_until([&] { return states().size() == 1; }));
    EXPECT_EQ(states(), std::vector<std::string>{"READY=1"});
    EXPECT_TRUE(wait_until([&] { return pings() >= 3; }));
    ASSERT_EQ(reload(accept_at("tracer.sock") + "loRequestNum: 7\n").value("ns", ""),
              "Tracer.ConfigReloaded");
    ASSERT_TRUE(wait_until([&] { return states().size() == 3; }));
    EXPECT_EQ(stop_tracer(), 0);
    ASSERT_TRUE(wait_until([&] { return states().size() == 4; }));
    EXPECT_EQ(states(),
              (std::vector<std::string>{"READY=1", "RELOADING=1", "READY=1", "STOPPING=1"}));
    for (const auto& m : received) {
        if (m.starts_with("RELOADING=1")) {
            EXPECT_NE(m.find("\nMONOTONIC_USEC="), std::string::npos) << m;
        }
    }
    ::close(sock);
    ::unlink(notify_path.c_str());
}

// Socket activation: the AcceptAt socket comes from systemd (LISTEN_FDS). A node that
// connected before the daemon started is served once it is up, and the socket file stays
// after the daemon stops (it is systemd's).
TEST_F(HotReloadTest, SocketActivationUsesTheHandedOverSocket) {
    const auto path = (dir / "tracer.sock").string();
    const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);  // no CLOEXEC: the child inherits it
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(sock, 16), 0);
    // Connects into the backlog while no daemon runs.
    auto early = run_forwarder(
        {"--connect", "tracer.sock", "--network-magic", "42", "--name", "early", "--count", "25"},
        "early");
    start_tracer(accept_at("tracer.sock"), child_extras{{}, sock});
    ::close(sock);
    EXPECT_EQ(early->wait_exit(20s), 0);
    EXPECT_TRUE(wait_until([&] { return machine_lines("logs", "early").size() == 25; }));
    const auto listen = messages("Tracer.SockListen");
    ASSERT_EQ(listen.size(), 1u);
    EXPECT_EQ(listen[0]["data"]["socketActivated"], true) << listen[0].dump();
    EXPECT_EQ(stop_tracer(), 0);
    EXPECT_TRUE(fs::exists(dir / "tracer.sock"));
}

// The reload test: 10 nodes stream while 20 SIGHUPs alternate two configurations that
// change the logging sections, the rules, the listen address, an HTTP port and the TLS files.
// Afterwards every object is in the always-present section exactly once, and in exactly one
// of the alternating sections (the one active when it arrived) unless that section's rules
// silenced it; no node reconnected; the EKG endpoint answered every scrape of a keep-alive
// client throughout; each reload served the renewed certificate and the moved port.
TEST_F(HotReloadTest, TwentyReloadsWhileTenNodesStream) {
    const auto prom = free_tcp_port();
    const auto ekg = free_tcp_port();
    const unsigned short legacy[2] = {free_tcp_port(), free_tcp_port()};
    ASSERT_EQ(std::set<unsigned short>({prom, ekg, legacy[0], legacy[1]}).size(), 4u);
    // A: sections logs-a and logs-all, listening at a.sock, the legacy endpoint on legacy[0].
    // B: sections logs-b (ChainDB silenced there) and logs-all, at b.sock, on legacy[1].
    auto config = [&](int which) {
        const std::string self = which == 0 ? "a" : "b";
        std::string y = "networkMagic: 42\nnetwork: { tag: AcceptAt, contents: \"" + self +
                        ".sock\" }\n"
                        "hasPrometheus: { epHost: 127.0.0.1, epPort: " +
                        std::to_string(prom) +
                        ", epForceSSL: true }\n"
                        "tlsCertificate: { certificateFile: cert.pem, certificateKeyFile: "
                        "key.pem }\n"
                        "hasEKG: { epHost: 127.0.0.1, epPort: " +
                        std::to_string(ekg) +
                        " }\n"
                        "legacyMetricsEndpoints: { n-1: { epHost: 127.0.0.1, epPort: " +
                        std::to_string(legacy[which]) + " } }\n";
        y += which == 0
                 ? "TraceOptions: { \"\": { severity: Debug } }\n"
                 : "TraceOptions: { \"\": { severity: Debug }, Mempool: { severity: Debug } }\n";
        y += "logging:\n- { logRoot: logs-" + self + ", logMode: FileMode, logFormat: ForMachine";
        if (which == 1) y += ", TraceOptions: { ChainDB: { severity: Silence } }";
        y += " }\n- { logRoot: logs-all, logMode: FileMode, logFormat: ForMachine }\n";
        return y;
    };
    ASSERT_TRUE(make_certificate("generation-0"));
    start_tracer(config(0));
    ASSERT_TRUE(wait_for_socket("a.sock"));
    ASSERT_TRUE(wait_for_port(ekg));
    auto nodes = run_forwarder({"--connect",
                                "a.sock",
                                "--network-magic",
                                "42",
                                "--nodes",
                                "10",
                                "--name-prefix",
                                "n",
                                "--rate",
                                std::to_string(200 / slowdown),
                                "--duration",
                                "1200",  // ended by SIGTERM; only a bound (ASan runs are slow)
                                "--summary-file",
                                "nodes.json"},
                               "nodes");
    // Complete lines in logs-all, counted incrementally (files only grow; rotation adds new
    // ones): re-reading everything at every poll made the waits quadratic in the data.
    std::map<fs::path, std::pair<std::uintmax_t, std::size_t>> counted;  // bytes read, lines
    auto total_lines = [&] {
        std::size_t n = 0;
        if (!fs::exists(dir / "logs-all")) return n;
        for (const auto& node : fs::directory_iterator(dir / "logs-all")) {
            for (const auto& f : fs::directory_iterator(node.path())) {
                if (!f.is_regular_file() || f.path().extension() != ".json") continue;
                auto& [offset, lines] = counted[f.path()];
                std::ifstream in(f.path(), std::ios::binary);
                in.seekg(static_cast<std::streamoff>(offset));
                std::string chunk((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
                const auto last = chunk.rfind('\n');
                if (last != std::string::npos) {
                    lines += static_cast<std::size_t>(
                        std::count(chunk.begin(),
                                   chunk.begin() + static_cast<std::ptrdiff_t>(last) + 1,
                                   '\n'));
                    offset += last + 1;
                }
                n += lines;
            }
        }
        return n;
    };
    ASSERT_TRUE(wait_until([&] { return total_lines() >= 200; }, 30s));

    std::atomic<bool> scraping{true};
    std::atomic<int> scrapes{0}, scrape_failures{0}, scrape_reconnects{0};
    // Joined however the test leaves (an ASSERT returns early).
    struct joining_thread {
        std::atomic<bool>& running;
        std::thread t;
        ~joining_thread() {
            running = false;
            if (t.joinable()) t.join();
        }
    };
    joining_thread scraper{
        scraping, std::thread([&] {
            keep_alive_client client(ekg);
            while (scraping) {
                auto r = client.get("/");
                if (r && r->status == 200) {
                    ++scrapes;
                } else {
                    ++scrape_failures;
                }
                std::this_thread::sleep_for(20ms);  // pacing of a scraper, not a wait
            }
            scrape_reconnects = client.reconnects();
        })};

    for (int i = 1; i <= 20; ++i) {
        const int which = i % 2;
        ASSERT_TRUE(make_certificate("generation-" + std::to_string(i)));
        auto outcome = reload(config(which));
        ASSERT_EQ(outcome.value("ns", ""), "Tracer.ConfigReloaded") << i << outcome.dump();
        EXPECT_FALSE(outcome["data"].contains("problems")) << outcome.dump();
        EXPECT_EQ(outcome["data"]["notApplied"].size(), 0u) << outcome.dump();
        EXPECT_NE(served_subject(prom).find("generation-" + std::to_string(i)), std::string::npos)
            << "reload " << i;
        EXPECT_TRUE(fs::exists(dir / (which ? "b.sock" : "a.sock"))) << i;
        EXPECT_FALSE(fs::exists(dir / (which ? "a.sock" : "b.sock"))) << i;
        EXPECT_FALSE(tcp_port_open(legacy[1 - which])) << i;
        auto l = http_get(legacy[which], "/metrics");
        EXPECT_TRUE(l && l->status == 200) << i;
        // Objects keep arriving under this configuration before the next reload.
        const auto before = total_lines();
        ASSERT_TRUE(wait_until([&] { return total_lines() >= before + 100; }, 30s)) << i;
    }
    scraping = false;
    scraper.t.join();
    EXPECT_GT(scrapes.load(), 20);
    EXPECT_EQ(scrape_failures.load(), 0);
    EXPECT_EQ(scrape_reconnects.load(), 0);

    nodes->signal(SIGTERM);
    ASSERT_EQ(nodes->wait_exit(30s), 0);
    const auto summary_json = nlohmann::json::parse(read_file(dir / "nodes.json"));
    std::map<std::string, std::uint64_t> sent;
    for (const auto& n : summary_json["nodes"]) {
        EXPECT_EQ(n["connections"], 1) << n.dump();
        sent[n["name"].get<std::string>()] = n["sent"].get<std::uint64_t>();
    }
    ASSERT_EQ(sent.size(), 10u);
    ASSERT_TRUE(wait_until([&] {
        std::uint64_t want = 0;
        for (const auto& [n, c] : sent) want += c;
        return total_lines() >= want;
    }));
    EXPECT_EQ(stop_tracer(), 0);

    // logs-all: exactly once, in order. logs-a / logs-b: each object in exactly one of them,
    // except ChainDB objects that arrived under B (silenced in logs-b, so in neither).
    using key = std::pair<std::string, std::uint64_t>;
    std::map<key, std::string> ns_of;
    for (const auto& d : fs::directory_iterator(dir / "logs-all")) {
        for (const auto& l : machine_lines("logs-all", d.path().filename().string())) {
            const auto j = nlohmann::json::parse(l, nullptr, false);
            ASSERT_FALSE(j.is_discarded()) << "not JSON in " << d.path() << ": " << l;
            ns_of[{j["data"]["node"].get<std::string>(), j["data"]["seq"].get<std::uint64_t>()}] =
                j["ns"].get<std::string>();
        }
    }
    const auto all = seqs_by_origin("logs-all");
    for (const auto& [node, count] : sent) {
        auto it = all.find(node);
        ASSERT_NE(it, all.end()) << node;
        EXPECT_EQ(it->second, one_to(count)) << node;
    }
    std::map<key, int> in_sections;
    std::size_t in_a = 0, in_b = 0, silenced = 0;
    for (const auto* root : {"logs-a", "logs-b"}) {
        for (const auto& [node, seq_list] : seqs_by_origin(root)) {
            EXPECT_TRUE(std::is_sorted(seq_list.begin(), seq_list.end())) << root << node;
            for (auto q : seq_list) {
                ++in_sections[key(node, q)];
                (std::string(root) == "logs-a" ? in_a : in_b)++;
                if (std::string(root) == "logs-b") {
                    EXPECT_FALSE(ns_of[key(node, q)].starts_with("ChainDB")) << node << " " << q;
                }
            }
        }
    }
    for (const auto& [k, ns] : ns_of) {
        auto it = in_sections.find(k);
        const int n = it == in_sections.end() ? 0 : it->second;
        if (n == 0) {
            EXPECT_TRUE(ns.starts_with("ChainDB")) << k.first << " " << k.second << " " << ns;
            ++silenced;
        } else {
            EXPECT_EQ(n, 1) << k.first << " " << k.second;
        }
    }
    EXPECT_GT(in_a, 0u);
    EXPECT_GT(in_b, 0u);
    EXPECT_GT(silenced, 0u);
}

// logFlushMillis end to end: with a 10 s hold the daemon receives a node's objects and writes
// none of them; a reload to 0 writes what is held at once, and every reply after it as it comes.
TEST_F(HotReloadTest, LogFlushMillisHoldsLinesUntilAReloadWritesThem) {
    const auto prom = free_tcp_port();
    const auto config = [&](int millis) {
        return accept_at("tracer.sock") +
               "hasPrometheus: { epHost: 127.0.0.1, epPort: " + std::to_string(prom) +
               " }\nlogFlushMillis: " + std::to_string(millis) + "\n";
    };
    start_tracer(config(10000));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    ASSERT_TRUE(wait_for_port(prom));
    auto node = run_forwarder({"--connect",
                               "tracer.sock",
                               "--network-magic",
                               "42",
                               "--name",
                               "n1",
                               "--rate",
                               std::to_string(50 / slowdown),
                               "--duration",
                               "60"},
                              "n1");
    const auto received = [&] {
        auto r = http_get(prom, "/metrics");
        const double v =
            r ? sample_value(r->body, "cardano_tracer_trace_objects_received_total") : 0;
        return v > 0 ? static_cast<std::size_t>(v) : std::size_t{0};
    };
    std::size_t before_reload = 0;
    // 10 objects take 200 ms (a hold that did not reach the writer would end after 50 ms) and
    // make 3–8 KB of lines, with room for the few more received meanwhile: far below the
    // 16 KiB at which a file is written whatever the hold.
    ASSERT_TRUE(wait_until([&] { return (before_reload = received()) >= 10; }));
    EXPECT_TRUE(machine_lines("logs", "n1").empty()) << "held for 10 s";
    auto outcome = reload(config(0));
    ASSERT_EQ(outcome.value("ns", ""), "Tracer.ConfigReloaded") << outcome.dump();
    // What was held is written by the reload; what comes after, reply by reply.
    EXPECT_TRUE(wait_until([&] { return machine_lines("logs", "n1").size() >= before_reload; }));
    const auto now = received();
    EXPECT_TRUE(wait_until([&] { return machine_lines("logs", "n1").size() >= now + 5; }));
    EXPECT_EQ(stop_tracer(), 0);
    node->signal(SIGTERM);
    (void)node->wait_exit(20s);
}

}  // namespace
}  // namespace ct::test
