// Metric stores, name transformation, HELP matching, exposition bytes, promtool, and every
// route case of spec §7.1.1 and §7.2.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "tests/support/prom_text_check.hpp"
#include "tests/support/test_support.hpp"
#include "tracer/metrics/exposition.hpp"
#include "tracer/metrics/node_directory.hpp"
#include "tracer/metrics/routes.hpp"

namespace {

using namespace ct::tracer::metrics;
using ct::protocol::ekg_entry_view;
using ct::protocol::ekg_response_view;
using ct::protocol::metric_kind;

ekg_response_view response(std::vector<ekg_entry_view> entries) { return {std::move(entries)}; }

TEST(NodeMetrics, FirstReplyThenDeltas) {
    node_metrics m;
    m.apply(response({{"c_counter", {metric_kind::counter, 10, {}}},
                      {"g_int", {metric_kind::gauge, 5, {}}},
                      {"l_real", {metric_kind::label, 0, "0.5"}}}));
    m.apply(response({{"c_counter", {metric_kind::counter, 7, {}}},  // counters never go down
                      {"g_int", {metric_kind::gauge, -3, {}}},
                      {"l_real", {metric_kind::label, 0, "4.9e-2"}}}));
    auto s = m.snapshot();
    EXPECT_EQ(s["c_counter"].number, 10);
    EXPECT_EQ(s["g_int"].number, -3);
    EXPECT_EQ(s["l_real"].text, "4.9e-2");
    EXPECT_TRUE(s.contains("ekg.server_timestamp_ms"));
    m.apply(response({{"c_counter", {metric_kind::counter, 12, {}}}}));
    EXPECT_EQ(m.snapshot()["c_counter"].number, 12);
    EXPECT_EQ(m.snapshot()["g_int"].number, -3) << "metrics absent from a delta keep their value";
}

// The store looks first at the entry a response's position held last time; responses in
// another order, shorter, longer or with new names must land on the right entries all the same.
TEST(NodeMetrics, ResponsesInAnyOrderReachTheirEntries) {
    node_metrics m;
    std::map<std::string, std::int64_t> expected;
    std::vector<std::string> names;
    for (int i = 0; i < 12; ++i) names.push_back("n" + std::to_string(i) + "_int");
    std::uint64_t state = 7;
    for (int round = 0; round < 50; ++round) {
        std::vector<ekg_entry_view> entries;
        const std::size_t count = 1 + round % names.size();
        for (std::size_t k = 0; k < count; ++k) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            const auto& name = names[(state >> 33) % names.size()];
            const auto value = static_cast<std::int64_t>(round * 100 + static_cast<int>(k));
            entries.push_back({name, {metric_kind::gauge, value, {}}});
            expected[name] = value;  // the last one of a name in a response wins
        }
        m.apply(response(entries));
        const auto s = m.snapshot();
        for (const auto& [name, value] : expected) ASSERT_EQ(s.at(name).number, value) << name;
        ASSERT_EQ(s.size(), expected.size() + 1);  // + ekg.server_timestamp_ms
    }
}

// The store's own name, sent by a node after a read stamped it: still one entry, updated.
TEST(NodeMetrics, ANodeSendingTheServerTimestampNameUpdatesTheOneEntry) {
    node_metrics m;
    (void)m.snapshot();  // stamps ekg.server_timestamp_ms
    for (int round = 0; round < 2; ++round) {
        m.apply(response({{"a_int", {metric_kind::gauge, round, {}}},
                          {server_timestamp_name, {metric_kind::gauge, 5, {}}}}));
        m.apply(response({{server_timestamp_name, {metric_kind::gauge, 6, {}}}}));
        const auto s = m.snapshot();
        EXPECT_EQ(s.size(), 2u);
        EXPECT_EQ(s.at("a_int").number, round);
    }
}

TEST(Exposition, NameTransformation) {
    EXPECT_EQ(prometheus_name("cardano.node.metrics.blockNum_int", false),
              "cardano_node_metrics_blockNum_int");
    EXPECT_EQ(prometheus_name("cardano.node.metrics.blockNum_int", true),
              "cardano_node_metrics_blockNum");
    EXPECT_EQ(prometheus_name("a.b_counter", true), "a_b");
    EXPECT_EQ(prometheus_name("a.b_real", true), "a_b");
    EXPECT_EQ(prometheus_name("x_int_real", true), "x_int");
    EXPECT_EQ(prometheus_name("rts.gc.num-gcs x", false), "rts_gc_num_gcs_x");
    EXPECT_EQ(prometheus_name("Mem.resident(MB)/s", false), "Mem_residentMBs");
    EXPECT_EQ(prometheus_name("1abc", false), "_1abc");
}

