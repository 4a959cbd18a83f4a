// The timeseries routes against spec timeseries §4 and §8.4: status codes, bodies, content
// types, upstream's parameter parsing, and the node list.
#include "tracer/timeseries/routes.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "tests/support/test_support.hpp"
#include "tracer/timeseries/aeson_number.hpp"

namespace {

using namespace ct::tracer::timeseries;
using ct::tracer::metrics::http_request;
using ct::tracer::metrics::http_response;
using ct::tracer::metrics::node_directory;

struct RoutesFixture : ::testing::Test {
    node_directory nodes;
    service svc{[] {
                    service_options o;
                    o.min_retention_ms = 1000;
                    return o;
                }(),
                nullptr};
    query_service queries{svc, {}};
    std::map<std::string, std::string> infos;
    std::map<std::pair<std::string, std::string>, std::string> points;
    route_context ctx{
        svc,
        queries,
        nodes,
        [this](const std::string& n) -> std::optional<std::string> {
            auto it = infos.find(n);
            if (it == infos.end()) return std::nullopt;
            return it->second;
        },
        [this](const std::string& n, const std::string& p) -> std::optional<std::string> {
            auto it = points.find({n, p});
            if (it == points.end()) return std::nullopt;
            return it->second;
        }};
    http_response call(const std::string& method,
                       const std::string& target,
                       const std::string& body = "") {
        http_request r;
        r.method = method;
        r.target = target;
        r.body = body;
        auto res = timeseries_route(r, ctx);
        if (!res.deferred) return res;
        // A query: answered from the query thread, as the HTTP server waits for it.
        std::promise<http_response> answer;
        res.deferred([&answer](http_response a) { answer.set_value(std::move(a)); });
        return answer.get_future().get();
    }
};

TEST_F(RoutesFixture, ConfigRoutesAsUpstream) {
    auto r = call("GET", "/timeseries/config/retention");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, R"({"retentionMillis":86400000})");
    r = call("POST", "/timeseries/config/retention?hours=2");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.content_type, "");
    EXPECT_EQ(svc.retention_ms(), 7'200'000u);
    r = call("POST", "/timeseries/config/retention?milliseconds=10");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.body, "Malformed input");
    EXPECT_EQ(r.content_type, "text/plain;charset=utf-8");
    EXPECT_EQ(call("POST", "/timeseries/config/retention?hours=two").status, 404u);
    // The first valid item wins; invalid ones are skipped; ';' separates items too.
    EXPECT_EQ(call("POST", "/timeseries/config/retention?x=1;minutes=-1&seconds=5&hours=1").status,
              200u);
    EXPECT_EQ(svc.retention_ms(), 5000u);

    EXPECT_EQ(call("POST", "/timeseries/config/pruning").status, 200u);
    EXPECT_EQ(call("GET", "/timeseries/config/pruning").body, R"({"pruningPeriodMillis":null})");
    EXPECT_EQ(call("POST", "/timeseries/config/pruning?minutes=5").status, 200u);
    EXPECT_EQ(call("GET", "/timeseries/config/pruning").body, R"({"pruningPeriodMillis":300000})");
    EXPECT_EQ(call("POST", "/timeseries/config/pruning?seconds=0").status, 400u);
    EXPECT_EQ(call("POST", "/timeseries/prune").status, 200u);
    // Unknown paths and methods: 404 with an empty body.
    for (const auto& [m, t] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/timeseries/prune"},
                                                          {"PUT", "/timeseries/config/retention"},
                                                          {"GET", "/timeseries/query/"},
                                                          {"GET", "/timeseries"},
                                                          {"GET", "/other"}}) {
        const auto nf = call(m, t);
        EXPECT_EQ(nf.status, 404u) << m << " " << t;
        EXPECT_EQ(nf.body, "");
    }
}

TEST_F(RoutesFixture, QueryNeedsAQueryParameter) {
    EXPECT_EQ(call("GET", "/timeseries/query").body, "Malformed input");
    EXPECT_EQ(call("POST", "/timeseries/query", "time=5").status, 400u);
    // The Grafana plugin's connection test posts an empty query and accepts a 400.
    const auto r = call("POST", "/timeseries/query", "query=");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.content_type, "application/json");
    const auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["status"], "error");
    EXPECT_EQ(j["errorType"], "parse");
    EXPECT_TRUE(j["error"].is_string());
}

