// The limiter against sequences computed by hand from spec dispatcher §3.6. Times are binary
// fractions (k/16 s) so that every comparison is exact.
#include "dispatcher/frequency_limiter.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ct::dispatcher {
namespace {

struct step {
    bool passed;
    limiter_report report;
    std::uint64_t count;
};

step arrive(frequency_limiter& l, double t) {
    limiter_report r = limiter_report::none;
    const bool passed = l.admit(t, r);
    return {passed, r, l.reported_count()};
}

TEST(FrequencyLimiter, ABurstFromAZeroBudgetStartsAtTheFourthMessage) {
    frequency_limiter l(1.0);  // period 1 s
    // k = 0 sets the time base; each later message is 16x too fast: reward clamped to 10.
    EXPECT_EQ(arrive(l, 0.0 / 16).report, limiter_report::none);
    EXPECT_EQ(arrive(l, 1.0 / 16).report, limiter_report::none);  // budget 10
    EXPECT_DOUBLE_EQ(l.budget(), 10);
    EXPECT_EQ(arrive(l, 2.0 / 16).report, limiter_report::none);  // 20
    const auto s3 = arrive(l, 3.0 / 16);                          // 30: start, and it passes
    EXPECT_TRUE(s3.passed);
    EXPECT_EQ(s3.report, limiter_report::start);
    EXPECT_TRUE(l.limiting());
    const auto s4 = arrive(l, 4.0 / 16);
    EXPECT_FALSE(s4.passed);
    EXPECT_EQ(s4.report, limiter_report::none);
    EXPECT_EQ(l.suppressed(), 1u);
    EXPECT_DOUBLE_EQ(l.budget(), 30);  // clamped
}

TEST(FrequencyLimiter, WhileLimitingOnePassesPerPeriodAndRemindersComeEveryTenSeconds) {
    frequency_limiter l(1.0);
    std::vector<int> passed, reminders;
    std::vector<std::uint64_t> reminder_counts;
    for (int k = 0; k <= 330; ++k) {
        const auto s = arrive(l, k / 16.0);
        if (s.passed) passed.push_back(k);
        if (s.report == limiter_report::remember) {
            reminders.push_back(k);
            reminder_counts.push_back(s.count);
        }
    }
    // Start at k = 3 (last sent 3/16); then a message passes when more than 1 s has gone by
    // since the last one sent: k - last > 16, i.e. every 17th message.
    std::vector<int> expected{0, 1, 2, 3};
    for (int k = 20; k <= 330; k += 17) expected.push_back(k);
    EXPECT_EQ(passed, expected);
    // Reminders when more than 10 s have gone by since the start (or the last reminder):
    // k - 3 > 160 gives k = 164, then k - 164 > 160 gives 325. The count is what was
    // suppressed before that message: k = 4..163 minus the 9 that passed (20 ... 156).
    EXPECT_EQ(reminders, (std::vector<int>{164, 325}));
    ASSERT_EQ(reminder_counts.size(), 2u);
    EXPECT_EQ(reminder_counts[0], 160u - 9u);
    // Before k = 325: k = 4..324 is 321 messages, of which 18 passed (20, 37, ... 309).
    EXPECT_EQ(reminder_counts[1], 321u - 18u);
}

TEST(FrequencyLimiter, SixVerySlowMessagesStopItAndReportTheSuppressedCount) {
    frequency_limiter l(1.0);
    for (int k = 0; k <= 5; ++k) arrive(l, k / 16.0);  // start at 3, suppress 4 and 5
    ASSERT_TRUE(l.limiting());
    ASSERT_EQ(l.suppressed(), 2u);
    // Each slow message is 20x too slow: reward 1 - 20 = -19, clamped to -10. From 30 the
    // sums are 20, 10, 0, -10, -20, -30: the sixth stops limiting (and passes).
    for (int i = 1; i <= 5; ++i) {
        const auto s = arrive(l, 5.0 / 16 + 20.0 * i);
        EXPECT_TRUE(s.passed) << i;
        EXPECT_EQ(s.report, limiter_report::remember) << i;  // > 10 s since the last one
        EXPECT_EQ(s.count, 2u) << i;
        EXPECT_TRUE(l.limiting()) << i;
    }
    const auto stop = arrive(l, 5.0 / 16 + 120.0);
    EXPECT_TRUE(stop.passed);
    EXPECT_EQ(stop.report, limiter_report::stop);
    EXPECT_EQ(stop.count, 2u);
    EXPECT_FALSE(l.limiting());
    EXPECT_DOUBLE_EQ(l.budget(), -30);
}

TEST(FrequencyLimiter, AtExactlyTheAllowedRateTheBudgetStaysPut) {
    frequency_limiter l(4.0);  // period 0.25 s
    for (int k = 0; k < 1000; ++k) {
        const auto s = arrive(l, k * 0.25);
        EXPECT_TRUE(s.passed);
        EXPECT_EQ(s.report, limiter_report::none);
    }
    EXPECT_DOUBLE_EQ(l.budget(), 0);
}

TEST(FrequencyLimiter, SimultaneousAndBackwardsTimestampsCountAsABurst) {
    frequency_limiter l(1.0);
    arrive(l, 100.0);
    arrive(l, 100.0);  // e = 0: q = 10, reward 9
    EXPECT_DOUBLE_EQ(l.budget(), 9);
    arrive(l, 99.0);  // backwards: the same
    EXPECT_DOUBLE_EQ(l.budget(), 18);
}

}  // namespace
}  // namespace ct::dispatcher