TEST(Exposition, HelpFirstSortedSubstringWins) {
    std::map<std::string, std::string> help{
        {"Mem.resident", "RSS"}, {"epoch", "Epoch"}, {"ep", "short"}, {"blockNum", ""}};
    EXPECT_EQ(help_for("cardano.node.metrics.Mem.resident_int", help), "RSS");
    EXPECT_EQ(help_for("cardano.node.metrics.epoch_int", help), "short")
        << "\"ep\" sorts before \"epoch\"";
    EXPECT_FALSE(help_for("cardano.node.metrics.blockNum_int", help)) << "empty texts are dropped";
    EXPECT_FALSE(help_for("rts.gc.num_gcs", help));
}

TEST(Exposition, ExactBodyEveryKindTyped) {
    metric_snapshot s;
    s["cardano.node.metrics.blockNum_int"] = {metric_kind::gauge, 12345678, {}};
    s["cardano.node.metrics.density_real"] = {metric_kind::label, 0, "4.95e-2"};
    s["cardano.node.metrics.Forge.forged_counter"] = {metric_kind::counter, 12, {}};
    s["cardano.node.metrics.cardano_build_info"] = {
        metric_kind::label, 0, "{version=\"10.5.1\",revision=\"abc\"} 1"};
    s["cardano.node.metrics.era"] = {metric_kind::label, 0, "Conway \"x\"\n"};
    exposition_options o;
    o.help = {{"blockNum", "Number of blocks in this chain fragment."},
              {"density", "Line one\nback\\slash"}};
    EXPECT_EQ(render_node(s, o),
              "# TYPE cardano_node_metrics_Forge_forged_counter counter\n"
              "cardano_node_metrics_Forge_forged_counter 12\n"
              "# TYPE cardano_node_metrics_blockNum_int gauge\n"
              "# HELP cardano_node_metrics_blockNum_int Number of blocks in this chain fragment.\n"
              "cardano_node_metrics_blockNum_int 12345678\n"
              "# TYPE cardano_node_metrics_cardano_build_info gauge\n"
              "cardano_node_metrics_cardano_build_info{version=\"10.5.1\",revision=\"abc\"} 1\n"
              "# TYPE cardano_node_metrics_density_real gauge\n"
              "# HELP cardano_node_metrics_density_real Line one\\nback\\\\slash\n"
              "cardano_node_metrics_density_real 0.0495\n"
              "# TYPE cardano_node_metrics_era gauge\n"
              "cardano_node_metrics_era{value=\"Conway \\\"x\\\"\\n\"} 1\n"
              "# EOF\n");
}

TEST(Exposition, NoSuffixCollisionsKeepOneFamily) {
    metric_snapshot s;
    s["x_int"] = {metric_kind::gauge, 1, {}};
    s["x_real"] = {metric_kind::label, 0, "2.5"};
    exposition_options o;
    o.no_suffix = true;
    EXPECT_EQ(render_node(s, o), "# TYPE x gauge\nx 1\n# EOF\n");
}

TEST(Exposition, ManyCollidingNamesKeepTheFirstOfEach) {
    // 3000 EKG names, each family name reached twice ("m.N" and "m_N" both become m_N): the
    // duplicate set grows several times and must keep exactly one sample per family, the one
    // of the first name in EKG order ("m.N" sorts before "m_N").
    metric_snapshot s;
    for (int i = 0; i < 1500; ++i) {
        s["m." + std::to_string(i)] = {metric_kind::gauge, 1, {}};
        s["m_" + std::to_string(i)] = {metric_kind::gauge, 2, {}};
    }
    const auto text = render_node(s, {});
    std::size_t types = 0, ones = 0;
    for (const auto& line : ct::test::split_lines(text)) {
        types += line.starts_with("# TYPE ");
        ones += line.starts_with("m_") && line.ends_with(" 1");
    }
    EXPECT_EQ(types, 1500u);
    EXPECT_EQ(ones, 1500u);
}

