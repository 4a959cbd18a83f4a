// The HTTP routes of the Prometheus and EKG endpoints (spec §7.0–§7.2) as pure functions from
// a request to a response, so that they are tested without sockets. Thread-safe (read-only
// use of the directory and the options).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "tracer/metrics/exposition.hpp"
#include "tracer/metrics/node_directory.hpp"

namespace ct::tracer::metrics {

struct http_request {
    std::string method = "GET";
    std::string target = "/";
    std::string accept;  // empty: no Accept header
    bool has_accept = false;
    std::string host;            // Host header ("" when absent)
    std::string forwarded_host;  // X-Forwarded-Host ("" when absent)
    std::string body;            // POST forms (the timeseries query)
};

struct http_response {
    http_response() = default;
    http_response(unsigned s, std::string type, std::string b)
        : status(s), content_type(std::move(type)), body(std::move(b)) {}

    unsigned status = 200;
    std::string content_type;
    std::string body;
    /// Set by a route whose answer is computed elsewhere (a timeseries query on its own
    /// thread): the server calls it with a completion that may run on any thread, exactly
    /// once, and answers with what it is given. The connection waits; the server's thread
    /// does not.
    std::function<void(std::function<void(http_response)>)> deferred;
};

struct prometheus_context {
    const node_directory& nodes;
    const exposition_options& exposition;                 // outlives the request
    const std::map<std::string, std::string>& sd_labels;  // prometheusLabels
    std::function<std::string()> own_metrics;             // text format of the daemon's own metrics
    std::function<bool()> ready;                          // listeners bound, log roots writable
    /// GET /config: the effective configuration page (YAML when asked for), or empty.
    std::function<std::string(bool yaml)> effective_config;
};

http_response prometheus_route(const http_request& req, const prometheus_context& ctx);
/// `aliases`: legacy names added to each node's EKG JSON (metricsLegacyNames/metricsAliases).
http_response ekg_route(const http_request& req,
                        const node_directory& nodes,
                        const config::metric_alias_table* aliases = nullptr);

}  // namespace ct::tracer::metrics
