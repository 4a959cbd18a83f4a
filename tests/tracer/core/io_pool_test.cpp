// The connection contexts: dealt round-robin over the main context and one per further thread,
// each further context run by its own thread alone, kept running while idle until released,
// and stoppable with work left.
#include "tracer/core/io_pool.hpp"

#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

#include "tests/support/test_support.hpp"

namespace {

using namespace ct::tracer;
using namespace std::chrono_literals;

TEST(IoPool, ConnectionsAreDealtRoundRobinOverTheMainAndTheFurtherContexts) {
    asio::io_context main;
    io_pool pool(main, 3);
    std::vector<asio::io_context*> dealt;
    for (int i = 0; i < 6; ++i) dealt.push_back(&pool.next());
    EXPECT_EQ(dealt[0], &main);
    EXPECT_NE(dealt[1], &main);
    EXPECT_NE(dealt[2], &main);
    EXPECT_NE(dealt[1], dealt[2]);
    EXPECT_EQ(std::vector(dealt.begin() + 3, dealt.end()),
              std::vector(dealt.begin(), dealt.begin() + 3));
}

TEST(IoPool, OneThreadMeansEverythingOnTheMainContext) {
    asio::io_context main;
    io_pool pool(main, 1);
    EXPECT_EQ(&pool.next(), &main);
    EXPECT_EQ(&pool.next(), &main);
}

TEST(IoPool, EachFurtherContextRunsOnItsOwnThreadAndWaitsForWorkUntilReleased) {
    asio::io_context main;
    io_pool pool(main, 3);
    (void)pool.next();  // the main context's turn
    auto& a = pool.next();
    auto& b = pool.next();
    pool.start();
    auto thread_of = [](asio::io_context& ctx) {
        std::promise<std::thread::id> p;
        asio::post(ctx, [&p] { p.set_value(std::this_thread::get_id()); });
        return p.get_future().get();
    };
    // Idle since start: still running (work is guarded), each on another thread, none the
    // caller's.
    const auto ta = thread_of(a), tb = thread_of(b);
    EXPECT_NE(ta, tb);
    EXPECT_NE(ta, std::this_thread::get_id());
    EXPECT_EQ(thread_of(a), ta);  // always the same thread
    // Released: the threads end once their last work is done.
    asio::steady_timer last(a, 50ms);
    bool ran = false;
    last.async_wait([&](const boost::system::error_code&) { ran = true; });
    pool.release();
    pool.join();
    EXPECT_TRUE(ran);
}

TEST(IoPool, StopEndsTheThreadsWithWorkLeft) {
    asio::io_context main;
    io_pool pool(main, 2);
    (void)pool.next();
    asio::steady_timer never(pool.next(), std::chrono::hours(1));
    bool completed = false;
    never.async_wait([&](const boost::system::error_code&) { completed = true; });
    pool.start();
    pool.stop();
    pool.join();              // returns: the hour-long wait does not hold the thread
    EXPECT_FALSE(completed);  // stopped, not run to its end or cancelled
}

}  // namespace
