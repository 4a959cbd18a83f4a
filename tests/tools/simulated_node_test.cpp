// The simulated node's replay mode (the benchmark generator): replies decode as the protocol
// says, every object carries its own seq as a JSON number, and apart from that field the
// objects are the pooled ones, byte for byte.
#include "tools/trace_forwarder/simulated_node.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "protocol/sdu.hpp"
#include "protocol/trace_objects_codec.hpp"

namespace ct::forwarder {
namespace {

// The options of a replaying node; generate() then makes its objects (seq 1 onwards).
node_options replaying(std::string name, std::size_t pool, std::size_t queue_size) {
    node_options o;
    o.name = std::move(name);
    o.replay = true;
    o.replay_pool = pool;
    o.queue_size = queue_size;
    return o;
}

void generate(simulated_node& node, int generated) {
    for (int i = 0; i < generated; ++i) node.generate_one();
}

TEST(SimulatedNodeReplay, RepliesCarryPatchedSequenceNumbersAsJsonNumbers) {
    simulated_node node(replaying("replayed", 4, 1000));
    generate(node, 130);
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
    simulated_node node(replaying("n", node_options{}.replay_pool, 10));
    generate(node, 25);
    EXPECT_EQ(node.overflow_drops(), 20u);
    EXPECT_EQ(node.queued(), 5u);
}

TEST(SimulatedNodeReplay, TheStartupObjectGoesFirstAndTheSentLogNamesEveryObjectInOrder) {
    auto o = replaying("n", 3, 1000);
    o.tracer_config_info = R"({"TraceOptions":{}})";
    simulated_node node(o);
    std::ostringstream log;
    node.set_sent_log(&log);
    generate(node, 5);
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

// The generator's gathered reply (sent without a copy) is framed as the copied one: SDUs of
// 12,288 bytes but the last, headers with the reply's protocol and direction, a payload that
// decodes to the next objects in order; for replies of several SDUs, of one, and of none.
TEST(SimulatedNodeReplay, AGatheredReplyIsFramedAsTheCopiedReply) {
    simulated_node node(replaying("gathered", 64, 1000));
    generate(node, 130);
    simulated_node::gathered_reply g;
    protocol::trace_objects_reply_decoder dec;
    std::vector<protocol::trace_object_view> objects;
    std::uint64_t next_seq = 1;
    for (const std::size_t n : {60, 1, 64, 10, 100}) {
        const bool from_responder = n % 2 == 0;
        ASSERT_TRUE(node.take_gathered_reply(n, from_responder, g)) << n;
        std::string sent;
        for (auto part : g.parts) sent.append(part);
        std::string payload;
        std::vector<std::size_t> lengths;
        for (std::size_t at = 0; at < sent.size();) {
            ASSERT_GE(sent.size() - at, protocol::sdu_header_size);
            const auto h = protocol::decode_sdu_header(sent.data() + at);
            EXPECT_EQ(h.protocol, protocol::mini_protocol::trace_objects);
            EXPECT_EQ(h.from_responder, from_responder);
            at += protocol::sdu_header_size;
            ASSERT_LE(at + h.length, sent.size());
            payload.append(sent, at, h.length);
            lengths.push_back(h.length);
            at += h.length;
        }
        std::string reframed;
        protocol::append_sdus(
            reframed, protocol::mini_protocol::trace_objects, from_responder, payload, 0);
        EXPECT_EQ(sent, reframed) << n;  // every SDU full but the last
        if (n == 60) {
            EXPECT_GE(lengths.size(), 2u);
        }
        ASSERT_FALSE(dec.decode(payload, objects)) << n;
        const std::size_t want = std::min<std::size_t>(n, 130 - (next_seq - 1));
        ASSERT_EQ(objects.size(), want) << n;
        for (const auto& obj : objects) {
            EXPECT_EQ(nlohmann::json::parse(obj.machine)["data"]["seq"], next_seq);
            ++next_seq;
        }
    }
    EXPECT_EQ(node.sent(), 130u);
    // Nothing queued: an empty reply, `[3, []]`, in one SDU.
    ASSERT_TRUE(node.take_gathered_reply(100, true, g));
    std::string sent;
    for (auto part : g.parts) sent.append(part);
    std::string want;
    protocol::append_sdus(want, protocol::mini_protocol::trace_objects, true, "\x82\x03\x80", 0);
    EXPECT_EQ(sent, want);
}

TEST(SimulatedNodeReplay, AReplyThatWouldUseAPoolEntryTwiceIsNotGathered) {
    simulated_node node(replaying("n", 8, 100));
    generate(node, 20);
    simulated_node::gathered_reply g;
    EXPECT_FALSE(node.take_gathered_reply(9, false, g));
    EXPECT_EQ(node.queued(), 20u);  // nothing taken
    EXPECT_TRUE(node.take_gathered_reply(8, false, g));
    EXPECT_EQ(node.queued(), 12u);
}

}  // namespace
}  // namespace ct::forwarder
