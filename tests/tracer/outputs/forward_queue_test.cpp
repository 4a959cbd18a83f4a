// The re-forwarder's queue: per-stream order and bound (the oldest go, counted), objects put
// back in front, waiters woken once, new streams announced; and the re-forward output that
// fills it from routed batches.
#include "tracer/outputs/forward_queue.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "dispatcher/routing.hpp"
#include "protocol/trace_objects_codec.hpp"
#include "tracer/outputs/reforward_output.hpp"

namespace ct::tracer::outputs {
namespace {

std::vector<std::string> items(std::initializer_list<const char*> xs) {
    return std::vector<std::string>(xs.begin(), xs.end());
}

TEST(ForwardQueue, KeepsOrderPerStreamAndDropsTheOldestWhenFull) {
    forward_queue q(3);
    q.push("a", items({"1", "2"}));
    q.push("b", items({"x"}));
    q.push("a", items({"3", "4", "5"}));
    EXPECT_EQ(q.dropped(), 2u);  // "1" and "2"
    EXPECT_EQ(q.queued(), 4u);
    std::vector<std::string> out;
    EXPECT_EQ(q.take("a", 2, out), 2u);
    EXPECT_EQ(out, items({"3", "4"}));
    // A reply that could not be written goes back in front, in its order.
    q.put_back("a", std::move(out));
    out.clear();
    EXPECT_EQ(q.take("a", 10, out), 3u);
    EXPECT_EQ(out, items({"3", "4", "5"}));
    out.clear();
    EXPECT_EQ(q.take("b", 10, out), 1u);
    EXPECT_EQ(q.take("missing", 10, out), 0u);
    // A smaller capacity trims at once.
    q.push("a", items({"6", "7", "8"}));
    q.set_capacity(1);
    EXPECT_EQ(q.queued(), 1u);
    EXPECT_EQ(q.dropped(), 4u);
}

TEST(ForwardQueue, WakesWaitersOfTheirStreamOnceAndAnnouncesNewStreams) {
    forward_queue q(10);
    std::vector<std::string> announced;
    q.set_stream_listener([&](const std::string& s) { announced.push_back(s); });
    int woken_a = 0, woken_b = 0, cancelled = 0;
    q.when_available("a", [&] { ++woken_a; });
    q.when_available("b", [&] { ++woken_b; });
    const auto token = q.when_available("a", [&] { ++cancelled; });
    q.cancel_wait(token);
    q.push("a", items({"1"}));
    q.push("a", items({"2"}));
    EXPECT_EQ(woken_a, 1);
    EXPECT_EQ(woken_b, 0);
    EXPECT_EQ(cancelled, 0);
    // Objects are there: woken at once, no registration.
    EXPECT_EQ(q.when_available("a", [&] { ++woken_a; }), 0u);
    EXPECT_EQ(woken_a, 2);
    q.push("b", items({"x"}));
    EXPECT_EQ(woken_b, 1);
    EXPECT_EQ(announced, items({"a", "b"}));
}

TEST(ForwardQueue, ConcurrentProducerAndConsumerLoseNothing) {
    forward_queue q(1000000);
    constexpr int n = 20000;
    std::thread producer([&] {
        for (int i = 0; i < n; ++i) q.push("s", {std::to_string(i)});
    });
    std::vector<std::string> got;
    while (got.size() < static_cast<std::size_t>(n)) q.take("s", 100, got);
    producer.join();
    for (int i = 0; i < n; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i)], std::to_string(i));
}

struct null_events final : output_events {
    void space_available() override {}
    void report(const std::string&) override {}
    void count_node(const std::string&, std::uint64_t, std::uint64_t) override {}
};

// The output takes exactly the records routed to the re-forwarder's section, encoded as the
// protocol's TraceObjects, per node with perNode.
TEST(ReforwardOutput, QueuesTheRecordsOfItsSectionEncoded) {
    config::tracer_config cfg;
    config::logging_params files;
    files.log_root = "/logs";
    cfg.logging.push_back(files);
    config::forwarding_config f;
    f.prefixes = std::vector<std::vector<std::string>>{{"ChainDB"}};
    cfg.has_forwarding = f;
    auto routing = dispatcher::routing::build(cfg);
    ASSERT_EQ(routing->sections().size(), 2u);
    EXPECT_EQ(routing->sections()[1].mode, config::log_mode::forward_mode);

    auto queue = std::make_shared<forward_queue>(100);
    auto per_node = std::make_shared<std::atomic<bool>>(true);
    null_events events;
    writer_options opts;
    reforward_output out(opts, events, queue, per_node);
    EXPECT_TRUE(out.serves(routing->sections()[1]));
    EXPECT_FALSE(out.serves(routing->sections()[0]));
    out.start();

    trace_batch b;
    b.node_name = "relay";
    b.routing = routing;
    protocol::trace_object_view v;
    v.machine = "{\"a\":1}";
    v.ns = "ChainDB.AddBlock";
    v.host = "h";
    v.thread = "7";
    v.detail = protocol::detail_level::maximum;
    b.add(v, 0b11);
    v.ns = "Mempool.Add";
    b.add(v, 0b01);  // only the file section
    const auto bytes = queued_size(b);
    ASSERT_TRUE(out.try_reserve(1, bytes));
    out.push(std::make_shared<const delivery>(std::move(b), nullptr), bytes);
    out.begin_stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    out.join();

    std::vector<std::string> got;
    ASSERT_EQ(queue->take("relay", 10, got), 1u);
    std::vector<std::string_view> parts{got[0]};
    const auto reply = protocol::encode_trace_objects_reply_from_encoded(parts);
    protocol::trace_objects_reply_decoder dec;
    std::vector<protocol::trace_object_view> decoded;
    ASSERT_FALSE(dec.decode(reply, decoded));
    ASSERT_EQ(decoded.size(), 1u);
    EXPECT_EQ(decoded[0].ns, "ChainDB.AddBlock");
    EXPECT_EQ(decoded[0].machine, "{\"a\":1}");
    EXPECT_EQ(decoded[0].detail, protocol::detail_level::maximum);
}

}  // namespace
}  // namespace ct::tracer::outputs
