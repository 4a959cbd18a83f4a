#include "tracer/core/server.hpp"

#include <prometheus/metric_family.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <tuple>

#include "config/emit.hpp"
#include "config/load.hpp"
#include "config/schema.hpp"
#include "config/sources.hpp"
#include "dispatcher/node_names.hpp"
#include "tracer/core/endpoints.hpp"
#include "tracer/core/forwarder_session.hpp"
#include "tracer/core/http_endpoints.hpp"
#include "tracer/core/memory_trimmer.hpp"
#include "tracer/core/node_endpoints.hpp"
#include "tracer/core/own_metrics.hpp"
#include "tracer/core/reforwarder.hpp"
#include "tracer/core/resources.hpp"
#include "tracer/core/self_log.hpp"
#include "tracer/core/session.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/core/settings.hpp"
#include "tracer/core/startup.hpp"
#include "tracer/export/otlp_metrics_writer.hpp"
#include "tracer/export/otlp_output.hpp"
#include "tracer/export/remote_writer.hpp"
#include "tracer/metrics/http_server.hpp"
#include "tracer/metrics/node_directory.hpp"
#include "tracer/metrics/routes.hpp"
#include "tracer/outputs/forward_queue.hpp"
#include "tracer/outputs/output_router.hpp"
#include "tracer/outputs/reforward_output.hpp"
#include "tracer/outputs/thread_name.hpp"
#include "tracer/timeseries/routes.hpp"
#include "tracer/timeseries/service.hpp"

