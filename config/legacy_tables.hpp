// The legacy-nomenclature tables as data: the namespace table (new namespace prefix, legacy
// logger, legacy TraceXxx switch; spec dispatcher §4.2). The shipped file legacy/namespaces.txt
// is built into the daemon; `legacyNamespaces: FILE` replaces it. Parsing reports the file and
// line of every problem. Plain values; pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ct::config {

struct legacy_namespace_row {
    std::string new_prefix;  // "" when new tracing has no equivalent
    std::string logger;      // after "cardano.node."; "" when none
    std::string switch_key;  // "TraceChainDb"; "" when none
    bool operator==(const legacy_namespace_row&) const = default;
};

struct legacy_namespace_table {
    std::string source;  // the file, or "built-in"
    std::vector<legacy_namespace_row> rows;
    bool operator==(const legacy_namespace_table&) const = default;

    /// "cardano.node.<logger>" of the longest prefix row of `ns`; without one,
    /// "cardano.node.<first segment>".
    std::string logger_for(std::string_view ns) const;
    /// The new prefixes of a legacy logger ("ChainDB" or "cardano.node.ChainDB").
    std::vector<std::string> prefixes_of_logger(std::string_view logger) const;
    /// The new prefixes a TraceXxx switch stands for (empty: known, no equivalent).
    std::vector<std::string> prefixes_of_switch(std::string_view key) const;
    bool knows_switch(std::string_view key) const;
};

struct table_problem {
    std::size_t line = 0;
    std::string message;
};

/// Parses the namespace table format (see legacy/namespaces.txt); problems get their line.
legacy_namespace_table parse_legacy_namespaces(std::string_view text,
                                               std::string source,
                                               std::vector<table_problem>& problems);

/// The shipped legacy/namespaces.txt (embedded at build time).
std::string_view builtin_legacy_namespaces();

/// Metric aliases: new EKG name (after the "cardano.node.metrics." prefix) -> legacy name.
using metric_alias_table = std::map<std::string, std::string, std::less<>>;

/// Parses the metric alias format (see legacy/metrics.txt): two columns per line.
metric_alias_table parse_metric_aliases(std::string_view text,
                                        std::vector<table_problem>& problems);

/// The shipped legacy/metrics.txt (embedded at build time).
std::string_view builtin_legacy_metrics();

}  // namespace ct::config