TEST_F(RoutesFixture, QueriesAreAnsweredWithTheirTimeParameterAndUpstreamsQueryParsing) {
    svc.submit("alpha", {{"blocks", 7}});
    svc.flush();
    const auto t = svc.now_ms();
    // GET with the URL query, `time` in seconds; '+' is a space, ';' must be escaped.
    const auto seconds = std::to_string(t / 1000 + 1) + ".25";
    auto r = call("GET", "/timeseries/query?query=blocks+now&time=" + seconds);
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_NE(r.body.find(R"("metric":{"node_name":"alpha"})"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(R"("7.0"])"), std::string::npos) << r.body;
    // An invalid time is ignored (the clock is used); POST takes the form body.
    r = call("POST", "/timeseries/query?ignored=1", "query=to_scalar%20now&time=abc");
    EXPECT_EQ(r.status, 200u) << r.body;
    // Epoch-relative times, as the Grafana plugin writes them.
    r = call("POST", "/timeseries/query", "query=epoch%20%2B%201500ms&time=1");
    EXPECT_EQ(r.body, R"({"data":{"result":1.5,"resultType":"timestamp"},"status":"success"})");
    // Invalid UTF-8 in the text is read leniently and reported where it stands.
    r = call("POST", "/timeseries/query", "query=%FFx");
    EXPECT_EQ(r.status, 400u);
    EXPECT_NE(r.body.find("unexpected \\\"\ufffdx\\\""), std::string::npos) << r.body;
}

TEST_F(RoutesFixture, NodesAreListedWithUpstreamsSlugsAndInfo) {
    nodes.add(1);
    nodes.set_name(1, "alpha");
    nodes.add(2);
    nodes.set_name(2, "Node_1");
    nodes.add(3);  // not named yet: not listed
    auto r = call("GET", "/timeseries/nodes");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body,
              R"([{"nodeName":"Node_1","slug":"node-1"},{"nodeName":"alpha","slug":"alpha"}])");
    infos["alpha"] =
        R"({"niName":"alpha","niProtocol":"Cardano","niVersion":"10.5.0","niCommit":"0a21a743",)"
        R"("niStartTime":"2023-11-14T22:00:00Z","niSystemStartTime":"2022-10-25T00:00:00Z"})";
    r = call("GET", "/timeseries/node/alpha/info");
    ASSERT_EQ(r.status, 200u);
    const auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["niName"], "alpha");
    EXPECT_GT(j["uptimeSeconds"].get<std::int64_t>(), 90'000'000);
    EXPECT_EQ(r.body.rfind(R"({"niCommit":"0a21a743","niName":"alpha","niProtocol":"Cardano",)", 0),
              0u)
        << "keys in order";
    EXPECT_EQ(call("GET", "/timeseries/node/node-1/info").status, 404u) << "no NodeInfo";
    EXPECT_EQ(call("GET", "/timeseries/node/gamma/info").status, 404u);
}

TEST_F(RoutesFixture, StartupAndSyncProgressFromTheNodesDataPoints) {
    nodes.add(1);
    nodes.set_name(1, "alpha");
    EXPECT_EQ(call("GET", "/timeseries/node/alpha/startup").status, 404u) << "not received";
    EXPECT_EQ(call("GET", "/timeseries/node/alpha/sync-progress").status, 404u);
    points[{"alpha", "NodeStartupInfo"}] =
        R"({"suiSlotsPerKESPeriod":129600,"suiEra":"Conway","suiSlotLength":1,)"
        R"("suiEpochLength":432000})";
    points[{"alpha", "NodeAddBlock"}] = R"({"tag":"NodeAddBlock","contents":[1,2,99.5]})";
    auto r = call("GET", "/timeseries/node/alpha/startup");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body,
              R"({"suiEpochLength":432000,"suiEra":"Conway","suiSlotLength":1,)"
              R"("suiSlotsPerKESPeriod":129600})");
    r = call("GET", "/timeseries/node/alpha/sync-progress");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, R"({"syncProgress":99.5})");
    points[{"alpha", "NodeAddBlock"}] = R"({"tag":"Other","contents":[1,2,3]})";
    EXPECT_EQ(call("GET", "/timeseries/node/alpha/sync-progress").status, 404u);
    points[{"alpha", "NodeStartupInfo"}] = R"({"suiEra":"Conway"})";
    EXPECT_EQ(call("GET", "/timeseries/node/alpha/startup").status, 404u) << "undecodable";
}

