// hasForwarding: the daemon as a forwarder towards downstream tracers. AcceptAt listens for
// them (as upstream); ConnectTo dials them (upstream aborts), with a back-off up to
// maxReconnectDelay. One stream for all nodes, shared by every downstream connection, or
// with perNode one connection per upstream node and target, each announcing that node's
// NodeInfo, so the next tracer files every node under its own name (host -> region ->
// central). Started, replaced and stopped from the server's control strand.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "tracer/core/endpoints.hpp"
#include "tracer/core/forwarder_session.hpp"

namespace ct::tracer {

class self_log;

class reforwarder : public std::enable_shared_from_this<reforwarder> {
  public:
    using node_info_lookup = std::function<std::optional<std::string>(const std::string& node)>;

    /// Binds an AcceptAt address at once (throws startup_error), so a reload that cannot
    /// bind is refused before anything changes; start() begins serving.
    reforwarder(io_pool& pool,
                const config::forwarding_config& cfg,
                std::uint32_t network_magic,
                std::shared_ptr<outputs::forward_queue> queue,
                node_info_lookup node_info,
                reforward_counters& counters,
                self_log& log);
    ~reforwarder();

    /// Owned by shared_ptr (the queue's new-stream announcements hold a weak one).
    void start();
    /// Stops listening and dialling and closes every downstream connection (what they had
    /// taken but not written goes back to the queue). Idempotent.
    void stop();
    const config::forwarding_config& config() const { return cfg_; }
    /// verbosity: Maximum also logs orderly ends of downstream connections (a reload).
    void set_verbose(bool on) { verbose_->store(on); }

    /// Live downstream connections, shared with their sessions (which may outlive this).
    struct live_set;

  private:
    session_runner runner_for(const std::string& stream);
    void open_stream(const std::string& stream);  // perNode: connectors for one node

    io_pool& pool_;
    config::forwarding_config cfg_;
    std::uint32_t magic_;
    std::shared_ptr<outputs::forward_queue> queue_;
    node_info_lookup node_info_;
    reforward_counters& counters_;
    self_log& log_;

    std::mutex mutex_;  // the members below: streams are announced on the output thread
    bool stopped_ = false;
    std::shared_ptr<listener> listener_;
    std::vector<std::shared_ptr<connector>> connectors_;
    std::map<std::string, bool> streams_open_;
    std::shared_ptr<live_set> live_;
    std::shared_ptr<std::atomic<bool>> verbose_;  // shared with the sessions
};

}  // namespace ct::tracer
