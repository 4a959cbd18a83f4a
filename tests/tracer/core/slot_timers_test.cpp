// Waits grouped by 10 ms slot on one timer per io_context: each ends at (never before) the end
// of its slot, in time order; a withdrawn wait does not end; a cancel ends a wait early; a
// waiter that goes away leaves nothing behind.
#include "tracer/core/slot_timers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace {

using namespace ct::tracer;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct waiter {
    std::unique_ptr<slot_wait> wait;
    clock_type::time_point asked_for{}, ended_at{};
    bool ended = false;

    waiter(asio::io_context& ioc, clock_type::time_point at)
        : wait(std::make_unique<slot_wait>(asio::make_strand(ioc))), asked_for(at) {
        wait->schedule(at);
        wait->timer.async_wait([this](boost::system::error_code) {
            ended = true;
            ended_at = clock_type::now();
            wait->unschedule();
        });
    }
};

TEST(SlotTimers, EachWaitEndsAtTheEndOfItsSlotInTimeOrder) {
    asio::io_context ioc;
    const auto start = clock_type::now();
    std::vector<std::unique_ptr<waiter>> waiters;
    // Out of order, several in one slot, one in the past.
    for (auto offset : {120ms, 30ms, 31ms, 32ms, 75ms, -5ms, 200ms})
        waiters.push_back(std::make_unique<waiter>(ioc, start + offset));
    ioc.run_for(2s);
    auto& service = asio::use_service<slot_timers>(ioc);
    EXPECT_EQ(service.scheduled(), 0u);
    for (const auto& w : waiters) {
        ASSERT_TRUE(w->ended);
        EXPECT_GE(w->ended_at, w->asked_for) << "never before the time asked for";
        EXPECT_GE(w->ended_at, next_ekg_poll(w->asked_for, 0ns)) << "the slot's end";
    }
    for (const auto& a : waiters) {
        for (const auto& b : waiters) {
            if (next_ekg_poll(a->asked_for, 0ns) < next_ekg_poll(b->asked_for, 0ns)) {
                EXPECT_LE(a->ended_at, b->ended_at);
            }
        }
    }
}

TEST(SlotTimers, AWithdrawnWaitDoesNotEndAndACancelEndsOneEarly) {
    asio::io_context ioc;
    const auto start = clock_type::now();
    waiter withdrawn(ioc, start + 20ms);
    withdrawn.wait->unschedule();
    waiter cancelled(ioc, start + 10s);
    waiter normal(ioc, start + 50ms);
    asio::steady_timer canceller(ioc, start + 30ms);
    canceller.async_wait([&](boost::system::error_code) { cancelled.wait->timer.cancel(); });
    auto& service = asio::use_service<slot_timers>(ioc);
    EXPECT_EQ(service.scheduled(), 2u);
    ioc.run_for(300ms);
    EXPECT_FALSE(withdrawn.ended) << "withdrawn: only a cancel would end it";
    ASSERT_TRUE(cancelled.ended);
    EXPECT_LT(cancelled.ended_at, start + 10s);
    EXPECT_TRUE(normal.ended);
    EXPECT_EQ(service.scheduled(), 0u) << "the cancelled wait withdrew itself";
    withdrawn.wait->timer.cancel();
}

TEST(SlotTimers, RescheduledOrDestroyedWaitsLeaveNothingBehind) {
    asio::io_context ioc;
    const auto start = clock_type::now();
    auto& service = asio::use_service<slot_timers>(ioc);
    {
        slot_wait gone(ioc.get_executor());
        gone.schedule(start + 20ms);
        EXPECT_EQ(service.scheduled(), 1u);
    }
    EXPECT_EQ(service.scheduled(), 0u) << "a waiter that went away is not ended later";
    waiter moved(ioc, start + 10s);
    moved.wait->schedule(start + 40ms);  // replaces the first time
    EXPECT_EQ(service.scheduled(), 1u);
    ioc.run_for(1s);
    ASSERT_TRUE(moved.ended);
    EXPECT_LT(moved.ended_at, start + 1s);
}

// A context destroyed while a coroutine waits on a slot (a session at shutdown): the service
// lets go of the wait first, and the waiter destroyed afterwards with its frame touches nothing
// that is gone (ASan in CI).
TEST(SlotTimers, AContextDestroyedWhileWaitsAreScheduledLeavesNothingDangling) {
    bool resumed = false;
    {
        asio::io_context ioc;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                slot_wait wait(co_await asio::this_coro::executor);
                wait.schedule(clock_type::now() + 10s);
                co_await wait.timer.async_wait(use_nothrow_awaitable);
                resumed = true;
            },
            asio::detached);
        ioc.run_for(50ms);
        EXPECT_EQ(asio::use_service<slot_timers>(ioc).scheduled(), 1u);
    }
    EXPECT_FALSE(resumed);
}

}  // namespace