// A store keeps each name's Prometheus form, its HELP lookup and whether two names collide, so
// that scrapes do not redo that work; what it renders must be exactly what rendering its
// snapshot from scratch gives, in both suffix modes, with names that collide, start with a
// digit, are only a suffix, or hold bytes Prometheus drops.
TEST(Exposition, StoreCachesRenderExactlyWhatASnapshotRenders) {
    std::vector<std::string> names = {"x_int",
                                      "x_real",
                                      "x",
                                      "1abc_int",
                                      "_int",
                                      "_counter",
                                      "a b-c.d_counter",
                                      "caf\xc3\xa9_real",
                                      "m.0",
                                      "m_0",
                                      "ekg.server_timestamp_ms.x",
                                      "rts.gc.bytes_copied"};
    for (int i = 0; i < 200; ++i) {
        std::string n = "cardano.node.metrics.s";
        for (int k = 0; k <= i % 7; ++k) n += "._- 9"[static_cast<std::size_t>((i * 7 + k) % 5)];
        n += std::to_string(i % 40) + (i % 3 == 0 ? "_int" : i % 3 == 1 ? "_real" : "");
        names.push_back(n);
    }
    for (std::size_t split : {names.size(), std::size_t{5}}) {  // one response, or two
        node_metrics store;
        std::vector<ekg_entry_view> first, second;
        for (std::size_t i = 0; i < names.size(); ++i)
            (i < split ? first : second)
                .push_back({names[i], {metric_kind::gauge, static_cast<std::int64_t>(i), {}}});
        store.apply(response(first));
        store.apply(response(second));
        for (bool no_suffix : {false, true}) {
            exposition_options o;
            o.no_suffix = no_suffix;
            o.help = {{"s.", "dotted"}, {"_int", "an int"}, {"x", "ex"}};
            o.help_generation = new_help_generation();
            for (int scrape = 0; scrape < 2; ++scrape) {  // the second uses the caches
                std::string cached, fresh;
                store.visit([&](const metric_snapshot& m, const series_hints& h) {
                    cached = render_node(m, o, &h);
                    exposition_options copy = o;
                    EXPECT_EQ(copy.help_generation.value, 0u) << "a copy's help is another map";
                    fresh = render_node(m, copy);
                });
                EXPECT_EQ(cached, fresh) << "no_suffix " << no_suffix << " scrape " << scrape;
            }
            // A reload builds new options: the cached HELP follows them.
            exposition_options reloaded;
            reloaded.no_suffix = no_suffix;
            reloaded.help = {{"x", "ex, reloaded"}};
            reloaded.help_generation = new_help_generation();
            std::string text;
            store.visit([&](const metric_snapshot& m, const series_hints& h) {
                text = render_node(m, reloaded, &h);
            });
            EXPECT_NE(text.find("# HELP x ex, reloaded\n"), std::string::npos);
            EXPECT_EQ(text.find("dotted"), std::string::npos);
        }
    }
}

// /metrics keeps each node's rendering in its store and re-renders only the nodes whose
// metrics moved; the body must be exactly what rendering every snapshot afresh gives: the
// server time of each read, families shared by nodes, a name another node gives another
// type (left out), aliases, and options replaced by a reload.
TEST(Exposition, AllNodesPageReusesEachNodesRenderingUntilItChanges) {
    auto aliases = std::make_shared<ct::config::metric_alias_table>();
    (*aliases)["a_int"] = "alias_of_a_int";
    std::vector<std::unique_ptr<node_metrics>> stores;
    const std::vector<std::string> names = {"relay-1", "bp \"2\"", "relay-3"};
    for (std::size_t n = 0; n < names.size(); ++n) {
        auto s = std::make_unique<node_metrics>();
        const auto kind = n == 1 ? metric_kind::label : metric_kind::counter;
        s->apply(response({{"cardano.node.metrics.a_int", {metric_kind::gauge, 1, {}}},
                           {"shared_counter", {kind, 5, "7"}},
                           {"only." + std::to_string(n), {metric_kind::gauge, 2, {}}},
                           {"x_int", {metric_kind::gauge, 3, {}}},
                           {"x_real", {metric_kind::label, 0, "{k=\"v\"} 2.5"}}}));
        stores.push_back(std::move(s));
    }
    auto make_options = [&] {
        auto o = std::make_unique<exposition_options>();
        o->no_suffix = true;
        o->help = {{"only", "one node's"}, {"shared", "a shared \\ one"}};
        o->help_generation = new_help_generation();
        o->aliases = aliases;
        return o;
    };
    auto opts = make_options();
    // One scrape: the body as kept renderings give it, the body from fresh snapshots of the
    // same reads, and each store's kept rendering.
    auto scrape = [&](std::vector<std::shared_ptr<const node_families>>& kept) {
        multi_node_exposition all(*opts);
        std::vector<std::pair<std::string, metric_snapshot>> copies;
        kept.clear();
        for (std::size_t n = 0; n < stores.size(); ++n) {
            stores[n]->visit([&](const metric_snapshot& m, const series_hints& h) {
                all.add_node(names[n], m, &h);
                copies.emplace_back(names[n], m);
                kept.push_back(h.rendered);  // held: no address is reused
            });
        }
        exposition_options fresh = *opts;  // a copy: nothing kept, nothing reused
        return std::pair{all.finish(), render_nodes(copies, fresh)};
    };
    auto next_millisecond = [] {
        const auto ms = [] {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                .count();
        };
        for (const auto start = ms(); ms() == start;) std::this_thread::yield();
    };
    std::vector<std::shared_ptr<const node_families>> first, second, third, fourth;
    auto [body1, expected1] = scrape(first);
    EXPECT_EQ(body1, expected1);
    EXPECT_NE(body1.find("alias_of_a{node_name=\"relay-3\"} 1\n"), std::string::npos) << body1;
    EXPECT_EQ(body1.find("shared{node_name=\"bp"), std::string::npos) << "another type: left out";
    EXPECT_NE(body1.find("# TYPE shared counter\n# HELP shared a shared \\\\ one\n"),
              std::string::npos)
        << body1;
    for (const auto& k : first) EXPECT_NE(k, nullptr);

    next_millisecond();
    auto [body2, expected2] = scrape(second);
    EXPECT_EQ(body2, expected2) << "the server time of this read";
    EXPECT_NE(body2, body1);
    EXPECT_EQ(second, first) << "nothing changed: every rendering reused";

    stores[1]->apply(response({{"x_int", {metric_kind::gauge, 4, {}}}}));
    auto [body3, expected3] = scrape(third);
    EXPECT_EQ(body3, expected3);
    EXPECT_NE(body3.find("x{node_name=\"bp \\\"2\\\"\"} 4\n"), std::string::npos) << body3;
    EXPECT_EQ(third[0], first[0]);
    EXPECT_NE(third[1], first[1]) << "the node whose metrics moved is rendered again";
    EXPECT_EQ(third[2], first[2]);

    auto old = std::move(opts);
    opts = make_options();  // a reload
    opts->help = {{"only", "reloaded"}};
    auto [body4, expected4] = scrape(fourth);
    EXPECT_EQ(body4, expected4);
    EXPECT_NE(body4.find("# HELP only_0 reloaded\n"), std::string::npos) << body4;
    for (std::size_t n = 0; n < fourth.size(); ++n) EXPECT_NE(fourth[n], third[n]);
}

