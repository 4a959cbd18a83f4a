// The HTTP endpoints of the real daemon fed by simulated nodes, and a real Prometheus server
// that discovers the nodes through /targets and scrapes them.
#include <csignal>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/integration/daemon_fixture.hpp"

namespace {

using namespace ct::test;
using nlohmann::json;

struct MetricsEndpointTest : DaemonTest {
    unsigned short prom_port = 0, ekg_port = 0;
    std::unique_ptr<child_process> nodes;

    void start_all() {
        start_tracer(
            "networkMagic: 42\n"
            "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
            "logging: [ { logRoot: logs, logMode: FileMode, logFormat: ForMachine } ]\n"
            "hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n"
            "hasEKG: { epHost: 127.0.0.1, epPort: 0 }\n"
            "prometheusLabels: { env: test }\n"
            "metricsHelp: { blockNum: \"Number of blocks in this chain fragment.\" }\n"
            "ekgRequestFreq: 0.2\n");
        ASSERT_TRUE(wait_for_socket("tracer.sock"));
        prom_port = bound_port("Tracer.StartedPrometheus");
        ekg_port = bound_port("Tracer.StartedMonitoring");
        ASSERT_NE(prom_port, 0);
        ASSERT_NE(ekg_port, 0);
        nodes = run_forwarder({"--connect",
                               "tracer.sock",
                               "--network-magic",
                               "42",
                               "--nodes",
                               "2",
                               "--name-prefix",
                               "relay",
                               "--rate",
                               "50",
                               "--metrics",
                               "12"});
        ASSERT_TRUE(wait_until([&] {
            auto r = http_get(prom_port, "/", {"Accept: application/json"});
            // Each connection is named on its own: wait for both.
            return r && r->body.find("relay-1") != std::string::npos &&
                   r->body.find("relay-2") != std::string::npos;
        }));
    }
    void TearDown() override {
        if (nodes) nodes->signal(SIGTERM);
        DaemonTest::TearDown();
    }
};

TEST_F(MetricsEndpointTest, PrometheusRoutes) {
    start_all();
    auto root = http_get(prom_port, "/");  // no Accept: JSON
    ASSERT_TRUE(root);
    EXPECT_EQ(root->status, 200);
    EXPECT_EQ(json::parse(root->body),
              json::parse(R"({"relay-1":"/relay-1","relay-2":"/relay-2"})"));
    auto html = http_get(prom_port, "/", {"Accept: text/html"});
    EXPECT_NE(html->headers.find("text/html;charset=utf-8"), std::string::npos);

    auto targets = http_get(prom_port, "/targets", {"Host: prom.example:9000"});
    auto t = json::parse(targets->body);
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0]["targets"][0], "prom.example:9000");
    EXPECT_EQ(t[0]["labels"]["__metrics_path__"], "/relay-1");
    EXPECT_EQ(t[0]["labels"]["env"], "test");
    EXPECT_EQ(http_get(prom_port, "/targets", {"-Host"})->body, "[]");
    EXPECT_EQ(http_get(prom_port, "/targets", {"Accept: text/html"})->status, 415);

    auto node = http_get(prom_port, "/relay-1");
    EXPECT_EQ(node->status, 200);
    EXPECT_NE(node->headers.find("application/openmetrics-text;version=1.0.0;charset=utf-8"),
              std::string::npos);
    EXPECT_NE(node->body.find("# TYPE cardano_node_metrics_blockNum_int gauge\n# HELP "
                              "cardano_node_metrics_blockNum_int "
                              "Number of blocks in this chain fragment.\n"),
              std::string::npos)
        << node->body;
    EXPECT_TRUE(node->body.ends_with("# EOF\n"));
    auto text = http_get(prom_port, "/relay-1/anything", {"Accept: text/plain"});
    EXPECT_NE(text->headers.find("text/plain;version=0.0.4;charset=utf-8"), std::string::npos);

    auto missing = http_get(prom_port, "/nobody/x");
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(missing->body, "Not found: nobody");

    auto all = http_get(prom_port, "/metrics");
    EXPECT_NE(all->body.find("node_name=\"relay-1\""), std::string::npos);
    EXPECT_NE(all->body.find("cardano_tracer_connected_nodes 2"), std::string::npos);
    EXPECT_NE(all->body.find("cardano_tracer_trace_objects_received_total"), std::string::npos);
    EXPECT_EQ(http_get(prom_port, "/healthz")->status, 200);
    EXPECT_EQ(http_get(prom_port, "/readyz")->status, 200);

    // promtool accepts the aggregated exposition.
    EXPECT_EQ(promtool_errors("all", all->body), "");
}

