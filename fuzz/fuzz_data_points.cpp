// Fuzzes the DataPoints decoders.
#include <cstddef>
#include <cstdint>

#include "protocol/data_points_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view msg(reinterpret_cast<const char*>(data), size);
    ct::protocol::data_points_reply_view v;
    if (!ct::protocol::decode_data_points_reply(msg, v)) {
        for (const auto& [name, value] : v.values) (void)name.size(), (void)value;
    }
    (void)ct::protocol::decode_data_points_request(msg);
    return 0;
}
