#include "tracer/core/server.hpp"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <csignal>
#include <fstream>

#include "config/emit.hpp"
#include "config/load.hpp"
#include "dispatcher/node_names.hpp"
#include "tracer/core/endpoints.hpp"
#include "tracer/core/own_metrics.hpp"
#include "tracer/core/resources.hpp"
#include "tracer/core/self_log.hpp"
#include "tracer/core/session.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/core/settings.hpp"
#include "tracer/core/startup.hpp"
#include "tracer/logs/log_writer.hpp"
#include "tracer/metrics/http_server.hpp"
#include "tracer/metrics/node_directory.hpp"
#include "tracer/metrics/routes.hpp"

namespace ct::tracer {

using namespace std::chrono_literals;

struct server::http_settings {
    metrics::exposition_options exposition;
    std::map<std::string, std::string> sd_labels;
};

std::shared_ptr<const server::http_settings> server::make_http_settings(
    const config::tracer_config& c) {
    auto s = std::make_shared<http_settings>();
    s->exposition.no_suffix = c.metrics_no_suffix;
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
    return s;
}

server::server(std::shared_ptr<const config::tracer_config> cfg, server_options opts, self_log& log)
    : cfg_(std::move(cfg)), opts_(std::move(opts)), log_(log) {}

server::~server() {
    ioc_.stop();
    http_ioc_.stop();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    if (http_thread_.joinable()) http_thread_.join();
}

void server::start() {
    writer_ = std::make_unique<logs::log_writer>(make_writer_options(*cfg_));
    writer_->set_error_reporter([this](std::string_view what) {
        if (make_session_settings(*cfg_).verbose != verbosity::minimum) {
            log_.emit("Error", own_severity::error, {{"error", std::string(what)}});
        }
    });
    names_ = std::make_unique<dispatcher::node_name_registry>();
    directory_ = std::make_unique<metrics::node_directory>();
    ctx_ = std::make_unique<session_context>(log_, *writer_, *names_, *directory_);
    reloads_ = std::make_unique<reload_counters>();
    own_metrics_ = std::make_unique<own_metrics>(
        ctx_->counters, ctx_->traffic, ctx_->turnaround, *writer_, *reloads_);
    ctx_->set_settings(std::make_shared<const session_settings>(make_session_settings(*cfg_)));
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

    const auto plan = make_network_plan(*cfg_);
    const bool log_problems = make_session_settings(*cfg_).verbose != verbosity::minimum;
    log_.emit("StartedAcceptors",
              own_severity::info,
              {{"AcceptorsAddr", config::to_json(*cfg_)["network"]}});
    if (plan.accept) {
        listener_ = std::make_unique<listener>(
            ioc_, plan.addresses.front(), plan.socket_mode, runner, log_);
        listener_->start();
    } else {
        for (const auto& target : plan.addresses) {
            connectors_.push_back(
                std::make_unique<connector>(ioc_, target, runner, log_, log_problems));
            connectors_.back()->start();
        }
    }
    listening_ = true;
    if (cfg_->rotation) log_.emit("StartedLogRotator", own_severity::info);
    start_http();
    if (cfg_->resource_freq) asio::co_spawn(ioc_, sample_resources_loop(), asio::detached);
}

void server::start_http() {
    std::atomic_store(&http_settings_, make_http_settings(*cfg_));
    // Every route's answering time goes into cardano_tracer_http_request_duration_seconds.
    auto timed = [this](auto route) -> metrics::http_server::handler {
        return [this, route](const metrics::http_request& req) {
            const auto t0 = std::chrono::steady_clock::now();
            auto res = route(req);
            own_metrics_->observe_http_request(std::chrono::steady_clock::now() - t0);
            return res;
        };
    };
    auto tls_for = [&](const config::endpoint& ep) -> std::optional<metrics::tls_files> {
        if (!ep.force_ssl || !cfg_->tls_certificate_) return std::nullopt;
        const auto& t = *cfg_->tls_certificate_;
        return metrics::tls_files{t.certificate_file, t.certificate_key_file, t.certificate_chain};
    };
    auto endpoint_json = [](const config::endpoint& ep) {
        return nlohmann::json{
            {"epHost", ep.host}, {"epPort", ep.port}, {"epForceSSL", ep.force_ssl}};
    };
    if (cfg_->has_prometheus) {
        const auto& ep = *cfg_->has_prometheus;
        log_.emit("StartedPrometheus", own_severity::info, {{"endpoint", endpoint_json(ep)}});
        auto handler = [this](const metrics::http_request& req) {
            const auto settings = std::atomic_load(&http_settings_);
            metrics::prometheus_context pctx{
                *directory_,
                settings->exposition,
                settings->sd_labels,
                [this] { return own_metrics_->render(); },
                [this] { return listening_.load() && writer_->healthy(); }};
            return metrics::prometheus_route(req, pctx);
        };
        http_servers_.push_back(std::make_unique<metrics::http_server>(
            http_ioc_, "hasPrometheus", ep.host, ep.port, timed(handler), tls_for(ep)));
    }
    if (cfg_->has_ekg) {
        const auto& ep = *cfg_->has_ekg;
        log_.emit("StartedMonitoring",
                  own_severity::info,
                  {{"endpoint", endpoint_json(ep)}, {"type", "list"}});
        auto handler = [this](const metrics::http_request& req) {
            return metrics::ekg_route(req, *directory_);
        };
        http_servers_.push_back(std::make_unique<metrics::http_server>(
            http_ioc_, "hasEKG", ep.host, ep.port, timed(handler), tls_for(ep)));
    }
    for (auto& h : http_servers_) h->start();
    if (!http_servers_.empty()) http_thread_ = std::thread([this] { http_ioc_.run(); });
}

asio::awaitable<void> server::sample_resources_loop() {
    asio::steady_timer t(ioc_);
    for (;;) {
        log_.emit("Resources", own_severity::info, sample_resources());
        t.expires_after(std::chrono::milliseconds(*cfg_->resource_freq));
        auto [ec] = co_await t.async_wait(use_nothrow_awaitable);
        if (ec) co_return;
    }
}

int server::run() {
    log_.emit("InitStart", own_severity::info);
    start();
    asio::co_spawn(ioc_, handle_signals(), asio::detached);
    log_.emit("InitDone", own_severity::info);
    sd_notify(0, "READY=1");

    const unsigned n = std::max(1u, static_cast<unsigned>(cfg_->io_threads));
    for (unsigned i = 1; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
    if (http_thread_.joinable()) http_thread_.join();
    return exit_code_;
}

asio::awaitable<void> server::handle_signals() {
    for (;;) {
        auto [ec, sig] = co_await signals_.async_wait(use_nothrow_awaitable);
        if (ec) co_return;
        if (sig == SIGHUP) {
            reload();
            continue;
        }
        co_await shutdown();
        co_return;
    }
}

asio::awaitable<void> server::shutdown() {
    sd_notify(0, "STOPPING=1");
    log_.emit_text(" Program is stopping, please wait...");
    log_.emit("ShutdownInitiated", own_severity::warning);

    // Stop taking new connections, close node sockets (no MsgDone: a node that receives it
    // stops forwarding until restarted), let sessions hand their last batches to the writer.
    listening_ = false;
    if (listener_) listener_->stop();
    for (auto& c : connectors_) c->stop();
    // The HTTP thread owns its sockets: stop it there, then let it finish.
    asio::post(http_ioc_, [this] {
        for (auto& h : http_servers_) h->stop();
        http_ioc_.stop();
    });
    // Drain first: a session with a request outstanding reads that reply (the node has already
    // taken those objects from its queue) before closing; then close whatever is left.
    ctx_->sessions.drain_all();
    co_await wait_for_sessions(1500ms);
    ctx_->sessions.close_all();
    co_await wait_for_sessions(1500ms);
    writer_->stop();  // drains the queue, fsyncs and closes every file
    log_.emit("ShutdownComplete", own_severity::warning);
    log_.flush();
    exit_code_ = 0;
    ioc_.stop();
}

asio::awaitable<void> server::wait_for_sessions(std::chrono::milliseconds budget) {
    asio::steady_timer t(ioc_);
    const auto deadline = std::chrono::steady_clock::now() + budget;
    while (ctx_->sessions.size() > 0 && std::chrono::steady_clock::now() < deadline) {
        t.expires_after(10ms);
        co_await t.async_wait(use_nothrow_awaitable);
    }
}

void server::reload() {
    sd_notify(0, "RELOADING=1");
    config::load_options lo;
    lo.strict = opts_.strict;
    auto result = config::load_file(opts_.config_path, lo);
    if (!result.ok() || !result.config) {
        reloads_->failures++;
        nlohmann::json problems = nlohmann::json::array();
        for (const auto& d : result.diagnostics) problems.push_back(d.to_string());
        log_.emit("ReloadFailed",
                  own_severity::error,
                  {{"configPath", opts_.config_path},
                   {"problems", problems},
                   {"message", "the running configuration is kept"}});
        sd_notify(0, "READY=1");
        return;
    }
    auto fresh = std::make_shared<const config::tracer_config>(std::move(*result.config));
    nlohmann::json refused = nlohmann::json::array();
    const auto before = config::to_json(*cfg_);
    const auto after = config::to_json(*fresh);
    for (const char* key : {"network",
                            "hasPrometheus",
                            "hasEKG",
                            "hasTimeseries",
                            "tlsCertificate",
                            "ioThreads",
                            "socketMode",
                            "resourceFreq"}) {
        if (before[key] != after[key]) refused.push_back(std::string(key) + " (needs a restart)");
    }
    cfg_ = fresh;
    ctx_->set_settings(std::make_shared<const session_settings>(make_session_settings(*cfg_)));
    writer_->update_options(make_writer_options(*cfg_));
    std::atomic_store(&http_settings_, make_http_settings(*cfg_));
    reloads_->reloads++;
    log_.emit("ConfigReloaded",
              own_severity::warning,
              {{"configPath", opts_.config_path}, {"notApplied", refused}});
    log_.emit("ConfigIs", own_severity::warning, {{"config", config::to_json(*cfg_)}});
    sd_notify(0, "READY=1");
}

}  // namespace ct::tracer
