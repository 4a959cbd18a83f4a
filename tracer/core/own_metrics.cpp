#include "tracer/core/own_metrics.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <array>
#include <limits>
#include <map>

#include "tracer/core/cli.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/core/text_exposition.hpp"
#include "tracer/core/traffic_stats.hpp"
#include "tracer/outputs/output_router.hpp"

namespace ct::tracer {

namespace {

// prometheus-cpp counters only increase; bring one up to an absolute value.
void raise_to(prometheus::Counter& c, std::uint64_t value) {
    const double now = static_cast<double>(value);
    if (now > c.Value()) c.Increment(now - c.Value());
}

}  // namespace

struct own_metrics::families {
    prometheus::Gauge* connected_nodes;
    prometheus::Counter* connections;
    prometheus::Counter* handshakes_refused;
    prometheus::Counter* protocol_errors;
    prometheus::Counter* received;
    prometheus::Counter* replies;
    prometheus::Counter* written;
    prometheus::Counter* lost;
    prometheus::Counter* bytes_written;
    prometheus::Counter* write_errors;
    prometheus::Counter* queue_full;
    prometheus::Gauge* queue_depth;
    prometheus::Counter* rotations;
    prometheus::Counter* files_deleted;
    prometheus::Counter* reloads;
    prometheus::Counter* reload_failures;
    prometheus::Gauge* uptime;
    std::array<prometheus::Counter*, session_error_kinds> session_errors;
    prometheus::Counter* connections_refused;
    prometheus::Counter* lost_at_shutdown;
    prometheus::Counter* ekg_ignored;
    prometheus::Counter* nodes_forgotten;
    // One row per output (by its name), in the router's order.
    struct output_row {
        prometheus::Counter *records, *bytes, *errors, *queue_full, *lost;
        prometheus::Gauge *queued_bytes, *queued_batches, *capacity_bytes;
    };
    std::vector<output_row> outputs;
};

own_metrics::own_metrics(const session_counters& sessions,
                         const traffic_registry& traffic,
                         const latency_histogram& turnaround,
                         const outputs::output_router& writer,
                         const reload_counters& reloads)
    : sessions_(sessions),
      traffic_(traffic),
      turnaround_(turnaround),
      writer_(writer),
      reloads_(reloads),
      registry_(std::make_shared<prometheus::Registry>()),
      f_(std::make_unique<families>()),
      http_duration_(std::make_unique<latency_histogram>()) {
    auto& r = *registry_;
    auto counters = [&](const char* name, const char* help) -> auto& {
        return prometheus::BuildCounter().Name(name).Help(help).Register(r);
    };
    auto gauges = [&](const char* name, const char* help) -> auto& {
        return prometheus::BuildGauge().Name(name).Help(help).Register(r);
    };
    auto gauge = [&](const char* name, const char* help) -> prometheus::Gauge& {
        return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
    };
    auto counter = [&](const char* name, const char* help) -> prometheus::Counter& {
        return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
    };
    f_->connected_nodes =
        &gauge("cardano_tracer_connected_nodes", "Node connections currently open.");
    f_->connections =
        &counter("cardano_tracer_connections_total", "Node connections accepted or established.");
    f_->handshakes_refused = &counter("cardano_tracer_handshakes_refused_total",
                                      "Handshakes refused (e.g. wrong network magic).");
    f_->protocol_errors = &counter("cardano_tracer_protocol_errors_total",
                                   "Connections closed because of a protocol error.");
    f_->received = &counter("cardano_tracer_trace_objects_received_total",
                            "Trace objects received from nodes.");
    f_->replies = &counter("cardano_tracer_trace_replies_received_total",
                           "TraceObjects replies received from nodes (each answers one request).");
    f_->written = &counter("cardano_tracer_trace_objects_written_total",
                           "Trace objects written to every logging section.");
    f_->lost = &counter("cardano_tracer_trace_objects_dropped_total",
                        "Trace objects that could not be written at shutdown.");
    f_->bytes_written =
        &counter("cardano_tracer_bytes_written_total", "Bytes written to log files.");
    f_->write_errors =
        &counter("cardano_tracer_write_errors_total", "Failed log writes (retried).");
    f_->queue_full = &counter("cardano_tracer_writer_queue_full_total",
                              "Times the writer queue was full and nodes were not asked for more.");
    f_->queue_depth =
        &gauge("cardano_tracer_writer_queue_depth", "Batches waiting for the log writer.");
    f_->rotations = &counter("cardano_tracer_rotations_total", "Log file rotations.");
    f_->files_deleted =
        &counter("cardano_tracer_files_deleted_total", "Log files deleted by the rotation.");
    f_->reloads =
        &counter("cardano_tracer_reloads_total", "Configuration reloads (SIGHUP) applied.");
    f_->reload_failures =
        &counter("cardano_tracer_reload_failures_total", "Configuration reloads refused.");
    f_->uptime = &gauge("cardano_tracer_uptime_seconds", "Seconds since the daemon started.");
    auto& errors = counters("cardano_tracer_session_errors_total",
                            "Node connections that ended with an error, by reason.");
    for (std::size_t i = 0; i < session_error_kinds; ++i) {
        f_->session_errors[i] =
            &errors.Add({{"reason", std::string(reason_label(static_cast<session_error>(i)))}});
    }
    f_->connections_refused =
        &counter("cardano_tracer_connections_refused_total",
                 "Node connections closed at once because maxConnections were open.");
    f_->lost_at_shutdown =
        &counter("cardano_tracer_trace_objects_lost_at_shutdown_total",
                 "Trace objects a session still held when the shutdown deadline came.");
    f_->ekg_ignored = &counter("cardano_tracer_ekg_metrics_ignored_total",
                               "New EKG metric names ignored because the node had "
                               "maxMetricsPerNode names already.");
    f_->nodes_forgotten = &counter("cardano_tracer_nodes_forgotten_total",
                                   "Per-node statistics forgotten (maxTrackedNodes reached).");
    auto& out_records =
        counters("cardano_tracer_output_records_total",
                 "Trace objects an output wrote (in at least one of its sections).");
    auto& out_bytes =
        counters("cardano_tracer_output_bytes_total", "Bytes an output handed to its destination.");
    auto& out_errors = counters("cardano_tracer_output_errors_total",
                                "Failed writes of an output (files retry them).");
    auto& out_full = counters("cardano_tracer_output_queue_full_total",
                              "Batches an output refused because its queue was full "
                              "(the node was not asked for more).");
    auto& out_lost = counters("cardano_tracer_output_records_lost_total",
                              "Trace objects an output gave up at the shutdown deadline.");
    auto& out_qbytes = gauges("cardano_tracer_output_queued_bytes",
                              "Bytes of trace batches waiting in an output's queue.");
    auto& out_qbatches = gauges("cardano_tracer_output_queued_batches",
                                "Trace batches waiting in an output's queue.");
    auto& out_cap = gauges("cardano_tracer_output_queue_capacity_bytes",
                           "Capacity of an output's queue (outputQueueBytes).");
    for (const auto& o : writer_.all()) {
        const prometheus::Labels l{{"output", std::string(o->name())}};
        f_->outputs.push_back({&out_records.Add(l),
                               &out_bytes.Add(l),
                               &out_errors.Add(l),
                               &out_full.Add(l),
                               &out_lost.Add(l),
                               &out_qbytes.Add(l),
                               &out_qbatches.Add(l),
                               &out_cap.Add(l)});
    }
    prometheus::BuildGauge()
        .Name("cardano_tracer_build_info")
        .Help("Build information.")
        .Register(r)
        .Add({{"version", tracer_version}, {"implementation", "cpp"}})
        .Set(1);
}

own_metrics::~own_metrics() = default;

// Per-node series come from live maps whose names change as nodes come and go, so they are
// built as metric families at each scrape rather than registered once.
void own_metrics::append_node_families(std::vector<prometheus::MetricFamily>& out) const {
    struct node_row {
        node_traffic_totals traffic;
        outputs::node_counts written;
    };
    std::map<std::string, node_row> rows;
    for (const auto& [name, t] : traffic_.snapshot()) rows[name].traffic = t;
    for (const auto& [name, w] : writer_.per_node()) rows[name].written = w;

    auto family = [&](const char* name, const char* help, auto value_of) {
        prometheus::MetricFamily f{name, help, prometheus::MetricType::Counter, {}};
        for (const auto& [node, row] : rows) {
            prometheus::ClientMetric m;
            m.label.push_back({"node_name", node});
            m.counter.value = static_cast<double>(value_of(row));
            f.metric.push_back(std::move(m));
        }
        out.push_back(std::move(f));
    };
    family("cardano_tracer_node_trace_objects_received_total",
           "Trace objects received from the node.",
           [](const node_row& r) { return r.traffic.received; });
    family("cardano_tracer_node_trace_objects_written_total",
           "Trace objects of the node written (once per logging section).",
           [](const node_row& r) { return r.written.records_written; });
    family("cardano_tracer_node_trace_objects_filtered_total",
           "Trace objects of the node that routing and filters did not pass.",
           [](const node_row& r) { return r.traffic.filtered; });
    family("cardano_tracer_node_trace_objects_dropped_total",
           "Trace objects the node handed over that could not be written.",
           [](const node_row& r) { return r.traffic.dropped; });
    family("cardano_tracer_node_bytes_written_total",
           "Bytes of the node's log records written.",
           [](const node_row& r) { return r.written.bytes_written; });
    family("cardano_tracer_node_write_errors_total",
           "Failed writes of the node's log records (retried).",
           [](const node_row& r) { return r.written.write_errors; });

    prometheus::MetricFamily by_ns{"cardano_tracer_dispatcher_filtered_total",
                                   "Trace objects no logging section took, by node, top-level "
                                   "namespace segment and reason (severity or limiter).",
                                   prometheus::MetricType::Counter,
                                   {}};
    for (const auto& [node, segments] : traffic_.filtered_by_namespace()) {
        for (const auto& [segment, t] : segments) {
            for (const auto& [reason, value] :
                 {std::pair<const char*, std::uint64_t>{"severity", t.severity},
                  {"limiter", t.limiter}}) {
                if (value == 0) continue;
                prometheus::ClientMetric m;
                m.label.push_back({"node_name", node});
                m.label.push_back({"namespace", segment});
                m.label.push_back({"reason", reason});
                m.counter.value = static_cast<double>(value);
                by_ns.metric.push_back(std::move(m));
            }
        }
    }
    out.push_back(std::move(by_ns));

    // Always present (empty when nothing is stalled), so that alerts can rely on the name.
    prometheus::MetricFamily stalled{"cardano_tracer_writer_stalled_seconds",
                                     "How long the node's writes to a logging section have been "
                                     "failing (its batches are parked and retried).",
                                     prometheus::MetricType::Gauge,
                                     {}};
    const auto now = std::chrono::steady_clock::now();
    for (const auto& st : writer_.stalls()) {
        prometheus::ClientMetric m;
        m.label.push_back({"node_name", st.node_name});
        m.label.push_back({"log_root", st.log_root});
        m.label.push_back({"format", std::string(config::to_string(st.format))});
        m.gauge.value = std::chrono::duration<double>(now - st.since).count();
        stalled.metric.push_back(std::move(m));
    }
    out.push_back(std::move(stalled));
}

void own_metrics::observe_http_request(std::chrono::nanoseconds d) { http_duration_->observe(d); }

void own_metrics::append_histogram(std::vector<prometheus::MetricFamily>& out,
                                   const char* name,
                                   const char* help,
                                   const latency_histogram& h) {
    const auto t = h.snapshot();
    prometheus::ClientMetric m;
    m.histogram.sample_count = t.count;
    m.histogram.sample_sum = t.sum_seconds;
    for (std::size_t i = 0; i < t.cumulative.size(); ++i) {
        const double bound = i < latency_histogram::bounds.size()
                                 ? latency_histogram::bounds[i]
                                 : std::numeric_limits<double>::infinity();
        m.histogram.bucket.push_back({t.cumulative[i], bound});
    }
    out.push_back({name, help, prometheus::MetricType::Histogram, {std::move(m)}});
}

std::string own_metrics::render() {
    std::lock_guard lock(mutex_);
    const auto& w = writer_.stats();
    f_->connected_nodes->Set(static_cast<double>(sessions_.connections_active.load()));
    raise_to(*f_->connections, sessions_.connections_accepted);
    raise_to(*f_->handshakes_refused, sessions_.handshakes_refused);
    raise_to(*f_->protocol_errors, sessions_.protocol_errors);
    raise_to(*f_->received, sessions_.trace_objects_received);
    raise_to(*f_->replies, sessions_.batches_received);
    raise_to(*f_->written, w.records_written);
    raise_to(*f_->lost, w.records_lost);
    raise_to(*f_->bytes_written, w.bytes_written);
    raise_to(*f_->write_errors, w.write_errors);
    raise_to(*f_->queue_full, w.queue_full);
    f_->queue_depth->Set(static_cast<double>(w.queue_depth));
    raise_to(*f_->rotations, w.rotations);
    raise_to(*f_->files_deleted, w.files_deleted);
    raise_to(*f_->reloads, reloads_.reloads);
    raise_to(*f_->reload_failures, reloads_.failures);
    for (std::size_t i = 0; i < session_error_kinds; ++i)
        raise_to(*f_->session_errors[i], sessions_.session_errors[i]);
    raise_to(*f_->connections_refused, sessions_.connections_refused);
    raise_to(*f_->lost_at_shutdown, sessions_.records_lost_at_shutdown);
    raise_to(*f_->ekg_ignored, sessions_.ekg_metrics_ignored);
    raise_to(*f_->nodes_forgotten, w.nodes_forgotten);
    const auto all = writer_.all();
    for (std::size_t i = 0; i < all.size() && i < f_->outputs.size(); ++i) {
        const auto& c = all[i]->counters();
        const auto& row = f_->outputs[i];
        raise_to(*row.records, c.records);
        raise_to(*row.bytes, c.bytes);
        raise_to(*row.errors, c.errors);
        raise_to(*row.queue_full, c.queue_full);
        raise_to(*row.lost, c.lost);
        row.queued_bytes->Set(static_cast<double>(c.queued_bytes.load()));
        row.queued_batches->Set(static_cast<double>(c.queued_batches.load()));
        row.capacity_bytes->Set(static_cast<double>(c.capacity_bytes.load()));
    }
    f_->uptime->Set(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    auto collected = registry_->Collect();
    append_node_families(collected);
    for (const auto& source : extra_) source(collected);
    append_histogram(collected,
                     "cardano_tracer_request_turnaround_seconds",
                     "Time from a TraceObjects reply's arrival to the next request "
                     "(the node's queue fills meanwhile).",
                     turnaround_);
    append_histogram(collected,
                     "cardano_tracer_http_request_duration_seconds",
                     "Time spent answering an HTTP request (routing and rendering).",
                     *http_duration_);
    return write_text_exposition(collected);
}

}  // namespace ct::tracer
