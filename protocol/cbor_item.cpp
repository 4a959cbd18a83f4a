#include "protocol/cbor_item.hpp"

#include <cstdint>

#include "protocol/errors.hpp"

namespace ct::protocol {
namespace {

// Result of scanning one item from `pos`: ok (pos advanced), incomplete (need >= `need`
// bytes in total), or an error.
enum class step { ok, incomplete, error };

struct scanner {
    std::string_view buf;
    std::size_t max_item;
    std::size_t pos = 0;
    std::size_t need = 0;
    std::error_code ec;

    step fail(errc e) {
        ec = make_error_code(e);
        return step::error;
    }
    step short_by(std::size_t total) {
        need = total;
        return step::incomplete;
    }

    step head(int& major, std::uint64_t& arg, bool& indef) {
        if (pos >= buf.size()) return short_by(pos + 1);
        const auto initial = static_cast<unsigned char>(buf[pos]);
        major = initial >> 5;
        const unsigned info = initial & 0x1f;
        indef = false;
        std::size_t extra = 0;
        if (info < 24) {
            arg = info;
        } else if (info <= 27) {
            extra = std::size_t{1} << (info - 24);
        } else if (info == 31) {
            if (major == 0 || major == 1 || major == 6) return fail(errc::malformed_cbor);
            indef = true;
            arg = 0;
        } else {
            return fail(errc::malformed_cbor);
        }
        if (buf.size() - pos < 1 + extra) return short_by(pos + 1 + extra);
        if (extra) {
            arg = 0;
            for (std::size_t k = 0; k < extra; ++k)
                arg = (arg << 8) | static_cast<unsigned char>(buf[pos + 1 + k]);
        }
        pos += 1 + extra;
        return step::ok;
    }

    step item(int depth) {
        if (depth <= 0) return fail(errc::too_deeply_nested);
        int major;
        std::uint64_t arg;
        bool indef;
        if (auto s = head(major, arg, indef); s != step::ok) return s;
        switch (major) {
            case 0:
            case 1:
                return step::ok;
            case 2:
            case 3:
                if (indef) {
                    for (;;) {
                        if (pos >= buf.size()) return short_by(pos + 1);
                        const auto b = static_cast<unsigned char>(buf[pos]);
                        if (b == 0xff) {
                            ++pos;
                            return step::ok;
                        }
                        if ((b >> 5) != major || (b & 0x1f) == 31)
                            return fail(errc::malformed_cbor);
                        if (auto s = item(depth - 1); s != step::ok) return s;
                    }
                }
                if (arg > max_item) return fail(errc::message_too_large);
                if (arg > buf.size() - pos) return short_by(pos + static_cast<std::size_t>(arg));
                pos += static_cast<std::size_t>(arg);
                return step::ok;
            case 4:
            case 5: {
                const int per = major == 5 ? 2 : 1;
                if (indef) {
                    for (;;) {
                        if (pos >= buf.size()) return short_by(pos + 1);
                        if (static_cast<unsigned char>(buf[pos]) == 0xff) {
                            ++pos;
                            return step::ok;
                        }
                        for (int k = 0; k < per; ++k) {
                            if (auto s = item(depth - 1); s != step::ok) return s;
                        }
                    }
                }
                if (arg > max_item) return fail(errc::message_too_large);
                for (std::uint64_t i = 0; i < arg * static_cast<std::uint64_t>(per); ++i) {
                    if (auto s = item(depth - 1); s != step::ok) return s;
                }
                return step::ok;
            }
            case 6:
                return item(depth - 1);
            default:  // 7: simple values and floats; a bare break is malformed
                if (indef) return fail(errc::malformed_cbor);
                return step::ok;
        }
    }
};

}  // namespace

item_scan scan_cbor_item(std::string_view buf, std::size_t max_item_bytes, int max_depth) {
    scanner s{buf, max_item_bytes, 0, 0, {}};
    item_scan out;
    switch (s.item(max_depth)) {
        case step::ok:
            out.length = s.pos;
            break;
        case step::incomplete:
            out.needed = s.need;
            if (out.needed > max_item_bytes) out.error = make_error_code(errc::message_too_large);
            break;
        case step::error:
            out.error = s.ec;
            break;
    }
    return out;
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
