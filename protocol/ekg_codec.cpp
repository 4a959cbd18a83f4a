#include "protocol/ekg_codec.hpp"

#include "protocol/cbor_reader.hpp"
#include "protocol/cbor_writer.hpp"

namespace ct::protocol {

#define CT_TRY(expr)                       \
    do {                                   \
        if (auto ec_ = (expr)) return ec_; \
    } while (0)

std::string encode_ekg_request(ekg_request_kind kind) {
    std::string out;
    cbor_writer w(out);
    w.array(2);
    w.uint(0);
    w.array(1);
    w.uint(static_cast<std::uint64_t>(kind == ekg_request_kind::get_all ? 0 : 2));
    return out;
}

std::string encode_ekg_get_metrics(std::span<const std::string_view> names) {
    std::string out;
    cbor_writer w(out);
    w.array(2);
    w.uint(0);
    w.array(2);
    w.uint(1);
    if (w.list_begin(names.size())) {
        for (auto n : names) w.text(n);
        w.end();
    }
    return out;
}

std::string encode_ekg_done() {
    std::string out;
    cbor_writer w(out);
    w.array(1);
    w.uint(1);
    return out;
}

result<ekg_request> decode_ekg_request(std::string_view msg) {
    cbor_reader r(msg);
    std::uint64_t len, tag;
    if (auto ec = r.read_definite_array(len)) return ec;
    if (auto ec = r.read_uint(tag)) return ec;
    ekg_request req;
    if (tag == 1 && len == 1) {
        req.done = true;
    } else if (tag == 0 && len == 2) {
        std::uint64_t rlen, rtag;
        if (auto ec = r.read_definite_array(rlen)) return ec;
        if (auto ec = r.read_uint(rtag)) return ec;
        if ((rtag == 0 || rtag == 2) && rlen == 1) {
            req.kind = static_cast<ekg_request_kind>(rtag);
        } else if (rtag == 1 && rlen == 2) {
            req.kind = ekg_request_kind::get_metrics;
            std::optional<std::uint64_t> n;
            if (auto ec = r.read_array(n)) return ec;
            for (std::uint64_t i = 0;; ++i) {
                if (n ? i == *n : r.peek_break()) break;
                if (r.at_end()) return errc::truncated;
                std::string_view name;
                if (auto ec = r.read_text(name)) return ec;
                req.names.push_back(name);
            }
            if (!n) {
                if (auto ec = r.read_break()) return ec;
            }
            if (req.names.empty()) return errc::wrong_length;  // NonEmpty
        } else {
            return errc::unexpected_message;
        }
    } else {
        return errc::unexpected_message;
    }
    if (!r.at_end()) return errc::trailing_bytes;
    return req;
}

std::string encode_ekg_response(std::span<const ekg_entry_view> entries) {
    std::string out;
    cbor_writer w(out);
    w.array(2);
    w.uint(1);
    w.array(2);  // ResponseMetrics: Generic single field → [0, list]
    w.uint(0);
    if (w.list_begin(entries.size())) {
        for (const auto& e : entries) {
            w.array(2);
            w.text(e.name);
            w.array(2);
            w.uint(static_cast<std::uint64_t>(e.value.kind));
            if (e.value.kind == metric_kind::label) {
                w.text(e.value.text);
            } else {
                w.integer(e.value.number);
            }
        }
        w.end();
    }
    return out;
}

std::error_code decode_ekg_response(std::string_view msg, ekg_response_view& out) {
    out.entries.clear();
    cbor_reader r(msg);
    std::uint64_t len, tag, rlen, rtag;
    CT_TRY(r.read_definite_array(len));
    CT_TRY(r.read_uint(tag));
    if (tag != 1 || len != 2) return errc::unexpected_message;
    CT_TRY(r.read_definite_array(rlen));
    CT_TRY(r.read_uint(rtag));
    if (rtag != 0 || rlen != 2) return errc::unexpected_type;
    std::optional<std::uint64_t> n;
    CT_TRY(r.read_array(n));
    for (std::uint64_t i = 0;; ++i) {
        if (n ? i == *n : r.peek_break()) break;
        if (r.at_end()) return errc::truncated;
        ekg_entry_view e;
        std::uint64_t plen, vlen, kind;
        CT_TRY(r.read_definite_array(plen));
        if (plen != 2) return errc::wrong_length;
        CT_TRY(r.read_text(e.name));
        CT_TRY(r.read_definite_array(vlen));
        if (vlen != 2) return errc::wrong_length;
        CT_TRY(r.read_uint(kind));
        if (kind > 2) return errc::integer_out_of_range;
        e.value.kind = static_cast<metric_kind>(kind);
        if (e.value.kind == metric_kind::label) {
            CT_TRY(r.read_text(e.value.text));
        } else {
            CT_TRY(r.read_int(e.value.number));
        }
        out.entries.push_back(e);
    }
    if (!n) CT_TRY(r.read_break());
    if (!r.at_end()) return errc::trailing_bytes;
    return {};
}

}  // namespace ct::protocol
