// The log writer on real files in temp dirs: exact bytes, layout, symlink, no truncation,
// back-pressure, shutdown drain, write failures with retry, rotation with gzip.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>

#include "dispatcher/routing.hpp"
#include "tests/support/test_support.hpp"
#include "tests/tracer/outputs/file_test_support.hpp"
#include "tracer/outputs/log_files.hpp"
#include "tracer/outputs/output_router.hpp"

namespace {

using namespace ct::tracer::outputs;
using namespace ct::test;
using ct::config::log_format;
using ct::config::log_mode;

writer_options both_formats(const fs::path& root) {
    writer_options o;
    o.sections = {{root.string(), log_mode::file_mode, log_format::for_machine},
                  {root.string(), log_mode::file_mode, log_format::for_human}};
    return o;
}

TEST(LogWriter, ExactBytesOfBothFormats) {
    temp_dir d;
    output_router w(both_formats(d.path()));
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "relay-1", 1, 3)));
    ASSERT_TRUE(w.try_submit(make_batch(1, "relay-1", 4, 1)));
    w.stop();
    EXPECT_EQ(read_file(d / "relay-1/node.json"),
              "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n{\"seq\":4}\n");
    EXPECT_EQ(read_file(d / "relay-1/node.log"), "{\"seq\":1}\nhuman 2\n{\"seq\":3}\nhuman 4\n");
    EXPECT_EQ(w.stats().records_written, 4u);
}

// Batches as sessions build them (add_all / add_routed: machine lines back to back) are
// written straight from the arena, in runs of adjacent lines; the bytes equal those of the
// formatting path, whichever records each section gets.
TEST(LogWriter, LinesStraightFromTheArenaEqualFormattedLines) {
    std::vector<std::string> machine, human;
    std::vector<ct::protocol::trace_object_view> views;
    for (int i = 1; i <= 7; ++i) {
        machine.push_back("{\"seq\":" + std::to_string(i) + "}");
        human.push_back("human " + std::to_string(i));
    }
    for (int i = 0; i < 7; ++i) {
        ct::protocol::trace_object_view v;
        v.has_human = i % 2 == 0;
        v.human = human[i];
        v.machine = machine[i];
        v.ns = "A.B";
        v.host = "h";
        v.thread = "1";
        views.push_back(v);
    }
    // Section 0 (ForMachine) gets 1, 2, 4, 5, 7 (three runs); section 1 (ForHuman) 2, 3, 6;
    // record 0b00 (none) is never copied.
    const std::vector<ct::dispatcher::section_mask> masks{1, 3, 2, 1, 1, 2, 1};
    temp_dir routed_dir, one_by_one_dir;
    auto write = [&](const fs::path& root, bool routed) {
        output_router w(both_formats(root));
        w.start();
        trace_batch b;
        b.connection_id = 1;
        b.node_name = "n";
        if (routed) {
            b.add_routed(views, masks);
        } else {
            for (std::size_t i = 0; i < views.size(); ++i) b.add(views[i], masks[i]);
        }
        EXPECT_EQ(!b.machine_line(b.records[0]).empty(), routed);
        EXPECT_TRUE(w.try_submit(std::move(b)));
        w.stop();
    };
    write(routed_dir.path(), true);
    write(one_by_one_dir.path(), false);
    EXPECT_EQ(read_file(routed_dir / "n/node.json"),
              "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":4}\n{\"seq\":5}\n{\"seq\":7}\n");
    EXPECT_EQ(read_file(routed_dir / "n/node.log"), "{\"seq\":2}\nhuman 3\n{\"seq\":6}\n");
    EXPECT_EQ(read_file(routed_dir / "n/node.json"), read_file(one_by_one_dir / "n/node.json"));
    EXPECT_EQ(read_file(routed_dir / "n/node.log"), read_file(one_by_one_dir / "n/node.log"));
}

