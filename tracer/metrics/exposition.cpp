#include "tracer/metrics/exposition.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "tracer/metrics/text_format.hpp"

namespace ct::tracer::metrics {

void append_escaped_help(std::string& out, std::string_view s) {
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
}

void append_escaped_label_value(std::string& out, std::string_view s) {
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
}

void append_double(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[64];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
        if (ec == std::errc()) out.append(buf, end);
    }
}

void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
}

void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
}

namespace {

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

bool label_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool label_name_char(char c) { return label_name_start(c) || (c >= '0' && c <= '9'); }

// Parses the inside of a node's label set, `k="v",k2="v2"` (a trailing comma allowed), into
// names and unescaped values. Anything else is refused: the text comes from a peer and is
// never copied into the exposition as it is (a '\n' in it would forge samples).
bool parse_labels(std::string_view s, std::vector<std::pair<std::string_view, std::string>>& out) {
    std::size_t i = 0;
    auto skip_spaces = [&] {
        while (i < s.size() && s[i] == ' ') ++i;
    };
    for (;;) {
        skip_spaces();
        if (i == s.size()) return true;
        const auto name_start = i;
        if (!label_name_start(s[i])) return false;
        while (i < s.size() && label_name_char(s[i])) ++i;
        const auto name = s.substr(name_start, i - name_start);
        skip_spaces();
        if (i >= s.size() || s[i] != '=') return false;
        ++i;
        skip_spaces();
        if (i >= s.size() || s[i] != '"') return false;
        ++i;
        std::string value;
        for (;;) {
            if (i >= s.size()) return false;
            const char c = s[i++];
            if (c == '"') break;
            if (c == '\n') return false;
            if (c == '\\') {
                if (i >= s.size()) return false;
                const char e = s[i++];
                if (e == 'n') {
                    value.push_back('\n');
                } else if (e == '\\' || e == '"') {
                    value.push_back(e);
                } else {
                    return false;
                }
                continue;
            }
            value.push_back(c);
        }
        out.emplace_back(name, std::move(value));
        skip_spaces();
        if (i == s.size()) return true;
        if (s[i] != ',') return false;
        ++i;
    }
}

// Appends a node's labels re-escaped; a name already present (e.g. node_name, or a repeat)
// is skipped, since a duplicate label name makes the whole exposition invalid.
void append_labels(std::string& out,
                   const std::vector<std::pair<std::string_view, std::string>>& labels,
                   std::string_view leading_labels) {
    bool first = true;
    for (std::size_t k = 0; k < labels.size(); ++k) {
        const auto& [name, value] = labels[k];
        const std::string prefix = std::string(name) + "=\"";
        if (leading_labels.starts_with(prefix) ||
            leading_labels.find("," + prefix) != std::string_view::npos)
            continue;
        bool repeated = false;
        for (std::size_t j = 0; j < k; ++j) repeated = repeated || labels[j].first == name;
        if (repeated) continue;
        if (!first) out.push_back(',');
        first = false;
        out.append(name).append("=\"");
        append_escaped_label_value(out, value);
        out.push_back('"');
    }
}

// Counters stay counters; gauges and labels are gauges (upstream types labels `info`, which
// the text format does not know: a gauge of 1 carrying the labels is the classic equivalent).
std::string_view family_type_of(protocol::metric_kind k) {
    return k == protocol::metric_kind::counter ? "counter" : "gauge";
}

// Appends what follows the metric name on a sample line: `{labels}` when the metric has any
// (after `leading_labels`, e.g. node_name), then ` value`.
void append_sample_tail(std::string& out, const metric_value& m, std::string_view leading_labels) {
    std::vector<std::pair<std::string_view, std::string>> labels;
    bool value_label = false;
    double number = 1;
    bool have_number = false;
    bool integral = false;
    switch (m.kind) {
        case protocol::metric_kind::counter:
        case protocol::metric_kind::gauge:
            integral = true;
            break;
        case protocol::metric_kind::label: {
            std::string_view inside, value;
            if (split_labelset(m.text, inside, value) && parse_labels(inside, labels)) {
                if (auto num = parse_number(value)) {
                    number = *num;
                    have_number = true;
                }
            } else if (auto num = parse_number(m.text)) {
                labels.clear();
                number = *num;
                have_number = true;
            } else {
                // Any other text (including a malformed label set) is the value of one label.
                labels.clear();
                value_label = true;
            }
            break;
        }
    }
    const bool any_labels = !leading_labels.empty() || !labels.empty() || value_label;
    if (any_labels) {
        out.push_back('{');
        out.append(leading_labels);
        if (!labels.empty()) {
            std::string node_labels;
            append_labels(node_labels, labels, leading_labels);
            if (!leading_labels.empty() && !node_labels.empty()) out.push_back(',');
            out.append(node_labels);
        } else if (value_label) {
            if (!leading_labels.empty()) out.push_back(',');
            out.append("value=\"");
            append_escaped_label_value(out, m.text);
            out.push_back('"');
        }
        out.push_back('}');
    }
    out.push_back(' ');
    if (integral) {
        append_int(out, m.number);
    } else if (have_number) {
        append_double(out, number);
    } else {
        out.push_back('1');
    }
    out.push_back('\n');
}

// What each byte becomes in a Prometheus name: itself, '_', or nothing (0).
constexpr std::array<char, 256> name_char_table = [] {
    std::array<char, 256> t{};
    for (int c = 0; c < 256; ++c) {
        const char ch = static_cast<char>(c);
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '_') {
            t[static_cast<std::size_t>(c)] = ch;
        } else if (ch == ' ' || ch == '-' || ch == '.') {
            t[static_cast<std::size_t>(c)] = '_';
        }
    }
    return t;
}();

