#include "tracer/core/own_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "tracer/core/cli.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/logs/log_writer.hpp"

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
};

own_metrics::own_metrics(const session_counters& sessions,
                         const logs::writer_stats& writer,
                         const reload_counters& reloads)
    : sessions_(sessions),
      writer_(writer),
      reloads_(reloads),
      registry_(std::make_shared<prometheus::Registry>()),
      f_(std::make_unique<families>()) {
    auto& r = *registry_;
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
    prometheus::BuildGauge()
        .Name("cardano_tracer_build_info")
        .Help("Build information.")
        .Register(r)
        .Add({{"version", tracer_version}, {"implementation", "cpp"}})
        .Set(1);
}

own_metrics::~own_metrics() = default;

std::string own_metrics::render() {
    std::lock_guard lock(mutex_);
    f_->connected_nodes->Set(static_cast<double>(sessions_.connections_active.load()));
    raise_to(*f_->connections, sessions_.connections_accepted);
    raise_to(*f_->handshakes_refused, sessions_.handshakes_refused);
    raise_to(*f_->protocol_errors, sessions_.protocol_errors);
    raise_to(*f_->received, sessions_.trace_objects_received);
    raise_to(*f_->written, writer_.records_written);
    raise_to(*f_->lost, writer_.records_lost);
    raise_to(*f_->bytes_written, writer_.bytes_written);
    raise_to(*f_->write_errors, writer_.write_errors);
    raise_to(*f_->queue_full, writer_.queue_full);
    f_->queue_depth->Set(static_cast<double>(writer_.queue_depth.load()));
    raise_to(*f_->rotations, writer_.rotations);
    raise_to(*f_->files_deleted, writer_.files_deleted);
    raise_to(*f_->reloads, reloads_.reloads);
    raise_to(*f_->reload_failures, reloads_.failures);
    f_->uptime->Set(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace ct::tracer
