// A zero-copy CBOR reader over one buffer: text and byte strings come back as views into it.
// Every read checks bounds and returns an error value on bad input. Not thread-safe; cheap to
// copy (a view and a position).
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>

#include "protocol/errors.hpp"

namespace ct::protocol {

/// Validates UTF-8 with simdjson's vectorised validator (the runtime-selected SIMD kernel).
bool valid_utf8_simd(std::string_view s);

/// Whether every byte of a text of 64 bytes or more is ASCII, 128 bytes per step with AVX2 when
/// the CPU has it (asked once), else detail::all_ascii_words. A machine text of ~470 bytes:
/// 4.3 ns against 11.7 (docs/benchmarks.md).
bool all_ascii_long(const char* p, std::size_t n);

namespace detail {
inline constexpr std::uint64_t high_bits = 0x8080808080808080ull;

inline std::uint64_t load_u64(const char* q) {
    std::uint64_t w;
    std::memcpy(&w, q, 8);
    return w;
}

/// For n >= 8: 32 bytes per step, then 8, then one overlapping load for the tail (no byte
/// loop).
inline bool all_ascii_words(const char* p, std::size_t n) {
    std::uint64_t acc = 0;
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32)
        acc |= load_u64(p + i) | load_u64(p + i + 8) | load_u64(p + i + 16) | load_u64(p + i + 24);
    for (; i + 8 <= n; i += 8) acc |= load_u64(p + i);
    acc |= load_u64(p + n - 8);
    return (acc & high_bits) == 0;
}

/// all_ascii_long's AVX2 way, for n >= 32 (tests run it beside all_ascii_words).
bool all_ascii_avx2(const char* p, std::size_t n);
bool cpu_has_avx2();
}  // namespace detail

