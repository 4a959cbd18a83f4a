// Every logFormat of one record against lines written out by hand (spec dispatcher §4.3,
// §5.2), and every row of the shipped legacy namespace table.
#include "tracer/outputs/formats.hpp"

#include <gtest/gtest.h>

namespace {

using namespace ct::tracer::outputs;
using ct::config::log_format;

const char* machine =
    R"({"at":"2022-10-31T19:58:52.123456789Z","ns":"BlockFetch.Decision.Decline","data":{"kind":"Decline","peer":{"addr":"1.2.3.4","port":3001}},"sev":"Info","thread":"174","host":"bprod1"})";

trace_batch one(bool with_human,
                std::string_view ns = "BlockFetch.Decision.Decline",
                std::string_view host = "bprod1") {
    ct::protocol::trace_object_view v;
    v.has_human = with_human;
    v.human = "Declined: \"peer\" busy";
    v.machine = machine;
    v.ns = ns;
    v.sev = ct::protocol::severity::info;
    v.at = {1667246332, 123456789000};  // 2022-10-31T19:58:52.123456789Z
    v.host = host;
    v.thread = "174";
    trace_batch b;
    b.add(v);
    return b;
}

std::shared_ptr<const ct::config::legacy_namespace_table> shipped() {
    std::vector<ct::config::table_problem> problems;
    auto t = ct::config::parse_legacy_namespaces(
        ct::config::builtin_legacy_namespaces(), "built-in", problems);
    EXPECT_TRUE(problems.empty());
    return std::make_shared<const ct::config::legacy_namespace_table>(std::move(t));
}

std::string render(const trace_batch& b, log_format f) {
    record_formatter fmt(shipped());
    std::string out;
    fmt.append(b, b.records[0], f, out);
    return out;
}

TEST(Formats, ForMachineAndForHumanKeepCardanoTracersBytes) {
    EXPECT_EQ(render(one(true), log_format::for_machine), machine);
    EXPECT_EQ(render(one(true), log_format::for_human), "Declined: \"peer\" busy");
    EXPECT_EQ(render(one(false), log_format::for_human), machine);
}

TEST(Formats, DispatcherHuman) {
    EXPECT_EQ(render(one(true), log_format::dispatcher_human),
              "[2022-10-31 19:58:52.1234Z][bprod1:BlockFetch.Decision.Decline](Info,174) "
              "Declined: \"peer\" busy");
    // Without a human text: {"data":<the machine object>}.
    EXPECT_EQ(render(one(false), log_format::dispatcher_human),
              "[2022-10-31 19:58:52.1234Z][bprod1:BlockFetch.Decision.Decline](Info,174) "
              R"({"data":{"kind":"Decline","peer":{"addr":"1.2.3.4","port":3001}}})");
}

TEST(Formats, LegacyText) {
    EXPECT_EQ(render(one(true), log_format::legacy_text),
              "[bprod1:cardano.node.BlockFetchDecision:Info:174] [2022-10-31 19:58:52.12 UTC] "
              "Declined: \"peer\" busy");
    EXPECT_EQ(render(one(false, "BlockFetch.Decision.Decline", "relay-frankfurt-1.example"),
                     log_format::legacy_text),
              "[relay-fr:cardano.node.BlockFetchDecision:Info:174] [2022-10-31 19:58:52.12 UTC] "
              R"({"kind":"Decline","peer":{"addr":"1.2.3.4","port":3001}})");
}

TEST(Formats, LegacyJson) {
    EXPECT_EQ(
        render(one(true), log_format::legacy_json),
        R"({"at":"2022-10-31T19:58:52.12Z","env":"","ns":["cardano.node.BlockFetchDecision"],)"
        R"("data":{"kind":"Decline","peer":{"addr":"1.2.3.4","port":3001}},"app":[],)"
        R"("msg":"Declined: \"peer\" busy","pid":"","loc":null,"host":"bprod1","sev":"Info",)"
        R"("thread":"174"})");
}

