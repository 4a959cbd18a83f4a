// The simulated node's replay mode (the benchmark generator): replies decode as the protocol
// says, every object carries its own seq as a JSON number, and apart from that field the
// objects are the pooled ones, byte for byte.
#include "tools/trace_forwarder/simulated_node.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "protocol/trace_objects_codec.hpp"

namespace ct::forwarder {
namespace {

TEST(SimulatedNodeReplay, RepliesCarryPatchedSequenceNumbersAsJsonNumbers) {
    node_options o;
    o.name = "replayed";
    o.replay = true;
    o.replay_pool = 4;
    o.queue_size = 1000;
    simulated_node node(o);
    for (int i = 0; i < 130; ++i) node.generate_one();
    protocol::trace_objects_reply_decoder dec;
    std::vector<protocol::trace_object_view> objects;

    const auto first = node.take_reply(100);
    ASSERT_FALSE(dec.decode(first, objects));
    ASSERT_EQ(objects.size(), 100u);
    std::vector<std::string> machine_of_pool_entry(4);
    for (std::size_t i = 0; i < objects.size(); ++i) {
        const auto j = nlohmann::json::parse(objects[i].machine);
        EXPECT_EQ(j["data"]["seq"].get<std::uint64_t>(), i + 1);
        EXPECT_EQ(j["data"]["node"], "replayed");
        EXPECT_EQ(j["ns"], objects[i].ns);
        // Apart from the seq field, object n is pool entry n % 4.
        std::string without_seq(objects[i].machine);
        const auto at = without_seq.find("\"seq\":");
        without_seq.erase(at, 6 + simulated_node::replay_seq_width);
        auto& seen = machine_of_pool_entry[(i + 1) % 4];
        if (seen.empty()) seen = without_seq;
        EXPECT_EQ(without_seq, seen) << i;
    }
    // The next reply goes on where the first stopped; seq 100 and beyond have more digits.
    const auto second = node.take_reply(100);
    ASSERT_FALSE(dec.decode(second, objects));
    ASSERT_EQ(objects.size(), 30u);
    EXPECT_EQ(nlohmann::json::parse(objects[0].machine)["data"]["seq"], 101);
    EXPECT_EQ(nlohmann::json::parse(objects[29].machine)["data"]["seq"], 130);
    EXPECT_EQ(node.sent(), 130u);
    EXPECT_EQ(node.last_sent_seq(), 130u);
}

TEST(SimulatedNodeReplay, OverflowDropsTheWholeQueueAsTheNodeDoes) {
    node_options o;
    o.name = "n";
    o.replay = true;
    o.queue_size = 10;
    simulated_node node(o);
    for (int i = 0; i < 25; ++i) node.generate_one();
    EXPECT_EQ(node.overflow_drops(), 20u);
    EXPECT_EQ(node.queued(), 5u);
}

TEST(SimulatedNodeReplay, TheStartupObjectGoesFirstAndTheSentLogNamesEveryObjectInOrder) {
    node_options o;
    o.name = "n";
    o.replay = true;
    o.replay_pool = 3;
    o.queue_size = 1000;
    o.tracer_config_info = R"({"TraceOptions":{}})";
    simulated_node node(o);
    std::ostringstream log;
    node.set_sent_log(&log);
    for (int i = 0; i < 5; ++i) node.generate_one();
    EXPECT_EQ(node.queued(), 6u);
    protocol::trace_objects_reply_decoder dec;
    std::vector<protocol::trace_object_view> objects;
    // A reply that ends inside the replayed objects, then one that takes the rest.
    for (const std::size_t n : {std::size_t{4}, std::size_t{10}}) {
        const auto reply = node.take_reply(n);
        ASSERT_FALSE(dec.decode(reply, objects));
    }
    EXPECT_EQ(node.queued(), 0u);
    EXPECT_EQ(node.sent(), 6u);
    EXPECT_EQ(node.first_sent_seq(), 0u);
    EXPECT_EQ(node.last_sent_seq(), 5u);
    std::istringstream lines(log.str());
    std::string name, ns, sev;
    std::uint64_t seq = 0;
    ASSERT_TRUE(lines >> name >> seq >> ns >> sev);
    EXPECT_EQ(seq, 0u);
    EXPECT_EQ(ns, "Reflection.TracerConfigInfo");
    for (std::uint64_t want = 1; want <= 5; ++want) {
        ASSERT_TRUE(lines >> name >> seq >> ns >> sev) << want;
        EXPECT_EQ(seq, want);
        EXPECT_NE(ns, "Reflection.TracerConfigInfo");
    }
    EXPECT_FALSE(lines >> name);
}

}  // namespace
}  // namespace ct::forwarder
