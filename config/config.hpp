// The effective cardano-tracer configuration as plain value types: everything parsed,
// defaults filled in, relative paths made absolute. Immutable once built; safe to share
// between threads as `std::shared_ptr<const tracer_config>` (hot reload swaps whole snapshots).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/legacy_tables.hpp"
#include "protocol/severity.hpp"

namespace ct::config {

/// A node address: a Unix socket path or TCP host:port (spec §3.3.1).
struct address {
    enum class kind { local, tcp };
    kind k = kind::local;
    std::string path;  // local
    std::string host;  // tcp
    std::uint16_t port = 0;

    bool is_tcp() const { return k == kind::tcp; }
    /// Path as-is, or host:port — the rendering cardano-tracer uses in traces and configs.
    std::string to_string() const;
    bool operator==(const address&) const = default;
};

struct network_config {
    enum class mode { accept_at, connect_to };
    mode m = mode::accept_at;
    std::vector<address> addresses;  // exactly one for AcceptAt; non-empty for ConnectTo
    bool operator==(const network_config&) const = default;
};

struct endpoint {
    std::string host;
    std::uint16_t port = 0;
    bool force_ssl = false;
    bool operator==(const endpoint&) const = default;
};

/// One Prometheus remote-write target (remoteWrite entries).
struct remote_write_target {
    std::string url;            // http://host[:port]/path
    double interval_secs = 15;  // one push of every series this often
    double timeout_secs = 10;   // per request
    bool operator==(const remote_write_target&) const = default;
};

struct tls_certificate {
    std::string certificate_file;
    std::string certificate_key_file;
    std::vector<std::string> certificate_chain;
    bool operator==(const tls_certificate&) const = default;
};

struct forwarder_options {
    std::uint64_t queue_size = 192;
    bool verbose_maximum = false;  // "Minimum" (default) or "Maximum"
    double max_reconnect_delay = 45;
    /// Extension: one downstream connection per upstream node, with its NodeInfo passed
    /// through (ConnectTo only), so that the next tracer sees every node under its own name.
    bool per_node = false;
    bool operator==(const forwarder_options&) const = default;
};

struct forwarding_config {
    network_config network;
    /// Namespace prefixes (each a list of segments); nullopt = forward everything.
    std::optional<std::vector<std::vector<std::string>>> prefixes;
    forwarder_options options;
    bool operator==(const forwarding_config&) const = default;
};

/// A TraceOptions severity threshold (trace-dispatcher's SeverityF): an object passes iff its
/// severity is at least `min`; Silence passes nothing.
struct severity_threshold {
    bool silence = false;
    protocol::severity min = protocol::severity::debug;
    bool operator==(const severity_threshold&) const = default;
};

/// One TraceOptions entry (spec dispatcher §2.3); unset fields inherit from a shorter prefix.
struct trace_option {
    std::optional<severity_threshold> severity;
    std::optional<double> max_frequency;  // objects/s; 0 removes an inherited limiter
    bool operator==(const trace_option&) const = default;
};

/// Namespace (dotted; "" is the root) -> options. A key matches whole segments only.
using trace_options = std::map<std::string, trace_option>;

/// nodeTraceOptions: a glob pattern on the node name and the rules for matching nodes.
struct node_trace_options {
    std::string pattern;
    trace_options options;
    bool operator==(const node_trace_options&) const = default;
};

/// forward_mode is internal: the re-forwarder's section (hasForwarding), never in a file.
/// otlp_mode is an extension: OTLP/HTTP logs to a collector (the section's `otlp` settings).
enum class log_mode { file_mode, journal_mode, otlp_mode, forward_mode };
/// ForMachine and ForHuman as cardano-tracer writes them; DispatcherHuman is trace-dispatcher's
/// human line, LegacyText and LegacyJson the old node's iohk-monitoring lines.
enum class log_format { for_machine, for_human, dispatcher_human, legacy_text, legacy_json };

/// Where and how an OTLPMode section exports (its `otlp` object). Sections with equal
/// settings share one exporter: one queue, one connection, one set of counters.
struct otlp_settings {
    enum class encoding { protobuf, json };
    /// What a full queue does: stop asking the nodes (as files do), or drop the newest
    /// records (counted).
    enum class overflow { block, drop };
    std::string endpoint;  // http(s)://host[:port][/prefix]; logs go to <endpoint>/v1/logs
    encoding enc = encoding::protobuf;
    std::map<std::string, std::string> headers;              // values never shown
    std::map<std::string, std::string> resource_attributes;  // over the defaults
    bool gzip = true;                                        // compression: gzip | none
    double timeout_secs = 10;                                // per request
    std::uint32_t batch_records = 2048;                      // records per request at most
    double batch_delay_secs = 0.2;                           // a record waits this long at most
    std::uint64_t queue_bytes = 64ull << 20;                 // encoded requests held in memory
    overflow policy = overflow::block;
    std::optional<std::string> ca_file;    // https: trust this CA (else the system's store)
    std::optional<std::string> spill_dir;  // requests beyond queueBytes wait on disk here
    std::uint64_t spill_max_bytes = 1ull << 30;
    bool operator==(const otlp_settings&) const = default;
    /// One string per distinct exporter (every setting, secrets included; never shown).
    std::string key() const;
};

/// One OTLP metrics target (otlpMetrics entries): the connection keys of `otlp`, and how often
/// every node's metrics and the daemon's own are pushed to <endpoint>/v1/metrics.
struct otlp_metrics_target {
    otlp_settings connection;  // endpoint, encoding, compression, headers, ... (no batching)
    double interval_secs = 15;
    bool operator==(const otlp_metrics_target&) const = default;
};

struct logging_params {
    std::string log_root;  // absolute after loading
    log_mode mode = log_mode::file_mode;
    log_format format = log_format::for_machine;
    trace_options options;              // this section's own TraceOptions (extension)
    std::optional<otlp_settings> otlp;  // OTLPMode only
    bool operator==(const logging_params&) const = default;
    /// What the section is (its files, the journal, an exporter), independent of its rules
    /// and of its position in the list. logRoot matters in FileMode only.
    bool same_output(const logging_params& o) const {
        return mode == o.mode && format == o.format && otlp == o.otlp &&
               (mode != log_mode::file_mode || log_root == o.log_root);
    }
};

struct rotation_params {
    std::uint32_t frequency_secs = 60;
    std::uint64_t log_limit_bytes = 0;
    std::uint64_t max_age_minutes = 1440;
    std::uint32_t keep_files_num = 0;
    // Extensions (absent = upstream behaviour).
    std::optional<std::uint64_t> max_files_num;
    std::optional<std::uint64_t> max_total_bytes;
    bool compress = false;
    bool remove_idle_dirs = false;
    bool operator==(const rotation_params&) const = default;
};

enum class verbosity_level { minimum, errors_only, maximum };

/// metricsHelp: a path to a JSON file, or an inline map metric-name-fragment → help text.
using metrics_help = std::variant<std::string, std::map<std::string, std::string>>;

/// Defaults that the output layer's own options also start from (one place for both).
inline constexpr std::uint64_t default_writer_queue_batches = 1024;
inline constexpr std::uint64_t default_output_queue_bytes = 4ull << 20;
inline constexpr std::uint32_t default_max_tracked_nodes = 10000;

struct tracer_config {
    std::uint32_t network_magic = 0;
    network_config network;
    std::uint16_t lo_request_num = 100;
    double ekg_request_freq = 1.0;
    bool ekg_request_full = false;
    std::optional<endpoint> has_ekg;
    std::optional<endpoint> has_prometheus;
    std::optional<endpoint> has_timeseries;
    std::optional<tls_certificate> tls_certificate_;
    std::optional<forwarding_config> has_forwarding;
    std::vector<logging_params> logging;
    std::optional<rotation_params> rotation;
    verbosity_level verbosity = verbosity_level::errors_only;
    bool metrics_no_suffix = false;
    std::optional<metrics_help> metrics_help_;
    std::optional<std::uint64_t> resource_freq;  // milliseconds
    std::optional<std::map<std::string, std::string>> prometheus_labels;

