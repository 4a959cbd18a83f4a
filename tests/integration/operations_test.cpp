// Operations (issue 11): the effective configuration over HTTP, with each value's source and the
// reload history, through real reloads of the real daemon.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <csignal>
#include <set>

#include "tests/integration/daemon_fixture.hpp"

namespace ct::test {
namespace {

class OperationsTest : public DaemonTest {
  protected:
    std::string config_text(const std::string& extra = "") {
        return "networkMagic: 42\n"
               "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
               "hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n"
               "logging:\n"
               "- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }\n" +
               extra;
    }
    nlohmann::json config_page(unsigned short port) {
        auto r = http_get(port, "/config");
        if (!r || r->status != 200) return nullptr;
        return nlohmann::json::parse(r->body);
    }
};

// top -H, ps -L and perf show what each thread is; the process keeps its own name (pgrep,
// pidof and killall find it by that).
TEST_F(OperationsTest, ThreadsAreNamedForTheirRole) {
    start_tracer(config_text());
    (void)bound_port("Tracer.StartedPrometheus");
    auto names = [&] {
        std::multiset<std::string> out;
        const fs::path tasks = "/proc/" + std::to_string(tracer->pid()) + "/task";
        for (const auto& t : fs::directory_iterator(tasks)) {
            std::string comm = read_file(t.path() / "comm");
            while (!comm.empty() && comm.back() == '\n') comm.pop_back();
            out.insert(comm);
        }
        return out;
    };
    std::multiset<std::string> seen;
    ASSERT_TRUE(wait_until([&] {
        seen = names();
        return seen.count("ct-io") >= 1 && seen.count("ct-http") == 1 &&
               seen.count("ct-out-file") == 1 && seen.count("ct-rotation") == 1 &&
               seen.count("cardano-tracer") == 1;
    })) << ::testing::PrintToString(seen);
}

TEST_F(OperationsTest, ConfigRouteShowsEffectiveValuesSourcesAndReloadHistory) {
    start_tracer(
        config_text("rotation: { rpLogLimitBytes: 1000000, rpKeepFilesNum: 2, "
                    "rpMaxAgeHours: 3 }\n"
                    "TraceChainDb: false\n"));
    const auto port = bound_port("Tracer.StartedPrometheus");
    auto page = config_page(port);
    ASSERT_FALSE(page.is_null());
    EXPECT_EQ(page["generation"], 1);
    EXPECT_TRUE(page["lastFailedReload"].is_null());
    EXPECT_EQ(page["config"]["networkMagic"], 42);
    EXPECT_EQ(page["config"]["loRequestNum"], 100);
    EXPECT_EQ(page["config"]["rotation"]["rpMaxAgeMinutes"], 180);
    const auto& src = page["sources"];
    EXPECT_EQ(src["networkMagic"], "file");
    EXPECT_EQ(src["loRequestNum"], "default");
    EXPECT_EQ(src["rotation"]["rpLogLimitBytes"], "file");
    EXPECT_EQ(src["rotation"]["rpFrequencySecs"], "default");
    EXPECT_EQ(src["rotation"]["rpMaxAgeMinutes"], "legacy") << "from rpMaxAgeHours";
    EXPECT_EQ(src["logging"][0]["logRoot"], "file");
    // TraceChainDb: false became Silence rules on ChainDB's prefixes.
    EXPECT_EQ(page["config"]["TraceOptions"]["ChainDB"]["severity"], "Silence") << page.dump();
    EXPECT_EQ(src["TraceOptions"]["ChainDB"], "legacy") << src.dump();

    // YAML when asked for, the same document.
    auto yaml = http_get(port, "/config", {"Accept: application/yaml"});
    ASSERT_TRUE(yaml);
    EXPECT_EQ(yaml->status, 200);
    const auto y = YAML::Load(yaml->body);
    EXPECT_EQ(y["generation"].as<int>(), 1);
    EXPECT_EQ(y["sources"]["loRequestNum"].as<std::string>(), "default");

    // A refused reload changes nothing but the failure record.
    write_file(dir / "tracer.yaml", config_text("loRequestNum: 0\n"));
    tracer->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return count("Tracer.ReloadFailed") == 1; }));
    page = config_page(port);
    ASSERT_FALSE(page.is_null());
    EXPECT_EQ(page["generation"], 1);
    EXPECT_EQ(page["config"]["loRequestNum"], 100);
    ASSERT_TRUE(page["lastFailedReload"].is_object()) << page.dump();
    EXPECT_NE(page["lastFailedReload"]["problems"].dump().find("loRequestNum"), std::string::npos);
    EXPECT_FALSE(page["lastFailedReload"]["at"].get<std::string>().empty());

    // An applied one moves the generation and the sources.
    write_file(dir / "tracer.yaml", config_text("loRequestNum: 50\n"));
    tracer->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return count("Tracer.ConfigReloaded") == 1; }));
    // The reload message is written a moment before the page's generation moves (failed
    // once on a clean clone): wait for the page itself.
    ASSERT_TRUE(wait_until([&] {
        page = config_page(port);
        return !page.is_null() && page["generation"] == 2;
    }));
    EXPECT_EQ(page["config"]["loRequestNum"], 50);
    EXPECT_EQ(page["sources"]["loRequestNum"], "file");
    EXPECT_EQ(page["sources"]["rotation"], "default");
    EXPECT_EQ(stop_tracer(), 0);
}

