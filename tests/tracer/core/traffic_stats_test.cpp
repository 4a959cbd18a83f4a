// Per-node traffic counters and the lock-free latency histogram.
#include "tracer/core/traffic_stats.hpp"

#include <gtest/gtest.h>

namespace {

using namespace ct::tracer;
using namespace std::chrono_literals;

TEST(TrafficRegistry, OneCounterSetPerNameAcrossReconnections) {
    traffic_registry r;
    auto a = r.for_node("relay-1");
    a->received += 5;
    a.reset();  // the session ended
    auto again = r.for_node("relay-1");
    again->received += 2;
    r.for_node("bp")->dropped += 1;
    const auto snap = r.snapshot();
    ASSERT_EQ(snap.size(), 2u);
    EXPECT_EQ(snap.at("relay-1").received, 7u);
    EXPECT_EQ(snap.at("bp").dropped, 1u);
}

TEST(TrafficRegistry, ForgetsOnlyNamesWithoutALiveSessionWhenFull) {
    traffic_registry r(3);
    auto live = r.for_node("live");
    r.for_node("gone-1");
    r.for_node("gone-2");
    auto fresh = r.for_node("new");  // over the cap: the two gone names are forgotten
    const auto snap = r.snapshot();
    EXPECT_EQ(snap.size(), 2u);
    EXPECT_TRUE(snap.contains("live"));
    EXPECT_TRUE(snap.contains("new"));
}

TEST(LatencyHistogram, BucketsAreCumulativeWithInclusiveUpperBounds) {
    latency_histogram h;
    h.observe(10us);    // exactly the first bound: le="1e-05"
    h.observe(11us);    // next bucket (2.5e-05)
    h.observe(1500us);  // le="0.0025"
    h.observe(5s);      // only +Inf
    h.observe(-3us);    // clock oddity: counted as 0
    const auto t = h.snapshot();
    EXPECT_EQ(t.count, 5u);
    EXPECT_EQ(t.cumulative[0], 2u);  // 10 µs and the clamped negative one
    EXPECT_EQ(t.cumulative[1], 3u);
    EXPECT_EQ(t.cumulative[7], 4u);                                     // 2.5 ms
    EXPECT_EQ(t.cumulative[latency_histogram::bounds.size() - 1], 4u);  // 1 s
    EXPECT_EQ(t.cumulative.back(), 5u);                                 // +Inf
    EXPECT_NEAR(t.sum_seconds, 10e-6 + 11e-6 + 1.5e-3 + 5.0, 1e-9);
}

}  // namespace
