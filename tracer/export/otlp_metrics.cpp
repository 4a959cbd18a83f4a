#include "tracer/export/otlp_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

#include "protocol/json_text.hpp"
#include "tracer/export/protobuf_writer.hpp"
#include "tracer/export/remote_write.hpp"

namespace ct::tracer::exporting {

namespace {

using attributes = std::vector<std::pair<std::string, std::string>>;

struct point {
    attributes attrs;  // the sample's labels without __name__
    std::string name;  // the sample's name (histograms: _bucket, _sum, _count)
    double value = 0;
};

struct family {
    std::string name, help, type = "untyped";
    std::vector<point> points;
};

struct histogram_point {
    attributes attrs;
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
    double sum = 0, count = 0;
    bool has_sum = false;
};

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The families of a text page, in the order they first appear.
std::vector<family> families_of(std::string_view page) {
    std::vector<family> out;
    std::map<std::string, std::size_t, std::less<>> index;
    auto family_named = [&](std::string_view name) -> family& {
        auto it = index.find(name);
        if (it != index.end()) return out[it->second];
        index.emplace(std::string(name), out.size());
        auto& f = out.emplace_back();
        f.name = name;
        return f;
    };
    std::vector<sample> parsed;
    while (!page.empty()) {
        const auto eol = page.find('\n');
        const std::string_view line = page.substr(0, eol);
        page = eol == std::string_view::npos ? std::string_view() : page.substr(eol + 1);
        if (line.empty()) continue;
        if (line.front() == '#') {
            // "# HELP name text" / "# TYPE name type"
            const bool help = line.rfind("# HELP ", 0) == 0, type = line.rfind("# TYPE ", 0) == 0;
            if (!help && !type) continue;
            const std::string_view rest = line.substr(7);
            const auto space = rest.find(' ');
            const std::string_view name = rest.substr(0, space);
            const std::string_view text =
                space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
            auto& f = family_named(name);
            if (help) {
                f.help = text_format_unescape(text);
            } else {
                f.type = std::string(text);
            }
            continue;
        }
        parsed.clear();
        append_samples(line, {}, parsed);
        if (parsed.empty()) continue;
        auto& s = parsed.front();
        point p;
        p.value = s.value;
        for (auto& [k, v] : s.series) {
            if (k == "__name__") {
                p.name = v;
            } else {
                p.attrs.emplace_back(k, v);
            }
        }
        family* f = nullptr;
        if (auto it = index.find(p.name); it != index.end()) {
            f = &out[it->second];
        } else {
            for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
                if (!ends_with(p.name, suffix)) continue;
                const auto base = std::string_view(p.name).substr(0, p.name.size() - suffix.size());
                if (auto b = index.find(base);
                    b != index.end() &&
                    (out[b->second].type == "histogram" || out[b->second].type == "summary")) {
                    f = &out[b->second];
                }
                break;
            }
        }
        if (!f) f = &family_named(p.name);
        f->points.push_back(std::move(p));
    }
    return out;
}

std::vector<histogram_point> histogram_points(const family& f) {
    std::vector<histogram_point> out;
    for (const auto& p : f.points) {
        attributes attrs;
        std::optional<double> le;
        for (const auto& [k, v] : p.attrs) {
            if (k == "le" && ends_with(p.name, "_bucket")) {
                le = v == "+Inf" ? INFINITY : std::strtod(v.c_str(), nullptr);
            } else {
                attrs.emplace_back(k, v);
            }
        }
        auto it = std::find_if(
            out.begin(), out.end(), [&](const histogram_point& h) { return h.attrs == attrs; });
        if (it == out.end()) {
            out.push_back({attrs, {}, 0, 0, false});
            it = out.end() - 1;
        }
        if (le) {
            it->buckets.emplace_back(*le, p.value);
        } else if (ends_with(p.name, "_sum")) {
            it->sum = p.value;
            it->has_sum = true;
        } else if (ends_with(p.name, "_count")) {
            it->count = p.value;
        }
    }
    for (auto& h : out) std::sort(h.buckets.begin(), h.buckets.end());
    return out;
}

// Per-bucket counts from Prometheus' cumulative ones; bounds without +Inf.
void split_buckets(const histogram_point& h,
                   std::vector<double>& bounds,
                   std::vector<std::uint64_t>& counts) {
    double previous = 0;
    for (const auto& [le, cumulative] : h.buckets) {
        if (!std::isinf(le)) bounds.push_back(le);
        counts.push_back(static_cast<std::uint64_t>(std::max(0.0, cumulative - previous)));
        previous = cumulative;
    }
    if (h.buckets.empty() || !std::isinf(h.buckets.back().first)) {
        counts.push_back(static_cast<std::uint64_t>(std::max(0.0, h.count - previous)));
    }
}

// ---- protobuf -------------------------------------------------------------------------------

void pb_key_value(std::string& out, std::uint32_t field, std::string_view k, std::string_view v) {
    std::string any, kv;
    pb::put_bytes(any, 1, v);
    if (!k.empty()) pb::put_bytes(kv, 1, k);
    pb::put_bytes(kv, 2, any);
    pb::put_bytes(out, field, kv);
}

void pb_number_point(std::string& out,
                     const point& p,
                     const otlp_metrics_options& o,
                     bool cumulative) {
    std::string dp;
    if (cumulative && o.start_time_ns) pb::put_fixed64(dp, 2, o.start_time_ns);
    if (o.time_ns) pb::put_fixed64(dp, 3, o.time_ns);
    pb::put_double(dp, 4, p.value);
    for (const auto& [k, v] : p.attrs) pb_key_value(dp, 7, k, v);
    pb::put_bytes(out, 1, dp);
}

std::string pb_metric(const family& f, const otlp_metrics_options& o, std::size_t& points) {
    std::string m, data;
    pb::put_bytes(m, 1, f.name);
    if (!f.help.empty()) pb::put_bytes(m, 2, f.help);
    if (f.type == "counter") {
        for (const auto& p : f.points) pb_number_point(data, p, o, true);
        points += f.points.size();
        pb::put_tag(data, 2, pb::varint);
        pb::put_varint(data, 2);  // AGGREGATION_TEMPORALITY_CUMULATIVE
        pb::put_tag(data, 3, pb::varint);
        pb::put_varint(data, 1);  // is_monotonic
        pb::put_bytes(m, 7, data);
    } else if (f.type == "histogram") {
        for (const auto& h : histogram_points(f)) {
            std::vector<double> bounds;
            std::vector<std::uint64_t> counts;
            split_buckets(h, bounds, counts);
            std::string dp, packed;
            if (o.start_time_ns) pb::put_fixed64(dp, 2, o.start_time_ns);
            if (o.time_ns) pb::put_fixed64(dp, 3, o.time_ns);
            if (h.count != 0) pb::put_fixed64(dp, 4, static_cast<std::uint64_t>(h.count));
            if (h.has_sum) pb::put_double(dp, 5, h.sum);
            if (!counts.empty()) {
                packed.clear();
                for (auto c : counts) {
                    char b[8];
                    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(c >> (8 * i));
                    packed.append(b, 8);
                }
                pb::put_bytes(dp, 6, packed);
            }
            if (!bounds.empty()) {
                packed.clear();
                for (double d : bounds) {
                    std::uint64_t bits;
                    std::memcpy(&bits, &d, 8);
                    char b[8];
                    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(bits >> (8 * i));
                    packed.append(b, 8);
                }
                pb::put_bytes(dp, 7, packed);
            }
            for (const auto& [k, v] : h.attrs) pb_key_value(dp, 9, k, v);
            pb::put_bytes(data, 1, dp);
            ++points;
        }
        pb::put_tag(data, 2, pb::varint);
        pb::put_varint(data, 2);
        pb::put_bytes(m, 9, data);
    } else {
        for (const auto& p : f.points) pb_number_point(data, p, o, false);
        points += f.points.size();
        pb::put_bytes(m, 5, data);
    }
    return m;
}

// ---- JSON -----------------------------------------------------------------------------------

void json_double(std::string& out, double d) {
    if (std::isnan(d)) {
        out += "\"NaN\"";
    } else if (std::isinf(d)) {
        out += d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    } else {
        // The shortest of 15, 16 or 17 digits that reads back as the same double.
        char buf[32];
        for (int digits = 15; digits <= 17; ++digits) {
            std::snprintf(buf, sizeof buf, "%.*g", digits, d);
            if (std::strtod(buf, nullptr) == d) break;
        }
        out += buf;
    }
}

void json_attributes(std::string& out, const attributes& attrs) {
    out += "[";
    for (std::size_t i = 0; i < attrs.size(); ++i) {
        if (i) out += ",";
        out += "{\"key\":";
        protocol::append_json_string(out, attrs[i].first);
        out += ",\"value\":{\"stringValue\":";
        protocol::append_json_string(out, attrs[i].second);
        out += "}}";
    }
    out += "]";
}

void json_times(std::string& out, const otlp_metrics_options& o, bool cumulative) {
    if (cumulative) out += ",\"startTimeUnixNano\":\"" + std::to_string(o.start_time_ns) + "\"";
    out += ",\"timeUnixNano\":\"" + std::to_string(o.time_ns) + "\"";
}

void json_metric(std::string& out,
                 const family& f,
                 const otlp_metrics_options& o,
                 std::size_t& points) {
    out += "{\"name\":";
    protocol::append_json_string(out, f.name);
    if (!f.help.empty()) {
        out += ",\"description\":";
        protocol::append_json_string(out, f.help);
    }
    const bool counter = f.type == "counter", histogram = f.type == "histogram";
    out += counter     ? ",\"sum\":{\"dataPoints\":["
           : histogram ? ",\"histogram\":{\"dataPoints\":["
                       : ",\"gauge\":{\"dataPoints\":[";
    bool first = true;
    if (histogram) {
        for (const auto& h : histogram_points(f)) {
            std::vector<double> bounds;
            std::vector<std::uint64_t> counts;
            split_buckets(h, bounds, counts);
            if (!first) out += ",";
            first = false;
            out += "{\"attributes\":";
            json_attributes(out, h.attrs);
            json_times(out, o, true);
            out += ",\"count\":\"" + std::to_string(static_cast<std::uint64_t>(h.count)) + "\"";
            if (h.has_sum) {
                out += ",\"sum\":";
                json_double(out, h.sum);
            }
            out += ",\"bucketCounts\":[";
            for (std::size_t i = 0; i < counts.size(); ++i)
                out += (i ? ",\"" : "\"") + std::to_string(counts[i]) + "\"";
            out += "],\"explicitBounds\":[";
            for (std::size_t i = 0; i < bounds.size(); ++i) {
                if (i) out += ",";
                json_double(out, bounds[i]);
            }
            out += "]}";
            ++points;
        }
        out += "],\"aggregationTemporality\":2}}";
        return;
    }
    for (const auto& p : f.points) {
        if (!first) out += ",";
        first = false;
        out += "{\"attributes\":";
        json_attributes(out, p.attrs);
        json_times(out, o, counter);
        out += ",\"asDouble\":";
        json_double(out, p.value);
        out += "}";
        ++points;
    }
    out += counter ? "],\"aggregationTemporality\":2,\"isMonotonic\":true}}" : "]}}";
}

}  // namespace

