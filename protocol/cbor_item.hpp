// Finds where the CBOR data item at the front of a buffer ends — the message boundary rule of
// the mux (a message is exactly one top-level item). Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>
#include <system_error>

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

}  // namespace ct::protocol
