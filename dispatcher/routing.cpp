#include "dispatcher/routing.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <optional>

namespace ct::dispatcher {
namespace {

// Key by key, option by option: what `over` sets wins.
void merge_into(config::trace_options& into, const config::trace_options& over) {
    for (const auto& [ns, o] : over) {
        auto& slot = into[ns];
        if (o.severity) slot.severity = o.severity;
        if (o.max_frequency) slot.max_frequency = o.max_frequency;
    }
}

bool passes_all(const config::trace_options& m) {
    for (const auto& [ns, o] : m) {
        if (o.severity && (o.severity->silence || o.severity->min != protocol::severity::debug))
            return false;
        if (o.max_frequency && *o.max_frequency > 0) return false;
    }
    return true;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view name) {
    // fnmatch(3) needs NUL-terminated strings; node names and patterns are short.
    const std::string p(pattern), n(name);
    return ::fnmatch(p.c_str(), n.c_str(), 0) == 0;
}

node_rules::node_rules(std::size_t sections, std::vector<config::trace_options> merged)
    : merged_(std::move(merged)) {
    merged_.resize(sections);
    for (std::size_t i = 0; i < merged_.size(); ++i) {
        lookup_.emplace_back(merged_[i].begin(), merged_[i].end());
        std::size_t first = i;
        for (std::size_t j = 0; j < i; ++j) {
            if (merged_[j] == merged_[i]) {
                first = j;
                break;
            }
        }
        same_as_.push_back(first);
    }
}

void node_rules::resolve(std::string_view ns, resolved_route& out) const {
    out.by_severity.fill(0);
    out.limits.clear();
    for (std::size_t s = 0; s < lookup_.size(); ++s) {
        const section_mask bit = section_mask{1} << s;
        std::optional<config::severity_threshold> threshold;
        std::optional<double> frequency;
        if (same_as_[s] != s) {
            // Identical rules: copy the earlier section's decisions.
            const section_mask twin = section_mask{1} << same_as_[s];
            for (auto& m : out.by_severity)
                if (m & twin) m |= bit;
            for (auto& l : out.limits)
                if (l.sections & twin) l.sections |= bit;
            continue;
        }
        const auto& map = lookup_[s];
        // Longest prefix first, down to the root "": whole segments only.
        std::string_view prefix = ns;
        for (;;) {
            if (auto it = map.find(prefix); it != map.end()) {
                if (!threshold && it->second.severity) threshold = it->second.severity;
                if (!frequency && it->second.max_frequency) frequency = it->second.max_frequency;
                if (threshold && frequency) break;
            }
            if (prefix.empty()) break;
            const auto dot = prefix.rfind('.');
            prefix = dot == std::string_view::npos ? std::string_view() : prefix.substr(0, dot);
        }
        const config::severity_threshold t = threshold.value_or(config::severity_threshold{});
        if (!t.silence) {
            for (std::size_t v = static_cast<std::size_t>(t.min); v < out.by_severity.size(); ++v)
                out.by_severity[v] |= bit;
        }
        const double f = frequency.value_or(0.0);
        if (f > 0 && !t.silence) {
            auto same = std::find_if(out.limits.begin(), out.limits.end(), [&](const auto& l) {
                return l.max_frequency == f;
            });
            if (same != out.limits.end()) {
                same->sections |= bit;
            } else {
                out.limits.push_back({f, bit});
            }
        }
    }
}

std::shared_ptr<const routing> routing::build(const config::tracer_config& cfg) {
    auto r = std::make_shared<routing>();
    for (const auto& l : cfg.logging) {
        // The journal is one output whatever logRoot says.
        r->sections_.push_back({l.mode == config::log_mode::file_mode ? l.log_root : std::string(),
                                l.mode,
                                l.format,
                                l.otlp ? l.otlp->key() : std::string()});
        r->section_rules_.push_back(l.options);
    }
    if (cfg.has_forwarding) {
        // The re-forwarder is one more section: its prefixes are rules like any section's
        // (whole segments, the most specific wins), after the daemon-wide and node rules.
        config::trace_options forward;
        if (const auto& prefixes = cfg.has_forwarding->prefixes) {
            forward[""].severity = config::severity_threshold{true, protocol::severity::debug};
            for (const auto& segments : *prefixes) {
                std::string ns;
                for (const auto& seg : segments) ns += (ns.empty() ? "" : ".") + seg;
                forward[ns].severity = config::severity_threshold{false, protocol::severity::debug};
            }
        }
        r->sections_.push_back(
            {std::string(), config::log_mode::forward_mode, config::log_format::for_machine});
        r->section_rules_.push_back(std::move(forward));
    }
    r->all_ =
        r->sections_.size() >= 64 ? ~section_mask{0} : (section_mask{1} << r->sections_.size()) - 1;
    r->daemon_ = cfg.trace_options_;
    r->nodes_ = cfg.node_trace_options_;
    bool all = passes_all(r->daemon_);
    for (const auto& n : r->nodes_) all = all && passes_all(n.options);
    for (const auto& s : r->section_rules_) all = all && passes_all(s);
    r->passes_everything_ = all;
    return r;
}

std::vector<std::string> routing::matching_patterns(std::string_view node_name) const {
    std::vector<std::string> out;
    for (const auto& n : nodes_) {
        if (glob_match(n.pattern, node_name)) out.push_back(n.pattern);
    }
    return out;
}

std::shared_ptr<const node_rules> routing::rules_for(std::string_view node_name) const {
    config::trace_options for_node = daemon_;
    for (const auto& n : nodes_) {
        if (glob_match(n.pattern, node_name)) merge_into(for_node, n.options);
    }
    std::vector<config::trace_options> merged;
    merged.reserve(sections_.size());
    for (const auto& s : section_rules_) {
        merged.push_back(for_node);
        merge_into(merged.back(), s);
    }
    return std::make_shared<const node_rules>(sections_.size(), std::move(merged));
}

}  // namespace ct::dispatcher
