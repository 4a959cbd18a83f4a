// Fuzzes the SDU demultiplexer with reassembly: arbitrary bytes, cut at arbitrary points; each
// message it returns must be exactly one whole CBOR item (its scan resumes across pieces).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/cbor_item.hpp"
#include "protocol/demuxer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool initiator = data[0] & 1;
    const std::size_t chunk = 1 + (data[0] >> 1);
    std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    ct::protocol::demuxer d(initiator, {4096, 16384});
    if (data[0] & 0x80) d.handshake_done();
    for (std::size_t pos = 0; pos < bytes.size(); pos += chunk) {
        if (d.feed(bytes.substr(pos, chunk))) return 0;
        for (std::uint16_t p = 0; p < 4; ++p) {
            for (;;) {
                auto m = d.next_message(p);
                if (!m || !m->has_value()) break;
                // Differential: the demuxer's resumed scan found exactly one whole item, as
                // the one-shot scanner sees it.
                const auto whole = ct::protocol::scan_cbor_item(**m, 1 << 20);
                if (!whole.complete() || whole.length != (*m)->size()) __builtin_trap();
                d.pop_message(p);
            }
        }
    }
    return 0;
}