namespace ct::tracer {

using namespace std::chrono_literals;

namespace {
timeseries::store_limits timeseries_limits(const config::tracer_config& c) {
    return {static_cast<std::size_t>(c.timeseries_max_series),
            static_cast<std::size_t>(c.timeseries_max_points),
            static_cast<std::size_t>(c.timeseries_max_points_per_node)};
}

timeseries::query::query_limits query_limits(const config::tracer_config& c) {
    timeseries::query::query_limits l;
    l.max_steps = c.timeseries_query_max_steps;
    l.max_points = c.timeseries_query_max_points;
    l.max_time = std::chrono::milliseconds(
        static_cast<std::int64_t>(std::llround(c.timeseries_query_timeout_secs * 1000.0)));
    return l;
}

// One series per target (an endpoint, a URL): exporters or pushers that share one, e.g. an
// OTLP receiver taking a ForMachine and a ForHuman section with different settings, or an
// exporter retiring after a reload beside its successor, are summed into it. Two series
// with the same labels would make the page invalid.
void add_per_target(prometheus::MetricFamily& f,
                    const std::string& label,
                    const std::string& target,
                    double value) {
    const bool counter = f.type == prometheus::MetricType::Counter;
    for (auto& m : f.metric) {
        if (m.label.size() == 1 && m.label.front().value == target) {
            (counter ? m.counter.value : m.gauge.value) += value;
            return;
        }
    }
    prometheus::ClientMetric m;
    m.label.push_back({label, target});
    (counter ? m.counter.value : m.gauge.value) = value;
    f.metric.push_back(std::move(m));
}
}  // namespace

struct server::http_settings {
    metrics::exposition_options exposition;
    std::map<std::string, std::string> sd_labels;
    metrics::exposition_options legacy_exposition;  // legacyMetricsEndpoints: aliases always on
};

std::shared_ptr<const server::http_settings> server::make_http_settings(
    const config::tracer_config& c) {
    auto s = std::make_shared<http_settings>();
    s->exposition.no_suffix = c.metrics_no_suffix;
    if (!c.metric_aliases.empty())
        s->exposition.aliases =
            std::make_shared<const config::metric_alias_table>(c.metric_aliases);
    if (!c.legacy_metrics_endpoints.empty()) {
        std::vector<config::table_problem> problems;
        auto all = config::parse_metric_aliases(config::builtin_legacy_metrics(), problems);
        for (const auto& [k, v] : c.metric_aliases) all[k] = v;
        s->legacy_exposition.aliases =
            std::make_shared<const config::metric_alias_table>(std::move(all));
    }
    if (c.prometheus_labels) s->sd_labels = *c.prometheus_labels;
    if (c.metrics_help_) {
        if (const auto* inline_map =
                std::get_if<std::map<std::string, std::string>>(&*c.metrics_help_)) {
            s->exposition.help = *inline_map;
        } else {
            // Upstream silently ignores an unreadable help file; we say so.
            const auto& path = std::get<std::string>(*c.metrics_help_);
            std::ifstream in(path);
            auto j = in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
            if (!j.is_object()) {
                log_.emit("Error",
                          own_severity::warning,
                          {{"error",
                            "metricsHelp: cannot read a JSON object of help texts from " + path +
                                "; serving metrics without HELP lines"}});
            } else {
                for (const auto& [k, v] : j.items()) {
                    if (v.is_string() && !v.get<std::string>().empty())
                        s->exposition.help[k] = v.get<std::string>();
                }
            }
        }
    }
    s->exposition.help_generation = metrics::new_help_generation();
    s->legacy_exposition.help_generation = metrics::new_help_generation();
    return s;
}

server::server(std::shared_ptr<const config::tracer_config> cfg, server_options opts, self_log& log)
    : cfg_(cfg), running_(cfg), opts_(std::move(opts)), log_(log) {
    status_.loaded_at = format_utc_now();
    status_.file_document = std::move(opts_.file_document);
}

std::string server::effective_config_page(bool yaml) const {
    const auto snapshot = config();
    nlohmann::ordered_json page;
    const auto effective = config::to_ordered_json(*snapshot);
    {
        std::lock_guard lock(status_mutex_);
        page["generation"] = status_.generation;
        page["configPath"] = opts_.config_path;
        page["loadedAt"] = status_.loaded_at;
        page["lastFailedReload"] = status_.last_failure;
        page["sources"] = config::value_sources(status_.file_document, effective);
    }
    page["config"] = effective;  // paths only: no file contents (keys, certificates)
    return yaml ? config::to_yaml_text(page) : page.dump(2) + "\n";
}

server::~server() {
    // After run() every context is out of work and this changes nothing. After a failed
    // start-up (or a forced stop) it stops what is left, then destroys the I/O objects before
    // their contexts (member order) and the contexts before the state their frames touch.
    if (queries_) queries_->stop();  // answers what waits, before the HTTP context goes
    start_remote_writers(config::tracer_config{});  // stops them (joined outside the lock)
    start_otlp_metrics_writers(config::tracer_config{});
    http_work_.reset();
    ioc_.stop();
    http_ioc_.stop();
    if (pool_) {
        pool_->stop();
        pool_->join();
    }
    if (http_thread_.joinable()) http_thread_.join();
    http_.reset();
    network_.reset();
}

namespace {

// RELOADING=1 with the time, as systemd's Type=notify-reload expects (older systemd ignores
// MONOTONIC_USEC).
void notify_reloading() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ull +
                      static_cast<unsigned long long>(ts.tv_nsec) / 1000ull;
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

}  // namespace

void server::start() {
    keep_freed_memory_for_reuse();
    const auto cfg = config();
    forward_queue_ = std::make_shared<outputs::forward_queue>(
        cfg->has_forwarding ? cfg->has_forwarding->options.queue_size : 192);
    forward_per_node_ = std::make_shared<std::atomic<bool>>(cfg->has_forwarding &&
                                                            cfg->has_forwarding->options.per_node);
    reforward_counters_ = std::make_unique<reforward_counters>();
    // The re-forward output always exists: a reload may turn hasForwarding on.
    std::vector<outputs::output_factory> extra_outputs{
        [q = forward_queue_, pn = forward_per_node_](const outputs::writer_options& o,
                                                     outputs::output_events& events) {
            return std::make_unique<outputs::reforward_output>(o, events, q, pn);
        },
        // The OTLP output always exists too: a reload may add OTLPMode sections.
        [this](const outputs::writer_options& o, outputs::output_events& events) {
            auto out = std::make_unique<exporting::otlp_output>(o, events);
            otlp_ = out.get();
            return out;
        }};
    writer_ = std::make_unique<outputs::output_router>(make_writer_options(*cfg),
                                                       std::move(extra_outputs));
    writer_->set_error_reporter([this](std::string_view what) {
        if (ctx_->settings()->verbose != verbosity::minimum) {
            log_.emit("Error", own_severity::error, {{"error", std::string(what)}});
        }
    });
    names_ = std::make_unique<dispatcher::node_name_registry>();
    directory_ = std::make_unique<metrics::node_directory>();
    if (cfg->has_timeseries) {
        timeseries::service_options to;
        to.limits = timeseries_limits(*cfg);
        to.min_retention_ms =
            static_cast<std::uint64_t>(std::llround(cfg->ekg_request_freq * 1000.0));
        timeseries_ = std::make_unique<timeseries::service>(to, [this](const std::string& what) {
            log_.emit("TimeseriesStoreFull", own_severity::warning, {{"problem", what}});
        });
        queries_ = std::make_unique<timeseries::query_service>(*timeseries_, query_limits(*cfg));
    }
    ctx_ = std::make_unique<session_context>(log_, *writer_, *names_, *directory_);
    ctx_->timeseries = timeseries_.get();
    reloads_ = std::make_unique<reload_counters>();
    own_metrics_ = std::make_unique<own_metrics>(
        ctx_->counters, ctx_->traffic, ctx_->turnaround, *writer_, *reloads_);
    trimmer_ = std::make_unique<memory_trimmer>(memory_trim_policy{});
    trimmer_->start();
    own_metrics_->add_families([this](std::vector<prometheus::MetricFamily>& out) {
        auto one =
            [&](const char* name, const char* help, prometheus::MetricType type, double value) {
                prometheus::ClientMetric m;
                if (type == prometheus::MetricType::Counter) {
                    m.counter.value = value;
                } else {
                    m.gauge.value = value;
                }
                out.push_back({name, help, type, {std::move(m)}});
            };
        const auto& mem = trimmer_->counters();
        one("cardano_tracer_memory_trims_total",
            "Times malloc was asked to give its free memory back to the system (every 5 s "
            "while resident anonymous memory is above 64 MiB).",
            prometheus::MetricType::Counter,
            static_cast<double>(mem.trims.load()));
        one("cardano_tracer_memory_trimmed_bytes_total",
            "Resident memory given back to the system by those trims.",
            prometheus::MetricType::Counter,
            static_cast<double>(mem.released_bytes.load()));
        one("cardano_tracer_memory_trim_seconds_total",
            "Time spent giving memory back (an io thread allocating meanwhile may wait).",
            prometheus::MetricType::Counter,
            static_cast<double>(mem.nanoseconds.load()) / 1e9);
        const auto& c = *reforward_counters_;
        one("cardano_tracer_reforward_forwarded_total",
            "Trace objects re-forwarded to downstream tracers (their reply was written).",
            prometheus::MetricType::Counter,
            static_cast<double>(c.forwarded.load()));
        one("cardano_tracer_reforward_dropped_total",
            "Trace objects the re-forwarder dropped because its queue (queueSize) was full.",
            prometheus::MetricType::Counter,
            static_cast<double>(forward_queue_->dropped()));
        one("cardano_tracer_reforward_requeued_total",
            "Trace objects of replies that could not be written, queued again for the next "
            "downstream connection.",
            prometheus::MetricType::Counter,
            static_cast<double>(c.put_back.load()));
        one("cardano_tracer_reforward_queued",
            "Trace objects waiting for a downstream tracer.",
            prometheus::MetricType::Gauge,
            static_cast<double>(forward_queue_->queued()));
        one("cardano_tracer_reforward_connections",
            "Downstream tracer connections open now.",
            prometheus::MetricType::Gauge,
            static_cast<double>(c.connections.load()));
        {
            std::lock_guard lock(remote_writers_mutex_);
            // One counter family over a list of pushers, each labelled with its target.
            auto per_pusher = [&](const char* name,
                                  const char* help,
                                  const auto& pushers,
                                  const char* label,
                                  auto target_of,
                                  auto field) {
                prometheus::MetricFamily f{name, help, prometheus::MetricType::Counter, {}};
                for (const auto& w : pushers) {
                    add_per_target(f,
                                   label,
                                   target_of(*w),
                                   static_cast<double>((w->counters().*field).load()));
                }
                if (!f.metric.empty()) out.push_back(std::move(f));
            };
            auto per_writer = [&](const char* name, const char* help, auto field) {
                per_pusher(
                    name,
                    help,
                    remote_writers_,
                    "url",
                    [](const exporting::remote_writer& w) { return w.shown_url(); },
                    field);
            };
            using rc = exporting::remote_write_counters;
            per_writer("cardano_tracer_remote_write_samples_total",
                       "Samples delivered to a remote-write receiver.",
                       &rc::samples_sent);
            per_writer("cardano_tracer_remote_write_samples_dropped_total",
                       "Samples of pushes given up (the next push carries every value again).",
                       &rc::samples_dropped);
            per_writer("cardano_tracer_remote_write_pushes_total",
                       "Pushes the receiver accepted.",
                       &rc::pushes);
            per_writer("cardano_tracer_remote_write_retries_total",
                       "Push attempts after a failed one (connection error, 429, 5xx).",
                       &rc::retries);
            per_writer("cardano_tracer_remote_write_failures_total",
                       "Pushes given up: out of time to retry, or refused with a 4xx.",
                       &rc::failures);
            auto per_metrics_writer = [&](const char* name, const char* help, auto field) {
                per_pusher(
                    name,
                    help,
                    otlp_metrics_writers_,
                    "exporter",
                    [](const exporting::otlp_metrics_writer& w) { return w.shown(); },
                    field);
            };
            using mc = exporting::otlp_metrics_counters;
            per_metrics_writer("cardano_tracer_otlp_metric_points_total",
                               "OTLP metric data points a receiver took (otlpMetrics).",
                               &mc::points);
            per_metrics_writer("cardano_tracer_otlp_metric_pushes_total",
                               "OTLP metrics pushes a receiver took.",
                               &mc::pushes);
            per_metrics_writer("cardano_tracer_otlp_metric_retries_total",
                               "OTLP metrics push attempts after a failed one.",
                               &mc::retries);
            per_metrics_writer("cardano_tracer_otlp_metric_failures_total",
                               "OTLP metrics pushes given up: out of time, or refused with a 4xx.",
                               &mc::failures);
        }
        if (otlp_) {
            const auto exporters = otlp_->stats();
            auto per_exporter = [&](const char* name,
                                    const char* help,
                                    prometheus::MetricType type,
                                    std::uint64_t exporting::otlp_exporter_stats::*field) {
                prometheus::MetricFamily f{name, help, type, {}};
                for (const auto& e : exporters)
                    add_per_target(f, "exporter", e.endpoint, static_cast<double>(e.*field));
                if (!f.metric.empty()) out.push_back(std::move(f));
            };
            using es = exporting::otlp_exporter_stats;
            constexpr auto counter = prometheus::MetricType::Counter;
            per_exporter("cardano_tracer_otlp_records_exported_total",
                         "Trace objects an OTLP receiver took (OTLPMode sections).",
                         counter,
                         &es::exported);
            per_exporter("cardano_tracer_otlp_requests_total",
                         "OTLP export requests the receiver took.",
                         counter,
                         &es::requests);
            per_exporter("cardano_tracer_otlp_bytes_total",
                         "Bytes of OTLP requests the receiver took, as sent (compressed).",
                         counter,
                         &es::bytes);
            per_exporter("cardano_tracer_otlp_retries_total",
                         "OTLP requests sent again after a connection error, 408, 429 or 5xx.",
                         counter,
                         &es::retries);
            per_exporter("cardano_tracer_otlp_records_dropped_total",
                         "Trace objects dropped because the exporter's queue was full "
                         "(policy drop).",
                         counter,
                         &es::dropped);
            per_exporter("cardano_tracer_otlp_records_failed_total",
                         "Trace objects of requests the receiver refused for good (4xx).",
                         counter,
                         &es::failed);
            per_exporter("cardano_tracer_otlp_records_lost_total",
                         "Trace objects an exporter still held when a shutdown deadline passed.",
                         counter,
                         &es::lost);
            per_exporter("cardano_tracer_otlp_records_queued",
                         "Trace objects waiting in an exporter (being batched or queued).",
                         prometheus::MetricType::Gauge,
                         &es::queued);
            per_exporter("cardano_tracer_otlp_records_spilled_total",
                         "Trace objects an exporter wrote to its spill directory (spillDir).",
                         counter,
                         &es::spilled);
            per_exporter("cardano_tracer_otlp_spill_bytes",
                         "Bytes of requests waiting in an exporter's spill directory.",
                         prometheus::MetricType::Gauge,
                         &es::spill_bytes);
            per_exporter("cardano_tracer_otlp_queued_bytes",
                         "Bytes of encoded requests waiting in an exporter's queue (queueBytes).",
                         prometheus::MetricType::Gauge,
                         &es::queued_bytes);
        }
        if (!timeseries_) return;
        const auto t = timeseries_->counters();
        const auto [series, points, bytes] = timeseries_->read([](const timeseries::store& s) {
            return std::tuple{s.series_count(), s.point_count(), s.point_bytes()};
        });
        one("cardano_tracer_timeseries_points_inserted_total",
            "EKG values stored in the timeseries store (hasTimeseries).",
            prometheus::MetricType::Counter,
            static_cast<double>(t.points_inserted));
        one("cardano_tracer_timeseries_points_refused_total",
            "EKG values not stored because a point or series cap of the store was reached.",
            prometheus::MetricType::Counter,
            static_cast<double>(t.points_refused + t.series_refused));
        one("cardano_tracer_timeseries_batches_dropped_total",
            "EKG responses not stored because the store's ingestion queue was full.",
            prometheus::MetricType::Counter,
            static_cast<double>(t.batches_dropped));
        one("cardano_tracer_timeseries_points_pruned_total",
            "Points dropped by retention.",
            prometheus::MetricType::Counter,
            static_cast<double>(t.points_pruned));
        one("cardano_tracer_timeseries_series",
            "Series (metric and node) in the timeseries store.",
            prometheus::MetricType::Gauge,
            static_cast<double>(series));
        one("cardano_tracer_timeseries_points",
            "Points in the timeseries store.",
            prometheus::MetricType::Gauge,
            static_cast<double>(points));
        one("cardano_tracer_timeseries_point_bytes",
            "Bytes the timeseries store's points occupy.",
            prometheus::MetricType::Gauge,
            static_cast<double>(bytes));
        const auto q = queries_->counters();
        one("cardano_tracer_timeseries_queries_answered_total",
            "Timeseries queries answered with a result (200).",
            prometheus::MetricType::Counter,
            static_cast<double>(q.answered));
        one("cardano_tracer_timeseries_queries_failed_total",
            "Timeseries queries answered with an error (400: syntax, type, evaluation, a bound).",
            prometheus::MetricType::Counter,
            static_cast<double>(q.failed));
        one("cardano_tracer_timeseries_queries_refused_total",
            "Timeseries queries refused because too many were waiting, or at shutdown (503).",
            prometheus::MetricType::Counter,
            static_cast<double>(q.refused));
        one("cardano_tracer_timeseries_queries_in_progress",
            "Timeseries queries waiting or running now.",
            prometheus::MetricType::Gauge,
            static_cast<double>(q.in_progress));
        one("cardano_tracer_timeseries_query_seconds_total",
            "Time spent evaluating timeseries queries.",
            prometheus::MetricType::Counter,
            q.seconds);
    });
    ctx_->set_settings(std::make_shared<const session_settings>(make_session_settings(*cfg)));
    ctx_->traffic.set_max_names(cfg->max_tracked_nodes);
    writer_->set_space_callback([ctx = ctx_.get()] { ctx->notify_writer_space(); });
    writer_->start();

    session_runner runner = [this](stream_socket sock, peer_info peer) -> asio::awaitable<void> {
        peer.node_id = peer.we_connected
                           ? (peer.is_tcp ? dispatcher::node_id_for_tcp(peer.address)
                                          : dispatcher::node_id_for_connected_path(peer.local_path))
                           : (peer.is_tcp ? dispatcher::node_id_for_tcp(peer.address)
                                          : dispatcher::node_id_for_accepted_path(
                                                peer.local_path, peer.accept_index));
        co_await run_session(std::move(sock), std::move(peer), *ctx_);
    };

    const auto plan = make_network_plan(*cfg);
    const bool log_problems = make_session_settings(*cfg).verbose != verbosity::minimum;
    int activated_fd = -1;
    if (plan.accept && !plan.addresses.front().is_tcp) {
        std::string why_not;
        activated_fd = socket_activation_fd(plan.addresses.front().path, why_not);
        if (!why_not.empty())
            log_.emit("Error", own_severity::warning, {{"error", "socket activation: " + why_not}});
    }
    log_.emit("StartedAcceptors",
              own_severity::info,
              {{"AcceptorsAddr", config::to_json(*cfg)["network"]}});
    pool_ = std::make_unique<io_pool>(ioc_, std::max(1u, static_cast<unsigned>(cfg->io_threads)));
    network_ = std::make_unique<node_endpoints>(*pool_, runner, log_, ctx_->sessions);
    network_->start(plan, log_problems, activated_fd);
    reforwarder_ = make_reforwarder(*cfg);
    if (reforwarder_) reforwarder_->start();
    listening_ = true;
    if (cfg->rotation) log_.emit("StartedLogRotator", own_severity::info);

    http_settings_.store(make_http_settings(*cfg));
    start_remote_writers(*cfg);
    start_otlp_metrics_writers(*cfg);
    http_ = std::make_unique<http_endpoints>(
        http_ioc_, [this](const std::string& name) { return http_handler(name); }, log_);
    (void)http_->commit(http_->prepare(*cfg));  // nothing to wait for: no endpoint runs yet
    http_work_.emplace(http_ioc_.get_executor());
    // The thread ends when its context runs out of work (after the shutdown stopped every
    // endpoint and released the work guard).
    http_thread_ = std::thread([this] {
        name_this_thread("ct-http");
        http_ioc_.run();
    });
    asio::dispatch(control_, [this, cfg] {
        restart_resource_loop(*cfg);
        start_watchdog();
    });
}

std::shared_ptr<reforwarder> server::make_reforwarder(const config::tracer_config& c) {
    if (!c.has_forwarding) return nullptr;
    return std::make_shared<reforwarder>(
        *pool_,
        *c.has_forwarding,
        c.network_magic,
        forward_queue_,
        [ctx = ctx_.get()](const std::string& node) { return ctx->node_info(node); },
        *reforward_counters_,
        log_);
}

bool server::reforwarder_changes(const config::tracer_config& before,
                                 const config::tracer_config& after) {
    const auto& a = before.has_forwarding;
    const auto& b = after.has_forwarding;
    if (a.has_value() != b.has_value()) return true;
    if (!a) return false;
    if (a->network != b->network || a->options.per_node != b->options.per_node ||
        before.network_magic != after.network_magic)
        return true;
    // Verbosity and queueSize apply in place; a dialling re-forwarder is replaced for a new
    // back-off (a listening one has none).
    const bool dials = b->network.m == config::network_config::mode::connect_to;
    return dials && a->options.max_reconnect_delay != b->options.max_reconnect_delay;
}

std::function<metrics::http_response(const metrics::http_request&)> server::http_handler(
    const std::string& name) {
    // Every route's answering time goes into cardano_tracer_http_request_duration_seconds.
    auto timed = [this](auto route) -> metrics::http_server::handler {
        return [this, route](const metrics::http_request& req) {
            const auto t0 = std::chrono::steady_clock::now();
            auto res = route(req);
            own_metrics_->observe_http_request(std::chrono::steady_clock::now() - t0);
            return res;
        };
    };
    if (name == "hasPrometheus") {
        return timed([this](const metrics::http_request& req) {
            const auto settings = http_settings_.load();
            metrics::prometheus_context pctx{
                *directory_,
                settings->exposition,
                settings->sd_labels,
                [this] { return own_metrics_->render(); },
                [this] { return listening_.load() && writer_->healthy(); },
                [this](bool yaml) { return effective_config_page(yaml); }};
            return metrics::prometheus_route(req, pctx);
        });
    }
    if (name == "hasTimeseries" && timeseries_) {
        return timed([this](const metrics::http_request& req) {
            timeseries::route_context tctx{
                *timeseries_,
                *queries_,
                *directory_,
                [this](const std::string& node) { return ctx_->node_info(node); },
                [this](const std::string& node, const std::string& point) {
                    return ctx_->data_point(node, point);
                }};
            return timeseries::timeseries_route(req, tctx);
        });
    }
    if (name == "hasEKG") {
        return timed([this](const metrics::http_request& req) {
            const auto settings = http_settings_.load();
            return metrics::ekg_route(req, *directory_, settings->exposition.aliases.get());
        });
    }
    // legacyMetricsEndpoints.<node>: the node's own PrometheusSimple page, as gLiveView and
    // friends read it.
    const auto node = name.substr(name.find('.') + 1);
    return timed([this, node](const metrics::http_request& req) {
        if (req.target != "/metrics" && req.target.rfind("/metrics?", 0) != 0) {
            return metrics::http_response{404, "text/plain;charset=utf-8", "404 Not Found"};
        }
        const auto entry = directory_->find_by_name(node);
        if (!entry) {
            return metrics::http_response{
                503, "text/plain;charset=utf-8", "node " + node + " is not connected\n"};
        }
        const auto settings = http_settings_.load();
        std::string body;
        entry->store->visit(
            [&](const metrics::metric_snapshot& snap, const metrics::series_hints& hints) {
                body = metrics::render_node(snap, settings->legacy_exposition, &hints);
            });
        return metrics::http_response{
            200, "text/plain;version=0.0.4;charset=utf-8", std::move(body)};
    });
}

void server::start_watchdog() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    // Pinged from the control strand: a wedged control strand (signals, reload, shutdown)
    // is what the watchdog should catch.
    watchdog_timer_ = std::make_shared<asio::steady_timer>(control_);
    auto period = std::chrono::microseconds(usec / 2);
    asio::co_spawn(
        control_,
        [this, period, timer = watchdog_timer_]() -> asio::awaitable<void> {
            while (!shutdown_done_) {
                sd_notify(0, "WATCHDOG=1");
                timer->expires_after(period);
                auto [ec] = co_await timer->async_wait(use_nothrow_awaitable);
                if (ec) co_return;
            }
        },
        asio::detached);
}

