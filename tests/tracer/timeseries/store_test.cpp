// The timeseries store against spec timeseries §3: what a lookup sees (the 5-minute window with
// its exclusive lower bound, the earliest of equal timestamps, the small-time quirk), pruning
// that keeps names, the caps, bytes per point, and the ingestion helpers.
#include "tracer/timeseries/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <map>

#include "tracer/timeseries/service.hpp"

namespace {

using namespace ct::tracer::timeseries;

label_set node(const std::string& name) { return {{"node_name", name}}; }

constexpr std::uint64_t B = 1'700'000'000'000;

// Spec §8.1's store.
store example() {
    store s;
    s.insert(node("alpha"), B, {{"blocks", 10}});
    s.insert(node("beta"), B, {{"blocks", 20}});
    s.insert(node("alpha"), B + 15000, {{"blocks", 12}});
    s.insert(node("alpha"), B + 30000, {{"blocks", 15}, {"mem", 1024}});
    s.insert(node("beta"), B + 30000, {{"blocks", 21}, {"mem", 2048}});
    return s;
}

std::vector<std::pair<std::string, double>> values(const std::vector<instant_sample>& v) {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& x : v) out.emplace_back((*x.labels)[0].second, x.value);
    return out;
}

using pairs = std::vector<std::pair<std::string, double>>;

TEST(TimeseriesStore, InstantLookupTakesTheLatestPointOfEachSeriesInTheWindow) {
    const auto s = example();
    EXPECT_EQ(values(s.instant("blocks", B + 30000)), (pairs{{"alpha", 15}, {"beta", 21}}));
    EXPECT_EQ(values(s.instant("blocks", B + 29999)), (pairs{{"alpha", 12}, {"beta", 20}}));
    EXPECT_EQ(values(s.instant("mem", B + 29999)), pairs{});
    EXPECT_EQ(values(s.instant("nothing", B + 30000)), pairs{});
    // The window is (t - 5 min, t]: a point exactly 5 minutes old is out.
    EXPECT_EQ(values(s.instant("mem", B + 30000 + lookback_ms - 1)),
              (pairs{{"alpha", 1024}, {"beta", 2048}}));
    EXPECT_EQ(values(s.instant("mem", B + 30000 + lookback_ms)), pairs{});
    // Upstream's unsigned wrap-around: nothing is seen before 5 minutes after the epoch.
    store early;
    early.insert(node("a"), 1000, {{"m", 1}});
    EXPECT_TRUE(early.instant("m", 2000).empty());
}

TEST(TimeseriesStore, EqualTimestampsResolveToTheEarliestInsertedEvenAfterAClockStep) {
    store s;
    s.insert(node("a"), B + 10, {{"m", 1}});
    s.insert(node("a"), B + 10, {{"m", 2}});  // same ms: kept, but not what lookups see
    s.insert(node("a"), B + 20, {{"m", 3}});
    s.insert(node("a"), B + 5, {{"m", 4}});  // the clock stepped back
    s.insert(node("a"), B + 10, {{"m", 5}});
    EXPECT_EQ(values(s.instant("m", B + 10)), (pairs{{"a", 1}}));
    EXPECT_EQ(values(s.instant("m", B + 7)), (pairs{{"a", 4}}));
    EXPECT_EQ(values(s.instant("m", B + 25)), (pairs{{"a", 3}}));
    EXPECT_EQ(s.point_count(), 5u);
}

// Inserts look first at the series a batch position went to last time; batches in another
// order, shorter or longer, from several nodes, must still reach their own series.
TEST(TimeseriesStore, BatchesInAnyOrderReachTheirSeries) {
    store s;
    std::map<std::pair<std::string, std::string>, double> expected;
    std::uint64_t state = 11;
    for (int round = 0; round < 60; ++round) {
        const std::string n = round % 3 == 0 ? "a" : "b";
        std::vector<std::pair<std::string, double>> batch;
        const std::size_t count = 1 + static_cast<std::size_t>(round) % 9;
        for (std::size_t k = 0; k < count; ++k) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            const auto name = "m" + std::to_string((state >> 33) % 8);
            bool seen = false;
            for (const auto& [b, v] : batch) seen = seen || b == name;
            if (seen) continue;  // one value per name and batch
            const double value = round * 100.0 + static_cast<double>(k);
            batch.emplace_back(name, value);
            expected[{name, n}] = value;
        }
        s.insert(node(n), B + static_cast<std::uint64_t>(round), batch);
        for (const auto& [key, value] : expected) {
            const auto got = s.instant(key.first, B + static_cast<std::uint64_t>(round));
            bool found = false;
            for (const auto& x : got) {
                if ((*x.labels)[0].second != key.second) continue;
                found = true;
                ASSERT_EQ(x.value, value) << key.first << " " << key.second << " round " << round;
            }
            ASSERT_TRUE(found);
        }
    }
}