TEST(TimeseriesJson, NumbersAsAesonWritesThem) {
    // spec timeseries §6.4, every example
    const std::vector<std::pair<double, std::string>> cases{
        {21.0, "21"},
        {0.5, "0.5"},
        {0.1, "0.1"},
        {0.01, "1.0e-2"},
        {0.001, "1.0e-3"},
        {12.333333333333334, "12.333333333333334"},
        {12345678.5, "1.23456785e7"},
        {1e22, "10000000000000000000000"},
        {1700000030.0, "1700000030"},
        {1700000029.5, "1.7000000295e9"},
        {1700000030.123, "1.700000030123e9"},
        {-2.5, "-2.5"},
        {0.0, "0"},
        {-0.0, "0"},
        {std::nan(""), "null"},
        {HUGE_VAL, "\"+inf\""},
        {-HUGE_VAL, "\"-inf\""}};
    for (const auto& [x, text] : cases) EXPECT_EQ(aeson_number(x), text) << x;
}

TEST(TimeseriesParams, ParseQueryAsHttpTypes) {
    const auto q = parse_query("?query=m%5Bnow-1m%3Bnow%5D+%2B+1&time;x=a=b&&y=%zz");
    ASSERT_EQ(q.size(), 4u);
    EXPECT_EQ(q[0].first, "query");
    EXPECT_EQ(q[0].second, "m[now-1m;now] + 1");
    EXPECT_EQ(q[1].first, "time");
    EXPECT_EQ(q[1].second, std::nullopt);
    EXPECT_EQ(q[2].second, "a=b");
    EXPECT_EQ(q[3].second, "%zz") << "a malformed escape is kept";
}

TEST(TimeseriesParams, SlugsAsSlugify) {
    EXPECT_EQ(slugify("node_1"), "node-1");
    EXPECT_EQ(slugify("Node_1"), "node-1");
    EXPECT_EQ(slugify("--a  b__c--"), "a-b-c");
    EXPECT_EQ(slugify("relay.1"), "relay1");
}

}  // namespace

namespace {

TEST(QueryService, AFullQueueRefusesAndStopAnswersEveryQueryOnce) {
    using namespace ct::tracer::timeseries;
    service_options o;
    o.clock_ms = [] { return std::uint64_t{1'700'000'000'000}; };
    service svc(o, nullptr);
    svc.submit("alpha", {{"blocks", 1}});
    svc.flush();
    query::query_limits limits;
    limits.max_steps = std::numeric_limits<std::uint64_t>::max();
    limits.max_points = std::numeric_limits<std::uint64_t>::max();
    limits.max_time = std::chrono::minutes(5);
    query_service queries(svc, limits, 1);
    std::mutex m;
    std::vector<query::query_response> answers(3);
    std::vector<int> calls(3, 0);
    auto answer_to = [&](int i) {
        return [&, i](query::query_response r) {
            std::lock_guard lock(m);
            answers[static_cast<std::size_t>(i)] = std::move(r);
            ++calls[static_cast<std::size_t>(i)];
        };
    };
    // Runs for minutes unless stopped: ~1.7 * 10^12 one-millisecond samples.
    queries.submit("blocks[epoch + 300000ms; now : 1ms]", 1'700'000'000'000, answer_to(0));
    // Running (taken off the queue): the next one waits, the one after finds the queue full.
    ASSERT_TRUE(ct::test::wait_until([&] {
        const auto c = queries.counters();
        return c.in_progress == 1 && c.waiting == 0;
    }));
    queries.submit("1", 0, answer_to(1));
    queries.submit("2", 0, answer_to(2));
    {
        std::lock_guard lock(m);
        EXPECT_EQ(calls[2], 1);
        EXPECT_EQ(answers[2].status, 503);
        EXPECT_NE(answers[2].body.find("too many"), std::string::npos) << answers[2].body;
    }
    const auto t0 = std::chrono::steady_clock::now();
    queries.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    std::lock_guard lock(m);
    EXPECT_EQ(calls, (std::vector<int>{1, 1, 1}));
    EXPECT_EQ(answers[0].status, 400);
    EXPECT_NE(answers[0].body.find("stopping"), std::string::npos) << answers[0].body;
    EXPECT_EQ(answers[1].status, 503);
    EXPECT_NE(answers[1].body.find("stopping"), std::string::npos) << answers[1].body;
    EXPECT_EQ(queries.counters().refused, 2u);
}

}  // namespace