void server::restart_resource_loop(const config::tracer_config& c) {
    if (resource_timer_) resource_timer_->cancel();
    resource_timer_.reset();
    if (!c.resource_freq || stopping_) return;
    resource_timer_ = std::make_shared<asio::steady_timer>(control_);
    asio::co_spawn(
        control_,
        sample_resources_loop(std::chrono::milliseconds(*c.resource_freq), resource_timer_),
        asio::detached);
}

// Runs with the period of the snapshot it was started from, until restart_resource_loop
// replaces or removes its timer.
asio::awaitable<void> server::sample_resources_loop(std::chrono::milliseconds period,
                                                    std::shared_ptr<asio::steady_timer> timer) {
    while (timer == resource_timer_) {
        try {
            log_.emit("Resources", own_severity::info, sample_resources());
        } catch (const std::exception& e) {
            log_.emit(
                "Error", own_severity::error, {{"error", std::string("resources: ") + e.what()}});
        }
        timer->expires_after(period);
        auto [ec] = co_await timer->async_wait(use_nothrow_awaitable);
        if (ec) co_return;
    }
}

int server::run() {
    log_.emit("InitStart", own_severity::info);
    start();
    asio::co_spawn(control_, handle_signals(), [this](std::exception_ptr e) {
        if (!e) return;
        // Not expected (the loop catches everything): a daemon that cannot hear SIGTERM any
        // more must not keep running unnoticed.
        exit_now(1, "internal error: the signal handler ended with an exception");
    });
    log_.emit("InitDone", own_severity::info);
    sd_notify(0, "READY=1");

    pool_->start();
    ioc_.run();     // returns when shutdown() has let every operation finish
    pool_->join();  // released by shutdown(): each thread ends with its last connection
    if (http_thread_.joinable()) http_thread_.join();
    return exit_code_;
}

