#include "protocol/trace_objects_codec.hpp"

#include <array>
#include <cmath>

#include "protocol/cbor_reader.hpp"
#include "protocol/cbor_writer.hpp"

namespace ct::protocol {
namespace {

constexpr std::array<std::string_view, 4> detail_names = {
    "DMinimal", "DNormal", "DDetailed", "DMaximum"};

#define CT_TRY(expr)                       \
    do {                                   \
        if (auto ec_ = (expr)) return ec_; \
    } while (0)

// A Generic nullary constructor: `[i]` with i < n.
[[gnu::always_inline]] inline decode_status read_enum(cbor_reader& r,
                                                      std::uint64_t n,
                                                      std::uint64_t& v) {
    if (r.skip_small_enum(v)) return v < n ? decode_status{} : errc::integer_out_of_range;
    std::uint64_t len;
    CT_TRY(r.read_definite_array(len));
    if (len != 1) return errc::wrong_length;
    CT_TRY(r.read_uint(v));
    if (v >= n) return errc::integer_out_of_range;
    return {};
}

decode_status read_time(cbor_reader& r, utc_time& t) {
    // The usual encoding: tag 1000, a map of 2, key 1 (the seconds follow).
    if (r.skip_exact(std::string_view("\xd9\x03\xe8\xa2\x01", 5))) {
        CT_TRY(r.read_int(t.seconds));
        std::int64_t k2;
        CT_TRY(r.read_int(k2));
        if (k2 != -12) return errc::unexpected_type;
        CT_TRY(r.read_uint(t.picoseconds));
        if (t.picoseconds >= 1'000'000'000'000ull) return errc::integer_out_of_range;
        return {};
    }
    std::uint64_t tag;
    CT_TRY(r.read_tag(tag));
    if (tag == 1000) {
        std::uint64_t n;
        CT_TRY(r.read_definite_map(n));
        if (n != 2) return errc::wrong_length;
        std::int64_t k1, k2;
        CT_TRY(r.read_int(k1));
        if (k1 != 1) return errc::unexpected_type;
        CT_TRY(r.read_int(t.seconds));
        CT_TRY(r.read_int(k2));
        if (k2 != -12) return errc::unexpected_type;
        CT_TRY(r.read_uint(t.picoseconds));
        if (t.picoseconds >= 1'000'000'000'000ull) return errc::integer_out_of_range;
        return {};
    }
    if (tag == 1) {  // numeric epoch (accepted by the Haskell decoder too)
        double secs;
        CT_TRY(r.read_number(secs));
        if (!(secs > -9.2e18 && secs < 9.2e18)) return errc::integer_out_of_range;
        const auto whole = static_cast<std::int64_t>(std::floor(secs));
        t.seconds = whole;
        t.picoseconds = static_cast<std::uint64_t>((secs - static_cast<double>(whole)) * 1e12);
        return {};
    }
    return errc::unexpected_type;
}

}  // namespace

std::string_view detail_level_name(detail_level d) {
    return detail_names[static_cast<std::size_t>(d)];
}

std::string encode_trace_objects_request(bool blocking, std::uint16_t count) {
    std::string out;
    cbor_writer w(out);
    w.array(3);
    w.uint(1);
    w.boolean(blocking);
    w.array(2);  // NumberOfTraceObjects: newtype with a Generic instance → [0, n]
    w.uint(0);
    w.uint(count);
    return out;
}

std::string encode_trace_objects_done() {
    std::string out;
    cbor_writer w(out);
    w.array(1);
    w.uint(2);
    return out;
}

void encode_trace_object(const trace_object_view& o, std::string& out) {
    cbor_writer w(out);
    w.array(9);
    w.uint(0);
    if (o.has_human) {
        w.array(1);
        w.text(o.human);
    } else {
        w.array(0);
    }
    w.text(o.machine);
    // Current nodes send the dotted namespace as a one-element list; an empty one is `80`.
    if (o.ns.empty()) {
        w.array(0);
    } else {
        w.array_begin();
        w.text(o.ns);
        w.end();
    }
    w.array(1);
    w.uint(static_cast<std::uint64_t>(o.sev));
    w.array(1);
    w.uint(static_cast<std::uint64_t>(o.detail));
    w.tag(1000);
    w.map(2);
    w.uint(1);
    w.integer(o.at.seconds);
    w.integer(-12);
    w.uint(o.at.picoseconds);
    w.text(o.host);
    w.text(o.thread);
}

std::string encode_trace_objects_reply_from_encoded(std::span<const std::string_view> encoded) {
    std::size_t total = 4;
    for (auto e : encoded) total += e.size();
    std::string out;
    out.reserve(total);
    cbor_writer w(out);
    w.array(2);
    w.uint(3);
    if (w.list_begin(encoded.size())) {
        for (auto e : encoded) w.raw(e);
        w.end();
    }
    return out;
}

std::string encode_trace_objects_reply(std::span<const trace_object> objects) {
    std::string out;
    cbor_writer w(out);
    w.array(2);
    w.uint(3);
    if (w.list_begin(objects.size())) {
        for (const auto& o : objects) encode_trace_object(o.view(), out);
        w.end();
    }
    return out;
}

result<trace_objects_request> decode_trace_objects_request(std::string_view msg) {
    cbor_reader r(msg);
    std::uint64_t len, tag;
    if (auto ec = r.read_definite_array(len)) return ec;
    if (auto ec = r.read_uint(tag)) return ec;
    trace_objects_request req;
    if (tag == 2 && len == 1) {
        req.done = true;
    } else if (tag == 1 && len == 3) {
        if (auto ec = r.read_bool(req.blocking)) return ec;
        std::uint64_t n_len, n_tag, n;
        if (auto ec = r.read_definite_array(n_len)) return ec;
        if (n_len != 2) return errc::wrong_length;
        if (auto ec = r.read_uint(n_tag)) return ec;
        if (n_tag != 0) return errc::unexpected_type;
        if (auto ec = r.read_uint(n)) return ec;
        if (n > 0xffff) return errc::integer_out_of_range;
        req.count = static_cast<std::uint16_t>(n);
    } else {
        return errc::unexpected_message;
    }
    if (!r.at_end()) return errc::trailing_bytes;
    return req;
}

std::error_code trace_objects_reply_decoder::decode(std::string_view msg,
                                                    std::vector<trace_object_view>& out) {
    std::size_t used = 0;
    if (auto ec = decode_front(msg, out, used)) return ec;
    if (used != msg.size()) return errc::trailing_bytes;
    return {};
}

std::error_code trace_objects_reply_decoder::decode_front(std::string_view msg,
                                                          std::vector<trace_object_view>& out,
                                                          std::size_t& used) {
    out.clear();
    joined_.clear();
    cbor_reader r(msg);
    std::uint64_t len, tag;
    CT_TRY(r.read_definite_array(len));
    CT_TRY(r.read_uint(tag));
    if (tag != 3 || len != 2) return errc::unexpected_message;

    std::optional<std::uint64_t> count;
    CT_TRY(r.read_array(count));
    for (std::uint64_t i = 0;; ++i) {
        if (count ? i == *count : r.peek_break()) break;
        if (r.at_end()) return errc::truncated;
        // Fields in locals, the object built in place at the end: a view filled on the stack
        // and copied in stalled on its narrow stores (a failed store forward) and was zeroed
        // first with `rep stos`, together a fifth of decoding.
        bool has_human = false;
        std::string_view human, machine, ns, host, thread;
        utc_time at;
        if (!r.skip_exact(std::string_view("\x89\x00", 2))) {  // else: say what is wrong
            std::uint64_t fields, ctor;
            CT_TRY(r.read_definite_array(fields));
            if (fields != 9) return errc::wrong_length;
            CT_TRY(r.read_uint(ctor));
            if (ctor != 0) return errc::unexpected_type;
        }

        // toHuman: Maybe Text.
        std::uint64_t maybe;
        CT_TRY(r.read_definite_array(maybe));
        if (maybe > 1) return errc::wrong_length;
        has_human = maybe == 1;
        if (has_human) CT_TRY(r.read_text(human));

        // toMachine: Text (or Maybe Text in nodes before late 2023).
        if (r.peek_major() == 4) {
            CT_TRY(r.read_definite_array(maybe));
            if (maybe > 1) return errc::wrong_length;
            if (maybe == 1) CT_TRY(r.read_text(machine));
        } else {
            CT_TRY(r.read_text(machine));
        }

        // toNamespace: one dotted element (current) or several segments (old nodes).
        std::optional<std::uint64_t> segs;
        CT_TRY(r.read_array(segs));
        std::string* joined = nullptr;
        for (std::uint64_t k = 0;; ++k) {
            if (segs ? k == *segs : r.peek_break()) break;
            if (r.at_end()) return errc::truncated;
            std::string_view seg;
            CT_TRY(r.read_text(seg));
            if (k == 0) {
                ns = seg;
            } else {
                if (!joined) joined = &joined_.emplace_back(ns);
                joined->push_back('.');
                joined->append(seg);
            }
        }
        if (!segs) CT_TRY(r.read_break());
        if (joined) ns = *joined;

        std::uint64_t sev, level;
        CT_TRY(read_enum(r, 8, sev));
        CT_TRY(read_enum(r, 4, level));
        CT_TRY(read_time(r, at));
        CT_TRY(r.read_text(host));
        CT_TRY(r.read_text(thread));
        out.push_back(trace_object_view{has_human,
                                        human,
                                        machine,
                                        ns,
                                        static_cast<severity>(sev),
                                        static_cast<detail_level>(level),
                                        at,
                                        host,
                                        thread});
    }
    if (!count) CT_TRY(r.read_break());
    used = r.position();
    return {};
}

}  // namespace ct::protocol