TEST(TimeseriesStore, TruncationKeepsMetricNames) {
    auto s = example();
    EXPECT_EQ(s.truncate(B + 15000), 2u);  // the two points at B
    EXPECT_EQ(s.point_count(), 5u);
    EXPECT_EQ(s.truncate(B + 60000), 5u);
    EXPECT_EQ(s.point_count(), 0u);
    EXPECT_EQ(s.metric_names(), (std::vector<std::string>{"blocks", "mem"}));
    EXPECT_TRUE(s.has_metric("mem"));
    EXPECT_EQ(s.series_count(), 4u);
}

TEST(TimeseriesStore, CapsRefuseAndCountNeverExceed) {
    store s({/*max_series=*/3, /*max_points=*/100, /*max_points_per_node=*/5});
    auto r = s.insert(node("a"), B, {{"x", 1}, {"y", 2}, {"z", 3}, {"w", 4}});
    EXPECT_EQ(r.inserted, 3u);
    EXPECT_EQ(r.refused_series, 1u);
    EXPECT_EQ(s.series_count(), 3u);
    r = s.insert(node("a"), B + 1, {{"x", 1}, {"y", 2}, {"z", 3}});
    EXPECT_EQ(r.inserted, 2u) << "5 points per node";
    EXPECT_EQ(r.refused_points, 1u);
    s.truncate(B + 1);  // frees the node's first three points
    r = s.insert(node("a"), B + 2, {{"x", 1}});
    EXPECT_EQ(r.inserted, 1u);
    EXPECT_EQ(s.point_count(), 3u);
}

TEST(TimeseriesStore, TwelveBytesAPointAndTheirBlocks) {
    store s;
    const std::size_t n = 36000;  // 10 series x 1 h at 1 s
    for (std::size_t i = 0; i < n; ++i)
        s.insert(node("a"), B + i / 10 * 1000, {{"m" + std::to_string(i % 10), 1.0}});
    const double per_point = static_cast<double>(s.point_bytes()) / static_cast<double>(n);
    EXPECT_GE(per_point, 12.0);
    EXPECT_LE(per_point, 13.0) << per_point;
}

TEST(TimeseriesStore, PointColumnRebasesAndWidensWithoutLosingOrder) {
    point_column c;
    const std::uint64_t day = 86'400'000;
    c.insert(B, 1);
    c.insert(B + 1000, 2);
    EXPECT_FALSE(c.wide());
    // The clock steps back before the base: rebased, still in order, equal times in order.
    c.insert(B - 5000, 0);
    c.insert(B + 1000, 3);
    ASSERT_EQ(c.size(), 4u);
    EXPECT_EQ(c.ts(0), B - 5000);
    EXPECT_EQ(c.ts(1), B);
    EXPECT_EQ(c.ts(2), B + 1000);
    EXPECT_EQ(c.value(2), 2);
    EXPECT_EQ(c.value(3), 3);
    EXPECT_FALSE(c.wide());
    // Past the 32-bit range of the base (49.7 days), with the old points pruned: rebased onto
    // the first point, still 32-bit.
    const std::uint64_t span = 4'294'967'295;
    c.erase_front(3);
    c.insert(B - 5000 + span + 1000, 4);
    EXPECT_FALSE(c.wide());
    EXPECT_EQ(c.ts(0), B + 1000);
    EXPECT_EQ(c.ts(1), B - 5000 + span + 1000);
    // A span the offsets cannot hold: 64-bit times from now on.
    c.insert(B + 1000 + span + 1, 5);
    EXPECT_TRUE(c.wide());
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c.ts(0), B + 1000);
    EXPECT_EQ(c.ts(1), B - 5000 + span + 1000);
    EXPECT_EQ(c.ts(2), B + 1000 + span + 1);
    EXPECT_EQ(c.value(2), 5);
    EXPECT_EQ(c.upper_bound(B + 1000), 1u);
    EXPECT_EQ(c.lower_bound(B + 1000 + span + 1, c.size()), 2u);
    (void)day;
    // Emptied, it starts over with offsets.
    c.erase_front(3);
    c.insert(B, 6);
    EXPECT_FALSE(c.wide());
    EXPECT_EQ(c.ts(0), B);
}

