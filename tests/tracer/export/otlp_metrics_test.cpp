// OTLP metrics from text pages: families by kind, histogram buckets, the JSON mapping's text.
// (The integration test decodes the same requests with the OpenTelemetry project's code.)
#include "tracer/export/otlp_metrics.hpp"

#include <gtest/gtest.h>

namespace {

using namespace ct::tracer::exporting;

const std::string page =
    "# HELP up_total Things.\n"
    "# TYPE up_total counter\n"
    "up_total 3\n"
    "# TYPE temp gauge\n"
    "temp{room=\"a\"} 1.5\n"
    "temp{room=\"b\"} -2\n"
    "plain 7\n"
    "# TYPE lat histogram\n"
    "lat_bucket{le=\"0.1\"} 2\n"
    "lat_bucket{le=\"1\"} 5\n"
    "lat_bucket{le=\"+Inf\"} 6\n"
    "lat_sum 2.5\n"
    "lat_count 6\n";

TEST(OtlpMetrics, JsonMapsEachFamilyByKind) {
    otlp_metrics_options o;
    o.json = true;
    o.time_ns = 20;
    o.start_time_ns = 10;
    std::size_t points = 0;
    const auto body = encode_metrics_request({{{{"service.name", "x"}}, page}}, o, &points);
    EXPECT_EQ(points, 5u);
    EXPECT_EQ(
        body,
        R"({"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"x"}}]},)"
        R"("scopeMetrics":[{"scope":{"name":"cardano-tracer"},"metrics":[)"
        R"({"name":"up_total","description":"Things.","sum":{"dataPoints":[{"attributes":[],"startTimeUnixNano":"10","timeUnixNano":"20","asDouble":3}],"aggregationTemporality":2,"isMonotonic":true}},)"
        R"({"name":"temp","gauge":{"dataPoints":[{"attributes":[{"key":"room","value":{"stringValue":"a"}}],"timeUnixNano":"20","asDouble":1.5},)"
        R"({"attributes":[{"key":"room","value":{"stringValue":"b"}}],"timeUnixNano":"20","asDouble":-2}]}},)"
        R"({"name":"plain","gauge":{"dataPoints":[{"attributes":[],"timeUnixNano":"20","asDouble":7}]}},)"
        R"({"name":"lat","histogram":{"dataPoints":[{"attributes":[],"startTimeUnixNano":"10","timeUnixNano":"20","count":"6","sum":2.5,)"
        R"("bucketCounts":["2","3","1"],"explicitBounds":[0.1,1]}],"aggregationTemporality":2}}]}]}]})");
}

TEST(OtlpMetrics, ProtobufSumIsTheHandWorkedEncoding) {
    otlp_metrics_options o;
    o.time_ns = 2;
    o.start_time_ns = 1;
    const auto body = encode_metrics_request({{{}, "# TYPE c counter\nc 1\n"}}, o);
    // ResourceMetrics{resource{}, ScopeMetrics{scope{name}, Metric{name "c", sum{
    //   NumberDataPoint{start 1, time 2, as_double 1.0}, temporality 2, monotonic}}}}
    const std::string dp = std::string("\x11\x01\0\0\0\0\0\0\0", 9) +
                           std::string("\x19\x02\0\0\0\0\0\0\0", 9) +
                           std::string("\x21\0\0\0\0\0\0\xf0\x3f", 9);
    const std::string sum = "\x0a\x1b" + dp + "\x10\x02\x18\x01";
    const std::string metric = std::string("\x0a\x01") + "c" + "\x3a" + char(sum.size()) + sum;
    const std::string scope = std::string("\x0a\x0e") + "cardano-tracer";
    const std::string scope_metrics =
        "\x0a" + std::string(1, char(scope.size())) + scope + "\x12" + char(metric.size()) + metric;
    const std::string resource_metrics =
        std::string("\x0a\x00", 2) + "\x12" + char(scope_metrics.size()) + scope_metrics;
    EXPECT_EQ(body, "\x0a" + std::string(1, char(resource_metrics.size())) + resource_metrics);
}

}  // namespace
