// Appends CBOR with the conventions of Haskell's cborg writer: every head in its shortest form.
// Not thread-safe; writes into a caller-owned string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ct::protocol {

class cbor_writer {
  public:
    explicit cbor_writer(std::string& out) : out_(out) {}

    void uint(std::uint64_t v) { head(0, v); }
    void integer(std::int64_t v) {
        if (v >= 0) {
            head(0, static_cast<std::uint64_t>(v));
        } else {
            head(1, static_cast<std::uint64_t>(-(v + 1)));
        }
    }
    void bytes(std::string_view b) {
        head(2, b.size());
        out_.append(b);
    }
    void text(std::string_view t) {
        head(3, t.size());
        out_.append(t);
    }
    void array(std::uint64_t n) { head(4, n); }
    void map(std::uint64_t n) { head(5, n); }
    void tag(std::uint64_t t) { head(6, t); }
    void boolean(bool b) { out_.push_back(static_cast<char>(b ? 0xf5 : 0xf4)); }
    void array_begin() { out_.push_back(static_cast<char>(0x9f)); }  // indefinite array
    void bytes_begin() { out_.push_back(static_cast<char>(0x5f)); }  // indefinite byte string
    void end() { out_.push_back(static_cast<char>(0xff)); }          // break
    void raw(std::string_view encoded) { out_.append(encoded); }

    /// Haskell `[a]`: `80` when empty, otherwise an indefinite array; call `end()` after items.
    /// Returns whether items follow.
    bool list_begin(std::size_t n) {
        if (n == 0) {
            array(0);
            return false;
        }
        array_begin();
        return true;
    }

  private:
    void head(std::uint8_t major, std::uint64_t v) {
        const auto m = static_cast<std::uint8_t>(major << 5);
        if (v < 24) {
            out_.push_back(static_cast<char>(m | v));
        } else if (v <= 0xff) {
            out_.push_back(static_cast<char>(m | 24));
            out_.push_back(static_cast<char>(v));
        } else if (v <= 0xffff) {
            out_.push_back(static_cast<char>(m | 25));
            put_be(v, 2);
        } else if (v <= 0xffffffffull) {
            out_.push_back(static_cast<char>(m | 26));
            put_be(v, 4);
        } else {
            out_.push_back(static_cast<char>(m | 27));
            put_be(v, 8);
        }
    }
    void put_be(std::uint64_t v, int n) {
        for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }

    std::string& out_;
};

}  // namespace ct::protocol
