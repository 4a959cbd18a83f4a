// Handshake, mini-protocol 0 (spec §3): propose {1: magic}, accept only version 1 with an equal
// magic, refuse with the exact Haskell encodings and texts. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ct::protocol {

inline constexpr std::uint64_t forwarding_version = 1;

std::string encode_propose_versions(std::uint32_t magic);
std::string encode_accept_version(std::uint32_t magic);

/// Server side: what to answer to a proposal.
struct handshake_decision {
    bool accepted = false;
    std::string
        reply_payload;  // MsgAcceptVersion or MsgRefuse; empty if the proposal did not decode
    std::string refuse_reason;  // readable reason when refused
};
handshake_decision decide_handshake(std::string_view proposal, std::uint32_t local_magic);

/// Client side: is the server's reply an acceptance of our proposal?
struct handshake_check {
    bool accepted = false;
    std::string reason;  // readable reason when not accepted
};
handshake_check check_handshake_reply(std::string_view reply, std::uint32_t local_magic);

/// The Refused text of a magic mismatch (spec §3.5): local first, remote second.
std::string magic_mismatch_text(std::uint64_t local, std::uint64_t remote);

}  // namespace ct::protocol
