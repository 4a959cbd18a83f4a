// Fuzzes the TraceObjects decoders (reply, request) and re-encodes what decodes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/trace_objects_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view msg(reinterpret_cast<const char*>(data), size);
    ct::protocol::trace_objects_reply_decoder d;
    std::vector<ct::protocol::trace_object_view> out;
    if (!d.decode(msg, out)) {
        std::string re;
        for (const auto& o : out) ct::protocol::encode_trace_object(o, re);
    }
    (void)ct::protocol::decode_trace_objects_request(msg);
    return 0;
}
