// Prometheus text exposition of node metrics (spec §7.1.2–§7.1.4) with upstream's gaps
// closed: names are valid, every sample is typed, HELP and label values are escaped, so the
// body passes `promtool check metrics`. Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracer/metrics/node_metrics.hpp"

namespace ct::tracer::metrics {

struct exposition_options {
    bool no_suffix = false;                   // metricsNoSuffix
    std::map<std::string, std::string> help;  // metricsHelp: name fragment -> text
};

/// Name transformation of spec §7.1.3 (plus a leading '_' when the result starts with a digit).
std::string prometheus_name(std::string_view ekg_name, bool no_suffix);

/// HELP text for an EKG name: the first key (sorted) that occurs in the name.
std::optional<std::string> help_for(std::string_view ekg_name,
                                    const std::map<std::string, std::string>& help);

/// One node's exposition, ending with "# EOF".
std::string render_node(const metric_snapshot& metrics, const exposition_options& opts);

/// Several nodes in one exposition, every sample labelled node_name="<name>" (no "# EOF",
/// so that more text-format families may follow).
std::string render_nodes(const std::vector<std::pair<std::string, metric_snapshot>>& nodes,
                         const exposition_options& opts);

/// Haskell-style rendering of a label that holds a number, re-rendered as a Prometheus float.
std::optional<double> parse_number(std::string_view text);

}  // namespace ct::tracer::metrics
