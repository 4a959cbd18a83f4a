// A strict checker of the Prometheus text exposition as this daemon writes it (format 0.0.4,
// plus a final "# EOF" where allowed): names, label syntax and escapes, unique label names,
// one TYPE per family before its samples, numeric values. Used by unit tests and by the
// exposition fuzz target; returns the first problem, or an empty string. Header-only.
#pragma once

#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

namespace ct::test {

inline bool prom_name_ok(std::string_view n) {
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        const bool digit = c >= '0' && c <= '9';
        if (!(alpha || (digit && i > 0))) return false;
    }
    return true;
}

inline bool prom_value_ok(std::string_view v) {
    if (v == "NaN" || v == "+Inf" || v == "-Inf") return true;
    if (v.empty()) return false;
    const std::string s(v);
    char* end = nullptr;
    (void)std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size();
}

inline std::string check_prom_text(std::string_view text, bool eof_allowed) {
    if (!text.empty() && text.back() != '\n') return "does not end with a newline";
    std::set<std::string, std::less<>> typed, seen_samples;
    std::size_t pos = 0, line_no = 0;
    bool eof_seen = false;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        const std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        const std::string where = "line " + std::to_string(line_no) + ": ";
        if (eof_seen) return where + "text after # EOF";
        if (line.empty()) return where + "empty line";
        if (line == "# EOF") {
            if (!eof_allowed) return where + "# EOF not allowed here";
            eof_seen = true;
            continue;
        }
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const auto rest = line.substr(7);
            const auto sp = rest.find(' ');
            if (sp == std::string_view::npos) return where + "comment without text";
            const auto name = rest.substr(0, sp);
            if (!prom_name_ok(name)) return where + "bad metric name in comment";
            const auto body = rest.substr(sp + 1);
            if (line[2] == 'T') {
                if (body != "counter" && body != "gauge" && body != "histogram" &&
                    body != "summary" && body != "untyped")
                    return where + "unknown type";
                if (!typed.insert(std::string(name)).second) return where + "second TYPE";
                if (seen_samples.count(name)) return where + "TYPE after samples";
            } else {
                for (std::size_t i = 0; i < body.size(); ++i) {
                    if (body[i] != '\\') continue;
                    if (i + 1 >= body.size() || (body[i + 1] != '\\' && body[i + 1] != 'n'))
                        return where + "bad escape in HELP";
                    ++i;
                }
            }
            continue;
        }
        if (line.starts_with("#")) return where + "unknown comment";
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        const auto name = line.substr(0, i);
        if (!prom_name_ok(name)) return where + "bad metric name";
        seen_samples.insert(std::string(name));
        if (i < line.size() && line[i] == '{') {
            ++i;
            std::set<std::string, std::less<>> label_names;
            for (;;) {
                if (i < line.size() && line[i] == '}') {
                    ++i;
                    break;
                }
                const auto start = i;
                while (i < line.size() && line[i] != '=') ++i;
                const auto lname = line.substr(start, i - start);
                if (!prom_name_ok(lname) || lname.find(':') != std::string_view::npos)
                    return where + "bad label name";
                if (!label_names.insert(std::string(lname)).second)
                    return where + "duplicate label name";
                if (i + 1 >= line.size() || line[i + 1] != '"')
                    return where + "label without quote";
                i += 2;
                for (;;) {
                    if (i >= line.size()) return where + "unterminated label value";
                    const char c = line[i++];
                    if (c == '"') break;
                    if (c == '\\') {
                        if (i >= line.size()) return where + "bad escape";
                        const char e = line[i++];
                        if (e != '\\' && e != '"' && e != 'n') return where + "bad escape";
                    }
                }
                if (i < line.size() && line[i] == ',') ++i;
            }
        }
        if (i >= line.size() || line[i] != ' ') return where + "no space before the value";
        if (!prom_value_ok(line.substr(i + 1))) return where + "bad value";
    }
    return {};
}

}  // namespace ct::test
