#include "protocol/demuxer.hpp"

#include <algorithm>

#include "protocol/cbor_item.hpp"

namespace ct::protocol {

namespace {
/// A stream buffer at or under this capacity is kept whatever the traffic.
constexpr std::size_t released_capacity_floor = 8 * 1024;
}  // namespace

demuxer::demuxer(bool local_is_initiator, demux_limits limits)
    : local_is_initiator_(local_is_initiator), limits_(limits) {}

std::error_code demuxer::feed(std::string_view bytes) {
    while (!bytes.empty()) {
        if (payload_left_ == 0) {
            const std::size_t take = std::min(bytes.size(), sdu_header_size - header_fill_);
            std::copy_n(bytes.data(), take, header_.data() + header_fill_);
            header_fill_ += take;
            bytes.remove_prefix(take);
            if (header_fill_ < sdu_header_size) return {};
            header_fill_ = 0;
            const auto h = decode_sdu_header(header_.data());
            if (h.length == 0) return errc::zero_length_sdu;
            if (h.protocol > mini_protocol::data_points) return errc::unknown_protocol;
            if (h.protocol == mini_protocol::handshake) {
                // The Haskell handshake reader checks neither number nor M bit; after the
                // handshake protocol 0 is unknown to the mux.
                if (handshake_done_) return errc::unknown_protocol;
            } else if (h.from_responder != local_is_initiator_) {
                // Peer's SDUs carry M=1 iff the peer is the responder, i.e. we initiated.
                return errc::wrong_mode_bit;
            }
            ++sdus_;
            payload_left_ = h.length;
            payload_protocol_ = h.protocol;
        }
        const std::size_t take = std::min(bytes.size(), payload_left_);
        auto& s = streams_[payload_protocol_];
        s.buf.append(bytes.data(), take);
        backlog_ += take;
        payload_left_ -= take;
        bytes.remove_prefix(take);
        if (backlog_ > limits_.max_backlog_bytes) return errc::backlog_too_large;
        const std::size_t limit = payload_protocol_ == mini_protocol::handshake
                                      ? max_handshake_message_bytes
                                      : limits_.max_message_bytes;
        if (s.current_len == 0 && s.buf.size() - s.start > limit &&
            !scan_cbor_item(std::string_view(s.buf).substr(s.start), limit).complete()) {
            return errc::message_too_large;
        }
    }
    return {};
}

result<std::optional<std::string_view>> demuxer::next_message(std::uint16_t protocol) {
    if (protocol >= streams_.size()) return errc::unknown_protocol;
    auto& s = streams_[protocol];
    const std::string_view pending = std::string_view(s.buf).substr(s.start);
    if (s.current_len > 0) return std::optional<std::string_view>(pending.substr(0, s.current_len));
    if (pending.empty() || s.buf.size() < s.scan_at_size) return std::optional<std::string_view>();
    const std::size_t limit = protocol == mini_protocol::handshake ? max_handshake_message_bytes
                                                                   : limits_.max_message_bytes;
    // Resumed where the last call stopped: each byte of a message is scanned once.
    if (!s.scanner) s.scanner.emplace(limit);
    const auto scan = s.scanner->scan(pending);
    if (scan.error) return scan.error;
    if (!scan.complete()) {
        s.scan_at_size = s.start + std::max<std::size_t>(scan.needed, pending.size() + 1);
        return std::optional<std::string_view>();
    }
    s.current_len = scan.length;
    return std::optional<std::string_view>(pending.substr(0, s.current_len));
}

std::size_t demuxer::buffer_capacity() const {
    std::size_t total = 0;
    for (const auto& s : streams_) total += s.buf.capacity();
    return total;
}

std::string_view demuxer::buffered(std::uint16_t protocol) const {
    if (protocol >= streams_.size()) return {};
    const auto& s = streams_[protocol];
    return std::string_view(s.buf).substr(s.start);
}

bool demuxer::scanning(std::uint16_t protocol) const {
    return protocol < streams_.size() && streams_[protocol].scanner &&
           streams_[protocol].scanner->started();
}

void demuxer::pop_message(std::uint16_t protocol) {
    if (protocol >= streams_.size()) return;
    consume_message(protocol, streams_[protocol].current_len);
}

void demuxer::consume_message(std::uint16_t protocol, std::size_t length) {
    if (protocol >= streams_.size()) return;
    auto& s = streams_[protocol];
    length = std::min(length, s.buf.size() - s.start);
    if (length == 0) return;
    s.start += length;
    backlog_ -= length;
    s.current_len = 0;
    s.scan_at_size = 0;
    if (s.scanner) s.scanner->reset();
    // Compact when the consumed prefix dominates, so the buffer does not grow forever.
    if (s.start == s.buf.size()) {
        // Memory follows the traffic: a stream whose messages have been small for a while
        // gives back the room a burst of large ones left (an idle node keeps a few KiB).
        s.recent_peak = std::max(s.recent_peak - s.recent_peak / 4, s.buf.size());
        if (s.buf.capacity() > released_capacity_floor && s.buf.capacity() > 4 * s.recent_peak) {
            std::string().swap(s.buf);
        } else {
            s.buf.clear();
        }
        s.start = 0;
    } else if (s.start > 64 * 1024 && s.start * 2 > s.buf.size()) {
        s.buf.erase(0, s.start);
        s.start = 0;
    }
}

}  // namespace ct::protocol
