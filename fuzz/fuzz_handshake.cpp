// Fuzzes both sides of the handshake.
#include <cstddef>
#include <cstdint>

#include "protocol/handshake.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view msg(reinterpret_cast<const char*>(data), size);
    (void)ct::protocol::decide_handshake(msg, 764824073);
    (void)ct::protocol::check_handshake_reply(msg, 764824073);
    return 0;
}
