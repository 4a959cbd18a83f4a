// The receive buffer's sizing: small while the peer sends little, large at once when a read
// fills it, fitted back down after a window of small reads.
#include "tracer/core/read_buffer.hpp"

#include <gtest/gtest.h>

namespace {

using ct::tracer::read_buffer;

TEST(ReadBuffer, StartsSmallGrowsOnFullReadsAndFitsBackDown) {
    read_buffer b;
    EXPECT_EQ(b.space().size(), read_buffer::min_bytes);
    // Full reads: more was waiting; grows to the maximum in a few reads.
    std::size_t reads = 0;
    while (b.capacity() < read_buffer::max_bytes) {
        b.filled(b.space().size());
        ASSERT_LT(++reads, 4u);
    }
    b.filled(b.space().size());
    EXPECT_EQ(b.capacity(), read_buffer::max_bytes) << "never beyond the maximum";
    // Reads of ~3 KiB: once a whole window of them has been seen (the window above held a full
    // read), fitted to twice the largest (8 KiB), not to the minimum.
    for (unsigned i = 0; i < 2 * read_buffer::window; ++i) b.filled(3000);
    EXPECT_EQ(b.capacity(), 8u * 1024);
    EXPECT_EQ(b.space().size(), 8u * 1024);
    // Tiny reads: down to the minimum, never below.
    for (unsigned i = 0; i < 4 * read_buffer::window; ++i) b.filled(100);
    EXPECT_EQ(b.capacity(), read_buffer::min_bytes);
}

TEST(ReadBuffer, ReadsOfTheFittedSizeKeepIt) {
    read_buffer b;
    b.filled(b.space().size());
    b.filled(b.space().size());
    ASSERT_EQ(b.capacity(), read_buffer::max_bytes);
    // Steady large reads (a fast node): no shrinking, no reallocation.
    const char* data = b.space().data();
    for (unsigned i = 0; i < 10 * read_buffer::window; ++i) b.filled(40000);
    EXPECT_EQ(b.capacity(), read_buffer::max_bytes);
    EXPECT_EQ(b.space().data(), data);
}

}  // namespace
