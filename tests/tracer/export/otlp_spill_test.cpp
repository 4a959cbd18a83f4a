// The OTLP spill directory: order of sending (also for requests put before the others), the
// bound, and what a restart finds (files kept in order, interrupted writes removed).
#include "tracer/export/otlp_spill.hpp"

#include <gtest/gtest.h>

#include "tests/support/test_support.hpp"

namespace {

using namespace ct::tracer::exporting;
using ct::test::temp_dir;

std::vector<std::string> drain(otlp_spill& s) {
    std::vector<std::string> out;
    while (auto e = s.oldest()) {
        std::string body;
        EXPECT_TRUE(otlp_spill::read(*e, body));
        out.push_back(body + "/" + std::to_string(e->records) + (e->json ? "j" : "p"));
        s.remove_oldest();
    }
    return out;
}

TEST(OtlpSpill, SendsInOrderWithOlderRequestsPutFirst) {
    temp_dir dir;
    otlp_spill s((dir / "spill").string(), 1000);
    std::string problem;
    ASSERT_TRUE(s.write("c", 3, false, problem));
    ASSERT_TRUE(s.write("d", 4, true, problem));
    ASSERT_TRUE(s.write("b", 2, false, problem, true));  // older than everything on disk
    ASSERT_TRUE(s.write("a", 1, false, problem, true));
    EXPECT_EQ(s.files(), 4u);
    EXPECT_EQ(s.bytes(), 4u);
    EXPECT_EQ(drain(s), (std::vector<std::string>{"a/1p", "b/2p", "c/3p", "d/4j"}));
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.bytes(), 0u);
}

TEST(OtlpSpill, IsBoundedAndARestartFindsWhatWasLeft) {
    temp_dir dir;
    const auto path = (dir / "spill").string();
    std::string problem;
    {
        otlp_spill s(path, 10);
        ASSERT_TRUE(s.write("12345", 5, false, problem));
        ASSERT_TRUE(s.write("6789", 4, true, problem));
        EXPECT_FALSE(s.write("ab", 2, false, problem));
        EXPECT_NE(problem.find("spillMaxBytes"), std::string::npos) << problem;
        ASSERT_TRUE(s.write("0", 1, false, problem, true));
    }
    ct::test::write_file(dir / "spill" / ".tmp-00000000000000000009-1.pb", "half");
    otlp_spill again(path, 10);
    EXPECT_EQ(again.files(), 3u);
    EXPECT_EQ(again.bytes(), 10u);
    EXPECT_FALSE(std::filesystem::exists(dir / "spill" / ".tmp-00000000000000000009-1.pb"));
    std::string problem2;
    otlp_spill* s = &again;
    s->remove_oldest();  // "0"
    ASSERT_TRUE(s->write("x", 1, false, problem2));
    EXPECT_EQ(drain(again), (std::vector<std::string>{"12345/5p", "6789/4j", "x/1p"}));
}

TEST(OtlpSpill, ADirectoryThatCannotBeMadeIsAProblemNotACrash) {
    temp_dir dir;
    ct::test::write_file(dir / "file", "x");
    otlp_spill s((dir / "file" / "spill").string(), 1000);
    EXPECT_FALSE(s.problem().empty());
    std::string problem;
    EXPECT_FALSE(s.write("a", 1, false, problem));
    EXPECT_FALSE(problem.empty());
}

}  // namespace