// The all-nodes page merges the nodes' sorted series (a scan of the heads while the nodes
// share their names, a heap once they do not: here 150 nodes that each show names of their
// own). Checked against a plain reference: each node rendered alone, its families gathered
// by name in node order, the first node's type and HELP kept.
TEST(Exposition, AllNodesMergeMatchesAReferenceForFewAndManyNodes) {
    std::mt19937 rng(7);
    std::vector<std::string> pool;
    for (int i = 0; i < 60; ++i) pool.push_back("m" + std::to_string(i * 37 % 100) + "_int");
    for (std::size_t count : {std::size_t{1},
                              std::size_t{3},
                              std::size_t{16},
                              std::size_t{17},
                              std::size_t{40},
                              std::size_t{150}}) {
        std::vector<std::pair<std::string, metric_snapshot>> nodes;
        for (std::size_t n = 0; n < count; ++n) {
            metric_snapshot snap;
            for (const auto& name : pool) {
                if (rng() % 3 == 0) continue;  // each node shows a different subset
                const auto kind = rng() % 5 == 0 ? metric_kind::counter : metric_kind::gauge;
                snap[name] = {kind, static_cast<std::int64_t>(rng() % 1000), {}};
            }
            // Names of this node only, before the shared ones.
            for (int own = 0; count == 150 && own < 10; ++own) {
                snap["a" + std::to_string(n) + "_" + std::to_string(own)] = {
                    metric_kind::gauge, own, {}};
            }
            nodes.emplace_back("n" + std::to_string(n), std::move(snap));
        }
        exposition_options o;
        o.help = {{"m1", "help of m1"}};
        struct family {
            bool counter;
            std::string text;
        };
        std::map<std::string, family> reference;
        for (const auto& node : nodes) {
            const auto alone = render_nodes({node}, o);
            std::istringstream lines(alone);
            std::string line, name;
            family* f = nullptr;
            bool new_family = false;
            while (std::getline(lines, line)) {
                if (line.starts_with("# TYPE ")) {
                    std::istringstream words(line.substr(7));
                    std::string type;
                    words >> name >> type;
                    auto [it, fresh] = reference.try_emplace(name, family{type == "counter", {}});
                    new_family = fresh;
                    f = (fresh || it->second.counter == (type == "counter")) ? &it->second
                                                                             : nullptr;
                    if (f && fresh) f->text += line + "\n";
                } else if (line.starts_with("# HELP ")) {
                    if (f && new_family) f->text += line + "\n";
                } else if (f) {
                    f->text += line + "\n";
                }
            }
        }
        std::string expected;
        for (const auto& [name, f] : reference) expected += f.text;
        EXPECT_EQ(render_nodes(nodes, o), expected) << count << " nodes";
    }
}

TEST(Exposition, AllNodesCarryNodeNameLabel) {
    metric_snapshot a, b;
    a["g_int"] = {metric_kind::gauge, 1, {}};
    a["b_info"] = {metric_kind::label, 0, "{v=\"1\"} 1"};
    b["g_int"] = {metric_kind::gauge, 2, {}};
    const auto text = render_nodes({{"relay \"1\"", a}, {"bp", b}}, {});
    EXPECT_EQ(text,
              "# TYPE b_info gauge\n"
              "b_info{node_name=\"relay \\\"1\\\"\",v=\"1\"} 1\n"
              "# TYPE g_int gauge\n"
              "g_int{node_name=\"relay \\\"1\\\"\"} 1\n"
              "g_int{node_name=\"bp\"} 2\n");
}

