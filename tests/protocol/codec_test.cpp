// Codecs of the handshake and the three mini-protocols against the spec's checked vectors
// (decode to the named structure, re-encode byte for byte) plus malformed input.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "protocol/cbor_item.hpp"
#include "protocol/data_points_codec.hpp"
#include "protocol/describe.hpp"
#include "protocol/ekg_codec.hpp"
#include "protocol/handshake.hpp"
#include "protocol/trace_objects_codec.hpp"
#include "test_hex.hpp"

namespace {

using namespace ct::protocol;
using ct::test::hex;
using ct::test::unhex;

std::map<std::string, std::string> load_vectors() {
    std::ifstream in(CT_VECTORS_JSON);
    auto j = nlohmann::json::parse(in);
    std::map<std::string, std::string> out;
    for (const auto& v : j) out[v["name"].get<std::string>()] = unhex(v["hex"].get<std::string>());
    return out;
}

const std::map<std::string, std::string>& vectors() {
    static const auto v = load_vectors();
    return v;
}

const std::string& vec(const std::string& name) {
    auto it = vectors().find(name);
    if (it == vectors().end()) throw std::runtime_error("no vector " + name);
    return it->second;
}

TEST(Vectors, AllArePresent) { EXPECT_EQ(vectors().size(), 18u); }

TEST(Vectors, Handshake) {
    EXPECT_EQ(encode_propose_versions(764824073), vec("MsgProposeVersions {1: 764824073}"));
    EXPECT_EQ(encode_accept_version(764824073), vec("MsgAcceptVersion 1 764824073"));

    auto ok = decide_handshake(vec("MsgProposeVersions {1: 764824073}"), 764824073);
    EXPECT_TRUE(ok.accepted);
    EXPECT_EQ(ok.reply_payload, vec("MsgAcceptVersion 1 764824073"));

    auto wrong = decide_handshake(encode_propose_versions(1), 764824073);
    EXPECT_FALSE(wrong.accepted);
    EXPECT_EQ(wrong.reply_payload, vec("MsgRefuse (Refused 1 reason)"));
    EXPECT_EQ(wrong.reply_payload.size(), 157u);

    auto v2only = decide_handshake(unhex("8200a1021a2d964a09"), 764824073);
    EXPECT_FALSE(v2only.accepted);
    EXPECT_EQ(v2only.reply_payload, vec("MsgRefuse (VersionMismatch [1])"));

    auto client_ok = check_handshake_reply(vec("MsgAcceptVersion 1 764824073"), 764824073);
    EXPECT_TRUE(client_ok.accepted);
    auto client_refused = check_handshake_reply(vec("MsgRefuse (Refused 1 reason)"), 1);
    EXPECT_FALSE(client_refused.accepted);
    EXPECT_NE(client_refused.reason.find("ForwardingVersionData mismatch"), std::string::npos);
    EXPECT_FALSE(check_handshake_reply(encode_accept_version(2), 1).accepted);
}

TEST(Handshake, UnknownVersionsAreSkippedAndOrderMatters) {
    // {1: magic, 7: "x"}: 7 is unknown and skipped.
    auto d = decide_handshake(unhex("8200a2 01 182a 07 6178"), 42);
    EXPECT_TRUE(d.accepted) << d.refuse_reason;
    // {2: .., 1: ..}: known keys out of order -> undecodable, nothing sent.
    auto u = decide_handshake(unhex("8200a2 02 182a 01 182a"), 42);
    EXPECT_FALSE(u.accepted);
    EXPECT_TRUE(u.reply_payload.empty());
    // Magic as text -> HandshakeDecodeError [1, 1, text].
    auto t = decide_handshake(unhex("8200a1 01 6178"), 42);
    EXPECT_FALSE(t.accepted);
    EXPECT_EQ(hex(t.reply_payload.substr(0, 5)), "8202830101");
    // Magic above 2^32-1.
    auto big = decide_handshake(unhex("8200a1 01 1b0000000100000000"), 42);
    EXPECT_FALSE(big.accepted);
    EXPECT_NE(big.refuse_reason.find("networkMagic out of bound: 4294967296"), std::string::npos);
    // Garbage.
    EXPECT_FALSE(decide_handshake(unhex("ffff"), 42).accepted);
    EXPECT_FALSE(decide_handshake("", 42).accepted);
    // Accept message in place of a proposal.
    EXPECT_FALSE(decide_handshake(encode_accept_version(42), 42).accepted);
}

TEST(Vectors, TraceObjectRequestsAndDone) {
    EXPECT_EQ(encode_trace_objects_request(true, 100),
              vec("MsgTraceObjectsRequest blocking n=100"));
    EXPECT_EQ(hex(encode_trace_objects_request(false, 1000)),
              "8301f4820019"
              "03e8");
    EXPECT_EQ(encode_trace_objects_done(), vec("MsgDone (TraceObject/DataPoint)"));
    auto req = decode_trace_objects_request(vec("MsgTraceObjectsRequest blocking n=100"));
    ASSERT_TRUE(req);
    EXPECT_TRUE(req->blocking);
    EXPECT_EQ(req->count, 100);
    auto done = decode_trace_objects_request(vec("MsgDone (TraceObject/DataPoint)"));
    ASSERT_TRUE(done);
    EXPECT_TRUE(done->done);
}

TEST(Vectors, TraceObjectReplyDecodesAndReencodes) {
    const auto& msg = vec("MsgTraceObjectsReply [TraceObject]");
    trace_objects_reply_decoder d;
    std::vector<trace_object_view> objs;
    ASSERT_FALSE(d.decode(msg, objs));
    ASSERT_EQ(objs.size(), 1u);
    const auto& o = objs[0];
    EXPECT_TRUE(o.has_human);
    EXPECT_EQ(o.human, "Hello, world");
    EXPECT_EQ(
        o.machine,
        R"({"at":"2024-05-01T12:00:00.123456Z","ns":"Node.Hello","data":{"kind":"Hello"},"sev":"Info","thread":"42","host":"node1"})");
    EXPECT_EQ(o.ns, "Node.Hello");
    EXPECT_EQ(o.sev, severity::info);
    EXPECT_EQ(o.detail, detail_level::normal);
    EXPECT_EQ(o.at.seconds, 1714564800);
    EXPECT_EQ(o.at.picoseconds, 123456000000ull);
    EXPECT_EQ(o.host, "node1");
    EXPECT_EQ(o.thread, "42");

    std::vector<std::string_view> encoded;
    std::string one;
    encode_trace_object(o, one);
    encoded.push_back(one);
    EXPECT_EQ(encode_trace_objects_reply_from_encoded(encoded), msg);
}

TEST(TraceObjects, NothingHumanEmptyNamespaceVariant) {
    // Spec §9.2 variant: toHuman Nothing, empty namespace, Warning/DMaximum (35 bytes).
    const auto obj = unhex(
        "89 00 80 62 7b 7d 80 81 03 81 03 d9 03 e8 a2 01 1a 66 32 2e c0 2b 1b 00 00 00 1c be 8d 10 "
        "00 61 68 61 37");
    ASSERT_EQ(obj.size(), 35u);
    const std::string msg = unhex("8203") + "\x9f" + obj + "\xff";
    trace_objects_reply_decoder d;
    std::vector<trace_object_view> objs;
    ASSERT_FALSE(d.decode(msg, objs));
    ASSERT_EQ(objs.size(), 1u);
    EXPECT_FALSE(objs[0].has_human);
    EXPECT_EQ(objs[0].machine, "{}");
    EXPECT_EQ(objs[0].ns, "");
    EXPECT_EQ(objs[0].sev, severity::warning);
    EXPECT_EQ(objs[0].detail, detail_level::maximum);
    std::string re;
    encode_trace_object(objs[0], re);
    EXPECT_EQ(re, obj);
}

TEST(TraceObjects, HistoricalVariantsDecode) {
    // toMachine as Maybe Text (Just "{}") and a namespace of three segments, definite lists.
    const std::string obj = unhex(
        "89 00 81 61 68 81 62 7b 7d 83 61 41 61 42 61 43 81 00 81 01 d9 03 e8 a2 01 00 2b 00 61 68 "
        "61 31");
    const std::string msg = unhex("82 03 81") + obj;
    trace_objects_reply_decoder d;
    std::vector<trace_object_view> objs;
    ASSERT_FALSE(d.decode(msg, objs));
    ASSERT_EQ(objs.size(), 1u);
    EXPECT_EQ(objs[0].machine, "{}");
    EXPECT_EQ(objs[0].ns, "A.B.C");
    EXPECT_EQ(objs[0].sev, severity::debug);
}

TEST(TraceObjects, ManyObjectsRoundTrip) {
    std::vector<trace_object> in(300);
    for (std::size_t i = 0; i < in.size(); ++i) {
        in[i].machine = "{\"seq\":" + std::to_string(i) + "}";
        in[i].ns = "ChainDB.AddBlockEvent";
        in[i].sev = static_cast<severity>(i % 8);
        in[i].detail = static_cast<detail_level>(i % 4);
        in[i].at = {1700000000 + static_cast<std::int64_t>(i), i * 1000000ull};
        in[i].host = "host";
        in[i].thread = std::to_string(i);
        if (i % 3) in[i].human = "text " + std::to_string(i);
    }
    const auto msg = encode_trace_objects_reply(in);
    trace_objects_reply_decoder d;
    std::vector<trace_object_view> out;
    ASSERT_FALSE(d.decode(msg, out));
    ASSERT_EQ(out.size(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(out[i].machine, in[i].machine);
        EXPECT_EQ(out[i].has_human, in[i].human.has_value());
        EXPECT_EQ(out[i].sev, in[i].sev);
        EXPECT_EQ(out[i].at, in[i].at);
    }
    EXPECT_EQ(hex(encode_trace_objects_reply({})), "820380");
}

TEST(TraceObjects, MalformedRepliesAreErrors) {
    trace_objects_reply_decoder d;
    std::vector<trace_object_view> objs;
    const auto& good = vec("MsgTraceObjectsReply [TraceObject]");
    // Every truncation of a valid reply is an error, never a crash.
    for (std::size_t k = 0; k < good.size(); ++k) {
        EXPECT_TRUE(d.decode(std::string_view(good).substr(0, k), objs)) << k;
    }
    EXPECT_EQ(d.decode(good + std::string(1, '\0'), objs), errc::trailing_bytes);
    EXPECT_EQ(d.decode(unhex("8301f582001864"), objs), errc::unexpected_message);  // a request
    EXPECT_EQ(d.decode(unhex("9f03ff"), objs), errc::indefinite_not_allowed);
    // Wrong TraceObject arity.
    EXPECT_EQ(d.decode(unhex("8203 81 88 00 80 60 80 8100 8101 d903e8a20100 2b00 60"), objs),
              errc::wrong_length);
    // Severity out of range.
    EXPECT_EQ(d.decode(unhex("8203 81 89 00 80 60 80 8108 8101 d903e8a2010 02b00 60 60"), objs),
              errc::integer_out_of_range);
    // Invalid UTF-8 in the machine text.
    EXPECT_EQ(d.decode(unhex("8203 81 89 00 80 61ff 80 8100 8101 d903e8a2010 02b00 60 60"), objs),
              errc::invalid_utf8);
    // Picoseconds out of range.
    EXPECT_EQ(
        d.decode(unhex("8203 81 89 00 80 60 80 8100 8101 d903e8a20100 2b 1b000000e8d4a51000 60 60"),
                 objs),
        errc::integer_out_of_range);
}

// Decode-first: at the front of a buffer that holds more, the decoder finds the reply's end
// itself (the same length the CBOR scan finds); every strict prefix is `truncated`, so the
// session waits for more bytes and never misreads a partial reply.
TEST(TraceObjects, DecodeFrontFindsTheMessageEnd) {
    for (const auto& good : {vec("MsgTraceObjectsReply [TraceObject]"), [] {
                                 std::vector<trace_object> in(50);
                                 for (std::size_t i = 0; i < in.size(); ++i) {
                                     in[i].machine = std::string(200 + i, 'x');
                                     in[i].ns = "A.B";
                                     in[i].host = "h";
                                     in[i].thread = "1";
                                     if (i % 2) in[i].human = "text";
                                 }
                                 return encode_trace_objects_reply(in);
                             }()}) {
        trace_objects_reply_decoder d;
        std::vector<trace_object_view> objs;
        const std::string two = good + good;
        std::size_t used = 0;
        ASSERT_FALSE(d.decode_front(two, objs, used));
        EXPECT_EQ(used, good.size());
        EXPECT_EQ(used, scan_cbor_item(two, 1 << 20).length);
        const auto n = objs.size();
        for (std::size_t k = 0; k < good.size(); ++k) {
            EXPECT_EQ(d.decode_front(std::string_view(good).substr(0, k), objs, used),
                      errc::truncated)
                << k;
        }
        ASSERT_FALSE(d.decode_front(good, objs, used));
        EXPECT_EQ(objs.size(), n);
    }
}

TEST(Vectors, DataPoints) {
    EXPECT_EQ(encode_data_points_request({}), vec("MsgDataPointsRequest []"));
    EXPECT_EQ(encode_data_points_request({"NodeInfo"}), vec("MsgDataPointsRequest [\"NodeInfo\"]"));
    EXPECT_EQ(encode_data_points_reply({}), vec("MsgDataPointsReply []"));

    const std::string json =
        R"({"niName":"node1","niProtocol":"Cardano","niVersion":"10.5.1","niCommit":"0123456789abcdef0123456789abcdef01234567","niStartTime":"2024-05-01T11:59:00.5Z","niSystemStartTime":"2017-09-23T21:44:51Z"})";
    data_points_reply_view v;
    ASSERT_FALSE(
        decode_data_points_reply(vec("MsgDataPointsReply [(\"NodeInfo\", Just json)]"), v));
    ASSERT_EQ(v.values.size(), 1u);
    EXPECT_EQ(v.values[0].first, "NodeInfo");
    ASSERT_TRUE(v.values[0].second);
    EXPECT_EQ(*v.values[0].second, json);
    EXPECT_EQ(encode_data_points_reply({{"NodeInfo", std::string_view(json)}}),
              vec("MsgDataPointsReply [(\"NodeInfo\", Just json)]"));

    ASSERT_FALSE(
        decode_data_points_reply(vec("MsgDataPointsReply [(\"NodeStartupInfo\", Nothing)]"), v));
    ASSERT_EQ(v.values.size(), 1u);
    EXPECT_FALSE(v.values[0].second);
    EXPECT_EQ(encode_data_points_reply({{"NodeStartupInfo", std::nullopt}}),
              vec("MsgDataPointsReply [(\"NodeStartupInfo\", Nothing)]"));

    auto req = decode_data_points_request(vec("MsgDataPointsRequest [\"NodeInfo\"]"));
    ASSERT_TRUE(req);
    ASSERT_EQ(req->names.size(), 1u);
    EXPECT_EQ(req->names[0], "NodeInfo");
    EXPECT_EQ(encode_data_points_done(), vec("MsgDone (TraceObject/DataPoint)"));
}

TEST(DataPoints, SeveralChunksAndDefiniteBytesAreAccepted) {
    // Decoded views point into the message: keep it alive while they are used.
    data_points_reply_view v;
    const auto chunked = unhex("8203 9f 82 6161 81 5f 4261 62 4163 ff ff");
    ASSERT_FALSE(decode_data_points_reply(chunked, v));
    ASSERT_EQ(v.values.size(), 1u);
    EXPECT_EQ(*v.values[0].second, "abc");
    const auto definite = unhex("8203 81 82 6161 81 43616263");
    ASSERT_FALSE(decode_data_points_reply(definite, v));
    EXPECT_EQ(*v.values[0].second, "abc");
    EXPECT_TRUE(decode_data_points_reply(unhex("8203 81 82 6161 82 4161 4161"), v));
}

TEST(Vectors, Ekg) {
    EXPECT_EQ(encode_ekg_request(ekg_request_kind::get_all), vec("MsgReq GetAllMetrics"));
    EXPECT_EQ(encode_ekg_request(ekg_request_kind::get_updated), vec("MsgReq GetUpdatedMetrics"));
    const std::vector<std::string_view> names{"rts.gc.num_gcs"};
    EXPECT_EQ(encode_ekg_get_metrics(names), vec("MsgReq (GetMetrics [\"rts.gc.num_gcs\"])"));
    EXPECT_EQ(encode_ekg_done(), vec("EKG MsgDone"));

    ekg_response_view r;
    ASSERT_FALSE(decode_ekg_response(vec("MsgResp (ResponseMetrics [counter, gauge, label])"), r));
    ASSERT_EQ(r.entries.size(), 3u);
    EXPECT_EQ(r.entries[0].name, "rts.gc.num_gcs");
    EXPECT_EQ(r.entries[0].value.kind, metric_kind::counter);
    EXPECT_EQ(r.entries[0].value.number, 42);
    EXPECT_EQ(r.entries[1].name, "cardano.node.metrics.blockNum_int");
    EXPECT_EQ(r.entries[1].value.kind, metric_kind::gauge);
    EXPECT_EQ(r.entries[1].value.number, 10535841);
    EXPECT_EQ(r.entries[2].value.kind, metric_kind::label);
    EXPECT_EQ(r.entries[2].value.text, "4.9e-2");
    EXPECT_EQ(encode_ekg_response(r.entries),
              vec("MsgResp (ResponseMetrics [counter, gauge, label])"));

    ASSERT_FALSE(decode_ekg_response(vec("MsgResp (ResponseMetrics [])"), r));
    EXPECT_TRUE(r.entries.empty());
    EXPECT_EQ(encode_ekg_response({}), vec("MsgResp (ResponseMetrics [])"));

    for (const char* name : {"MsgReq GetAllMetrics",
                             "MsgReq GetUpdatedMetrics",
                             "MsgReq (GetMetrics [\"rts.gc.num_gcs\"])",
                             "EKG MsgDone"}) {
        EXPECT_TRUE(decode_ekg_request(vec(name))) << name;
    }
    EXPECT_TRUE(decode_ekg_request(vec("EKG MsgDone"))->done);
    EXPECT_EQ(decode_ekg_request(vec("MsgReq (GetMetrics [\"rts.gc.num_gcs\"])"))->names.at(0),
              "rts.gc.num_gcs");
}

TEST(Ekg, NegativeGaugeAndMalformed) {
    ekg_entry_view e{"g", {metric_kind::gauge, -5, {}}};
    const auto msg = encode_ekg_response(std::span(&e, 1));
    EXPECT_NE(hex(msg).find("820124"), std::string::npos);
    ekg_response_view r;
    ASSERT_FALSE(decode_ekg_response(msg, r));
    EXPECT_EQ(r.entries[0].value.number, -5);
    EXPECT_EQ(decode_ekg_response(unhex("8101"), r), errc::unexpected_message);  // MsgDone
    EXPECT_EQ(decode_ekg_response(unhex("8201 8200 81 82 6161 8203 00"), r),
              errc::integer_out_of_range);
    EXPECT_FALSE(decode_ekg_request(unhex("8200 8201 80")));  // GetMetrics of an empty list
}

TEST(Describe, ReadableNames) {
    EXPECT_EQ(describe_message(2, vec("MsgTraceObjectsRequest blocking n=100")),
              "MsgTraceObjectsRequest blocking 100");
    EXPECT_EQ(describe_message(3, vec("MsgDataPointsRequest [\"NodeInfo\"]")),
              "MsgDataPointsRequest [NodeInfo]");
    EXPECT_EQ(describe_message(1, vec("MsgReq GetUpdatedMetrics")), "MsgReq GetUpdatedMetrics");
    EXPECT_EQ(describe_message(2, unhex("ff")), "undecodable message");
}

}  // namespace
