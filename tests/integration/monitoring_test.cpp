// The monitoring documentation, checked against a real Prometheus server: the scrape
// configuration of docs/operations.md (nodes discovered through /targets, the daemon's own
// metrics from /metrics) and every query of docs/grafana-dashboard.json, evaluated by
// Prometheus against a daemon that simulated nodes feed.
#include <cctype>
#include <fstream>

#include "tests/integration/daemon_fixture.hpp"

namespace ct::test {
namespace {

std::string url_encode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

TEST_F(DaemonTest, PrometheusScrapesThroughTargetsAndEveryDashboardQueryEvaluates) {
    if (!fs::exists("/usr/bin/prometheus")) FAIL() << "prometheus is not installed (setup.sh)";
    const auto prom_port = free_tcp_port();
    const auto server_port = free_tcp_port();
    ASSERT_NE(prom_port, server_port);
    start_tracer(
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: tracer.sock }\n"
        "logging: [ { logRoot: logs, logMode: FileMode, logFormat: ForMachine } ]\n"
        "hasPrometheus: { epHost: 127.0.0.1, epPort: " +
        std::to_string(prom_port) + " }\n");
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto nodes = run_forwarder({"--connect",
                                "tracer.sock",
                                "--network-magic",
                                "42",
                                "--nodes",
                                "2",
                                "--name-prefix",
                                "relay",
                                "--rate",
                                "50",
                                "--duration",
                                "120"},
                               "nodes");
    // The scrape configuration of docs/operations.md, with a short interval.
    const std::string target = "127.0.0.1:" + std::to_string(prom_port);
    write_file(dir / "prometheus.yml",
               "global: { scrape_interval: 1s, evaluation_interval: 1s }\n"
               "scrape_configs:\n"
               "  - job_name: cardano-nodes\n"
               "    http_sd_configs:\n"
               "      - url: http://" +
                   target +
                   "/targets\n"
                   "        refresh_interval: 1s\n"
                   "  - job_name: cardano-tracer\n"
                   "    metrics_path: /metrics\n"
                   "    static_configs:\n"
                   "      - targets: [\"" +
                   target +
                   "\"]\n"
                   "    metric_relabel_configs:\n"
                   "      - source_labels: [__name__]\n"
                   "        regex: cardano_tracer_.*\n"
                   "        action: keep\n");
    child_process prometheus("/usr/bin/prometheus",
                             {"--config.file=prometheus.yml",
                              "--storage.tsdb.path=tsdb",
                              "--web.listen-address=127.0.0.1:" + std::to_string(server_port)},
                             dir.path(),
                             "prometheus",
                             dir.path());
    auto query = [&](const std::string& expr) {
        auto r = http_get(server_port, "/api/v1/query?query=" + url_encode(expr));
        if (!r) return nlohmann::json::object();
        auto j = nlohmann::json::parse(r->body, nullptr, false);
        return j.is_object() ? j : nlohmann::json::object();
    };
    // Both nodes discovered through /targets and scraped as their own targets.
    ASSERT_TRUE(wait_until(
        [&] {
            auto j = query("count(up{job=\"cardano-nodes\"} == 1)");
            return j.value("status", "") == "success" && !j["data"]["result"].empty() &&
                   j["data"]["result"][0]["value"][1] == "2";
        },
        60s))
        << prometheus.stderr_text();
    // Enough samples for rate() over the dashboard's windows.
    ASSERT_TRUE(wait_until(
        [&] {
            auto j = query("rate(cardano_tracer_trace_objects_received_total[1m]) > 0");
            return j.value("status", "") == "success" && !j["data"]["result"].empty();
        },
        60s));

    std::ifstream in(fs::path(CT_SOURCE_DIR) / "docs/grafana-dashboard.json");
    const auto dashboard = nlohmann::json::parse(in);
    // Series that exist only when something goes wrong (or the rules filter).
    const std::vector<std::string> may_be_empty{"cardano_tracer_writer_stalled_seconds",
                                                "cardano_tracer_dispatcher_filtered_total",
                                                "cardano_tracer_session_errors_total",
                                                "cardano_node_metrics_"};
    std::size_t checked = 0;
    for (const auto& panel : dashboard["panels"]) {
        if (!panel.contains("targets")) continue;
        for (const auto& t : panel["targets"]) {
            const auto expr = t["expr"].get<std::string>();
            auto j = query(expr);
            EXPECT_EQ(j.value("status", ""), "success") << panel["title"] << ": " << expr << "\n"
                                                        << j.dump();
            const bool optional =
                std::any_of(may_be_empty.begin(), may_be_empty.end(), [&](const std::string& m) {
                    return expr.find(m) != std::string::npos;
                });
            if (!optional) {
                EXPECT_FALSE(j["data"]["result"].empty())
                    << panel["title"] << ": " << expr << " has no data";
            }
            ++checked;
        }
    }
    EXPECT_GE(checked, 20u);
    // The node metrics panels have data for the simulated nodes (node job, per node_name).
    auto heights = query("cardano_node_metrics_blockNum_int");
    EXPECT_EQ(heights["data"]["result"].size(), 2u) << heights.dump();

    prometheus.signal(SIGTERM);
    (void)prometheus.wait_exit(15s);
    nodes->signal(SIGTERM);
    (void)nodes->wait_exit(15s);
    EXPECT_EQ(stop_tracer(), 0);
}

}  // namespace
}  // namespace ct::test
