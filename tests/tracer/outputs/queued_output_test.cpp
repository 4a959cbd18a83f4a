// The linger of an output's thread: woken from idle by one batch, it waits a little for more so
// that one wake-up serves several replies of nodes sending at a steady rate. The wait ends early
// when enough bytes arrived, when a producer is refused for lack of room, or at a stop; it never
// lasts longer than the linger.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "tests/support/test_support.hpp"
#include "tracer/outputs/output.hpp"

namespace {

using namespace ct::tracer::outputs;
using namespace std::chrono_literals;
using ct::test::wait_until;

class quiet_events final : public output_events {
  public:
    void space_available() override {}
    void report(const std::string&) override {}
    void count_node(const std::string&, std::uint64_t, std::uint64_t) override {}
};

// Counts the batches its thread handled.
class counting_output final : public queued_output {
  public:
    counting_output(const writer_options& o, output_events& e) : queued_output("counting", o, e) {}
    ~counting_output() override {
        begin_stop(std::chrono::steady_clock::now() + 10s);
        join();
    }
    bool serves(const section&) const noexcept override { return true; }
    std::atomic<int> handled{0};

  private:
    void handle_batch(shared_delivery, bool) override { handled++; }
    void handle_disconnect(std::uint64_t) override {}
    void apply_options(const writer_options&) override {}
};

writer_options lingering(std::chrono::microseconds linger, std::size_t linger_bytes) {
    writer_options o;
    o.linger = linger;
    o.linger_bytes = linger_bytes;
    o.queue_bytes = 1 << 20;
    return o;
}

// An output started with `o`, and the events it reports to.
struct started_output {
    quiet_events events;
    counting_output out;
    explicit started_output(const writer_options& o) : out(o, events) { out.start(); }
};

// A lone batch waits for company: nothing is handled for a while (the tests' linger is 60 s).
bool nothing_handled_for_a_while(const counting_output& out) {
    return !wait_until([&] { return out.handled > 0; }, 300ms);
}

// Reserves and pushes an empty batch that counts as `bytes` in the queue.
void submit(counting_output& out, std::size_t bytes) {
    ASSERT_TRUE(out.try_reserve(1, bytes));
    out.push(std::make_shared<const delivery>(trace_batch{}, nullptr), bytes);
}

TEST(OutputLinger, AThreadWokenByOneBatchWaitsUntilEnoughHaveArrived) {
    started_output s(lingering(60s, 3000));
    auto& out = s.out;
    submit(out, 1000);
    EXPECT_TRUE(nothing_handled_for_a_while(out));
    submit(out, 1000);
    submit(out, 1000);  // 3000 bytes: the thread starts at once with all three
    EXPECT_TRUE(wait_until([&] { return out.handled == 3; }));
}

TEST(OutputLinger, TheWaitNeverLastsLongerThanTheLinger) {
    started_output s(lingering(20ms, 1 << 20));
    auto& out = s.out;
    submit(out, 100);
    EXPECT_TRUE(wait_until([&] { return out.handled == 1; }));
    // Idle again: the next lone batch is handled after at most another linger.
    submit(out, 100);
    EXPECT_TRUE(wait_until([&] { return out.handled == 2; }));
}

TEST(OutputLinger, ARefusedProducerEndsTheWait) {
    auto o = lingering(60s, 1 << 20);
    o.queue_bytes = 10000;  // the linger's bytes are capped at a quarter: 2500
    started_output s(o);
    auto& out = s.out;
    submit(out, 1000);
    EXPECT_TRUE(nothing_handled_for_a_while(out));
    // A batch that does not fit is refused: the thread must start emptying the queue now.
    const bool reserved = out.try_reserve(2, 20000);
    EXPECT_FALSE(reserved);
    if (reserved) out.cancel(20000);  // a stop would wait for the reservation
    EXPECT_TRUE(wait_until([&] { return out.handled == 1; }));
}

TEST(OutputLinger, AStopEndsTheWaitAndWritesWhatIsQueued) {
    started_output s(lingering(60s, 1 << 20));
    auto& out = s.out;
    submit(out, 100);
    out.begin_stop(std::chrono::steady_clock::now() + 10s);
    EXPECT_TRUE(wait_until([&] { return out.handled == 1; }));
    EXPECT_TRUE(wait_until([&] { return out.finished(); }));
}

}  // namespace