std::vector<exporting::sample> server::remote_write_samples() {
    // What a scrape of /<node> would show, labelled as service discovery labels the targets
    // (node_name and prometheusLabels), then the daemon's own metrics.
    std::vector<exporting::sample> out;
    const auto settings = http_settings_.load();
    const exporting::labels common(settings->sd_labels.begin(), settings->sd_labels.end());
    for (const auto& node : directory_->list()) {
        std::string page;
        node.store->visit([&](const metrics::metric_snapshot& m, const metrics::series_hints& h) {
            page = metrics::render_node(m, settings->exposition, &h);
        });
        auto labels = common;
        labels.emplace_back("node_name", node.name);
        exporting::append_samples(page, labels, out);
    }
    exporting::append_samples(own_metrics_->render(), common, out);
    return out;
}

void server::start_remote_writers(const config::tracer_config& c) {
    std::vector<std::unique_ptr<exporting::remote_writer>> fresh;
    for (const auto& target : c.remote_write) {
        fresh.push_back(std::make_unique<exporting::remote_writer>(
            target,
            [this] { return remote_write_samples(); },
            [this](const std::string& what) {
                log_.emit("RemoteWrite", own_severity::warning, {{"message", what}});
            }));
    }
    std::vector<std::unique_ptr<exporting::remote_writer>> old;
    {
        std::lock_guard lock(remote_writers_mutex_);
        old.swap(remote_writers_);
        remote_writers_ = std::move(fresh);
    }
    old.clear();  // joins their threads outside the lock
}

