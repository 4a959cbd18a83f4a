// The router and the output interface: all-or-none reservations across outputs (exact
// back-pressure), queues bounded in bytes, a batch counted written only when every output is
// done with it, reloads that reach every output, and shutdown with an output that never
// finishes. The second output is a real queued_output whose writes a test holds at a gate.
#include "tracer/outputs/output_router.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "tests/support/test_support.hpp"
#include "tracer/outputs/journal_output.hpp"

namespace {

using namespace ct::tracer::outputs;
using namespace ct::test;
using ct::config::log_format;
using ct::config::log_mode;
namespace fs = std::filesystem;

// An output for the journal sections whose writes wait until the test opens its gate; it keeps
// the sequence numbers it "wrote".
class gated_output final : public queued_output {
  public:
    gated_output(const writer_options& o, output_events& e)
        : queued_output("gated", o, e), current_(o.sections) {}
    ~gated_output() override {
        begin_stop(std::chrono::steady_clock::now());
        open_gate();
        join();
    }
    bool serves(const section& s) const noexcept override {
        return s.mode == log_mode::journal_mode;
    }
    void open_gate() {
        {
            std::lock_guard lock(m_);
            open_ = true;
        }
        cv_.notify_all();
    }
    /// Lets one more batch through a closed gate.
    void let_one_through() {
        {
            std::lock_guard lock(m_);
            ++passes_;
        }
        cv_.notify_all();
    }
    std::vector<std::string> written() {
        std::lock_guard lock(m_);
        return written_;
    }
    std::atomic<int> batches_begun{0};  // handle_batch entered (after the queue's bookkeeping)
    std::atomic<int> options_seen{0};
    std::atomic<int> disconnects{0};

  private:
    // Blocks while the gate is closed, as an output whose destination does not answer; gives
    // up at the stop deadline.
    void handle_batch(shared_delivery d, bool past_deadline) override {
        batches_begun++;
        std::unique_lock lock(m_);
        while (!open_ && passes_ == 0 && !past_deadline) {
            cv_.wait_for(lock, std::chrono::milliseconds(10));
            past_deadline = past_stop_deadline();
        }
        if (!open_ && passes_ == 0) {
            lose(*d);
            return;
        }
        if (!open_) --passes_;
        const auto& b = d->batch();
        const auto& sections = b.routing ? b.routing->sections() : current_;
        ct::dispatcher::section_mask mine = 0;
        for (std::size_t i = 0; i < sections.size(); ++i) {
            if (serves(sections[i])) mine |= ct::dispatcher::section_mask{1} << i;
        }
        for (const auto& r : b.records) {
            if (!(r.sections & mine)) continue;
            written_.emplace_back(b.machine(r));
            counters_.records++;
        }
        counters_.batches++;
    }
    void handle_disconnect(std::uint64_t) override { disconnects++; }
    void apply_options(const writer_options& o) override {
        current_ = o.sections;
        options_seen++;
    }

    std::mutex m_;
    std::condition_variable cv_;
    bool open_ = false;
    int passes_ = 0;
    std::vector<std::string> written_;
    std::vector<section> current_;
};

// As a session builds them: one reply copied with add_all (one arena of the exact size).
trace_batch make_batch(
    std::uint64_t conn, const std::string& node, int first, int n, std::size_t pad = 0) {
    trace_batch b;
    b.connection_id = conn;
    b.node_name = node;
    std::vector<std::string> machines;
    for (int i = first; i < first + n; ++i)
        machines.push_back("{\"seq\":" + std::to_string(i) + ",\"pad\":\"" + std::string(pad, 'x') +
                           "\"}");
    std::vector<ct::protocol::trace_object_view> views(machines.size());
    for (std::size_t i = 0; i < machines.size(); ++i) {
        views[i].machine = machines[i];
        views[i].ns = "A.B";
        views[i].host = "h";
        views[i].thread = "1";
    }
    b.add_all(views);
    return b;
}

struct router_fixture {
    temp_dir dir;
    gated_output* gated = nullptr;
    std::atomic<int> space_signals{0};
    std::atomic<int> journal_entries{0};
    std::unique_ptr<output_router> router;

