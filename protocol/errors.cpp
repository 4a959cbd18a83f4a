#include "protocol/errors.hpp"

#include <string>

namespace ct::protocol {
namespace {

class category : public std::error_category {
  public:
    const char* name() const noexcept override { return "forwarding-protocol"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::truncated:
                return "the message ends inside a CBOR data item";
            case errc::malformed_cbor:
                return "malformed CBOR";
            case errc::unexpected_type:
                return "unexpected CBOR type or value";
            case errc::wrong_length:
                return "unexpected array or map length";
            case errc::indefinite_not_allowed:
                return "indefinite length where a definite length is required";
            case errc::integer_out_of_range:
                return "integer out of range";
            case errc::invalid_utf8:
                return "text string is not valid UTF-8";
            case errc::unexpected_message:
                return "message not allowed in this protocol state";
            case errc::message_too_large:
                return "message larger than the configured limit";
            case errc::backlog_too_large:
                return "too many received bytes waiting to be processed";
            case errc::zero_length_sdu:
                return "SDU with payload length 0";
            case errc::unknown_protocol:
                return "SDU for an unknown mini-protocol number";
            case errc::wrong_mode_bit:
                return "SDU with the wrong mode (direction) bit";
            case errc::too_deeply_nested:
                return "CBOR nested too deeply";
            case errc::trailing_bytes:
                return "bytes after the end of the message";
            case errc::empty_reply:
                return "empty TraceObjects reply to a blocking request";
        }
        return "unknown protocol error";
    }
};

}  // namespace

const std::error_category& protocol_category() {
    static const category c;
    return c;
}

std::error_code make_error_code(errc e) { return {static_cast<int>(e), protocol_category()}; }

}  // namespace ct::protocol
