// The hand-written OTLP logs encoder: severity numbers, times, a whole protobuf request
// worked out by hand from opentelemetry-proto's field numbers, and the JSON mapping's exact
// text. (The integration test checks the same bytes against protobufjs' own encoder.)
#include "tracer/export/otlp_logs.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace ct::tracer::exporting;
using ct::protocol::severity;

std::string hex(const std::string& s) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (const unsigned char c : s) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

otlp_log_record sample() {
    otlp_log_record r;
    r.time_ns = 1;
    r.observed_ns = 2;
    r.sev = severity::warning;
    r.body = "hi";
    r.ns = "A.B";
    r.thread = "7";
    r.detail = ct::protocol::detail_level::normal;
    return r;
}

TEST(OtlpLogs, SeverityNumbersFollowTheOpenTelemetryDataModel) {
    EXPECT_EQ(otlp_severity_number(severity::debug), 5);
    EXPECT_EQ(otlp_severity_number(severity::info), 9);
    EXPECT_EQ(otlp_severity_number(severity::notice), 10);
    EXPECT_EQ(otlp_severity_number(severity::warning), 13);
    EXPECT_EQ(otlp_severity_number(severity::error), 17);
    EXPECT_EQ(otlp_severity_number(severity::critical), 18);
    EXPECT_EQ(otlp_severity_number(severity::alert), 21);
    EXPECT_EQ(otlp_severity_number(severity::emergency), 22);
}

TEST(OtlpLogs, TimesAreUnixNanosecondsClampedAtTheEnds) {
    EXPECT_EQ(unix_nanos({1, 500'000'000'000}), 1'500'000'000u);
    EXPECT_EQ(unix_nanos({-5, 0}), 0u);
    EXPECT_EQ(unix_nanos({std::int64_t{1} << 62, 0}), ~std::uint64_t{0});
}

TEST(OtlpLogs, ProtobufRequestIsTheHandWorkedEncoding) {
    otlp_logs_request req(otlp_logs_request::encoding::protobuf, {{"service.name", "relay"}});
    req.add("n", "h", sample());
    ASSERT_EQ(req.records(), 1u);
    // LogRecord: time(1) fixed64, severity_number(2) 13, severity_text(3) "Warning",
    // body(5) AnyValue{string_value "hi"}, attributes(6) ×3, observed_time(11) fixed64.
    const std::string body = req.finish();
    EXPECT_TRUE(req.empty());
    const std::string h = hex(body);
    // ExportLogsServiceRequest.resource_logs(1) { resource(1) { attributes: service.name
    // replaced by the operator's value, service.instance.id, host.name } ... }
    const std::string service_name =
        "0a"
        "17"
        "0a"
        "0c"
        "736572766963652e6e616d65"
        "12"
        "07"
        "0a"
        "05"
        "72656c6179";
    EXPECT_NE(h.find(service_name), std::string::npos) << h;
    EXPECT_EQ(h.find("63617264616e6f2d6e6f6465"), std::string::npos);  // "cardano-node" replaced
    // The record: every field in number order, with the shortest lengths.
    const std::string log_record =
        "09"
        "0100000000000000"  // time_unix_nano
        "10"
        "0d"  // severity_number 13
        "1a"
        "07"
        "5761726e696e67"  // severity_text "Warning"
        "2a"
        "04"
        "0a"
        "02"
        "6869"  // body {string_value "hi"}
        "32"
        "12"
        "0a"
        "09"
        "6e616d657370616365"
        "12"
        "05"
        "0a"
        "03"
        "412e42"  // namespace
        "32"
        "0d"
        "0a"
        "06"
        "746872656164"
        "12"
        "03"
        "0a"
        "01"
        "37"  // thread
        "32"
        "13"
        "0a"
        "06"
        "64657461696c"
        "12"
        "09"
        "0a"
        "07"
        "444e6f726d616c"  // detail
        "59"
        "0200000000000000";  // observed_time_unix_nano
    EXPECT_NE(h.find("12"
                     "5b" +
                     log_record),
              std::string::npos)
        << h;  // log_records(2)
    EXPECT_EQ(h.substr(h.size() - log_record.size()), log_record);
}

TEST(OtlpLogs, JsonFollowsOtlpsMapping) {
    otlp_logs_request req(otlp_logs_request::encoding::json, {});
    auto r = sample();
    r.body = "say \"hi\"\n";
    req.add("relay-1", "h", r);
    req.add("relay-2", "h", sample());
    EXPECT_EQ(
        req.finish(),
        R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cardano-node"}},)"
        R"({"key":"service.instance.id","value":{"stringValue":"relay-1"}},{"key":"host.name","value":{"stringValue":"h"}}]},)"
        R"("scopeLogs":[{"scope":{"name":"cardano-tracer"},"logRecords":[{"timeUnixNano":"1","observedTimeUnixNano":"2",)"
        R"("severityNumber":13,"severityText":"Warning","body":{"stringValue":"say \"hi\"\n"},)"
        R"("attributes":[{"key":"namespace","value":{"stringValue":"A.B"}},{"key":"thread","value":{"stringValue":"7"}},)"
        R"({"key":"detail","value":{"stringValue":"DNormal"}}]}]}]},)"
        R"({"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cardano-node"}},)"
        R"({"key":"service.instance.id","value":{"stringValue":"relay-2"}},{"key":"host.name","value":{"stringValue":"h"}}]},)"
        R"("scopeLogs":[{"scope":{"name":"cardano-tracer"},"logRecords":[{"timeUnixNano":"1","observedTimeUnixNano":"2",)"
        R"("severityNumber":13,"severityText":"Warning","body":{"stringValue":"hi"},)"
        R"("attributes":[{"key":"namespace","value":{"stringValue":"A.B"}},{"key":"thread","value":{"stringValue":"7"}},)"
        R"({"key":"detail","value":{"stringValue":"DNormal"}}]}]}]}]})");
}

}  // namespace