TEST_F(MetricsEndpointTest, OwnMetricsPerNodeAndRequestTurnaround) {
    start_all();
    const auto series = [](const char* family, const char* node) {
        return std::string(family) + "{node_name=\"" + node + "\"}";
    };
    // Both nodes stream at 50 objects/s: their written counts grow, never beyond received.
    std::string body;
    ASSERT_TRUE(wait_until([&] {
        auto r = http_get(prom_port, "/metrics");
        if (!r) return false;
        body = r->body;
        const auto written = [&](const char* node) {
            return sample_value(body,
                                series("cardano_tracer_node_trace_objects_written_total", node));
        };
        return written("relay-1") > 5 && written("relay-2") > 5 &&
               sample_value(body, "cardano_tracer_request_turnaround_seconds_count") > 5;
    }));
    for (const char* node : {"relay-1", "relay-2"}) {
        const auto received =
            sample_value(body, series("cardano_tracer_node_trace_objects_received_total", node));
        const auto written =
            sample_value(body, series("cardano_tracer_node_trace_objects_written_total", node));
        EXPECT_GT(received, 0) << node << "\n" << body;
        EXPECT_LE(written, received) << node;
        EXPECT_EQ(
            sample_value(body, series("cardano_tracer_node_trace_objects_dropped_total", node)), 0);
        EXPECT_EQ(
            sample_value(body, series("cardano_tracer_node_trace_objects_filtered_total", node)),
            0);
        EXPECT_GT(sample_value(body, series("cardano_tracer_node_bytes_written_total", node)), 0);
    }
    // Every reply brings at least one object (blocking requests), and there was at least one
    // reply per turnaround observed. A scrape reads these counters one after the other while
    // replies arrive, so each side is taken from a scrape no earlier than the other's: a
    // count that must stay below another is read first (a reply is counted before its
    // objects and before the turnaround that follows it).
    const auto later = http_get(prom_port, "/metrics");
    ASSERT_TRUE(later);
    EXPECT_GE(sample_value(later->body, "cardano_tracer_trace_replies_received_total"),
              sample_value(body, "cardano_tracer_request_turnaround_seconds_count"));
    EXPECT_LE(sample_value(body, "cardano_tracer_trace_replies_received_total"),
              sample_value(later->body, "cardano_tracer_trace_objects_received_total"));
    // Every output has its own counters and queue gauges; only FileMode sections here.
    EXPECT_GT(sample_value(body, "cardano_tracer_output_records_total{output=\"file\"}"), 5)
        << body;
    EXPECT_GT(sample_value(body, "cardano_tracer_output_bytes_total{output=\"file\"}"), 0);
    EXPECT_EQ(sample_value(body, "cardano_tracer_output_records_total{output=\"journal\"}"), 0);
    EXPECT_EQ(sample_value(body, "cardano_tracer_output_queue_capacity_bytes{output=\"file\"}"),
              4194304);
    EXPECT_GE(sample_value(body, "cardano_tracer_output_queued_bytes{output=\"file\"}"), 0);
    EXPECT_EQ(sample_value(body, "cardano_tracer_output_queue_full_total{output=\"journal\"}"), 0);
    EXPECT_EQ(sample_value(body, "cardano_tracer_output_records_lost_total{output=\"file\"}"), 0);
    EXPECT_EQ(promtool_errors("own", body), "");
    // Histogram: cumulative buckets end in +Inf = count.
    const auto count = sample_value(body, "cardano_tracer_request_turnaround_seconds_count");
    EXPECT_EQ(sample_value(body, "cardano_tracer_request_turnaround_seconds_bucket{le=\"+Inf\"}"),
              count);
    EXPECT_LE(sample_value(body, "cardano_tracer_request_turnaround_seconds_bucket{le=\"1e-05\"}"),
              sample_value(body, "cardano_tracer_request_turnaround_seconds_bucket{le=\"1\"}"));
    EXPECT_NE(body.find("# TYPE cardano_tracer_request_turnaround_seconds histogram"),
              std::string::npos);
}

