#include "protocol/cbor_reader.hpp"

#include <simdjson.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace ct::protocol {

bool valid_utf8_simd(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

namespace detail {

#if defined(__x86_64__)
// Target attributes do not reach lambdas: the load is a function of its own.
__attribute__((target("avx2"))) inline __m256i load32(const char* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

__attribute__((target("avx2"))) bool all_ascii_avx2(const char* p, std::size_t n) {
    __m256i acc = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        acc = _mm256_or_si256(
            acc,
            _mm256_or_si256(_mm256_or_si256(load32(p + i), load32(p + i + 32)),
                            _mm256_or_si256(load32(p + i + 64), load32(p + i + 96))));
    }
    for (; i + 32 <= n; i += 32) acc = _mm256_or_si256(acc, load32(p + i));
    acc = _mm256_or_si256(acc, load32(p + n - 32));  // the tail, overlapping what came before
    return _mm256_movemask_epi8(acc) == 0;           // the high bit of every byte
}

bool cpu_has_avx2() {
    static const bool has = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
    }();
    return has;
}
#else
bool all_ascii_avx2(const char* p, std::size_t n) { return all_ascii_words(p, n); }
bool cpu_has_avx2() { return false; }
#endif

}  // namespace detail

bool all_ascii_long(const char* p, std::size_t n) {
    return detail::cpu_has_avx2() ? detail::all_ascii_avx2(p, n) : detail::all_ascii_words(p, n);
}

decode_status cbor_reader::read_bool(bool& v) {
    if (at_end()) return errc::truncated;
    const auto b = static_cast<unsigned char>(buf_[pos_]);
    if (b != 0xf4 && b != 0xf5) return errc::unexpected_type;
    v = b == 0xf5;
    ++pos_;
    return {};
}

decode_status cbor_reader::read_number(double& v) {
    if (at_end()) return errc::truncated;
    const auto initial = static_cast<unsigned char>(buf_[pos_]);
    if ((initial >> 5) <= 1) {
        std::int64_t i;
        if (auto ec = read_int(i)) return ec;
        v = static_cast<double>(i);
        return {};
    }
    const std::size_t avail = buf_.size() - pos_ - 1;
    const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_ + 1);
    if (initial == 0xf9) {  // half
        if (avail < 2) return errc::truncated;
        const unsigned h = (static_cast<unsigned>(p[0]) << 8) | p[1];
        const int exp = (h >> 10) & 0x1f;
        const unsigned mant = h & 0x3ff;
        double val;
        if (exp == 0) {
            val = std::ldexp(mant, -24);
        } else if (exp != 31) {
            val = std::ldexp(mant + 1024, exp - 25);
        } else {
            val = mant == 0 ? std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::quiet_NaN();
        }
        v = (h & 0x8000) ? -val : val;
        pos_ += 3;
        return {};
    }
    if (initial == 0xfa) {
        if (avail < 4) return errc::truncated;
        std::uint32_t bits = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                             (std::uint32_t{p[2]} << 8) | p[3];
        v = std::bit_cast<float>(bits);
        pos_ += 5;
        return {};
    }
    if (initial == 0xfb) {
        if (avail < 8) return errc::truncated;
        std::uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];
        v = std::bit_cast<double>(bits);
        pos_ += 9;
        return {};
    }
    return errc::unexpected_type;
}

decode_status cbor_reader::skip(int depth_limit) {
    if (depth_limit <= 0) return errc::too_deeply_nested;
    int major;
    std::uint64_t arg;
    bool indef;
    if (auto ec = read_head(major, arg, indef)) return ec;
    switch (major) {
        case 0:
        case 1:
            return {};
        case 2:
        case 3:
            if (indef) {
                while (!peek_break()) {
                    if (at_end()) return errc::truncated;
                    const auto chunk_major = static_cast<unsigned char>(buf_[pos_]) >> 5;
                    if (static_cast<int>(chunk_major) != major) return errc::malformed_cbor;
                    if ((static_cast<unsigned char>(buf_[pos_]) & 0x1f) == 31)
                        return errc::malformed_cbor;
                    if (auto ec = skip(depth_limit - 1)) return ec;
                }
                return read_break();
            }
            if (arg > buf_.size() - pos_) return errc::truncated;
            pos_ += static_cast<std::size_t>(arg);
            return {};
        case 4:
        case 5: {
            const std::uint64_t per = major == 5 ? 2 : 1;
            if (indef) {
                for (;;) {
                    if (at_end()) return errc::truncated;
                    if (peek_break()) return read_break();
                    for (std::uint64_t k = 0; k < per; ++k) {
                        if (auto ec = skip(depth_limit - 1)) return ec;
                    }
                }
            }
            if (arg > (buf_.size() - pos_)) return errc::truncated;
            for (std::uint64_t i = 0; i < arg * per; ++i) {
                if (auto ec = skip(depth_limit - 1)) return ec;
            }
            return {};
        }
        case 6:
            return skip(depth_limit - 1);
        case 7:
            if (indef) return errc::malformed_cbor;  // a stray break
            return {};
    }
    return errc::malformed_cbor;
}

}  // namespace ct::protocol
