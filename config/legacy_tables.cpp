#include "config/legacy_tables.hpp"

#include <algorithm>

namespace ct::config {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i])) ++i;
        const std::size_t start = i;
        while (i < line.size() && !is_space(line[i])) ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

/// Calls f(line number, words) for every line of `text` that has words ('#' starts a comment).
template <typename F>
void for_each_row(std::string_view text, F&& f) {
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        const auto w = words(line);
        if (!w.empty()) f(line_no, w);
    }
}

bool valid_namespace(std::string_view ns) {
    if (ns.empty() || ns.front() == '.' || ns.back() == '.') return false;
    return ns.find("..") == std::string_view::npos;
}

bool covers(std::string_view prefix, std::string_view ns) {
    return ns == prefix ||
           (ns.size() > prefix.size() && ns.starts_with(prefix) && ns[prefix.size()] == '.');
}

}  // namespace

metric_alias_table parse_metric_aliases(std::string_view text,
                                        std::vector<table_problem>& problems) {
    metric_alias_table t;
    std::map<std::string, std::size_t, std::less<>> first_line;
    for_each_row(text, [&](std::size_t line_no, const std::vector<std::string_view>& w) {
        if (w.size() != 2) {
            problems.push_back({line_no,
                                "expected 2 columns (new metric name, legacy name), got " +
                                    std::to_string(w.size())});
            return;
        }
        if (w[0] == w[1]) {
            problems.push_back({line_no, "\"" + std::string(w[0]) + "\" is its own alias"});
            return;
        }
        if (auto seen = first_line.find(w[0]); seen != first_line.end()) {
            problems.push_back({line_no,
                                "\"" + std::string(w[0]) + "\" already has an alias (line " +
                                    std::to_string(seen->second) + ")"});
            return;
        }
        first_line.emplace(std::string(w[0]), line_no);
        t.emplace(std::string(w[0]), std::string(w[1]));
    });
    return t;
}

legacy_namespace_table parse_legacy_namespaces(std::string_view text,
                                               std::string source,
                                               std::vector<table_problem>& problems) {
    legacy_namespace_table t;
    t.source = std::move(source);
    for_each_row(text, [&](std::size_t line_no, const std::vector<std::string_view>& w) {
        if (w.size() != 3) {
            problems.push_back({line_no,
                                "expected 3 columns (new namespace prefix, legacy logger, legacy "
                                "switch; \"-\" for none), got " +
                                    std::to_string(w.size())});
            return;
        }
        legacy_namespace_row row;
        if (w[0] != "-") {
            if (!valid_namespace(w[0])) {
                problems.push_back({line_no, "\"" + std::string(w[0]) + "\" is not a namespace"});
                return;
            }
            row.new_prefix = std::string(w[0]);
        }
        if (w[1] != "-") row.logger = std::string(w[1]);
        if (w[2] != "-") row.switch_key = std::string(w[2]);
        if (row.new_prefix.empty() && row.switch_key.empty()) {
            problems.push_back({line_no, "a row without a namespace needs a legacy switch"});
            return;
        }
        if (row.new_prefix.empty() && !row.logger.empty()) {
            problems.push_back({line_no, "a legacy logger needs a new namespace prefix"});
            return;
        }
        t.rows.push_back(std::move(row));
    });
    if (t.rows.empty() && problems.empty()) problems.push_back({0, "the table is empty"});
    return t;
}

std::string legacy_namespace_table::logger_for(std::string_view ns) const {
    const legacy_namespace_row* best = nullptr;
    for (const auto& r : rows) {
        if (r.logger.empty() || !covers(r.new_prefix, ns)) continue;
        if (!best || r.new_prefix.size() > best->new_prefix.size()) best = &r;
    }
    if (best) return "cardano.node." + best->logger;
    const auto top = ns.substr(0, ns.find('.'));
    return top.empty() ? std::string("cardano.node") : "cardano.node." + std::string(top);
}

std::vector<std::string> legacy_namespace_table::prefixes_of_logger(std::string_view logger) const {
    if (logger.starts_with("cardano.node.")) logger.remove_prefix(13);
    std::vector<std::string> out;
    for (const auto& r : rows) {
        if (r.logger == logger && std::find(out.begin(), out.end(), r.new_prefix) == out.end())
            out.push_back(r.new_prefix);
    }
    return out;
}

std::vector<std::string> legacy_namespace_table::prefixes_of_switch(std::string_view key) const {
    std::vector<std::string> out;
    for (const auto& r : rows) {
        if (r.switch_key == key && !r.new_prefix.empty() &&
            std::find(out.begin(), out.end(), r.new_prefix) == out.end())
            out.push_back(r.new_prefix);
    }
    return out;
}

bool legacy_namespace_table::knows_switch(std::string_view key) const {
    return std::any_of(
        rows.begin(), rows.end(), [&](const auto& r) { return r.switch_key == key; });
}

}  // namespace ct::config
