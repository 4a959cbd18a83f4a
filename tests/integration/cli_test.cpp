// The command line of the real binary: exit codes, --check-config, --print-config round trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

namespace {

using ct::test::run_to_end;
const std::string tracer = CT_TRACER_EXE;
const std::string fixtures = CT_FIXTURES_DIR;

TEST(Cli, VersionPrintsPackageVersion) {
    auto r = run_to_end(tracer, {"--version"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "0.5.0\n");
}

TEST(Cli, HelpExitsZeroWithHeader) {
    auto r = run_to_end(tracer, {"--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("cardano-tracer - the logging and monitoring service for Cardano nodes."),
              std::string::npos);
}

TEST(Cli, NoArgumentsIsAnError) {
    auto r = run_to_end(tracer, {});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("Missing: (-c|--config FILEPATH)"), std::string::npos);
}

TEST(Cli, UnknownOptionIsAnError) {
    auto r = run_to_end(tracer, {"--config", fixtures + "/minimal.yaml", "--frobnicate"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("Invalid option `--frobnicate'"), std::string::npos);
}

TEST(Cli, BadSeverityIsAnError) {
    auto r =
        run_to_end(tracer, {"-c", fixtures + "/minimal.yaml", "--min-log-severity", "Silence"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("Silence"), std::string::npos);
}

TEST(Cli, CheckConfigAcceptsMinimal) {
    auto r = run_to_end(tracer, {"-c", fixtures + "/minimal.yaml", "--check-config"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("configuration OK"), std::string::npos);
}

TEST(Cli, CheckConfigReportsEveryProblem) {
    auto r = run_to_end(tracer, {"-c", fixtures + "/bad.yaml", "--check-config"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("loRequestNum"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("rotation.rpLogLimitBytes"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("rotation.rpFrequencySecs"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("3000"), std::string::npos) << r.err;
}

TEST(Cli, MissingFileIsAnError) {
    auto r = run_to_end(tracer, {"-c", "/nonexistent/tracer.yaml", "--check-config"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("/nonexistent/tracer.yaml"), std::string::npos);
}

TEST(Cli, UnknownKeyWarnsAndStrictRejects) {
    auto lenient = run_to_end(tracer, {"-c", fixtures + "/unknown_key.yaml", "--check-config"});
    EXPECT_EQ(lenient.status, 0) << lenient.err;
    EXPECT_NE(lenient.err.find("loRequestNumber"), std::string::npos);
    EXPECT_NE(lenient.err.find("loRequestNum"), std::string::npos);
    auto strict =
        run_to_end(tracer, {"-c", fixtures + "/unknown_key.yaml", "--check-config", "--strict"});
    EXPECT_EQ(strict.status, 1);
}

TEST(Cli, PrintConfigJsonParsesBackToTheSameConfig) {
    ct::test::temp_dir dir;
    auto first = run_to_end(tracer, {"-c", fixtures + "/minimal.yaml", "--print-config", "json"});
    ASSERT_EQ(first.status, 0) << first.err;
    auto j = nlohmann::json::parse(first.out);
    EXPECT_EQ(j["loRequestNum"], 100);
    EXPECT_EQ(j["networkMagic"], 764824073);
    ct::test::write_file(dir / "printed.json", first.out);
    auto second =
        run_to_end(tracer, {"-c", (dir / "printed.json").string(), "--print-config", "json"});
    ASSERT_EQ(second.status, 0) << second.err;
    EXPECT_EQ(nlohmann::json::parse(second.out), j);
}

TEST(Cli, PrintConfigYamlParsesBackToTheSameConfig) {
    ct::test::temp_dir dir;
    auto yaml = run_to_end(tracer, {"-c", fixtures + "/minimal.yaml", "--print-config", "yaml"});
    ASSERT_EQ(yaml.status, 0) << yaml.err;
    ct::test::write_file(dir / "printed.yaml", yaml.out);
    auto from_yaml =
        run_to_end(tracer, {"-c", (dir / "printed.yaml").string(), "--print-config", "json"});
    auto from_orig =
        run_to_end(tracer, {"-c", fixtures + "/minimal.yaml", "--print-config", "json"});
    ASSERT_EQ(from_yaml.status, 0) << from_yaml.err;
    EXPECT_EQ(nlohmann::json::parse(from_yaml.out), nlohmann::json::parse(from_orig.out));
}

TEST(SystemdUnit, VerifiesCleanlyWithSystemdAnalyze) {
    // The shipped units, the service pointed at the built binary: no unknown keys, no bad
    // sections, the socket unit found beside it.
    auto unit = ct::test::read_file(CT_SYSTEMD_UNIT);
    const std::string installed = "/usr/bin/cardano-tracer";
    ASSERT_NE(unit.find(installed), std::string::npos);
    for (auto at = unit.find(installed); at != std::string::npos;
         at = unit.find(installed, at + tracer.size()))
        unit.replace(at, installed.size(), tracer);
    ct::test::temp_dir dir;
    ct::test::write_file(dir / "cardano-tracer.service", unit);
    const auto socket_unit =
        std::filesystem::path(CT_SYSTEMD_UNIT).parent_path() / "cardano-tracer.socket";
    ct::test::write_file(dir / "cardano-tracer.socket", ct::test::read_file(socket_unit));
    auto r = run_to_end("/usr/bin/systemd-analyze",
                        {"verify",
                         (dir / "cardano-tracer.service").string(),
                         (dir / "cardano-tracer.socket").string()});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_EQ(r.out + r.err, "");
    // What the issue asks of the unit, spelled out.
    for (const auto* key : {"Type=notify",
                            "ExecReload=",
                            "LogsDirectory=",
                            "WatchdogSec=",
                            "NoNewPrivileges=yes",
                            "ProtectSystem=strict",
                            "ReadWritePaths=",
                            "PrivateTmp=yes",
                            "ProtectHome=yes",
                            "RestrictAddressFamilies=",
                            "SystemCallFilter=",
                            "CapabilityBoundingSet=\n"}) {
        EXPECT_NE(unit.find(key), std::string::npos) << key;
    }
}

}  // namespace
