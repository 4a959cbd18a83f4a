#include "config/emit.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdio>

namespace ct::config {
namespace {

// A password in a URL is never shown (messages, GET /config, --print-config): user:<redacted>@.
std::string redacted_url(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    const auto authority_end = url.find('/', scheme + 3);
    const auto at = url.rfind('@', authority_end);
    if (at == std::string::npos || at < scheme) return url;
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "<redacted>" + url.substr(at);
}

using ojson = nlohmann::ordered_json;

// The keys every OTLP exporter has. Header values are credentials more often than not: shown
// as <redacted>, names kept.
ojson otlp_connection_json(const otlp_settings& o) {
    ojson j;
    j["endpoint"] = redacted_url(o.endpoint);
    j["encoding"] = o.enc == otlp_settings::encoding::json ? "json" : "protobuf";
    j["compression"] = o.gzip ? "gzip" : "none";
    ojson headers = ojson::object();
    for (const auto& [name, value] : o.headers) headers[name] = "<redacted>";
    j["headers"] = headers;
    j["resourceAttributes"] = o.resource_attributes;
    j["timeout"] = o.timeout_secs;
    j["caFile"] = o.ca_file ? ojson(*o.ca_file) : ojson(nullptr);
    return j;
}

ojson otlp_json(const otlp_settings& o) {
    ojson j = otlp_connection_json(o);
    j["batchSize"] = o.batch_records;
    j["batchDelay"] = o.batch_delay_secs;
    j["queueBytes"] = o.queue_bytes;
    j["policy"] = o.policy == otlp_settings::overflow::drop ? "drop" : "block";
    j["spillDir"] = o.spill_dir ? ojson(*o.spill_dir) : ojson(nullptr);
    j["spillMaxBytes"] = o.spill_max_bytes;
    return j;
}

ojson network_json(const network_config& n) {
    ojson j;
    j["tag"] = n.m == network_config::mode::accept_at ? "AcceptAt" : "ConnectTo";
    if (n.m == network_config::mode::accept_at) {
        j["contents"] = n.addresses.empty() ? std::string() : n.addresses.front().to_string();
    } else {
        ojson list = ojson::array();
        for (const auto& a : n.addresses) list.push_back(a.to_string());
        j["contents"] = list;
    }
    return j;
}

ojson endpoint_json(const std::optional<endpoint>& e) {
    if (!e) return nullptr;
    ojson j;
    j["epHost"] = e->host;
    j["epPort"] = e->port;
    j["epForceSSL"] = e->force_ssl;
    return j;
}

template <typename T>
ojson optional_json(const std::optional<T>& v) {
    return v ? ojson(*v) : ojson(nullptr);
}

std::string mode_text(unsigned mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode);
    return buf;
}

ojson trace_options_json(const trace_options& opts) {
    ojson j = ojson::object();
    for (const auto& [ns, o] : opts) {
        ojson e = ojson::object();
        if (o.severity) e["severity"] = std::string(to_string(*o.severity));
        if (o.max_frequency) e["maxFrequency"] = *o.max_frequency;
        j[ns] = e;
    }
    return j;
}

void emit_yaml(YAML::Emitter& out, const ojson& j) {
    switch (j.type()) {
        case ojson::value_t::object:
            out << YAML::BeginMap;
            for (const auto& [k, v] : j.items()) {
                out << YAML::Key << k << YAML::Value;
                emit_yaml(out, v);
            }
            out << YAML::EndMap;
            break;
        case ojson::value_t::array:
            out << YAML::BeginSeq;
            for (const auto& v : j) emit_yaml(out, v);
            out << YAML::EndSeq;
            break;
        case ojson::value_t::string:
            // Always quoted: values such as "0660", "true" or "1" must stay strings.
            out << YAML::DoubleQuoted << j.get<std::string>();
            break;
        case ojson::value_t::boolean:
            out << (j.get<bool>() ? "true" : "false");
            break;
        case ojson::value_t::number_unsigned:
            out << j.get<std::uint64_t>();
            break;
        case ojson::value_t::number_integer:
            out << j.get<std::int64_t>();
            break;
        case ojson::value_t::number_float:
            out << j.dump();  // shortest round-trip form
            break;
        default:
            out << YAML::Null;
    }
}

}  // namespace

