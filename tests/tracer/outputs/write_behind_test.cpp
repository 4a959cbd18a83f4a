// The file output's write-behind (logFlushMillis): a connection's replies are held and written
// together, and every event that needs the files as they are writes them first: a disconnect,
// a stop, a reload, a reused node name. A write that fails parks each held batch with the
// sections it reached, so a retry never writes a line twice.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "tests/support/test_support.hpp"
#include "tests/tracer/outputs/file_test_support.hpp"
#include "tracer/outputs/log_files.hpp"
#include "tracer/outputs/output_router.hpp"

namespace {

using namespace ct::tracer::outputs;
using namespace ct::test;
using namespace std::chrono_literals;
using ct::config::log_format;
using ct::config::log_mode;

std::string lines(int first, int last) {
    std::string out;
    for (int i = first; i <= last; ++i) out += "{\"seq\":" + std::to_string(i) + "}\n";
    return out;
}

/// Holds for a minute unless something writes earlier: a test sees only the early writes.
writer_options holding(const fs::path& root) {
    writer_options o;
    o.sections = {{root.string(), log_mode::file_mode, log_format::for_machine}};
    o.write_behind = 60s;
    return o;
}

/// Submits one batch and waits until it is written with nothing to trigger it (no disconnect,
/// no stop): what its file then holds.
std::string written_by_itself(const writer_options& o, const fs::path& file, int first, int n) {
    output_router w(o);
    w.start();
    EXPECT_TRUE(w.try_submit(make_batch(1, "n", first, n)));
    EXPECT_TRUE(wait_until([&] { return w.stats().records_written >= std::uint64_t(n); }));
    std::string out = read_file(file);
    w.stop();
    return out;
}

TEST(WriteBehind, HeldRepliesAreWrittenTogetherAtTheDisconnect) {
    temp_dir d;
    output_router w(holding(d.path()));
    w.start();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(w.try_submit(make_batch(1, "n", i * 3 + 1, 3)));
    // Taken from the queue, and held: nothing is written, nothing counted as written yet.
    ASSERT_TRUE(wait_until([&] { return w.files().counters().queued_batches == 0; }));
    EXPECT_EQ(w.stats().records_written, 0u);
    EXPECT_TRUE(log_files(d / "n", ".json").empty());
    w.node_disconnected(1);
    ASSERT_TRUE(wait_until([&] { return w.stats().records_written >= 15; }));
    const auto files = log_files(d / "n", ".json");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(read_file(files[0]), lines(1, 15));
    w.stop();
}

TEST(WriteBehind, AFileThatGathersItsBytesIsWrittenAtOnce) {
    temp_dir d;
    auto o = holding(d.path());
    o.write_behind_bytes = 100;  // 11 lines of 11 bytes
    EXPECT_EQ(written_by_itself(o, d / "n/node.json", 10, 11), lines(10, 20));
}

TEST(WriteBehind, TheHoldEndsByItself) {
    temp_dir d;
    auto o = holding(d.path());
    o.write_behind = 20ms;
    EXPECT_EQ(written_by_itself(o, d / "n/node.json", 1, 2), lines(1, 2));
}

TEST(WriteBehind, ZeroWritesEveryBatchAsItComes) {
    temp_dir d;
    auto o = holding(d.path());
    o.write_behind = 0ms;
    EXPECT_EQ(written_by_itself(o, d / "n/node.json", 1, 2), lines(1, 2));
}

TEST(WriteBehind, AStopWritesWhatIsHeldWithoutWaitingForTheHold) {
    temp_dir d;
    output_router w(holding(d.path()));
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 4)));
    ASSERT_TRUE(w.try_submit(make_batch(2, "m", 1, 3)));
    ASSERT_TRUE(wait_until([&] { return w.files().counters().queued_batches == 0; }));
    const auto before = std::chrono::steady_clock::now();
    w.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 30s) << "the stop waited for the hold";
    EXPECT_EQ(read_file(d / "n/node.json"), lines(1, 4));
    EXPECT_EQ(read_file(d / "m/node.json"), lines(1, 3));
    EXPECT_EQ(w.stats().records_written, 7u);
}

TEST(WriteBehind, AReloadWritesWhatWasHeldUnderTheOldOptions) {
    temp_dir d;
    output_router w(holding(d / "old"));
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 2)));
    ASSERT_TRUE(wait_until([&] { return w.files().counters().queued_batches == 0; }));
    w.update_options(holding(d / "new"));
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 3, 2)));
    w.stop();
    EXPECT_EQ(read_file(d / "old/n/node.json"), lines(1, 2));
    EXPECT_EQ(read_file(d / "new/n/node.json"), lines(3, 4));
}

// A node that reconnects before its old connection's disconnect is handled: the old
// connection's held lines go into its own file, before the new connection's file starts.
TEST(WriteBehind, AReusedNameWritesThePredecessorsLinesIntoItsOwnFile) {
    temp_dir d;
    output_router w(holding(d.path()));
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 1)));
    w.node_disconnected(1);  // written, file closed
    ASSERT_TRUE(w.try_submit(make_batch(2, "n", 2, 1)));
    ASSERT_TRUE(w.try_submit(make_batch(3, "n", 3, 1)));  // 2's disconnect is not handled yet
    ASSERT_TRUE(wait_until([&] { return w.files().counters().queued_batches == 0; }));
    w.stop();  // writes what 2 and 3 hold
    const auto files = log_files(d / "n", ".json");
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(read_file(files[0]), lines(1, 1));
    EXPECT_EQ(read_file(files[1]), lines(2, 2));
    EXPECT_EQ(read_file(files[2]), lines(3, 3));
}

// Three held batches, two sections; the second section's write fails. Each batch is retried
// for that section only: the first section gets every line once.
TEST(WriteBehind, AFailedWriteRetriesEachHeldBatchOnlyWhereItFailed) {
    temp_dir d;
    write_file(d / "blocked", "not a directory");
    auto o = holding(d / "good");
    o.sections.push_back(
        {(d / "blocked" / "logs").string(), log_mode::file_mode, log_format::for_machine});
    o.retry_interval = 20ms;
    output_router w(o);
    w.start();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.try_submit(make_batch(1, "n", i * 2 + 1, 2)));
    ASSERT_TRUE(wait_until([&] { return w.files().counters().queued_batches == 0; }));
    w.node_disconnected(1);  // writes what is held: "good" takes it, "blocked" fails
    ASSERT_TRUE(wait_until([&] { return w.stats().write_errors >= 3; }));
    EXPECT_EQ(read_file(d / "good/n/node.json"), lines(1, 6));
    EXPECT_EQ(w.stats().records_written, 0u) << "not written everywhere yet";
    fs::remove(d / "blocked");
    ASSERT_TRUE(wait_until([&] { return w.stats().records_written >= 6; }));
    w.stop();
    EXPECT_EQ(read_file(d / "good/n/node.json"), lines(1, 6));
    EXPECT_EQ(read_file(d / "blocked/logs/n/node.json"), lines(1, 6));
}

}  // namespace
