// File names and the rotation's deletion plan (spec §5.2, §5.6) with pre-dated files.
#include "tracer/outputs/log_files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace {

using namespace ct::tracer::outputs;
using ct::config::log_format;

TEST(LogFileName, FormatAndParse) {
    const std::time_t t = 1784796967;  // 2026-07-23T08:56:07Z
    EXPECT_EQ(make_log_file_name(t, log_format::for_machine), "node-2026-07-23T08-56-07.json");
    EXPECT_EQ(make_log_file_name(t, log_format::for_human), "node-2026-07-23T08-56-07.log");
    EXPECT_EQ(make_log_file_name(t, log_format::for_machine, 2), "node-2026-07-23T08-56-07_2.json");
    auto p = parse_log_file_name("node-2026-07-23T08-56-07_2.json", log_format::for_machine);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->created, t);
    EXPECT_EQ(p->counter, 2u);
    auto gz = parse_log_file_name("node-2026-07-23T08-56-07.log.gz", log_format::for_human);
    ASSERT_TRUE(gz);
    EXPECT_TRUE(gz->compressed);
    EXPECT_FALSE(parse_log_file_name("node-2026-07-23T08-56-07.json", log_format::for_human));
    EXPECT_FALSE(parse_log_file_name("node.json", log_format::for_machine));
    EXPECT_FALSE(parse_log_file_name("node-2026-13-23T08-56-07.json", log_format::for_machine));
    EXPECT_FALSE(parse_log_file_name("node-2026-07-23T08-56-07_x.json", log_format::for_machine));
    // Same-second files order after the first one.
    EXPECT_LT(*parse_log_file_name("node-2026-07-23T08-56-07.json", log_format::for_machine),
              *parse_log_file_name("node-2026-07-23T08-56-07_1.json", log_format::for_machine));
}

std::vector<existing_file> files_at(const std::vector<std::time_t>& times,
                                    std::uint64_t size = 100) {
    std::vector<existing_file> out;
    for (auto t : times) {
        auto name = make_log_file_name(t, log_format::for_machine);
        out.push_back({name, *parse_log_file_name(name, log_format::for_machine), size});
    }
    return out;
}

TEST(RotationPlan, WorkedExampleOfTheSpec) {
    // §5.7: keep 1, max age 1 h; files 10:00, 10:10, 10:20 (current); check at 11:25.
    const std::time_t base = 1784800800;  // 2026-07-23T10:00:00Z
    ct::config::rotation_params rp;
    rp.keep_files_num = 1;
    rp.max_age_minutes = 60;
    rp.log_limit_bytes = 50000;
    auto files = files_at({base, base + 600, base + 1200});
    auto doomed = plan_deletions(files, rp, base + 85 * 60);
    ASSERT_EQ(doomed.size(), 1u);
    EXPECT_EQ(doomed[0], files[0].name);
}

TEST(RotationPlan, KeepFloorAndStopAtFirstYoungFile) {
    const std::time_t now = 1784800800;
    ct::config::rotation_params rp;
    rp.keep_files_num = 2;
    rp.max_age_minutes = 10;
    // Oldest first: two old, one young, one old (impossible order in practice, tests the stop),
    // then two kept and the current file.
    auto files =
        files_at({now - 3600, now - 3000, now - 60, now - 2000, now - 1500, now - 1000, now - 10});
    auto doomed = plan_deletions(files, rp, now);
    EXPECT_EQ(doomed, (std::vector<std::string>{files[0].name, files[1].name}));
    // All stale, keep 2: the current file and two previous survive.
    auto stale = files_at({now - 5000, now - 4000, now - 3000, now - 2000});
    EXPECT_EQ(plan_deletions(stale, rp, now).size(), 1u);
    // A single file (the current one) is never deleted.
    EXPECT_TRUE(plan_deletions(files_at({now - 99999}), rp, now).empty());
}

