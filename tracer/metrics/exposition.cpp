#include "tracer/metrics/exposition.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

namespace ct::tracer::metrics {
namespace {

std::string escape_help(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string escape_label_value(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"') {
            out += "\\\"";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string format_double(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    return std::string(buf, ec == std::errc() ? end : buf);
}

// A node "Prometheus" metric is a label `{k="v",...} 1`: split into label text and value.
bool split_labelset(std::string_view text, std::string_view& labels, std::string_view& value) {
    if (text.empty() || text.front() != '{') return false;
    const auto close = text.rfind('}');
    if (close == std::string_view::npos) return false;
    labels = text.substr(1, close - 1);
    value = text.substr(close + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (value.empty()) value = "1";
    return true;
}

struct sample_line {
    std::string type;    // counter | gauge
    std::string labels;  // without braces
    std::string value;
};

// What one EKG metric becomes: its family type and sample.
sample_line to_sample(const metric_value& m) {
    switch (m.kind) {
        case protocol::metric_kind::counter:
            return {"counter", {}, std::to_string(m.number)};
        case protocol::metric_kind::gauge:
            return {"gauge", {}, std::to_string(m.number)};
        case protocol::metric_kind::label: {
            std::string_view labels, value;
            if (split_labelset(m.text, labels, value)) {
                // Upstream types these `info`, which the Prometheus text format does not
                // know; a gauge of 1 with the labels is the classic equivalent.
                auto num = parse_number(value);
                return {"gauge", std::string(labels), num ? format_double(*num) : "1"};
            }
            if (auto num = parse_number(m.text)) return {"gauge", {}, format_double(*num)};
            return {"gauge", "value=\"" + escape_label_value(m.text) + "\"", "1"};
        }
    }
    return {"gauge", {}, "0"};
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    if (text.empty()) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
    return v;
}

std::string prometheus_name(std::string_view ekg_name, bool no_suffix) {
    std::string_view n = ekg_name;
    if (no_suffix) {
        for (std::string_view suffix : {"_int", "_counter", "_real"}) {
            if (n.ends_with(suffix)) {
                n.remove_suffix(suffix.size());
                break;
            }
        }
    }
    std::string out;
    out.reserve(n.size() + 1);
    for (char c : n) {
        if (c == ' ' || c == '-' || c == '.') {
            out.push_back('_');
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_') {
            out.push_back(c);
        }
    }
    if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
    return out;
}

std::optional<std::string> help_for(std::string_view ekg_name,
                                    const std::map<std::string, std::string>& help) {
    for (const auto& [key, text] : help) {
        if (!key.empty() && !text.empty() && ekg_name.find(key) != std::string_view::npos)
            return text;
    }
    return std::nullopt;
}

std::string render_node(const metric_snapshot& metrics, const exposition_options& opts) {
    std::string out;
    out.reserve(metrics.size() * 96);
    std::set<std::string> seen;
    for (const auto& [ekg_name, m] : metrics) {
        const auto name = prometheus_name(ekg_name, opts.no_suffix);
        if (!seen.insert(name).second) continue;  // x_int and x_real both became x
        const auto s = to_sample(m);
        out.append("# TYPE ").append(name).append(" ").append(s.type).append("\n");
        if (auto h = help_for(ekg_name, opts.help)) {
            out.append("# HELP ").append(name).append(" ").append(escape_help(*h)).append("\n");
        }
        out.append(name);
        if (!s.labels.empty()) out.append("{").append(s.labels).append("}");
        out.append(" ").append(s.value).append("\n");
    }
    out += "# EOF\n";
    return out;
}

std::string render_nodes(const std::vector<std::pair<std::string, metric_snapshot>>& nodes,
                         const exposition_options& opts) {
    // Group by family so that each family's TYPE/HELP appears once.
    struct family {
        std::string type;
        std::optional<std::string> help;
        std::vector<std::string> samples;
    };
    std::map<std::string, family> families;
    for (const auto& [node, metrics] : nodes) {
        std::set<std::string> seen;
        const std::string node_label = "node_name=\"" + escape_label_value(node) + "\"";
        for (const auto& [ekg_name, m] : metrics) {
            const auto name = prometheus_name(ekg_name, opts.no_suffix);
            if (!seen.insert(name).second) continue;
            const auto s = to_sample(m);
            auto& f = families[name];
            if (f.samples.empty()) {
                f.type = s.type;
                f.help = help_for(ekg_name, opts.help);
            } else if (f.type != s.type) {
                continue;  // another node uses the name with another type: keep the family valid
            }
            std::string labels = node_label;
            if (!s.labels.empty()) labels += "," + s.labels;
            f.samples.push_back(name + "{" + labels + "} " + s.value);
        }
    }
    std::string out;
    for (const auto& [name, f] : families) {
        out += "# TYPE " + name + " " + f.type + "\n";
        if (f.help) out += "# HELP " + name + " " + escape_help(*f.help) + "\n";
        for (const auto& s : f.samples) out += s + "\n";
    }
    return out;
}

}  // namespace ct::tracer::metrics