// Every record of a routed batch reads back as its object, whichever objects the masks leave
// out, and its machine line ends with a newline.
TEST(TraceBatch, RecordsReadBackAsTheirObjects) {
    const std::vector<std::string> ns{"A.B", "A.B", "C", "C", "A.B", "", "", "C"};
    const std::vector<std::string> hosts{"h1", "h1", "h1", "h2", "h2", "h2", "h1", "h1"};
    const std::vector<std::string> threads{"1", "2", "2", "2", "1", "1", "1", ""};
    std::vector<std::string> machine;
    std::vector<ct::protocol::trace_object_view> views;
    for (std::size_t i = 0; i < ns.size(); ++i)
        machine.push_back("{\"i\":" + std::to_string(i) + "}");
    for (std::size_t i = 0; i < ns.size(); ++i) {
        ct::protocol::trace_object_view v;
        v.has_human = i % 3 == 0;
        v.human = v.has_human ? std::string_view(threads[i]) : std::string_view();
        v.machine = machine[i];
        v.ns = ns[i];
        v.host = hosts[i];
        v.thread = threads[i];
        v.sev = static_cast<ct::protocol::severity>(i % 8);
        v.at = {static_cast<std::int64_t>(i), i * 1000};
        views.push_back(v);
    }
    for (const std::vector<ct::dispatcher::section_mask>& masks :
         {std::vector<ct::dispatcher::section_mask>{},
          std::vector<ct::dispatcher::section_mask>{1, 0, 1, 0, 0, 1, 1, 1},
          std::vector<ct::dispatcher::section_mask>{0, 1, 1, 1, 1, 1, 1, 0}}) {
        trace_batch b;
        b.add_routed(views, masks);
        std::size_t k = 0;
        for (std::size_t i = 0; i < views.size(); ++i) {
            if (!masks.empty() && masks[i] == 0) continue;
            ASSERT_LT(k, b.records.size());
            const auto got = b.view(b.records[k++]);
            const auto& want = views[i];
            EXPECT_EQ(got.machine, want.machine) << i;
            EXPECT_EQ(got.ns, want.ns) << i;
            EXPECT_EQ(got.host, want.host) << i;
            EXPECT_EQ(got.thread, want.thread) << i;
            EXPECT_EQ(got.has_human, want.has_human) << i;
            if (want.has_human) {
                EXPECT_EQ(got.human, want.human) << i;
            }
            EXPECT_EQ(got.sev, want.sev) << i;
            EXPECT_EQ(got.at.seconds, want.at.seconds) << i;
            EXPECT_EQ(b.machine_line(b.records[k - 1]), std::string(want.machine) + "\n") << i;
        }
        EXPECT_EQ(k, b.records.size());
    }
}

TEST(LogWriter, DuplicateSectionsWriteOnce) {
    temp_dir d;
    auto o = both_formats(d.path());
    o.sections.push_back(o.sections[0]);
    output_router w(o);
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 2)));
    w.stop();
    EXPECT_EQ(read_file(d / "n/node.json"), "{\"seq\":1}\n{\"seq\":2}\n");
}

// The same, for a batch dispatched under a routing snapshot: the snapshot keeps one section
// per logging entry, so two identical entries are two sections of the same file.
TEST(LogWriter, DuplicateSectionsOfARoutingSnapshotWriteOnce) {
    temp_dir d;
    ct::config::logging_params entry;
    entry.log_root = d.path().string();
    ct::config::tracer_config cfg;
    cfg.logging = {entry, entry};
    auto routing = ct::dispatcher::routing::build(cfg);
    ASSERT_EQ(routing->sections().size(), 2u);
    writer_options o;
    o.sections = {routing->sections()[0]};
    output_router w(o);
    w.start();
    auto b = make_batch(1, "n", 1, 2);
    b.routing = routing;
    ASSERT_TRUE(w.try_submit(std::move(b)));
    w.stop();
    EXPECT_EQ(read_file(d / "n/node.json"), "{\"seq\":1}\n{\"seq\":2}\n");
}

TEST(LogWriter, LeadingEmptyLineCompatibility) {
    temp_dir d;
    auto o = both_formats(d.path());
    o.leading_empty_line = true;
    output_router w(o);
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 2)));
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 3, 1)));
    w.stop();
    EXPECT_EQ(read_file(d / "n/node.json"), "\n{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}");
}

TEST(LogWriter, SymlinkIsAbsoluteAndFollowsNewFiles) {
    temp_dir d;
    output_router w(both_formats(d.path()));
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
    output_router w(o);
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
    output_router w(o);
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

// A batch written to one section and not to another is retried for that other one only: the
// section that worked does not get its lines again at every retry.
TEST(LogWriter, ARetryWritesOnlyTheSectionsThatFailed) {
    temp_dir d;
    write_file(d / "blocked", "not a directory");
    writer_options o;
    o.sections = {
        {(d / "good").string(), log_mode::file_mode, log_format::for_machine},
        {(d / "blocked" / "logs").string(), log_mode::file_mode, log_format::for_machine}};
    o.retry_interval = std::chrono::milliseconds(20);
    output_router w(o);
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 3)));
    ASSERT_TRUE(wait_until([&] { return w.stats().write_errors >= 3; }));  // retried meanwhile
    fs::remove(d / "blocked");
    ASSERT_TRUE(wait_until([&] { return w.stats().records_written >= 3; }));
    w.stop();
    const std::string once = "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n";
    EXPECT_EQ(read_file(d / "good/n/node.json"), once);
    EXPECT_EQ(read_file(d / "blocked/logs/n/node.json"), once);
}

