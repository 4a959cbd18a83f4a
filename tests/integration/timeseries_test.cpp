// hasTimeseries on the real daemon: simulated nodes' EKG values reach the store (counted in
// the daemon's own metrics), and the routes answer over HTTP as cardano-tracer 0.5.0's do.
#include <cctype>
#include <csignal>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

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
    // The daemon with Prometheus and timeseries endpoints (EKG every 0.2 s) and two named
    // simulated nodes sending 12 metrics each.
    void start_with_nodes(const std::string& extra_yaml = "") {
        start_tracer(
            "networkMagic: 42\n"
            "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
            "logging: [ { logRoot: logs, logMode: FileMode, logFormat: ForMachine } ]\n"
            "hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n"
            "hasTimeseries: { epHost: 127.0.0.1, epPort: 0 }\n"
            "ekgRequestFreq: 0.2\n" +
            // Queries run at SCHED_IDLE: on a loaded test machine even a small one may wait
            // seconds for a free core, so its wall-time bound is long unless a test sets it.
            (extra_yaml.find("timeseriesQueryTimeoutSecs") == std::string::npos
                 ? std::string("timeseriesQueryTimeoutSecs: 60\n")
                 : std::string()) +
            extra_yaml);
        ASSERT_TRUE(wait_for_socket("tracer.sock"));
        prom_port = bound_port("Tracer.StartedPrometheus");
        ts_port = bound_port("Tracer.StartedTimeseriers");  // upstream's spelling
        ASSERT_NE(prom_port, 0);
        ASSERT_NE(ts_port, 0);
        nodes = run_named_nodes(2, "relay", 20, 12);
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
    start_with_nodes();
    ASSERT_FALSE(HasFatalFailure());
    // Both nodes, each under its NodeInfo name: on a loaded machine one of them may still be
    // on its way (the listing is checked whole, not only for the second node's name).
    const auto both = json::parse(R"([{"nodeName":"relay-1","slug":"relay-1"},
                                      {"nodeName":"relay-2","slug":"relay-2"}])");
    std::string listed;
    EXPECT_TRUE(wait_until([&] {
        auto r = http_get(ts_port, "/timeseries/nodes");
        if (!r || r->status != 200) return false;
        listed = r->body;
        return json::parse(listed, nullptr, false) == both;
    })) << listed;
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

