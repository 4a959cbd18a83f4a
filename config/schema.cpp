#include "config/schema.hpp"

#include <algorithm>
#include <array>
#include <sstream>

namespace ct::config {
namespace {

using o = key_origin;
using r = reload_mode;

// clang-format off
constexpr std::array entries{
    schema_entry{"", "networkMagic", "integer 0..4294967295", "required", "Network magic; must equal the node's, otherwise the handshake is refused."},
    schema_entry{"", "network", "object {tag, contents}", "required", "`{tag: AcceptAt, contents: ADDRESS}` (listen; nodes connect) or `{tag: ConnectTo, contents: [ADDRESS, ...]}` (dial nodes). ADDRESS is `host:port` (split at the last `:`) or a Unix socket path.", o::upstream},
    schema_entry{"", "loRequestNum", "integer 1..65535", "100", "Maximum number of trace objects per (blocking) request."},
    schema_entry{"", "ekgRequestFreq", "number (seconds)", "1", "Pause after each EKG metrics reply before the next request. The request leaves at the end of the 10 ms slot the pause ends in, with the other nodes' requests of that slot (at most 10 ms later than cardano-tracer; many nodes wake the daemon once per slot, not once per node)."},
    schema_entry{"", "ekgRequestFull", "bool", "false", "Ask for all metrics each time instead of only those that changed."},
    schema_entry{"", "hasEKG", "Endpoint or null", "null (off)", "EKG JSON/HTML server.", o::upstream},
    schema_entry{"", "hasPrometheus", "Endpoint or null", "null (off)", "Prometheus exposition, HTTP service discovery (`/targets`), `/metrics`, `/healthz`, `/readyz`.", o::upstream},
    schema_entry{"", "hasTimeseries", "Endpoint or null", "null (off)", "Timeseries store, its HTTP routes and its query language (cardano-tracer 0.5.0's `/timeseries/...`); see docs/operations.md.", o::upstream, r::restart},
    schema_entry{"", "tlsCertificate", "object or null", "null", "Certificate for every endpoint with `epForceSSL: true`.", o::upstream},
    schema_entry{"", "hasForwarding", "[network, prefixes or null, options] or null", "null (off)", "Re-forward received trace objects to downstream tracers (another cardano-tracer, or this daemon): `AcceptAt` (they connect, as upstream) or `ConnectTo` (we dial them; upstream aborts). Prefixes are whole-segment namespace prefixes (`[[ChainDB], [BlockFetch, Client]]`); null forwards everything. The daemon-wide `TraceOptions` and `nodeTraceOptions` apply first. Drops on a full queue are counted (`cardano_tracer_reforward_dropped_total`), not printed."},
    schema_entry{"", "logging", "non-empty list of LoggingParams", "required", "One entry per logging section; the routing rules choose what each one gets. Exact duplicates are removed."},
    schema_entry{"", "rotation", "object or null", "null (no rotation)", "Rotation of FileMode logs."},
    schema_entry{"", "verbosity", "Minimum | ErrorsOnly | Maximum", "ErrorsOnly", "Minimum silences connection problems and write errors; Maximum also logs every mini-protocol message."},
    schema_entry{"", "metricsNoSuffix", "bool", "false", "Prometheus: strip `_int`, `_counter`, `_real` from metric names."},
    schema_entry{"", "metricsHelp", "path or object name->text, or null", "null", "Prometheus HELP texts (substring match on metric names)."},
    schema_entry{"", "resourceFreq", "integer milliseconds or null", "null (off)", "Period of the `Tracer.Resources` own message."},
    schema_entry{"", "prometheusLabels", "object string->string or null", "null", "Extra labels of every `/targets` entry."},
    schema_entry{"", "socketMode", "string of octal digits", "\"0660\"", "File mode of the AcceptAt Unix socket.", o::extension},
    schema_entry{"", "maxMessageBytes", "integer > 0", "33554432", "Largest accepted mini-protocol message; a larger one closes that connection.", o::extension},
    schema_entry{"", "maxIngressBytes", "integer > 0", "67108864", "Largest backlog of received, not yet processed bytes per connection.", o::extension},
    schema_entry{"", "writerQueueBatches", "integer > 0", "1024", "Capacity of each output's queue (files, journal), in batches. When an output a batch needs is full, the daemon stops asking that node for more (it buffers) instead of dropping.", o::extension},
    schema_entry{"", "outputQueueBytes", "integer > 0", "4194304", "Capacity of each output's queue, in bytes of queued trace batches (a batch shared by two outputs counts in both; an empty queue takes any batch). Full: as writerQueueBatches.", o::extension},
    schema_entry{"", "ioThreads", "integer 1..64", "2", "Threads serving network connections. Each thread has its own connections (dealt round-robin as they arrive) and keeps them for their life.", o::extension, r::restart},
    schema_entry{"", "logFlushMillis", "integer 0..10000", "50", "How long a node's lines may wait in memory to be written to its log file together with the lines that follow (at most 16 KiB per file at a time; a disconnect, a reload, a rotation check or a shutdown writes them at once). One write then carries many replies instead of one each. 0 writes every reply as it comes, as cardano-tracer does.", o::extension},
    schema_entry{"", "leadingEmptyLine", "bool", "false", "Reproduce cardano-tracer's empty line before each batch (compatibility only).", o::extension},
    schema_entry{"", "handshakeTimeoutSecs", "number > 0", "10", "Time limit of the handshake, on TCP and Unix connections (a silent peer is closed).", o::extension},
    schema_entry{"", "shutdownTimeoutSecs", "number > 0", "10", "One deadline for SIGTERM/SIGINT: drain the nodes, write and close every file; what is left then is counted and reported as lost.", o::extension},
    schema_entry{"", "tcpKeepAliveSecs", "integer 0..86400", "60", "TCP keepalive on node connections: first probe after this idle time, then 4 probes 10 s apart (a frozen host is detected in about this + 40 s). 0 turns it off.", o::extension},
    schema_entry{"", "peerSilenceTimeoutSecs", "integer 0..86400", "60", "A node that leaves an EKG request unanswered this long is closed as frozen (on TCP and Unix sockets; a healthy node answers within ekgRequestFreq). 0 turns it off.", o::extension},
    schema_entry{"", "maxConnections", "integer 1..1000000", "2048", "Node connections at most; more are closed at once and counted (each may buffer maxIngressBytes).", o::extension},
    schema_entry{"", "maxMetricsPerNode", "integer 1..10000000", "20000", "Distinct EKG metric names kept per node; further names are ignored and counted.", o::extension},
    schema_entry{"", "maxTrackedNodes", "integer 1..10000000", "10000", "Node names whose per-node statistics (received, written, dropped) are kept; beyond it, names without a live connection are forgotten and counted.", o::extension},
    schema_entry{"", "timeseriesMaxSeries", "integer > 0", "100000", "hasTimeseries: series (metric and node) the store keeps at most; values of new series beyond it are refused, counted (`cardano_tracer_timeseries_points_refused_total`) and reported once a minute.", o::extension},
    schema_entry{"", "timeseriesMaxPoints", "integer > 0", "32000000", "hasTimeseries: points the store keeps at most, all nodes (about 13 bytes each: the default is about 420 MB); further values are refused and counted until pruning makes room.", o::extension},
    schema_entry{"", "timeseriesMaxPointsPerNode", "integer > 0", "8000000", "hasTimeseries: points kept at most per node, so that one node cannot take the whole store.", o::extension},
    schema_entry{"", "timeseriesQueryMaxSteps", "integer > 0", "20000000", "hasTimeseries: evaluation steps one query may take (elaboration problems, instants and points handled, range samples); a query that needs more gets a 400 `execution` error naming this key.", o::extension},
    schema_entry{"", "timeseriesQueryMaxPoints", "integer > 0", "10000000", "hasTimeseries: points one query may look up or produce; beyond it the query gets a 400 naming this key.", o::extension},
    schema_entry{"", "timeseriesQueryTimeoutSecs", "number 0..3600", "10", "hasTimeseries: wall time one query may run (on the query thread, below the node threads' priority); beyond it the query gets a 400 naming this key.", o::extension},
    schema_entry{"", "TraceOptions", "object namespace->options", "{\"\": {severity: Debug}}", "Rules for every node and section, in trace-dispatcher's syntax: keys are namespaces (`\"\"` or `_root_` for the root), the most specific whole-segment prefix wins, per option. See \"Routing and filtering\" below.", o::extension},
    schema_entry{"", "nodeTraceOptions", "object glob->TraceOptions", "{}", "Rules for the nodes whose name matches the glob (`*`, `?`, `[...]`), applied over `TraceOptions` in the order written.", o::extension},
    schema_entry{"", "legacyNamespaces", "path or null", "null (the built-in table)", "The legacy namespace table (new namespace prefix, legacy logger, TraceXxx switch per line; see legacy/namespaces.txt): it names LegacyText/LegacyJson loggers and translates `cardano.node.X` rule keys and `TraceXxx: bool` switches. A broken file is a configuration error naming the file and line.", o::extension},
    schema_entry{"", "metricsLegacyNames", "bool", "false", "Expose every metric also under its legacy (iohk-monitoring) name, in Prometheus and in the EKG JSON: `cardano_node_metrics_Forge_forged_counter` also as `cardano_node_metrics_Forge_forged_int`, and so on (legacy/metrics.txt).", o::extension},
    schema_entry{"", "metricsAliases", "path or null", "null", "An operator's own aliases (what cardano-tracer's removed `metricsComp` did), two columns per line as legacy/metrics.txt; they apply whether or not metricsLegacyNames is on and win over the built-in rows. A broken file is a configuration error naming the file and line.", o::extension},
    schema_entry{"", "legacyMetricsEndpoints", "object node name->Endpoint", "{}", "Serve one node's metrics alone at `/metrics` on their own endpoint, without labels and with the legacy names, as the node itself served them before the tracer (PrometheusSimple, port 12798): community tools such as gLiveView keep working unchanged. 503 while that node is not connected.", o::extension},
    schema_entry{"", "remoteWrite", "list of RemoteWrite", "[] (off)", "Push every connected node's metrics (labelled `node_name` and the `prometheusLabels`) and the daemon's own metrics to Prometheus remote-write receivers (Prometheus with `--web.enable-remote-write-receiver`, Mimir, Thanos, VictoriaMetrics): remote write 1.0, protobuf and snappy. See docs/operations.md.", o::extension},
    schema_entry{"", "otlpMetrics", "list of OTLPMetrics", "[] (off)", "Push every connected node's metrics (resource `service.instance.id=<node name>`) and the daemon's own (`service.name=cardano-tracer`) as OTLP metrics to `<endpoint>/v1/metrics`: counters as cumulative monotonic sums, gauges as gauges, histograms as histograms. See docs/fleet.md.", o::extension},
    schema_entry{"", "hasRTView", "any", "-", "No longer used (RTView was removed in 0.5.0).", o::legacy},
    schema_entry{"", "WarnRTViewMissing", "any", "-", "No longer used (iohk-nix generic config).", o::legacy},
    schema_entry{"", "metricsComp", "any", "-", "No longer used (removed in cardano-tracer 0.3.2).", o::legacy},

    schema_entry{"network", "tag", "AcceptAt | ConnectTo", "required", "Direction of the connections."},
    schema_entry{"network", "contents", "ADDRESS or [ADDRESS, ...]", "required", "One address for AcceptAt, a non-empty list for ConnectTo."},

    schema_entry{"endpoint", "epHost", "string", "required", "Bind address."},
    schema_entry{"endpoint", "epPort", "integer 0..65535", "required", "TCP port. 0 (an extension) binds any free port and reports it as boundPort in the endpoint's start message."},
    schema_entry{"endpoint", "epForceSSL", "bool", "false", "Serve HTTPS with `tlsCertificate` (a start-up error if it is missing)."},

    schema_entry{"tlsCertificate", "certificateFile", "path", "required", "PEM certificate."},
    schema_entry{"tlsCertificate", "certificateKeyFile", "path", "required", "PEM private key."},
    schema_entry{"tlsCertificate", "certificateChain", "list of paths", "[]", "Intermediate certificates."},

    schema_entry{"forwarderOptions", "queueSize", "integer > 0", "192", "Objects the re-forwarder holds per stream (all nodes, or one node with perNode) while no downstream tracer takes them; when full the oldest are dropped and counted."},
    schema_entry{"forwarderOptions", "verbosity", "Minimum | Maximum", "Minimum", "Re-forwarder verbosity."},
    schema_entry{"forwarderOptions", "maxReconnectDelay", "number (seconds)", "45", "Largest reconnect back-off."},
    schema_entry{"forwarderOptions", "perNode", "bool", "false", "One downstream connection per upstream node, with the node's NodeInfo passed through, so the next tracer sees every node under its own name and directory (a tree of tracers: host, region, central). Needs ConnectTo.", o::extension},

    schema_entry{"logging[]", "logRoot", "path", "required (not in OTLPMode)", "Root directory, ignored in JournalMode and OTLPMode. A relative path is made absolute against the working directory at load time; the effective configuration (`--print-config`) shows the absolute path."},
    schema_entry{"logging[]", "logMode", "FileMode | JournalMode | OTLPMode", "required", "Files under logRoot, systemd-journald, or (an extension) OTLP/HTTP logs to the section's `otlp` receiver."},
    schema_entry{"logging[]", "logFormat", "ForMachine | ForHuman | DispatcherHuman | LegacyText | LegacyJson", "required", "ForMachine: `.json` files with the node's machine JSON. ForHuman: `.log` files with the human text (machine JSON when there is none). Extensions: DispatcherHuman (`.log`), trace-dispatcher's `[time][host:ns](Sev,thread) text`; LegacyText (`.log`), the old node's `[host:cardano.node.Logger:Sev:thread] [time UTC] text`; LegacyJson (`.json`), the old node's JSON line. See \"Log formats\" below."},

    schema_entry{"logging[]", "otlp", "object OTLP", "required in OTLPMode", "Where an OTLPMode section exports: see the `logging[].otlp` table below and docs/fleet.md.", o::extension},

    schema_entry{"otlp", "endpoint", "http(s)://HOST[:PORT][/PREFIX]", "required", "The OTLP/HTTP receiver (an OpenTelemetry Collector, Loki >= 3 at `http://loki:3100/otlp`); records are POSTed to `<endpoint>/v1/logs`."},
    schema_entry{"otlp", "encoding", "protobuf | json", "protobuf", "`application/x-protobuf`, or OTLP's JSON mapping (`application/json`)."},
    schema_entry{"otlp", "compression", "gzip | none", "gzip", "Request body compression (`Content-Encoding: gzip`, level 1, on the sender thread)."},
    schema_entry{"otlp", "headers", "object name->value", "{}", "Sent with every request (authentication: `Authorization`, `X-Scope-OrgID`); values are never logged or shown (`<redacted>`)."},
    schema_entry{"otlp", "resourceAttributes", "object name->value", "{}", "Resource attributes over the defaults `service.name=cardano-node`, `service.instance.id=<node name>`, `host.name=<the node's host>` (a key given here replaces a default)."},
    schema_entry{"otlp", "timeout", "number 0..3600 (s)", "10", "Per request."},
    schema_entry{"otlp", "batchSize", "integer 1..1000000", "2048", "Records per request at most."},
    schema_entry{"otlp", "batchDelay", "number 0..60 (s)", "0.2", "A record waits at most this long for its request to fill."},
    schema_entry{"otlp", "queueBytes", "integer > 0", "67108864", "Encoded requests held in memory while the receiver is slow or down."},
    schema_entry{"otlp", "policy", "block | drop", "block", "When queueBytes (and the spill, if any) is full: `block` stops asking the nodes, as a full disk does (nothing lost); `drop` drops the newest records and counts them (`cardano_tracer_otlp_records_dropped_total`)."},
    schema_entry{"otlp", "spillDir", "path or null", "null (off)", "Requests beyond queueBytes are written here (one file each) and sent in order once the receiver takes them again; what is still queued at shutdown is written here too and sent after the next start. Then `policy` applies only when the spill is full too. One exporter per directory."},
    schema_entry{"otlp", "spillMaxBytes", "integer > 0", "1073741824", "Bytes the spill directory holds at most."},
    schema_entry{"otlp", "caFile", "path or null", "null (the system's trust store)", "https: the CA certificates (PEM) that the receiver's certificate must chain to."},

    schema_entry{"otlpMetrics[]", "endpoint", "http(s)://HOST[:PORT][/PREFIX]", "required", "The OTLP/HTTP receiver; metrics are POSTed to `<endpoint>/v1/metrics`."},
    schema_entry{"otlpMetrics[]", "interval", "number 0..86400 (s)", "15", "One push of every series this often; a push that cannot be delivered by then is dropped and counted (the next carries every current value)."},
    schema_entry{"otlpMetrics[]", "encoding", "protobuf | json", "protobuf", "As `otlp.encoding`."},
    schema_entry{"otlpMetrics[]", "compression", "gzip | none", "gzip", "As `otlp.compression`."},
    schema_entry{"otlpMetrics[]", "headers", "object name->value", "{}", "As `otlp.headers` (never shown)."},
    schema_entry{"otlpMetrics[]", "resourceAttributes", "object name->value", "{}", "Added to every resource (a key given here replaces a default)."},
    schema_entry{"otlpMetrics[]", "timeout", "number 0..3600 (s)", "10", "Per request."},
    schema_entry{"otlpMetrics[]", "caFile", "path or null", "null (the system's trust store)", "As `otlp.caFile`."},

    schema_entry{"logging[]", "TraceOptions", "object namespace->options", "{}", "Rules of this section alone, applied over `TraceOptions` and `nodeTraceOptions`.", o::extension},

    schema_entry{"TraceOptions{}", "severity", "Debug ... Emergency | Silence", "inherited (root: Debug)", "An object passes when its severity is at least this; Silence passes nothing."},
    schema_entry{"TraceOptions{}", "maxFrequency", "number >= 0 (objects/s)", "inherited (root: 0)", "Frequency limiter per node and leaf namespace (trace-dispatcher's algorithm); 0 removes an inherited limit."},
    schema_entry{"TraceOptions{}", "detail", "DMinimal ... DMaximum", "-", "the detail level is chosen by the node when it renders a message", o::ignored},
    schema_entry{"TraceOptions{}", "backends", "list", "-", "the daemon routes by logging section (its own TraceOptions)", o::ignored},

    schema_entry{"remoteWrite[]", "url", "http(s)://[USER:PASSWORD@]HOST[:PORT]/PATH", "required", "The receiver, e.g. `http://prometheus:9090/api/v1/write`; https verifies the receiver's certificate against the system's trust store; user and password become Basic authentication (never shown)."},
    schema_entry{"remoteWrite[]", "interval", "number 0..86400 (s)", "15", "One push of every series this often."},
    schema_entry{"remoteWrite[]", "timeout", "number 0..86400 (s)", "10", "Per request; a failed push (connection error, 429, 5xx) is retried with back-off until the next one is due, then counted as dropped."},
    schema_entry{"rotation", "rpFrequencySecs", "integer > 0", "60", "Period of the rotation check."},
    schema_entry{"rotation", "rpLogLimitBytes", "integer > 0", "required", "Rotate when the current file has this many bytes."},
    schema_entry{"rotation", "rpMaxAgeMinutes", "integer", "1440", "Rotated files older than this may be deleted (keeping rpKeepFilesNum)."},
    schema_entry{"rotation", "rpMaxAgeHours", "integer", "-", "Used (x60) only when rpMaxAgeMinutes is absent."},
    schema_entry{"rotation", "rpKeepFilesNum", "integer", "required", "Previous files that are never deleted for age."},
    schema_entry{"rotation", "rpMaxFilesNum", "integer > 0 or null", "null (no cap)", "Cap on the number of files per node and format; the oldest go first.", o::extension},
    schema_entry{"rotation", "rpMaxTotalBytes", "integer > 0 or null", "null (no cap)", "Cap on the bytes of one node directory; the oldest rotated files go first.", o::extension},
    schema_entry{"rotation", "rpCompress", "bool", "false", "Gzip rotated files (`.json.gz`, `.log.gz`).", o::extension},
    schema_entry{"rotation", "rpRemoveIdleDirs", "bool", "false", "Remove directories of nodes gone for longer than the max age.", o::extension},
};
// clang-format on

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const auto lower = [](char c) { return static_cast<char>(c | 0x20); };
            const std::size_t subst = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + subst});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace

std::span<const schema_entry> schema() { return entries; }

std::vector<std::string_view> restart_keys() {
    std::vector<std::string_view> keys;
    for (const auto& e : entries) {
        if (e.object.empty() && e.reload == reload_mode::restart) keys.push_back(e.key);
    }
    return keys;
}

std::vector<std::string_view> known_keys(std::string_view object) {
    std::vector<std::string_view> keys;
    for (const auto& e : entries) {
        if (e.object == object) keys.push_back(e.key);
    }
    return keys;
}

const schema_entry* find_key(std::string_view object, std::string_view key) {
    for (const auto& e : entries) {
        if (e.object == object && e.key == key) return &e;
    }
    return nullptr;
}

std::string_view nearest_key(std::string_view object, std::string_view unknown) {
    std::string_view best;
    std::size_t best_d = std::max<std::size_t>(3, unknown.size() / 3) + 1;
    for (const auto& e : entries) {
        if (e.object != object || e.origin == key_origin::legacy || e.origin == key_origin::ignored)
            continue;
        const auto d = edit_distance(unknown, e.key);
        // A key that contains the typo (or vice versa) is a good suggestion too.
        const bool contains = e.key.find(unknown) != std::string_view::npos ||
                              unknown.find(e.key) != std::string_view::npos;
        const auto score = contains ? std::min<std::size_t>(d, 2) : d;
        if (score < best_d) {
            best_d = score;
            best = e.key;
        }
    }
    return best;
}