std::vector<exporting::metrics_page> server::otlp_metrics_pages(
    const std::map<std::string, std::string>& resource_attributes) {
    // Each node's page as a scrape shows it, then the daemon's own. The resource: the
    // operator's attributes first (they win), then the defaults, then prometheusLabels.
    std::vector<exporting::metrics_page> out;
    const auto settings = http_settings_.load();
    auto resource = [&](std::vector<std::pair<std::string, std::string>> defaults) {
        std::vector<std::pair<std::string, std::string>> r(resource_attributes.begin(),
                                                           resource_attributes.end());
        for (auto& d : defaults) r.push_back(std::move(d));
        for (const auto& l : settings->sd_labels) r.emplace_back(l.first, l.second);
        std::vector<std::pair<std::string, std::string>> unique;
        for (auto& a : r) {
            const bool seen = std::any_of(
                unique.begin(), unique.end(), [&](const auto& u) { return u.first == a.first; });
            if (!seen) unique.push_back(std::move(a));
        }
        return unique;
    };
    for (const auto& node : directory_->list()) {
        exporting::metrics_page page;
        node.store->visit([&](const metrics::metric_snapshot& m, const metrics::series_hints& h) {
            page.text = metrics::render_node(m, settings->exposition, &h);
        });
        page.resource =
            resource({{"service.name", "cardano-node"}, {"service.instance.id", node.name}});
        out.push_back(std::move(page));
    }
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) != 0) std::strcpy(host.data(), "localhost");
    exporting::metrics_page own;
    own.text = own_metrics_->render();
    own.resource = resource({{"service.name", "cardano-tracer"},
                             {"service.instance.id", host.data()},
                             {"host.name", host.data()}});
    out.push_back(std::move(own));
    return out;
}

