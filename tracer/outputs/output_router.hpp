// The router between the sessions and the outputs (fluent-bit's inputs → router → outputs):
// a session submits a dispatched batch; the router finds the outputs whose sections its
// records are marked for, reserves room in every one of them (all or none: a full output
// refuses the whole batch and the node is not asked for more until it frees), then pushes the
// shared batch to each. It owns the totals that span outputs: records received, written (every
// output done with them) and lost, the per-node statistics, and the rate-limited problem
// reports. Thread-safe, except set_* (before start()).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tracer/outputs/file_output.hpp"
#include "tracer/outputs/output.hpp"

namespace ct::tracer::outputs {

/// A snapshot of the totals, for metrics and the exit status.
struct writer_totals {
    std::uint64_t batches_received = 0;
    std::uint64_t records_received = 0;
    std::uint64_t records_written = 0;  // every output that needed them wrote them
    std::uint64_t records_lost = 0;     // only if shutdown could not write them
    std::uint64_t bytes_written = 0;    // to log files
    std::uint64_t write_errors = 0;     // failed file writes (retried)
    std::uint64_t journal_errors = 0;
    std::uint64_t queue_full = 0;  // batches refused because an output was full
    std::size_t queue_depth = 0;   // batches waiting, over all outputs
    std::uint64_t rotations = 0;
    std::uint64_t files_deleted = 0;
    std::uint64_t files_compressed = 0;
    std::size_t parked_connections = 0;
    std::uint64_t nodes_forgotten = 0;
};

/// Builds a further output (the re-forwarder, an exporter, a test's output) wired to the router.
using output_factory =
    std::function<std::unique_ptr<output>(const writer_options&, output_events&)>;

class output_router final : private output_events, private delivery_sink {
  public:
    /// The file and journal outputs always exist; `extra` adds outputs after them.
    explicit output_router(writer_options opts, std::vector<output_factory> extra = {});
    ~output_router();
    output_router(const output_router&) = delete;
    output_router& operator=(const output_router&) = delete;

    /// Problems (rate-limited per distinct message) go here; called on the outputs' threads.
    void set_error_reporter(std::function<void(std::string_view)> f) { reporter_ = std::move(f); }
    /// Called (on an output's thread) when a refused submission may succeed now.
    void set_space_callback(std::function<void()> f) { space_callback_ = std::move(f); }
    /// The file output (tests inject faults through it).
    file_output& files() { return *files_; }
    const file_output& files() const { return *files_; }
    /// Every output, for the metrics code.
    std::span<const std::unique_ptr<output>> all() const { return outputs_; }

    void start();
    /// Writes everything queued (retrying failed writes for a short while), then closes.
    void stop();
    /// Shutdown without blocking the caller: new batches are refused; what is queued is
    /// written until `deadline`, then counted lost. finished() turns true when every output
    /// is done; stop() then returns at once.
    void begin_stop(std::chrono::steady_clock::time_point deadline);
    bool finished() const;
    /// Records accepted but neither written nor counted lost yet.
    std::uint64_t records_pending() const;

    /// Queues a batch in every output it needs; false (and `b` left intact) when one of them
    /// is full, holds that connection back, or the router is stopping. After a false the space
    /// callback fires once there is room again.
    bool try_submit(trace_batch&& b);
    /// Each output releases that connection's resources after its queued batches.
    void node_disconnected(std::uint64_t connection_id);
    /// Hot reload: every output takes it between two batches.
    void update_options(writer_options opts);

    writer_totals stats() const;
    /// A copy of the per-node totals of names that were written so far.
    std::map<std::string, node_counts> per_node() const;
    /// True when every output can write (for /readyz).
    bool healthy() const;
    std::uint64_t maintenance_runs() const { return files_->maintenance_runs(); }
    std::vector<writer_stall> stalls() const { return files_->stalls(); }

  private:
    static constexpr std::size_t max_outputs = 8;

    // output_events
    void space_available() override;
    void report(const std::string& problem) override;
    void count_node(const std::string& node, std::uint64_t bytes, std::uint64_t errors) override;
    // delivery_sink
    void delivered(const trace_batch& b, bool lost) noexcept override;

    void add_to_node(const std::string& node, const node_counts& delta);

    // Declared before the outputs: batches still queued at destruction report here.
    std::atomic<std::uint64_t> batches_received_{0}, records_received_{0};
    std::atomic<std::uint64_t> records_written_{0}, records_lost_{0}, nodes_forgotten_{0};
    std::atomic<bool> stopping_{false};
    std::function<void(std::string_view)> reporter_;
    std::function<void()> space_callback_;

    mutable std::mutex options_mutex_;
    std::vector<section> sections_;               // current, for batches without a routing snapshot
    std::atomic<std::size_t> max_tracked_nodes_;  // read per batch, without the options lock
    std::chrono::seconds error_report_interval_;
    std::chrono::milliseconds stop_grace_;

    std::mutex report_mutex_;
    std::map<std::string, std::chrono::steady_clock::time_point> last_report_;

    mutable std::mutex per_node_mutex_;
    std::map<std::string, node_counts> per_node_;
    // Connection id -> name, until disconnected; looked up at every batch.
    std::unordered_map<std::uint64_t, std::string> live_;

    std::vector<std::unique_ptr<output>> outputs_;
    file_output* files_ = nullptr;
};

}  // namespace ct::tracer::outputs