TEST(Formats, UnparsableMachineTextIsKeptAsItCame) {
    ct::protocol::trace_object_view v;
    v.machine = "not json\t\"x\"";
    v.ns = "Foo.Bar";
    v.host = "h";
    v.thread = "1";
    trace_batch b;
    b.add(v);
    record_formatter fmt(shipped());
    std::string out;
    fmt.append(b, b.records[0], log_format::legacy_json, out);
    EXPECT_EQ(out,
              R"({"at":"1970-01-01T00:00:00.00Z","env":"","ns":["cardano.node.Foo"],)"
              R"("data":{"machine":"not json\t\"x\""},"app":[],"msg":"","pid":"","loc":null,)"
              R"("host":"h","sev":"Info","thread":"1"})");
    out.clear();
    fmt.append(b, b.records[0], log_format::dispatcher_human, out);
    EXPECT_EQ(out, "[1970-01-01 00:00:00.0000Z][h:Foo.Bar](Info,1) not json\t\"x\"");
}

TEST(LegacyNamespaceTable, EveryShippedRowMapsBothWays) {
    const auto t = shipped();
    ASSERT_GT(t->rows.size(), 60u);
    for (const auto& row : t->rows) {
        if (!row.logger.empty()) {
            EXPECT_EQ(t->logger_for(row.new_prefix), "cardano.node." + row.logger)
                << row.new_prefix;
            EXPECT_EQ(t->logger_for(row.new_prefix + ".SomeLeaf"), "cardano.node." + row.logger)
                << row.new_prefix;
            const auto back = t->prefixes_of_logger("cardano.node." + row.logger);
            EXPECT_NE(std::find(back.begin(), back.end(), row.new_prefix), back.end())
                << row.logger;
        }
        if (!row.switch_key.empty()) {
            EXPECT_TRUE(t->knows_switch(row.switch_key));
            const auto prefixes = t->prefixes_of_switch(row.switch_key);
            if (!row.new_prefix.empty()) {
                EXPECT_NE(std::find(prefixes.begin(), prefixes.end(), row.new_prefix),
                          prefixes.end())
                    << row.switch_key;
            }
        }
    }
    // Longest prefix wins; whole segments only; a fallback for unknown namespaces.
    EXPECT_EQ(t->logger_for("ChainSync.Remote.Serialised.Send"),
              "cardano.node.ChainSyncProtocolSerialised");
    EXPECT_EQ(t->logger_for("ChainSync.Remote.Send"), "cardano.node.ChainSyncProtocol");
    EXPECT_EQ(t->logger_for("ChainDBX.Foo"), "cardano.node.ChainDBX");
    EXPECT_EQ(t->logger_for("Reflection.TracerInfo"), "cardano.node.Reflection");
    EXPECT_EQ(t->prefixes_of_switch("TraceChainDb"),
              (std::vector<std::string>{"ChainDB", "ChainDB.ReplayBlock"}));
    EXPECT_TRUE(t->prefixes_of_switch("TraceDnsResolver").empty());
    EXPECT_TRUE(t->knows_switch("TraceDnsResolver"));
    EXPECT_FALSE(t->knows_switch("TraceChainDB"));  // case matters (the old parser's TraceChainDb)
}

TEST(LegacyNamespaceTable, ProblemsNameTheLine) {
    std::vector<ct::config::table_problem> problems;
    ct::config::parse_legacy_namespaces(
        "# comment\nChainDB ChainDB TraceChainDb\nonly two\nA..B X -\n- X -\n- - -\n",
        "f",
        problems);
    ASSERT_EQ(problems.size(), 4u);
    EXPECT_EQ(problems[0].line, 3u);
    EXPECT_NE(problems[0].message.find("expected 3 columns"), std::string::npos);
    EXPECT_EQ(problems[1].line, 4u);
    EXPECT_NE(problems[1].message.find("is not a namespace"), std::string::npos);
    EXPECT_EQ(problems[2].line, 5u);
    EXPECT_EQ(problems[3].line, 6u);
}

}  // namespace
