// The single log writer: a bounded queue of trace batches drained by one thread that owns
// every open log file (so rotation and writing never race), writes one buffer per batch and
// file, rotates, deletes, compresses, and retries after write failures without losing data.
// try_submit/node_disconnected/update_options/stats/per_node/healthy are thread-safe; set_*
// must be called before start(); everything else runs on the writer thread.
//
// Decisions that differ from cardano-tracer 0.5.0 (spec §5, §16):
//  * Every record ends with '\n' and no file starts with an empty line (leading_empty_line
//    restores upstream's bytes).
//  * Files are created with O_EXCL and never truncated; a second file in the same second is
//    named node-<time>_1.<ext>, _2, … (log_files.hpp), which rotation parses and orders.
//  * A new connection always starts a new file, even when its name was reused before the old
//    connection's disconnect was processed.
//  * Age deletion and the caps also run in directories without an open handle (upstream skips
//    them, so directories of gone nodes are never cleaned); the current file of a directory
//    and format (the open one, or the newest) is never deleted. rpMaxFilesNum counts per
//    directory and format, rpMaxTotalBytes per directory (all formats, compressed sizes).
//  * rpCompress gzips rotated files (node-<time>.json.gz) on the maintenance thread, which
//    also runs the scans and deletions (never the thread that writes);
//    rpRemoveIdleDirs removes a directory without a handle whose newest file is older than
//    the max age and which holds nothing but our files and symlinks.
//  * A failed write is undone (the file is cut back to its last complete batch) and the
//    connection is parked: its batches wait in order and are retried with back-off
//    (retry_interval doubling up to 8x); the same file is reopened, a new one created only if
//    it disappeared. try_submit refuses a parked connection, so only that node stops being
//    asked (back-pressure) while every other node keeps flowing; nothing is dropped.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "tracer/logs/formats.hpp"
#include "tracer/logs/trace_batch.hpp"

namespace ct::tracer::logs {

/// A logging section as the writer sees it: what it writes (see dispatcher::section_id).
using section = dispatcher::section_id;

struct writer_options {
    std::vector<section> sections;
    std::optional<config::rotation_params> rotation;
    bool leading_empty_line = false;
    std::size_t queue_capacity = 1024;      // batches
    std::size_t max_tracked_nodes = 10000;  // per-node statistics kept (maxTrackedNodes)
    std::chrono::milliseconds retry_interval{1000};
    std::chrono::seconds error_report_interval{60};
    /// Logger names of LegacyText/LegacyJson (empty: "cardano.node.<first segment>").
    std::shared_ptr<const config::legacy_namespace_table> legacy_names;
    /// How long stop() keeps retrying a batch that cannot be written before counting it lost.
    std::chrono::milliseconds stop_grace{3000};
};

/// Counters for the metrics endpoint; read from any thread.
struct writer_stats {
    std::atomic<std::uint64_t> batches_received{0};
    std::atomic<std::uint64_t> records_received{0};
    std::atomic<std::uint64_t> records_written{0};
    std::atomic<std::uint64_t> bytes_written{0};
    std::atomic<std::uint64_t> write_errors{0};
    std::atomic<std::uint64_t> journal_errors{0};
    std::atomic<std::uint64_t> queue_full{0};
    std::atomic<std::uint64_t> rotations{0};
    std::atomic<std::uint64_t> files_deleted{0};
    std::atomic<std::uint64_t> files_compressed{0};
    std::atomic<std::uint64_t> records_lost{0};  // only if shutdown could not write them
    std::atomic<std::size_t> queue_depth{0};
    std::atomic<std::size_t> parked_connections{0};  // whose batches wait for a failing file
    std::atomic<std::uint64_t> nodes_forgotten{0};   // per-node statistics dropped at the cap
};

/// A (node, logging section) whose writes fail: its batches are parked and retried.
struct writer_stall {
    std::string node_name;
    std::string log_root;
    config::log_format format = config::log_format::for_machine;
    std::chrono::steady_clock::time_point since;
};

/// Per-node totals (by node name), for the metrics code.
struct node_counts {
    std::uint64_t batches_written = 0;
    std::uint64_t records_written = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t write_errors = 0;
};

/// The write(2) the writer uses; tests replace it to inject short writes and ENOSPC.
using write_syscall = std::function<long(int fd, const char* data, std::size_t size)>;

class log_writer {
  public:
    explicit log_writer(writer_options opts);
    ~log_writer();
    log_writer(const log_writer&) = delete;
    log_writer& operator=(const log_writer&) = delete;

    /// Problems (rate-limited per distinct message) go here; called on the writer thread.
    void set_error_reporter(std::function<void(std::string_view)> f) { reporter_ = std::move(f); }
    /// Called on the writer thread when a full queue has room again.
    void set_space_callback(std::function<void()> f) { space_callback_ = std::move(f); }
    /// Fault injection for tests (empty = ::write).
    void set_write_syscall(write_syscall f) { write_ = std::move(f); }
    /// Tests: called on the maintenance thread before each pass (may block or throw).
    void set_maintenance_hook(std::function<void()> f) { maintenance_hook_ = std::move(f); }

    void start();
    /// Writes everything queued (retrying failed writes for a short while), fsyncs, closes.
    void stop();
    /// Shutdown without blocking the caller: new batches are refused; what is queued is
    /// written until `deadline`, then counted in records_lost. finished() turns true when the
    /// thread is done; stop() then returns at once.
    void begin_stop(std::chrono::steady_clock::time_point deadline);
    bool finished() const { return finished_.load(); }
    /// Records accepted but neither written nor counted lost yet.
    std::uint64_t records_pending() const;