// Regression (a node could forge samples): label texts are parsed and re-escaped, never
// copied; a label text that is not a clean label set becomes one escaped value.
TEST(Exposition, LabelTextsCannotInjectLines) {
    metric_snapshot s;
    s["a_info"] = {metric_kind::label, 0, "{v=\"1\"} 1\nforged_sample 666\n# EOF\n"};
    s["b_info"] = {metric_kind::label, 0, "{v=\"x\nforged_sample 666\"} 1"};
    s["c_info"] = {metric_kind::label, 0, "{v=\"1\"}\nforged_sample 666"};
    s["d_info"] = {metric_kind::label, 0, "text\nforged_sample 666"};
    s["e_info"] = {metric_kind::label, 0, "{node_name=\"evil\",v=\"1\",v=\"2\"} 1"};
    s["f_info"] = {metric_kind::label, 0, "{v=\"a\\\"b\"} 1"};
    const auto one = render_node(s, {});
    const auto all = render_nodes({{"n1", s}, {"n2", s}}, {});
    for (const auto& text : {one, all}) {
        for (const auto& line : ct::test::split_lines(text))
            EXPECT_FALSE(line.starts_with("forged_sample")) << text;
    }
    EXPECT_EQ(ct::test::check_prom_text(one, true), "") << one;
    EXPECT_EQ(ct::test::check_prom_text(all, false), "") << all;
    EXPECT_NE(all.find("e_info{node_name=\"n1\",v=\"1\"} 1"), std::string::npos) << all;
    EXPECT_NE(one.find("f_info{v=\"a\\\"b\"} 1"), std::string::npos) << one;
}

// Arbitrary names, label texts and help texts (a seeded generator; the fuzz target explores
// further): the exposition always parses.
TEST(Exposition, ArbitraryTextsAlwaysGiveAValidExposition) {
    std::uint64_t state = 42;
    auto next = [&] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<std::uint32_t>(state >> 33);
    };
    const std::string alphabet = "ab_.- 9{}=\",\\\n#:é\t";
    auto text = [&](std::size_t max) {
        std::string t;
        const auto n = next() % max;
        for (std::size_t i = 0; i < n; ++i) {
            const auto k = next() % alphabet.size();
            const auto byte = static_cast<unsigned char>(alphabet[k]);
            if ((byte & 0xc0) == 0x80) continue;  // the second byte of 'é' comes with the first
            t += alphabet[k];
            if (byte == 0xc3) t += alphabet[k + 1];
        }
        return t;
    };
    for (int round = 0; round < 300; ++round) {
        metric_snapshot s;
        exposition_options o;
        for (int m = 0; m < 8; ++m) {
            const auto kind = static_cast<metric_kind>(next() % 3);
            std::string label = text(30);
            if (next() % 2) label = "{" + text(5) + "=\"" + text(10) + "\"} " + text(4);
            s[text(12)] = {kind, static_cast<std::int64_t>(next()), label};
        }
        o.help[text(3)] = text(20);
        o.no_suffix = next() % 2;
        const auto one = render_node(s, o);
        const auto all = render_nodes({{text(8), s}, {text(8), s}}, o);
        ASSERT_EQ(ct::test::check_prom_text(one, true), "") << one;
        ASSERT_EQ(ct::test::check_prom_text(all, false), "") << all;
    }
}

#ifdef CT_PROMTOOL
TEST(Exposition, PromtoolAcceptsOurBodies) {
    metric_snapshot s;
    s["cardano.node.metrics.blockNum_int"] = {metric_kind::gauge, 1, {}};
    s["cardano.node.metrics.density_real"] = {metric_kind::label, 0, "4.95e-2"};
    s["cardano.node.metrics.Forge.forged_counter"] = {metric_kind::counter, 12, {}};
    s["cardano.node.metrics.cardano_build_info"] = {
        metric_kind::label, 0, "{version=\"10.5.1\"} 1"};
    s["cardano.node.metrics.era"] = {metric_kind::label, 0, "Conway"};
    s["rts.gc.num_gcs"] = {metric_kind::counter, 3, {}};
    s["9lives"] = {metric_kind::gauge, 9, {}};
    s["forge_attempt"] = {metric_kind::label, 0, "{v=\"1\"} 1\nforged_sample 666\n# EOF"};
    exposition_options o;
    o.help = {{"density", "weird \\ help\nwith newline"}};
    ct::test::temp_dir d;
    std::string node = render_node(s, o);
    node.resize(node.size() -
                std::string("# EOF\n").size());  // text format 0.0.4 has no EOF marker
    ct::test::write_file(d / "node.prom", node);
    ct::test::write_file(d / "all.prom", render_nodes({{"a", s}, {"b", s}}, o));
    for (const char* f : {"node.prom", "all.prom"}) {
        const std::string cmd = std::string(CT_PROMTOOL) + " check metrics < " + (d / f).string() +
                                " > " + (d / "out").string() + " 2>&1";
        const int rc = std::system(cmd.c_str());
        const auto out = ct::test::read_file(d / "out");
        // Lint findings (e.g. counters without _total) are allowed; parse errors are not.
        EXPECT_EQ(out.find("error"), std::string::npos) << f << ":\n" << out;
        (void)rc;
    }
}
#endif