    explicit router_fixture(writer_options o = {}) {
        if (o.sections.empty()) {
            o.sections = {{dir.path().string(), log_mode::file_mode, log_format::for_machine},
                          {"", log_mode::journal_mode, log_format::for_machine}};
        }
        o.stop_grace = std::chrono::milliseconds(200);
        std::vector<output_factory> extra;
        extra.push_back([this](const writer_options& wo, output_events& e) {
            auto g = std::make_unique<gated_output>(wo, e);
            gated = g.get();
            return g;
        });
        router = std::make_unique<output_router>(o, std::move(extra));
        router->set_space_callback([this] { space_signals++; });
        // The journal output's entries are counted here instead of reaching journald.
        for (const auto& out : router->all()) {
            if (auto* j = dynamic_cast<journal_output*>(out.get()))
                j->set_send([this](const iovec*, int) {
                    journal_entries++;
                    return 0;
                });
        }
        router->start();
    }
    ~router_fixture() {
        if (gated) gated->open_gate();  // a failed assertion must not leave the stop waiting
        router.reset();
    }
    const output& by_name(std::string_view name) const {
        for (const auto& o : router->all()) {
            if (o->name() == name) return *o;
        }
        throw std::logic_error("no such output");
    }
    /// Waits until the file and journal outputs have taken everything out of their queues.
    bool others_drained() const {
        return wait_until([&] {
            return by_name("file").counters().queued_batches == 0 &&
                   by_name("journal").counters().queued_batches == 0;
        });
    }
    std::vector<std::string> file_lines(const std::string& node) const {
        std::vector<std::string> out;
        const auto dir_path = dir.path() / node;
        if (!fs::exists(dir_path)) return out;
        for (const auto& e : fs::directory_iterator(dir_path)) {
            if (!e.path().filename().string().starts_with("node-")) continue;
            std::ifstream in(e.path());
            for (std::string line; std::getline(in, line);) out.push_back(line);
        }
        return out;
    }
};

std::string seq(int i) { return "{\"seq\":" + std::to_string(i) + ",\"pad\":\"\"}"; }

TEST(OutputRouter, EveryOutputHasItsOwnCountersAndTheBatchIsWrittenWhenAllAreDone) {
    router_fixture f;
    ASSERT_EQ(f.router->all().size(), 3u);
    EXPECT_EQ(f.router->all()[0]->name(), "file");
    EXPECT_EQ(f.router->all()[1]->name(), "journal");
    EXPECT_EQ(f.router->all()[2]->name(), "gated");
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 0, 3)));
    ASSERT_TRUE(wait_until([&] { return f.file_lines("n").size() == 3; }));
    // The file is done, the gated output is not: the batch is not written yet.
    EXPECT_EQ(f.router->stats().records_written, 0u);
    EXPECT_EQ(f.router->records_pending(), 3u);
    // The lines are on disk a moment before the file output counts them.
    EXPECT_TRUE(wait_until([&] { return f.by_name("file").counters().records == 3u; }));
    // Taken out of its queue, being written (by the gated output's own thread: wait for it).
    EXPECT_TRUE(wait_until([&] { return f.by_name("gated").counters().queued_batches == 0; }));
    f.gated->open_gate();
    ASSERT_TRUE(wait_until([&] { return f.router->stats().records_written == 3; }));
    EXPECT_EQ(f.router->records_pending(), 0u);
    EXPECT_EQ(f.gated->written(), (std::vector<std::string>{seq(0), seq(1), seq(2)}));
    EXPECT_EQ(f.by_name("gated").counters().records, 3u);
    EXPECT_EQ(f.router->per_node().at("n").records_written, 3u);
}

