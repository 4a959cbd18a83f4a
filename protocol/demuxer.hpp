// Receive side of the mux (spec §2.4–§2.6): parses SDU headers across arbitrary read
// boundaries, checks them, appends payloads to per-protocol buffers and cuts messages at CBOR
// item boundaries. Not thread-safe: one per connection, used on the connection's strand.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "protocol/cbor_item.hpp"
#include "protocol/errors.hpp"
#include "protocol/sdu.hpp"

namespace ct::protocol {

inline constexpr std::size_t max_handshake_message_bytes = 5760;

struct demux_limits {
    std::size_t max_message_bytes = 32u << 20;  // largest accepted message of protocols 1..3
    std::size_t max_backlog_bytes = 64u << 20;  // received bytes not yet consumed, all protocols
};

class demuxer {
  public:
    /// `local_is_initiator`: we opened the connection, so the peer's SDUs must carry M=1.
    demuxer(bool local_is_initiator, demux_limits limits = {});

    /// Consumes raw socket bytes. An error is fatal for the connection.
    std::error_code feed(std::string_view bytes);

    /// The next complete message of `protocol` (nullopt if none yet), or an error when the
    /// buffered bytes cannot become a valid message. The view stays valid until the next
    /// feed() or pop_message() of that protocol.
    result<std::optional<std::string_view>> next_message(std::uint16_t protocol);
    void pop_message(std::uint16_t protocol);

    /// Decode-first, for a caller whose decoder finds message ends itself: the bytes buffered
    /// for `protocol` from the start of its next message (possibly incomplete, possibly more
    /// than one message). The view stays valid until the next feed() or consume.
    std::string_view buffered(std::uint16_t protocol) const;
    /// Consumes the first `length` buffered bytes of `protocol`: one whole message.
    void consume_message(std::uint16_t protocol, std::size_t length);
    /// Whether `next_message` has begun scanning the message at the front (decode-first
    /// found it incomplete once: the scan then says when it is whole).
    bool scanning(std::uint16_t protocol) const;

    /// After the handshake, protocol 0 is no longer allowed.
    void handshake_done() { handshake_done_ = true; }

    std::size_t backlog_bytes() const { return backlog_; }
    /// Memory the per-protocol buffers hold (capacity, not content).
    std::size_t buffer_capacity() const;
    std::uint64_t sdus_received() const { return sdus_; }

  private:
    struct stream {
        std::string buf;
        std::size_t start = 0;         // first unconsumed byte
        std::size_t current_len = 0;   // length of the complete message at `start`, 0 = unknown
        std::size_t scan_at_size = 0;  // rescan only when buf.size() reaches this
        std::optional<cbor_item_scanner> scanner;  // the message at `start`, scanned so far
        std::size_t recent_peak = 0;  // buffered bytes when emptied, decaying: sizes `buf`
    };

    bool local_is_initiator_;
    demux_limits limits_;
    bool handshake_done_ = false;
    std::array<char, sdu_header_size> header_{};
    std::size_t header_fill_ = 0;
    std::size_t payload_left_ = 0;
    std::uint16_t payload_protocol_ = 0;
    std::array<stream, 4> streams_;
    std::size_t backlog_ = 0;
    std::uint64_t sdus_ = 0;
};

}  // namespace ct::protocol
