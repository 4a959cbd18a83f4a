// Codec of mini-protocol 2, TraceObjects (spec §6): requests, replies, MsgDone, in both
// directions. Encoders are pure; a reply decoder object reuses its storage between messages
// (not thread-safe: one per connection).
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/trace_object.hpp"

namespace ct::protocol {

std::string encode_trace_objects_request(bool blocking, std::uint16_t count);
std::string encode_trace_objects_done();  // [2]

/// One TraceObject `[0, …]` appended to `out` (the simulated node pre-encodes objects).
void encode_trace_object(const trace_object_view& o, std::string& out);
/// MsgTraceObjectsReply from already encoded TraceObjects.
std::string encode_trace_objects_reply_from_encoded(std::span<const std::string_view> encoded);
std::string encode_trace_objects_reply(std::span<const trace_object> objects);

/// What a node receives on protocol 2.
struct trace_objects_request {
    bool done = false;  // MsgDone
    bool blocking = true;
    std::uint16_t count = 0;
};
result<trace_objects_request> decode_trace_objects_request(std::string_view msg);

class trace_objects_reply_decoder {
  public:
    /// Decodes MsgTraceObjectsReply into `out` (cleared first). Views point into `msg`, or into
    /// this decoder for namespaces of old nodes sent as several segments; they stay valid until
    /// the next decode() call or the end of `msg`'s buffer.
    std::error_code decode(std::string_view msg, std::vector<trace_object_view>& out);
    /// Decodes the reply at the front of `bytes` (more may follow) and sets `used` to its
    /// length; `errc::truncated` when the bytes end inside it. The decoder checks every byte
    /// of the reply's fixed shape, so what it accepts is exactly one whole CBOR item: the
    /// message boundary is found in the same pass (no separate scan).
    std::error_code decode_front(std::string_view bytes,
                                 std::vector<trace_object_view>& out,
                                 std::size_t& used);

  private:
    std::deque<std::string> joined_;
};

}  // namespace ct::protocol
