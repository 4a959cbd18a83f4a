#include "protocol/severity.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string_view>

namespace ct::protocol {
namespace {

TEST(Severity, NamesRoundTripInOrderWithSyslogPriorities) {
    const std::array<std::string_view, 8> names{
        "Debug", "Info", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency"};
    for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(severity_name(all_severities[i]), names[i]);
        EXPECT_EQ(parse_severity(names[i]), all_severities[i]);
        EXPECT_EQ(read_severity(names[i]), all_severities[i]);
        EXPECT_EQ(syslog_priority(all_severities[i]), 7 - static_cast<int>(i));
        EXPECT_EQ(static_cast<std::size_t>(all_severities[i]), i);  // the wire index
    }
    EXPECT_LT(severity::debug, severity::emergency);
}

TEST(Severity, ExactParseRefusesEverythingElse) {
    for (std::string_view bad : {"info", "INFO", "Silence", "", " Info", "(Info)", "Infoo"}) {
        EXPECT_FALSE(parse_severity(bad)) << bad;
    }
}

TEST(Severity, ReadParsesLikeHaskellRead) {
    EXPECT_EQ(read_severity(" Warning\n"), severity::warning);
    EXPECT_EQ(read_severity("(Info)"), severity::info);
    EXPECT_EQ(read_severity("( (Error) )"), severity::error);
    for (std::string_view bad : {"info", "INFO", "Silence", "", "(Info", "Info Debug", "()"}) {
        EXPECT_FALSE(read_severity(bad)) << bad;
    }
}

}  // namespace
}  // namespace ct::protocol