TEST(LogWriter, StopDrainsEverything) {
    temp_dir d;
    output_router w(both_formats(d.path()));
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
    output_router w(o);
    w.start();
    int seq = 1;
    // Three rounds separated by rotation checks (1 s apart).
    for (int round = 0; round < 3; ++round) {
        ASSERT_TRUE(w.try_submit(make_batch(1, "n", seq, 10)));
        seq += 10;
        const auto before = w.stats().rotations;
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
    output_router w(o);
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

// Files under `root`, rotation checked every second with the age rule's parameters.
writer_options aging(const fs::path& root, std::uint32_t keep, std::uint64_t max_age_minutes) {
    writer_options o;
    o.sections = {{root.string(), log_mode::file_mode, log_format::for_machine}};
    ct::config::rotation_params rp;
    rp.frequency_secs = 1;
    rp.log_limit_bytes = 1 << 20;
    rp.keep_files_num = keep;
    rp.max_age_minutes = max_age_minutes;
    o.rotation = rp;
    return o;
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
    output_router w(o);
    w.start();
    EXPECT_TRUE(wait_until([&] { return !fs::exists(gone); }, 5s)) << "idle directory removed";
    EXPECT_TRUE(wait_until([&] { return !fs::exists(l1) && !fs::exists(l2); }, 5s));
    w.stop();
    EXPECT_TRUE(fs::exists(l3)) << "kept by rpKeepFilesNum";
    EXPECT_TRUE(fs::exists(l4)) << "the newest file is never deleted";
    (void)g1, (void)g2, (void)g3, (void)g4;
}

// A node directory holding only its current file has nothing to delete or compress: once a
// scan has settled it, rotation checks skip it until it changes (1000 idle nodes listed every
// check cost more than their EKG polling). A file that appears in it is handled at the next
// check.
TEST(LogWriter, SettledDirectoriesAreSkippedUntilTheyChange) {
    temp_dir d;
    const auto quiet = d / "quiet-node";
    const auto current = predated(quiet, 60);
    // Its last change is old: a scan may trust the directory's timestamp.
    const auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
    fs::last_write_time(quiet, hour_ago);
    output_router w(aging(d.path(), 1, 120));
    auto* files = dynamic_cast<file_output*>(w.all().front().get());
    ASSERT_NE(files, nullptr);
    w.start();
    ASSERT_TRUE(wait_until([&] { return files->maintenance_runs() >= 4; }, 10s));
    EXPECT_EQ(files->stats().directory_scans, 1u) << "scanned once, then skipped";
    // Two old files appear (an operator copies them back): the directory changed, so the next
    // check scans it, and the age rule deletes the older (the keep-1 floor keeps the other).
    const auto older = predated(quiet, 7 * 3600), old = predated(quiet, 6 * 3600);
    EXPECT_TRUE(wait_until([&] { return !fs::exists(older); }, 5s))
        << files->stats().directory_scans << " scans, " << files->maintenance_runs() << " runs";
    EXPECT_TRUE(fs::exists(old));
    EXPECT_TRUE(fs::exists(current));
    w.stop();
}

TEST(LogWriter, WithoutIdleRemovalAgeRulesStillApplyToGoneNodes) {
    temp_dir d;
    const auto gone = d / "gone-node";
    const auto g1 = predated(gone, 6 * 3600), g2 = predated(gone, 5 * 3600),
               g3 = predated(gone, 4 * 3600);
    output_router w(aging(d.path(), 0, 60));
    w.start();
    EXPECT_TRUE(wait_until([&] { return !fs::exists(g1) && !fs::exists(g2); }, 5s));
    w.stop();
    EXPECT_TRUE(fs::exists(g3)) << "the newest file of a directory stays";
}

}  // namespace

namespace {

// Short writes and ENOSPC on demand, like a disk that fills up and frees again.
struct flaky_disk {
    std::atomic<int> failures_left{0};
    std::atomic<bool> partial_first{false};
    std::atomic<int> calls{0};
    write_syscall fn() {
        return [this](int fd, const char* data, std::size_t n) -> long {
            calls++;
            if (failures_left.load() > 0) {
                if (partial_first.exchange(false) && n > 1) {
                    return ::write(fd, data, n / 2);  // half a batch lands, then the disk is full
                }
                failures_left--;
                errno = ENOSPC;
                return -1;
            }
            return ::write(fd, data, n);
        };
    }
};

TEST(LogWriter, FullDiskUndoesPartialBatchAndResumesInTheSameFile) {
    temp_dir d;
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    o.retry_interval = std::chrono::milliseconds(10);
    output_router w(o);
    flaky_disk disk;
    w.files().set_write_syscall(disk.fn());
    int reports = 0;
    w.set_error_reporter([&](std::string_view) { ++reports; });
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 4)));
    ASSERT_TRUE(wait_until([&] { return w.stats().records_written >= 4; }));
    disk.partial_first = true;
    disk.failures_left = 5;
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 5, 4)));
    // The writer may already have parked the connection on the failing batch: then it refuses
    // more of it until the batch is written (as a session, submit again after a refusal).
    auto third = make_batch(1, "n", 9, 2);
    ASSERT_TRUE(wait_until([&] { return w.try_submit(std::move(third)); }));
    ASSERT_TRUE(wait_until([&] { return w.stats().records_written >= 10; }));
    w.stop();
    EXPECT_EQ(w.stats().write_errors, 5u) << "one per failed attempt";
    EXPECT_EQ(reports, 1) << "the same problem is reported once a minute";
    const auto files = log_files(d / "n", ".json");
    ASSERT_EQ(files.size(), 1u) << "the same file is reopened";
    std::string expected;
    for (int i = 1; i <= 10; ++i) expected += "{\"seq\":" + std::to_string(i) + "}\n";
    EXPECT_EQ(read_file(files[0]), expected) << "no half batch, no duplicate";
    EXPECT_EQ(w.per_node().at("n").records_written, 10u);
    EXPECT_EQ(w.per_node().at("n").write_errors, 5u);
    EXPECT_EQ(w.per_node().at("n").bytes_written, expected.size());
}

