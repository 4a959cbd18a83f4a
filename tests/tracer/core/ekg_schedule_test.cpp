#include "tracer/core/ekg_schedule.hpp"

#include <gtest/gtest.h>

#include <chrono>

using namespace std::chrono_literals;
using ct::tracer::ekg_poll_slot;
using ct::tracer::next_ekg_poll;
using time_point = std::chrono::steady_clock::time_point;

namespace {

time_point at(std::chrono::nanoseconds since_epoch) { return time_point(since_epoch); }

}  // namespace

TEST(EkgSchedule, APollLeavesAtTheEndOfTheSlotItFallsIn) {
    for (auto response : {at(123'456'789ns), at(5s), at(5s + 1ns), at(7s + 9'999'999ns)}) {
        for (auto period : {1000ms, 333ms, 10ms, 1ms}) {
            const auto poll = next_ekg_poll(response, period);
            EXPECT_GE(poll, response + period);                  // never before ekgRequestFreq
            EXPECT_LT(poll, response + period + ekg_poll_slot);  // at most one slot late
            EXPECT_EQ(poll.time_since_epoch() % ekg_poll_slot, 0ns);
        }
    }
    // Already on a slot boundary: not moved.
    EXPECT_EQ(next_ekg_poll(at(4s), 1s), at(5s));
}

TEST(EkgSchedule, NodesWhosePollsFallInOneSlotAreAskedTogether) {
    const auto first = next_ekg_poll(at(2s + 1ms), 1s);
    const auto last = next_ekg_poll(at(2s + 9ms), 1s);
    EXPECT_EQ(first, last);
    EXPECT_EQ(first, at(3s + 10ms));
    // The next slot is a separate wake-up.
    EXPECT_EQ(next_ekg_poll(at(2s + 10ms + 1ns), 1s), at(3s + 20ms));
}
