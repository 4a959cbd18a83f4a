// SDU framing and the demuxer: spec §9 SDUs, segmentation, reassembly at every boundary,
// interleaving, and every kind of framing error.
#include <gtest/gtest.h>

#include "protocol/demuxer.hpp"
#include "protocol/sdu.hpp"
#include "protocol/trace_objects_codec.hpp"
#include "test_hex.hpp"

namespace {

using namespace ct::protocol;
using ct::test::hex;
using ct::test::unhex;

TEST(Sdu, HeaderMatchesSpecExamples) {
    // §9.1: node -> tracer propose (M=0), tracer -> node accept (M=1).
    std::string out;
    append_sdus(out, 0, false, unhex("8200a1011a2d964a09"), 0x1234abcd);
    EXPECT_EQ(hex(out), "1234abcd000000098200a1011a2d964a09");
    out.clear();
    append_sdus(out, 0, true, unhex("8301011a2d964a09"), 0x1234ac31);
    EXPECT_EQ(hex(out), "1234ac31800000088301011a2d964a09");
    out.clear();
    append_sdus(out, 2, true, unhex("8301f582001864"), 0x1234acf9);
    EXPECT_EQ(hex(out),
              "1234acf980020007"
              "8301f582001864");

    auto h = decode_sdu_header(unhex("1234ac9580010004").data());
    EXPECT_EQ(h.timestamp_us, 0x1234ac95u);
    EXPECT_TRUE(h.from_responder);
    EXPECT_EQ(h.protocol, 1);
    EXPECT_EQ(h.length, 4);
}

TEST(Sdu, SegmentsLargeMessagesAt12288) {
    std::string payload(30000, 'x');
    std::string out;
    append_sdus(out, 2, false, payload, 0);
    ASSERT_EQ(out.size(), 30000u + 3 * 8);
    EXPECT_EQ(hex(out.substr(4, 4)), "00023000");
    EXPECT_EQ(hex(out.substr(8 + 12288 + 4, 4)), "00023000");
    EXPECT_EQ(hex(out.substr(2 * (8 + 12288) + 4, 4)), "00021530");
    std::string none;
    append_sdus(none, 2, false, "", 0);
    EXPECT_TRUE(none.empty());
}

TEST(Sdu, StreamedPiecesEqualOneSegmentedMessage) {
    // Pieces of every size, straddling SDU boundaries, give the same bytes as append_sdus.
    std::string payload;
    for (int i = 0; i < 40000; ++i) payload.push_back(static_cast<char>('a' + i % 26));
    for (std::size_t max : {1u, 7u, 12288u, 65535u}) {
        for (std::size_t piece : {1u, 5u, 999u, 12288u, 40000u}) {
            std::string expected = "prefix", streamed = "prefix";
            append_sdus(expected, 2, true, payload, 0x01020304, max);
            sdu_stream s(streamed, 2, true, 0x01020304, max);
            for (std::size_t at = 0; at < payload.size(); at += piece)
                s.append(std::string_view(payload).substr(at, piece));
            s.append("");
            s.finish();
            EXPECT_EQ(streamed, expected) << "max " << max << " piece " << piece;
        }
    }
    std::string none;
    sdu_stream empty(none, 2, false);
    empty.finish();
    EXPECT_TRUE(none.empty());
}

// A reply with `n` trace objects whose machine texts are `size` bytes.
std::string make_reply(std::size_t n, std::size_t size) {
    std::vector<trace_object> objs(n);
    for (std::size_t i = 0; i < n; ++i) {
        objs[i].machine = std::string(size, static_cast<char>('a' + i % 26));
        objs[i].ns = "A.B";
        objs[i].host = "h";
        objs[i].thread = "1";
        if (i % 2) objs[i].human = "human " + std::to_string(i);
    }
    return encode_trace_objects_reply(objs);
}

TEST(Demuxer, ReassemblesAtEveryByteBoundary) {
    const std::string m1 = make_reply(3, 50);
    const std::string m2 = make_reply(1, 10);
    std::string wire;
    append_sdus(wire, 2, false, m1, 1, 40);  // small SDUs: messages span several
    append_sdus(wire, 2, false, m2, 2, 40);
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        demuxer d(false);
        ASSERT_FALSE(d.feed(std::string_view(wire).substr(0, cut)));
        ASSERT_FALSE(d.feed(std::string_view(wire).substr(cut)));
        auto a = d.next_message(2);
        ASSERT_TRUE(a);
        ASSERT_TRUE(a->has_value()) << cut;
        EXPECT_EQ(**a, m1);
        d.pop_message(2);
        auto b = d.next_message(2);
        ASSERT_TRUE(b && b->has_value());
        EXPECT_EQ(**b, m2);
        d.pop_message(2);
        auto c = d.next_message(2);
        ASSERT_TRUE(c);
        EXPECT_FALSE(c->has_value());
        EXPECT_EQ(d.backlog_bytes(), 0u);
    }
}

TEST(Demuxer, ByteAtATimeAndPartialMessagesAreNotReported) {
    const std::string m = make_reply(2, 300);
    std::string wire;
    append_sdus(wire, 2, false, m, 0);
    demuxer d(false);
    for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
        ASSERT_FALSE(d.feed(std::string_view(wire).substr(i, 1)));
        auto r = d.next_message(2);
        ASSERT_TRUE(r);
        EXPECT_FALSE(r->has_value()) << i;
    }
    ASSERT_FALSE(d.feed(std::string_view(wire).substr(wire.size() - 1)));
    auto r = d.next_message(2);
    ASSERT_TRUE(r && r->has_value());
    EXPECT_EQ(**r, m);
}

