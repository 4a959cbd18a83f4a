// The node-facing network of the daemon as one reloadable unit: the AcceptAt listener or the
// ConnectTo connectors. A reload prepares the change first (binding a new listener, so that an
// address in use refuses the reload before anything changes) and commits it afterwards: the
// new listener accepts before the old one closes, connected nodes stay connected, and only
// the connectors whose target changed are started or stopped. Control strand only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tracer/core/endpoints.hpp"
#include "tracer/core/settings.hpp"

namespace ct::tracer {

class session_set;

class node_endpoints {
  public:
    node_endpoints(io_pool& pool, session_runner runner, self_log& log, session_set& sessions);

    /// What a reload will do, with its new listener already bound.
    struct change {
        network_plan plan;
        bool log_problems = true;
        std::shared_ptr<listener> new_listener;              // bound, not started
        bool replace_listener = false;                       // the AcceptAt side changes
        std::vector<endpoint_address> connect;               // connectors to start
        std::vector<std::shared_ptr<connector>> disconnect;  // connectors to stop
        bool socket_mode_changed = false;
        std::vector<std::string> summary;  // what changes, for Tracer.ConfigReloaded
    };

    /// First start. `activated_fd` >= 0: the AcceptAt socket systemd handed over.
    /// Throws startup_error.
    void start(const network_plan& plan, bool log_problems, int activated_fd = -1);
    /// Binds what the new plan needs; throws startup_error (the running network is untouched).
    change prepare(const network_plan& plan, bool log_problems);
    /// Starts the new listener, then closes the old one; starts and stops connectors;
    /// chmods the socket. Problems are returned (the rest still applies).
    std::vector<std::string> commit(change c);
    /// Shutdown: stop accepting and dialling (sessions are the session set's business).
    void stop();

    std::string listen_address() const;

  private:
    io_pool& pool_;
    session_runner runner_;
    self_log& log_;
    session_set& sessions_;
    network_plan running_;
    std::shared_ptr<listener> listener_;
    std::vector<std::shared_ptr<connector>> connectors_;
};

/// The AcceptAt Unix socket that systemd passed (LISTEN_FDS) when it is the listening socket
/// at `path`, else -1 (with the reason in `why_not`, empty when nothing was passed).
int socket_activation_fd(const std::string& path, std::string& why_not);

}  // namespace ct::tracer