void server::start_otlp_metrics_writers(const config::tracer_config& c) {
    std::vector<std::unique_ptr<exporting::otlp_metrics_writer>> fresh;
    for (const auto& target : c.otlp_metrics) {
        fresh.push_back(std::make_unique<exporting::otlp_metrics_writer>(
            target,
            [this, attrs = target.connection.resource_attributes] {
                return otlp_metrics_pages(attrs);
            },
            [this](const std::string& what) {
                log_.emit("OtlpMetrics", own_severity::warning, {{"message", what}});
            }));
    }
    std::vector<std::unique_ptr<exporting::otlp_metrics_writer>> old;
    {
        std::lock_guard lock(remote_writers_mutex_);
        old.swap(otlp_metrics_writers_);
        otlp_metrics_writers_ = std::move(fresh);
    }
    old.clear();  // joins their threads outside the lock
}

void server::exit_now(int status, const std::string& why) {
    log_.emit("ShutdownForced", own_severity::critical, {{"message", why}, {"exitCode", status}});
    log_.flush();
    std::_Exit(status);
}

asio::awaitable<void> server::handle_signals() {
    // The shutdown may run to its end before this loop waits again (co_spawn can start it
    // inline on this strand): hence the flag as well as the cancel.
    while (!shutdown_done_) {
        auto [ec, sig] = co_await signals_.async_wait(use_nothrow_awaitable);
        if (ec || shutdown_done_) co_return;  // cancelled at the end of the shutdown
        try {
            if (sig == SIGHUP) {
                if (stopping_) {
                    log_.emit("ReloadFailed",
                              own_severity::warning,
                              {{"configPath", opts_.config_path},
                               {"problems", {"the daemon is shutting down"}}});
                    continue;
                }
                reload();
                continue;
            }
            if (stopping_) {
                exit_now(128 + sig,
                         std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") +
                             " during the shutdown: exiting at once, without waiting for the "
                             "nodes and the log files");
            }
            stopping_ = true;
            // The shutdown runs beside this loop, so a second signal is still heard.
            asio::co_spawn(control_, shutdown(), [this](std::exception_ptr e) {
                if (e) exit_now(1, "internal error during the shutdown");
            });
        } catch (const std::exception& e) {
            reloads_->failures++;
            log_.emit("ReloadFailed",
                      own_severity::error,
                      {{"configPath", opts_.config_path},
                       {"problems", {std::string("internal error: ") + e.what()}},
                       {"message", "the running configuration is kept"}});
        }
    }
}