namespace {
// A table cell: a `|` would end it (types such as `Minimum | Maximum`).
std::string cell(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += '\\';
        out += c;
    }
    return out;
}
}  // namespace

std::string render_markdown_reference() {
    std::ostringstream out;
    out << "# Configuration reference\n\n"
           "<!-- Generated from config/schema.cpp by `config_tests --gtest_filter=Schema.*`"
           " (see tests/config); do not edit by hand. -->\n\n"
           "cardano-tracer reads one YAML or JSON file (`--config`). Every key of cardano-tracer"
           " 0.5.0 is accepted with the same meaning and default. Keys marked *extension* are"
           " ours; cardano-tracer ignores unknown keys, so a file using them still works with"
           " it. `null` for an optional key means absent. `--print-config yaml|json` prints the"
           " effective configuration with every default filled in; the output is itself a valid"
           " configuration file.\n\n"
           "Validation reports every problem at once as `path: message` and exits with status"
           " 1. Besides cardano-tracer's own checks it rejects `loRequestNum: 0`,"
           " `rpFrequencySecs: 0`, `rpLogLimitBytes: 0`, `resourceFreq` <= 0, ports outside"
           " 1-65535, one port used by two endpoints (EKG, Prometheus, timeseries, TCP AcceptAt,"
           " re-forwarder), `epForceSSL` without `tlsCertificate`, and a present but mistyped"
           " optional value (cardano-tracer silently uses the default). Unknown keys and"
           " AcceptAt/ConnectTo strings that parse as `host:port` although they look like a"
           " path are warnings; `--strict` makes them errors.\n\n"
           "Unquoted YAML values are typed as cardano-tracer's YAML library types them:"
           " `null`, `~` and an empty value are null; `y`, `yes`, `on`, `true` and `n`, `no`,"
           " `off`, `false` (lower, upper or title case) are booleans; `0x1F`, `0o17` and"
           " decimal numbers (digits before any `.`, so `0.5` but not `.5`) are numbers. Quote"
           " a value to keep it a string (`socketMode: \"0660\"`). An integer field accepts"
           " an integral number written with a fraction or exponent (`1.0`, `1e6`), as"
           " cardano-tracer does; `1.5` is an error. A relative `logRoot` is made absolute"
           " against the working directory when the file is loaded, and the effective"
           " configuration shows the absolute path.\n\n"
           "SIGHUP re-reads the file and validates all of it; a file with an error changes"
           " nothing. The *on SIGHUP* column says what happens to a changed top-level key (its"
           " nested keys included): *applied* takes effect at once (connected nodes from their"
           " next reply or request); *needs a restart* is reported by name in"
           " `Tracer.ConfigReloaded`'s `notApplied` while everything else applies.\n";
    const std::array<std::pair<std::string_view, std::string_view>, 11> sections{{
        {"", "Top level"},
        {"network", "`network` (and the first element of `hasForwarding`)"},
        {"endpoint", "Endpoint (`hasEKG`, `hasPrometheus`, `hasTimeseries`)"},
        {"tlsCertificate", "`tlsCertificate`"},
        {"forwarderOptions", "`hasForwarding` third element (forwarder options)"},
        {"logging[]", "`logging` entries"},
        {"otlp", "`logging[].otlp` (OTLPMode sections)"},
        {"rotation", "`rotation`"},
        {"remoteWrite[]", "`remoteWrite` entries"},
        {"otlpMetrics[]", "`otlpMetrics` entries"},
        {"TraceOptions{}",
         "`TraceOptions` entries (top level, `nodeTraceOptions.<glob>`, `logging[].TraceOptions`)"},
    }};
    for (const auto& [object, title] : sections) {
        const bool top = object.empty();
        out << "\n## " << title << "\n\n| key | type | default | " << (top ? "on SIGHUP | " : "")
            << "meaning |\n|---|---|---|" << (top ? "---|" : "") << "---|\n";
        for (const auto& e : entries) {
            if (e.object != object) continue;
            out << "| `" << e.key << "` | " << cell(e.type) << " | " << cell(e.default_text)
                << " | ";
            if (top) {
                const bool inert =
                    e.origin == key_origin::legacy || e.origin == key_origin::ignored;
                out << (inert                           ? "-"
                        : e.reload == reload_mode::live ? "applied"
                                                        : "needs a restart")
                    << " | ";
            }
            if (e.origin == key_origin::extension) out << "*extension.* ";
            if (e.origin == key_origin::legacy) out << "*legacy.* ";
            if (e.origin == key_origin::ignored) out << "*accepted and ignored:* ";
            out << cell(e.description) << " |\n";
        }
    }
    out << R"(
## Routing and filtering

Every trace object passes through the dispatcher between decoding and writing. For one object
of node N with namespace NS (dotted, e.g. `ChainDB.AddBlockEvent.AddedToCurrentChain`) and one
logging section S, the rules are:

1. Start from the top-level `TraceOptions` map.
2. Override it, namespace key by namespace key and option by option, with every
   `nodeTraceOptions` entry whose glob matches N (`*`, `?`, `[...]`, as in a shell), in the
   order written: a later match wins.
3. Override the result the same way with S's own `TraceOptions`.
4. For each option on its own (`severity`, `maxFrequency`), the most specific key that is a
   whole-segment prefix of NS and sets that option wins: `ChainDB` matches
   `ChainDB.AddBlockEvent` but not `ChainDBX`; the root `""` (also written `_root_`) matches
   everything. Without any rule an object passes (root severity `Debug`, no limit).

An object is written to S iff its severity is at least the resolved `severity` (`Silence`
passes nothing) and, when a `maxFrequency` > 0 applies, the frequency limiter lets it through.
The limiter is trace-dispatcher's (budget 30, reward clamp 10, reminder every 10 s), kept per
node and leaf namespace, measured on the objects' own timestamps; it reports
`Tracer.StartLimiting`, `Tracer.RememberLimiting` and `Tracer.StopLimiting` with the
suppressed counts. An object that no section takes is counted in
`cardano_tracer_node_trace_objects_filtered_total` and
`cardano_tracer_dispatcher_filtered_total{node_name,namespace,reason}` (top-level namespace
segment; reason `severity` or `limiter`) and never copied. Metrics (EKG) are never filtered.

```yaml
TraceOptions:                 # the whole daemon
  "": { severity: Info }
  ChainDB: { severity: Notice, maxFrequency: 5.0 }
nodeTraceOptions:             # per node name, glob patterns; applied in the order written
  "relay-*": { Mempool: { severity: Silence } }
logging:
- { logRoot: /var/log/ct, logMode: FileMode, logFormat: ForMachine }   # what the rules keep
- { logRoot: /var/log/ct-warn, logMode: FileMode, logFormat: ForHuman,
    TraceOptions: { "": { severity: Warning } } }                      # this section only
```

Here nothing of `relay-1`'s `Mempool` is kept (the node rule is more specific than every root);
`bp-1`'s Mempool messages at Info go to the first section; everything at Warning and above goes
to both sections. A `ChainDB` Notice message goes to *both* sections, at most 5 per second per
leaf namespace: the daemon's `ChainDB` key is more specific than the second section's root, so
it wins there too (add `ChainDB: { severity: Warning }` to that section to keep it out). A section keeps its open files when a reload adds, removes or reorders sections: a
section is what it writes (`logRoot`, `logMode`, `logFormat`), not its position.
`--print-config` shows the rules as they apply.

## Log formats

| `logFormat` | files | one line per trace object |
|---|---|---|
| `ForMachine` | `node-*.json` | the node's machine JSON, byte for byte (cardano-tracer) |
| `ForHuman` | `node-*.log` | the node's human text, or the machine JSON when it has none (cardano-tracer) |
| `DispatcherHuman` | `node-*.log` | trace-dispatcher's human line: `[2022-10-31 19:58:52.1234Z][bprod1:BlockFetch.Decision.Decline](Info,174) text` (time truncated to 4 digits; without a human text, `{"data":<the machine data object>}`) |
| `LegacyText` | `node-*.log` | the old node's text line: `[bprod1:cardano.node.BlockFetchDecision:Info:174] [2022-10-31 19:58:52.12 UTC] text` (host up to its first dot, at most 8 characters; without a human text, the machine data object) |
| `LegacyJson` | `node-*.json` | the old node's JSON line: `{"at":"2022-10-31T19:58:52.12Z","env":"","ns":["cardano.node.BlockFetchDecision"],"data":{...},"app":[],"msg":"text","pid":"","loc":null,"host":"bprod1","sev":"Info","thread":"174"}` |

The legacy logger of a namespace is that of its longest prefix in the legacy namespace table
(`legacyNamespaces`, built in from legacy/namespaces.txt), else `cardano.node.<first segment>`.
`env` and `pid` are empty (the daemon does not know the node's process). Two formats that write
the same extension need different `logRoot`s. The journal (`JournalMode`) takes the same
formats for its `MESSAGE` field.

## Legacy rule keys and switches

A `TraceOptions` key may name a legacy logger (`cardano.node.ChainDB`): it stands for every new
prefix of that logger in the table (`ChainDB` and `ChainDB.ReplayBlock`); a new-style key in the
same map wins over it field by field. The switches of an old node configuration are accepted at
the top level and inside a logging section: `TraceChainDb: false` is `severity: Silence` on the
switch's prefixes, `TraceMempool: true` is the root severity of that map (the section's, else the
daemon's) there; explicit `TraceOptions` win over switches. A switch new tracing has no
equivalent for (`TraceDnsResolver`) and an unknown one (`TraceChainDB`) are warnings naming it;
an unknown legacy logger in a rule key is an error. `--print-config` shows the translated rules.
)";
    return out.str();
}

}  // namespace ct::config
