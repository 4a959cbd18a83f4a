// A zero-copy CBOR reader over one buffer: text and byte strings come back as views into it.
// Every read checks bounds and returns an error value on bad input. Not thread-safe; cheap to
// copy (a view and a position).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

#include "protocol/errors.hpp"

namespace ct::protocol {

/// Validates UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view s);

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
    std::error_code read_break();

    std::error_code read_uint(std::uint64_t& v);
    /// Major type 0 or 1 within int64 range.
    std::error_code read_int(std::int64_t& v);
    std::error_code read_bool(bool& v);
    std::error_code read_tag(std::uint64_t& t);
    /// Definite text string, UTF-8 validated.
    std::error_code read_text(std::string_view& t);
    /// Definite byte string.
    std::error_code read_bytes(std::string_view& b);
    /// Array head: `len` is nullopt for an indefinite array.
    std::error_code read_array(std::optional<std::uint64_t>& len);
    /// Array head that must be definite.
    std::error_code read_definite_array(std::uint64_t& len);
    std::error_code read_definite_map(std::uint64_t& len);
    /// A float (major 7, half/single/double) or an integer, as double.
    std::error_code read_number(double& v);
    /// Skips one complete data item.
    std::error_code skip(int depth_limit = 64);

  private:
    std::error_code read_head(int& major, std::uint64_t& arg, bool& indefinite);

    std::string_view buf_;
    std::size_t pos_ = 0;
};

}  // namespace ct::protocol