asio::awaitable<void> server::shutdown() {
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    const auto budget = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(config()->shutdown_timeout_secs));
    const auto deadline = started + budget;
    sd_notify(0, "STOPPING=1");
    log_.emit_text(" Program is stopping, please wait...");
    log_.emit("ShutdownInitiated", own_severity::warning);

    // Stop taking new connections and scrapes (every HTTP connection is closed, so the HTTP
    // context runs out of work), then drain the nodes: a session with a request outstanding
    // reads that reply (the node has already taken those objects from its queue) before
    // closing (no MsgDone: a node that receives it stops forwarding until restarted).
    listening_ = false;
    network_->stop();
    if (reforwarder_) reforwarder_->stop();
    http_->stop();
    if (queries_) queries_->stop();  // a query connection waiting for its answer gets a 503
    start_remote_writers(config::tracer_config{});  // none: a push in flight is cut short
    start_otlp_metrics_writers(config::tracer_config{});
    http_work_.reset();
    restart_resource_loop(*config());  // stopping_: only stops it
    ctx_->sessions.drain_all();
    co_await wait_for_sessions(
        std::min(deadline, started + std::min<clock::duration>(budget / 4, 1500ms)));
    ctx_->sessions.close_all();
    // The writer keeps a quarter of the budget (at most 2 s) for the last batches.
    const auto writer_reserve = std::min<clock::duration>(budget / 4, 2s);
    co_await wait_for_sessions(deadline - writer_reserve);
    // Sessions still holding batches now give up and count them as lost.
    ctx_->abandon_pending.store(true);
    co_await wait_for_sessions(deadline - writer_reserve / 2);
    writer_->begin_stop(deadline);
    co_await wait_for_writer(deadline + 500ms);  // fsync and close after the last write

    const auto lost_in_sessions = ctx_->counters.records_lost_at_shutdown.load();
    const bool writer_done = writer_->finished();
    const auto lost_in_writer =
        writer_->stats().records_lost + (writer_done ? 0 : writer_->records_pending());
    const auto lost = lost_in_sessions + lost_in_writer;
    nlohmann::json j{{"recordsLost", lost},
                     {"sessionsLeft", ctx_->sessions.size()},
                     {"seconds", std::chrono::duration<double>(clock::now() - started).count()}};
    if (!writer_done) {
        // The writer is blocked (a disk that does not answer): it cannot be joined, so the
        // process ends here with what it could write.
        j["message"] = "the log writer did not finish within shutdownTimeoutSecs";
        log_.emit("ShutdownComplete", own_severity::error, std::move(j));
        exit_now(1, "shutdown deadline passed with the log writer still busy");
    }
    writer_->stop();  // joins the finished thread
    log_.emit("ShutdownComplete", lost ? own_severity::error : own_severity::warning, std::move(j));
    log_.flush();
    exit_code_ = lost ? 1 : 0;
    // Nothing else keeps the contexts busy: run() returns once the last operations end.
    shutdown_done_ = true;
    pool_->release();
    signals_.cancel();
    if (watchdog_timer_) watchdog_timer_->cancel();
}

asio::awaitable<void> server::wait_for_sessions(std::chrono::steady_clock::time_point deadline) {
    asio::steady_timer t(control_);
    while (ctx_->sessions.size() > 0 && std::chrono::steady_clock::now() < deadline) {
        t.expires_after(10ms);
        co_await t.async_wait(use_nothrow_awaitable);
    }
}

asio::awaitable<void> server::wait_for_writer(std::chrono::steady_clock::time_point deadline) {
    asio::steady_timer t(control_);
    while (!writer_->finished() && std::chrono::steady_clock::now() < deadline) {
        t.expires_after(10ms);
        co_await t.async_wait(use_nothrow_awaitable);
    }
}