TEST(TimeseriesIngest, MetricNamesAreSanitisedAsUpstream) {
    EXPECT_EQ(sanitise_metric_name("cardano.node.metrics.Forge.node-is-leader"),
              "cardano_node_metrics_Forge_node_is_leader");
    EXPECT_EQ(sanitise_metric_name("a/b"), "ab");
    EXPECT_EQ(sanitise_metric_name("\xe2\x82\xac"), "");
    EXPECT_EQ(sanitise_metric_name("x y"), "x_y");
}

TEST(TimeseriesIngest, ReadDoubleFollowsDataTextRead) {
    EXPECT_EQ(read_double("5"), 5.0);
    EXPECT_EQ(read_double("-2.5"), -2.5);
    EXPECT_EQ(read_double("+1e3"), 1000.0);
    EXPECT_EQ(read_double("4.95e-2"), 4.95 * (1.0 / 100.0));  // Haskell: n * 10^^(-2)
    EXPECT_EQ(read_double("1E2"), 100.0);
    EXPECT_EQ(read_double("0.1"), 0.1);
    // Not the whole text, or not the grammar: refused.
    for (const char* bad :
         {"", "5.", ".5", "1e", "1e+", "NaN", "Infinity", "1.5x", " 1", "1 ", "--1", "0x10", "1,5"})
        EXPECT_FALSE(read_double(bad)) << bad;
    // Exponents beyond a double's range saturate as Haskell's (^^) does.
    EXPECT_EQ(read_double("1e400"), std::numeric_limits<double>::infinity());
    EXPECT_EQ(read_double("1e-400"), 0.0);
    // Not strtod: the fraction is added after a correctly rounded division, as upstream.
    EXPECT_EQ(*read_double("123.456"), 123.0 + 456.0 / 1000.0);
}

TEST(TimeseriesService, SubmittedBatchesReachTheStoreAndSettingsFollowTheRoutes) {
    std::vector<std::string> reports;
    std::atomic<std::uint64_t> now{B};
    service_options o;
    o.limits = {10, 1000, 1000};
    o.min_retention_ms = 1000;
    o.clock_ms = [&] { return now.load(); };
    service svc(o, [&](const std::string& what) { reports.push_back(what); });
    EXPECT_EQ(svc.retention_ms(), 86'400'000u);
    EXPECT_EQ(svc.pruning_period_ms(), std::optional<std::uint64_t>(900'000));
    svc.submit("alpha", {{"blocks", 10}, {"mem", 1024}});
    svc.flush();
    const auto got = svc.read([&](const store& s) { return values(s.instant("mem", B)); });
    EXPECT_EQ(got, (pairs{{"alpha", 1024}}));
    EXPECT_FALSE(svc.set_retention(999)) << "below ekgRequestFreq";
    EXPECT_TRUE(svc.set_retention(1000));
    svc.set_pruning(std::nullopt);
    EXPECT_EQ(svc.pruning_period_ms(), std::nullopt);
    // Over the series cap: refused, counted, reported once.
    std::vector<std::pair<std::string, double>> many;
    for (int i = 0; i < 20; ++i) many.emplace_back("m" + std::to_string(i), i);
    svc.submit("alpha", many);
    svc.submit("alpha", many);
    svc.flush();
    // blocks and mem hold 2 of the 10 series: m0..m7 fit, m8..m19 are refused, twice.
    EXPECT_EQ(svc.counters().series_refused, 2u * 12);
    EXPECT_EQ(reports.size(), 1u);
    // A reload raises the caps: new series fit again.
    svc.set_limits({30, 1000, 1000});
    svc.submit("alpha", many);
    svc.flush();
    EXPECT_EQ(svc.read([](const store& s) { return s.series_count(); }), 22u);
    // A retention of one second, a second later, and a prune: everything older goes, names
    // stay.
    now = B + 1001;
    svc.prune_now();
    EXPECT_EQ(svc.read([](const store& s) { return s.point_count(); }), 0u);
    EXPECT_TRUE(svc.read([](const store& s) { return s.has_metric("blocks"); }));
}

}  // namespace
