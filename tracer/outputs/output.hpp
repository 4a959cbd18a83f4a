// The routing target: one interface for everything a trace batch can be written to. The file
// writer (handle registry, rotation) and the journal are its first implementations; the
// re-forwarder and exporters plug in as further outputs. The dispatcher and the sessions never
// know what an output does: they mark each record with its sections, and the router hands the
// batch to every output that serves one of them.
//
// Every output owns a queue bounded in bytes (and in batches), drained by its own thread, and
// its own counters. The router reserves room in every output a batch needs before it pushes to
// any of them, so a full output stops the node from being asked (exact back-pressure) and no
// output ever drops a batch the router accepted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "tracer/outputs/trace_batch.hpp"

namespace ct::tracer::outputs {

/// A logging section as the outputs see it: what it writes (see dispatcher::section_id).
using section = dispatcher::section_id;

/// Everything the outputs are configured with; each takes what concerns it.
struct writer_options {
    std::vector<section> sections;
    std::optional<config::rotation_params> rotation;
    bool leading_empty_line = false;
    // Per output: batches (writerQueueBatches) and bytes (outputQueueBytes) queued at most;
    // per-node statistics kept (maxTrackedNodes).
    std::size_t queue_capacity = config::default_writer_queue_batches;
    std::size_t queue_bytes = config::default_output_queue_bytes;
    std::size_t max_tracked_nodes = config::default_max_tracked_nodes;
    std::chrono::milliseconds retry_interval{1000};
    std::chrono::seconds error_report_interval{60};
    /// Logger names of LegacyText/LegacyJson (empty: "cardano.node.<first segment>").
    std::shared_ptr<const config::legacy_namespace_table> legacy_names;
    /// How long a stop keeps retrying a batch that cannot be written before counting it lost.
    std::chrono::milliseconds stop_grace{3000};
    /// How long an output's thread, woken from idle by a batch, waits for more before it
    /// starts (unless linger_bytes arrive first). Nodes at a steady rate send a few objects per
    /// reply; without it every reply woke the thread and cost a write (zero: start at once).
    std::chrono::microseconds linger{1000};
    std::size_t linger_bytes = 256 * 1024;
    /// The file output's write-behind (file_output::stage): how long a connection's lines may
    /// wait to be written with its next ones, and how much of one file it gathers at most
    /// (zero: every batch is written as it comes).
    std::chrono::milliseconds write_behind{50};
    std::size_t write_behind_bytes = 16 * 1024;
    /// OTLPMode exporters by section_id::exporter.
    std::map<std::string, config::otlp_settings> otlp;
};

/// Per-node totals (by node name), for the metrics code.
struct node_counts {
    std::uint64_t batches_written = 0;
    std::uint64_t records_written = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t write_errors = 0;
};

/// What an output reports back (called on its threads).
class output_events {
  public:
    /// A submitter refused for lack of room (or a parked connection) may try again.
    virtual void space_available() = 0;
    /// A problem for the daemon's own log (rate-limited by the receiver).
    virtual void report(const std::string& problem) = 0;
    /// Bytes and failed writes of one node, for the per-node statistics.
    virtual void count_node(const std::string& node, std::uint64_t bytes, std::uint64_t errors) = 0;

  protected:
    ~output_events() = default;
};

/// Told once per batch when every output is done with it.
class delivery_sink {
  public:
    virtual void delivered(const trace_batch& b, bool lost) noexcept = 0;

  protected:
    ~delivery_sink() = default;
};

/// A batch shared by the outputs it goes to. When the last one lets go of it, the sink learns
/// whether every output wrote it (exactly-once accounting without a central queue).
class delivery {
  public:
    delivery(trace_batch&& b, delivery_sink* sink) : batch_(std::move(b)), sink_(sink) {}
    ~delivery() {
        if (sink_) sink_->delivered(batch_, lost_.load());
    }
    delivery(const delivery&) = delete;
    delivery& operator=(const delivery&) = delete;

    const trace_batch& batch() const { return batch_; }
    /// An output gave up on it (shutdown deadline): counted lost, not written.
    void mark_lost() const noexcept { lost_.store(true); }

