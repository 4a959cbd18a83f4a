// Fuzzes the EKG decoders and re-encodes decoded responses.
#include <cstddef>
#include <cstdint>

#include "protocol/ekg_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view msg(reinterpret_cast<const char*>(data), size);
    ct::protocol::ekg_response_view r;
    if (!ct::protocol::decode_ekg_response(msg, r))
        (void)ct::protocol::encode_ekg_response(r.entries);
    (void)ct::protocol::decode_ekg_request(msg);
    return 0;
}