    /// Queues a batch; false (and `b` left intact) when the queue is full or the writer is
    /// stopping. After a false the space callback fires once the queue has room again.
    bool try_submit(trace_batch&& b);
    /// Closes that connection's files after its queued batches are written.
    void node_disconnected(std::uint64_t connection_id);
    /// Hot reload: takes effect between two batches.
    void update_options(writer_options opts);

    const writer_stats& stats() const { return stats_; }
    /// A copy of the per-node totals of names that were written so far.
    std::map<std::string, node_counts> per_node() const;
    /// True when no connection is parked on a failing file (for /readyz).
    bool healthy() const { return healthy_.load(); }
    /// Maintenance passes (scans, deletion, compression) finished so far.
    std::uint64_t maintenance_runs() const { return maintenance_runs_.load(); }
    /// What is stalled now, and since when (thread-safe copy).
    std::vector<writer_stall> stalls() const;

  private:
    struct disconnect {
        std::uint64_t connection_id;
    };
    using item = std::variant<trace_batch, disconnect, writer_options>;

    struct open_file {
        int fd = -1;  // -1 after a failed write: reopen `path` on the next attempt
        std::string dir;
        std::string path;
        std::uint64_t bytes = 0;      // written through this handle (rotation's measure)
        std::uint64_t file_size = 0;  // end of the last complete batch
        std::uint64_t connection_id = 0;
        config::log_format format = config::log_format::for_machine;
        bool unterminated = false;  // last line lacks its '\n' (leading_empty_line mode)
        std::chrono::steady_clock::time_point next_link_check{};  // see file_for()
    };

    // A connection whose batch could not be written in every section: its batches wait here
    // (in order) and are retried with back-off, while the other connections keep flowing.
    struct parked {
        std::string node_name;
        std::deque<trace_batch> batches;
        std::vector<section> done;  // sections the first batch already reached
        std::chrono::steady_clock::time_point since, next_retry;
        std::chrono::milliseconds backoff{0};
        bool disconnect_pending = false;
    };

    void run();
    void handle(item& it, bool past_deadline);
    void apply_options(writer_options o);
    void park(trace_batch&& b, std::vector<section> done);
    void retry_parked(bool stopping, bool past_deadline);
    void lose(const trace_batch& b);
    void publish_stalls();
    /// Writes to every section not in `done` (adding those that worked); true when all did.
    bool write_batch(const trace_batch& b, std::vector<section>& done);
    bool write_file_section(const trace_batch& b, const section& s, dispatcher::section_mask bit);
    void write_journal_section(const trace_batch& b,
                               const section& s,
                               dispatcher::section_mask bit);
    open_file* file_for(const trace_batch& b, const section& s);
    bool open_new_file(open_file& f, const std::string& dir, config::log_format fmt);
    bool reopen(open_file& f);
    void count_node(const std::string& node, const node_counts& delta);
    void close_file(open_file& f, bool sync);
    void close_connection(std::uint64_t id);
    // What the maintenance thread needs to know of the writer's state, copied at each
    // rotation check: it never touches the writer's own members.
    struct maintenance_job {
        config::rotation_params rotation;
        std::map<std::string, std::set<config::log_format>> roots;  // FileMode roots
        std::map<std::string, std::set<std::string>> open_paths;    // dir -> open files
    };
    void run_guarded();
    void rotation_check();
    void maintenance_loop();
    void stop_maintenance();
    void run_maintenance(const maintenance_job& job);
    void clean_directory(const config::rotation_params& rp,
                         const std::string& dir,
                         const std::set<config::log_format>& formats,
                         const std::set<std::string>& open);
    void remove_if_idle(const config::rotation_params& rp, const std::string& dir);
    void report(const std::string& what);

    writer_options opts_;  // writer thread only (after start)
    record_formatter formatter_;
    std::string message_;  // scratch: one journal MESSAGE
    writer_stats stats_;
    std::function<void(std::string_view)> reporter_;
    std::function<void()> space_callback_;
    write_syscall write_;
    std::function<void()> maintenance_hook_;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<item> queue_;
    std::size_t queued_batches_ = 0;
    std::size_t capacity_;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point stop_deadline_{};
    std::atomic<bool> finished_{false};
    bool full_signalled_ = false;
    std::thread thread_;

    std::map<std::string, open_file> files_;  // key: node name + section
    std::map<std::uint64_t, parked> parked_;  // by connection id (writer thread)
    std::set<std::uint64_t> blocked_;         // parked connection ids (under mutex_)
    mutable std::mutex stalls_mutex_;
    std::vector<writer_stall> stalls_;
    std::mutex report_mutex_;
    std::map<std::string, std::chrono::steady_clock::time_point> last_report_;
    // Maintenance (scans, deletion, compression, fsync of rotated files) on its own thread,
    // so that a slow gzip or a huge directory never stalls the writes.
    std::thread maintenance_thread_;
    std::mutex maintenance_mutex_;
    std::condition_variable maintenance_cv_;
    std::optional<maintenance_job> pending_job_;
    std::vector<int> fds_to_close_;
    bool maintenance_stop_ = false;
    std::atomic<std::uint64_t> maintenance_runs_{0};
    std::chrono::steady_clock::time_point next_rotation_check_{};
    std::atomic<bool> healthy_{true};
    mutable std::mutex per_node_mutex_;
    std::map<std::string, node_counts> per_node_;
};

}  // namespace ct::tracer::logs