// ------------------------------------------------------------------------------- routes

struct RoutesTest : ::testing::Test {
    node_directory nodes;
    exposition_options exposition;
    std::map<std::string, std::string> sd_labels{{"env", "test"}, {"node_name", "ignored"}};
    prometheus_context ctx{
        nodes,
        exposition,
        sd_labels,
        [] { return std::string("own_metric 1\n"); },
        [] { return true; },
        [](bool yaml) { return std::string(yaml ? "generation: 1\n" : "{\"generation\":1}"); }};
    void SetUp() override {
        auto s1 = nodes.add(1);
        nodes.set_name(1, "relay-1");
        s1->apply(response({{"cardano.node.metrics.blockNum_int", {metric_kind::gauge, 7, {}}}}));
        auto s2 = nodes.add(2);
        nodes.set_name(2, "127.0.0.1_30004");
        nodes.add(3);  // connected but not named yet
    }
    static http_request get(std::string target, std::optional<std::string> accept = std::nullopt) {
        http_request r;
        r.target = std::move(target);
        if (accept) {
            r.has_accept = true;
            r.accept = *accept;
        }
        r.host = "127.0.0.1:12808";
        return r;
    }
};

TEST_F(RoutesTest, RootListsNodesAsJsonOrHtml) {
    auto j = prometheus_route(get("/"), ctx);
    EXPECT_EQ(j.status, 200u);
    EXPECT_EQ(j.content_type, "application/json");
    EXPECT_EQ(j.body, R"({"127.0.0.1_30004":"/127001-30004","relay-1":"/relay-1"})");
    auto h = prometheus_route(get("/", "text/html"), ctx);
    EXPECT_EQ(h.content_type, "text/html;charset=utf-8");
    EXPECT_NE(h.body.find("<title>Prometheus metrics</title>"), std::string::npos);
    EXPECT_NE(h.body.find("<a href=\"/relay-1\">relay-1</a>"), std::string::npos);
    node_directory empty;
    prometheus_context ectx{empty, {}, {}, {}, {}, {}};
    EXPECT_EQ(prometheus_route(get("/", "text/html"), ectx).body,
              "There are no connected nodes yet.");
    EXPECT_EQ(prometheus_route(get("/"), ectx).body, "{}");
}

TEST_F(RoutesTest, TargetsForServiceDiscovery) {
    auto r = prometheus_route(get("/targets"), ctx);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.content_type, "application/json");
    auto j = nlohmann::json::parse(r.body);
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[1]["targets"][0], "127.0.0.1:12808");
    EXPECT_EQ(j[1]["labels"]["__metrics_path__"], "/relay-1");
    EXPECT_EQ(j[1]["labels"]["node_name"], "relay-1") << "built-in labels win";
    EXPECT_EQ(j[1]["labels"]["env"], "test");
    auto fwd = get("/targets");
    fwd.forwarded_host = "proxy:80";
    EXPECT_EQ(nlohmann::json::parse(prometheus_route(fwd, ctx).body)[0]["targets"][0], "proxy:80");
    auto nohost = get("/targets");
    nohost.host.clear();
    EXPECT_EQ(prometheus_route(nohost, ctx).body, "[]");
    auto html = prometheus_route(get("/targets", "text/html"), ctx);
    EXPECT_EQ(html.status, 415u);
    EXPECT_EQ(html.content_type, "text/plain;charset=utf-8");
    EXPECT_EQ(html.body, "Unsupported Media Type");
}

TEST_F(RoutesTest, NodeExpositionAndContentTypes) {
    auto om = prometheus_route(get("/relay-1"), ctx);
    EXPECT_EQ(om.status, 200u);
    EXPECT_EQ(om.content_type, "application/openmetrics-text;version=1.0.0;charset=utf-8");
    EXPECT_NE(om.body.find("cardano_node_metrics_blockNum_int 7\n"), std::string::npos);
    EXPECT_TRUE(om.body.ends_with("# EOF\n"));
    auto text = prometheus_route(get("/relay-1/metrics", "text/plain"), ctx);
    EXPECT_EQ(text.content_type, "text/plain;version=0.0.4;charset=utf-8");
    EXPECT_EQ(text.body.substr(0, 40), om.body.substr(0, 40));
    auto missing = prometheus_route(get("/nope/x"), ctx);
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(missing.body, "Not found: nope");
}

