#include "protocol/data_points_codec.hpp"

#include "protocol/cbor_reader.hpp"
#include "protocol/cbor_writer.hpp"

namespace ct::protocol {

#define CT_TRY(expr)                       \
    do {                                   \
        if (auto ec_ = (expr)) return ec_; \
    } while (0)

std::string encode_data_points_request(const std::vector<std::string_view>& names) {
    std::string out;
    cbor_writer w(out);
    w.array(2);
    w.uint(1);
    if (w.list_begin(names.size())) {
        for (auto n : names) w.text(n);
        w.end();
    }
    return out;
}

std::string encode_data_points_done() {
    std::string out;
    cbor_writer w(out);
    w.array(1);
    w.uint(2);
    return out;
}

result<data_points_request> decode_data_points_request(std::string_view msg) {
    cbor_reader r(msg);
    std::uint64_t len, tag;
    if (auto ec = r.read_definite_array(len)) return ec;
    if (auto ec = r.read_uint(tag)) return ec;
    data_points_request req;
    if (tag == 2 && len == 1) {
        req.done = true;
    } else if (tag == 1 && len == 2) {
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
    } else {
        return errc::unexpected_message;
    }
    if (!r.at_end()) return errc::trailing_bytes;
    return req;
}

std::string encode_data_points_reply(
    const std::vector<std::pair<std::string_view, std::optional<std::string_view>>>& values) {
    std::string out;
    cbor_writer w(out);
    w.array(2);
    w.uint(3);
    if (w.list_begin(values.size())) {
        for (const auto& [name, value] : values) {
            w.array(2);
            w.text(name);
            if (!value) {
                w.array(0);
                continue;
            }
            w.array(1);
            // A lazy ByteString: indefinite byte string; aeson's output is one chunk for
            // values of ordinary size.
            w.bytes_begin();
            if (!value->empty()) w.bytes(*value);
            w.end();
        }
        w.end();
    }
    return out;
}

std::error_code decode_data_points_reply(std::string_view msg, data_points_reply_view& out) {
    out.values.clear();
    out.joined.clear();
    cbor_reader r(msg);
    std::uint64_t len, tag;
    CT_TRY(r.read_definite_array(len));
    CT_TRY(r.read_uint(tag));
    if (tag != 3 || len != 2) return errc::unexpected_message;
    std::optional<std::uint64_t> n;
    CT_TRY(r.read_array(n));
    for (std::uint64_t i = 0;; ++i) {
        if (n ? i == *n : r.peek_break()) break;
        if (r.at_end()) return errc::truncated;
        std::uint64_t plen, maybe;
        std::string_view name;
        CT_TRY(r.read_definite_array(plen));
        if (plen != 2) return errc::wrong_length;
        CT_TRY(r.read_text(name));
        CT_TRY(r.read_definite_array(maybe));
        if (maybe > 1) return errc::wrong_length;
        if (maybe == 0) {
            out.values.emplace_back(name, std::nullopt);
            continue;
        }
        if (r.at_end()) return errc::truncated;
        if (static_cast<unsigned char>(r.rest()[0]) == 0x5f) {
            // Indefinite byte string: concatenate its chunks (zero-copy when there is one).
            r = cbor_reader(r.rest().substr(1));
            std::string_view first;
            std::string* joined = nullptr;
            std::size_t chunks = 0;
            while (!r.peek_break()) {
                if (r.at_end()) return errc::truncated;
                std::string_view chunk;
                CT_TRY(r.read_bytes(chunk));
                if (chunks == 0) {
                    first = chunk;
                } else {
                    if (!joined) joined = &out.joined.emplace_back(first);
                    joined->append(chunk);
                }
                ++chunks;
            }
            CT_TRY(r.read_break());
            out.values.emplace_back(name, joined ? std::string_view(*joined) : first);
        } else {
            std::string_view value;
            CT_TRY(r.read_bytes(value));
            out.values.emplace_back(name, value);
        }
    }
    if (!n) CT_TRY(r.read_break());
    if (!r.at_end()) return errc::trailing_bytes;
    return {};
}

}  // namespace ct::protocol