TEST_F(MetricsEndpointTest, EkgRoutes) {
    start_all();
    auto tree = http_get(ekg_port, "/relay-2", {"Accept: application/json"});
    ASSERT_TRUE(tree);
    EXPECT_EQ(tree->status, 200);
    auto j = json::parse(tree->body);
    EXPECT_EQ(j["cardano"]["node"]["metrics"]["blockNum_int"]["type"], "g");
    EXPECT_EQ(j["ekg"]["server_timestamp_ms"]["type"], "c");
    auto one = http_get(ekg_port, "/relay-2/rts/gc/num_gcs", {"Accept: application/json"});
    EXPECT_EQ(json::parse(one->body)["type"], "c");
    EXPECT_EQ(http_get(ekg_port, "/relay-2/no/such", {"Accept: application/json"})->body,
              "\"Metric not found\"");
    auto page = http_get(ekg_port, "/relay-2", {"Accept: text/html"});
    EXPECT_NE(page->body.find("<title>EKG metrics</title>"), std::string::npos);
    EXPECT_EQ(http_get(ekg_port, "/ghost")->body, "Not found: \"ghost\"");
}

TEST_F(MetricsEndpointTest, NodeVanishesWhenItDisconnects) {
    start_all();
    nodes->signal(SIGTERM);
    ASSERT_TRUE(nodes->wait_exit(10s));
    EXPECT_TRUE(wait_until([&] { return http_get(prom_port, "/relay-1")->status == 404; }));
    EXPECT_EQ(http_get(prom_port, "/")->body, "{}");
}

TEST_F(MetricsEndpointTest, RealPrometheusDiscoversAndScrapesNodes) {
    if (!fs::exists("/usr/bin/prometheus")) GTEST_SKIP() << "Debian's prometheus is not installed";
    start_all();
    const auto port = free_tcp_port();
    write_file(dir / "prometheus.yml",
               "global:\n  scrape_interval: 1s\n"
               "scrape_configs:\n  - job_name: tracer\n    http_sd_configs:\n"
               "      - url: http://127.0.0.1:" +
                   std::to_string(prom_port) +
                   "/targets\n"
                   "        refresh_interval: 1s\n");
    child_process prom("/usr/bin/prometheus",
                       {"--config.file=prometheus.yml",
                        "--storage.tsdb.path=tsdb",
                        "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                       dir.path(),
                       "prometheus",
                       dir.path());
    std::set<std::string> names;
    std::string last;
    const bool scraped = wait_until(
        [&] {
            auto r = http_get(port, "/api/v1/query?query=cardano_node_metrics_blockNum_int");
            last = r ? r->headers + "\n\n" + r->body : "no answer";
            if (!r || r->status != 200) return false;
            names.clear();
            const auto reply = json::parse(r->body);  // keep it alive while iterating
            for (const auto& s : reply["data"]["result"])
                names.insert(s["metric"]["node_name"].get<std::string>());
            return names.size() == 2;
        },
        60s);
    EXPECT_TRUE(scraped) << last;
    EXPECT_EQ(names, (std::set<std::string>{"relay-1", "relay-2"}));
    auto counters = http_get(port, "/api/v1/query?query=rts_gc_num_gcs");
    EXPECT_EQ(json::parse(counters->body)["data"]["result"].size(), 2u) << counters->body;
    prom.signal(SIGTERM);
    prom.wait_exit(10s);
}

}  // namespace

