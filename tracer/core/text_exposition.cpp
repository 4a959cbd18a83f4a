#include "tracer/core/text_exposition.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include "tracer/metrics/text_format.hpp"

namespace ct::tracer {
namespace {

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
            metrics::append_escaped_label_value(out, value);
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
        metrics::append_int(out, m.timestamp_ms);
    }
    out.push_back('\n');
}

// The `_sum` and `_count` samples of a summary or histogram.
void append_sum_and_count(std::string& out,
                          const prometheus::MetricFamily& f,
                          const prometheus::ClientMetric& m,
                          double sum,
                          std::uint64_t count) {
    append_head(out, f, m, "_sum");
    metrics::append_double(out, sum);
    append_tail(out, m);
    append_head(out, f, m, "_count");
    metrics::append_uint(out, count);
    append_tail(out, m);
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
        metrics::append_escaped_help(out, f.help);
        out.push_back('\n');
    }
    out.append("# TYPE ").append(f.name).push_back(' ');
    out.append(type_name(f.type)).push_back('\n');
    std::string bound;
    for (const auto& m : f.metric) {
        switch (f.type) {
            case prometheus::MetricType::Counter:
            case prometheus::MetricType::Gauge:
            case prometheus::MetricType::Untyped:
                append_head(out, f, m, "");
                metrics::append_double(out,
                                       f.type == prometheus::MetricType::Counter ? m.counter.value
                                       : f.type == prometheus::MetricType::Gauge ? m.gauge.value
                                                                                 : m.untyped.value);
                append_tail(out, m);
                break;
            case prometheus::MetricType::Summary:
                for (const auto& q : m.summary.quantile) {
                    bound.clear();
                    metrics::append_double(bound, q.quantile);
                    append_head(out, f, m, "", "quantile", bound);
                    metrics::append_double(out, q.value);
                    append_tail(out, m);
                }
                append_sum_and_count(out, f, m, m.summary.sample_sum, m.summary.sample_count);
                break;
            case prometheus::MetricType::Histogram: {
                double last = -std::numeric_limits<double>::infinity();
                for (const auto& b : m.histogram.bucket) {
                    bound.clear();
                    metrics::append_double(bound, b.upper_bound);
                    append_head(out, f, m, "_bucket", "le", bound);
                    metrics::append_uint(out, b.cumulative_count);
                    append_tail(out, m);
                    last = b.upper_bound;
                }
                if (!std::isinf(last) || last < 0) {  // the format requires a +Inf bucket
                    append_head(out, f, m, "_bucket", "le", "+Inf");
                    metrics::append_uint(out, m.histogram.sample_count);
                    append_tail(out, m);
                }
                append_sum_and_count(out, f, m, m.histogram.sample_sum, m.histogram.sample_count);
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
