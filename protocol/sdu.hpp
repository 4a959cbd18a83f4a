// Mux SDU framing (spec §2): the 8-byte big-endian header and segmentation of outgoing
// messages. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ct::protocol {

inline constexpr std::size_t sdu_header_size = 8;
/// Largest SDU payload the Haskell sender uses; receivers accept up to 65535.
inline constexpr std::size_t max_sdu_payload_sent = 12288;

namespace mini_protocol {
inline constexpr std::uint16_t handshake = 0;
inline constexpr std::uint16_t ekg = 1;
inline constexpr std::uint16_t trace_objects = 2;
inline constexpr std::uint16_t data_points = 3;
}  // namespace mini_protocol

struct sdu_header {
    std::uint32_t timestamp_us = 0;  // sender's clock, never validated
    bool from_responder = false;     // the M bit: 0 = sent by the side that connected
    std::uint16_t protocol = 0;      // 15 bits
    std::uint16_t length = 0;        // payload bytes, 1..65535
};

void encode_sdu_header(const sdu_header& h, char out[sdu_header_size]);
sdu_header decode_sdu_header(const char in[sdu_header_size]);

/// Appends `payload` as SDUs of at most `max_payload` bytes each (an empty payload sends
/// nothing: a zero-length SDU is never valid).
void append_sdus(std::string& out,
                 std::uint16_t protocol,
                 bool from_responder,
                 std::string_view payload,
                 std::uint32_t timestamp_us,
                 std::size_t max_payload = max_sdu_payload_sent);

/// Writes one message as SDUs straight into `out`, piece by piece, so a sender never
/// assembles the payload in a buffer of its own first: a header is reserved when an SDU opens
/// and its length written when it closes. The bytes equal `append_sdus` of the concatenated
/// pieces. `finish()` closes the last SDU (the destructor does not: call it).
class sdu_stream {
  public:
    sdu_stream(std::string& out,
               std::uint16_t protocol,
               bool from_responder,
               std::uint32_t timestamp_us = 0,
               std::size_t max_payload = max_sdu_payload_sent);
    /// Makes room for `payload_bytes` more payload and its headers (one allocation at most).
    void reserve(std::size_t payload_bytes);
    void append(std::string_view bytes);
    void finish() { close_sdu(); }

  private:
    void close_sdu();
    std::string& out_;
    sdu_header header_;
    std::size_t max_payload_;
    std::size_t header_at_;
    std::size_t in_sdu_ = 0;
    bool open_ = false;
};

}  // namespace ct::protocol