TEST(LogWriter, FailingFirstWriteLeavesNoEmptyFiles) {
    temp_dir d;
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    o.retry_interval = std::chrono::milliseconds(10);
    output_router w(o);
    flaky_disk disk;
    disk.failures_left = 20;
    w.files().set_write_syscall(disk.fn());
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 2)));
    ASSERT_TRUE(wait_until([&] { return w.stats().records_written >= 2; }));
    w.stop();
    const auto files = log_files(d / "n", ".json");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(read_file(files[0]), "{\"seq\":1}\n{\"seq\":2}\n");
    EXPECT_EQ(fs::read_symlink(d / "n/node.json"), files[0]);
}

TEST(LogWriter, StopGivesUpOnAnUnwritableBatchQuickly) {
    temp_dir d;
    write_file(d / "blocked", "x");
    auto o = both_formats(d / "blocked");
    o.retry_interval = std::chrono::milliseconds(10);
    o.stop_grace = std::chrono::milliseconds(300);
    output_router w(o);
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 3)));
    ASSERT_TRUE(wait_until([&] { return w.stats().write_errors >= 1; }));
    const auto t0 = std::chrono::steady_clock::now();
    w.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_EQ(w.stats().records_lost, 3u) << "counted, not silently dropped";
    EXPECT_FALSE(w.try_submit(make_batch(1, "n", 4, 1))) << "refused once stopped";
}

TEST(LogWriter, SameSecondNamesNeverTruncateExistingFiles) {
    temp_dir d;
    // Files with this and the next few seconds' names already exist (another writer, a clock
    // step): the writer must pick a fresh name and leave them as they are.
    const auto now = std::time(nullptr);
    std::vector<fs::path> existing;
    for (std::time_t t = now - 1; t <= now + 5; ++t) {
        existing.push_back(d / ("n/" + make_log_file_name(t, log_format::for_machine)));
        fs::create_directories(d / "n");
        write_file(existing.back(), "keep me\n");
    }
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    output_router w(o);
    w.start();
    for (std::uint64_t conn = 1; conn <= 3; ++conn) {
        ASSERT_TRUE(w.try_submit(make_batch(conn, "n", static_cast<int>(conn), 1)));
        w.node_disconnected(conn);
    }
    w.stop();
    for (const auto& p : existing) EXPECT_EQ(read_file(p), "keep me\n") << p;
    const auto files = log_files(d / "n", ".json");
    ASSERT_EQ(files.size(), existing.size() + 3);
    int with_counter = 0;
    for (const auto& f : files) {
        const auto parsed = parse_log_file_name(f.filename().string(), log_format::for_machine);
        ASSERT_TRUE(parsed) << f;
        if (parsed->counter > 0) ++with_counter;
    }
    EXPECT_EQ(with_counter, 3);
    EXPECT_EQ(read_file(fs::read_symlink(d / "n/node.json")), "{\"seq\":3}\n");
}

TEST(LogWriter, ReusedNameBeforeDisconnectStillStartsANewFile) {
    temp_dir d;
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    output_router w(o);
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 1)));
    ASSERT_TRUE(w.try_submit(make_batch(2, "n", 2, 1)));  // connection 2 got the name
    w.node_disconnected(1);                               // late disconnect of connection 1
    ASSERT_TRUE(w.try_submit(make_batch(2, "n", 3, 1)));
    w.stop();
    const auto files = log_files(d / "n", ".json");
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(read_file(files[0]), "{\"seq\":1}\n");
    EXPECT_EQ(read_file(files[1]), "{\"seq\":2}\n{\"seq\":3}\n");
}

