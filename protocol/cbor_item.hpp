// Finds where the CBOR data item at the front of a buffer ends — the message boundary rule of
// the mux (a message is exactly one top-level item). Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

namespace ct::protocol {

struct item_scan {
    std::error_code error;   // malformed input, too deep, or a declared size over the limit
    std::size_t length = 0;  // > 0: the complete item's size
    std::size_t needed = 0;  // when incomplete: scanning again is pointless below this size
    bool complete() const { return !error && length > 0; }
};

/// Scans the item at the front of `buf`. Strings declared longer than `max_item_bytes` are an
/// error at once (so a huge length head cannot make us wait for gigabytes).
item_scan scan_cbor_item(std::string_view buf, std::size_t max_item_bytes, int max_depth = 64);

/// The same rule, resumable: scanning continues where the previous call stopped, so a message
/// that arrives in many pieces is scanned once in all, not once per piece. `scan(buf)` is
/// called with the growing message (the same prefix each time, longer); `reset()` starts the
/// next message. Results equal `scan_cbor_item` on the same bytes.
class cbor_item_scanner {
  public:
    explicit cbor_item_scanner(std::size_t max_item_bytes, int max_depth = 64)
        : max_item_(max_item_bytes), max_depth_(static_cast<std::size_t>(max_depth)) {}
    item_scan scan(std::string_view buf);
    bool started() const { return started_; }
    void reset() {
        pos_ = 0;
        frames_.clear();
        started_ = false;
    }

  private:
    struct frame {
        std::uint64_t remaining;    // definite: items still to come; indefinite: items seen
        std::uint8_t string_major;  // indefinite string: 2 or 3; else 0
        bool indefinite;
        bool map;  // an indefinite map ends only between pairs
    };
    std::size_t max_item_;
    std::size_t max_depth_;
    std::size_t pos_ = 0;
    std::vector<frame> frames_;
    bool started_ = false;
};

}  // namespace ct::protocol
