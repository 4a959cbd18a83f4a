// CBOR reader/writer and the item-boundary scanner: shortest heads, bounds, malformed input.
#include <gtest/gtest.h>

#include <limits>

#include "protocol/cbor_item.hpp"
#include "protocol/cbor_reader.hpp"
#include "protocol/cbor_writer.hpp"
#include "protocol/trace_objects_codec.hpp"
#include "test_hex.hpp"

namespace {

using namespace ct::protocol;
using ct::test::hex;
using ct::test::unhex;

TEST(CborWriter, UsesShortestHeads) {
    std::string out;
    cbor_writer w(out);
    w.uint(0);
    w.uint(23);
    w.uint(24);
    w.uint(255);
    w.uint(256);
    w.uint(65535);
    w.uint(65536);
    w.uint(0xffffffffull);
    w.uint(0x100000000ull);
    EXPECT_EQ(hex(out), "0017181818ff19010019ffff1a000100001affffffff1b0000000100000000");
    out.clear();
    w.integer(-1);
    w.integer(-5);
    w.integer(-12);
    w.integer(-25);
    EXPECT_EQ(hex(out), "20242b3818");
}

TEST(CborReader, ReadsBackEverything) {
    std::string out;
    cbor_writer w(out);
    w.array(3);
    w.text("héllo");
    w.integer(-300);
    w.boolean(true);
    cbor_reader r(out);
    std::uint64_t n;
    ASSERT_FALSE(r.read_definite_array(n));
    EXPECT_EQ(n, 3u);
    std::string_view t;
    ASSERT_FALSE(r.read_text(t));
    EXPECT_EQ(t, "héllo");
    std::int64_t i;
    ASSERT_FALSE(r.read_int(i));
    EXPECT_EQ(i, -300);
    bool b;
    ASSERT_FALSE(r.read_bool(b));
    EXPECT_TRUE(b);
    EXPECT_TRUE(r.at_end());
}

// Every width of argument (1, 2, 4 and 8 bytes after the head) read back, with bytes that
// differ so that a wrong byte order shows; cut anywhere, a head is truncated, never misread.
TEST(CborReader, ArgumentsOfEveryWidthReadBack) {
    const std::uint64_t values[] = {0,
                                    23,
                                    24,
                                    0xab,
                                    0x100,
                                    0x1234,
                                    0xffff,
                                    0x10000,
                                    0x12345678,
                                    0xfedcba98u,
                                    0x100000000ull,
                                    0x0102030405060708ull,
                                    std::numeric_limits<std::uint64_t>::max()};
    for (const auto value : values) {
        std::string out;
        cbor_writer(out).uint(value);
        cbor_reader r(out);
        std::uint64_t back = 0;
        ASSERT_FALSE(r.read_uint(back)) << value;
        EXPECT_EQ(back, value);
        EXPECT_TRUE(r.at_end());
        for (std::size_t cut = 0; cut < out.size(); ++cut) {
            cbor_reader partial(std::string_view(out).substr(0, cut));
            EXPECT_EQ(partial.read_uint(back), errc::truncated) << value << " cut at " << cut;
            EXPECT_EQ(partial.position(), 0u);
        }
    }
}

TEST(CborReader, TextLongerThanBufferIsTruncated) {
    auto buf = unhex("7a ffffffff 41");
    cbor_reader r(buf);
    std::string_view t;
    EXPECT_EQ(r.read_text(t), errc::truncated);
}

TEST(CborReader, InvalidUtf8IsRejected) {
    for (auto bad : {"62 c3 28", "63 ed a0 80", "62 c0 af", "64 f4 90 80 80", "61 ff"}) {
        auto buf = unhex(bad);
        cbor_reader r(buf);
        std::string_view t;
        EXPECT_EQ(r.read_text(t), errc::invalid_utf8) << bad;
    }
    auto ok = unhex("64 f0 9f 98 80");  // U+1F600
    cbor_reader r(ok);
    std::string_view t;
    EXPECT_FALSE(r.read_text(t));
}

TEST(CborReader, Utf8CheckStaysInsideTheText) {
    // ASCII texts of every length up to 100, followed by a byte that is invalid UTF-8 on its
    // own: the validator must not look past the text's end.
    for (std::size_t len = 0; len <= 100; ++len) {
        std::string buf;
        cbor_writer w(buf);
        w.text(std::string(len, 'a'));
        buf.push_back(static_cast<char>(0x9f));
        cbor_reader r(buf);
        std::string_view t;
        EXPECT_FALSE(r.read_text(t)) << len;
        EXPECT_EQ(t.size(), len);
        EXPECT_FALSE(valid_utf8(std::string(len, 'a') + "\xc3")) << len;
        EXPECT_TRUE(valid_utf8(std::string(len, 'a') + "\xc3\xa9")) << len;
    }
}

// Both ways of the long check, whichever one this CPU takes: every length from the shortest
// each accepts, a high byte at every position (0x80 and 0xff: any byte with the top bit set).
TEST(CborReader, BothLongAsciiChecksSeeAHighByteAtEveryPosition) {
    const bool avx2 = ct::protocol::detail::cpu_has_avx2();
    for (std::size_t len = 32; len <= 600; ++len) {
        std::string s(len, 'z');
        EXPECT_TRUE(ct::protocol::detail::all_ascii_words(s.data(), len)) << len;
        if (avx2) {
            EXPECT_TRUE(ct::protocol::detail::all_ascii_avx2(s.data(), len)) << len;
        }
        for (std::size_t pos = 0; pos < len; ++pos) {
            for (const char high : {static_cast<char>(0x80), static_cast<char>(0xff)}) {
                s[pos] = high;
                ASSERT_FALSE(ct::protocol::detail::all_ascii_words(s.data(), len))
                    << len << " " << pos;
                if (avx2) {
                    ASSERT_FALSE(ct::protocol::detail::all_ascii_avx2(s.data(), len))
                        << len << " " << pos;
                }
            }
            s[pos] = 'z';
        }
    }
    if (!avx2) GTEST_SKIP() << "no AVX2 on this CPU: only the portable check ran";
}

TEST(CborReader, AsciiCheckSeesAHighByteAtEveryPositionOfEveryLength) {
    // Past 64 bytes the check goes out of line (AVX2 where the CPU has it): 300 covers two of
    // its 128-byte steps and every tail.
    for (std::size_t len = 0; len <= 300; ++len) {
        const std::string ascii(len, 'a');
        EXPECT_TRUE(all_ascii(ascii)) << len;
        EXPECT_TRUE(valid_utf8(ascii)) << len;
        for (std::size_t pos = 0; pos < len; ++pos) {
            std::string s = ascii;
            s[pos] = static_cast<char>(0x80);  // a lone continuation byte
            EXPECT_FALSE(all_ascii(s)) << len << " " << pos;
            EXPECT_FALSE(valid_utf8(s)) << len << " " << pos;
            if (pos + 1 < len) {
                s[pos] = static_cast<char>(0xc3);
                s[pos + 1] = static_cast<char>(0xa9);  // é
                EXPECT_TRUE(valid_utf8(s)) << len << " " << pos;
            }
        }
    }
}

TEST(CborReader, IntegerOutOfRange) {
    auto buf = unhex("1b ffffffffffffffff");
    cbor_reader r(buf);
    std::int64_t v;
    EXPECT_EQ(r.read_int(v), errc::integer_out_of_range);
}

TEST(CborReader, IndefiniteWhereDefiniteRequired) {
    auto buf = unhex("9f 01 ff");
    cbor_reader r(buf);
    std::uint64_t n;
    EXPECT_EQ(r.read_definite_array(n), errc::indefinite_not_allowed);
}

TEST(CborReader, ReservedInfoIsMalformed) {
    auto buf = unhex("1c");
    cbor_reader r(buf);
    std::uint64_t v;
    EXPECT_EQ(r.read_uint(v), errc::malformed_cbor);
}

TEST(CborItem, FindsEndOfEachItem) {
    struct c {
        const char* hex;
        std::size_t len;
    };
    for (auto [h, len] : {c{"00", 1},
                          c{"8301f582001864", 7},
                          c{"9f0102ff", 4},
                          c{"5f4101ff", 4},
                          c{"d903e8a2011a66322ec02b1b0000001cbe8d1000", 20},
                          c{"a10102", 3}}) {
        auto buf = unhex(h);
        buf += "\x01\x02";  // the next message's bytes
        auto s = scan_cbor_item(buf, 1 << 20);
        EXPECT_TRUE(s.complete()) << h;
        EXPECT_EQ(s.length, len) << h;
    }
}

TEST(CborItem, IncompleteAtEveryPrefix) {
    // Every strict prefix of a complete item is incomplete, never an error.
    auto msg = unhex("83 01 f5 82 00 18 64");
    for (std::size_t k = 0; k < msg.size(); ++k) {
        auto s = scan_cbor_item(std::string_view(msg).substr(0, k), 1 << 20);
        EXPECT_FALSE(s.error) << k;
        EXPECT_EQ(s.length, 0u) << k;
        EXPECT_GT(s.needed, k) << k;
    }
}

TEST(CborItem, HugeDeclaredLengthFailsAtOnce) {
    auto buf = unhex("7b 0000010000000000");  // text of 2^40 bytes
    auto s = scan_cbor_item(buf, 1 << 20);
    EXPECT_EQ(s.error, errc::message_too_large);
}

TEST(CborItem, DeepNestingIsAnError) {
    std::string buf(1000, static_cast<char>(0x81));
    buf.push_back(0);
    auto s = scan_cbor_item(buf, 1 << 20, 64);
    EXPECT_EQ(s.error, errc::too_deeply_nested);
}

TEST(CborItem, StrayBreakIsMalformed) {
    auto s = scan_cbor_item(unhex("ff"), 1 << 20);
    EXPECT_EQ(s.error, errc::malformed_cbor);
    auto t = scan_cbor_item(unhex("5f 61 61 ff"), 1 << 20);  // text chunk in a byte string
    EXPECT_EQ(t.error, errc::malformed_cbor);
}

// The resumable scanner, fed a message prefix by prefix (each call sees a longer prefix of the
// same bytes), agrees with the one-shot scan: same length, same error, never a verdict early.
TEST(CborItemScanner, ResumedScansAgreeWithOneShotScans) {
    std::vector<std::string> cases;
    for (const char* h : {"00",
                          "8301f582001864",
                          "9f0102ff",
                          "5f4101ff",
                          "7f6161ff",
                          "d903e8a2011a66322ec02b1b0000001cbe8d1000",
                          "a10102",
                          "ff",
                          "5f6161ff",
                          "1c",
                          "7b0000010000000000",
                          "9f9f9fffffff",
                          "bf0102ff",
                          "80",
                          "a0",
                          "f97e00",
                          "fb3ff0000000000000",
                          "bf01ff",
                          "bf0102030405ff"})
        cases.push_back(unhex(h));
    std::string deep(100, static_cast<char>(0x81));
    deep.push_back(0);
    cases.push_back(deep);
    std::string exactly64(63, static_cast<char>(0x81));  // 63 arrays, then an item at level 63
    exactly64.push_back(0);
    cases.push_back(exactly64);
    std::string empty_at_64(64, static_cast<char>(0x81));
    empty_at_64.push_back(static_cast<char>(0x80));
    cases.push_back(empty_at_64);
    // A real reply of several objects with long texts.
    std::vector<trace_object> objs(5);
    for (auto& o : objs) {
        o.machine = std::string(300, 'm');
        o.human = std::string(90, 'h');
        o.ns = "A.B";
        o.host = "h";
        o.thread = "1";
    }
    cases.push_back(encode_trace_objects_reply(objs));
    for (const auto& msg : cases) {
        const std::string with_next = msg + "\x01\x02";
        const auto whole = scan_cbor_item(with_next, 1 << 20, 64);
        for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{64}, msg.size()}) {
            cbor_item_scanner scanner(1 << 20, 64);
            item_scan got;
            std::size_t k = 0;
            do {
                k = std::min(with_next.size(), k + std::max<std::size_t>(step, 1));
                const auto prefix = std::string_view(with_next).substr(0, k);
                got = scanner.scan(prefix);
                const auto fresh = scan_cbor_item(prefix, 1 << 20, 64);
                EXPECT_EQ(got.error, fresh.error) << hex(msg) << " at " << k;
                EXPECT_EQ(got.length, fresh.length) << hex(msg) << " at " << k;
            } while (!got.error && !got.complete() && k < with_next.size());
            EXPECT_EQ(got.error, whole.error) << hex(msg);
            EXPECT_EQ(got.length, whole.length) << hex(msg);
        }
    }
}

}  // namespace