TEST(LogWriter, CapsCountCompressedFilesAndDeleteOldestFirst) {
    temp_dir d;
    const auto dir = d / "n";
    // Six rotated files of a gone node, two of them already compressed, oldest first.
    std::vector<fs::path> files;
    for (int i = 6; i >= 1; --i) files.push_back(predated(dir, i * 60));
    for (int i = 0; i < 2; ++i) {
        const auto gz = files[static_cast<std::size_t>(i)].string() + ".gz";
        fs::rename(files[static_cast<std::size_t>(i)], gz);
        files[static_cast<std::size_t>(i)] = gz;
    }
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    ct::config::rotation_params rp;
    rp.frequency_secs = 1;
    rp.log_limit_bytes = 1 << 20;
    rp.keep_files_num = 100;
    rp.max_age_minutes = 1000;
    rp.max_files_num = 3;
    o.rotation = rp;
    output_router w(o);
    w.start();
    ASSERT_TRUE(wait_until([&] { return w.stats().files_deleted >= 3; }));
    w.stop();
    for (std::size_t i = 0; i < files.size(); ++i)
        EXPECT_EQ(fs::exists(files[i]), i >= 3) << files[i];
}

TEST(LogWriter, TotalBytesCapKeepsTheCurrentFile) {
    temp_dir d;
    const auto dir = d / "n";
    const auto old1 = predated(dir, 300), old2 = predated(dir, 200);
    write_file(old1, std::string(1000, 'x'));
    write_file(old2, std::string(1000, 'y'));
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    ct::config::rotation_params rp;
    rp.frequency_secs = 1;
    rp.log_limit_bytes = 1 << 20;
    rp.keep_files_num = 100;
    rp.max_age_minutes = 1000;
    rp.max_total_bytes = 500;
    o.rotation = rp;
    output_router w(o);
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 1)));  // opens the current file
    // Oldest first; the current file survives even though the cap is still exceeded by it
    // and old2 until old2 goes.
    ASSERT_TRUE(wait_until([&] { return !fs::exists(old1); }));
    ASSERT_TRUE(wait_until([&] { return !fs::exists(old2); }));
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 2, 1)));
    w.stop();
    EXPECT_EQ(read_file(d / "n/node.json"), "{\"seq\":1}\n{\"seq\":2}\n");
    EXPECT_EQ(log_files(dir, ".json").size(), 1u);
}

TEST(LogWriter, IdleDirectoryWithForeignFilesIsKept) {
    temp_dir d;
    const auto dir = d / "gone";
    const auto old = predated(dir, 10 * 3600);
    write_file(dir / "notes.txt", "operator's file");
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    ct::config::rotation_params rp;
    rp.frequency_secs = 1;
    rp.log_limit_bytes = 1 << 20;
    rp.max_age_minutes = 60;
    rp.remove_idle_dirs = true;
    o.rotation = rp;
    output_router w(o);
    w.start();
    // Two rotation passes: start-up and one period later; wait on the deletion counter of a
    // sibling directory that is removed, which proves the passes ran.
    const auto sibling = d / "other";
    predated(sibling, 10 * 3600);
    ASSERT_TRUE(wait_until([&] { return !fs::exists(sibling); }, 5s));
    w.stop();
    EXPECT_TRUE(fs::exists(old));
    EXPECT_TRUE(fs::exists(dir / "notes.txt"));
}

}  // namespace

