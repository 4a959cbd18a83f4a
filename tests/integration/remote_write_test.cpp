// remoteWrite against the real thing: Debian's Prometheus 2.42 as the remote-write receiver,
// started by the test on a free port. After the daemon pushes, PromQL through Prometheus' HTTP
// API returns each node's metrics with their values and labels; when the receiver goes away,
// failed pushes are counted and reported, and the daemon still stops cleanly.
#include <cctype>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/integration/daemon_fixture.hpp"

namespace {

using namespace ct::test;
using nlohmann::json;

struct RemoteWriteTest : DaemonTest {
    std::unique_ptr<child_process> prometheus, nodes;
    unsigned short receiver = 0;

    void TearDown() override {
        if (nodes) nodes->signal(SIGTERM);
        if (prometheus) prometheus->signal(SIGTERM);
        DaemonTest::TearDown();
    }
    void start_prometheus() {
        receiver = free_tcp_port();
        write_file(dir / "prometheus.yml", "global: { scrape_interval: 1m }\n");
        prometheus = std::make_unique<child_process>(
            "/usr/bin/prometheus",
            std::vector<std::string>{"--config.file=" + (dir / "prometheus.yml").string(),
                                     "--storage.tsdb.path=" + (dir / "tsdb").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(receiver),
                                     "--web.enable-remote-write-receiver"},
            dir.path(),
            "prometheus");
        ASSERT_TRUE(wait_until(
            [&] {
                auto r = http_get(receiver, "/-/ready");
                return r && r->status == 200;
            },
            std::chrono::seconds(30)))
            << prometheus->stderr_text();
    }
    // PromQL through Prometheus' API: the result vector.
    json promql(const std::string& expr) {
        std::string q;
        for (const unsigned char c : expr) {
            if (std::isalnum(c) || c == '_') {
                q.push_back(static_cast<char>(c));
            } else {
                char buf[4];
                std::snprintf(buf, sizeof buf, "%%%02X", c);
                q += buf;
            }
        }
        auto r = http_get(receiver, "/api/v1/query?query=" + q);
        if (!r || r->status != 200) return json::array();
        return json::parse(r->body)["data"]["result"];
    }
};

TEST_F(RemoteWriteTest, NodesMetricsReachARealPrometheusWithTheirLabels) {
    start_prometheus();
    ASSERT_FALSE(HasFatalFailure());
    start_tracer(
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
        "logging: [ { logRoot: logs, logMode: FileMode, logFormat: ForMachine } ]\n"
        "hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n"
        "prometheusLabels: { cluster: bench }\n"
        "ekgRequestFreq: 0.2\n"
        "remoteWrite: [ { url: \"http://127.0.0.1:" +
        std::to_string(receiver) + "/api/v1/write\", interval: 0.5, timeout: 2 } ]\n");
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const auto prom_port = bound_port("Tracer.StartedPrometheus");
    nodes = run_named_nodes(2, "relay", 20, 1200);
    const std::string counter = "cardano_node_metrics_served_header_counter";
    json result;
    ASSERT_TRUE(wait_until(
        [&] {
            result = promql(counter);
            return result.size() == 2;
        },
        std::chrono::seconds(20)))
        << result;
    std::set<std::string> names;
    for (const auto& series : result) {
        EXPECT_EQ(series["metric"]["__name__"], counter);
        EXPECT_EQ(series["metric"]["cluster"], "bench");
        names.insert(series["metric"]["node_name"].get<std::string>());
        // The value Prometheus holds is one the node's own page showed (a counter only grows).
        const double pushed = std::stod(series["value"][1].get<std::string>());
        EXPECT_GT(pushed, 0);
        const auto page =
            http_get(prom_port, "/" + series["metric"]["node_name"].get<std::string>());
        ASSERT_TRUE(page);
        double now = -1;
        for (const auto& line : split_lines(page->body))
            if (line.rfind(counter + " ", 0) == 0) now = std::stod(line.substr(counter.size() + 1));
        EXPECT_LE(pushed, now);
    }
    EXPECT_EQ(names, (std::set<std::string>{"relay-1", "relay-2"}));
    // Every series of both nodes arrives, though a push takes more than one request (2000
    // series at most per request, as Prometheus' own sender).
    ASSERT_TRUE(wait_until([&] {
        const auto counts = promql("count by (node_name) ({node_name=~\"relay-.\"})");
        if (counts.size() != 2) return false;
        for (const auto& c : counts)
            if (std::stoi(c["value"][1].get<std::string>()) < 1200) return false;
        return true;
    }));
    // A label-valued metric arrives as its info series; the daemon's own metrics arrive too.
    EXPECT_EQ(promql("cardano_node_metrics_cardano_build_info{node_name=\"relay-2\"}").size(), 1u);
    ASSERT_TRUE(wait_until(
        [&] { return !promql("cardano_tracer_remote_write_pushes_total > 0").empty(); }));

    // The receiver goes away: pushes fail, are counted and reported, nothing blocks.
    prometheus->signal(SIGTERM);
    ASSERT_TRUE(prometheus->wait_exit(std::chrono::seconds(20)));
    ASSERT_TRUE(wait_until(
        [&] {
            auto page = http_get(prom_port, "/metrics");
            return page &&
                   page->body.find("cardano_tracer_remote_write_failures_total{url=") !=
                       std::string::npos &&
                   page->body.find(
                       "cardano_tracer_remote_write_failures_total{url=\"http://127.0.0.1:" +
                       std::to_string(receiver) + "/api/v1/write\"} 0") == std::string::npos;
        },
        std::chrono::seconds(20)));
    EXPECT_FALSE(messages("Tracer.RemoteWrite").empty());
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(stop_tracer(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
