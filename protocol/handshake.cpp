#include "protocol/handshake.hpp"

#include <optional>
#include <vector>

#include "protocol/cbor_reader.hpp"
#include "protocol/cbor_writer.hpp"

namespace ct::protocol {
namespace {

std::string refuse(std::uint64_t reason_tag, std::string_view text) {
    std::string out;
    cbor_writer w(out);
    w.array(2);
    w.uint(2);
    if (reason_tag == 0) {  // VersionMismatch [0, [our versions]]
        w.array(2);
        w.uint(0);
        w.array(1);
        w.uint(forwarding_version);
    } else {  // HandshakeDecodeError / Refused: [tag, version, text]
        w.array(3);
        w.uint(reason_tag);
        w.uint(forwarding_version);
        w.text(text);
    }
    return out;
}

// A short rendering of an unexpected CBOR term for "unknown encoding: …" (the Haskell text
// shows the cborg Term constructor; this mirrors it for the common cases).
std::string describe_term(std::string_view item) {
    cbor_reader r(item);
    if (auto m = r.peek_major()) {
        switch (*m) {
            case 1: {
                std::int64_t v;
                if (!r.read_int(v)) return "TInt (" + std::to_string(v) + ")";
                break;
            }
            case 3: {
                std::string_view t;
                if (!r.read_text(t)) return "TString \"" + std::string(t) + "\"";
                break;
            }
            case 4:
                return "TList";
            case 5:
                return "TMap";
            default:
                break;
        }
    }
    return "Term";
}

}  // namespace

std::string magic_mismatch_text(std::uint64_t local, std::uint64_t remote) {
    return "ForwardingVersionData mismatch: ForwardingVersionData {networkMagic = NetworkMagic " +
           std::to_string(local) + "} /= ForwardingVersionData {networkMagic = NetworkMagic " +
           std::to_string(remote) + "}";
}

std::string encode_propose_versions(std::uint32_t magic) {
    std::string out;
    cbor_writer w(out);
    w.array(2);
    w.uint(0);
    w.map(1);
    w.uint(forwarding_version);
    w.uint(magic);
    return out;
}

std::string encode_accept_version(std::uint32_t magic) {
    std::string out;
    cbor_writer w(out);
    w.array(3);
    w.uint(1);
    w.uint(forwarding_version);
    w.uint(magic);
    return out;
}

handshake_decision decide_handshake(std::string_view proposal, std::uint32_t local_magic) {
    handshake_decision d;
    auto undecodable = [&](std::string why) {
        d.refuse_reason = "the handshake proposal could not be decoded: " + why;
        return d;
    };
    cbor_reader r(proposal);
    std::uint64_t len, tag, entries;
    if (r.read_definite_array(len) || r.read_uint(tag))
        return undecodable("not a handshake message");
    if (tag != 0 || len != 2) return undecodable("expected MsgProposeVersions");
    if (auto ec = r.read_definite_map(entries)) return undecodable(ec.message());

    // Keep only known version numbers (1 and 2); they must be strictly ascending.
    std::optional<std::string_view> v1_data;
    std::optional<std::uint64_t> last_key;
    for (std::uint64_t i = 0; i < entries; ++i) {
        std::uint64_t key = 0;
        const bool key_is_uint = !r.read_uint(key);
        if (!key_is_uint || (key != 1 && key != 2)) {
            // Not a version number we know: skip the entry (the key too, if it was no uint).
            if (!key_is_uint) {
                if (auto ec = r.skip()) return undecodable(ec.message());
            }
            if (auto ec = r.skip()) return undecodable(ec.message());
            continue;
        }
        if (last_key && key <= *last_key) return undecodable("unordered version");
        last_key = key;
        const auto before = r.rest();
        if (auto ec = r.skip()) return undecodable(ec.message());
        if (key == forwarding_version) v1_data = before.substr(0, before.size() - r.rest().size());
    }
    if (!r.at_end()) return undecodable("bytes after the message");

    if (!v1_data) {
        d.reply_payload = refuse(0, {});
        d.refuse_reason =
            "VersionMismatch: the node proposed no version this tracer knows (ours: [1])";
        return d;
    }
    cbor_reader vr(*v1_data);
    std::uint64_t remote = 0;
    if (vr.peek_major() == 0 && !vr.read_uint(remote)) {
        if (remote > 0xffffffffull) {
            const auto text = "networkMagic out of bound: " + std::to_string(remote);
            d.reply_payload = refuse(1, text);
            d.refuse_reason = "HandshakeDecodeError: " + text;
            return d;
        }
    } else {
        const auto text = "unknown encoding: " + describe_term(*v1_data);
        d.reply_payload = refuse(1, text);
        d.refuse_reason = "HandshakeDecodeError: " + text;
        return d;
    }
    if (remote != local_magic) {
        const auto text = magic_mismatch_text(local_magic, remote);
        d.reply_payload = refuse(2, text);
        d.refuse_reason = "Refused: " + text;
        return d;
    }
    d.accepted = true;
    d.reply_payload = encode_accept_version(local_magic);
    return d;
}

handshake_check check_handshake_reply(std::string_view reply, std::uint32_t local_magic) {
    handshake_check c;
    cbor_reader r(reply);
    std::uint64_t len, tag;
    if (r.read_definite_array(len) || r.read_uint(tag)) {
        c.reason = "the handshake reply could not be decoded";
        return c;
    }
    if (tag == 1 && len == 3) {
        std::uint64_t version, magic;
        if (r.read_uint(version) || version != forwarding_version) {
            c.reason = "the node accepted a version we did not propose";
            return c;
        }
        if (r.read_uint(magic) || !r.at_end()) {
            c.reason = "the node's version data could not be decoded";
            return c;
        }
        if (magic != local_magic) {
            c.reason = "the node accepted with another network magic: " +
                       magic_mismatch_text(local_magic, magic);
            return c;
        }
        c.accepted = true;
        return c;
    }
    if (tag == 2 && len == 2) {
        std::uint64_t rlen, rtag;
        if (r.read_definite_array(rlen) || r.read_uint(rtag)) {
            c.reason = "refused (reason undecodable)";
            return c;
        }
        if (rtag == 0) {
            c.reason = "refused: VersionMismatch (the node does not speak version 1)";
        } else {
            std::uint64_t version;
            std::string_view text;
            if (rlen == 3 && !r.read_uint(version) && !r.read_text(text)) {
                c.reason = std::string("refused: ") + (rtag == 1 ? "HandshakeDecodeError: " : "") +
                           std::string(text);
            } else {
                c.reason = "refused (reason undecodable)";
            }
        }
        return c;
    }
    c.reason = "unexpected handshake reply";
    return c;
}

}  // namespace ct::protocol