TEST(Demuxer, SeveralMessagesInOneSduAndInterleavedProtocols) {
    const std::string a = unhex("820380");       // DataPoints reply []
    const std::string b = unhex("8201820080");   // EKG empty response
    const std::string t = make_reply(1, 20000);  // spans SDUs
    std::string wire;
    append_sdus(wire, 3, true, a + a, 0);  // two messages in one SDU
    std::string tsdus;
    append_sdus(tsdus, 2, true, t, 0);
    // interleave: first T segment, EKG, remaining T segments
    wire += tsdus.substr(0, 8 + 12288);
    append_sdus(wire, 1, true, b, 0);
    wire += tsdus.substr(8 + 12288);
    demuxer d(true);  // we initiated: the peer sends M=1
    ASSERT_FALSE(d.feed(wire));
    for (int i = 0; i < 2; ++i) {
        auto r = d.next_message(3);
        ASSERT_TRUE(r && r->has_value());
        EXPECT_EQ(**r, a);
        d.pop_message(3);
    }
    auto e = d.next_message(1);
    ASSERT_TRUE(e && e->has_value());
    EXPECT_EQ(**e, b);
    auto tr = d.next_message(2);
    ASSERT_TRUE(tr && tr->has_value());
    EXPECT_EQ(**tr, t);
}

// Memory follows the traffic: the room a burst of large replies needed is given back once the
// node's replies have been small for a while, and kept while they stay large (no reallocation
// per reply at load).
TEST(Demuxer, BufferCapacityFollowsTheTraffic) {
    demuxer d(true);
    const auto round_trip = [&](const std::string& msg) {
        std::string wire;
        append_sdus(wire, 2, true, msg, 0);
        ASSERT_FALSE(d.feed(wire));
        auto m = d.next_message(2);
        ASSERT_TRUE(m && m->has_value());
        ASSERT_EQ(**m, msg);
        d.pop_message(2);
    };
    const std::string large = make_reply(1, 60000);
    for (int i = 0; i < 20; ++i) {
        round_trip(large);
        ASSERT_GE(d.buffer_capacity(), large.size()) << "reply " << i;
    }
    const std::string small = make_reply(1, 200);
    for (int i = 0; i < 40; ++i) round_trip(small);
    EXPECT_LE(d.buffer_capacity(), 8u * 1024);
    EXPECT_EQ(d.backlog_bytes(), 0u);
}

TEST(Demuxer, FramingErrors) {
    auto feed = [](bool initiator, std::string_view hexbytes, bool handshake_done = true) {
        demuxer d(initiator);
        if (handshake_done) d.handshake_done();
        return d.feed(unhex(hexbytes));
    };
    EXPECT_EQ(feed(false, "00000000 0002 0000"), errc::zero_length_sdu);
    EXPECT_EQ(feed(false, "00000000 0009 0001 00"), errc::unknown_protocol);
    EXPECT_EQ(feed(false, "00000000 0000 0001 00"), errc::unknown_protocol);  // 0 after handshake
    EXPECT_EQ(feed(false, "00000000 8002 0001 00"),
              errc::wrong_mode_bit);  // peer connected: M must be 0
    EXPECT_EQ(feed(true, "00000000 0002 0001 00"),
              errc::wrong_mode_bit);                            // we connected: M must be 1
    EXPECT_FALSE(feed(false, "00000000 0000 0001 80", false));  // handshake: M not checked
    EXPECT_FALSE(feed(false, "00000000 0002 0001 80"));
}

TEST(Demuxer, MalformedCborIsAnErrorValue) {
    demuxer d(false);
    d.handshake_done();
    std::string wire;
    append_sdus(wire, 2, false, unhex("ff"), 0);
    ASSERT_FALSE(d.feed(wire));
    auto r = d.next_message(2);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::malformed_cbor);
}

TEST(Demuxer, LimitsAreEnforced) {
    demux_limits small{1000, 4000};
    {
        demuxer d(false, small);
        std::string wire;
        append_sdus(wire, 2, false, make_reply(1, 2000), 0);
        EXPECT_EQ(d.feed(wire), errc::message_too_large);
    }
    {
        // A huge declared string is refused before its bytes arrive.
        demuxer d(false, small);
        std::string wire;
        append_sdus(wire, 2, false, unhex("82 03 9f 89 00 80 7b 0000010000000000"), 0);
        ASSERT_FALSE(d.feed(wire));
        auto r = d.next_message(2);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), errc::message_too_large);
    }
    {
        // Many complete but unprocessed messages exceed the backlog.
        demuxer d(false, small);
        std::string wire;
        for (int i = 0; i < 10; ++i) append_sdus(wire, 2, false, make_reply(1, 500), 0);
        EXPECT_EQ(d.feed(wire), errc::backlog_too_large);
    }
    {
        // Handshake messages are limited to 5760 bytes.
        demuxer d(false);
        std::string big = unhex("8200a101 792000") + std::string(0x2000, 'a');
        std::string wire;
        append_sdus(wire, 0, false, big, 0);
        EXPECT_EQ(d.feed(wire), errc::message_too_large);
    }
}

}  // namespace