TEST(OutputRouter, AFullOutputRefusesTheWholeBatchAndReservesNothingElsewhere) {
    router_fixture f([&] {
        writer_options w;
        w.queue_capacity = 2;  // batches per output
        return w;
    }());
    // The gated output takes the first batch out of its queue and blocks on it; two more fill
    // its queue.
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 0, 1)));
    // The other outputs hold two batches at most too: let them drain between submissions (a
    // slow writer thread there would refuse the batch, which is not what this test is about).
    ASSERT_TRUE(wait_until([&] { return f.by_name("gated").counters().queued_batches == 0; }));
    ASSERT_TRUE(wait_until([&] { return f.others_drained(); }));
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 1, 1)));
    ASSERT_TRUE(wait_until([&] { return f.others_drained(); }));
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 2, 1)));
    ASSERT_TRUE(wait_until([&] { return f.file_lines("n").size() == 3; }));
    ASSERT_TRUE(f.others_drained());
    auto refused = make_batch(1, "n", 3, 1);
    EXPECT_FALSE(f.router->try_submit(std::move(refused)));
    EXPECT_EQ(refused.records.size(), 1u) << "a refused batch is left intact for the retry";
    EXPECT_EQ(f.by_name("gated").counters().queue_full, 1u);
    EXPECT_EQ(f.router->stats().queue_full, 1u);
    // Nothing of the refused batch reached (or stays reserved in) the other outputs.
    EXPECT_EQ(f.by_name("file").counters().queued_batches, 0u);
    EXPECT_EQ(f.by_name("file").counters().queued_bytes, 0u);
    EXPECT_EQ(f.by_name("journal").counters().queued_batches, 0u);
    EXPECT_EQ(f.file_lines("n").size(), 3u);
    // Room again: the space callback fires and the same batch goes through, once everywhere.
    const int before = f.space_signals.load();
    f.gated->open_gate();
    ASSERT_TRUE(wait_until([&] { return f.space_signals.load() > before; }));
    ASSERT_TRUE(f.router->try_submit(std::move(refused)));
    ASSERT_TRUE(wait_until([&] { return f.router->stats().records_written == 4; }));
    const auto lines = f.file_lines("n");
    EXPECT_EQ(lines, (std::vector<std::string>{seq(0), seq(1), seq(2), seq(3)}));
    EXPECT_EQ(f.gated->written(), lines);
}

// Many sessions wait on a full queue; waking them all at every freed slot let one in and sent
// the rest back to sleep (1000 nodes spent more CPU on wake-ups than on writing). They are
// woken once the queue is down to half its capacity.
TEST(OutputRouter, RefusedSubmittersAreWokenWhenTheQueueIsDownToHalf) {
    router_fixture f([&] {
        writer_options w;
        w.queue_capacity = 4;
        return w;
    }());
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 0, 1)));
    ASSERT_TRUE(wait_until([&] { return f.gated->batches_begun.load() == 1; }));
    for (int i = 1; i <= 4; ++i) {
        ASSERT_TRUE(wait_until([&] { return f.others_drained(); }));
        ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", i, 1)));
    }
    ASSERT_TRUE(wait_until([&] { return f.others_drained(); }));
    EXPECT_FALSE(f.router->try_submit(make_batch(1, "n", 5, 1)));
    const int before = f.space_signals.load();
    // One batch done: three still queued, above half. The queue's bookkeeping for the next
    // batch happens before the gated output begins it, so no wake-up came by then.
    f.gated->let_one_through();
    ASSERT_TRUE(wait_until([&] { return f.gated->batches_begun.load() == 2; }));
    EXPECT_EQ(f.by_name("gated").counters().queued_batches, 3u);
    EXPECT_EQ(f.space_signals.load(), before);
    // Another: two queued, half the capacity: the waiters are woken, once.
    f.gated->let_one_through();
    ASSERT_TRUE(wait_until([&] { return f.space_signals.load() > before; }));
    ASSERT_TRUE(wait_until([&] { return f.gated->batches_begun.load() == 3; }));
    EXPECT_EQ(f.space_signals.load(), before + 1);
    EXPECT_TRUE(f.router->try_submit(make_batch(1, "n", 5, 1)));
    f.gated->open_gate();
    ASSERT_TRUE(wait_until([&] { return f.router->stats().records_written == 6; }));
}

