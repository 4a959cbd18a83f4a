#include "tracer/core/node_endpoints.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <filesystem>

#include "tracer/core/self_log.hpp"
#include "tracer/core/session_context.hpp"

namespace ct::tracer {

namespace {

std::string octal(unsigned mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode);
    return buf;
}

bool contains(const std::vector<endpoint_address>& v, const endpoint_address& a) {
    return std::find(v.begin(), v.end(), a) != v.end();
}

}  // namespace

int socket_activation_fd(const std::string& path, std::string& why_not) {
    why_not.clear();
    const int n = sd_listen_fds(0);
    if (n <= 0) return -1;
    if (n > 1) {
        why_not = "systemd passed " + std::to_string(n) + " sockets; exactly one is expected";
        return -1;
    }
    const int fd = SD_LISTEN_FDS_START;
    // sd_is_socket_unix compares the bound path byte for byte: compare absolute paths, since
    // the configuration may name the socket relative to the working directory.
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(path, ec).lexically_normal().string();
    for (const auto& candidate : {path, absolute}) {
        if (sd_is_socket_unix(fd, SOCK_STREAM, 1, candidate.c_str(), 0) > 0) return fd;
    }
    why_not = "the socket systemd passed is not a listening Unix stream socket at " + absolute;
    return -1;
}

node_endpoints::node_endpoints(io_pool& pool,
                               session_runner runner,
                               self_log& log,
                               session_set& sessions)
    : pool_(pool), runner_(std::move(runner)), log_(log), sessions_(sessions) {}

void node_endpoints::start(const network_plan& plan, bool log_problems, int activated_fd) {
    running_ = plan;
    if (plan.accept) {
        listener_ = std::make_shared<listener>(
            pool_, plan.addresses.front(), plan.socket_mode, runner_, log_, activated_fd);
        if (listener_->adopted()) {
            if (auto problem = listener_->set_socket_mode(plan.socket_mode); !problem.empty())
                log_.emit("Error", own_severity::warning, {{"error", problem}});
        }
        listener_->start();
        return;
    }
    for (const auto& target : plan.addresses) {
        connectors_.push_back(
            std::make_shared<connector>(pool_, target, runner_, log_, log_problems));
        connectors_.back()->start();
    }
}

node_endpoints::change node_endpoints::prepare(const network_plan& plan, bool log_problems) {
    change c;
    c.plan = plan;
    c.log_problems = log_problems;
    const bool was_accept = running_.accept;
    if (plan.accept) {
        const auto& where = plan.addresses.front();
        c.replace_listener = !was_accept || !listener_ || listener_->address() != where;
        if (c.replace_listener) {
            // Bound now: an address in use refuses the reload before anything changes.
            c.new_listener =
                std::make_shared<listener>(pool_, where, plan.socket_mode, runner_, log_);
            c.summary.push_back(
                "listening at " + where.to_string() +
                (listener_ ? " instead of " + listener_->address().to_string() : std::string()));
        } else if (plan.socket_mode != running_.socket_mode) {
            c.socket_mode_changed = true;
            c.summary.push_back("socketMode " + octal(plan.socket_mode));
        }
        for (const auto& conn : connectors_) c.disconnect.push_back(conn);
    } else {
        if (was_accept && listener_) c.replace_listener = true;  // closes it
        for (const auto& conn : connectors_) {
            if (!contains(plan.addresses, conn->target())) {
                c.disconnect.push_back(conn);
                c.summary.push_back("stops connecting to " + conn->target().to_string());
            }
        }
        for (const auto& target : plan.addresses) {
            const bool running = std::any_of(connectors_.begin(),
                                             connectors_.end(),
                                             [&](const auto& k) { return k->target() == target; });
            if (!running) {
                c.connect.push_back(target);
                c.summary.push_back("connects to " + target.to_string());
            }
        }
    }
    return c;
}

std::vector<std::string> node_endpoints::commit(change c) {
    std::vector<std::string> problems;
    // The new listener accepts before the old one closes: a node reconnecting at this moment
    // finds one of them.
    if (c.new_listener) c.new_listener->start();
    if (c.replace_listener) {
        if (listener_) {
            listener_->stop();  // accepted connections are sessions of their own: untouched
            log_.emit("SockListenStopped",
                      own_severity::info,
                      {{"listenAt", listener_->bound_address()}});
        }
        listener_ = std::move(c.new_listener);
    }
    if (c.socket_mode_changed && listener_) {
        if (auto problem = listener_->set_socket_mode(c.plan.socket_mode); !problem.empty())
            problems.push_back(problem);
    }
    for (const auto& conn : c.disconnect) {
        // The session to a removed target is drained: its outstanding reply is still read.
        conn->stop([&sessions = sessions_](std::uint64_t id) { sessions.drain(id); });
        std::erase(connectors_, conn);
    }
    for (const auto& conn : connectors_) conn->set_log_problems(c.log_problems);
    for (const auto& target : c.connect) {
        connectors_.push_back(
            std::make_shared<connector>(pool_, target, runner_, log_, c.log_problems));
        connectors_.back()->start();
    }
    running_ = std::move(c.plan);
    return problems;
}

void node_endpoints::stop() {
    if (listener_) listener_->stop();
    for (auto& conn : connectors_) conn->stop();
}

std::string node_endpoints::listen_address() const {
    return listener_ ? listener_->bound_address() : std::string();
}

}  // namespace ct::tracer
