// The log writer on real files in temp dirs: exact bytes, layout, symlink, no truncation,
// back-pressure, shutdown drain, write failures with retry, rotation with gzip.
#include "tracer/logs/log_writer.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>

#include "tests/support/test_support.hpp"
#include "tracer/logs/log_files.hpp"

namespace {

using namespace ct::tracer::logs;
using namespace ct::test;
using ct::config::log_format;
using ct::config::log_mode;

trace_batch make_batch(std::uint64_t conn, const std::string& node, int first, int n) {
    trace_batch b;
    b.connection_id = conn;
    b.node_name = node;
    for (int i = first; i < first + n; ++i) {
        const std::string machine = "{\"seq\":" + std::to_string(i) + "}";
        const std::string human = "human " + std::to_string(i);
        ct::protocol::trace_object_view v;
        v.has_human = i % 2 == 0;
        v.human = human;
        v.machine = machine;
        v.ns = "A.B";
        v.host = "h";
        v.thread = "1";
        b.add(v);
    }
    return b;
}

writer_options both_formats(const fs::path& root) {
    writer_options o;
    o.sections = {{root.string(), log_mode::file_mode, log_format::for_machine},
                  {root.string(), log_mode::file_mode, log_format::for_human}};
    return o;
}

std::vector<fs::path> log_files(const fs::path& dir, const std::string& ext) {
    std::vector<fs::path> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto n = e.path().filename().string();
        if (n.starts_with("node-") && n.find(ext) != std::string::npos) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

TEST(LogWriter, ExactBytesOfBothFormats) {
    temp_dir d;
    log_writer w(both_formats(d.path()));
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "relay-1", 1, 3)));
    ASSERT_TRUE(w.try_submit(make_batch(1, "relay-1", 4, 1)));
    w.stop();
    EXPECT_EQ(read_file(d / "relay-1/node.json"),
              "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n{\"seq\":4}\n");
    EXPECT_EQ(read_file(d / "relay-1/node.log"), "{\"seq\":1}\nhuman 2\n{\"seq\":3}\nhuman 4\n");
    EXPECT_EQ(w.stats().records_written, 4u);
}

TEST(LogWriter, LeadingEmptyLineCompatibility) {
    temp_dir d;
    auto o = both_formats(d.path());
    o.leading_empty_line = true;
    log_writer w(o);
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 2)));
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 3, 1)));
    w.stop();
    EXPECT_EQ(read_file(d / "n/node.json"), "\n{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}");
}

TEST(LogWriter, SymlinkIsAbsoluteAndFollowsNewFiles) {
    temp_dir d;
    log_writer w(both_formats(d.path()));
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 1)));
    w.node_disconnected(1);
    ASSERT_TRUE(w.try_submit(make_batch(2, "n", 2, 1)));  // reconnection: a new file
    w.stop();
    auto files = log_files(d / "n", ".json");
    ASSERT_EQ(files.size(), 2u) << "a reconnection in the same second must not truncate";
    const auto target = fs::read_symlink(d / "n/node.json");
    EXPECT_TRUE(target.is_absolute());
    EXPECT_EQ(read_file(target), "{\"seq\":2}\n");
    EXPECT_EQ(read_file(files[0]) + read_file(files[1]), "{\"seq\":1}\n{\"seq\":2}\n");
    EXPECT_FALSE(fs::exists(d / "n/node.json.tmp"));
}

TEST(LogWriter, FullQueueRefusesAndSignalsSpace) {
    temp_dir d;
    auto o = both_formats(d.path());
    o.queue_capacity = 2;
    log_writer w(o);
    std::atomic<int> signals{0};
    w.set_space_callback([&] { signals++; });
    // Not started: nothing drains, so the third batch is refused and left intact.
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 1)));
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 2, 1)));
    auto third = make_batch(1, "n", 3, 1);
    EXPECT_FALSE(w.try_submit(std::move(third)));
    EXPECT_EQ(third.records.size(), 1u);
    EXPECT_EQ(w.stats().queue_full, 1u);
    w.start();
    EXPECT_TRUE(wait_until([&] { return signals.load() > 0; }));
    EXPECT_TRUE(w.try_submit(std::move(third)));
    w.stop();
    EXPECT_EQ(split_lines(read_file(d / "n/node.json")).size(), 3u);
}

TEST(LogWriter, UnwritableRootIsRetriedWithoutLoss) {
    temp_dir d;
    // A regular file where the log root should be: every write fails, even as root.
    write_file(d / "blocked", "not a directory");
    auto o = both_formats(d / "blocked" / "logs");
    o.retry_interval = std::chrono::milliseconds(20);
    log_writer w(o);
    std::vector<std::string> reports;
    std::mutex m;
    w.set_error_reporter([&](std::string_view what) {
        std::lock_guard lock(m);
        reports.emplace_back(what);
    });
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 5)));
    ASSERT_TRUE(wait_until([&] { return w.stats().write_errors >= 3; }));
    EXPECT_FALSE(w.healthy());
    {
        std::lock_guard lock(m);
        EXPECT_EQ(reports.size(), 1u) << "reports are rate-limited";
    }
    // Space returns: the daemon resumes by itself and nothing was lost.
    fs::remove(d / "blocked");
    ASSERT_TRUE(wait_until([&] { return w.stats().records_written >= 5; }));
    EXPECT_TRUE(w.healthy());
    w.stop();
    EXPECT_EQ(split_lines(read_file(d / "blocked/logs/n/node.json")).size(), 5u);
}