void server::reload() {
    notify_reloading();
    reload_started_ = std::chrono::steady_clock::now();
    auto refuse = [this](nlohmann::json problems) {
        reloads_->failures++;
        {
            std::lock_guard lock(status_mutex_);
            status_.last_failure = {{"at", format_utc_now()}, {"problems", problems}};
        }
        log_.emit("ReloadFailed",
                  own_severity::error,
                  {{"configPath", opts_.config_path},
                   {"problems", std::move(problems)},
                   {"message", "the running configuration is kept"}});
    };
    try {
        config::load_options lo;
        lo.strict = opts_.strict;
        auto result = config::load_file(opts_.config_path, lo);
        if (!result.ok() || !result.config) {
            nlohmann::json problems = nlohmann::json::array();
            for (const auto& d : result.diagnostics) problems.push_back(d.to_string());
            refuse(std::move(problems));
        } else {
            try {
                apply(std::make_shared<const config::tracer_config>(std::move(*result.config)),
                      [&] {
                          std::lock_guard lock(status_mutex_);
                          status_.generation++;
                          status_.loaded_at = format_utc_now();
                          status_.file_document = std::move(result.document);
                      });
            } catch (const startup_error& e) {
                refuse({e.what()});  // an address in use: nothing was changed
                sd_notify(0, "READY=1");
                return;
            } catch (const metrics::endpoint_error& e) {
                refuse({e.what()});  // a port in use, a bad certificate or key
                sd_notify(0, "READY=1");
                return;
            }
        }
    } catch (const std::exception& e) {
        refuse({std::string("internal error: ") + e.what()});
    } catch (...) {
        refuse({"internal error"});
    }
    sd_notify(0, "READY=1");
}

void server::apply(std::shared_ptr<const config::tracer_config> fresh,
                   const std::function<void()>& committed) {
    const auto previous = config();
    // Bind and load first: what cannot be prepared refuses the reload with nothing changed.
    auto network_change = network_->prepare(
        make_network_plan(*fresh), make_session_settings(*fresh).verbose != verbosity::minimum);
    auto http_change = http_->prepare(*fresh);
    const bool new_reforwarder = reforwarder_changes(*running_, *fresh);
    std::shared_ptr<reforwarder> next_reforwarder =
        new_reforwarder ? make_reforwarder(*fresh) : nullptr;  // binds AcceptAt now

    // Compared with what runs, so that a change that was not applied is reported again.
    nlohmann::json refused = nlohmann::json::array();
    const auto running = config::to_json(*running_);
    const auto after = config::to_json(*fresh);
    for (const auto key : config::restart_keys()) {  // from the schema table
        const std::string k(key);
        if (running.value(k, nlohmann::json()) != after.value(k, nlohmann::json()))
            refused.push_back(k + " (needs a restart)");
    }
    const auto before = config::to_json(*previous);
    nlohmann::json changed = nlohmann::json::array();
    for (const auto& [k, v] : after.items()) {
        if (before.value(k, nlohmann::json()) != v) changed.push_back(k);
    }
    for (const auto& [k, v] : before.items()) {
        if (!after.contains(k)) changed.push_back(k);
    }
    nlohmann::json endpoints = network_change.summary;
    for (auto& line : http_endpoints::summary(*http_change)) endpoints.push_back(line);

    cfg_.store(fresh);
    // The outputs first: a batch dispatched under the new routing snapshot then finds every
    // output already configured for its sections (each output's queue is in order).
    writer_->update_options(make_writer_options(*fresh));
    ctx_->set_settings(std::make_shared<const session_settings>(make_session_settings(*fresh)));
    ctx_->traffic.set_max_names(fresh->max_tracked_nodes);
    if (timeseries_) timeseries_->set_limits(timeseries_limits(*fresh));
    if (queries_) queries_->set_limits(query_limits(*fresh));
    http_settings_.store(make_http_settings(*fresh));
    nlohmann::json problems = nlohmann::json::array();
    for (auto& p : network_->commit(std::move(network_change))) problems.push_back(p);
    for (auto& p : http_->commit(std::move(http_change))) problems.push_back(p);
    if (fresh->has_forwarding) {
        forward_queue_->set_capacity(fresh->has_forwarding->options.queue_size);
        forward_per_node_->store(fresh->has_forwarding->options.per_node);
        if (reforwarder_ && !new_reforwarder)
            reforwarder_->set_verbose(fresh->has_forwarding->options.verbose_maximum);
    }
    if (new_reforwarder) {
        if (reforwarder_) reforwarder_->stop();
        reforwarder_ = std::move(next_reforwarder);
        if (reforwarder_) {
            reforwarder_->start();
            endpoints.push_back("the re-forwarder restarts");
        } else {
            endpoints.push_back("the re-forwarder stops");
        }
    }
    if (previous->resource_freq != fresh->resource_freq) restart_resource_loop(*fresh);
    if (previous->remote_write != fresh->remote_write) start_remote_writers(*fresh);
    if (previous->otlp_metrics != fresh->otlp_metrics) start_otlp_metrics_writers(*fresh);
    // What is not applied keeps running as before; the rest now runs as `fresh` says.
    auto kept = std::make_shared<config::tracer_config>(*fresh);
    for (const auto key : config::restart_keys()) {
        if (key == "ioThreads") kept->io_threads = running_->io_threads;
        if (key == "hasTimeseries") kept->has_timeseries = running_->has_timeseries;
    }
    running_ = std::move(kept);
    reloads_->reloads++;
    committed();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - reload_started_;
    nlohmann::json data{{"configPath", opts_.config_path},
                        {"seconds", took.count()},
                        {"changed", changed},
                        {"endpoints", endpoints},
                        {"notApplied", refused}};
    if (!problems.empty()) data["problems"] = problems;
    log_.emit("ConfigReloaded",
              problems.empty() ? own_severity::warning : own_severity::error,
              std::move(data));
    log_.emit("ConfigIs", own_severity::warning, {{"config", config::to_json(*fresh)}});
}

}  // namespace ct::tracer
