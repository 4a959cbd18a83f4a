// The daemon's own metrics: what /metrics appends, checked by the real promtool.
#include "tracer/core/own_metrics.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/support/test_support.hpp"
#include "tracer/core/session_context.hpp"
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
}

}  // namespace
