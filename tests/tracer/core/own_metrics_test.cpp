// The daemon's own metrics: what /metrics appends, checked by the real promtool.
#include "tracer/core/own_metrics.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "tests/support/test_support.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/core/text_exposition.hpp"
#include "tracer/core/traffic_stats.hpp"
#include "tracer/outputs/output_router.hpp"

namespace {

using namespace ct::tracer;
using namespace std::chrono_literals;

struct OwnMetrics : ::testing::Test {
    session_counters sessions;
    traffic_registry traffic;
    latency_histogram turnaround;
    reload_counters reloads;
    outputs::output_router writer{outputs::writer_options{}};
    own_metrics own{sessions, traffic, turnaround, writer, reloads};
};

TEST_F(OwnMetrics, PerNodeSeriesAndHistogramsPassPromtool) {
    auto relay = traffic.for_node("relay \"1\"");  // a name that needs label escaping
    relay->received += 42;
    relay->filtered += 2;
    sessions.trace_objects_received += 42;
    sessions.connections_active += 1;
    turnaround.observe(30us);
    turnaround.observe(3ms);
    own.observe_http_request(200us);
    const auto text = own.render();

    EXPECT_NE(text.find("cardano_tracer_node_trace_objects_received_total{node_name=\"relay "
                        "\\\"1\\\"\"} 42"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("cardano_tracer_node_trace_objects_filtered_total{node_name=\"relay "
                        "\\\"1\\\"\"} 2"),
              std::string::npos);
    EXPECT_NE(text.find("cardano_tracer_connected_nodes 1"), std::string::npos);
    EXPECT_NE(text.find("cardano_tracer_request_turnaround_seconds_count 2"), std::string::npos);
    EXPECT_NE(text.find("cardano_tracer_request_turnaround_seconds_bucket{le=\"5e-05\"} 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("cardano_tracer_http_request_duration_seconds_count 1"), std::string::npos);

    ct::test::temp_dir d;
    ct::test::write_file(d / "own.prom", text);
    const std::string cmd = std::string(CT_PROMTOOL) + " check metrics < " +
                            (d / "own.prom").string() + " > " + (d / "out").string() + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << ct::test::read_file(d / "out");
}

TEST_F(OwnMetrics, CountersFollowTheLiveValues) {
    sessions.handshakes_refused += 3;
    EXPECT_NE(own.render().find("cardano_tracer_handshakes_refused_total 3"), std::string::npos);
    sessions.handshakes_refused += 1;
    EXPECT_NE(own.render().find("cardano_tracer_handshakes_refused_total 4"), std::string::npos);
    sessions.batches_received += 5;
    EXPECT_NE(own.render().find("cardano_tracer_trace_replies_received_total 5"),
              std::string::npos);
}

// The text writer that replaced prometheus-cpp's TextSerializer: every family type, escapes,
// a histogram whose buckets stop short of +Inf, and timestamps; byte for byte, and promtool
// accepts it.
TEST(TextExposition, EveryTypeEscapedAndComplete) {
    using prometheus::ClientMetric;
    using prometheus::MetricFamily;
    using prometheus::MetricType;
    std::vector<MetricFamily> families;
    ClientMetric c;
    c.label = {{"node_name", "a \"b\"\\c\nd"}, {"kind", "x"}};
    c.counter.value = 42;
    families.push_back({"t_total", "Help with \\ and\na newline.", MetricType::Counter, {c}});
    ClientMetric g;
    g.gauge.value = 0.25;
    g.timestamp_ms = 1700000000123;
    families.push_back({"t_level", "", MetricType::Gauge, {g}});  // no HELP line
    ClientMetric h;
    h.histogram.sample_count = 3;
    h.histogram.sample_sum = 1.5;
    h.histogram.bucket = {{1, 0.001}, {2, 1}};
    families.push_back({"t_seconds", "Latency.", MetricType::Histogram, {h}});
    ClientMetric q;
    q.summary.sample_count = 4;
    q.summary.sample_sum = 8;
    q.summary.quantile = {{0.5, 2}, {0.99, 3.5}};
    families.push_back({"t_quantiles", "S.", MetricType::Summary, {q}});
    ClientMetric u;
    u.untyped.value = -1e300;
    families.push_back({"t_untyped", "U.", MetricType::Untyped, {u}});
    const auto text = write_text_exposition(families);
    EXPECT_EQ(text,
              "# HELP t_total Help with \\\\ and\\na newline.\n"
              "# TYPE t_total counter\n"
              "t_total{node_name=\"a \\\"b\\\"\\\\c\\nd\",kind=\"x\"} 42\n"
              "# TYPE t_level gauge\n"
              "t_level 0.25 1700000000123\n"
              "# HELP t_seconds Latency.\n"
              "# TYPE t_seconds histogram\n"
              "t_seconds_bucket{le=\"0.001\"} 1\n"
              "t_seconds_bucket{le=\"1\"} 2\n"
              "t_seconds_bucket{le=\"+Inf\"} 3\n"
              "t_seconds_sum 1.5\n"
              "t_seconds_count 3\n"
              "# HELP t_quantiles S.\n"
              "# TYPE t_quantiles summary\n"
              "t_quantiles{quantile=\"0.5\"} 2\n"
              "t_quantiles{quantile=\"0.99\"} 3.5\n"
              "t_quantiles_sum 8\n"
              "t_quantiles_count 4\n"
              "# HELP t_untyped U.\n"
              "# TYPE t_untyped untyped\n"
              "t_untyped -1e+300\n");
    ct::test::temp_dir d;
    ct::test::write_file(d / "t.prom", text);
    const std::string cmd = std::string(CT_PROMTOOL) + " check metrics < " +
                            (d / "t.prom").string() + " > " + (d / "out").string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    // Its lint may only miss the HELP line left out on purpose (exit 3); a syntax error is 1.
    EXPECT_TRUE(rc == 0 || WEXITSTATUS(rc) == 3) << ct::test::read_file(d / "out");
    EXPECT_EQ(ct::test::read_file(d / "out"), WEXITSTATUS(rc) == 3 ? "t_level no help text\n" : "");
}

}  // namespace
