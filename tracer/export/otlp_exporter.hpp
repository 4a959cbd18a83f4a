// One OTLP/HTTP logs exporter (one distinct `otlp` settings object): the request being filled
// on the output thread, a bounded queue of sealed requests (encoded; queueBytes counts them
// before compression), and a sender thread that gzips and POSTs them in order over one kept-alive
// connection, retrying connection errors, 408, 429 and 5xx with exponential back-off (at least
// Retry-After) until they are taken.
//
// Exactly-once accounting: a request holds the deliveries of the batches its records came
// from, and lets go of them only when the receiver took it (or the policy dropped it, counted
// here). A full queue either blocks the output thread (policy block: the output's own queue
// fills and the nodes stop being asked, as with a full disk) or drops the newest request
// (policy drop, counted).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "tracer/export/http_client.hpp"
#include "tracer/export/otlp_logs.hpp"
#include "tracer/export/otlp_spill.hpp"
#include "tracer/outputs/output.hpp"

namespace ct::tracer::exporting {

/// What one exporter counts; read from any thread.
struct otlp_counters {
    std::atomic<std::uint64_t> exported{0};  // records the receiver took
    std::atomic<std::uint64_t> requests{0};  // requests the receiver took
    std::atomic<std::uint64_t> bytes{0};     // request bytes (as sent) the receiver took
    std::atomic<std::uint64_t> retries{0};   // requests sent again
    std::atomic<std::uint64_t> dropped{0};   // records dropped by policy drop
    std::atomic<std::uint64_t> failed{0};    // records the receiver refused for good (4xx)
    std::atomic<std::uint64_t> lost{0};      // records given up at a shutdown deadline
    std::atomic<std::uint64_t> queued{0};    // records waiting (filling and sealed)
    std::atomic<std::uint64_t> queued_bytes{0};
    std::atomic<std::uint64_t> spilled{0};      // records written to the spill directory
    std::atomic<std::uint64_t> spill_bytes{0};  // bytes in the spill directory now
};

class otlp_exporter {
  public:
    using clock = std::chrono::steady_clock;
    /// `report`: a problem for the daemon's own log (rate-limited by the receiver).
    otlp_exporter(const config::otlp_settings& settings, std::function<void(std::string)> report);
    ~otlp_exporter();
    otlp_exporter(const otlp_exporter&) = delete;
    otlp_exporter& operator=(const otlp_exporter&) = delete;

    const config::otlp_settings& settings() const { return settings_; }
    /// The endpoint as shown (no user information), the label of its metrics.
    const std::string& shown() const { return shown_; }
    const otlp_counters& counters() const { return counters_; }

    // On the output thread:
    /// Adds one record (`body` in the section's format) taken from the batch of `d`.
    void add(const outputs::shared_delivery& d,
             const outputs::record_ref& r,
             std::string_view body,
             std::uint64_t observed_ns);
    /// Seals the request being filled when it is full, due, or `now_all`. Under policy block
    /// this waits for room until `give_up` says stop (then the records are counted lost).
    void flush_if_due(bool now_all, const std::function<bool()>& give_up);
    /// The request being filled has batchSize records.
    bool full() const { return filling_.records() >= settings_.batch_records; }
    /// When the request being filled is due (max() when it is empty).
    clock::time_point due() const { return due_; }
    /// Nothing filling, queued or in flight.
    bool idle() const;

    /// The last attempt to send failed (the receiver is down or refusing).
    bool failing() const { return failing_.load(); }
    /// A spill directory is configured (what is held can be saved instead of lost).
    bool spills() const { return spill_ != nullptr; }
    /// Gives up at once: the request in flight is cut short, what is queued is counted lost
    /// (the sender thread then ends). Otherwise the sender runs until destruction.
    void abandon();
    void join();

  private:
    struct request {
        std::string body;
        std::uint64_t records = 0;
        bool json = false;
        std::vector<outputs::shared_delivery> deliveries;
    };
    enum class outcome { taken, refused, abandoned };
    void seal(const std::function<bool()>& give_up);
    /// Under mutex_: whether a sealed request of `size` bytes goes to the memory queue (not
    /// while anything waits on disk: requests leave in the order they were sealed).
    bool memory_room(std::size_t size) const;
    void run_sender();
    /// One request until it is taken, refused for good (4xx), or the exporter is abandoned.
    outcome send(const request& r, std::string_view wire);
    void give_up(request& r, const char* why);
    /// At the end: what the memory queue still holds goes to disk, or is lost.
    void save_or_lose(std::deque<request>& left);

    const config::otlp_settings settings_;
    std::function<void(std::string)> report_;
    std::string shown_, path_;
    std::vector<std::string> headers_protobuf_, headers_json_;
    otlp_counters counters_;

    // Output thread only.
    otlp_logs_request filling_;
    std::vector<outputs::shared_delivery> filling_deliveries_;
    clock::time_point due_ = clock::time_point::max();

    mutable std::mutex mutex_;
    std::condition_variable cv_;  // the sender: work or stop; the output thread: room
    std::deque<request> queue_;
    std::size_t queue_bytes_ = 0;
    bool in_flight_ = false;
    bool abandoned_ = false;
    std::atomic<bool> cancel_{false};      // cuts the request in flight short
    std::atomic<bool> failing_{false};     // the last attempt failed
    std::unique_ptr<http_client> client_;  // the sender's
    std::unique_ptr<otlp_spill> spill_;    // spillDir; used under mutex_
    std::thread sender_;
};

}  // namespace ct::tracer::exporting
