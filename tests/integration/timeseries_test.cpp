// hasTimeseries on the real daemon: simulated nodes' EKG values reach the store (counted in
// the daemon's own metrics), and the routes answer over HTTP as cardano-tracer 0.5.0's do.
#include <csignal>
#include <nlohmann/json.hpp>

#include "tests/integration/daemon_fixture.hpp"

namespace {

using namespace ct::test;
using nlohmann::json;

struct TimeseriesTest : DaemonTest {
    unsigned short prom_port = 0, ts_port = 0;
    std::unique_ptr<child_process> nodes;

    void TearDown() override {
        if (nodes) nodes->signal(SIGTERM);
        DaemonTest::TearDown();
    }
    double own_metric(const std::string& name) {
        auto r = http_get(prom_port, "/metrics");
        if (!r) return -1;
        for (const auto& line : split_lines(r->body)) {
            if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
        }
        return -1;
    }
};

TEST_F(TimeseriesTest, NodesEkgValuesAreStoredAndTheRoutesAnswer) {
    start_tracer(
        "networkMagic: 42\n"
        "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
        "logging: [ { logRoot: logs, logMode: FileMode, logFormat: ForMachine } ]\n"
        "hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n"
        "hasTimeseries: { epHost: 127.0.0.1, epPort: 0 }\n"
        "ekgRequestFreq: 0.2\n");
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    prom_port = bound_port("Tracer.StartedPrometheus");
    ts_port = bound_port("Tracer.StartedTimeseriers");  // upstream's spelling
    ASSERT_NE(prom_port, 0);
    ASSERT_NE(ts_port, 0);
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
        auto r = http_get(ts_port, "/timeseries/nodes");
        return r && r->status == 200 && r->body.find("relay-2") != std::string::npos;
    }));
    const auto listed = json::parse(http_get(ts_port, "/timeseries/nodes")->body);
    EXPECT_EQ(listed, json::parse(R"([{"nodeName":"relay-1","slug":"relay-1"},
                                      {"nodeName":"relay-2","slug":"relay-2"}])"));
    // Values arrive with every EKG response (every 0.2 s): the store grows.
    ASSERT_TRUE(wait_until([&] { return own_metric("cardano_tracer_timeseries_points") > 24; }));
    // 12 metrics per node, of which the numeric ones (labels holding text are not kept).
    EXPECT_GE(own_metric("cardano_tracer_timeseries_series"), 20);
    EXPECT_EQ(own_metric("cardano_tracer_timeseries_points_refused_total"), 0);

    // NodeInfo of a node, with its uptime.
    auto info = http_get(ts_port, "/timeseries/node/relay-1/info");
    ASSERT_TRUE(info);
    ASSERT_EQ(info->status, 200) << info->body;
    EXPECT_NE(info->headers.find("Content-Type: application/json"), std::string::npos);
    EXPECT_EQ(json::parse(info->body)["niName"], "relay-1");
    EXPECT_EQ(http_get(ts_port, "/timeseries/node/nobody/info")->status, 404);
    // Startup and sync progress come from data points the daemon asks every few seconds.
    ASSERT_TRUE(wait_until(
        [&] { return http_get(ts_port, "/timeseries/node/relay-2/sync-progress")->status == 200; },
        std::chrono::seconds(15)));
    EXPECT_EQ(http_get(ts_port, "/timeseries/node/relay-2/sync-progress")->body,
              R"({"syncProgress":99.87})");
    EXPECT_EQ(http_get(ts_port, "/timeseries/node/relay-2/startup")->body,
              R"({"suiEpochLength":432000,"suiEra":"Conway","suiSlotLength":1,)"
              R"("suiSlotsPerKESPeriod":129600})");

    // Run-time settings, as upstream: a retention under ekgRequestFreq is refused.
    EXPECT_EQ(http_get(ts_port, "/timeseries/config/retention")->body,
              R"({"retentionMillis":86400000})");
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/config/retention?milliseconds=100")->status,
              400);
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/config/retention?minutes=30")->status, 200);
    EXPECT_EQ(http_get(ts_port, "/timeseries/config/retention")->body,
              R"({"retentionMillis":1800000})");
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/config/pruning")->status, 200);
    EXPECT_EQ(http_get(ts_port, "/timeseries/config/pruning")->body,
              R"({"pruningPeriodMillis":null})");
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/prune")->status, 200);
    EXPECT_EQ(http_get(ts_port, "/timeseries/prune")->status, 404);
    // A retention of one second: automatic pruning is off now (as upstream, no valid item
    // disables it), so nothing goes until a prune is asked for; then only the last second or
    // so stays.
    const double before = own_metric("cardano_tracer_timeseries_points");
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/config/retention?seconds=1")->status, 200);
    EXPECT_EQ(own_metric("cardano_tracer_timeseries_points_pruned_total"), 0);
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/prune")->status, 200);
    EXPECT_GT(own_metric("cardano_tracer_timeseries_points_pruned_total"), 0);
    EXPECT_LT(own_metric("cardano_tracer_timeseries_points"), before);
    // With a period again, pruning follows on its own.
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/config/pruning?milliseconds=200")->status,
              200);
    const double pruned = own_metric("cardano_tracer_timeseries_points_pruned_total");
    ASSERT_TRUE(wait_until(
        [&] { return own_metric("cardano_tracer_timeseries_points_pruned_total") > pruned; }));

    // The query route needs its parameter; the Grafana plugin's connection test gets a 400.
    EXPECT_EQ(http_get(ts_port, "/timeseries/query")->body, "Malformed input");
    auto q = http_call(ts_port,
                       "POST",
                       "/timeseries/query",
                       "query=",
                       {"Content-Type: application/x-www-form-urlencoded"});
    ASSERT_TRUE(q);
    EXPECT_EQ(q->status, 400);
    EXPECT_EQ(json::parse(q->body)["status"], "error");
}

}  // namespace