namespace {

using namespace ct::test;

TEST_F(DaemonTest, HttpPortInUseAndMissingCertificateAreStartupErrors) {
    const auto port = free_tcp_port();
    // Something else holds the Prometheus port.
    child_process holder(CT_FORWARDER_EXE,
                         {"--accept", "127.0.0.1:" + std::to_string(port), "--count", "1"},
                         dir.path(),
                         "holder",
                         dir.path());
    ASSERT_TRUE(wait_for_port(port));
    const std::string base =
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
        "logging: [ { logRoot: logs, logMode: FileMode, logFormat: ForMachine } ]\n";
    write_file(
        dir / "busy.yaml",
        base + "hasPrometheus: { epHost: 127.0.0.1, epPort: " + std::to_string(port) + " }\n");
    child_process busy(tracer_exe, {"-c", "busy.yaml"}, dir.path(), "busy", dir.path());
    EXPECT_EQ(busy.wait_exit(10s), 2);
    EXPECT_NE(busy.stderr_text().find("hasPrometheus"), std::string::npos) << busy.stderr_text();

    const auto free_port = free_tcp_port();
    write_file(
        dir / "tls.yaml",
        base + "hasPrometheus: { epHost: 127.0.0.1, epPort: " + std::to_string(free_port) +
            ", epForceSSL: true }\n"
            "tlsCertificate: { certificateFile: missing.pem, certificateKeyFile: missing.key }\n");
    child_process tls(tracer_exe, {"-c", "tls.yaml"}, dir.path(), "tls", dir.path());
    EXPECT_EQ(tls.wait_exit(10s), 2);
    EXPECT_NE(tls.stderr_text().find("missing.pem"), std::string::npos) << tls.stderr_text();
}

TEST_F(DaemonTest, TlsServesWithCertificateChainAndFailsClosed) {
    ASSERT_TRUE(make_certificates(dir.path())) << read_file(dir / "openssl.out");
    const std::string endpoint =
        "hasPrometheus: { epHost: 127.0.0.1, epPort: 0, epForceSSL: true }\n";
    start_tracer(
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
        "logging: [ { logRoot: logs, logMode: FileMode, logFormat: ForMachine } ]\n" +
        endpoint +
        "tlsCertificate: { certificateFile: leaf.pem, certificateKeyFile: leaf.key,"
        " certificateChain: [ int.pem ] }\n");
    const auto port = bound_port("Tracer.StartedPrometheus");
    ASSERT_NE(port, 0);

    // A client that trusts only the CA verifies the server: the intermediate was sent.
    const auto curl = [&](const std::string& url, const std::string& out) {
        const std::string cmd = "curl -sS --max-time 10 --cacert '" + (dir / "ca.pem").string() +
                                "' -o '" + (dir / out).string() + "' -w '%{http_code}' '" + url +
                                "' > '" + (dir / (out + ".code")).string() + "' 2>&1";
        return std::system(cmd.c_str());
    };
    const std::string base = "https://127.0.0.1:" + std::to_string(port);
    EXPECT_EQ(curl(base + "/healthz", "healthz"), 0) << read_file(dir / "healthz.code");
    EXPECT_EQ(read_file(dir / "healthz.code"), "200");
    EXPECT_EQ(curl(base + "/metrics", "metrics"), 0) << read_file(dir / "metrics.code");
    EXPECT_NE(read_file(dir / "metrics").find("cardano_tracer_build_info"), std::string::npos);
    // Plain HTTP on the TLS port gets no answer.
    auto plain = http_get(port, "/healthz");
    EXPECT_TRUE(!plain || plain->status != 200);
    EXPECT_EQ(stop_tracer(), 0);

    // Fail closed: a key that does not belong to the certificate is a start-up error.
    write_file(dir / "bad.yaml",
               "networkMagic: 42\n"
               "network: { tag: AcceptAt, contents: \"tracer2.sock\" }\n"
               "logging: [ { logRoot: logs, logMode: FileMode, logFormat: ForMachine } ]\n" +
                   endpoint +
                   "tlsCertificate: { certificateFile: leaf.pem, certificateKeyFile: int.key }\n");
    child_process bad(tracer_exe, {"-c", "bad.yaml"}, dir.path(), "bad", dir.path());
    EXPECT_EQ(bad.wait_exit(10s), 2);
    EXPECT_NE(bad.stderr_text().find("int.key"), std::string::npos) << bad.stderr_text();
}

}  // namespace
