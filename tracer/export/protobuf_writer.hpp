// The few protobuf wire-format primitives the exporters write by hand (remote write, OTLP):
// varints, tags, fixed-width numbers and length-delimited fields, appended to a string.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ct::tracer::exporting::pb {

enum wire : std::uint32_t { varint = 0, fixed64 = 1, length = 2, fixed32 = 5 };

inline void put_varint(std::string& out, std::uint64_t v) {
    char b[10];  // one append, not one push_back per byte (this is on the exporters' hot path)
    std::size_t n = 0;
    while (v >= 0x80) {
        b[n++] = static_cast<char>(v | 0x80);
        v >>= 7;
    }
    b[n++] = static_cast<char>(v);
    out.append(b, n);
}

inline std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

inline void put_tag(std::string& out, std::uint32_t field, wire w) {
    put_varint(out, (std::uint64_t{field} << 3) | w);
}

inline void put_fixed64(std::string& out, std::uint32_t field, std::uint64_t v) {
    put_tag(out, field, fixed64);
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out.append(b, 8);
}

inline void put_double(std::string& out, std::uint32_t field, double d) {
    std::uint64_t v;
    std::memcpy(&v, &d, sizeof v);
    put_fixed64(out, field, v);
}

/// A length-delimited field (string, bytes or an already encoded message).
inline void put_bytes(std::string& out, std::uint32_t field, std::string_view bytes) {
    put_tag(out, field, length);
    put_varint(out, bytes.size());
    out.append(bytes);
}

/// Only the tag and length of a length-delimited field whose `size` bytes follow.
inline void put_header(std::string& out, std::uint32_t field, std::size_t size) {
    put_tag(out, field, length);
    put_varint(out, size);
}

}  // namespace ct::tracer::exporting::pb