ojson to_ordered_json(const tracer_config& c) {
    ojson j;
    j["networkMagic"] = c.network_magic;
    j["network"] = network_json(c.network);
    j["loRequestNum"] = c.lo_request_num;
    j["ekgRequestFreq"] = c.ekg_request_freq;
    j["ekgRequestFull"] = c.ekg_request_full;
    j["hasEKG"] = endpoint_json(c.has_ekg);
    j["hasPrometheus"] = endpoint_json(c.has_prometheus);
    j["hasTimeseries"] = endpoint_json(c.has_timeseries);
    if (c.tls_certificate_) {
        ojson t;
        t["certificateFile"] = c.tls_certificate_->certificate_file;
        t["certificateKeyFile"] = c.tls_certificate_->certificate_key_file;
        t["certificateChain"] = c.tls_certificate_->certificate_chain;
        j["tlsCertificate"] = t;
    } else {
        j["tlsCertificate"] = nullptr;
    }
    if (c.has_forwarding) {
        const auto& f = *c.has_forwarding;
        ojson opts;
        opts["queueSize"] = f.options.queue_size;
        opts["verbosity"] = f.options.verbose_maximum ? "Maximum" : "Minimum";
        opts["maxReconnectDelay"] = f.options.max_reconnect_delay;
        opts["perNode"] = f.options.per_node;
        j["hasForwarding"] =
            ojson::array({network_json(f.network), optional_json(f.prefixes), opts});
    } else {
        j["hasForwarding"] = nullptr;
    }
    ojson logging = ojson::array();
    for (const auto& l : c.logging) {
        ojson e;
        e["logRoot"] = l.log_root;
        e["logMode"] = std::string(to_string(l.mode));
        e["logFormat"] = std::string(to_string(l.format));
        if (l.otlp) e["otlp"] = otlp_json(*l.otlp);
        if (!l.options.empty()) e["TraceOptions"] = trace_options_json(l.options);
        logging.push_back(e);
    }
    j["logging"] = logging;
    if (c.rotation) {
        const auto& r = *c.rotation;
        ojson rj;
        rj["rpFrequencySecs"] = r.frequency_secs;
        rj["rpLogLimitBytes"] = r.log_limit_bytes;
        rj["rpMaxAgeMinutes"] = r.max_age_minutes;
        rj["rpKeepFilesNum"] = r.keep_files_num;
        rj["rpMaxFilesNum"] = optional_json(r.max_files_num);
        rj["rpMaxTotalBytes"] = optional_json(r.max_total_bytes);
        rj["rpCompress"] = r.compress;
        rj["rpRemoveIdleDirs"] = r.remove_idle_dirs;
        j["rotation"] = rj;
    } else {
        j["rotation"] = nullptr;
    }
    j["verbosity"] = std::string(to_string(c.verbosity));
    j["metricsNoSuffix"] = c.metrics_no_suffix;
    if (!c.metrics_help_) {
        j["metricsHelp"] = nullptr;
    } else if (const auto* path = std::get_if<std::string>(&*c.metrics_help_)) {
        j["metricsHelp"] = *path;
    } else {
        j["metricsHelp"] = std::get<std::map<std::string, std::string>>(*c.metrics_help_);
    }
    j["resourceFreq"] = optional_json(c.resource_freq);
    j["prometheusLabels"] = optional_json(c.prometheus_labels);
    j["socketMode"] = mode_text(c.socket_mode);
    j["maxMessageBytes"] = c.max_message_bytes;
    j["maxIngressBytes"] = c.max_ingress_bytes;
    j["writerQueueBatches"] = c.writer_queue_batches;
    j["outputQueueBytes"] = c.output_queue_bytes;
    j["ioThreads"] = c.io_threads;
    j["logFlushMillis"] = c.log_flush_millis;
    j["leadingEmptyLine"] = c.leading_empty_line;
    j["handshakeTimeoutSecs"] = c.handshake_timeout_secs;
    j["shutdownTimeoutSecs"] = c.shutdown_timeout_secs;
    j["tcpKeepAliveSecs"] = c.tcp_keep_alive_secs;
    j["peerSilenceTimeoutSecs"] = c.peer_silence_timeout_secs;
    j["maxConnections"] = c.max_connections;
    j["maxMetricsPerNode"] = c.max_metrics_per_node;
    j["maxTrackedNodes"] = c.max_tracked_nodes;
    j["timeseriesMaxSeries"] = c.timeseries_max_series;
    j["timeseriesMaxPoints"] = c.timeseries_max_points;
    j["timeseriesMaxPointsPerNode"] = c.timeseries_max_points_per_node;
    j["timeseriesQueryMaxSteps"] = c.timeseries_query_max_steps;
    j["timeseriesQueryMaxPoints"] = c.timeseries_query_max_points;
    j["timeseriesQueryTimeoutSecs"] = c.timeseries_query_timeout_secs;
    j["TraceOptions"] = trace_options_json(c.trace_options_);
    ojson nodes = ojson::object();
    for (const auto& n : c.node_trace_options_) nodes[n.pattern] = trace_options_json(n.options);
    j["nodeTraceOptions"] = nodes;
    j["legacyNamespaces"] = optional_json(c.legacy_namespaces_file);
    j["metricsLegacyNames"] = c.metrics_legacy_names;
    j["metricsAliases"] = optional_json(c.metrics_aliases_file);
    ojson legacy_eps = ojson::object();
    for (const auto& [node, ep] : c.legacy_metrics_endpoints) legacy_eps[node] = endpoint_json(ep);
    j["legacyMetricsEndpoints"] = legacy_eps;
    ojson remote = ojson::array();
    for (const auto& t : c.remote_write) {
        ojson e = ojson::object();
        e["url"] = redacted_url(t.url);
        e["interval"] = t.interval_secs;
        e["timeout"] = t.timeout_secs;
        remote.push_back(e);
    }
    j["remoteWrite"] = remote;
    ojson metrics_targets = ojson::array();
    for (const auto& t : c.otlp_metrics) {
        ojson e = otlp_connection_json(t.connection);
        e["interval"] = t.interval_secs;
        metrics_targets.push_back(e);
    }
    j["otlpMetrics"] = metrics_targets;
    return j;
}

// The loader refuses text that is not UTF-8; a configuration built otherwise still never
// makes these throw (invalid bytes become U+FFFD).
constexpr auto replace_invalid = nlohmann::json::error_handler_t::replace;

nlohmann::json to_json(const tracer_config& c) {
    return nlohmann::json::parse(to_ordered_json(c).dump(-1, ' ', false, replace_invalid));
}

std::string to_json_text(const tracer_config& c) {
    return to_ordered_json(c).dump(2, ' ', false, replace_invalid);
}

std::string to_yaml_text(const tracer_config& c) { return to_yaml_text(to_ordered_json(c)); }

std::string to_yaml_text(const nlohmann::ordered_json& j) {
    YAML::Emitter out;
    emit_yaml(out, j);
    return std::string(out.c_str()) + "\n";
}

}  // namespace ct::config