/// Whether every byte is ASCII. Short texts (hosts, threads, namespaces) are checked inline.
inline bool all_ascii(std::string_view s) {
    const char* p = s.data();
    const std::size_t n = s.size();
    if (n >= 64) return all_ascii_long(p, n);
    if (n >= 8) return detail::all_ascii_words(p, n);
    std::uint64_t acc = 0;
    if (n >= 4) {
        std::uint32_t a, b;
        std::memcpy(&a, p, 4);
        std::memcpy(&b, p + n - 4, 4);
        acc = a | b;
    } else {
        for (std::size_t i = 0; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
    }
    return (acc & detail::high_bits) == 0;
}

/// Validates UTF-8. Trace texts are nearly always ASCII, which is checked inline; any other
/// text goes to the SIMD validator.
inline bool valid_utf8(std::string_view s) { return all_ascii(s) || valid_utf8_simd(s); }

class cbor_reader {
  public:
    explicit cbor_reader(std::string_view buf) : buf_(buf) {}

    std::size_t position() const { return pos_; }
    bool at_end() const { return pos_ >= buf_.size(); }
    std::string_view rest() const { return buf_.substr(pos_); }

    /// Major type (0..7) of the next item, or nullopt at the end.
    std::optional<int> peek_major() const {
        if (at_end()) return std::nullopt;
        return static_cast<unsigned char>(buf_[pos_]) >> 5;
    }
    bool peek_break() const { return !at_end() && static_cast<unsigned char>(buf_[pos_]) == 0xff; }
    decode_status read_break();
    /// Consumes `bytes` when the input continues with exactly them (a fast path for items whose
    /// encoding is known in advance; the caller falls back to the item readers otherwise).
    bool skip_exact(std::string_view bytes) {
        if (buf_.size() - pos_ < bytes.size() ||
            std::memcmp(buf_.data() + pos_, bytes.data(), bytes.size()) != 0)
            return false;
        pos_ += bytes.size();
        return true;
    }
    /// Consumes `[v]` with v < 24 encoded in one byte (a nullary constructor), when it comes
    /// next.
    bool skip_small_enum(std::uint64_t& v) {
        if (buf_.size() - pos_ < 2 || static_cast<unsigned char>(buf_[pos_]) != 0x81 ||
            static_cast<unsigned char>(buf_[pos_ + 1]) >= 24)
            return false;
        v = static_cast<unsigned char>(buf_[pos_ + 1]);
        pos_ += 2;
        return true;
    }

    decode_status read_uint(std::uint64_t& v);
    /// Major type 0 or 1 within int64 range.
    decode_status read_int(std::int64_t& v);
    decode_status read_bool(bool& v);
    decode_status read_tag(std::uint64_t& t);
    /// Definite text string, UTF-8 validated.
    decode_status read_text(std::string_view& t);
    /// Definite byte string.
    decode_status read_bytes(std::string_view& b);
    /// Array head: `len` is nullopt for an indefinite array.
    decode_status read_array(std::optional<std::uint64_t>& len);
    /// Array head that must be definite.
    decode_status read_definite_array(std::uint64_t& len);
    decode_status read_definite_map(std::uint64_t& len);
    /// A float (major 7, half/single/double) or an integer, as double.
    decode_status read_number(double& v);
    /// Skips one complete data item.
    decode_status skip(int depth_limit = 64);

  private:
    decode_status read_head(int& major, std::uint64_t& arg, bool& indefinite);
    /// A head of major type `major`; on a different type the position is left unchanged.
    decode_status read_head_of(int major, std::uint64_t& arg, bool& indefinite);
    /// A definite string of major type 2 (bytes) or 3 (text), unvalidated.
    decode_status read_string(int major_type, std::string_view& out);

    std::string_view buf_;
    std::size_t pos_ = 0;
};

// The hot readers are inline: a trace object is some 25 data items, and a call per item
// across translation units cost more than the decoding itself.

[[gnu::always_inline]] inline decode_status cbor_reader::read_head(int& major,
                                                                   std::uint64_t& arg,
                                                                   bool& indefinite) {
    major = 0;  // defined on every path: callers' compilers cannot see that errors return
    arg = 0;
    indefinite = false;
    if (at_end()) return errc::truncated;
    const auto initial = static_cast<unsigned char>(buf_[pos_]);
    major = initial >> 5;
    const unsigned info = initial & 0x1fu;
    if (info < 24) {
        arg = info;
        ++pos_;
        return {};
    }
    if (info <= 27) {
        const std::size_t extra = std::size_t{1} << (info - 24);
        if (buf_.size() - pos_ < 1 + extra) return errc::truncated;
        // Big-endian, one load per width (text lengths take 1 or 2 bytes, timestamps 8).
        const char* p = buf_.data() + pos_ + 1;
        switch (info) {
            case 24:
                arg = static_cast<unsigned char>(*p);
                break;
            case 25: {
                std::uint16_t v;
                std::memcpy(&v, p, 2);
                arg = __builtin_bswap16(v);
                break;
            }
            case 26: {
                std::uint32_t v;
                std::memcpy(&v, p, 4);
                arg = __builtin_bswap32(v);
                break;
            }
            default: {
                std::uint64_t v;
                std::memcpy(&v, p, 8);
                arg = __builtin_bswap64(v);
                break;
            }
        }
        pos_ += 1 + extra;
        return {};
    }
    if (info == 31 && major != 0 && major != 1 && major != 6) {
        indefinite = true;
        ++pos_;
        return {};
    }
    return errc::malformed_cbor;
}

[[gnu::always_inline]] inline decode_status cbor_reader::read_head_of(int major,
                                                                      std::uint64_t& arg,
                                                                      bool& indefinite) {
    const auto save = pos_;
    int actual;
    if (auto ec = read_head(actual, arg, indefinite)) return ec;
    if (actual != major) {
        pos_ = save;
        return errc::unexpected_type;
    }
    return {};
}

inline decode_status cbor_reader::read_uint(std::uint64_t& v) {
    bool indef;  // never set for major type 0
    return read_head_of(0, v, indef);
}

inline decode_status cbor_reader::read_string(int major_type, std::string_view& out) {
    const auto save = pos_;
    std::uint64_t len;
    bool indef;
    if (auto ec = read_head_of(major_type, len, indef)) return ec;
    if (indef) {
        pos_ = save;
        return errc::indefinite_not_allowed;
    }
    if (len > buf_.size() - pos_) {
        pos_ = save;
        return errc::truncated;
    }
    out = buf_.substr(pos_, static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return {};
}

inline decode_status cbor_reader::read_text(std::string_view& t) {
    const auto save = pos_;
    std::string_view text;
    if (auto ec = read_string(3, text)) return ec;
    if (!valid_utf8(text)) {
        pos_ = save;
        return errc::invalid_utf8;
    }
    t = text;
    return {};
}

inline decode_status cbor_reader::read_bytes(std::string_view& b) { return read_string(2, b); }

inline decode_status cbor_reader::read_array(std::optional<std::uint64_t>& len) {
    const auto save = pos_;
    std::uint64_t n;
    bool indef;
    if (auto ec = read_head_of(4, n, indef)) return ec;
    if (indef) {
        len.reset();
        return {};
    }
    // Each element takes at least one byte: reject absurd lengths early.
    if (n > buf_.size() - pos_) {
        pos_ = save;
        return errc::truncated;
    }
    len = n;
    return {};
}

inline decode_status cbor_reader::read_definite_array(std::uint64_t& len) {
    const auto save = pos_;
    std::optional<std::uint64_t> n;
    if (auto ec = read_array(n)) return ec;
    if (!n) {
        pos_ = save;
        return errc::indefinite_not_allowed;
    }
    len = *n;
    return {};
}

inline decode_status cbor_reader::read_int(std::int64_t& v) {
    const auto save = pos_;
    int major;
    std::uint64_t arg;
    bool indef;
    if (auto ec = read_head(major, arg, indef)) return ec;
    if (major != 0 && major != 1) {
        pos_ = save;
        return errc::unexpected_type;
    }
    if (arg > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        pos_ = save;
        return errc::integer_out_of_range;
    }
    v = major == 0 ? static_cast<std::int64_t>(arg) : -1 - static_cast<std::int64_t>(arg);
    return {};
}

inline decode_status cbor_reader::read_tag(std::uint64_t& t) {
    bool indef;  // never set for major type 6
    return read_head_of(6, t, indef);
}

inline decode_status cbor_reader::read_definite_map(std::uint64_t& len) {
    const auto save = pos_;
    bool indef;
    if (auto ec = read_head_of(5, len, indef)) return ec;
    if (indef) {
        pos_ = save;
        return errc::indefinite_not_allowed;
    }
    if (len > (buf_.size() - pos_) / 2) {
        pos_ = save;
        return errc::truncated;
    }
    return {};
}

inline decode_status cbor_reader::read_break() {
    if (!peek_break()) return at_end() ? errc::truncated : errc::unexpected_type;
    ++pos_;
    return {};
}

}  // namespace ct::protocol
