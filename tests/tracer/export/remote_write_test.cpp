// Prometheus remote write: samples read from text-format pages, the WriteRequest's protobuf
// bytes against a vector worked out from the protobuf encoding rules, snappy, and URLs. The
// real receiver (Prometheus) decodes it in the integration suite.
#include "tracer/export/remote_write.hpp"

#include <gtest/gtest.h>
#include <snappy.h>

#include <cmath>

#include "tracer/export/http_client.hpp"

namespace {

using namespace ct::tracer::exporting;

std::string hex(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

TEST(RemoteWrite, SamplesOfAPageWithTheirLabels) {
    const std::string page =
        "# HELP cardano_node_metrics_blockNum_int Block number.\n"
        "# TYPE cardano_node_metrics_blockNum_int gauge\n"
        "cardano_node_metrics_blockNum_int 42\n"
        "cardano_node_metrics_cardano_build_info{version=\"10.5.1\",q=\"a\\\"b\\\\c\\nd\"} 1\n"
        "rts_gc_num_gcs{node_name=\"kept\"} 1.5e3\n"
        "x_inf +Inf\n"
        "x_nan NaN\n"
        "broken{ 1\n"
        "# EOF\n";
    std::vector<sample> out;
    append_samples(page, {{"node_name", "relay-1"}, {"cluster", "bench"}}, out);
    ASSERT_EQ(out.size(), 5u);
    EXPECT_EQ(out[0].series,
              (labels{{"__name__", "cardano_node_metrics_blockNum_int"},
                      {"cluster", "bench"},
                      {"node_name", "relay-1"}}));
    EXPECT_EQ(out[0].value, 42);
    EXPECT_EQ(out[1].series,
              (labels{{"__name__", "cardano_node_metrics_cardano_build_info"},
                      {"cluster", "bench"},
                      {"node_name", "relay-1"},
                      {"q", "a\"b\\c\nd"},
                      {"version", "10.5.1"}}));
    // A label the page has already is kept as the page has it.
    EXPECT_EQ(out[2].series[2], (std::pair<std::string, std::string>{"node_name", "kept"}));
    EXPECT_EQ(out[2].value, 1500);
    EXPECT_TRUE(std::isinf(out[3].value));
    EXPECT_TRUE(std::isnan(out[4].value));
}

TEST(RemoteWrite, WriteRequestBytes) {
    // WriteRequest{ timeseries: [ { labels: [__name__=up, node_name=a],
    //                               samples: [ { value: 1.5, timestamp: 1700000000000 } ] } ] }
    const std::vector<sample> one{{{{"__name__", "up"}, {"node_name", "a"}}, 1.5}};
    EXPECT_EQ(hex(encode_write_request(one, 1'700'000'000'000)),
              "0a320a0e0a085f5f6e616d655f5f120275700a0e0a096e6f64655f6e616d65120161121009000000"
              "000000f83f1080d095ffbc31");
    EXPECT_EQ(encode_write_request({}, 0), "");
}

TEST(RemoteWrite, SnappyBlockFormatRoundTrip) {
    std::string raw;
    for (int i = 0; i < 1000; ++i) raw += "cardano_node_metrics_series" + std::to_string(i % 7);
    const auto packed = snappy_compress(raw);
    EXPECT_LT(packed.size(), raw.size() / 4);
    std::string back;
    ASSERT_TRUE(snappy::Uncompress(packed.data(), packed.size(), &back));
    EXPECT_EQ(back, raw);
}

TEST(RemoteWrite, Urls) {
    auto u = parse_http_url("http://prometheus:9090/api/v1/write");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "prometheus");
    EXPECT_EQ(u->port, 9090);
    EXPECT_EQ(u->path, "/api/v1/write");
    EXPECT_EQ(u->basic_auth, "");
    u = parse_http_url("http://user:secret@10.0.0.1/push");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->port, 80);
    EXPECT_EQ(u->basic_auth, "dXNlcjpzZWNyZXQ=");  // never shown:
    EXPECT_EQ(u->shown, "http://10.0.0.1/push");
    u = parse_http_url("http://[::1]:8428/api/v1/write");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 8428);
    u = parse_http_url("https://user:pw@mimir.example/api/v1/push");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->tls);
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->shown, "https://mimir.example/api/v1/push");
    EXPECT_FALSE(parse_http_url("ftp://x/"));
    EXPECT_FALSE(parse_http_url("http://:80/"));
    EXPECT_FALSE(parse_http_url("http://host:99999/"));
}

TEST(RemoteWrite, AnUnreachableReceiverIsAnErrorNotAHang) {
    const auto u = parse_http_url("http://127.0.0.1:1/api/v1/write");
    ASSERT_TRUE(u);
    const auto a = http_post(*u, {}, "x", std::chrono::milliseconds(2000));
    EXPECT_EQ(a.status, 0);
    EXPECT_NE(a.error.find("cannot connect"), std::string::npos) << a.error;
}

}  // namespace