void append_prometheus_name(std::string& out, std::string_view ekg_name, bool no_suffix) {
    std::string_view n = ekg_name;
    if (no_suffix) {
        for (std::string_view suffix : {"_int", "_counter", "_real"}) {
            if (n.ends_with(suffix)) {
                n.remove_suffix(suffix.size());
                break;
            }
        }
    }
    const auto start = out.size();
    out.resize(start + n.size() + 1);
    char* w = out.data() + start + 1;  // one spare byte in front for a '_'
    for (char c : n) {
        const char m = name_char_table[static_cast<unsigned char>(c)];
        *w = m;
        w += m != 0;
    }
    const auto len = static_cast<std::size_t>(w - (out.data() + start + 1));
    const bool needs_underscore = len == 0 || (out[start + 1] >= '0' && out[start + 1] <= '9');
    if (needs_underscore) {
        out[start] = '_';
        out.resize(start + 1 + len);
    } else {
        out.erase(start, 1);
        out.resize(start + len);
    }
}

const std::string* find_help(std::string_view ekg_name,
                             const std::map<std::string, std::string>& help) {
    for (const auto& [key, text] : help) {
        if (!key.empty() && !text.empty() && ekg_name.find(key) != std::string_view::npos)
            return &text;
    }
    return nullptr;
}

// The Prometheus names already used, for the rare EKG names that map to the same one
// (`x_int` and `x_real` under metricsNoSuffix, `a.b` and `a_b`). Open addressing over names
// kept in one arena: no allocation per name.
class name_set {
  public:
    explicit name_set(std::size_t expected) {
        std::size_t cap = 16;
        while (cap < expected * 2) cap <<= 1;
        slots_.assign(cap, slot{});
        arena_.reserve(expected * 48);
    }
    /// False when the name is already present.
    bool insert(std::string_view name) {
        const std::uint64_t hash = hash_of(name);
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
            auto& s = slots_[i];
            if (s.length == 0) {
                s = {hash, arena_.size(), name.size() + 1};  // +1: an empty name is a used slot
                arena_.append(name);
                if (++used_ * 2 > slots_.size()) grow();
                return true;
            }
            if (s.hash == hash && s.length == name.size() + 1 &&
                std::string_view(arena_).substr(s.offset, name.size()) == name)
                return false;
        }
    }

  private:
    struct slot {
        std::uint64_t hash = 0;
        std::size_t offset = 0;
        std::size_t length = 0;
    };
    // 8 bytes at a time with a multiply-xorshift mix: names are short and this runs once per
    // series and scrape (std::hash's byte loop showed up in profiles).
    static std::uint64_t hash_of(std::string_view s) {
        std::uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
        const auto mix = [&](std::uint64_t w) {
            h = (h ^ w) * 0xff51afd7ed558ccdull;
            h ^= h >> 29;
        };
        std::size_t i = 0;
        for (; i + 8 <= s.size(); i += 8) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            mix(w);
        }
        if (i < s.size()) {
            std::uint64_t w = 0;
            std::memcpy(&w, s.data() + i, s.size() - i);
            mix(w);
        }
        return h ^ (h >> 32);
    }
    void grow() {
        std::vector<slot> old(slots_.size() * 2);
        old.swap(slots_);
        const std::size_t mask = slots_.size() - 1;
        for (const auto& s : old) {
            if (s.length == 0) continue;
            std::size_t i = s.hash & mask;
            while (slots_[i].length != 0) i = (i + 1) & mask;
            slots_[i] = s;
        }
    }
    std::vector<slot> slots_;
    std::string arena_;
    std::size_t used_ = 0;
};

