// Readable one-line descriptions of mini-protocol messages, for verbosity "Maximum" and
// debugging. Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ct::protocol {

std::string describe_message(std::uint16_t protocol, std::string_view msg);

}  // namespace ct::protocol
