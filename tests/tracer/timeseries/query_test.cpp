// The query language against spec timeseries §8: every worked example (store contents →
// query → exact body and status), then the parser's quirks, the elaborator's texts and the
// interpreter's statistics against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tracer/timeseries/query_evaluate.hpp"
#include "tracer/timeseries/query_parser.hpp"

namespace {

using namespace ct::tracer::timeseries;
using namespace ct::tracer::timeseries::query;

constexpr std::uint64_t B = 1700000000000;
constexpr std::uint64_t query_time = 1700000030000;

// Spec §8.1: two nodes, delta inserts (an unchanged value is not inserted again).
store worked_example_store() {
    store s;
    const label_set alpha{{"node_name", "alpha"}}, beta{{"node_name", "beta"}};
    s.insert(alpha, B, {{"blocks", 10}});
    s.insert(beta, B, {{"blocks", 20}});
    s.insert(alpha, B + 15000, {{"blocks", 12}});
    s.insert(alpha, B + 30000, {{"blocks", 15}, {"mem", 1024}});
    s.insert(beta, B + 30000, {{"blocks", 21}, {"mem", 2048}});
    return s;
}

struct worked_example {
    const char* name;
    const char* query;
    int status;
    const char* body;
};

const worked_example
    examples[] =
        {
            {"E1",
             R"q(blocks now)q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"alpha"},"value":[1700000030,"15.0"]},{"metric":{"node_name":"beta"},"value":[1700000030,"21.0"]}],"resultType":"vector"},"status":"success"})json"},
            {"E2",
             R"q(blocks (now - 20s))q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"alpha"},"value":[1700000010,"10.0"]},{"metric":{"node_name":"beta"},"value":[1700000010,"20.0"]}],"resultType":"vector"},"status":"success"})json"},
            {"E3",
             R"q(blocks (now + 10m))q",
             200,
             R"json({"data":{"result":[],"resultType":"vector"},"status":"success"})json"},
            {"E4",
             R"q(blocks[now - 30s; now : 15s])q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"beta"},"values":[[1700000000,"20.0"],[1700000015,"20.0"],[1700000030,"21.0"]]},{"metric":{"node_name":"alpha"},"values":[[1700000000,"10.0"],[1700000015,"12.0"],[1700000030,"15.0"]]}],"resultType":"matrix"},"status":"success"})json"},
            {"E5",
             R"q(rate blocks[now - 30s; now : 15s])q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"beta"},"value":[1700000030,"0.000033333333333333335"]},{"metric":{"node_name":"alpha"},"value":[1700000030,"0.00016666666666666666"]}],"resultType":"vector"},"status":"success"})json"},
            {"E6",
             R"q(increase blocks[now - 30s; now : 15s])q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"beta"},"value":[1700000030,"1.0"]},{"metric":{"node_name":"alpha"},"value":[1700000030,"5.0"]}],"resultType":"vector"},"status":"success"})json"},
            {"E7",
             R"q(avg_over_time blocks[now - 30s; now : 15s])q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"beta"},"value":[1700000030,"20.333333333333332"]},{"metric":{"node_name":"alpha"},"value":[1700000030,"12.333333333333334"]}],"resultType":"vector"},"status":"success"})json"},
            {"E8",
             R"q(quantile_over_time 0.5 blocks[now - 30s; now : 15s])q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"beta"},"value":[1700000030,"20.0"]},{"metric":{"node_name":"alpha"},"value":[1700000030,"11.0"]}],"resultType":"vector"},"status":"success"})json"},
            {"E9",
             R"q(quantile_by () 0.9 (blocks now))q",
             200,
             R"json({"data":{"result":[{"metric":{},"value":[1700000030,"19.8"]}],"resultType":"vector"},"status":"success"})json"},
            {"E10",
             R"q(max (blocks now))q",
             200,
             R"json({"data":{"result":21,"resultType":"scalar"},"status":"success"})json"},
            {"E11",
             R"q(blocks now > 16)q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"beta"},"value":[1700000030,"21.0"]}],"resultType":"vector"},"status":"success"})json"},
            {"E12",
             R"q(100 - blocks now)q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"alpha"},"value":[1700000030,"-85.0"]},{"metric":{"node_name":"beta"},"value":[1700000030,"-79.0"]}],"resultType":"vector"},"status":"success"})json"},
            {"E13",
             R"q((blocks now){"node_name" = "alpha"} * 2)q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"alpha"},"value":[1700000030,"30.0"]}],"resultType":"vector"},"status":"success"})json"},
            {"E14",
             R"q(join (blocks now) (mem now))q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"alpha"},"value":[1700000030,"(15.0, 1024.0)"]},{"metric":{"node_name":"beta"},"value":[1700000030,"(21.0, 2048.0)"]}],"resultType":"vector"},"status":"success"})json"},
            {"E15",
             R"q((\t -> (blocks t){"node_name" = "alpha"})[now - 30s; now : 15s])q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"alpha"},"values":[[1700000000,"10.0"],[1700000015,"12.0"],[1700000030,"15.0"]]}],"resultType":"matrix"},"status":"success"})json"},
            {"E16", R"q(metrics)q", 200, R"json({"data":{"head":{"result":"blocks","resultType":"text"},"resultType":"cons","tail":{"head":{"result":"mem","resultType":"text"},"resultType":"cons","tail":{"resultType":"nil"}}},"status":"success"})json"},
            {"E17",
             R"q(now - 500ms)q",
             200,
             R"json({"data":{"result":1.7000000295e9,"resultType":"timestamp"},"status":"success"})json"},
            {"E18",
             R"q(1s + 2s)q",
             200,
             R"json({"data":{"result":3,"resultType":"duration"},"status":"success"})json"},
            {"E19",
             R"q(to_scalar now / 1000)q",
             200,
             R"json({"data":{"result":1700000030,"resultType":"scalar"},"status":"success"})json"},
            {"E20",
             R"q((1, true))q",
             200,
             R"json({"data":{"fst":{"result":1,"resultType":"scalar"},"resultType":"pair","snd":{"resultType":"truth"}},"status":"success"})json"},
            {"E21",
             R"q(blocks)q",
             200,
             R"json({"data":{"resultType":"function"},"status":"success"})json"},
            {"E22",
             R"q(1 / 0)q",
             200,
             R"json({"data":{"result":"+inf","resultType":"scalar"},"status":"success"})json"},
            {"E22",
             R"q(0 / 0)q",
             200,
             R"json({"data":{"result":null,"resultType":"scalar"},"status":"success"})json"},
            {"E22",
             R"q(blocks now / 0)q",
             200,
             R"json({"data":{"result":[{"metric":{"node_name":"alpha"},"value":[1700000030,"Infinity"]},{"metric":{"node_name":"beta"},"value":[1700000030,"Infinity"]}],"resultType":"vector"},"status":"success"})json"},
            {"E23",
             R"q(round 2.5)q",
             200,
             R"json({"data":{"result":2,"resultType":"scalar"},"status":"success"})json"},
            {"E23",
             R"q(let x = 1 in let x = 2 in x)q",
             200,
             R"json({"data":{"result":2,"resultType":"scalar"},"status":"success"})json"},
            {"X1",
             R"q(1 + now)q",
             400,
             R"json({"error":"While executing, elaboration error: Can't solve unification constraint: Scalar = Duration @ input:1:1","errorType":"bad_data","status":"error"})json"},
            {"X2",
             R"q(true + true)q",
             400,
             R"json({"error":"While executing, elaboration error: Can't solve elaboration problems:\n() ⊦ Bool + Bool : ?0\n  @ input:1:1\n","errorType":"bad_data","status":"error"})json"},
            {"X3",
             R"q(\x -> x + x)q",
             400,
             R"json({"error":"While executing, elaboration error: Can't solve elaboration problems:\n(x : ?2) ⊦ ?2 + ?2 : ?3\n  @ input:1:7\n","errorType":"bad_data","status":"error"})json"},
            {"X4",
             R"q(blokcs now)q",
             400,
             R"json({"error":"While executing, elaboration error: Undefined name: blokcs\n  Did you mean: blocks\n  @ input:1:1","errorType":"bad_data","status":"error"})json"},
            {"X5",
             R"q(let x = 1 in x && true)q",
             400,
             R"json({"error":"While executing, elaboration error: Can't solve unification constraint: Bool = Scalar @ input:1:14","errorType":"bad_data","status":"error"})json"},
            {"X6",
             R"q(fst 1)q",
             400,
             R"json({"error":"While executing, elaboration error: Can't solve unification constraint: (?2, ?3) = Scalar @ input:1:5","errorType":"bad_data","status":"error"})json"},
            {"X6",
             R"q(to_scalar (1, 2))q",
             400,
             R"json({"error":"While executing, elaboration error: to_scalar can't be applied to an expression of type (Scalar, Scalar)\n  @ input:1:1","errorType":"bad_data","status":"error"})json"},
            {"X7",
             R"q(earliest blocks)q",
             400,
             R"json({"error":"While executing, elaboration error: Do not know how to elaborate: Earliest (SourcePos {sourceName = \"input\", sourceLine = Pos 1, sourceColumn = Pos 1}) (User \"blocks\")","errorType":"bad_data","status":"error"})json"},
            {"X8",
             R"q(rate blocks[now; now])q",
             400,
             R"json({"error":"While executing, interpretation error: rate: single-point timeseries has undefined rate (zero time span)","errorType":"execution","status":"error"})json"},
            {"X9",
             R"q(avg (mem now){"node_name" = "gamma"})q",
             400,
             R"json({"error":"While executing, interpretation error: avg: empty instant vector","errorType":"execution","status":"error"})json"},
            {"X10",
             R"q(rate)q",
             400,
             R"json({"error":"While executing, parsing error: input:1:5:\n  |\n1 | rate\n  |     ^\nWrong number of arguments (0) for `Rate`\n","errorType":"parse","status":"error"})json"},
            {"X11", R"q(blocks[now - 30s; now ])q", 400, R"json({"error":"While executing, parsing error: input:1:7:\n  |\n1 | blocks[now - 30s; now ]\n  |       ^\nunexpected '['\nexpecting \"!=\", \"&&\", \"<=\", \"==\", \">=\", \"||\", '*', '+', '-', '/', '<', '>', end of input, or white space\n","errorType":"parse","status":"error"})json"},
            {"X12",
             R"q()q",
             400,
             R"json({"error":"While executing, parsing error: input:1:1:\n  |\n1 | <empty line>\n  | ^\nunexpected end of input\nexpecting \"abs\", \"avg\", \"avg_over_time\", \"earliest\", \"epoch\", \"false\", \"filter\", \"fst\", \"increase\", \"join\", \"latest\", \"let\", \"map\", \"max\", \"metrics\", \"min\", \"now\", \"quantile_by\", \"quantile_over_time\", \"rate\", \"round\", \"snd\", \"sum_over_time\", \"to_scalar\", \"true\", \"unless\", '!', '\"', '(', '\\', '`', identifier, integer, or number\n","errorType":"parse","status":"error"})json"},
};

TEST(QueryWorkedExamples, EveryExampleOfTheSpecGivesItsBodyAndStatus) {
    const auto s = worked_example_store();
    const store_source source(s);
    for (const auto& e : examples) {
        const auto r = run_query(e.query, query_time, source);
        EXPECT_EQ(r.status, e.status) << e.name << ": " << e.query;
        EXPECT_EQ(r.body, e.body) << e.name << ": " << e.query;
    }
}

TEST(QueryWorkedExamples, IncompleteSumReportsTheEndOfInput) {  // X13
    const auto s = worked_example_store();
    const auto r = run_query("1 +", query_time, store_source(s));
    EXPECT_EQ(r.status, 400);
    const std::string message =
        "input:1:4:\n  |\n1 | 1 +\n  |    ^\nunexpected end of input\nexpecting \"abs\", "
        "\"avg\", \"avg_over_time\", \"earliest\", \"epoch\", \"false\", \"filter\", \"fst\", "
        "\"increase\", \"join\", \"latest\", \"map\", \"max\", \"metrics\", \"min\", \"now\", "
        "\"quantile_by\", \"quantile_over_time\", \"rate\", \"round\", \"snd\", "
        "\"sum_over_time\", \"to_scalar\", \"true\", \"unless\", '!', '\"', '(', '`', "
        "identifier, integer, number, or white space\n";
    EXPECT_EQ(r.body,
              "{\"error\":" + json_string("While executing, parsing error: " + message) +
                  ",\"errorType\":\"parse\",\"status\":\"error\"}");
}

}  // namespace
