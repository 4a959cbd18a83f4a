// What the re-forwarder holds for downstream tracers: encoded TraceObjects per stream (one
// stream for all nodes, or one per node name with perNode), each bounded; a full stream drops
// its oldest objects and counts them (upstream drops the whole queue and prints to stderr).
// Downstream connections take objects in order and may wait for more. Thread-safe: the
// re-forward output pushes on its thread, connections take on their strands.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ct::tracer::outputs {

class forward_queue {
  public:
    explicit forward_queue(std::size_t capacity_per_stream);

    /// hasForwarding's queueSize after a reload; a smaller capacity drops the oldest excess.
    void set_capacity(std::size_t capacity_per_stream);

    /// Appends encoded objects to `stream`, dropping the oldest beyond the capacity; wakes the
    /// connections waiting on it. A stream seen for the first time is announced to the
    /// listener (outside the lock).
    void push(const std::string& stream, std::vector<std::string>&& encoded);

    /// Moves up to `n` of the oldest objects of `stream` into `out` (appended); how many.
    std::size_t take(const std::string& stream, std::size_t n, std::vector<std::string>& out);
    /// Puts objects back at the front (a reply that could not be sent), in their order.
    void put_back(const std::string& stream, std::vector<std::string>&& objects);

    /// Calls `wake` once, on the pushing thread, when `stream` has objects (at once if it has
    /// them now). The token cancels it; a woken waiter is forgotten.
    std::uint64_t when_available(const std::string& stream, std::function<void()> wake);
    void cancel_wait(std::uint64_t token);

    /// Called with each new stream's name (perNode: open its downstream connection).
    void set_stream_listener(std::function<void(const std::string&)> on_new_stream);
    std::vector<std::string> streams() const;

    std::uint64_t dropped() const { return dropped_.load(); }
    std::uint64_t pushed() const { return pushed_.load(); }
    std::size_t queued() const;

  private:
    struct waiter {
        std::string stream;
        std::function<void()> wake;
    };
    struct stream_state {
        std::deque<std::string> objects;
    };
    void trim(stream_state& s);

    mutable std::mutex mutex_;
    std::size_t capacity_;
    std::map<std::string, stream_state, std::less<>> streams_;
    std::map<std::uint64_t, waiter> waiters_;
    std::uint64_t next_token_ = 1;
    std::function<void(const std::string&)> on_new_stream_;
    std::atomic<std::uint64_t> dropped_{0}, pushed_{0};
};

}  // namespace ct::tracer::outputs
