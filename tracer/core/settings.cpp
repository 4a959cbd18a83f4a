#include "tracer/core/settings.hpp"

#include <algorithm>
#include <cmath>

#include "dispatcher/routing.hpp"

namespace ct::tracer {

session_settings make_session_settings(const config::tracer_config& cfg) {
    session_settings s;
    s.network_magic = cfg.network_magic;
    s.request_num = cfg.lo_request_num;
    s.ekg_period = std::chrono::milliseconds(
        static_cast<long long>(std::llround(cfg.ekg_request_freq * 1000.0)));
    s.ekg_full = cfg.ekg_request_full;
    s.verbose = cfg.verbosity == config::verbosity_level::minimum   ? verbosity::minimum
                : cfg.verbosity == config::verbosity_level::maximum ? verbosity::maximum
                                                                    : verbosity::errors_only;
    s.max_message_bytes = static_cast<std::size_t>(cfg.max_message_bytes);
    s.max_ingress_bytes = static_cast<std::size_t>(cfg.max_ingress_bytes);
    s.handshake_timeout = std::chrono::milliseconds(
        static_cast<long long>(std::llround(cfg.handshake_timeout_secs * 1000.0)));
    s.tcp_keep_alive = std::chrono::seconds(cfg.tcp_keep_alive_secs);
    s.peer_silence_timeout = std::chrono::seconds(cfg.peer_silence_timeout_secs);
    s.max_connections = cfg.max_connections;
    s.max_metrics_per_node = cfg.max_metrics_per_node;
    s.routing = dispatcher::routing::build(cfg);
    return s;
}

outputs::writer_options make_writer_options(const config::tracer_config& cfg) {
    outputs::writer_options w;
    for (const auto& l : cfg.logging) {
        if (l.otlp) {
            const auto key = l.otlp->key();
            w.sections.push_back({std::string(), l.mode, l.format, key});
            w.otlp.emplace(key, *l.otlp);
        } else {
            w.sections.push_back({l.log_root, l.mode, l.format});
        }
    }
    w.rotation = cfg.rotation;
    w.leading_empty_line = cfg.leading_empty_line;
    w.write_behind = std::chrono::milliseconds(cfg.log_flush_millis);
    w.queue_capacity = static_cast<std::size_t>(cfg.writer_queue_batches);
    w.queue_bytes = static_cast<std::size_t>(cfg.output_queue_bytes);
    w.max_tracked_nodes = cfg.max_tracked_nodes;
    w.legacy_names = std::make_shared<const config::legacy_namespace_table>(cfg.legacy_namespaces);
    return w;
}

network_plan make_network_plan(const config::tracer_config& cfg) {
    network_plan p;
    p.accept = cfg.network.m == config::network_config::mode::accept_at;
    p.socket_mode = cfg.socket_mode;
    for (const auto& a : cfg.network.addresses) {
        endpoint_address e;
        e.is_tcp = a.is_tcp();
        e.path = a.path;
        e.host = a.host;
        e.port = a.port;
        p.addresses.push_back(e);
    }
    return p;
}

}  // namespace ct::tracer