TEST_F(RoutesTest, AggregateHealthAndReadiness) {
    auto all = prometheus_route(get("/metrics"), ctx);
    EXPECT_EQ(all.status, 200u);
    EXPECT_NE(all.body.find("cardano_node_metrics_blockNum_int{node_name=\"relay-1\"} 7"),
              std::string::npos);
    EXPECT_NE(all.body.find("own_metric 1"), std::string::npos);
    EXPECT_EQ(prometheus_route(get("/healthz"), ctx).status, 200u);
    EXPECT_EQ(prometheus_route(get("/readyz"), ctx).status, 200u);
    prometheus_context not_ready{nodes, {}, {}, {}, [] { return false; }, {}};
    EXPECT_EQ(prometheus_route(get("/readyz"), not_ready).status, 503u);
    // GET /config: JSON, or YAML when asked for; absent without a page.
    const auto cfg = prometheus_route(get("/config"), ctx);
    EXPECT_EQ(cfg.status, 200u);
    EXPECT_EQ(cfg.content_type, "application/json");
    EXPECT_EQ(cfg.body, "{\"generation\":1}");
    auto yaml_req = get("/config");
    yaml_req.has_accept = true;
    yaml_req.accept = "application/yaml";
    const auto cfg_yaml = prometheus_route(yaml_req, ctx);
    EXPECT_EQ(cfg_yaml.content_type, "application/yaml;charset=utf-8");
    EXPECT_EQ(cfg_yaml.body, "generation: 1\n");
    EXPECT_EQ(prometheus_route(get("/config"), not_ready).status, 404u);
}

TEST_F(RoutesTest, RoutesAreLive) {
    nodes.remove(1);
    EXPECT_EQ(prometheus_route(get("/relay-1"), ctx).status, 404u);
    auto s = nodes.add(9);
    nodes.set_name(9, "late");
    EXPECT_EQ(prometheus_route(get("/late"), ctx).status, 200u);
}

TEST_F(RoutesTest, NodeWhoseSlugIsMetricsKeepsItsRoute) {
    auto s = nodes.add(11);
    nodes.set_name(11, "Metrics");
    s->apply(response({{"mine_int", {metric_kind::gauge, 3, {}}}}));
    const auto r = prometheus_route(get("/metrics"), ctx);
    EXPECT_EQ(r.status, 200u);
    EXPECT_NE(r.body.find("mine_int 3\n"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("node_name="), std::string::npos) << "the node's own exposition";
}

TEST_F(RoutesTest, EqualSlugsStayReachable) {
    nodes.add(10);
    nodes.set_name(10, "relay_1");  // slug relay-1 again
    auto list = nlohmann::json::parse(prometheus_route(get("/"), ctx).body);
    EXPECT_EQ(list["relay-1"], "/relay-1");
    EXPECT_EQ(list["relay_1"], "/relay-1-2");
}

TEST_F(RoutesTest, EkgRoutes) {
    auto list = ekg_route(get("/"), nodes);
    EXPECT_EQ(list.content_type, "application/json");
    EXPECT_EQ(ekg_route(get("/", "text/html"), nodes).body.find("<title>EKG metrics</title>") !=
                  std::string::npos,
              true);
    auto tree = ekg_route(get("/relay-1", "application/json"), nodes);
    EXPECT_EQ(tree.status, 200u);
    auto j = nlohmann::json::parse(tree.body);
    EXPECT_EQ(j["cardano"]["node"]["metrics"]["blockNum_int"]["type"], "g");
    EXPECT_EQ(j["cardano"]["node"]["metrics"]["blockNum_int"]["val"], 7);
    EXPECT_EQ(j["ekg"]["server_timestamp_ms"]["type"], "c");
    auto one =
        ekg_route(get("/relay-1/cardano/node/metrics/blockNum_int", "application/json"), nodes);
    EXPECT_EQ(one.body, R"({"type":"g","val":7})");
    auto none = ekg_route(get("/relay-1/no/such", "application/json"), nodes);
    EXPECT_EQ(none.status, 404u);
    EXPECT_EQ(none.body, "\"Metric not found\"");
    auto page = ekg_route(get("/relay-1", "text/html,application/json"), nodes);
    EXPECT_EQ(page.content_type, "text/html;charset=utf-8");
    EXPECT_EQ(page.body.find("<script src"), std::string::npos) << "self-contained page";
    auto missing = ekg_route(get("/ghost"), nodes);
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(missing.body, "Not found: \"ghost\"");
}

}  // namespace

namespace {

// Found by fuzz_http_routes: a Host header that is not UTF-8 made /targets throw (a 500).
TEST_F(RoutesTest, TargetsWithANonUtf8HostHeader) {
    auto req = get("/targets");
    req.host = "bad\xff\x11host";
    const auto res = prometheus_route(req, ctx);
    EXPECT_EQ(res.status, 200);
    EXPECT_TRUE(nlohmann::json::parse(res.body, nullptr, false).is_array()) << res.body;
}

}  // namespace

