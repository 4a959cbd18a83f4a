#include "tracer/core/memory_trimmer.hpp"

#include <malloc.h>

#include <cstdlib>

#include "tracer/core/resources.hpp"
#include "tracer/outputs/thread_name.hpp"

namespace ct::tracer {

void keep_freed_memory_for_reuse() {
    for (const char* knob : {"MALLOC_TRIM_THRESHOLD_",
                             "MALLOC_MMAP_THRESHOLD_",
                             "MALLOC_TOP_PAD_",
                             "GLIBC_TUNABLES"}) {
        if (std::getenv(knob)) return;
    }
    ::mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim_floor_bytes));  // above: the trimmer
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest (HEAP_MAX_SIZE / 2)
}

memory_trimmer::memory_trimmer(memory_trim_policy policy) : policy_(policy) {}

memory_trimmer::~memory_trimmer() { stop(); }

void memory_trimmer::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] {
        name_this_thread("ct-memory");
        run();
    });
}

void memory_trimmer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool memory_trimmer::check_now() {
    const std::size_t before = resident_anonymous_bytes();
    if (before < policy_.floor_bytes) return false;
    const auto t0 = std::chrono::steady_clock::now();
    ::malloc_trim(0);
    const auto spent = std::chrono::steady_clock::now() - t0;
    const std::size_t after = resident_anonymous_bytes();
    counters_.trims++;
    if (before > after) counters_.released_bytes += before - after;
    counters_.nanoseconds += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(spent).count());
    return true;
}

void memory_trimmer::run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, policy_.every, [this] { return stopping_; })) {
        lock.unlock();
        check_now();
        lock.lock();
    }
}

}  // namespace ct::tracer
