#include "protocol/sdu.hpp"

#include <algorithm>

namespace ct::protocol {

void encode_sdu_header(const sdu_header& h, char out[sdu_header_size]) {
    const std::uint16_t word =
        static_cast<std::uint16_t>((h.protocol & 0x7fff) | (h.from_responder ? 0x8000 : 0));
    out[0] = static_cast<char>(h.timestamp_us >> 24);
    out[1] = static_cast<char>(h.timestamp_us >> 16);
    out[2] = static_cast<char>(h.timestamp_us >> 8);
    out[3] = static_cast<char>(h.timestamp_us);
    out[4] = static_cast<char>(word >> 8);
    out[5] = static_cast<char>(word);
    out[6] = static_cast<char>(h.length >> 8);
    out[7] = static_cast<char>(h.length);
}

sdu_header decode_sdu_header(const char in[sdu_header_size]) {
    const auto b = [&](int i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(in[i]));
    };
    sdu_header h;
    h.timestamp_us = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
    const std::uint32_t word = (b(4) << 8) | b(5);
    h.from_responder = (word & 0x8000) != 0;
    h.protocol = static_cast<std::uint16_t>(word & 0x7fff);
    h.length = static_cast<std::uint16_t>((b(6) << 8) | b(7));
    return h;
}

void append_sdus(std::string& out,
                 std::uint16_t protocol,
                 bool from_responder,
                 std::string_view payload,
                 std::uint32_t timestamp_us,
                 std::size_t max_payload) {
    max_payload = std::clamp<std::size_t>(max_payload, 1, 65535);
    out.reserve(out.size() + payload.size() + sdu_header_size * (payload.size() / max_payload + 1));
    while (!payload.empty()) {
        const std::size_t n = std::min(payload.size(), max_payload);
        sdu_header h{timestamp_us, from_responder, protocol, static_cast<std::uint16_t>(n)};
        char head[sdu_header_size];
        encode_sdu_header(h, head);
        out.append(head, sdu_header_size);
        out.append(payload.substr(0, n));
        payload.remove_prefix(n);
    }
}

sdu_stream::sdu_stream(std::string& out,
                       std::uint16_t protocol,
                       bool from_responder,
                       std::uint32_t timestamp_us,
                       std::size_t max_payload)
    : out_(out),
      header_{timestamp_us, from_responder, protocol, 0},
      max_payload_(std::clamp<std::size_t>(max_payload, 1, 65535)),
      header_at_(out.size()) {}

void sdu_stream::reserve(std::size_t payload_bytes) {
    out_.reserve(out_.size() + payload_bytes +
                 sdu_header_size * (payload_bytes / max_payload_ + 2));
}

void sdu_stream::append(std::string_view bytes) {
    while (!bytes.empty()) {
        if (open_ && in_sdu_ == max_payload_) close_sdu();
        if (!open_) {
            header_at_ = out_.size();
            out_.append(sdu_header_size, '\0');
            in_sdu_ = 0;
            open_ = true;
        }
        const std::size_t n = std::min(bytes.size(), max_payload_ - in_sdu_);
        out_.append(bytes.data(), n);
        in_sdu_ += n;
        bytes.remove_prefix(n);
    }
}

void sdu_stream::close_sdu() {
    if (!open_) return;
    header_.length = static_cast<std::uint16_t>(in_sdu_);
    encode_sdu_header(header_, out_.data() + header_at_);
    open_ = false;
}

}  // namespace ct::protocol
