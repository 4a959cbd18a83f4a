#include "tracer/timeseries/parse_error.hpp"

#include <algorithm>

namespace ct::tracer::timeseries {

namespace {

constexpr std::size_t tab_width = 8;

// One code point from UTF-8 at `i` (advances i); invalid bytes count as U+FFFD.
char32_t next_code_point(std::string_view s, std::size_t& i) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t len = b < 0x80         ? 1
                            : (b >> 5) == 6  ? 2
                            : (b >> 4) == 14 ? 3
                            : (b >> 3) == 30 ? 4
                                             : 0;
    if (len == 0 || i + len > s.size()) {
        ++i;
        return 0xFFFD;
    }
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; k < len; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += len;
    return cp;
}

std::size_t code_points(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size();) {
        next_code_point(s, i);
        ++n;
    }
    return n;
}

// megaparsec's charPretty' (Text/Megaparsec/Stream.hs, 9.7.0).
std::optional<std::string> char_name(char32_t c) {
    static const char* const control[] = {"null",
                                          "start of heading",
                                          "start of text",
                                          "end of text",
                                          "end of transmission",
                                          "enquiry",
                                          "acknowledge",
                                          "bell",
                                          "backspace",
                                          "tab",
                                          "newline",
                                          "vertical tab",
                                          "form feed",
                                          "carriage return",
                                          "shift out",
                                          "shift in",
                                          "data link escape",
                                          "device control one",
                                          "device control two",
                                          "device control three",
                                          "device control four",
                                          "negative acknowledge",
                                          "synchronous idle",
                                          "end of transmission block",
                                          "cancel",
                                          "end of medium",
                                          "substitute",
                                          "escape",
                                          "file separator",
                                          "group separator",
                                          "record separator",
                                          "unit separator"};
    if (c < 0x20) return control[c];
    if (c == 0x7F) return "delete";
    if (c == 0xA0) return "non-breaking space";
    return std::nullopt;
}

}  // namespace

std::string show_error_item(const error_item& item) {
    switch (item.what) {
        case error_item::kind::label:
            return item.text;
        case error_item::kind::end_of_input:
            return "end of input";
        case error_item::kind::tokens:
            break;
    }
    const auto& t = item.text;
    if (code_points(t) == 1) {
        if (t == " ") return "space";
        std::size_t i = 0;
        if (auto name = char_name(next_code_point(t, i))) return *name;
        return "'" + t + "'";
    }
    if (t == "\r\n") return "crlf newline";
    std::string out = "\"";
    for (std::size_t i = 0; i < t.size();) {
        const auto start = i;
        const auto cp = next_code_point(t, i);
        if (auto name = char_name(cp)) {
            out += "<" + *name + ">";
        } else {
            out.append(t.substr(start, i - start));
        }
    }
    return out + "\"";
}

namespace {

struct located {
    source_position pos;
    std::size_t line_start = 0;
};

located locate(std::string_view input, std::size_t offset) {
    located l;
    offset = std::min(offset, input.size());
    for (std::size_t i = 0; i < offset;) {
        const auto cp = next_code_point(input, i);
        if (cp == '\n') {
            ++l.pos.line;
            l.pos.column = 1;
            l.line_start = i;
        } else if (cp == '\t') {
            l.pos.column = l.pos.column + tab_width - ((l.pos.column - 1) % tab_width);
        } else {
            ++l.pos.column;
        }
    }
    return l;
}

}  // namespace

source_position position_of(std::string_view input, std::size_t offset) {
    return locate(input, offset).pos;
}

std::string render_parse_error(std::string_view input, const parse_error& e) {
    const auto where = locate(input, e.offset);
    const std::size_t line = where.pos.line, column = where.pos.column,
                      line_start = where.line_start;
    auto line_end = input.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = input.size();
    // The offending line with tabs expanded.
    std::string shown;
    std::size_t shown_len = 0;
    for (std::size_t i = line_start; i < line_end;) {
        const auto start = i;
        const auto cp = next_code_point(input, i);
        if (cp == '\t') {
            const auto spaces = tab_width - (shown_len % tab_width);
            shown.append(spaces, ' ');
            shown_len += spaces;
        } else {
            shown.append(input.substr(start, i - start));
            ++shown_len;
        }
    }
    if (shown.empty()) {
        shown = "<empty line>";
        shown_len = shown.size();
    }
    const bool fancy = !e.messages.empty();
    std::size_t error_len = 1;
    if (!fancy && e.unexpected && e.unexpected->what == error_item::kind::tokens)
        error_len = code_points(e.unexpected->text);
    const auto shift = column - 1;
    const std::ptrdiff_t pointer_len =
        shift + error_len > shown_len
            ? static_cast<std::ptrdiff_t>(shown_len) - static_cast<std::ptrdiff_t>(shift) + 1
            : static_cast<std::ptrdiff_t>(error_len);
    const std::string number = std::to_string(line);
    const std::string padding(number.size() + 1, ' ');
    std::string out = "input:" + number + ":" + std::to_string(column) + ":\n";
    out += padding + "|\n" + number + " | " + shown + "\n" + padding + "| ";
    if (pointer_len > 0) {
        out.append(shift, ' ');
        out.append(static_cast<std::size_t>(pointer_len), '^');
    }
    out += "\n";
    if (fancy) {
        for (const auto& m : e.messages) out += m + "\n";
        return out;
    }
    if (!e.unexpected && e.expected.empty()) return out + "unknown parse error\n";
    if (e.unexpected) out += "unexpected " + show_error_item(*e.unexpected) + "\n";
    if (!e.expected.empty()) {
        // Sorted by their rendered text, as megaparsec's Set String.
        std::set<std::string> shown_items;
        for (const auto& item : e.expected) shown_items.insert(show_error_item(item));
        std::vector<std::string> items(shown_items.begin(), shown_items.end());
        out += "expecting ";
        if (items.size() == 1) {
            out += items[0];
        } else if (items.size() == 2) {
            out += items[0] + " or " + items[1];
        } else {
            for (std::size_t i = 0; i + 1 < items.size(); ++i) out += items[i] + ", ";
            out += "or " + items.back();
        }
        out += "\n";
    }
    return out;
}

}  // namespace ct::tracer::timeseries
