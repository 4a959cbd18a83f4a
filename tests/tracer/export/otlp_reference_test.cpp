// The hand-written OTLP logs encoder against protoc's serializer of the same messages
// (reference/otlp_logs_reference.proto): for requests of every shape the daemon makes, the
// bytes are identical.
#include "tests/tracer/export/otlp_reference.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "otlp_logs_reference.pb.h"
#include "tracer/export/otlp_logs.hpp"

namespace {

using namespace ct::tracer::exporting;
using ct::test::otlp_reference::sample_records;
using ct::test::otlp_reference::serialize_with_protoc;

TEST(OtlpReference, HandWrittenLogsRequestsAreWhatProtocSerializes) {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        const auto records = sample_records(rng, 1 + static_cast<int>(rng() % 300));
        const std::map<std::string, std::string> attributes =
            round % 3 == 0 ? std::map<std::string, std::string>{}
                           : std::map<std::string, std::string>{{"service.name", "relay"},
                                                                {"deployment.environment", ""}};
        otlp_logs_request ours(otlp_logs_request::encoding::protobuf, attributes);
        for (const auto& r : records) ours.add(r.node, r.host, r.view());
        const std::string mine = ours.finish();
        const std::string theirs = serialize_with_protoc(records, attributes);
        ASSERT_EQ(mine.size(), theirs.size()) << "round " << round;
        ASSERT_TRUE(mine == theirs) << "round " << round;
        // And protoc reads ours back with every record.
        ct_reference::otlp::ExportLogsServiceRequest parsed;
        ASSERT_TRUE(parsed.ParseFromString(mine));
        std::size_t n = 0;
        for (const auto& rl : parsed.resource_logs())
            for (const auto& sl : rl.scope_logs())
                n += static_cast<std::size_t>(sl.log_records_size());
        EXPECT_EQ(n, records.size());
    }
}

}  // namespace