TEST(LogWriter, StopDrainsEverything) {
    temp_dir d;
    log_writer w(both_formats(d.path()));
    w.start();
    for (int i = 0; i < 200; ++i) {
        while (!w.try_submit(make_batch(1, "n", i * 10 + 1, 10))) std::this_thread::yield();
    }
    w.stop();
    EXPECT_EQ(split_lines(read_file(d / "n/node.json")).size(), 2000u);
}

std::string gunzip(const fs::path& p) {
    gzFile f = gzopen(p.c_str(), "rb");
    std::string out;
    char buf[4096];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    gzclose(f);
    return out;
}

TEST(LogWriter, SizeRotationWithGzipKeepsEveryRecord) {
    temp_dir d;
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    ct::config::rotation_params rp;
    rp.frequency_secs = 1;
    rp.log_limit_bytes = 50;
    rp.keep_files_num = 100;
    rp.compress = true;
    o.rotation = rp;
    log_writer w(o);
    w.start();
    int seq = 1;
    // Three rounds separated by rotation checks (1 s apart).
    for (int round = 0; round < 3; ++round) {
        ASSERT_TRUE(w.try_submit(make_batch(1, "n", seq, 10)));
        seq += 10;
        const auto before = w.stats().rotations.load();
        ASSERT_TRUE(wait_until([&] { return w.stats().rotations > before; }, 5s));
    }
    ASSERT_TRUE(wait_until([&] { return w.stats().files_compressed >= 2; }, 5s));
    w.stop();
    std::string all;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(d / "n")) {
        if (e.path().filename().string().starts_with("node-")) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
        return *parse_log_file_name(a.filename().string(), log_format::for_machine) <
               *parse_log_file_name(b.filename().string(), log_format::for_machine);
    });
    for (const auto& f : files) all += f.extension() == ".gz" ? gunzip(f) : read_file(f);
    std::string expected;
    for (int i = 1; i < seq; ++i) expected += "{\"seq\":" + std::to_string(i) + "}\n";
    EXPECT_EQ(all, expected);
}

TEST(LogWriter, JournalModeNeverCrashes) {
    temp_dir d;
    writer_options o;
    o.sections = {{"", log_mode::journal_mode, log_format::for_human}};
    log_writer w(o);
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 3)));
    w.stop();
    // Written to journald, or counted as journal errors when there is no journald here.
    EXPECT_EQ(w.stats().records_written, 3u);
}

}  // namespace

namespace {

// Files named as if created `ago` seconds before now.
fs::path predated(const fs::path& dir, std::time_t ago, int counter = 0) {
    fs::create_directories(dir);
    const auto p = dir / make_log_file_name(std::time(nullptr) - ago,
                                            log_format::for_machine,
                                            static_cast<unsigned>(counter));
    write_file(p, "{}\n");
    return p;
}

TEST(LogWriter, AgeDeletionKeepsNewestAndRemovesIdleDirectories) {
    temp_dir d;
    // A node that is gone: four files, the newest 3 h old.
    const auto gone = d / "gone-node";
    const auto g1 = predated(gone, 6 * 3600), g2 = predated(gone, 5 * 3600),
               g3 = predated(gone, 4 * 3600), g4 = predated(gone, 3 * 3600);
    // A node with old files and a young current one: keep-1 floor, then age.
    const auto live = d / "live-node";
    const auto l1 = predated(live, 5 * 3600), l2 = predated(live, 4 * 3600),
               l3 = predated(live, 3 * 3600), l4 = predated(live, 60);
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    ct::config::rotation_params rp;
    rp.frequency_secs = 1;
    rp.log_limit_bytes = 1 << 20;
    rp.keep_files_num = 1;
    rp.max_age_minutes = 120;
    rp.remove_idle_dirs = true;
    o.rotation = rp;
    log_writer w(o);
    w.start();
    EXPECT_TRUE(wait_until([&] { return !fs::exists(gone); }, 5s)) << "idle directory removed";
    EXPECT_TRUE(wait_until([&] { return !fs::exists(l1) && !fs::exists(l2); }, 5s));
    w.stop();
    EXPECT_TRUE(fs::exists(l3)) << "kept by rpKeepFilesNum";
    EXPECT_TRUE(fs::exists(l4)) << "the newest file is never deleted";
    (void)g1, (void)g2, (void)g3, (void)g4;
}

TEST(LogWriter, WithoutIdleRemovalAgeRulesStillApplyToGoneNodes) {
    temp_dir d;
    const auto gone = d / "gone-node";
    const auto g1 = predated(gone, 6 * 3600), g2 = predated(gone, 5 * 3600),
               g3 = predated(gone, 4 * 3600);
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    ct::config::rotation_params rp;
    rp.frequency_secs = 1;
    rp.log_limit_bytes = 1 << 20;
    rp.keep_files_num = 0;
    rp.max_age_minutes = 60;
    o.rotation = rp;
    log_writer w(o);
    w.start();
    EXPECT_TRUE(wait_until([&] { return !fs::exists(g1) && !fs::exists(g2); }, 5s));
    w.stop();
    EXPECT_TRUE(fs::exists(g3)) << "the newest file of a directory stays";
}

}  // namespace