// URLSearchParams' encoding (the Grafana plugin's body): space as '+', the rest of what is not
// unreserved as %XY.
std::string form_encode(const std::string& s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : s) {
        if (std::isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
            out.push_back(static_cast<char>(c));
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            out += '%';
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

// The value of an unlabelled-by-other-means series of one node in a Prometheus page.
double exposed_value(const std::string& page, const std::string& metric) {
    for (const auto& line : split_lines(page)) {
        if (line.rfind(metric, 0) == 0 && line.size() > metric.size() &&
            (line[metric.size()] == ' ' || line[metric.size()] == '{'))
            return std::stod(line.substr(line.rfind(' ') + 1));
    }
    return -1;
}

TEST_F(TimeseriesTest, QueriesOverHttpReturnTheStoredValuesAsTheGrafanaPluginAsksForThem) {
    start_with_nodes();
    ASSERT_FALSE(HasFatalFailure());
    const std::string counter = "cardano_node_metrics_served_header_counter";
    auto query = [&](const std::string& text) {
        return http_call(ts_port,
                         "POST",
                         "/timeseries/query",
                         "query=" + form_encode(text),
                         {"Content-Type: application/x-www-form-urlencoded"});
    };
    // Three seconds of values for both nodes.
    ASSERT_TRUE(wait_until(
        [&] {
            auto r = query(counter + "[now - 3s; now : 500ms]");
            if (!r || r->status != 200) return false;
            const auto j = json::parse(r->body)["data"]["result"];
            return j.size() == 2 && j[0]["values"].size() == 7 && j[1]["values"].size() == 7;
        },
        std::chrono::seconds(15)));

    // An instant lookup agrees with the node's own page around it (a counter only grows).
    const double before = exposed_value(http_get(prom_port, "/relay-1")->body, counter);
    auto r = query("(" + counter + " now){\"node_name\" = \"relay-1\"}");
    const double after = exposed_value(http_get(prom_port, "/relay-1")->body, counter);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_NE(r->headers.find("Content-Type: application/json"), std::string::npos);
    auto j = json::parse(r->body);
    EXPECT_EQ(j["status"], "success");
    EXPECT_EQ(j["data"]["resultType"], "vector");
    ASSERT_EQ(j["data"]["result"].size(), 1u) << r->body;
    EXPECT_EQ(j["data"]["result"][0]["metric"], json::parse(R"({"node_name":"relay-1"})"));
    const double stored = std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
    EXPECT_GE(stored, before - 15) << "within a few EKG rounds of the page";  // 3 per tick
    EXPECT_LE(stored, after);
    EXPECT_GT(before, 0);

    // The plugin's timeseries request: $__from/$__to replaced by epoch-relative times, the
    // interval by Grafana's, form-encoded, no `time` (the server's clock is now).
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::string grafana = counter + "[epoch + " + std::to_string(now_ms - 3000) +
                                "ms; epoch + " + std::to_string(now_ms) + "ms : 500ms]";
    r = query(grafana);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    j = json::parse(r->body)["data"];
    EXPECT_EQ(j["resultType"], "matrix");
    ASSERT_EQ(j["result"].size(), 2u);
    // Descending label order (upstream's transpose); what the plugin reads: labels for the
    // legend, [seconds, "value"] pairs it multiplies by 1000 and parseFloats.
    EXPECT_EQ(j["result"][0]["metric"]["node_name"], "relay-2");
    EXPECT_EQ(j["result"][1]["metric"]["node_name"], "relay-1");
    for (const auto& series : j["result"]) {
        ASSERT_GE(series["values"].size(), 5u) << series;
        double last = -1;
        for (const auto& point : series["values"]) {
            ASSERT_TRUE(point[0].is_number()) << point;
            const double v = std::stod(point[1].get<std::string>());
            EXPECT_GE(v, last);  // a counter
            last = v;
        }
    }
    // The same through GET with the URL query and an explicit time.
    auto g = http_get(ts_port,
                      "/timeseries/query?query=" + form_encode("metrics") +
                          "&time=" + std::to_string(now_ms / 1000));
    ASSERT_TRUE(g);
    EXPECT_EQ(g->status, 200);
    EXPECT_NE(g->body.find("\"result\":\"" + counter + "\""), std::string::npos) << g->body;
    // Errors are 400 with the error class the plugin shows.
    r = query("rate " + counter);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(json::parse(r->body)["errorType"], "bad_data");
    // Retention changes what a query sees: after a 1 s retention and a prune, a range over
    // the last minute holds at most a couple of seconds of samples.
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/config/retention?seconds=1")->status, 200);
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/config/pruning")->status, 200);
    EXPECT_EQ(http_call(ts_port, "POST", "/timeseries/prune")->status, 200);
    r = query(counter + "[now - 60s; now : 1s]");
    ASSERT_EQ(r->status, 200);
    const auto kept = json::parse(r->body);
    for (const auto& series : kept["data"]["result"])
        EXPECT_LE(series["values"].size(), 4u) << series;
    EXPECT_GT(own_metric("cardano_tracer_timeseries_queries_answered_total"), 3);
    EXPECT_GT(own_metric("cardano_tracer_timeseries_queries_failed_total"), 0);
}

TEST_F(TimeseriesTest, AHeavyQueryHoldsUpNoScrapeAndEndsAtItsBoundOrAtShutdown) {
    start_with_nodes(
        "timeseriesQueryMaxPoints: 100000000000\n"
        "timeseriesQueryMaxSteps: 100000000000\n"
        "timeseriesQueryTimeoutSecs: 2\n");
    ASSERT_FALSE(HasFatalFailure());
    const std::string counter = "cardano_node_metrics_served_header_counter";
    ASSERT_TRUE(wait_until([&] {
        auto r = http_call(ts_port, "POST", "/timeseries/query", "query=" + counter + "+now");
        return r && r->status == 200;
    }));
    // 1.8 G one-millisecond steps: minutes of work on any machine (18 M took under 2 s on a
    // fast one).
    const std::string heavy = "query=" + form_encode(counter + "[now - 500h; now : 1ms]");
    using clock = std::chrono::steady_clock;
    clock::time_point heavy_done{}, scrapes_done{};
    std::optional<http_reply> heavy_reply;
    std::thread client([&] {
        heavy_reply = http_call(ts_port, "POST", "/timeseries/query", heavy);
        heavy_done = clock::now();
    });
    // While it runs, the same HTTP server answers other routes at once.
    ASSERT_TRUE(wait_until([&] {
        return own_metric("cardano_tracer_timeseries_query_seconds_total") >= 0 &&
               heavy_done == clock::time_point{};
    }));
    for (int i = 0; i < 5; ++i) {
        auto nodes_page = http_get(ts_port, "/timeseries/nodes");
        ASSERT_TRUE(nodes_page);
        EXPECT_EQ(nodes_page->status, 200);
        auto page = http_get(prom_port, "/relay-1");
        ASSERT_TRUE(page);
        EXPECT_EQ(page->status, 200);
    }
    scrapes_done = clock::now();
    client.join();
    ASSERT_TRUE(heavy_reply);
    EXPECT_EQ(heavy_reply->status, 400) << heavy_reply->body;
    EXPECT_NE(heavy_reply->body.find("timeseriesQueryTimeoutSecs"), std::string::npos)
        << heavy_reply->body;
    EXPECT_LT(scrapes_done, heavy_done) << "scrapes waited for the query";

    // A reload gives queries a minute; then SIGTERM while a heavy query runs: the query is
    // stopped and the daemon exits cleanly at once.
    auto yaml = read_file(dir / "tracer.yaml");
    yaml.replace(yaml.find("TimeoutSecs: 2"), 14, "TimeoutSecs: 60");
    write_file(dir / "tracer.yaml", yaml);
    tracer->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return !messages("Tracer.ConfigReloaded").empty(); }));
    std::thread second(
        [&] { heavy_reply = http_call(ts_port, "POST", "/timeseries/query", heavy); });
    ASSERT_TRUE(wait_until(
        [&] { return own_metric("cardano_tracer_timeseries_queries_in_progress") == 1; }));
    const auto t0 = clock::now();
    EXPECT_EQ(stop_tracer(), 0);
    EXPECT_LT(clock::now() - t0, std::chrono::seconds(5));
    second.join();
}

}  // namespace
