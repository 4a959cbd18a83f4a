// Fuzzes the TraceObjects decoders (reply, request) and re-encodes what decodes; checks that
// decode-first finds the same message end as the CBOR scan.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/cbor_item.hpp"
#include "protocol/trace_objects_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view msg(reinterpret_cast<const char*>(data), size);
    ct::protocol::trace_objects_reply_decoder d;
    std::vector<ct::protocol::trace_object_view> out;
    if (!d.decode(msg, out)) {
        std::string re;
        for (const auto& o : out) ct::protocol::encode_trace_object(o, re);
    }
    // Decode-first (the session's path): what decode_front accepts at the front of any bytes
    // is exactly one whole CBOR item, the one the scanner finds.
    std::size_t used = 0;
    if (!d.decode_front(msg, out, used)) {
        const auto scan = ct::protocol::scan_cbor_item(msg, 1 << 30);
        if (!scan.complete() || scan.length != used) __builtin_trap();
    }
    (void)ct::protocol::decode_trace_objects_request(msg);
    return 0;
}
