// Prometheus text exposition of node metrics (spec §7.1.2–§7.1.4) with upstream's gaps
// closed: names are valid, every sample is typed, HELP and label values are escaped, so the
// body passes `promtool check metrics`. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/legacy_tables.hpp"
#include "tracer/metrics/node_metrics.hpp"

namespace ct::tracer::metrics {

struct exposition_options {
    bool no_suffix = false;                   // metricsNoSuffix
    std::map<std::string, std::string> help;  // metricsHelp: name fragment -> text
    /// Non-zero (new_help_generation()): stores may keep each name's HELP lookup (a pointer
    /// into `help`) for as long as this object lives. A copy starts at zero: its `help` is
    /// another map.
    struct generation {
        std::uint64_t value = 0;
        generation() = default;
        generation(const generation&) {}
        generation& operator=(const generation&) {
            value = 0;
            return *this;
        }
        generation& operator=(std::uint64_t v) {
            value = v;
            return *this;
        }
    } help_generation;
    /// metricsLegacyNames / metricsAliases: every aliased metric is exposed a second time.
    std::shared_ptr<const config::metric_alias_table> aliases;
};

/// The alias EKG name of `ekg_name` into `out` (the node's "cardano.node.metrics." prefix kept);
/// false when it has none.
bool alias_of(const config::metric_alias_table& aliases,
              std::string_view ekg_name,
              std::string& out);
/// A generation no exposition_options object had before.
std::uint64_t new_help_generation();
/// `metrics` plus an entry per alias whose name is not taken (EKG JSON, legacy endpoints).
void add_aliases(metric_snapshot& metrics, const config::metric_alias_table& aliases);

/// Name transformation of spec §7.1.3 (plus a leading '_' when the result starts with a digit).
std::string prometheus_name(std::string_view ekg_name, bool no_suffix);

/// HELP text for an EKG name: the first key (sorted) that occurs in the name.
std::optional<std::string> help_for(std::string_view ekg_name,
                                    const std::map<std::string, std::string>& help);

/// One node's exposition, ending with "# EOF".
/// `hints`: what the store knows about its names (none: every series is checked).
std::string render_node(const metric_snapshot& metrics,
                        const exposition_options& opts,
                        const series_hints* hints = nullptr);

/// One node's part of a multi-node exposition: each series it shows, by Prometheus name, with
/// its family's type and HELP text and its sample line (labelled with the node's name). A node's
/// store keeps the last one (series_hints::rendered) and it is reused until the store or the
/// options change, so a scrape re-renders only the nodes whose metrics moved since the last.
struct node_families {
    struct series {
        std::uint32_t name_off, name_len;      // into text
        std::uint32_t sample_off, sample_len;  // "name{node_name=…} value\n"
        const std::string* help;               // into the options' metricsHelp, or none
        bool counter;                          // the family's type
        bool stamped;  // ekg.server_timestamp_ms (or its alias): its value is made per scrape
    };
    std::string text;
    std::vector<series> by_name;  // sorted by name, each name once
    bool has_stamp = false;       // some series is stamped
    std::string node_label;       // node_name="…", escaped
    // What it was made from.
    std::uint64_t changes = 0;
    std::uint64_t help_generation = 0;
    const void* aliases = nullptr;
    bool no_suffix = false;
    std::string node_name;

    std::string_view view(std::uint32_t off, std::uint32_t len) const {
        return std::string_view(text).substr(off, len);
    }
    std::string_view name(const series& s) const { return view(s.name_off, s.name_len); }
};

/// Several nodes in one exposition, every sample labelled node_name="<name>", each family's
/// TYPE/HELP once (from the first node that shows it; a later node that gives the name
/// another type is left out), families in name order (no "# EOF", so that more text-format
/// families may follow). Nodes are added one at a time, each store read under its own lock;
/// finish() merges the nodes' sorted series.
class multi_node_exposition {
  public:
    explicit multi_node_exposition(const exposition_options& opts) : opts_(opts) {}
    /// `hints`: the store's (its last rendering is reused or replaced); none: rendered afresh.
    void add_node(std::string_view node_name,
                  const metric_snapshot& metrics,
                  const series_hints* hints = nullptr);
    std::string finish() const;

  private:
    struct part {
        std::shared_ptr<const node_families> families;
        std::string stamp_tail;  // the sample tail of the current server time
    };
    const exposition_options& opts_;
    std::vector<part> parts_;
};

/// multi_node_exposition over snapshots (tests, tools).
std::string render_nodes(const std::vector<std::pair<std::string, metric_snapshot>>& nodes,
                         const exposition_options& opts);

/// Haskell-style rendering of a label that holds a number, re-rendered as a Prometheus float.
std::optional<double> parse_number(std::string_view text);

}  // namespace ct::tracer::metrics
