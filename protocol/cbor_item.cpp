#include "protocol/cbor_item.hpp"

#include <cstdint>

#include "protocol/errors.hpp"

namespace ct::protocol {

item_scan scan_cbor_item(std::string_view buf, std::size_t max_item_bytes, int max_depth) {
    // One scanner for both uses: the one-shot scan is a resumable scan that starts afresh.
    cbor_item_scanner scanner(max_item_bytes, max_depth);
    return scanner.scan(buf);
}

item_scan cbor_item_scanner::scan(std::string_view buf) {
    item_scan out;
    const auto fail = [&](errc e) {
        out.error = make_error_code(e);
        return out;
    };
    const auto incomplete = [&](std::size_t need) {
        out.needed = need;
        if (need > max_item_) out.error = make_error_code(errc::message_too_large);
        return out;
    };
    if (!started_) {
        frames_.push_back({1, 0, false, false});  // the message: one item
        started_ = true;
    }
    for (;;) {
        if (frames_.empty()) {
            out.length = pos_;
            return out;
        }
        frame& f = frames_.back();
        // An item at nesting level L (the message is level 0) sits on L + 1 frames. The checks
        // come in the one-shot scanner's order, so both give the same verdict on every prefix.
        const bool too_deep = frames_.size() > max_depth_;
        if (!f.indefinite) {
            if (f.remaining == 0) {
                frames_.pop_back();
                continue;
            }
            if (too_deep) return fail(errc::too_deeply_nested);
        }
        if (pos_ >= buf.size()) return incomplete(pos_ + 1);
        const auto initial = static_cast<unsigned char>(buf[pos_]);
        if (f.indefinite && initial == 0xff && (!f.map || f.remaining % 2 == 0)) {
            ++pos_;
            frames_.pop_back();
            continue;
        }
        const int major = initial >> 5;
        const unsigned info = initial & 0x1f;
        if (f.string_major != 0 && (major != f.string_major || info == 31))
            return fail(errc::malformed_cbor);
        if (too_deep) return fail(errc::too_deeply_nested);
        // Read the head without committing: an item is consumed whole or not at all.
        std::uint64_t arg = info;
        std::size_t extra = 0;
        bool indef = false;
        if (info >= 24 && info <= 27) {
            extra = std::size_t{1} << (info - 24);
        } else if (info == 31) {
            if (major == 0 || major == 1 || major == 6 || major == 7)
                return fail(errc::malformed_cbor);
            indef = true;
        } else if (info > 27) {
            return fail(errc::malformed_cbor);
        }
        if (buf.size() - pos_ < 1 + extra) return incomplete(pos_ + 1 + extra);
        if (extra) {
            arg = 0;
            for (std::size_t k = 0; k < extra; ++k)
                arg = (arg << 8) | static_cast<unsigned char>(buf[pos_ + 1 + k]);
        }
        const std::size_t head = 1 + extra;
        if ((major == 2 || major == 3) && !indef) {
            if (arg > max_item_) return fail(errc::message_too_large);
            if (arg > buf.size() - pos_ - head)
                return incomplete(pos_ + head + static_cast<std::size_t>(arg));
        }
        if ((major == 4 || major == 5) && !indef && arg > max_item_)
            return fail(errc::message_too_large);
        // Commit.
        if (f.indefinite)
            ++f.remaining;
        else
            --f.remaining;
        pos_ += head;
        switch (major) {
            case 2:
            case 3:
                if (indef)
                    frames_.push_back({0, static_cast<std::uint8_t>(major), true, false});
                else
                    pos_ += static_cast<std::size_t>(arg);
                break;
            case 4:
            case 5:
                frames_.push_back({indef ? 0 : arg * (major == 5 ? 2u : 1u), 0, indef, major == 5});
                break;
            case 6:
                frames_.push_back({1, 0, false, false});
                break;
            default:
                break;
        }
    }
}

}  // namespace ct::protocol
