// What every node connection shares with the rest of the daemon: settings snapshot, the own
// log, the log writer, the name registry and counters. Owned by `server`; thread-safe (each
// member is either immutable, atomic, or internally synchronised).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tracer/core/net.hpp"
#include "tracer/core/traffic_stats.hpp"

namespace ct::dispatcher {
class node_name_registry;
class routing;
}  // namespace ct::dispatcher
namespace ct::tracer::outputs {
class output_router;
}
namespace ct::tracer::metrics {
class node_directory;
}

namespace ct::tracer {

namespace timeseries {
class service;
}

class self_log;

enum class verbosity { minimum, errors_only, maximum };

/// The per-connection settings, derived from the configuration snapshot.
struct session_settings {
    std::uint32_t network_magic = 0;
    std::uint16_t request_num = 100;
    std::chrono::milliseconds ekg_period{1000};
    bool ekg_full = false;
    verbosity verbose = verbosity::errors_only;
    std::size_t max_message_bytes = 32u << 20;
    std::size_t max_ingress_bytes = 64u << 20;
    std::chrono::milliseconds handshake_timeout{10000};  // TCP and Unix
    std::chrono::seconds tcp_keep_alive{60};             // 0: off
    std::chrono::seconds peer_silence_timeout{60};       // 0: off
    std::size_t max_connections = 2048;
    std::size_t max_metrics_per_node = 20000;
    std::chrono::milliseconds node_info_timeout{10000};
    std::size_t max_batches_before_name = 16;
    /// The dispatcher's rules of this snapshot (never empty in the daemon).
    std::shared_ptr<const dispatcher::routing> routing;
};

/// Why a session ended badly (cardano_tracer_session_errors_total{reason}).
enum class session_error { protocol, handshake, timeout, io, internal };
inline constexpr std::size_t session_error_kinds = 5;
std::string_view reason_label(session_error e);

/// Counters of the connection layer (exported as metrics by the metrics issue).
struct session_counters {
    std::array<std::atomic<std::uint64_t>, session_error_kinds> session_errors{};
    std::atomic<std::uint64_t> connections_refused{0};  // over maxConnections
    std::atomic<std::uint64_t> records_lost_at_shutdown{0};
    std::atomic<std::uint64_t> ekg_metrics_ignored{0};  // over maxMetricsPerNode
    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_active{0};
    std::atomic<std::uint64_t> handshakes_refused{0};
    std::atomic<std::uint64_t> protocol_errors{0};
    std::atomic<std::uint64_t> trace_objects_received{0};
    std::atomic<std::uint64_t> batches_received{0};
    std::atomic<std::uint64_t> writer_backpressure_waits{0};
    std::atomic<std::uint64_t> ekg_responses{0};
};

/// Live sessions, so that shutdown can drain and then close every node socket.
class session_set {
  public:
    struct controls {
        std::function<void()> drain;  // stop asking; close once the outstanding reply is read
        std::function<void()> close;  // close now
    };
    void add(std::uint64_t id, controls c);
    void remove(std::uint64_t id);
    void drain_all();
    void close_all();
    /// Drains one session (a ConnectTo target removed by a reload), also one that has been
    /// started and registers only later.
    void drain(std::uint64_t id);
    std::size_t size() const;

  private:
    std::vector<controls> snapshot() const;
    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, controls> sessions_;
    std::unordered_set<std::uint64_t> drain_on_add_;
};

struct session_context {
    session_context(self_log& l,
                    outputs::output_router& w,
                    dispatcher::node_name_registry& n,
                    metrics::node_directory& d)
        : log(l), writer(w), names(n), directory(d) {}

    self_log& log;
    outputs::output_router& writer;
    dispatcher::node_name_registry& names;
    metrics::node_directory& directory;  // what the HTTP endpoints list and serve
    session_counters counters;
    traffic_registry traffic;      // per node name
    latency_histogram turnaround;  // reply received -> next TraceObjects request sent
    session_set sessions;
    /// Set by the shutdown when its deadline nears: sessions stop waiting for writer space and
    /// count what they still hold as lost.
    std::atomic<bool> abandon_pending{false};
    /// Fault injection for tests (as the writer's write_syscall): called at each turn of a
    /// session loop with the loop's name; may throw. Empty in the daemon.
    std::function<void(std::string_view loop)> fault_injection;
    /// hasTimeseries: named nodes' EKG values go there (null: no timeseries store).
    timeseries::service* timeseries = nullptr;

    std::shared_ptr<const session_settings> settings() const {
        return std::atomic_load(&settings_);
    }
    void set_settings(std::shared_ptr<const session_settings> s) {
        std::atomic_store(&settings_, std::move(s));
    }

    /// The NodeInfo data point (JSON) of each named node, as it sent it: the re-forwarder
    /// passes it on with perNode. Bounded (the oldest names are forgotten).
    void set_node_info(const std::string& node, std::string json);
    std::optional<std::string> node_info(const std::string& node) const;
    /// Other data points of named nodes (hasTimeseries asks for NodeStartupInfo and
    /// NodeAddBlock), latest value as sent. Bounded like NodeInfo.
    void set_data_point(const std::string& node, const std::string& name, std::string json);
    std::optional<std::string> data_point(const std::string& node, const std::string& name) const;

    /// Wakes every session that waits for writer space (called from the writer thread).
    void notify_writer_space();
    /// Sessions register a waker for writer space; returns a token for unregistering.
    std::uint64_t add_space_waiter(std::function<void()> wake);
    void remove_space_waiter(std::uint64_t token);

  private:
    std::shared_ptr<const session_settings> settings_;
    mutable std::mutex node_info_mutex_;
    std::map<std::string, std::string> node_info_;
    std::deque<std::string> node_info_order_;
    std::map<std::pair<std::string, std::string>, std::string> data_points_;
    std::deque<std::pair<std::string, std::string>> data_point_order_;
    std::mutex waiters_mutex_;
    std::unordered_map<std::uint64_t, std::function<void()>> space_waiters_;
    std::uint64_t next_waiter_ = 1;
};

}  // namespace ct::tracer