  private:
    trace_batch batch_;
    delivery_sink* sink_;
    mutable std::atomic<bool> lost_{false};
};
using shared_delivery = std::shared_ptr<const delivery>;

/// What a batch costs a queue: its arena, its records and the batch itself.
std::size_t queued_size(const trace_batch& b);

/// Counters every output keeps; read from any thread.
struct output_counters {
    std::atomic<std::uint64_t> batches{0};       // batches done with (written or lost)
    std::atomic<std::uint64_t> records{0};       // records written in at least one section
    std::atomic<std::uint64_t> bytes{0};         // bytes handed to the destination
    std::atomic<std::uint64_t> errors{0};        // failed writes (retried, or lost if stated)
    std::atomic<std::uint64_t> queue_full{0};    // reservations refused for lack of room
    std::atomic<std::uint64_t> lost{0};          // records given up at a shutdown deadline
    std::atomic<std::size_t> queued_bytes{0};    // now waiting (reserved included)
    std::atomic<std::size_t> queued_batches{0};  // now waiting (reserved included)
    std::atomic<std::size_t> capacity_bytes{0};
};

class output {
  public:
    virtual ~output() = default;
    /// Its label in metrics and messages ("file", "journal", …).
    virtual std::string_view name() const noexcept = 0;
    /// Whether this output writes that section.
    virtual bool serves(const section& s) const noexcept = 0;
    virtual void start() = 0;
    /// Reserves room for a batch of `bytes` of that connection; false when full (counted),
    /// stopping, or the connection is held back by this output (then space_available() fires
    /// once it is released).
    virtual bool try_reserve(std::uint64_t connection_id, std::size_t bytes) = 0;
    /// Gives a reservation back (another output refused the same batch).
    virtual void cancel(std::size_t bytes) = 0;
    /// Queues a batch whose room was reserved.
    virtual void push(shared_delivery d, std::size_t bytes) = 0;
    /// After that connection's queued batches: release what belongs to it.
    virtual void node_disconnected(std::uint64_t connection_id) = 0;
    /// Hot reload: takes effect between two batches.
    virtual void update_options(const writer_options& o) = 0;
    /// New reservations are refused; what is queued is written until `deadline`, then lost.
    virtual void begin_stop(std::chrono::steady_clock::time_point deadline) = 0;
    /// Waits for the thread(s) (after begin_stop).
    virtual void join() = 0;
    virtual bool finished() const = 0;
    /// False while this output cannot write (for /readyz).
    virtual bool healthy() const { return true; }
    const output_counters& counters() const { return counters_; }

  protected:
    output_counters counters_;
};

/// The queue and thread every output has: a bounded FIFO of batches, disconnects and option
/// updates drained in order by one thread, shutdown with a deadline, and connections that the
/// output holds back (refused until released). Implementations supply the hooks.
class queued_output : public output {
  public:
    queued_output(std::string_view name, const writer_options& o, output_events& events);
    ~queued_output() override;

    std::string_view name() const noexcept final { return name_; }
    void start() override;
    bool try_reserve(std::uint64_t connection_id, std::size_t bytes) override;
    void cancel(std::size_t bytes) override;
    void push(shared_delivery d, std::size_t bytes) override;
    void node_disconnected(std::uint64_t connection_id) override;
    void update_options(const writer_options& o) override;
    void begin_stop(std::chrono::steady_clock::time_point deadline) override;
    void join() override;
    bool finished() const override { return finished_.load(); }

  protected:
    struct queued_batch {
        shared_delivery d;
        std::size_t bytes;
    };
    struct disconnect {
        std::uint64_t connection_id;
    };
    // Options go by pointer: an item the size of writer_options made std::deque allocate a
    // block for every batch pushed.
    using item = std::variant<queued_batch, disconnect, std::unique_ptr<const writer_options>>;

    // Hooks, all on the output's thread.
    virtual void handle_batch(shared_delivery d, bool past_deadline) = 0;
    virtual void handle_disconnect(std::uint64_t connection_id) = 0;
    virtual void apply_options(const writer_options& o) = 0;
    /// Periodic work before each item (retries, rotation checks).
    virtual void tick(bool /*stopping*/, bool /*past_deadline*/) {}
    /// When the thread must wake even without a new item.
    virtual std::chrono::steady_clock::time_point next_wake() const {
        return std::chrono::steady_clock::time_point::max();
    }
    /// Work the output still holds outside the queue (a stop waits for it until the deadline).
    virtual bool has_backlog() const { return false; }
    virtual void at_exit() {}

    /// Refuse that connection's reservations until released (e.g. its file is failing).
    void hold_back(std::uint64_t connection_id);
    void release(std::uint64_t connection_id);
    /// Gives up on a batch at the shutdown deadline.
    void lose(const delivery& d);
    /// True once a stop's deadline has passed (any thread): an output whose write blocks
    /// checks it to give up in time.
    bool past_stop_deadline() const;
    output_events& events_;

  private:
    void run();
    void run_guarded();
    /// Under mutex_: whether a refused reservation is waiting and the queue is down to half.
    bool take_space_signal();

    /// Under mutex_: a lingering thread has enough to start now (or a producer is refused).
    bool linger_over() const {
        return stopping_ || full_signalled_ || pushed_bytes_ >= linger_bytes_;
    }

    const std::string name_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<item> queue_;
    std::size_t max_bytes_, max_batches_;
    std::size_t used_bytes_ = 0, used_batches_ = 0;
    std::size_t pushed_bytes_ = 0;  // the batches in queue_ (reservations not pushed are not)
    // Woken from idle by one batch, the thread waits up to linger_ for more (see run()).
    std::chrono::microseconds linger_;
    std::size_t linger_bytes_;
    std::chrono::steady_clock::time_point linger_until_{};  // set by a batch into an empty queue
    bool lingering_ = false;
    bool full_signalled_ = false;
    std::set<std::uint64_t> held_back_;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point stop_deadline_{};
    std::chrono::milliseconds retry_interval_;
    std::atomic<bool> finished_{false};
    std::thread thread_;
};

}  // namespace ct::tracer::outputs