    // Extensions of this implementation (cardano-tracer ignores unknown keys).
    trace_options trace_options_;                         // TraceOptions: the whole daemon
    std::vector<node_trace_options> node_trace_options_;  // in the order written
    std::optional<std::string> legacy_namespaces_file;    // null: the built-in table
    legacy_namespace_table legacy_namespaces;             // the table in force
    bool metrics_legacy_names = false;                    // built-in metric aliases on
    std::optional<std::string> metrics_aliases_file;      // an operator's aliases
    metric_alias_table metric_aliases;                    // the aliases in force
    /// legacyMetricsEndpoints: node name -> where that node's metrics are served alone.
    std::map<std::string, endpoint> legacy_metrics_endpoints;
    std::vector<remote_write_target> remote_write;
    std::vector<otlp_metrics_target> otlp_metrics;
    unsigned socket_mode = 0660;
    std::uint64_t max_message_bytes = 32ull << 20;
    std::uint64_t max_ingress_bytes = 64ull << 20;
    std::uint64_t writer_queue_batches = default_writer_queue_batches;
    std::uint64_t output_queue_bytes = default_output_queue_bytes;  // per output
    std::uint32_t io_threads = 2;
    bool leading_empty_line = false;
    std::uint32_t log_flush_millis = 50;  // file write-behind; 0: every reply written at once
    double handshake_timeout_secs = 10;
    double shutdown_timeout_secs = 10;
    std::uint32_t tcp_keep_alive_secs = 60;        // 0: off
    std::uint32_t peer_silence_timeout_secs = 60;  // 0: off
    std::uint32_t max_connections = 2048;
    std::uint32_t max_metrics_per_node = 20000;
    std::uint32_t max_tracked_nodes = default_max_tracked_nodes;
    // hasTimeseries store caps (applied at once on reload; what they refuse is counted).
    std::uint64_t timeseries_max_series = 100'000;
    std::uint64_t timeseries_max_points = 32'000'000;
    std::uint64_t timeseries_max_points_per_node = 8'000'000;
    // Bounds of one timeseries query (upstream has none: some queries never end).
    std::uint64_t timeseries_query_max_steps = 20'000'000;
    std::uint64_t timeseries_query_max_points = 10'000'000;
    double timeseries_query_timeout_secs = 10;

    bool operator==(const tracer_config&) const = default;
};

std::string_view to_string(log_mode m);
std::string_view to_string(log_format f);
/// The extension of a format's files: "json" (ForMachine, LegacyJson) or "log".
std::string_view file_extension(log_format f);
std::string_view to_string(verbosity_level v);
/// "Debug" ... "Emergency", or "Silence".
std::string_view to_string(const severity_threshold& t);
/// The maximum number of logging sections (each has one bit in a record's routing mask).
inline constexpr std::size_t max_logging_sections = 64;

}  // namespace ct::config