std::string encode_metrics_request(const std::vector<metrics_page>& pages,
                                   const otlp_metrics_options& o,
                                   std::size_t* points) {
    std::size_t n = 0;
    std::string out;
    if (!o.json) {
        std::string resource_metrics, resource, scope_metrics, scope;
        pb::put_bytes(scope, 1, "cardano-tracer");
        for (const auto& page : pages) {
            resource.clear();
            for (const auto& [k, v] : page.resource) pb_key_value(resource, 1, k, v);
            scope_metrics.clear();
            pb::put_bytes(scope_metrics, 1, scope);
            for (const auto& f : families_of(page.text)) {
                if (f.type == "summary" || f.points.empty()) continue;
                pb::put_bytes(scope_metrics, 2, pb_metric(f, o, n));
            }
            resource_metrics.clear();
            pb::put_bytes(resource_metrics, 1, resource);
            pb::put_bytes(resource_metrics, 2, scope_metrics);
            pb::put_bytes(out, 1, resource_metrics);
        }
    } else {
        out += "{\"resourceMetrics\":[";
        for (std::size_t i = 0; i < pages.size(); ++i) {
            if (i) out += ",";
            out += "{\"resource\":{\"attributes\":";
            json_attributes(out, pages[i].resource);
            out += "},\"scopeMetrics\":[{\"scope\":{\"name\":\"cardano-tracer\"},\"metrics\":[";
            bool first = true;
            for (const auto& f : families_of(pages[i].text)) {
                if (f.type == "summary" || f.points.empty()) continue;
                if (!first) out += ",";
                first = false;
                json_metric(out, f, o, n);
            }
            out += "]}]}";
        }
        out += "]}";
    }
    if (points) *points = n;
    return out;
}

}  // namespace ct::tracer::exporting
