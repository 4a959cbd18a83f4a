#include "tracer/core/text_exposition.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace ct::tracer {
namespace {

void append_escaped(std::string& out, std::string_view s, bool quotes) {
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quotes) {
            out += "\\\"";
        } else {
            out.push_back(c);
        }
    }
}

void append_double(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];
        const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round trip
        out.append(buf, ec == std::errc() ? end : buf);
    }
}

void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
}

// `name<suffix>{labels[,extra="value"]} ` — the value follows.
void append_head(std::string& out,
                 const prometheus::MetricFamily& family,
                 const prometheus::ClientMetric& m,
                 std::string_view suffix,
                 std::string_view extra_name = {},
                 std::string_view extra_value = {}) {
    out.append(family.name).append(suffix);
    if (!m.label.empty() || !extra_name.empty()) {
        out.push_back('{');
        bool first = true;
        auto label = [&](std::string_view name, std::string_view value) {
            if (!first) out.push_back(',');
            first = false;
            out.append(name).append("=\"");
            append_escaped(out, value, true);
            out.push_back('"');
        };
        for (const auto& l : m.label) label(l.name, l.value);
        if (!extra_name.empty()) label(extra_name, extra_value);
        out.push_back('}');
    }
    out.push_back(' ');
}

void append_tail(std::string& out, const prometheus::ClientMetric& m) {
    if (m.timestamp_ms != 0) {
        out.push_back(' ');
        char buf[24];
        const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, m.timestamp_ms);
        out.append(buf, ec == std::errc() ? end : buf);
    }
    out.push_back('\n');
}

std::string_view type_name(prometheus::MetricType t) {
    switch (t) {
        case prometheus::MetricType::Counter:
            return "counter";
        case prometheus::MetricType::Gauge:
            return "gauge";
        case prometheus::MetricType::Summary:
            return "summary";
        case prometheus::MetricType::Histogram:
            return "histogram";
        case prometheus::MetricType::Untyped:
            break;
    }
    return "untyped";
}

void append_family(std::string& out, const prometheus::MetricFamily& f) {
    if (!f.help.empty()) {
        out.append("# HELP ").append(f.name).push_back(' ');
        append_escaped(out, f.help, false);
        out.push_back('\n');
    }
    out.append("# TYPE ").append(f.name).push_back(' ');
    out.append(type_name(f.type)).push_back('\n');
    std::string bound;
    for (const auto& m : f.metric) {
        switch (f.type) {
            case prometheus::MetricType::Counter:
                append_head(out, f, m, "");
                append_double(out, m.counter.value);
                append_tail(out, m);
                break;
            case prometheus::MetricType::Gauge:
                append_head(out, f, m, "");
                append_double(out, m.gauge.value);
                append_tail(out, m);
                break;
            case prometheus::MetricType::Untyped:
                append_head(out, f, m, "");
                append_double(out, m.untyped.value);
                append_tail(out, m);
                break;
            case prometheus::MetricType::Summary:
                for (const auto& q : m.summary.quantile) {
                    bound.clear();
                    append_double(bound, q.quantile);
                    append_head(out, f, m, "", "quantile", bound);
                    append_double(out, q.value);
                    append_tail(out, m);
                }
                append_head(out, f, m, "_sum");
                append_double(out, m.summary.sample_sum);
                append_tail(out, m);
                append_head(out, f, m, "_count");
                append_uint(out, m.summary.sample_count);
                append_tail(out, m);
                break;
            case prometheus::MetricType::Histogram: {
                double last = -std::numeric_limits<double>::infinity();
                for (const auto& b : m.histogram.bucket) {
                    bound.clear();
                    append_double(bound, b.upper_bound);
                    append_head(out, f, m, "_bucket", "le", bound);
                    append_uint(out, b.cumulative_count);
                    append_tail(out, m);
                    last = b.upper_bound;
                }
                if (!std::isinf(last) || last < 0) {  // the format requires a +Inf bucket
                    append_head(out, f, m, "_bucket", "le", "+Inf");
                    append_uint(out, m.histogram.sample_count);
                    append_tail(out, m);
                }
                append_head(out, f, m, "_sum");
                append_double(out, m.histogram.sample_sum);
                append_tail(out, m);
                append_head(out, f, m, "_count");
                append_uint(out, m.histogram.sample_count);
                append_tail(out, m);
                break;
            }
        }
    }
}

}  // namespace

std::string write_text_exposition(const std::vector<prometheus::MetricFamily>& families) {
    std::size_t series = 0;
    for (const auto& f : families) series += f.metric.size() + 2;
    std::string out;
    out.reserve(series * 96);
    for (const auto& f : families) append_family(out, f);
    return out;
}

}  // namespace ct::tracer
