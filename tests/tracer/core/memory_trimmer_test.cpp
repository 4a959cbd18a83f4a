// The memory trimmer: freed memory inside the heap is given back to the system (and counted),
// a daemon below the floor is left alone, and stopping does not wait out the period.
#include "tracer/core/memory_trimmer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tracer/core/resources.hpp"

namespace ct::tracer {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool glibc_malloc = false;  // the sanitizers bring their own allocator
#else
constexpr bool glibc_malloc = true;
#endif

// Fills a block so that its pages are resident, in a way the compiler cannot drop (a store to
// memory that is only freed afterwards may be).
void touch(void* p, std::size_t bytes, int value) {
    std::memset(p, value, bytes);
    asm volatile("" : : "r"(p) : "memory");
}

TEST(MemoryTrimmer, FreedMemoryInsideTheHeapIsGivenBack) {
    if (!glibc_malloc) GTEST_SKIP() << "malloc_trim acts on glibc's allocator only";
    // 64 MiB in 16 KiB blocks, each followed by a small block that stays: the heap cannot
    // shrink from its top, so glibc keeps the freed blocks resident until asked.
    constexpr std::size_t blocks = 4096, block = 16 * 1024;
    std::vector<void*> big, keep;
    for (std::size_t i = 0; i < blocks; ++i) {
        big.push_back(std::malloc(block));
        touch(big.back(), block, 1);
        keep.push_back(std::malloc(64));
    }
    for (void* p : big) std::free(p);
    const std::size_t before = resident_anonymous_bytes();
    ASSERT_GE(before, std::size_t{48} << 20) << "the freed blocks are still resident";

    memory_trim_policy policy;
    policy.floor_bytes = 0;
    memory_trimmer trimmer(policy);
    EXPECT_TRUE(trimmer.check_now());
    EXPECT_EQ(trimmer.counters().trims.load(), 1u);
    EXPECT_GE(trimmer.counters().released_bytes.load(), std::uint64_t{32} << 20);
    EXPECT_LE(resident_anonymous_bytes() + (std::size_t{32} << 20), before);
    EXPECT_GT(trimmer.counters().nanoseconds.load(), 0u);
    for (void* p : keep) std::free(p);
}

TEST(MemoryTrimmer, FreedBlocksStayForReuseInsteadOfGoingBackAtEveryFree) {
    if (!glibc_malloc) GTEST_SKIP() << "mallopt acts on glibc's allocator only";
    keep_freed_memory_for_reuse();
    // 8 MiB: glibc's default would serve it with its own mmap and unmap it at free (and the
    // next one would fault its pages in again).
    constexpr std::size_t bytes = std::size_t{8} << 20;
    void* p = std::malloc(bytes);
    touch(p, bytes, 1);
    const std::size_t used = resident_anonymous_bytes();
    std::free(p);
    const std::size_t after_free = resident_anonymous_bytes();
    EXPECT_LT(used - std::min(used, after_free), std::size_t{1} << 20)
        << "the freed block stays resident, for the next allocation";
    // And it is reused: allocating it again faults nothing new in.
    void* q = std::malloc(bytes);
    touch(q, bytes, 2);
    EXPECT_LT(resident_anonymous_bytes(), used + (std::size_t{1} << 20));
    std::free(q);
}

TEST(MemoryTrimmer, ADaemonBelowTheFloorIsNotTrimmed) {
    memory_trim_policy policy;
    policy.floor_bytes = std::size_t{1} << 40;
    memory_trimmer trimmer(policy);
    EXPECT_FALSE(trimmer.check_now());
    EXPECT_EQ(trimmer.counters().trims.load(), 0u);
}

TEST(MemoryTrimmer, StoppingDoesNotWaitForTheNextCheck) {
    memory_trim_policy policy;
    policy.every = std::chrono::hours(1);
    memory_trimmer trimmer(policy);
    trimmer.start();
    const auto t0 = std::chrono::steady_clock::now();
    trimmer.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    EXPECT_EQ(trimmer.counters().trims.load(), 0u);
}

}  // namespace
}  // namespace ct::tracer