// What a reload of a file would change, asked of the running daemon before any SIGHUP.
TEST_F(OperationsTest, CheckConfigAgainstRunningShowsWhatAReloadWouldChange) {
    start_tracer(config_text());
    const auto port = bound_port("Tracer.StartedPrometheus");
    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    auto check = [&](const std::string& file, const std::string& label) {
        child_process c(tracer_exe,
                        {"--config", file, "--check-config", "--against-running", url},
                        dir.path(),
                        label,
                        dir.path());
        const auto status = c.wait_exit();
        return std::make_tuple(status.value_or(-1), c.stdout_text(), c.stderr_text());
    };
    // The very file it runs: nothing to change.
    {
        auto [status, out, err] = check("tracer.yaml", "same");
        EXPECT_EQ(status, 0) << err;
        EXPECT_NE(out.find("compared with generation 1 running at " + url), std::string::npos)
            << out;
        EXPECT_NE(out.find("would change nothing"), std::string::npos) << out;
    }
    // A changed request size and listen address (applied) and thread count (needs a restart).
    write_file(dir / "next.yaml",
               "networkMagic: 42\n"
               "network: { tag: AcceptAt, contents: \"other.sock\" }\n"
               "hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n"
               "loRequestNum: 50\n"
               "ioThreads: 3\n"
               "logging:\n"
               "- { logRoot: logs, logMode: FileMode, logFormat: ForMachine }\n");
    {
        auto [status, out, err] = check("next.yaml", "next");
        EXPECT_EQ(status, 0) << err;
        EXPECT_NE(out.find("  loRequestNum: 100 -> 50 (applied by a reload)"), std::string::npos)
            << out;
        EXPECT_NE(
            out.find("  network: {\"tag\":\"AcceptAt\",\"contents\":\"tracer.sock\"} -> "
                     "{\"tag\":\"AcceptAt\",\"contents\":\"other.sock\"} (applied by a reload)"),
            std::string::npos)
            << out;
        EXPECT_NE(out.find("  ioThreads: 2 -> 3 (needs a restart)"), std::string::npos) << out;
        EXPECT_EQ(out.find("logging"), std::string::npos) << "unchanged keys are not listed";
    }
    // Nothing listening: a clear error and status 2; an invalid file: status 1, no fetch.
    {
        child_process c(tracer_exe,
                        {"--config", "next.yaml", "--against-running", "http://127.0.0.1:1"},
                        dir.path(),
                        "unreachable",
                        dir.path());
        EXPECT_EQ(c.wait_exit().value_or(-1), 2);
        EXPECT_NE(c.stderr_text().find("cannot read http://127.0.0.1:1/config"), std::string::npos)
            << c.stderr_text();
    }
    write_file(dir / "bad.yaml", "networkMagic: 42\n");
    auto [status, out, err] = check("bad.yaml", "bad");
    EXPECT_EQ(status, 1);
    EXPECT_EQ(out.find("compared with"), std::string::npos);
    EXPECT_EQ(stop_tracer(), 0);
}

}  // namespace
}  // namespace ct::test