namespace {

TEST(TraceBatch, AddAllCopiesEveryFieldIntoOneArena) {
    std::vector<ct::protocol::trace_object> objects(3);
    for (std::size_t i = 0; i < objects.size(); ++i) {
        auto& o = objects[i];
        if (i != 1) o.human = "human " + std::to_string(i);
        o.machine = "{\"i\":" + std::to_string(i) + "}";
        o.ns = "Name.Space" + std::to_string(i);
        o.host = "host";
        o.thread = std::to_string(40 + i);
        o.sev = ct::protocol::severity::warning;
        o.at = {1784796967 + static_cast<std::int64_t>(i), 7};
    }
    std::vector<ct::protocol::trace_object_view> views;
    for (const auto& o : objects) views.push_back(o.view());
    trace_batch b;
    b.add_all(views);
    ASSERT_EQ(b.records.size(), 3u);
    EXPECT_EQ(b.records.capacity(), 3u) << "one vector allocation";
    for (std::size_t i = 0; i < objects.size(); ++i) {
        const auto& r = b.records[i];
        EXPECT_EQ(r.has_human, i != 1);
        if (r.has_human) {
            EXPECT_EQ(b.human(r), *objects[i].human);
        }
        EXPECT_EQ(b.machine(r), objects[i].machine);
        EXPECT_EQ(b.ns(r), objects[i].ns);
        EXPECT_EQ(b.host(r), "host");
        EXPECT_EQ(b.thread(r), objects[i].thread);
        EXPECT_EQ(r.sev, ct::protocol::severity::warning);
        EXPECT_EQ(r.at, objects[i].at);
    }
    // The batch owns its bytes: the originals can go.
    objects.clear();
    EXPECT_EQ(b.machine(b.records[2]), "{\"i\":2}");
}

// The summary the router takes at submission lets the writers skip walking the records: it
// must name exactly the bits every record has, the bits some record has, and the span of the
// machine lines only when they lie back to back in record order.
TEST(TraceBatch, SummaryNamesWhatEveryRecordShares) {
    std::vector<std::string> machine;
    std::vector<ct::protocol::trace_object_view> views;
    for (int i = 0; i < 4; ++i) machine.push_back("{\"i\":" + std::to_string(i) + "}");
    for (int i = 0; i < 4; ++i) {
        ct::protocol::trace_object_view v;
        v.machine = machine[i];
        v.has_human = i == 2;
        v.human = "h";
        v.ns = "N";
        views.push_back(v);
    }
    const std::string all_lines = "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n{\"i\":3}\n";
    auto lines = [](const trace_batch& b) {
        return std::string(b.arena.substr(b.summary.lines_off, b.summary.lines_len));
    };
    {
        trace_batch b;
        b.add_all(views);
        b.summarise();
        EXPECT_TRUE(b.summary.known);
        EXPECT_EQ(b.summary.all, ~ct::dispatcher::section_mask{0});
        EXPECT_EQ(lines(b), all_lines);
        EXPECT_EQ(b.count_routed(4), 4u);
        b.add(views[0]);  // changed after the summary: it no longer holds
        EXPECT_FALSE(b.summary.known);
        EXPECT_EQ(b.count_routed(4), 5u);
    }
    {
        trace_batch b;
        const std::vector<ct::dispatcher::section_mask> masks{1, 3, 0, 1};
        b.add_routed(views, masks);  // the filtered object is never copied: still back to back
        b.summarise();
        EXPECT_EQ(b.summary.all, 1u);
        EXPECT_EQ(b.summary.any, 3u);
        EXPECT_EQ(lines(b), "{\"i\":0}\n{\"i\":1}\n{\"i\":3}\n");
        EXPECT_EQ(b.count_routed(2), 1u);
        EXPECT_EQ(b.count_routed(4), 0u);
        EXPECT_TRUE(b.any_routed(2));
        EXPECT_FALSE(b.any_routed(4));
    }
    {
        trace_batch b;  // records added one by one: the machine texts are not lines
        for (const auto& v : views) b.add(v);
        b.summarise();
        EXPECT_EQ(b.summary.lines_len, 0u);
        EXPECT_EQ(b.summary.all, ~ct::dispatcher::section_mask{0});
    }
    {
        trace_batch b;
        b.summarise();
        EXPECT_EQ(b.summary.all, 0u) << "no record: no bit is shared";
        EXPECT_EQ(b.summary.lines_len, 0u);
    }
}

// A section that every record goes to is written from the summary's span; one that only some
// records go to, record by record. Both give exactly the records' lines.
TEST(LogWriter, LinesOfEveryRecordAndOfSomeRecordsAreTheSame) {
    std::vector<std::string> machine;
    std::vector<ct::protocol::trace_object_view> views;
    for (int i = 1; i <= 5; ++i) machine.push_back("{\"seq\":" + std::to_string(i) + "}");
    for (const auto& m : machine) {
        ct::protocol::trace_object_view v;
        v.machine = m;
        v.ns = "A";
        views.push_back(v);
    }
    temp_dir d;
    writer_options o;
    o.sections = {{(d / "all").string(), log_mode::file_mode, log_format::for_machine},
                  {(d / "some").string(), log_mode::file_mode, log_format::for_machine}};
    output_router w(o);
    w.start();
    for (int round = 0; round < 2; ++round) {
        trace_batch b;
        b.connection_id = 1;
        b.node_name = "n";
        b.add_routed(views, std::vector<ct::dispatcher::section_mask>{3, 1, 3, 1, 3});
        ASSERT_TRUE(w.try_submit(std::move(b)));
    }
    w.stop();
    const std::string every = "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n{\"seq\":4}\n{\"seq\":5}\n";
    const std::string some = "{\"seq\":1}\n{\"seq\":3}\n{\"seq\":5}\n";
    EXPECT_EQ(read_file(d / "all/n/node.json"), every + every);
    EXPECT_EQ(read_file(d / "some/n/node.json"), some + some);
    EXPECT_EQ(w.stats().records_written, 10u);
}

TEST(LogWriter, ThroughputOfLargeBatchesInBothFormats) {
    temp_dir d;
    output_router w(both_formats(d.path()));
    w.start();
    constexpr int batches = 1000, per_batch = 100;
    const std::string payload(180, 'x');
    std::vector<ct::protocol::trace_object_view> views(per_batch);
    for (auto& v : views) {
        v.machine = payload;
        v.has_human = true;
        v.human = "a human line";
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < batches; ++i) {
        trace_batch b;
        b.connection_id = 1;
        b.node_name = "n";
        b.add_all(views);
        while (!w.try_submit(std::move(b))) std::this_thread::yield();
    }
    w.stop();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto records = static_cast<std::uint64_t>(batches) * per_batch;
    EXPECT_EQ(w.stats().records_written, records);
    EXPECT_EQ(split_lines(read_file(d / "n/node.json")).size(), records);
    std::printf("[ metric ] %.0f records/s, %.1f MB/s written (two sections)\n",
                static_cast<double>(records) / secs,
                static_cast<double>(w.stats().bytes_written) / secs / 1e6);
}

}  // namespace

