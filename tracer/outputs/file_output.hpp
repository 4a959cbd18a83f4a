// The file output: the handle registry of every open log file (one thread owns them, so
// rotation and writing never race), write-behind (a connection's batches held and written
// with one write(2) per file, see stage()), rotation,
// deletion and compression (on a maintenance thread), and retries after write failures without
// losing data. Its queue and shutdown come from queued_output.
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
//    it disappeared. A parked connection is held back (its reservations refused), so only
//    that node stops being asked while every other node keeps flowing; nothing is dropped.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <chrono>
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
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "tracer/outputs/formats.hpp"
#include "tracer/outputs/output.hpp"

namespace ct::tracer::outputs {

/// What only files have; read from any thread.
struct file_stats {
    std::atomic<std::uint64_t> rotations{0};
    std::atomic<std::uint64_t> files_deleted{0};
    std::atomic<std::uint64_t> files_compressed{0};
    std::atomic<std::uint64_t> directory_scans{0};   // node directories listed by maintenance
    std::atomic<std::size_t> parked_connections{0};  // whose batches wait for a failing file
};

/// A (node, logging section) whose writes fail: its batches are parked and retried.
struct writer_stall {
    std::string node_name;
    std::string log_root;
    config::log_format format = config::log_format::for_machine;
    std::chrono::steady_clock::time_point since;
};

/// The write(2) the writer uses; tests replace it to inject short writes and ENOSPC.
using write_syscall = std::function<long(int fd, const char* data, std::size_t size)>;

class file_output final : public queued_output {
  public:
    file_output(const writer_options& opts, output_events& events);
    ~file_output() override;

    bool serves(const section& s) const noexcept override {
        return s.mode == config::log_mode::file_mode;
    }
    void start() override;
    void join() override;
    bool healthy() const override { return healthy_.load(); }

    /// Fault injection for tests (empty = ::write); before start().
    void set_write_syscall(write_syscall f) { write_ = std::move(f); }
    /// Tests: called on the maintenance thread before each pass (may block or throw).
    void set_maintenance_hook(std::function<void()> f) { maintenance_hook_ = std::move(f); }

    const file_stats& stats() const { return stats_; }
    /// Maintenance passes (scans, deletion, compression) finished so far.
    std::uint64_t maintenance_runs() const { return maintenance_runs_.load(); }
    /// What is stalled now, and since when (thread-safe copy).
    std::vector<writer_stall> stalls() const;

  private:
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
    struct parked_batch {
        shared_delivery d;
        std::vector<section> done;  // sections this batch already reached
    };
    struct parked {
        std::string node_name;
        std::deque<parked_batch> batches;
        std::chrono::steady_clock::time_point since, next_retry;
        std::chrono::milliseconds backoff{0};
        bool disconnect_pending = false;
    };

    // queued_output's hooks.
    void handle_batch(shared_delivery d, bool past_deadline) override;
    void handle_disconnect(std::uint64_t connection_id) override;
    void apply_options(const writer_options& o) override;
    void tick(bool stopping, bool past_deadline) override;
    std::chrono::steady_clock::time_point next_wake() const override;
    bool has_backlog() const override { return !parked_.empty() || !staged_.empty(); }
    void at_exit() override;

    void park(shared_delivery d, std::vector<section> done);
    /// Behind what the connection has parked, or parked itself if nothing is.
    void park_behind(shared_delivery d, std::vector<section> done);