namespace {

// Defect 8: a node cannot grow its metric store without bound.
TEST(NodeMetrics, NewNamesBeyondTheCapAreIgnoredAndCounted) {
    node_metrics m(5);
    std::vector<std::string> names;
    for (int i = 0; i < 20; ++i) names.push_back("m" + std::to_string(i));
    std::vector<ekg_entry_view> entries;
    for (const auto& n : names) entries.push_back({n, {metric_kind::gauge, 1, {}}});
    EXPECT_EQ(m.apply(response(entries)), 15u);
    // Known names still update; new ones are still refused.
    EXPECT_EQ(m.apply(response({{"m0", {metric_kind::gauge, 9, {}}}})), 0u);
    EXPECT_EQ(m.apply(response({{"new", {metric_kind::gauge, 9, {}}}})), 1u);
    const auto snap = m.snapshot();
    EXPECT_EQ(snap.at("m0").number, 9);
    EXPECT_FALSE(snap.contains("new"));
}

}  // namespace

namespace {

TEST(MetricAliases, EveryShippedRowParsesAndMapsWithThePrefixKept) {
    std::vector<ct::config::table_problem> problems;
    const auto table =
        ct::config::parse_metric_aliases(ct::config::builtin_legacy_metrics(), problems);
    EXPECT_TRUE(problems.empty());
    ASSERT_GT(table.size(), 40u);
    std::string out;
    for (const auto& [fresh, old] : table) {
        ASSERT_TRUE(ct::tracer::metrics::alias_of(table, "cardano.node.metrics." + fresh, out));
        EXPECT_EQ(out, "cardano.node.metrics." + old);
        ASSERT_TRUE(ct::tracer::metrics::alias_of(table, fresh, out));  // without the prefix
        EXPECT_EQ(out, old);
    }
    EXPECT_EQ(ct::tracer::metrics::prometheus_name(
                  "cardano.node.metrics." + table.at("Forge.forged_counter"), false),
              "cardano_node_metrics_Forge_forged_int");
    EXPECT_EQ(ct::tracer::metrics::prometheus_name(
                  "cardano.node.metrics." + table.at("node_start_time_int"), false),
              "cardano_node_metrics_nodeStartTime_int");
    EXPECT_FALSE(ct::tracer::metrics::alias_of(table, "cardano.node.metrics.slotNum_int", out));
}

TEST(MetricAliases, ProblemsNameTheLine) {
    std::vector<ct::config::table_problem> problems;
    ct::config::parse_metric_aliases("a b\nc\nd d\na e\n", problems);
    ASSERT_EQ(problems.size(), 3u);
    EXPECT_EQ(problems[0].line, 2u);
    EXPECT_EQ(problems[1].line, 3u);
    EXPECT_EQ(problems[2].line, 4u);
    EXPECT_NE(problems[2].message.find("already has an alias (line 1)"), std::string::npos);
}

TEST(MetricAliases, AnAliasFollowsItsMetricUnlessTheNodeSendsThatNameItself) {
    using namespace ct::tracer::metrics;
    auto aliases = std::make_shared<ct::config::metric_alias_table>();
    (*aliases)["Forge.forged_counter"] = "Forge.forged_int";
    (*aliases)["blocksForged_int"] = "blocksForgedNum_int";
    metric_snapshot snap;
    snap["cardano.node.metrics.Forge.forged_counter"] = {
        ct::protocol::metric_kind::counter, 12, {}};
    snap["cardano.node.metrics.blocksForged_int"] = {ct::protocol::metric_kind::gauge, 5, {}};
    snap["cardano.node.metrics.blocksForgedNum_int"] = {ct::protocol::metric_kind::gauge, 7, {}};
    exposition_options opts;
    opts.aliases = aliases;
    const auto text = render_node(snap, opts);
    EXPECT_NE(text.find("# TYPE cardano_node_metrics_Forge_forged_int counter\n"
                        "cardano_node_metrics_Forge_forged_int 12\n"),
              std::string::npos)
        << text;
    // The node's own blocksForgedNum_int (7) wins over the alias of blocksForged_int (5).
    EXPECT_NE(text.find("\ncardano_node_metrics_blocksForgedNum_int 7\n"), std::string::npos)
        << text;
    EXPECT_EQ(text.find("blocksForgedNum_int 5"), std::string::npos) << text;
    auto with = snap;
    add_aliases(with, *aliases);
    EXPECT_EQ(with.size(), 4u);
    EXPECT_EQ(with.at("cardano.node.metrics.Forge.forged_int").number, 12);
    EXPECT_EQ(with.at("cardano.node.metrics.blocksForgedNum_int").number, 7);
    multi_node_exposition multi(opts);
    multi.add_node("a", snap);
    EXPECT_NE(multi.finish().find("cardano_node_metrics_Forge_forged_int{node_name=\"a\"} 12"),
              std::string::npos);
}

}  // namespace