namespace {

TEST(LogWriter, HotReloadSwapsSectionsBetweenBatches) {
    temp_dir d;
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    output_router w(o);
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 1, 1)));
    auto both = both_formats(d.path());
    both.leading_empty_line = true;
    w.update_options(both);
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 2, 1)));
    writer_options human_only;
    human_only.sections = {{d.path().string(), log_mode::file_mode, log_format::for_human}};
    w.update_options(human_only);
    ASSERT_TRUE(w.try_submit(make_batch(1, "n", 3, 1)));
    w.stop();
    EXPECT_EQ(read_file(d / "n/node.json"), "{\"seq\":1}\n\n{\"seq\":2}");
    EXPECT_EQ(read_file(d / "n/node.log"), "\nhuman 2\n{\"seq\":3}\n")
        << "leaving compatibility mode ends the open line first";
}

}  // namespace

namespace {

TEST(LogWriter, TotalBytesCapCoversBothFormatsOfADirectory) {
    temp_dir d;
    const auto dir = d / "n";
    fs::create_directories(dir);
    const auto now = std::time(nullptr);
    auto make = [&](std::time_t ago, log_format f) {
        const auto p = dir / make_log_file_name(now - ago, f);
        write_file(p, std::string(100, 'z'));
        return p;
    };
    const auto j1 = make(500, log_format::for_machine), l1 = make(400, log_format::for_human),
               j2 = make(300, log_format::for_machine), l2 = make(200, log_format::for_human),
               j3 = make(100, log_format::for_machine), l3 = make(90, log_format::for_human);
    auto o = both_formats(d.path());
    ct::config::rotation_params rp;
    rp.frequency_secs = 1;
    rp.log_limit_bytes = 1 << 20;
    rp.keep_files_num = 100;
    rp.max_age_minutes = 1000;
    rp.max_total_bytes = 350;  // per directory: 600 bytes in two formats must shrink to 300
    o.rotation = rp;
    output_router w(o);
    w.start();
    ASSERT_TRUE(wait_until([&] { return w.stats().files_deleted >= 3; }));
    w.stop();
    EXPECT_FALSE(fs::exists(j1));
    EXPECT_FALSE(fs::exists(l1));
    EXPECT_FALSE(fs::exists(j2));
    EXPECT_TRUE(fs::exists(l2));
    EXPECT_TRUE(fs::exists(j3)) << "current .json";
    EXPECT_TRUE(fs::exists(l3)) << "current .log";
    EXPECT_EQ(w.stats().files_deleted, 3u);
}

}  // namespace

namespace {

std::vector<int> seqs_in(const fs::path& dir) {
    std::vector<int> out;
    for (const auto& f : log_files(dir, ".json")) {
        for (const auto& l : split_lines(read_file(f))) out.push_back(std::stoi(l.substr(7)));
    }
    return out;
}

std::vector<int> range(int first, int n) {
    std::vector<int> v;
    for (int i = first; i < first + n; ++i) v.push_back(i);
    return v;
}

// Regression (one node's failure stalled every node): a regular file where node "a"'s
// directory should be parks only "a"; "b" keeps flowing at full speed; "a" is refused by
// try_submit (its node stops being asked), listed as stalled, and once the file is gone its
// objects arrive exactly once, in order.
TEST(LogWriter, OneNodesFailingDirectoryStallsOnlyThatNode) {
    temp_dir d;
    write_file(d / "a", "a regular file where a directory should be");
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    o.retry_interval = std::chrono::milliseconds(20);
    o.queue_capacity = 4;
    std::atomic<int> wakeups{0};  // before the writer: its thread uses it until destroyed
    output_router w(o);
    w.set_space_callback([&] { ++wakeups; });
    w.start();
    ASSERT_TRUE(w.try_submit(make_batch(1, "a", 1, 10)));
    ASSERT_TRUE(wait_until([&] { return w.stats().parked_connections == 1; }));
    EXPECT_FALSE(w.try_submit(make_batch(1, "a", 11, 10))) << "a parked node is not asked";
    // Many more batches of "b" than the queue holds: all written while "a" is blocked.
    for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(wait_until([&] { return w.try_submit(make_batch(2, "b", i * 10 + 1, 10)); }));
    }
    ASSERT_TRUE(wait_until([&] { return seqs_in(d / "b").size() == 1000u; }));
    EXPECT_EQ(seqs_in(d / "b"), range(1, 1000));
    const auto stalls = w.stalls();
    ASSERT_EQ(stalls.size(), 1u);
    EXPECT_EQ(stalls[0].node_name, "a");
    EXPECT_FALSE(w.healthy());
    fs::remove(d / "a");
    ASSERT_TRUE(wait_until([&] { return w.stats().parked_connections == 0; }));
    ASSERT_TRUE(wait_until([&] { return w.try_submit(make_batch(1, "a", 11, 10)); }));
    w.stop();
    EXPECT_EQ(seqs_in(d / "a"), range(1, 20));
    EXPECT_TRUE(w.stalls().empty());
    EXPECT_GT(wakeups.load(), 0);
}