TEST(RotationPlan, CountAndSizeCaps) {
    const std::time_t now = 1784800800;
    ct::config::rotation_params rp;
    rp.keep_files_num = 100;  // the age rule deletes nothing
    rp.max_age_minutes = 1;
    rp.max_files_num = 3;
    auto files = files_at({now - 50, now - 40, now - 30, now - 20, now - 10});
    auto doomed = plan_deletions(files, rp, now);
    EXPECT_EQ(doomed, (std::vector<std::string>{files[0].name, files[1].name}));

    ct::config::rotation_params bytes = rp;
    bytes.max_files_num.reset();
    bytes.max_total_bytes = 250;  // 5 files of 100 bytes
    EXPECT_EQ(plan_deletions(files, bytes, now).size(), 3u);
    bytes.max_total_bytes = 10;  // even then the current file stays
    EXPECT_EQ(plan_deletions(files, bytes, now).size(), 4u);
}

}  // namespace

namespace {

TEST(Journal, TimeAndPriority) {
    // 2026-07-23T08:56:07Z plus 123456789 ns, as picoseconds.
    ct::protocol::utc_time t{1784796967, 123456789000ull};
    EXPECT_EQ(journal_time(t), "2026-07-23 08:56:07.123456789000Z");
    EXPECT_EQ(journal_time({0, 0}), "1970-01-01 00:00:00.000000000000Z");
    EXPECT_EQ(journal_time({1784796967, 5}), "2026-07-23 08:56:07.000000000005Z");
    using ct::protocol::severity;
    EXPECT_EQ(syslog_priority(severity::emergency), 0);
    EXPECT_EQ(syslog_priority(severity::alert), 1);
    EXPECT_EQ(syslog_priority(severity::critical), 2);
    EXPECT_EQ(syslog_priority(severity::error), 3);
    EXPECT_EQ(syslog_priority(severity::warning), 4);
    EXPECT_EQ(syslog_priority(severity::notice), 5);
    EXPECT_EQ(syslog_priority(severity::info), 6);
    EXPECT_EQ(syslog_priority(severity::debug), 7);
}

TEST(LogFileName, CounterNamesSortAfterTheirSecondAndBeforeTheNext) {
    const std::time_t t = 1784796967;
    std::vector<log_file_name> parsed;
    for (const auto& n : {make_log_file_name(t, log_format::for_machine),
                          make_log_file_name(t, log_format::for_machine, 1),
                          make_log_file_name(t, log_format::for_machine, 10),
                          make_log_file_name(t + 1, log_format::for_machine)}) {
        auto p = parse_log_file_name(n, log_format::for_machine);
        ASSERT_TRUE(p) << n;
        parsed.push_back(*p);
    }
    EXPECT_TRUE(std::is_sorted(parsed.begin(), parsed.end()));
    EXPECT_LT(parsed[1], parsed[2]) << "numeric, not lexicographic: _1 < _10";
    EXPECT_FALSE(parse_log_file_name("node-2026-07-23T08-56-07_0.json", log_format::for_machine));
    EXPECT_FALSE(parse_log_file_name("node-2026-07-23T08-56-07_.json", log_format::for_machine));
    EXPECT_FALSE(
        parse_log_file_name("node-2026-07-23T08-56-07.json.gz.tmp", log_format::for_machine))
        << "partial archives are not log files";
}

}  // namespace

namespace {

TEST(RotationPlan, TotalBytesCapSpansFormatsAndSparesCurrentFiles) {
    const std::time_t now = 1784800800;
    std::vector<existing_file> files;
    auto add = [&](std::time_t t, log_format f, std::uint64_t size) {
        auto name = make_log_file_name(t, f);
        files.push_back({name, *parse_log_file_name(name, f), size});
    };
    add(now - 50, log_format::for_machine, 100);
    add(now - 50, log_format::for_human, 100);
    add(now - 40, log_format::for_human, 100);  // current .log
    add(now - 30, log_format::for_machine, 100);
    add(now - 20, log_format::for_machine, 100);  // current .json
    const std::set<std::string> current = {files[2].name, files[4].name};
    EXPECT_EQ(plan_total_bytes(files, current, 300),
              (std::vector<std::string>{files[0].name, files[1].name}));
    EXPECT_EQ(plan_total_bytes(files, current, 0),
              (std::vector<std::string>{files[0].name, files[1].name, files[3].name}));
    EXPECT_TRUE(plan_total_bytes(files, current, 500).empty());
}

}  // namespace
