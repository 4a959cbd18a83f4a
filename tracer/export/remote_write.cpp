#include "tracer/export/remote_write.hpp"

#include <snappy.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "tracer/export/protobuf_writer.hpp"

namespace ct::tracer::exporting {

std::string text_format_unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            ++i;
            out.push_back(s[i] == 'n' ? '\n' : s[i]);
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

namespace {

bool parse_value(std::string_view text, double& out) {
    if (text == "+Inf" || text == "Inf") {
        out = __builtin_inf();
        return true;
    }
    if (text == "-Inf") {
        out = -__builtin_inf();
        return true;
    }
    if (text == "NaN") {
        out = __builtin_nan("");
        return true;
    }
    const std::string s(text);
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end && *end == '\0' && !s.empty();
}

}  // namespace

void append_samples(std::string_view page, const labels& extra, std::vector<sample>& out) {
    while (!page.empty()) {
        const auto eol = page.find('\n');
        std::string_view line = page.substr(0, eol);
        page = eol == std::string_view::npos ? std::string_view() : page.substr(eol + 1);
        if (line.empty() || line.front() == '#') continue;
        sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.series.emplace_back("__name__", std::string(line.substr(0, i)));
        bool well_formed = true;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                const auto eq = line.find('=', i);
                if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
                    well_formed = false;
                    break;
                }
                std::string name(line.substr(i, eq - i));
                std::size_t j = eq + 2;
                while (j < line.size() && line[j] != '"') j += line[j] == '\\' ? 2 : 1;
                s.series.emplace_back(std::move(name),
                                      text_format_unescape(line.substr(eq + 2, j - eq - 2)));
                i = j + 1;
                if (i < line.size() && line[i] == ',') ++i;
            }
            if (i >= line.size()) well_formed = false;
            ++i;  // '}'
        }
        if (!well_formed) continue;
        while (i < line.size() && line[i] == ' ') ++i;
        auto rest = line.substr(i);
        rest = rest.substr(0, rest.find(' '));  // a timestamp after the value is not used
        if (!parse_value(rest, s.value)) continue;
        for (const auto& [k, v] : extra) {
            const bool present = std::any_of(
                s.series.begin(), s.series.end(), [&](const auto& l) { return l.first == k; });
            if (!present) s.series.emplace_back(k, v);
        }
        std::sort(s.series.begin(), s.series.end());
        out.push_back(std::move(s));
    }
}

std::string encode_write_request(const std::vector<sample>& samples, std::int64_t timestamp_ms) {
    std::string out, series, label, point;
    for (const auto& s : samples) {
        series.clear();
        for (const auto& [name, value] : s.series) {
            label.clear();
            pb::put_bytes(label, 1, name);
            pb::put_bytes(label, 2, value);
            pb::put_bytes(series, 1, label);
        }
        point.clear();
        pb::put_double(point, 1, s.value);
        pb::put_tag(point, 2, pb::varint);
        pb::put_varint(point, static_cast<std::uint64_t>(timestamp_ms));
        pb::put_bytes(series, 2, point);
        pb::put_bytes(out, 1, series);
    }
    return out;
}

std::string snappy_compress(std::string_view raw) {
    std::string out;
    snappy::Compress(raw.data(), raw.size(), &out);
    return out;
}

}  // namespace ct::tracer::exporting