// A disconnect of a parked connection waits for its batches; batches queued behind the parked
// one keep their order.
TEST(LogWriter, ParkedConnectionKeepsOrderAndClosesAfterItsBatches) {
    temp_dir d;
    write_file(d / "a", "blocked");
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    o.retry_interval = std::chrono::milliseconds(20);
    output_router w(o);
    w.start();
    // Three batches queued before the writer sees the failure.
    ASSERT_TRUE(w.try_submit(make_batch(1, "a", 1, 5)));
    (void)w.try_submit(make_batch(1, "a", 6, 5));
    (void)w.try_submit(make_batch(1, "a", 11, 5));
    ASSERT_TRUE(wait_until([&] { return w.stats().parked_connections == 1; }));
    w.node_disconnected(1);
    fs::remove(d / "a");
    ASSERT_TRUE(wait_until([&] { return w.stats().parked_connections == 0; }));
    w.stop();
    const auto got = seqs_in(d / "a");
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got, range(1, static_cast<int>(got.size())));
    EXPECT_EQ(w.stats().records_written + w.stats().records_lost, w.stats().records_received);
}

}  // namespace

namespace {

// Regression (maintenance on the writer thread): while a maintenance pass (scan, gzip) is
// stuck, every node's batches are still written; a pass that throws is reported and the next
// one runs (the thread does not die).
TEST(LogWriter, SlowOrFailingMaintenanceNeverStallsWrites) {
    temp_dir d;
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    ct::config::rotation_params rp;
    rp.frequency_secs = 1;
    rp.log_limit_bytes = 1000;
    rp.max_age_minutes = 60;
    rp.keep_files_num = 10;
    rp.compress = true;
    o.rotation = rp;
    // Declared before the writer: its threads use them until it is destroyed.
    std::mutex m;
    std::condition_variable cv;
    bool release = false;
    std::atomic<int> passes{0};
    std::vector<std::string> reports;
    output_router w(o);
    w.set_error_reporter([&](std::string_view what) {
        std::lock_guard lock(m);
        reports.emplace_back(what);
    });
    w.files().set_maintenance_hook([&] {
        if (passes++ == 0) throw std::runtime_error("injected");
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return release; });
    });
    // However the test ends, the stuck pass is released before the writer is destroyed.
    struct release_on_exit {
        std::mutex& m;
        std::condition_variable& cv;
        bool& release;
        ~release_on_exit() {
            {
                std::lock_guard lock(m);
                release = true;
            }
            cv.notify_all();
        }
    } guard{m, cv, release};
    w.start();
    ASSERT_TRUE(wait_until([&] { return passes.load() >= 2; }, 15s));  // second pass: stuck
    for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE(wait_until([&] { return w.try_submit(make_batch(1, "n", i * 5 + 1, 5)); }));
    }
    ASSERT_TRUE(wait_until([&] { return w.stats().records_written == 1000; }));
    {
        std::lock_guard lock(m);
        release = true;
        EXPECT_NE(std::find_if(reports.begin(),
                               reports.end(),
                               [](const std::string& r) {
                                   return r.find("log maintenance failed: injected") !=
                                          std::string::npos;
                               }),
                  reports.end());
    }
    cv.notify_all();
    w.stop();
    EXPECT_EQ(w.stats().records_lost, 0u);
}

}  // namespace

namespace {

// Defect 8: per-node statistics are bounded; names without an open file are forgotten.
TEST(LogWriter, PerNodeStatisticsAreBounded) {
    temp_dir d;
    writer_options o;
    o.sections = {{d.path().string(), log_mode::file_mode, log_format::for_machine}};
    o.max_tracked_nodes = 3;
    output_router w(o);
    w.start();
    for (int i = 0; i < 20; ++i) {
        const auto id = static_cast<std::uint64_t>(i + 1);
        ASSERT_TRUE(wait_until(
            [&] { return w.try_submit(make_batch(id, "node-" + std::to_string(i), 1, 1)); }));
        w.node_disconnected(id);
    }
    ASSERT_TRUE(wait_until([&] { return w.stats().records_written == 20; }));
    w.stop();
    EXPECT_LE(w.per_node().size(), 3u);
    EXPECT_GE(w.stats().nodes_forgotten, 17u);
}

}  // namespace
