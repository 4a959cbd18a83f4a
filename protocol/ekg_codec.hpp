// Codec of mini-protocol 1, EKG metrics (spec §8): requests, responses, MsgDone in both
// directions. Pure functions; decoded views point into the message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.hpp"

namespace ct::protocol {

enum class ekg_request_kind { get_all = 0, get_metrics = 1, get_updated = 2 };

std::string encode_ekg_request(ekg_request_kind kind);  // get_all or get_updated
std::string encode_ekg_get_metrics(std::span<const std::string_view> names);
std::string encode_ekg_done();  // [1]

struct ekg_request {
    bool done = false;
    ekg_request_kind kind = ekg_request_kind::get_updated;
    std::vector<std::string_view> names;  // get_metrics
};
result<ekg_request> decode_ekg_request(std::string_view msg);

enum class metric_kind { counter = 0, gauge = 1, label = 2 };

struct metric_value_view {
    metric_kind kind = metric_kind::gauge;
    std::int64_t number = 0;  // counter, gauge
    std::string_view text;    // label
};

struct ekg_entry_view {
    std::string_view name;
    metric_value_view value;
};

struct ekg_response_view {
    std::vector<ekg_entry_view> entries;
};

std::string encode_ekg_response(std::span<const ekg_entry_view> entries);
/// Decodes MsgResp into `out` (entries cleared first; capacity reused).
std::error_code decode_ekg_response(std::string_view msg, ekg_response_view& out);

}  // namespace ct::protocol
