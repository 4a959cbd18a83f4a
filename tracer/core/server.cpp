#include "tracer/core/server.hpp"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <csignal>

#include "dispatcher/node_names.hpp"
#include "tracer/core/endpoints.hpp"
#include "tracer/core/self_log.hpp"
#include "tracer/core/session.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/core/settings.hpp"
#include "tracer/core/startup.hpp"
#include "tracer/logs/log_writer.hpp"
#include "config/load.hpp"
#include "config/emit.hpp"

namespace ct::tracer {

using namespace std::chrono_literals;

server::server(std::shared_ptr<const config::tracer_config> cfg, server_options opts, self_log& log)
    : cfg_(std::move(cfg)), opts_(std::move(opts)), log_(log) {}

server::~server() {
    ioc_.stop();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
}

void server::start() {
    writer_ = std::make_unique<logs::log_writer>(make_writer_options(*cfg_));
    writer_->set_error_reporter([this](std::string_view what) {
        if (make_session_settings(*cfg_).verbose != verbosity::minimum) {
            log_.emit("Error", own_severity::error, {{"error", std::string(what)}});
        }
    });
    names_ = std::make_unique<dispatcher::node_name_registry>();
    ctx_ = std::make_unique<session_context>(log_, *writer_, *names_);
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
    log_.emit("StartedAcceptors", own_severity::info, {{"AcceptorsAddr", config::to_json(*cfg_)["network"]}});
    if (plan.accept) {
        listener_ = std::make_unique<listener>(ioc_, plan.addresses.front(), plan.socket_mode, runner, log_);
        listener_->start();
    } else {
        for (const auto& target : plan.addresses) {
            connectors_.push_back(std::make_unique<connector>(ioc_, target, runner, log_, log_problems));
            connectors_.back()->start();
        }
    }
    if (cfg_->rotation) log_.emit("StartedLogRotator", own_severity::info);
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
    return exit_code_;
}

asio::awaitable<void> server::handle_signals() {
    asio::signal_set signals(ioc_, SIGINT, SIGTERM, SIGHUP);
    for (;;) {
        auto [ec, sig] = co_await signals.async_wait(use_nothrow_awaitable);
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
    if (listener_) listener_->stop();
    for (auto& c : connectors_) c->stop();
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
        nlohmann::json problems = nlohmann::json::array();
        for (const auto& d : result.diagnostics) problems.push_back(d.to_string());
        log_.emit("ReloadFailed", own_severity::error,
                  {{"configPath", opts_.config_path}, {"problems", problems},
                   {"message", "the running configuration is kept"}});
        sd_notify(0, "READY=1");
        return;
    }
    auto fresh = std::make_shared<const config::tracer_config>(std::move(*result.config));
    nlohmann::json refused = nlohmann::json::array();
    if (config::to_json(*fresh)["network"] != config::to_json(*cfg_)["network"]) {
        refused.push_back("network (listening/dialing addresses need a restart)");
    }
    cfg_ = fresh;
    ctx_->set_settings(std::make_shared<const session_settings>(make_session_settings(*cfg_)));
    writer_->update_options(make_writer_options(*cfg_));
    log_.emit("ConfigReloaded", own_severity::warning,
              {{"configPath", opts_.config_path}, {"notApplied", refused}});
    log_.emit("ConfigIs", own_severity::warning, {{"config", config::to_json(*cfg_)}});
    sd_notify(0, "READY=1");
}

}  // namespace ct::tracer