TEST(OutputRouter, QueuesAreBoundedInBytes) {
    router_fixture f([&] {
        writer_options w;
        w.queue_bytes = 64 * 1024;
        return w;
    }());
    // The first batch is larger than the whole capacity: an empty queue takes it anyway.
    auto big = make_batch(1, "n", 0, 4, 30 * 1024);
    ASSERT_GT(queued_size(big), 64u * 1024);
    ASSERT_TRUE(f.router->try_submit(std::move(big)));
    ASSERT_TRUE(wait_until([&] { return f.by_name("gated").counters().queued_batches == 0; }));
    // Then batches of ~20 KiB (the file and journal outputs drain theirs at once; the gated
    // one keeps them): the third does not fit into 64 KiB.
    auto drained = [&] { return f.others_drained(); };
    ASSERT_TRUE(drained());
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 4, 1, 20 * 1024)));
    ASSERT_TRUE(drained());
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 5, 1, 20 * 1024)));
    ASSERT_TRUE(drained());
    const auto queued = f.by_name("gated").counters().queued_bytes.load();
    EXPECT_GT(queued, 40u * 1024) << "the arenas are counted";
    EXPECT_LE(queued, 64u * 1024);
    EXPECT_EQ(f.by_name("gated").counters().capacity_bytes, 64u * 1024);
    EXPECT_FALSE(f.router->try_submit(make_batch(1, "n", 6, 1, 30 * 1024)));
    EXPECT_EQ(f.by_name("gated").counters().queue_full, 1u);
    EXPECT_EQ(f.by_name("file").counters().queue_full, 0u);
    EXPECT_TRUE(f.router->try_submit(make_batch(1, "n", 6, 1, 10))) << "a small batch still fits";
    f.gated->open_gate();
    ASSERT_TRUE(wait_until([&] { return f.router->stats().records_written == 7; }));
    EXPECT_EQ(f.by_name("gated").counters().queued_bytes, 0u);
}

TEST(OutputRouter, RecordsGoOnlyToTheOutputsOfTheirSections) {
    router_fixture f;
    f.gated->open_gate();
    // Bit 0 is the file section, bit 1 the journal section (served by journal and gated).
    trace_batch b;
    b.connection_id = 1;
    b.node_name = "n";
    for (int i = 0; i < 4; ++i) {
        const auto m = seq(i);
        ct::protocol::trace_object_view v;
        v.machine = m;
        v.ns = "A";
        b.add(v, i % 2 == 0 ? 0b01 : 0b10);
    }
    ASSERT_TRUE(f.router->try_submit(std::move(b)));
    // A batch for the file section only never enters the journal outputs' queues.
    trace_batch files_only = make_batch(1, "n", 10, 2);
    for (auto& r : files_only.records) r.sections = 0b01;
    ASSERT_TRUE(f.router->try_submit(std::move(files_only)));
    ASSERT_TRUE(wait_until([&] { return f.router->stats().records_written == 6; }));
    EXPECT_EQ(f.file_lines("n"), (std::vector<std::string>{seq(0), seq(2), seq(10), seq(11)}));
    EXPECT_EQ(f.gated->written(), (std::vector<std::string>{seq(1), seq(3)}));
    EXPECT_EQ(f.journal_entries, 2) << "one entry per record of the journal section";
    EXPECT_EQ(f.by_name("journal").counters().records, 2u);
    EXPECT_EQ(f.by_name("file").counters().records, 4u);
    EXPECT_EQ(f.by_name("gated").counters().records, 2u);
    EXPECT_EQ(f.by_name("gated").counters().batches, 1u);
}