// A series' Prometheus name: the store's cached form when it has one (`cached`: the series
// is shown under its own EKG name, not an alias), else made into `scratch`.
std::string_view series_name(std::string_view ekg_name,
                             const metric_value& m,
                             bool no_suffix,
                             bool cached,
                             std::string& scratch) {
    if (cached && !m.exposition_name.empty()) {
        std::string_view name = m.exposition_name;
        if (no_suffix) name.remove_suffix(m.suffix_bytes);
        return name;
    }
    scratch.clear();
    append_prometheus_name(scratch, ekg_name, no_suffix);
    return scratch;
}

// HELP of a series; searched once per name and options generation when the series is shown
// under its own name.
const std::string* help_of(std::string_view ekg_name,
                           const metric_value& m,
                           bool cached,
                           const exposition_options& opts) {
    const auto generation = opts.help_generation.value;
    if (!cached || generation == 0) return find_help(ekg_name, opts.help);
    if (m.help_generation != generation) {
        m.help = find_help(ekg_name, opts.help);
        m.help_generation = generation;
    }
    return m.help;
}

// Whether the store vouches that no two of its names share a Prometheus form.
bool distinct(const series_hints* hints, const exposition_options& opts) {
    return hints && hints->distinct_names[opts.no_suffix ? 1 : 0];
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

std::uint64_t new_help_generation() {
    static std::atomic<std::uint64_t> last{0};
    return ++last;
}

std::string prometheus_name(std::string_view ekg_name, bool no_suffix) {
    std::string out;
    append_prometheus_name(out, ekg_name, no_suffix);
    return out;
}

std::optional<std::string> help_for(std::string_view ekg_name,
                                    const std::map<std::string, std::string>& help) {
    if (const auto* h = find_help(ekg_name, help)) return *h;
    return std::nullopt;
}

bool alias_of(const config::metric_alias_table& aliases,
              std::string_view ekg_name,
              std::string& out) {
    constexpr std::string_view prefix = "cardano.node.metrics.";
    std::string_view tail = ekg_name;
    const bool prefixed = tail.starts_with(prefix);
    if (prefixed) tail.remove_prefix(prefix.size());
    auto it = aliases.find(tail);
    if (it == aliases.end()) return false;
    out.assign(prefixed ? prefix : std::string_view());
    out.append(it->second);
    return true;
}

void add_aliases(metric_snapshot& metrics, const config::metric_alias_table& aliases) {
    std::vector<std::pair<std::string, metric_value>> extra;
    std::string alias;
    for (const auto& [name, m] : metrics) {
        if (alias_of(aliases, name, alias) && !metrics.contains(alias))
            extra.emplace_back(alias, m);
    }
    for (auto& [name, m] : extra) metrics.emplace(std::move(name), std::move(m));
}

std::string render_node(const metric_snapshot& metrics,
                        const exposition_options& opts,
                        const series_hints* hints) {
    std::string out;
    out.reserve(metrics.size() * 112 + 8);
    const bool with_aliases = opts.aliases && !opts.aliases->empty();
    std::optional<name_set> seen;
    if (!distinct(hints, opts) || with_aliases) seen.emplace(metrics.size());
    std::string scratch, alias;
    auto emit = [&](std::string_view ekg_name, const metric_value& m, bool cached) {
        const auto name = series_name(ekg_name, m, opts.no_suffix, cached, scratch);
        if (seen && !seen->insert(name)) return;  // x_int and x_real both became x
        out.append("# TYPE ").append(name).push_back(' ');
        out.append(family_type_of(m.kind)).push_back('\n');
        if (const auto* h = help_of(ekg_name, m, cached, opts)) {
            out.append("# HELP ").append(name).push_back(' ');
            append_escaped_help(out, *h);
            out.push_back('\n');
        }
        out.append(name);
        append_sample_tail(out, m, {});
    };
    for (const auto& [ekg_name, m] : metrics) emit(ekg_name, m, true);
    // Aliases after every real name, so a name the node sends itself always wins.
    if (with_aliases) {
        for (const auto& [ekg_name, m] : metrics) {
            if (alias_of(*opts.aliases, ekg_name, alias)) emit(alias, m, false);
        }
    }
    out += "# EOF\n";
    return out;
}

namespace {

// One node's series as multi_node_exposition shows them (see node_families).
std::shared_ptr<node_families> render_families(std::string_view node_name,
                                               const metric_snapshot& metrics,
                                               const series_hints* hints,
                                               const exposition_options& opts) {
    auto f = std::make_shared<node_families>();
    f->help_generation = opts.help_generation.value;
    f->aliases = opts.aliases.get();
    f->no_suffix = opts.no_suffix;
    f->node_name = node_name;
    if (hints) f->changes = hints->changes;
    const bool with_aliases = opts.aliases && !opts.aliases->empty();
    std::optional<name_set> seen;
    if (!distinct(hints, opts) || with_aliases) seen.emplace(metrics.size());
    auto& node_label = f->node_label;
    node_label = "node_name=\"";
    append_escaped_label_value(node_label, node_name);
    node_label.push_back('"');
    auto& text = f->text;
    text.reserve(metrics.size() * 160);
    f->by_name.reserve(metrics.size());
    std::string scratch, alias;
    auto off = [&] { return static_cast<std::uint32_t>(text.size()); };
    auto add = [&](std::string_view ekg_name, const metric_value& m, bool cached) {
        const auto name = series_name(ekg_name, m, opts.no_suffix, cached, scratch);
        if (seen && !seen->insert(name)) return;  // x_int and x_real both became x
        node_families::series s{};
        s.counter = m.kind == protocol::metric_kind::counter;
        s.stamped = cached ? ekg_name == server_timestamp_name : false;
        s.help = help_of(ekg_name, m, cached, opts);
        s.sample_off = s.name_off = off();
        s.name_len = static_cast<std::uint32_t>(name.size());
        text.append(name);
        append_sample_tail(text, m, node_label);
        s.sample_len = off() - s.sample_off;
        f->by_name.push_back(s);
    };
    for (const auto& [ekg_name, m] : metrics) add(ekg_name, m, true);
    if (with_aliases) {
        for (const auto& [ekg_name, m] : metrics) {
            if (!alias_of(*opts.aliases, ekg_name, alias)) continue;
            const auto before = f->by_name.size();
            add(alias, m, false);
            if (f->by_name.size() != before && ekg_name == server_timestamp_name)
                f->by_name.back().stamped = true;
        }
    }
    f->has_stamp =
        std::any_of(f->by_name.begin(), f->by_name.end(), [](const auto& s) { return s.stamped; });
    // Prometheus names mostly keep the order of the EKG names they come from.
    const auto by_name = [&](const auto& a, const auto& b) { return f->name(a) < f->name(b); };
    if (!std::is_sorted(f->by_name.begin(), f->by_name.end(), by_name))
        std::sort(f->by_name.begin(), f->by_name.end(), by_name);
    return f;
}

bool still_current(const node_families& f,
                   std::string_view node_name,
                   const series_hints& hints,
                   const exposition_options& opts) {
    return f.changes == hints.changes && f.help_generation == opts.help_generation.value &&
           f.aliases == opts.aliases.get() && f.no_suffix == opts.no_suffix &&
           f.node_name == node_name;
}

}  // namespace

void multi_node_exposition::add_node(std::string_view node_name,
                                     const metric_snapshot& metrics,
                                     const series_hints* hints) {
    part p;
    // A rendering is kept only under options with a generation: a copy's HELP texts live in
    // another map, so its lookups are never remembered.
    const bool keep = hints && opts_.help_generation.value != 0;
    if (keep && hints->rendered && still_current(*hints->rendered, node_name, *hints, opts_)) {
        p.families = hints->rendered;
    } else {
        auto fresh = render_families(node_name, metrics, hints, opts_);
        if (keep) hints->rendered = fresh;
        p.families = std::move(fresh);
    }
    // The server time moves at every read without changing anything else.
    if (p.families->has_stamp) {
        if (hints && hints->server_time) {
            append_sample_tail(p.stamp_tail, *hints->server_time, p.families->node_label);
        } else if (auto it = metrics.find(server_timestamp_name); it != metrics.end()) {
            append_sample_tail(p.stamp_tail, it->second, p.families->node_label);
        }
    }
    parts_.push_back(std::move(p));
}

std::string multi_node_exposition::finish() const {
    // A k-way merge of the nodes' sorted series: equal names form one family, its samples in
    // node order.
    std::size_t total = 0;
    for (const auto& p : parts_) total += p.families->text.size() * 5 / 4;  // and headers
    std::string out;
    out.reserve(total);
    // Appends one node's series of the family being written; the first one gives the header.
    bool first = true, counter = false;
    auto emit = [&](const part& p, const node_families::series& s) {
        const auto& f = *p.families;
        if (first) {
            const auto name = f.name(s);
            out.append("# TYPE ").append(name).push_back(' ');
            out.append(s.counter ? "counter\n" : "gauge\n");
            if (s.help) {
                out.append("# HELP ").append(name).push_back(' ');
                append_escaped_help(out, *s.help);
                out.push_back('\n');
            }
            counter = s.counter;
            first = false;
        }
        if (s.counter != counter) return;  // another type under the same name is left out
        if (s.stamped && !p.stamp_tail.empty()) {
            out.append(f.name(s)).append(p.stamp_tail);
        } else {
            out.append(f.view(s.sample_off, s.sample_len));
        }
    };
    std::vector<std::size_t> next(parts_.size(), 0);
    auto name_at = [&](std::size_t k) {
        const auto& f = *parts_[k].families;
        return f.name(f.by_name[next[k]]);
    };
    auto has_more = [&](std::size_t k) { return next[k] < parts_[k].families->by_name.size(); };

    // Nodes mostly show the same names, so one pass over the heads finds the least name and
    // which heads hold it: about one comparison per series. When the names differ from node
    // to node, that pass costs a comparison per node for each of many families; once it
    // costs 64 times the series written, the rest goes through a heap.
    const std::size_t k_parts = parts_.size();
    std::vector<char> holds(k_parts);
    std::size_t families_done = 0, series_done = 0;
    for (;;) {
        if (k_parts > 16 && families_done * k_parts > 64 * series_done + 4096) break;
        std::string_view least;
        bool any = false;
        for (std::size_t k = 0; k < k_parts; ++k) {
            holds[k] = 0;
            if (!has_more(k)) continue;
            const auto name = name_at(k);
            const int c = any ? name.compare(least) : -1;
            if (c < 0) {
                std::fill(holds.begin(), holds.begin() + static_cast<std::ptrdiff_t>(k), 0);
                least = name;
                any = true;
            }
            if (c <= 0) holds[k] = 1;
        }
        if (!any) return out;
        first = true;
        for (std::size_t k = 0; k < k_parts; ++k) {
            if (!holds[k]) continue;
            emit(parts_[k], parts_[k].families->by_name[next[k]]);
            ++next[k];
            ++series_done;
        }
        ++families_done;
    }

    // A heap of heads, ordered by name, then node.
    struct head {
        std::string_view name;
        std::size_t part;
    };
    auto later = [](const head& a, const head& b) {
        const int c = a.name.compare(b.name);
        return c != 0 ? c > 0 : a.part > b.part;
    };
    std::vector<head> heap;
    heap.reserve(parts_.size());
    for (std::size_t k = 0; k < parts_.size(); ++k) {
        if (has_more(k)) heap.push_back({name_at(k), k});
    }
    std::make_heap(heap.begin(), heap.end(), later);
    while (!heap.empty()) {
        const std::string_view family = heap.front().name;
        first = true;
        while (!heap.empty() && heap.front().name == family) {
            std::pop_heap(heap.begin(), heap.end(), later);
            const auto k = heap.back().part;
            heap.pop_back();
            emit(parts_[k], parts_[k].families->by_name[next[k]]);
            if (++next[k] < parts_[k].families->by_name.size()) {
                heap.push_back({name_at(k), k});
                std::push_heap(heap.begin(), heap.end(), later);
            }
        }
    }
    return out;
}

std::string render_nodes(const std::vector<std::pair<std::string, metric_snapshot>>& nodes,
                         const exposition_options& opts) {
    multi_node_exposition e(opts);
    for (const auto& [node, metrics] : nodes) e.add_node(node, metrics);
    return e.finish();
}

}  // namespace ct::tracer::metrics