    // Write-behind: a healthy connection's batches are held, their lines gathered per file,
    // until one file has write_behind_bytes, the oldest has waited write_behind, or something
    // needs the files as they are (a disconnect, a reload, a rotation check, a stop). One
    // write(2) then carries many replies: fewer system calls, and fewer partly written file
    // blocks (ext4 zeroes the rest of each new block a write ends in; on this kind of VM that
    // first touch of a page cost as much as copying the whole write).
    struct staged_piece {
        const char* data;  // lines straight from a batch's arena; nullptr: the next `size`
        std::size_t size;  // bytes of staged_file::text (lines the writer formatted)
    };
    struct staged_file {
        section s;
        std::vector<staged_piece> pieces;
        std::string text;
        std::size_t bytes = 0;
    };
    struct staged_batch {
        shared_delivery d;
        dispatcher::section_mask sections = 0;  // of its routing snapshot, staged (or dups)
    };
    struct staged_connection {
        std::vector<staged_batch> batches;
        std::vector<staged_file> files;
        std::chrono::steady_clock::time_point since;
        std::size_t memory = 0;  // queued_size() of the batches held
    };
    /// Holds the batch for write-behind; false when it must be written as before (write-behind
    /// off, a stop, or a section the current options no longer have).
    bool stage(const shared_delivery& d);
    /// Writes what the connection holds, one write per file; a file that fails parks the
    /// batches (each with the sections it reached), or loses them past the stop deadline.
    void flush_staged(std::uint64_t connection_id);
    void flush_all_staged();
    void flush_due_staged(std::chrono::steady_clock::time_point now);
    bool write_staged(const trace_batch& first, staged_file& sf);
    /// Writes pieces_ to the file and accounts for it; on failure undoes the partial write.
    bool commit_pieces(open_file& f, const trace_batch& b, const section& s);
    void retry_parked(bool stopping, bool past_deadline);
    void publish_stalls();
    /// Writes to every file section not in `done` (adding those that worked); true when all did.
    bool write_batch(const delivery& d, std::vector<section>& done);
    bool write_file_section(const trace_batch& b, const section& s, dispatcher::section_mask bit);
    open_file* file_for(const trace_batch& b, const section& s);
    bool open_new_file(open_file& f, const std::string& dir, config::log_format fmt);
    bool reopen(open_file& f);
    void close_file(open_file& f, bool sync);
    void close_connection(std::uint64_t id);
    // What the maintenance thread needs to know of the writer's state, copied at each
    // rotation check: it never touches the writer's own members.
    struct maintenance_job {
        config::rotation_params rotation;
        std::map<std::string, std::set<config::log_format>> roots;  // FileMode roots
        std::map<std::string, std::set<std::string>> open_paths;    // dir -> open files
    };
    void rotation_check();
    void maintenance_loop();
    void stop_maintenance();
    void run_maintenance(const maintenance_job& job);
    void clean_directory(const config::rotation_params& rp,
                         const std::string& dir,
                         const std::set<config::log_format>& formats,
                         const std::set<std::string>& open);
    void remove_if_idle(const config::rotation_params& rp, const std::string& dir);
    /// A node directory whose last scan left nothing but current files, and that has not
    /// changed since, has nothing to delete or compress: it is skipped (and scanned anyway
    /// every `rescan_after_skips` checks, in case its change fell in the same timestamp tick).
    struct directory_state {
        struct timespec mtime {};
        std::set<config::log_format> formats;
        bool settled = false;
        bool trusted = false;  // its mtime was old enough when scanned
        unsigned skips = 0;
    };
    static constexpr unsigned rescan_after_skips = 30;
    bool unchanged_since_settled(const std::string& dir,
                                 const std::set<config::log_format>& formats);
    std::map<std::string, directory_state> directories_;  // maintenance thread only

    writer_options opts_;  // the output's thread only (after start)
    record_formatter formatter_;
    std::string write_buffer_;              // reused by every write
    std::vector<std::string_view> pieces_;  // what one write_file_section writes, in order
    std::vector<struct iovec> iovecs_;
    /// ForMachine without compatibility mode: the batch's lines, straight from its arena.
    bool direct_machine_lines(const trace_batch& b, const section& s, dispatcher::section_mask bit);
    bool write_pieces(int fd, int& err);
    static constexpr std::size_t max_kept_write_buffer = 4u << 20;
    file_stats stats_;
    write_syscall write_;
    std::function<void()> maintenance_hook_;

    std::map<std::string, open_file> files_;  // key: node name + section
    std::string key_buffer_;                  // file_for()'s key, without an allocation
    std::map<std::uint64_t, parked> parked_;  // by connection id
    std::unordered_map<std::uint64_t, staged_connection> staged_;  // write-behind, by connection
    // Connections as they started holding, oldest first (entries of flushed ones are skipped).
    std::deque<std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> staged_order_;
    std::size_t staged_memory_ = 0;
    static constexpr std::size_t staged_memory_per_queue = 4;  // × outputQueueBytes at most
    bool stopping_now_ = false;                                // as of the last tick()
    bool past_deadline_now_ = false;                           // as of the last tick()
    mutable std::mutex stalls_mutex_;
    std::vector<writer_stall> stalls_;
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
};

}  // namespace ct::tracer::outputs