TEST(OutputRouter, ReloadAndDisconnectReachEveryOutputInOrder) {
    router_fixture f;
    f.gated->open_gate();
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 0, 2)));
    f.router->node_disconnected(1);
    writer_options o;
    o.sections = {{f.dir.path().string(), log_mode::file_mode, log_format::for_human}};
    f.router->update_options(o);
    ASSERT_TRUE(
        wait_until([&] { return f.gated->options_seen == 1 && f.gated->disconnects == 1; }));
    ASSERT_TRUE(wait_until([&] { return f.router->stats().records_written == 2; }));
    // After the reload, a batch without a routing snapshot goes to the new sections only:
    // a ForHuman file, no journal section, so the gated output gets nothing more.
    ASSERT_TRUE(f.router->try_submit(make_batch(2, "m", 5, 1)));
    ASSERT_TRUE(wait_until([&] { return f.router->stats().records_written == 3; }));
    EXPECT_EQ(f.gated->written().size(), 2u);
    bool human = false;
    for (const auto& e : fs::directory_iterator(f.dir.path() / "m"))
        human = human || e.path().extension() == ".log";
    EXPECT_TRUE(human);
}

TEST(OutputRouter, StopGivesUpOnAStuckOutputAtTheDeadlineAndCountsTheLoss) {
    router_fixture f;
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 0, 3)));
    ASSERT_TRUE(f.router->try_submit(make_batch(1, "n", 3, 2)));
    ASSERT_TRUE(wait_until([&] { return f.file_lines("n").size() == 5; }));
    const auto t0 = std::chrono::steady_clock::now();
    f.router->begin_stop(t0 + std::chrono::milliseconds(300));
    EXPECT_FALSE(f.router->try_submit(make_batch(1, "n", 5, 1))) << "stopping: refused";
    ASSERT_TRUE(wait_until([&] { return f.router->finished(); }, std::chrono::seconds(5)));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
    // The file wrote all five, the gated output none: none of them counts as written.
    EXPECT_EQ(f.router->stats().records_written, 0u);
    EXPECT_EQ(f.router->stats().records_lost, 5u);
    EXPECT_EQ(f.router->records_pending(), 0u);
    EXPECT_EQ(f.by_name("gated").counters().lost, 5u);
    EXPECT_EQ(f.by_name("file").counters().lost, 0u);
    f.router->stop();
}

TEST(OutputRouter, ManyThreadsSubmittingAgainstSmallQueuesLoseNothing) {
    router_fixture f([&] {
        writer_options w;
        w.queue_capacity = 3;
        w.queue_bytes = 16 * 1024;
        return w;
    }());
    f.gated->open_gate();
    constexpr int threads = 4, batches = 200, per_batch = 5;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            const std::string node = "n" + std::to_string(t);
            for (int i = 0; i < batches; ++i) {
                auto b = make_batch(
                    static_cast<std::uint64_t>(t + 1), node, i * per_batch, per_batch, 100);
                while (!f.router->try_submit(std::move(b))) std::this_thread::yield();
            }
        });
    }
    for (auto& t : ts) t.join();
    ASSERT_TRUE(wait_until(
        [&] { return f.router->stats().records_written == threads * batches * per_batch; }));
    EXPECT_GT(f.router->stats().queue_full, 0u) << "the queues were small enough to fill";
    for (int t = 0; t < threads; ++t) {
        const auto lines = f.file_lines("n" + std::to_string(t));
        ASSERT_EQ(lines.size(), static_cast<std::size_t>(batches * per_batch));
        for (int i = 0; i < batches * per_batch; ++i)
            ASSERT_EQ(lines[static_cast<std::size_t>(i)].substr(0, 8 + std::to_string(i).size()),
                      "{\"seq\":" + std::to_string(i) + ",");
    }
    EXPECT_EQ(f.gated->written().size(), static_cast<std::size_t>(threads * batches * per_batch));
    EXPECT_EQ(f.journal_entries, threads * batches * per_batch);
    for (const auto& o : f.router->all()) {
        EXPECT_EQ(o->counters().queued_batches, 0u) << o->name();
        EXPECT_EQ(o->counters().queued_bytes, 0u) << o->name();
    }
}

}  // namespace
