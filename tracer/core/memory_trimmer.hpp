// Gives the system back memory that a burst left free. glibc keeps freed memory in its arenas
// and returns only the top of the heap: after a burst (a thousand nodes connecting at once and
// answering with full queues) tens of MiB stay resident that nothing uses. So a daemon whose
// resident anonymous memory is above a floor has malloc_trim give the free pages back every
// few seconds. Knowing first whether there is anything to give back would cost as much as the
// trim itself (malloc's statistics walk every free chunk under the arena's lock), and a daemon
// below the floor is not asked at all (its check is one read of /proc/self/statm).
// Its own thread: a trim takes from under 1 ms to about 25 ms, during which an io thread that
// allocates from the arena being trimmed waits for that arena.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace ct::tracer {

struct memory_trim_counters {
    std::atomic<std::uint64_t> trims{0};
    std::atomic<std::uint64_t> released_bytes{0};  // resident anonymous memory, before − after
    std::atomic<std::uint64_t> nanoseconds{0};     // spent in malloc_trim
};

/// Above this resident size the trimmer gives memory back; below it malloc keeps what is freed.
inline constexpr std::size_t trim_floor_bytes = std::size_t{64} << 20;

/// Has malloc keep what is freed for reuse instead of returning it at every free: glibc gives
/// back the top of a thread's heap whenever more than 128 KiB is free there, and serves blocks
/// over 128 KiB with their own mmap. At full speed that meant hundreds of madvise calls (each
/// one flushing the other core's TLB) and 10,000-90,000 page faults per 3 M objects, 10-20 %
/// of the daemon's CPU. The trimmer gives memory back instead, on its own thread. Left alone
/// when the operator set glibc's own knobs (MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_,
/// MALLOC_TOP_PAD_, GLIBC_TUNABLES).
void keep_freed_memory_for_reuse();

struct memory_trim_policy {
    std::chrono::milliseconds every{5000};
    /// No trim below this resident size: a small daemon has little to give back, and one at
    /// full speed with a few nodes (16-19 MiB) is never held up by a trim.
    std::size_t floor_bytes = trim_floor_bytes;
};

class memory_trimmer {
  public:
    explicit memory_trimmer(memory_trim_policy policy);
    ~memory_trimmer();
    memory_trimmer(const memory_trimmer&) = delete;
    memory_trimmer& operator=(const memory_trimmer&) = delete;

    /// Starts the thread (checks until stop or destruction).
    void start();
    void stop();
    /// One check now, on the caller's thread, as the thread makes it. True when it trimmed.
    bool check_now();
    const memory_trim_counters& counters() const { return counters_; }

  private:
    void run();

    const memory_trim_policy policy_;
    memory_trim_counters counters_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace ct::tracer
