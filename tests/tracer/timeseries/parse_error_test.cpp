// Parse error rendering against spec timeseries §5.2.4 and §8.3 (X10–X13): errors built by
// hand as the parser will build them, rendered as megaparsec 9.7's errorBundlePretty does.
#include "tracer/timeseries/parse_error.hpp"

#include <gtest/gtest.h>

namespace {

using namespace ct::tracer::timeseries;
using kind = error_item::kind;

error_item tok(std::string t) { return {kind::tokens, std::move(t)}; }
error_item label(std::string t) { return {kind::label, std::move(t)}; }
const error_item eoi{kind::end_of_input, ""};

// Every head keyword and the atoms' first tokens: what an expression may start with.
std::set<error_item> expression_start(bool with_let_and_lambda) {
    std::set<error_item> s;
    for (const char* k : {"abs",
                          "avg",
                          "avg_over_time",
                          "earliest",
                          "epoch",
                          "false",
                          "filter",
                          "fst",
                          "increase",
                          "join",
                          "latest",
                          "map",
                          "max",
                          "metrics",
                          "min",
                          "now",
                          "quantile_by",
                          "quantile_over_time",
                          "rate",
                          "round",
                          "snd",
                          "sum_over_time",
                          "to_scalar",
                          "true",
                          "unless",
                          "!",
                          "\"",
                          "(",
                          "`"})
        s.insert(tok(k));
    if (with_let_and_lambda) {
        s.insert(tok("let"));
        s.insert(tok("\\"));
    }
    s.insert(label("identifier"));
    s.insert(label("integer"));
    s.insert(label("number"));
    return s;
}

TEST(QueryParseError, FancyArityError) {  // X10
    parse_error e;
    e.offset = 4;
    e.messages = {"Wrong number of arguments (0) for `Rate`"};
    EXPECT_EQ(render_parse_error("rate", e),
              "input:1:5:\n  |\n1 | rate\n  |     ^\nWrong number of arguments (0) for `Rate`\n");
}

TEST(QueryParseError, UnexpectedTokenWithExpectedOperators) {  // X11
    parse_error e;
    e.offset = 6;
    e.unexpected = tok("[");
    for (const char* t : {"!=", "&&", "<=", "==", ">=", "||", "*", "+", "-", "/", "<", ">"})
        e.expected.insert(tok(t));
    e.expected.insert(eoi);
    e.expected.insert(label("white space"));
    EXPECT_EQ(render_parse_error("blocks[now - 30s; now ]", e),
              "input:1:7:\n  |\n1 | blocks[now - 30s; now ]\n  |       ^\n"
              "unexpected '['\n"
              "expecting \"!=\", \"&&\", \"<=\", \"==\", \">=\", \"||\", '*', '+', '-', '/', '<', "
              "'>', end of input, or white space\n");
}

TEST(QueryParseError, EmptyQuery) {  // X12
    parse_error e;
    e.unexpected = eoi;
    e.expected = expression_start(true);
    EXPECT_EQ(
        render_parse_error("", e),
        "input:1:1:\n  |\n1 | <empty line>\n  | ^\nunexpected end of input\n"
        "expecting \"abs\", \"avg\", \"avg_over_time\", \"earliest\", \"epoch\", \"false\", "
        "\"filter\", \"fst\", \"increase\", \"join\", \"latest\", \"let\", \"map\", \"max\", "
        "\"metrics\", \"min\", \"now\", \"quantile_by\", \"quantile_over_time\", \"rate\", "
        "\"round\", \"snd\", \"sum_over_time\", \"to_scalar\", \"true\", \"unless\", '!', '\"', "
        "'(', '\\', '`', identifier, integer, or number\n");
}

TEST(QueryParseError, EndOfInputAfterAnOperator) {  // X13
    parse_error e;
    e.offset = 3;
    e.unexpected = eoi;
    e.expected = expression_start(false);
    e.expected.insert(label("white space"));
    EXPECT_EQ(
        render_parse_error("1 +", e),
        "input:1:4:\n  |\n1 | 1 +\n  |    ^\nunexpected end of input\n"
        "expecting \"abs\", \"avg\", \"avg_over_time\", \"earliest\", \"epoch\", \"false\", "
        "\"filter\", \"fst\", \"increase\", \"join\", \"latest\", \"map\", \"max\", \"metrics\", "
        "\"min\", \"now\", \"quantile_by\", \"quantile_over_time\", \"rate\", \"round\", \"snd\", "
        "\"sum_over_time\", \"to_scalar\", \"true\", \"unless\", '!', '\"', '(', '`', "
        "identifier, integer, number, or white space\n");
}

TEST(QueryParseError, LinesTabsAndPointers) {
    // Second line, after a tab (to column 9) and 'z': column 10; a two-character token under
    // the pointer.
    parse_error e;
    e.offset = 4;
    e.unexpected = tok("ab");
    e.expected = {tok("x")};
    EXPECT_EQ(
        render_parse_error("1\n\tzab", e),
        "input:2:10:\n  |\n2 |         zab\n  |          ^^\nunexpected \"ab\"\nexpecting 'x'\n");
    // A pointer that would run past the line is cut at its end (+1).
    e.offset = 2;
    e.unexpected = tok("abcdef");
    EXPECT_EQ(render_parse_error("xyab", e),
              "input:1:3:\n  |\n1 | xyab\n  |   ^^^\nunexpected \"abcdef\"\nexpecting 'x'\n");
    // Names of characters.
    EXPECT_EQ(show_error_item(tok(" ")), "space");
    EXPECT_EQ(show_error_item(tok("\n")), "newline");
    EXPECT_EQ(show_error_item(tok("\t")), "tab");
    EXPECT_EQ(show_error_item(tok("a b\t")), "\"a b<tab>\"");
    EXPECT_EQ(show_error_item(tok("\r\n")), "crlf newline");
    EXPECT_EQ(show_error_item(tok("\xc2\xa0")), "non-breaking space");
    EXPECT_EQ(show_error_item(tok("\xc3\xa9")), "'\xc3\xa9'");
    parse_error none;
    EXPECT_EQ(render_parse_error("x", none),
              "input:1:1:\n  |\n1 | x\n  | ^\nunknown parse error\n");
}

}  // namespace
