// Codec of mini-protocol 3, DataPoints (spec §7): requests by name, replies with optional
// JSON values carried as (indefinite) byte strings. Decoders reuse their output's storage.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/errors.hpp"

namespace ct::protocol {

std::string encode_data_points_request(const std::vector<std::string_view>& names);
std::string encode_data_points_done();  // [2]

struct data_points_request {
    bool done = false;
    std::vector<std::string_view> names;
};
result<data_points_request> decode_data_points_request(std::string_view msg);

/// Values as the node sends them: `Nothing`, or JSON bytes.
std::string encode_data_points_reply(
    const std::vector<std::pair<std::string_view, std::optional<std::string_view>>>& values);

struct data_points_reply_view {
    std::vector<std::pair<std::string_view, std::optional<std::string_view>>> values;
    std::deque<std::string> joined;  // values sent in several chunks, concatenated
};
std::error_code decode_data_points_reply(std::string_view msg, data_points_reply_view& out);

}  // namespace ct::protocol
