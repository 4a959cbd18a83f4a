// Configuration layer: parsing, defaults, every validation message, unknown and legacy keys,
// JSON/YAML round trip of every fixture, and that docs/config.md matches the schema.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "config/diff.hpp"
#include "config/emit.hpp"
#include "config/load.hpp"
#include "config/schema.hpp"
#include "tests/support/test_support.hpp"

namespace {

using namespace ct::config;
namespace fs = std::filesystem;

const std::string minimal = R"(
networkMagic: 764824073
network: { tag: AcceptAt, contents: "/tmp/forwarder.sock" }
logging:
- { logRoot: /tmp/logs, logMode: FileMode, logFormat: ForMachine }
)";

std::string with(const std::string& extra) { return minimal + extra; }

bool has_diag(const load_result& r,
              const std::string& path,
              const std::string& fragment,
              diagnostic::level lvl = diagnostic::level::error) {
    return std::any_of(r.diagnostics.begin(), r.diagnostics.end(), [&](const diagnostic& d) {
        return d.lvl == lvl && d.path == path && d.message.find(fragment) != std::string::npos;
    });
}

std::string dump(const load_result& r) {
    std::string s;
    for (const auto& d : r.diagnostics) s += d.to_string() + "\n";
    return s;
}

TEST(ConfigLoad, MinimalGetsEveryDefault) {
    auto r = load_string(minimal);
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& c = *r.config;
    EXPECT_EQ(c.network_magic, 764824073u);
    EXPECT_EQ(c.network.m, network_config::mode::accept_at);
    ASSERT_EQ(c.network.addresses.size(), 1u);
    EXPECT_EQ(c.network.addresses[0].path, "/tmp/forwarder.sock");
    EXPECT_EQ(c.lo_request_num, 100);
    EXPECT_DOUBLE_EQ(c.ekg_request_freq, 1.0);
    EXPECT_FALSE(c.ekg_request_full);
    EXPECT_FALSE(c.has_ekg);
    EXPECT_FALSE(c.has_prometheus);
    EXPECT_FALSE(c.has_timeseries);
    EXPECT_EQ(c.timeseries_max_series, 100'000u);
    EXPECT_EQ(c.timeseries_max_points, 32'000'000u);
    EXPECT_EQ(c.timeseries_max_points_per_node, 8'000'000u);
    EXPECT_FALSE(c.tls_certificate_);
    EXPECT_FALSE(c.has_forwarding);
    EXPECT_FALSE(c.rotation);
    EXPECT_EQ(c.verbosity, verbosity_level::errors_only);
    EXPECT_FALSE(c.metrics_no_suffix);
    EXPECT_FALSE(c.metrics_help_);
    EXPECT_FALSE(c.resource_freq);
    EXPECT_FALSE(c.prometheus_labels);
    EXPECT_EQ(c.socket_mode, 0660u);
    EXPECT_EQ(c.max_message_bytes, 32u << 20);
    EXPECT_EQ(c.max_ingress_bytes, 64u << 20);
    EXPECT_EQ(c.writer_queue_batches, 1024u);
    EXPECT_EQ(c.io_threads, 2u);
    EXPECT_EQ(c.log_flush_millis, 50u);
    EXPECT_FALSE(c.leading_empty_line);
    EXPECT_DOUBLE_EQ(c.handshake_timeout_secs, 10.0);
    EXPECT_TRUE(r.diagnostics.empty()) << dump(r);
}

TEST(ConfigLoad, TimeseriesCapsArePositiveIntegers) {
    auto r = load_string(minimal +
                         "timeseriesMaxSeries: 10\ntimeseriesMaxPoints: 1000\n"
                         "timeseriesMaxPointsPerNode: 100\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->timeseries_max_series, 10u);
    EXPECT_EQ(r.config->timeseries_max_points, 1000u);
    EXPECT_EQ(r.config->timeseries_max_points_per_node, 100u);
    auto bad = load_string(minimal + "timeseriesMaxPoints: 0\ntimeseriesMaxSeries: many\n");
    EXPECT_FALSE(bad.ok());
    EXPECT_TRUE(has_diag(bad, "timeseriesMaxPoints", "greater than 0")) << dump(bad);
    EXPECT_TRUE(has_diag(bad, "timeseriesMaxSeries", "")) << dump(bad);
}

TEST(ConfigLoad, RotationDefaultsAndHoursFallback) {
    auto r = load_string(with("rotation: { rpLogLimitBytes: 1000, rpKeepFilesNum: 3 }\n"));
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->rotation->frequency_secs, 60u);
    EXPECT_EQ(r.config->rotation->max_age_minutes, 1440u);
    EXPECT_EQ(r.config->rotation->keep_files_num, 3u);
    EXPECT_FALSE(r.config->rotation->max_files_num);
    EXPECT_FALSE(r.config->rotation->compress);

    auto h = load_string(
        with("rotation: { rpLogLimitBytes: 1000, rpKeepFilesNum: 3, rpMaxAgeHours: 2 }\n"));
    ASSERT_TRUE(h.ok()) << dump(h);
    EXPECT_EQ(h.config->rotation->max_age_minutes, 120u);

    auto both =
        load_string(with("rotation: { rpLogLimitBytes: 1000, rpKeepFilesNum: 3, rpMaxAgeHours: 2, "
                         "rpMaxAgeMinutes: 7 }\n"));
    ASSERT_TRUE(both.ok()) << dump(both);
    EXPECT_EQ(both.config->rotation->max_age_minutes, 7u);
    EXPECT_TRUE(has_diag(both, "rotation.rpMaxAgeHours", "ignored", diagnostic::level::warning));
}

TEST(ConfigLoad, RelativeLogRootBecomesAbsolute) {
    load_options o;
    o.base_dir = "/srv/tracer";
    auto r = load_string(R"(
networkMagic: 1
network: { tag: AcceptAt, contents: "tracer.sock" }
logging:
- { logRoot: "logs/./m", logMode: FileMode, logFormat: ForMachine }
- { logRoot: "logs/m", logMode: FileMode, logFormat: ForMachine }
)",
                         o);
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->logging.size(), 1u) << "exact duplicates are removed";
    EXPECT_EQ(r.config->logging[0].log_root, "/srv/tracer/logs/m");
}

TEST(ConfigLoad, JsonAndYamlGiveTheSameConfig) {
    auto y = load_file(fs::path(CT_SOURCE_DIR) / "configuration/complete-example.yaml");
    auto j = load_file(fs::path(CT_SOURCE_DIR) / "configuration/complete-example.json");
    ASSERT_TRUE(y.ok()) << dump(y);
    ASSERT_TRUE(j.ok()) << dump(j);
    EXPECT_EQ(*y.config, *j.config);
    EXPECT_EQ(y.config->network.m, network_config::mode::connect_to);
    EXPECT_EQ(y.config->rotation->max_age_minutes, 60u);
    EXPECT_EQ(y.config->has_prometheus->port, 3000);
}

// ------------------------------------------------------------------------------ validation

struct bad_case {
    std::string yaml;
    std::string path;
    std::string fragment;
};

// Readable parameter names in test output instead of a byte dump.
void PrintTo(const bad_case& c, std::ostream* os) { *os << c.path << ": " << c.fragment; }

class ConfigValidation : public ::testing::TestWithParam<bad_case> {};

TEST_P(ConfigValidation, NamesFieldAndProblem) {
    const auto& c = GetParam();
    auto r = load_string(c.yaml);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has_diag(r, c.path, c.fragment))
        << "want " << c.path << ": " << c.fragment << "\ngot:\n"
        << dump(r);
}

const std::string net = "network: { tag: AcceptAt, contents: \"/tmp/f.sock\" }\n";
const std::string logs =
    "logging: [ { logRoot: /tmp/l, logMode: FileMode, logFormat: ForMachine } ]\n";
const std::string base = "networkMagic: 1\n" + net + logs;

INSTANTIATE_TEST_SUITE_P(
    Cases,
    ConfigValidation,
    ::testing::Values(
        bad_case{net + logs, "networkMagic", "is required"},
        bad_case{"networkMagic: 4294967296\n" + net + logs, "networkMagic", "at most 4294967295"},
        bad_case{"networkMagic: -1\n" + net + logs, "networkMagic", "must not be negative"},
        bad_case{"networkMagic: 1\n" + logs, "network", "is required"},
        bad_case{"networkMagic: 1\n" + net, "logging", "is required"},
        bad_case{"networkMagic: 1\n" + net + "logging: []\n", "logging", "at least one"},
        bad_case{"networkMagic: 1\nnetwork: { tag: Listen, contents: x }\n" + logs,
                 "network.tag",
                 "expected one of AcceptAt, ConnectTo"},
        bad_case{"networkMagic: 1\nnetwork: { tag: AcceptAt, contents: \"\" }\n" + logs,
                 "network.contents",
                 "AcceptAt is empty"},
        bad_case{"networkMagic: 1\nnetwork: { tag: ConnectTo, contents: [] }\n" + logs,
                 "network.contents",
                 "ConnectTo are empty"},
        bad_case{"networkMagic: 1\nnetwork: { tag: ConnectTo, contents: \"/x\" }\n" + logs,
                 "network.contents",
                 "expected a list"},
        bad_case{base + "loRequestNum: 0\n", "loRequestNum", "must be greater than 0"},
        bad_case{base + "loRequestNum: 70000\n", "loRequestNum", "at most 65535"},
        bad_case{base + "loRequestNum: \"10\"\n",
                 "loRequestNum",
                 "expected an unsigned integer, got string \"10\""},
        bad_case{base + "ekgRequestFreq: 0\n", "ekgRequestFreq", "greater than 0"},
        bad_case{base + "rotation: { rpLogLimitBytes: 0, rpKeepFilesNum: 1 }\n",
                 "rotation.rpLogLimitBytes",
                 "must be greater than 0"},
        bad_case{
            base + "rotation: { rpLogLimitBytes: 10, rpKeepFilesNum: 1, rpFrequencySecs: 0 }\n",
            "rotation.rpFrequencySecs",
            "must be greater than 0"},
        bad_case{
            base +
                "rotation: { rpLogLimitBytes: 10, rpKeepFilesNum: 1, rpFrequencySecs: \"30\" }\n",
            "rotation.rpFrequencySecs",
            "expected an unsigned integer, got string \"30\""},
        bad_case{
            base + "rotation: { rpLogLimitBytes: 10 }\n", "rotation.rpKeepFilesNum", "is required"},
        bad_case{
            base + "rotation: { rpKeepFilesNum: 1 }\n", "rotation.rpLogLimitBytes", "is required"},
        bad_case{base + "rotation: { rpLogLimitBytes: 10, rpKeepFilesNum: 1, rpMaxFilesNum: 0 }\n",
                 "rotation.rpMaxFilesNum",
                 "greater than 0"},
        bad_case{base + "resourceFreq: 0\n", "resourceFreq", "greater than 0"},
        bad_case{base + "resourceFreq: -5\n", "resourceFreq", "greater than 0"},
        bad_case{base + "hasEKG: { epHost: 127.0.0.1, epPort: -1 }\n",
                 "hasEKG.epPort",
                 "must not be negative"},
        bad_case{base + "hasEKG: { epHost: 127.0.0.1, epPort: 70000 }\n",
                 "hasEKG.epPort",
                 "between 0 and 65535"},
        bad_case{base + "hasEKG: { epHost: \"\", epPort: 3000 }\n",
                 "hasEKG.epHost",
                 "must not be empty"},
        bad_case{base + "hasPrometheus: { epHost: h }\n", "hasPrometheus.epPort", "is required"},
        bad_case{
            base +
                "hasEKG: { epHost: a, epPort: 3000 }\nhasPrometheus: { epHost: b, epPort: 3000 }\n",
            "hasPrometheus.epPort",
            "also used by hasEKG.epPort"},
        bad_case{
            base +
                "hasEKG: { epHost: a, epPort: 3000 }\nhasTimeseries: { epHost: b, epPort: 3000 }\n",
            "hasTimeseries.epPort",
            "also used by hasEKG.epPort"},
        bad_case{"networkMagic: 1\nnetwork: { tag: AcceptAt, contents: \"0.0.0.0:3000\" }\n" +
                     logs + "hasPrometheus: { epHost: b, epPort: 3000 }\n",
                 "hasPrometheus.epPort",
                 "also used by network.contents"},
        bad_case{base + "hasPrometheus: { epHost: b, epPort: 3000, epForceSSL: true }\n",
                 "hasPrometheus.epForceSSL",
                 "requires tlsCertificate"},
        bad_case{base + "tlsCertificate: { certificateFile: /c.pem }\n",
                 "tlsCertificate.certificateKeyFile",
                 "is required"},
        bad_case{base + "hasForwarding: [ { tag: AcceptAt, contents: \"/x\" }, null, "
                        "{ perNode: true } ]\n",
                 "hasForwarding[2].perNode",
                 "needs ConnectTo"},
        bad_case{base + "hasForwarding: [ { tag: AcceptAt, contents: \"/x\" }, null ]\n",
                 "hasForwarding",
                 "three elements"},
        bad_case{base + "verbosity: Loud\n",
                 "verbosity",
                 "expected one of Minimum, ErrorsOnly, Maximum"},
        bad_case{"networkMagic: 1\n" + net +
                     "logging: [ { logRoot: \"\", logMode: FileMode, logFormat: ForMachine } ]\n",
                 "logging[0].logRoot",
                 "must not be empty"},
        bad_case{"networkMagic: 1\n" + net +
                     "logging: [ { logRoot: /l, logMode: Files, logFormat: ForMachine } ]\n",
                 "logging[0].logMode",
                 "expected one of FileMode, JournalMode"},
        bad_case{"networkMagic: 1\n" + net + "logging: [ { logRoot: /l, logMode: FileMode } ]\n",
                 "logging[0].logFormat",
                 "is required"},
        bad_case{base + "metricsHelp: 5\n", "metricsHelp", "expected a file path or an object"},
        bad_case{
            base + "prometheusLabels: { a: [1] }\n", "prometheusLabels.a", "expected a string"},
        bad_case{base + "socketMode: \"rw\"\n", "socketMode", "octal"},
        bad_case{base + "ioThreads: 0\n", "ioThreads", "greater than 0"},
        bad_case{base + "maxMessageBytes: 100\nmaxIngressBytes: 10\n",
                 "maxIngressBytes",
                 "at least maxMessageBytes"},
        bad_case{base + "loRequestNum: 1.5\n",
                 "loRequestNum",
                 "expected an unsigned integer, got number 1.5"},
        bad_case{base + "loRequestNum: 1e5\n", "loRequestNum", "at most 65535"},
        bad_case{"networkMagic: 18446744073709551616\n" + net + logs,
                 "networkMagic",
                 "at most 4294967295"},
        bad_case{base + "resourceFreq: 1.5\n", "resourceFreq", "expected an integer"},
        bad_case{base + "ekgRequestFreq: 1e400\n", "ekgRequestFreq", "finite number"},
        bad_case{base + "ekgRequestFreq: .5\n",
                 "ekgRequestFreq",
                 "expected a number, got string \".5\""},
        bad_case{base + "handshakeTimeoutSecs: .nan\n",
                 "handshakeTimeoutSecs",
                 "expected a number, got string \".nan\""},
        bad_case{base + "hasEKG: { epHost: n, epPort: 3100 }\n",
                 "hasEKG.epHost",
                 "expected a string, got bool false"},
        bad_case{base + "ekgRequestFull: maybe\n", "ekgRequestFull", "expected true or false"},
        bad_case{base + "handshakeTimeoutSecs: 0\n", "handshakeTimeoutSecs", "greater than 0"},
        bad_case{base + "socketMode: 0660\n", "socketMode", "quoted string of octal digits"},
        bad_case{base + "writerQueueBatches: 0\n", "writerQueueBatches", "greater than 0"},
        bad_case{base + "maxMessageBytes: -1\n", "maxMessageBytes", "must not be negative"},
        bad_case{base + "leadingEmptyLine: 1\n", "leadingEmptyLine", "expected true or false"},
        bad_case{base + "logFlushMillis: 10001\n", "logFlushMillis", "must be at most 10000"},
        bad_case{base + "logFlushMillis: -5\n", "logFlushMillis", "must not be negative"},
        bad_case{base + "rotation: { rpLogLimitBytes: 10, rpKeepFilesNum: 1, rpCompress: "
                        "\"yes\" }\n",
                 "rotation.rpCompress",
                 "expected true or false, got string \"yes\""},
        bad_case{base + "rotation: { rpLogLimitBytes: 10, rpKeepFilesNum: 1, "
                        "rpMaxTotalBytes: 0 }\n",
                 "rotation.rpMaxTotalBytes",
                 "greater than 0"},
        bad_case{base + "rotation: { rpLogLimitBytes: 10, rpKeepFilesNum: 1, rpMaxAgeHours: x }\n",
                 "rotation.rpMaxAgeHours",
                 "expected an unsigned integer, got string \"x\""},
        bad_case{base + "rotation: 5\n", "rotation", "expected an object"},
        bad_case{base + "hasForwarding: [ { tag: AcceptAt, contents: \"/x\" }, null, "
                        "{ queueSize: \"5\" } ]\n",
                 "hasForwarding[2].queueSize",
                 "expected an unsigned integer, got string \"5\""},
        bad_case{base + "hasForwarding: [ { tag: AcceptAt, contents: \"/x\" }, null, "
                        "{ verbosity: ErrorsOnly } ]\n",
                 "hasForwarding[2].verbosity",
                 "expected one of Minimum, Maximum"},
        bad_case{base + "hasForwarding: [ { tag: AcceptAt, contents: \"/x\" }, [ChainDB], {} ]\n",
                 "hasForwarding[1][0]",
                 "expected a list of namespace segments"},
        bad_case{"networkMagic: 1\nnetwork: { tag: AcceptAt, contents: \"0.0.0.0:3000\" }\n" +
                     logs +
                     "hasForwarding: [ { tag: AcceptAt, contents: \"0.0.0.0:3000\" }, null, {} "
                     "]\n",
                 "hasForwarding[0].contents",
                 "also used by network.contents"},
        bad_case{"networkMagic: 1\nnetwork: { tag: ConnectTo, contents: [\"/a\", \"\"] }\n" + logs,
                 "network.contents[1]",
                 "ConnectTo address is empty"},
        bad_case{"networkMagic: 1\nnetwork: { tag: AcceptAt }\n" + logs,
                 "network.contents",
                 "is required"},
        bad_case{base + "tlsCertificate: { certificateFile: /c.pem, certificateKeyFile: /k.pem, "
                        "certificateChain: /i.pem }\n",
                 "tlsCertificate.certificateChain",
                 "expected a list of paths"},
        bad_case{base + "hasEKG: { epHost: 127.0.0.1, epPort: 3000, epForceSSL: \"true\" }\n",
                 "hasEKG.epForceSSL",
                 "expected true or false, got string \"true\""},
        bad_case{"networkMagic: \"764824073\"\n" + net + logs,
                 "networkMagic",
                 "expected an unsigned integer, got string \"764824073\""},
        bad_case{"networkMagic: [1\n", "", "invalid YAML/JSON at line"},
        bad_case{"- 1\n- 2\n", "", "must be an object"}));

TEST(ConfigValidation, ReportsEveryProblemAtOnce) {
    auto r = load_string(
        base +
        "loRequestNum: 0\nresourceFreq: 0\nrotation: { rpLogLimitBytes: 0, rpKeepFilesNum: 1 }\n");
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has_diag(r, "loRequestNum", "greater than 0"));
    EXPECT_TRUE(has_diag(r, "resourceFreq", "greater than 0"));
    EXPECT_TRUE(has_diag(r, "rotation.rpLogLimitBytes", "greater than 0"));
}

TEST(ConfigValidation, MissingFileNamesTheFile) {
    auto r = load_file("/nonexistent/dir/tracer.yaml");
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_NE(r.diagnostics[0].message.find("/nonexistent/dir/tracer.yaml"), std::string::npos);
}

TEST(ConfigValidation, DirectoryInsteadOfFileIsAnError) {
    auto r = load_file(fs::temp_directory_path());
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_NE(r.diagnostics[0].message.find("directory"), std::string::npos) << dump(r);
}

TEST(ConfigLoad, MergeKeysAndAnchors) {
    auto r = load_string(R"(
networkMagic: 1
network: { tag: AcceptAt, contents: "/tmp/f.sock" }
ep: &ep { epHost: 127.0.0.1, epPort: 3100 }
hasEKG: *ep
hasPrometheus: { <<: *ep, epPort: 3200 }
logging: [ { logRoot: /tmp/l, logMode: FileMode, logFormat: ForMachine } ]
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->has_ekg->port, 3100);
    EXPECT_EQ(r.config->has_prometheus->host, "127.0.0.1");
    EXPECT_EQ(r.config->has_prometheus->port, 3200) << "explicit keys win over merged ones";
    EXPECT_TRUE(has_diag(r, "ep", "unknown key", diagnostic::level::warning));
}

TEST(ConfigFixtures, UpstreamShapesMeanWhatTheSpecSays) {
    const fs::path fx(CT_CONFIG_FIXTURES);
    auto nix = load_file(fx / "iohk-nix-generic.json");
    ASSERT_TRUE(nix.ok()) << dump(nix);
    EXPECT_EQ(nix.config->lo_request_num, 100) << "null means the default";
    EXPECT_DOUBLE_EQ(nix.config->ekg_request_freq, 1.0);
    EXPECT_EQ(nix.config->verbosity, verbosity_level::errors_only);
    EXPECT_EQ(nix.config->has_prometheus->port, 12808);
    EXPECT_EQ(nix.config->rotation->max_age_minutes, 24u * 60);
    EXPECT_EQ(nix.config->rotation->keep_files_num, 14u);
    EXPECT_EQ(nix.config->logging[0].format, log_format::for_human);

    auto nixos = load_file(fx / "nixos-module.json");
    ASSERT_TRUE(nixos.ok()) << dump(nixos);
    EXPECT_EQ(nixos.config->logging[0].mode, log_mode::journal_mode);

    auto wb = load_file(fx / "workbench.yaml");
    ASSERT_TRUE(wb.ok()) << dump(wb);
    EXPECT_EQ(wb.config->logging[0].log_root, fs::current_path().lexically_normal().string());
    EXPECT_EQ(wb.config->resource_freq, 1000u);
    EXPECT_EQ(wb.config->rotation->log_limit_bytes, 1000000000u);
    EXPECT_TRUE(std::holds_alternative<std::string>(*wb.config->metrics_help_));

    auto active = load_file(fx / "demo-multi-active.json");
    ASSERT_TRUE(active.ok()) << dump(active);
    EXPECT_EQ(active.config->network.m, network_config::mode::connect_to);
    EXPECT_EQ(active.config->network.addresses.size(), 3u);

    auto test = load_file(fx / "test-config.yaml");
    ASSERT_TRUE(test.ok()) << dump(test);
    EXPECT_EQ(test.config->network_magic, 42u);
    EXPECT_EQ(test.config->network.addresses[0].path, "tracer.sock");

    auto minimal_yaml = load_file(fs::path(CT_SOURCE_DIR) / "configuration/minimal-example.yaml");
    auto minimal_json = load_file(fs::path(CT_SOURCE_DIR) / "configuration/minimal-example.json");
    ASSERT_TRUE(minimal_yaml.ok() && minimal_json.ok());
    EXPECT_EQ(*minimal_yaml.config, *minimal_json.config);
}

TEST(ConfigWarnings, UnknownKeyNamesNearestKnownKey) {
    auto r = load_string(base +
                         "loRequestNumber: 5\nrotation: { rpLogLimitBytes: 1, rpKeepFilesNum: 1, "
                         "rpKeepFiles: 2 }\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(
        has_diag(r, "loRequestNumber", "did you mean `loRequestNum`", diagnostic::level::warning))
        << dump(r);
    EXPECT_TRUE(has_diag(
        r, "rotation.rpKeepFiles", "did you mean `rpKeepFilesNum`", diagnostic::level::warning))
        << dump(r);
}

TEST(ConfigWarnings, UnrelatedUnknownKeyHasNoSuggestion) {
    auto r = load_string(base + "zzzzzzzzzzzzzz: 1\n");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(has_diag(r, "zzzzzzzzzzzzzz", "unknown key; ignored", diagnostic::level::warning));
    EXPECT_FALSE(has_diag(r, "zzzzzzzzzzzzzz", "did you mean", diagnostic::level::warning));
}

TEST(ConfigWarnings, TimeseriesLoadsWithoutANoticeAndItsQueryBoundsAreChecked) {
    auto r = load_string(base + "hasTimeseries: { epHost: 127.0.0.1, epPort: 3200 }\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.diagnostics.empty()) << dump(r);
    auto bounds = load_string(base +
                              "timeseriesQueryMaxSteps: 1000\ntimeseriesQueryMaxPoints: 50\n"
                              "timeseriesQueryTimeoutSecs: 0.5\n");
    ASSERT_TRUE(bounds.ok()) << dump(bounds);
    EXPECT_EQ(bounds.config->timeseries_query_max_steps, 1000u);
    EXPECT_EQ(bounds.config->timeseries_query_max_points, 50u);
    EXPECT_EQ(bounds.config->timeseries_query_timeout_secs, 0.5);
    auto bad = load_string(base + "timeseriesQueryMaxSteps: 0\ntimeseriesQueryTimeoutSecs: -1\n");
    EXPECT_FALSE(bad.ok());
    EXPECT_TRUE(has_diag(
        bad, "timeseriesQueryMaxSteps", "must be greater than 0", diagnostic::level::error))
        << dump(bad);
    EXPECT_TRUE(has_diag(
        bad, "timeseriesQueryTimeoutSecs", "must be greater than 0", diagnostic::level::error))
        << dump(bad);
}

TEST(ConfigWarnings, LegacyKeysAreNoLongerUsed) {
    auto r = load_file(fs::path(CT_CONFIG_FIXTURES) / "legacy-keys.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(has_diag(r, "hasRTView", "no longer used", diagnostic::level::warning));
    EXPECT_TRUE(has_diag(r, "metricsComp", "no longer used", diagnostic::level::warning));
    auto nix = load_file(fs::path(CT_CONFIG_FIXTURES) / "iohk-nix-generic.json");
    ASSERT_TRUE(nix.ok()) << dump(nix);
    EXPECT_TRUE(has_diag(nix, "WarnRTViewMissing", "no longer used", diagnostic::level::warning));
}

TEST(ConfigWarnings, StrictTurnsWarningsIntoErrors) {
    load_options strict;
    strict.strict = true;
    auto r = load_string(base + "loRequestNumber: 5\n", strict);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has_diag(r, "loRequestNumber", "did you mean"));
    EXPECT_TRUE(load_string(base, strict).ok());
}

TEST(ConfigWarnings, PathThatLooksLikeHostPort) {
    auto r =
        load_string("networkMagic: 1\nnetwork: { tag: AcceptAt, contents: \"/tmp/x:1\" }\n" + logs);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.config->network.addresses[0].is_tcp());
    EXPECT_TRUE(
        has_diag(r, "network.contents", "looks like a socket path", diagnostic::level::warning));
}

TEST(ConfigLoad, JsonTextKeepsIntegersAndFractionsApartAndNullMeansAbsent) {
    auto r = load_string(R"({
  "networkMagic": 42,
  "network": {"tag": "AcceptAt", "contents": "/tmp/t.sock"},
  "ekgRequestFreq": 0.25,
  "hasEKG": null, "rotation": null, "verbosity": null, "resourceFreq": null,
  "metricsHelp": null, "prometheusLabels": null, "tlsCertificate": null,
  "hasForwarding": null, "rpMaxFilesNum": null,
  "logging": [{"logRoot": "/tmp/l", "logMode": "FileMode", "logFormat": "ForHuman"}]
})");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->network_magic, 42u);
    EXPECT_DOUBLE_EQ(r.config->ekg_request_freq, 0.25);
    EXPECT_FALSE(r.config->has_ekg);
    EXPECT_FALSE(r.config->rotation);
    EXPECT_EQ(r.config->verbosity, verbosity_level::errors_only);
    EXPECT_EQ(r.config->logging[0].format, log_format::for_human);
    // Only the misplaced top-level rpMaxFilesNum draws a warning; nulls are silent.
    ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
    EXPECT_EQ(r.diagnostics[0].path, "rpMaxFilesNum");

    auto frac = load_string(R"({"networkMagic": 42.5,
  "network": {"tag": "AcceptAt", "contents": "/tmp/t.sock"},
  "logging": [{"logRoot": "/tmp/l", "logMode": "FileMode", "logFormat": "ForHuman"}]})");
    EXPECT_FALSE(frac.ok());
    EXPECT_TRUE(has_diag(frac, "networkMagic", "got number 42.5")) << dump(frac);
}

TEST(ConfigLoad, ScalarsAreTypedLikeCardanoTracersYamlLibrary) {
    auto r = load_string(net + logs + R"(
ekgRequestFull: yes
metricsNoSuffix: On
leadingEmptyLine: NO
loRequestNum: 1.0
rotation: { rpLogLimitBytes: 1e6, rpKeepFilesNum: 0x0A, rpFrequencySecs: 0o17,
            rpCompress: Y, rpRemoveIdleDirs: off }
resourceFreq: 25e2
networkMagic: +764824073
prometheusLabels: { a: "yes", b: !!str 12, c: 1x }
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& c = *r.config;
    EXPECT_TRUE(c.ekg_request_full);
    EXPECT_TRUE(c.metrics_no_suffix);
    EXPECT_FALSE(c.leading_empty_line);
    EXPECT_EQ(c.lo_request_num, 1);
    EXPECT_EQ(c.rotation->log_limit_bytes, 1000000u);
    EXPECT_EQ(c.rotation->keep_files_num, 10u);
    EXPECT_EQ(c.rotation->frequency_secs, 15u);
    EXPECT_TRUE(c.rotation->compress);
    EXPECT_FALSE(c.rotation->remove_idle_dirs);
    EXPECT_EQ(c.resource_freq, 2500u);
    EXPECT_EQ(c.network_magic, 764824073u);
    EXPECT_EQ(*c.prometheus_labels,
              (std::map<std::string, std::string>{{"a", "yes"}, {"b", "12"}, {"c", "1x"}}));
}

TEST(ConfigLoad, RelativeLogRootDefaultsToTheWorkingDirectory) {
    auto r = load_string(R"(
networkMagic: 42
network: { tag: AcceptAt, contents: tracer.sock }
logging: [ { logRoot: logs, logMode: FileMode, logFormat: ForMachine } ]
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->logging[0].log_root, (fs::current_path() / "logs").string());
    EXPECT_EQ(r.config->network.addresses[0].path, "tracer.sock") << "socket paths stay as given";
}

TEST(ConfigLoad, ForwardingPrefixesOptionsAndHelpMap) {
    auto r = load_string(base + R"(
hasForwarding:
  - { tag: AcceptAt, contents: "/tmp/re.sock" }
  - [[ChainDB], [BlockFetch, Client]]
  - { queueSize: 1000, verbosity: Maximum, maxReconnectDelay: 2.5 }
metricsHelp: { Mem.resident: "Kernel-reported RSS", blockNum: "" }
prometheusLabels: { environment: mainnet }
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& f = *r.config->has_forwarding;
    EXPECT_EQ(f.network.addresses[0].path, "/tmp/re.sock");
    ASSERT_TRUE(f.prefixes);
    EXPECT_EQ(*f.prefixes,
              (std::vector<std::vector<std::string>>{{"ChainDB"}, {"BlockFetch", "Client"}}));
    EXPECT_EQ(f.options.queue_size, 1000u);
    EXPECT_TRUE(f.options.verbose_maximum);
    EXPECT_DOUBLE_EQ(f.options.max_reconnect_delay, 2.5);
    const auto& help = std::get<std::map<std::string, std::string>>(*r.config->metrics_help_);
    EXPECT_EQ(help, (std::map<std::string, std::string>{{"Mem.resident", "Kernel-reported RSS"}}))
        << "entries with empty text are dropped";
    EXPECT_EQ(r.config->prometheus_labels->at("environment"), "mainnet");

    auto defaults = load_string(
        base + "hasForwarding: [ { tag: AcceptAt, contents: \"/tmp/re.sock\" }, null, {} ]\n");
    ASSERT_TRUE(defaults.ok()) << dump(defaults);
    EXPECT_FALSE(defaults.config->has_forwarding->prefixes);
    EXPECT_EQ(defaults.config->has_forwarding->options, forwarder_options{});
    EXPECT_EQ(defaults.config->has_forwarding->options.queue_size, 192u);
    EXPECT_DOUBLE_EQ(defaults.config->has_forwarding->options.max_reconnect_delay, 45.0);
}

TEST(ConfigLoad, ConnectToDuplicatesAreDialledOnce) {
    auto r = load_string(
        "networkMagic: 1\nnetwork: { tag: ConnectTo, contents: [\"/a\", \"h:1\", \"/a\"] }\n" +
        logs);
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->network.addresses.size(), 2u);
    EXPECT_EQ(r.config->network.addresses[0].to_string(), "/a");
    EXPECT_EQ(r.config->network.addresses[1].to_string(), "h:1");
}

TEST(ConfigLoad, ExtensionKeysAreRead) {
    auto r = load_string(base + R"(
socketMode: "0600"
maxMessageBytes: 1000
maxIngressBytes: 2000
writerQueueBatches: 8
ioThreads: 4
logFlushMillis: 0
leadingEmptyLine: true
handshakeTimeoutSecs: 2.5
rotation: { rpLogLimitBytes: 10, rpKeepFilesNum: 1, rpMaxFilesNum: 5, rpMaxTotalBytes: 999,
            rpCompress: true, rpRemoveIdleDirs: true }
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& c = *r.config;
    EXPECT_EQ(c.socket_mode, 0600u);
    EXPECT_EQ(c.max_message_bytes, 1000u);
    EXPECT_EQ(c.max_ingress_bytes, 2000u);
    EXPECT_EQ(c.writer_queue_batches, 8u);
    EXPECT_EQ(c.io_threads, 4u);
    EXPECT_EQ(c.log_flush_millis, 0u);
    EXPECT_TRUE(c.leading_empty_line);
    EXPECT_DOUBLE_EQ(c.handshake_timeout_secs, 2.5);
    EXPECT_EQ(c.rotation->max_files_num, 5u);
    EXPECT_EQ(c.rotation->max_total_bytes, 999u);
    EXPECT_TRUE(c.rotation->compress);
    EXPECT_TRUE(c.rotation->remove_idle_dirs);
}

TEST(ConfigWarnings, BracketedIpv6HostIsKeptAndWarned) {
    auto r = load_string(
        "networkMagic: 1\nnetwork: { tag: ConnectTo, contents: [\"[::1]:3000\"] "
        "}\n" +
        logs);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->network.addresses[0].host, "[::1]");
    EXPECT_TRUE(
        has_diag(r, "network.contents[0]", "brackets are kept", diagnostic::level::warning));
}

TEST(ConfigWarnings, StrictRejectsLegacyKeysToo) {
    load_options strict;
    strict.strict = true;
    auto r = load_string(base + "hasRTView: null\n", strict);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has_diag(r, "hasRTView", "no longer used"));
}

TEST(ConfigWarnings, NestedUnknownKeysNameTheirPath) {
    auto r = load_string(base + R"(
hasEKG: { epHost: 127.0.0.1, epPort: 3100, epForceSSl: false }
logging: [ { logRoot: /l, logMode: FileMode, logFormat: ForMachine, logFromat: x } ]
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(
        has_diag(r, "hasEKG.epForceSSl", "did you mean `epForceSSL`", diagnostic::level::warning))
        << dump(r);
    EXPECT_TRUE(
        has_diag(r, "logging[0].logFromat", "did you mean `logFormat`", diagnostic::level::warning))
        << dump(r);
}

TEST(ConfigDiagnostic, RendersPathAndMessage) {
    EXPECT_EQ(
        (diagnostic{diagnostic::level::error, "rotation.rpLogLimitBytes", "must be greater than 0"})
            .to_string(),
        "rotation.rpLogLimitBytes: must be greater than 0");
    EXPECT_EQ((diagnostic{diagnostic::level::error, "", "cannot read"}).to_string(), "cannot read");
}

// ------------------------------------------------------------------------------- addresses

TEST(ConfigAddress, ParsingRulesOfSpec) {
    auto tcp = [](std::string_view s, std::string host, std::uint16_t port) {
        auto a = parse_address(s);
        ASSERT_TRUE(a) << s;
        EXPECT_TRUE(a->is_tcp()) << s;
        EXPECT_EQ(a->host, host);
        EXPECT_EQ(a->port, port);
        EXPECT_EQ(a->to_string(), std::string(s));
    };
    auto path = [](std::string_view s) {
        auto a = parse_address(s);
        ASSERT_TRUE(a) << s;
        EXPECT_FALSE(a->is_tcp()) << s;
        EXPECT_EQ(a->path, s);
    };
    tcp("0.0.0.0:34567", "0.0.0.0", 34567);
    tcp("relay.example:3000", "relay.example", 3000);
    tcp("::1:3000", "::1", 3000);
    tcp("[::1]:3000", "[::1]", 3000);
    tcp("/tmp/x:1", "/tmp/x", 1);
    path("/tmp/forwarder.sock");
    path("tracer.sock");
    path(":3000");       // empty host
    path("host:70000");  // port out of range
    path("host:30a");    // not a number
    path("host:");       // nothing after ':'
    EXPECT_FALSE(parse_address(""));
}

// ------------------------------------------------------------------------- fixtures, emit

std::vector<fs::path> all_fixtures() {
    std::vector<fs::path> files;
    for (const auto& dir :
         {fs::path(CT_CONFIG_FIXTURES), fs::path(CT_SOURCE_DIR) / "configuration"}) {
        for (const auto& e : fs::directory_iterator(dir)) {
            auto ext = e.path().extension();
            if (ext == ".yaml" || ext == ".json") files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

TEST(ConfigFixtures, EveryFixtureLoads) {
    auto files = all_fixtures();
    EXPECT_GE(files.size(), 14u);
    for (const auto& f : files) {
        auto r = load_file(f);
        EXPECT_TRUE(r.ok()) << f << "\n" << dump(r);
    }
}

TEST(ConfigEmit, RoundTripsThroughJsonAndYaml) {
    for (const auto& f : all_fixtures()) {
        auto r = load_file(f);
        ASSERT_TRUE(r.ok()) << f;
        const auto& c = *r.config;
        auto from_json = load_string(to_json_text(c));
        ASSERT_TRUE(from_json.ok()) << f << "\n" << dump(from_json) << to_json_text(c);
        EXPECT_EQ(*from_json.config, c) << f << " (json)";
        EXPECT_TRUE(from_json.diagnostics.empty()) << f << "\n" << dump(from_json);
        auto from_yaml = load_string(to_yaml_text(c));
        ASSERT_TRUE(from_yaml.ok()) << f << "\n" << dump(from_yaml) << to_yaml_text(c);
        EXPECT_EQ(*from_yaml.config, c) << f << " (yaml)";
    }
}

TEST(ConfigFixtures, DamagedInputsGiveDiagnosticsNotExceptions) {
    std::size_t failed = 0;
    for (const auto& f : all_fixtures()) {
        std::ifstream in(f);
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string text = ss.str();
        for (std::size_t cut = 0; cut < text.size(); cut += 5) {
            std::string damaged = text.substr(0, cut);
            if (cut + 1 < text.size()) damaged += text.substr(cut + 1);  // drop one byte
            load_result r;
            EXPECT_NO_THROW(r = load_string(damaged)) << f << " without byte " << cut;
            if (!r.ok()) {
                ++failed;
                EXPECT_FALSE(r.diagnostics.empty()) << f << " without byte " << cut;
            }
        }
    }
    EXPECT_GT(failed, 0u) << "some damaged input must be rejected";
}

TEST(ConfigDiff, ChangedTopLevelKeysWithTheirReloadMode) {
    auto a = load_string(base);
    auto b = load_string(base + "loRequestNum: 7\nioThreads: 4\n");
    ASSERT_TRUE(a.ok() && b.ok());
    const auto changes = diff_configs(to_ordered_json(*a.config), to_ordered_json(*b.config));
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[0].key, "loRequestNum");  // schema order
    EXPECT_EQ(changes[0].before, 100);
    EXPECT_EQ(changes[0].after, 7);
    EXPECT_EQ(changes[0].reload, reload_mode::live);
    EXPECT_EQ(changes[1].key, "ioThreads");
    EXPECT_EQ(changes[1].reload, reload_mode::restart);
    EXPECT_TRUE(diff_configs(to_ordered_json(*a.config), to_ordered_json(*a.config)).empty());
    // A key only one side knows (a newer daemon's) is listed too.
    auto running = to_ordered_json(*a.config);
    running["futureKey"] = 1;
    const auto extra = diff_configs(running, to_ordered_json(*a.config));
    ASSERT_EQ(extra.size(), 1u);
    EXPECT_EQ(extra[0].key, "futureKey");
}

TEST(ConfigEmit, KeysFollowTheSchemaOrder) {
    auto r = load_file(fs::path(CT_SOURCE_DIR) / "configuration/all-fields.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    auto j = to_ordered_json(*r.config);
    std::vector<std::string> emitted;
    for (const auto& [k, v] : j.items()) emitted.push_back(k);
    std::vector<std::string> expected;
    for (const auto& e : schema()) {
        if (e.object.empty() && e.origin != key_origin::legacy) expected.emplace_back(e.key);
    }
    EXPECT_EQ(emitted, expected);
    EXPECT_EQ(j["socketMode"], "0660");
    EXPECT_EQ(j["rotation"]["rpMaxAgeMinutes"], 1440);
}

TEST(Schema, ReloadModesComeFromTheTable) {
    // What a SIGHUP refuses by name (the daemon's reload reads this list); every other
    // top-level key applies. Nested keys have no mode of their own.
    const std::vector<std::string_view> expected{"hasTimeseries", "ioThreads"};
    EXPECT_EQ(restart_keys(), expected);
    for (const auto& e : schema()) {
        if (!e.object.empty()) {
            EXPECT_EQ(e.reload, reload_mode::live) << e.object << "." << e.key;
        }
        EXPECT_NE(find_key(e.object, e.key), nullptr);
    }
}

TEST(ConfigEmit, MistypedValueSurvivesNeitherSilently) {
    // A quoted number in YAML is a string, and is reported rather than replaced by a default.
    auto r = load_string(base + "rotation: { rpLogLimitBytes: \"100\", rpKeepFilesNum: 1 }\n");
    EXPECT_FALSE(r.ok());
}

// The table's default column is what the loader fills in: for every key with a literal
// default (a number, a bool, null, a quoted string, an object or a bare word), a minimal file
// loads to exactly that value, at the top level and in the rotation, endpoint and forwarder
// objects. Nothing in the docs can claim a default the daemon does not use.
TEST(Schema, DefaultsAreWhatTheLoaderFillsIn) {
    auto r = load_string(base +
                         "rotation: { rpLogLimitBytes: 100, rpKeepFilesNum: 1 }\n"
                         "hasPrometheus: { epHost: 127.0.0.1, epPort: 1 }\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto j = to_json(*r.config);
    auto literal = [](std::string_view text) -> std::optional<nlohmann::json> {
        std::string t(text.substr(0, text.find(" (")));
        auto parsed = nlohmann::json::parse(t, nullptr, false);
        if (!parsed.is_discarded()) return parsed;
        if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return std::isalnum(c); }))
            return nlohmann::json(t);  // a bare word: an enumeration value
        return std::nullopt;
    };
    std::size_t checked = 0;
    for (const auto& e : schema()) {
        if (e.default_text == "required" || e.origin == key_origin::legacy ||
            e.origin == key_origin::ignored)
            continue;
        const nlohmann::json* holder = nullptr;
        if (e.object.empty()) holder = &j;
        if (e.object == "rotation") holder = &j["rotation"];
        if (e.object == "endpoint") holder = &j["hasPrometheus"];
        if (!holder) continue;
        const auto want = literal(e.default_text);
        if (!want) continue;  // prose ("inherited", "the built-in table")
        const std::string key(e.key);
        if (key == "rpMaxAgeHours") continue;  // read only when rpMaxAgeMinutes is absent
        if (e.object.empty() && (key == "rotation" || key == "hasPrometheus")) continue;  // set
        ASSERT_TRUE(holder->contains(key)) << e.object << "." << key;
        EXPECT_EQ((*holder)[key], *want)
            << e.object << "." << key << " documented as " << e.default_text;
        ++checked;
    }
    EXPECT_GE(checked, 30u);
}

TEST(Schema, DocsConfigMdIsUpToDate) {
    const fs::path doc = fs::path(CT_SOURCE_DIR) / "docs/config.md";
    std::ifstream in(doc);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string expected = render_markdown_reference();
    if (ss.str() != expected && std::getenv("CT_UPDATE_DOCS")) {
        std::ofstream(doc) << expected;
        return;
    }
    EXPECT_EQ(ss.str(), expected)
        << "regenerate with: CT_UPDATE_DOCS=1 config_tests --gtest_filter=Schema.*";
}

}  // namespace

// Regression (a reload could kill signal handling): text that is not UTF-8 is refused with its
// field path, and nothing downstream (emit, describe) ever sees it.
TEST(ConfigValidation, InvalidUtf8IsRefusedWithItsPath) {
    const std::string bad =
        "networkMagic: 764824073\n"
        "network: { tag: AcceptAt, contents: \"/tmp/f.sock\" }\n"
        "logging:\n"
        "- { logRoot: \"/tmp/\xff\xfe\", logMode: FileMode, logFormat: ForMachine }\n"
        "prometheusLabels: { \"k\xc3\": v }\n";
    const auto r = load_string(bad);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has_diag(r, "logging[0].logRoot", "is not valid UTF-8"));
    EXPECT_TRUE(has_diag(r, "prometheusLabels", "key that is not valid UTF-8"));
    for (const auto& d : r.diagnostics) (void)nlohmann::json(d.to_string()).dump();
}

TEST(ConfigEmit, NeverThrowsOnInvalidText) {
    auto r = load_string(minimal);
    ASSERT_TRUE(r.ok());
    auto c = *r.config;
    c.logging.front().log_root = "/tmp/\xff";
    EXPECT_NO_THROW((void)to_json(c));
    EXPECT_NO_THROW((void)to_json_text(c));
}

TEST(ConfigLoad, PortZeroMeansAnyFreePortAndIsNoDuplicate) {
    auto r = load_string(minimal +
                         "hasEKG: { epHost: 127.0.0.1, epPort: 0 }\n"
                         "hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n");
    ASSERT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].to_string());
    EXPECT_EQ(r.config->has_ekg->port, 0);
}

// ------------------------------------------------------------------------ TraceOptions

namespace ct_rules {

severity_threshold at(ct::protocol::severity s) { return {false, s}; }
const severity_threshold silence{true, ct::protocol::severity::debug};

TEST(ConfigTraceOptions, DaemonNodeAndSectionRulesAreRead) {
    auto r = load_string(R"(
networkMagic: 1
network: { tag: AcceptAt, contents: "/tmp/s.sock" }
TraceOptions:
  "": { severity: Info }
  ChainDB: { severity: Notice, maxFrequency: 5.0 }
  ChainDB.AddBlockEvent: { maxFrequency: 0 }
nodeTraceOptions:
  "relay-*": { Mempool: { severity: Silence } }
  "bp-[12]": { _root_: { severity: Warning } }
logging:
- { logRoot: /tmp/a, logMode: FileMode, logFormat: ForMachine }
- { logRoot: /tmp/b, logMode: FileMode, logFormat: ForHuman,
    TraceOptions: { "": { severity: Warning } } }
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& c = *r.config;
    using ct::protocol::severity;
    ASSERT_EQ(c.trace_options_.size(), 3u);
    EXPECT_EQ(c.trace_options_.at("").severity, at(severity::info));
    EXPECT_FALSE(c.trace_options_.at("").max_frequency);
    EXPECT_EQ(c.trace_options_.at("ChainDB").severity, at(severity::notice));
    EXPECT_EQ(c.trace_options_.at("ChainDB").max_frequency, 5.0);
    EXPECT_FALSE(c.trace_options_.at("ChainDB.AddBlockEvent").severity);
    EXPECT_EQ(c.trace_options_.at("ChainDB.AddBlockEvent").max_frequency, 0.0);
    ASSERT_EQ(c.node_trace_options_.size(), 2u);
    EXPECT_EQ(c.node_trace_options_[0].pattern, "relay-*");  // the order written
    EXPECT_EQ(c.node_trace_options_[0].options.at("Mempool").severity, silence);
    EXPECT_EQ(c.node_trace_options_[1].pattern, "bp-[12]");
    EXPECT_EQ(c.node_trace_options_[1].options.at("").severity, at(severity::warning));
    ASSERT_EQ(c.logging.size(), 2u);
    EXPECT_TRUE(c.logging[0].options.empty());
    EXPECT_EQ(c.logging[1].options.at("").severity, at(severity::warning));
}

TEST(ConfigTraceOptions, RootDefaultsToDebugAndRootAliasWinsPerField) {
    auto plain = load_string(minimal);
    ASSERT_TRUE(plain.ok());
    ASSERT_EQ(plain.config->trace_options_.size(), 1u);
    EXPECT_EQ(plain.config->trace_options_.at("").severity, at(ct::protocol::severity::debug));

    auto r = load_string(with(R"(TraceOptions:
  "": { severity: Info, maxFrequency: 2 }
  _root_: { severity: Error }
)"));
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->trace_options_.at("").severity, at(ct::protocol::severity::error));
    EXPECT_EQ(r.config->trace_options_.at("").max_frequency, 2.0);
}

TEST(ConfigTraceOptions, ProblemsNameTheField) {
    struct bad {
        std::string yaml, path, fragment;
        diagnostic::level lvl = diagnostic::level::error;
    };
    const std::vector<bad> cases{
        {"TraceOptions: { ChainDB: { severity: Infoo } }\n",
         "TraceOptions.\"ChainDB\".severity",
         "unknown severity \"Infoo\""},
        {"TraceOptions: { ChainDB: { severity: info } }\n",
         "TraceOptions.\"ChainDB\".severity",
         "expected Debug, Info"},
        {"TraceOptions: { ChainDB: { maxFrequency: fast } }\n",
         "TraceOptions.\"ChainDB\".maxFrequency",
         "expected a number"},
        {"TraceOptions: { ChainDB: { maxFrequency: -1 } }\n",
         "TraceOptions.\"ChainDB\".maxFrequency",
         "must not be negative"},
        {"TraceOptions: { ChainDB: Info }\n", "TraceOptions.\"ChainDB\"", "expected an object"},
        {"TraceOptions: { \"ChainDB.\": { severity: Info } }\n",
         "TraceOptions.\"ChainDB.\"",
         "is not a namespace"},
        {"TraceOptions: { \"A..B\": { severity: Info } }\n",
         "TraceOptions.\"A..B\"",
         "is not a namespace"},
        {"TraceOptions: [1]\n", "TraceOptions", "expected an object"},
        {"nodeTraceOptions: { \"\": {} }\n", "nodeTraceOptions.\"\"", "must not be empty"},
        {"nodeTraceOptions: { \"r*\": { Mempool: { severity: Loud } } }\n",
         "nodeTraceOptions.\"r*\".\"Mempool\".severity",
         "unknown severity"},
        {"TraceOptions: { ChainDB: { severty: Info } }\n",
         "TraceOptions.\"ChainDB\".severty",
         "did you mean `severity`",
         diagnostic::level::warning},
        {"TraceOptions: { ChainDB: { detail: DMaximum } }\n",
         "TraceOptions.\"ChainDB\".detail",
         "ignored: the detail level is chosen by the node",
         diagnostic::level::warning},
        {"TraceOptions: { ChainDB: { backends: [Forwarder] } }\n",
         "TraceOptions.\"ChainDB\".backends",
         "ignored: the daemon routes by logging section",
         diagnostic::level::warning},
    };
    for (const auto& c : cases) {
        auto r = load_string(with(c.yaml));
        EXPECT_TRUE(has_diag(r, c.path, c.fragment, c.lvl)) << c.yaml << dump(r);
        EXPECT_EQ(r.ok(), c.lvl == diagnostic::level::warning) << c.yaml;
    }
}

TEST(ConfigTraceOptions, ASectionIsWhatItWritesNotWhereItStands) {
    const std::string head = "networkMagic: 1\nnetwork: { tag: AcceptAt, contents: s.sock }\n";
    auto dup = load_string(head + R"(logging:
- { logRoot: /tmp/a, logMode: FileMode, logFormat: ForMachine, TraceOptions: { "": { severity: Info } } }
- { logRoot: /tmp/a, logMode: FileMode, logFormat: ForMachine, TraceOptions: { "": { severity: Info } } }
)");
    ASSERT_TRUE(dup.ok()) << dump(dup);
    EXPECT_EQ(dup.config->logging.size(), 1u);  // an exact duplicate is removed
    auto clash = load_string(head + R"(logging:
- { logRoot: /tmp/a, logMode: FileMode, logFormat: ForMachine }
- { logRoot: /tmp/a, logMode: FileMode, logFormat: ForMachine, TraceOptions: { "": { severity: Info } } }
)");
    EXPECT_TRUE(has_diag(clash, "logging[1]", "writes the same files as an earlier section"))
        << dump(clash);
    std::string many = head + "logging:\n";
    for (int i = 0; i < 65; ++i)
        many += "- { logRoot: /tmp/s" + std::to_string(i) +
                ", logMode: FileMode, logFormat: ForMachine }\n";
    EXPECT_TRUE(has_diag(load_string(many), "logging[64]", "too many logging sections"));
}

TEST(ConfigTraceOptions, PrintedRulesReloadToTheSameConfiguration) {
    auto r = load_string(with(R"(TraceOptions:
  ChainDB: { severity: Silence, maxFrequency: 2.5 }
nodeTraceOptions:
  "z*": { "": { severity: Error } }
  "a*": { Net: { maxFrequency: 1 } }
)"));
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto json_text = to_json_text(*r.config);
    EXPECT_NE(json_text.find("\"Silence\""), std::string::npos) << json_text;
    // The order written survives (z* before a*), in JSON and YAML.
    EXPECT_LT(json_text.find("\"z*\""), json_text.find("\"a*\"")) << json_text;
    for (const auto& text : {json_text, to_yaml_text(*r.config)}) {
        auto again = load_string(text);
        ASSERT_TRUE(again.ok()) << dump(again) << text;
        EXPECT_EQ(*again.config, *r.config) << text;
    }
}

}  // namespace ct_rules

// ------------------------------------------------------------------ legacy nomenclature

namespace ct_legacy {

using ct::protocol::severity;
using ct::test::temp_dir;
using ct::test::write_file;
const severity_threshold silence{true, severity::debug};

TEST(ConfigLegacy, LegacyLoggerKeysAndSwitchesBecomeRules) {
    auto r = load_string(R"(networkMagic: 1
network: { tag: AcceptAt, contents: s.sock }
TraceChainDb: false
TraceMempool: true
TraceDnsResolver: true
TraceChainDB: false
TraceOptions:
  "": { severity: Notice }
  cardano.node.ChainSyncClient: { severity: Warning }
  cardano.node.Mux: { maxFrequency: 3 }
  Net.Mux.Remote: { severity: Error }
logging:
- { logRoot: /a, logMode: FileMode, logFormat: LegacyText, TraceForge: false }
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& t = r.config->trace_options_;
    EXPECT_EQ(t.at("ChainDB").severity, silence);
    EXPECT_EQ(t.at("ChainDB.ReplayBlock").severity, silence);
    // true: the prefixes at the daemon's root severity.
    EXPECT_EQ(t.at("Mempool").severity, (severity_threshold{false, severity::notice}));
    EXPECT_EQ(t.at("ChainSync.Client").severity, (severity_threshold{false, severity::warning}));
    // A legacy logger key and an explicit new key: the new one wins per field.
    EXPECT_EQ(t.at("Net.Mux.Remote").max_frequency, 3.0);
    EXPECT_EQ(t.at("Net.Mux.Remote").severity, (severity_threshold{false, severity::error}));
    EXPECT_EQ(r.config->logging[0].format, log_format::legacy_text);
    EXPECT_EQ(r.config->logging[0].options.at("Forge.Loop").severity, silence);
    EXPECT_FALSE(r.config->logging[0].options.contains("Forge.StateInfo"))
        << "TraceForgeStateInfo is its own switch";
    EXPECT_TRUE(
        has_diag(r, "TraceDnsResolver", "without an equivalent", diagnostic::level::warning));
    EXPECT_TRUE(has_diag(r, "TraceChainDB", "unknown legacy switch", diagnostic::level::warning));
    // Printed as the translated rules, which load back to the same configuration.
    auto again = load_string(to_yaml_text(*r.config));
    ASSERT_TRUE(again.ok()) << dump(again);
    EXPECT_EQ(*again.config, *r.config);
}

TEST(ConfigLegacy, UnknownLegacyLoggerAndBadSwitchValueAreErrors) {
    auto r =
        load_string(with("TraceOptions: { cardano.node.NoSuchThing: { severity: Info } }\n"
                         "TraceMempool: maybe\n"));
    EXPECT_TRUE(has_diag(r, "TraceOptions.\"cardano.node.NoSuchThing\"", "unknown legacy logger"))
        << dump(r);
    EXPECT_TRUE(has_diag(r, "TraceMempool", "expected true or false")) << dump(r);
}

TEST(ConfigLegacy, AnOperatorTableReplacesTheShippedOneAndItsProblemsNameFileAndLine) {
    temp_dir d;
    write_file(d / "ns.txt", "# mine\nMy.Prefix  MyLogger  TraceMine\n");
    auto r = load_string(with("legacyNamespaces: " + (d / "ns.txt").string() +
                              "\nTraceMine: false\nTraceOptions: { cardano.node.MyLogger: { "
                              "maxFrequency: 1 } }\n"));
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->trace_options_.at("My.Prefix").severity, silence);
    EXPECT_EQ(r.config->trace_options_.at("My.Prefix").max_frequency, 1.0);
    EXPECT_EQ(r.config->legacy_namespaces.source, (d / "ns.txt").string());
    write_file(d / "bad.txt", "A B C\nA B\n");
    auto bad = load_string(with("legacyNamespaces: " + (d / "bad.txt").string() + "\n"));
    EXPECT_TRUE(
        has_diag(bad, "legacyNamespaces", (d / "bad.txt").string() + ":2: expected 3 columns"))
        << dump(bad);
    auto missing = load_string(with("legacyNamespaces: /nonexistent/ns.txt\n"));
    EXPECT_TRUE(has_diag(missing, "legacyNamespaces", "cannot read /nonexistent/ns.txt"));
}

TEST(ConfigLegacy, FormatsThatShareAnExtensionNeedTheirOwnRoot) {
    auto r = load_string(R"(networkMagic: 1
network: { tag: AcceptAt, contents: s.sock }
logging:
- { logRoot: /a, logMode: FileMode, logFormat: ForHuman }
- { logRoot: /a, logMode: FileMode, logFormat: LegacyText }
- { logRoot: /a, logMode: FileMode, logFormat: ForMachine }
- { logRoot: /b, logMode: FileMode, logFormat: LegacyJson }
- { logRoot: /c, logMode: FileMode, logFormat: DispatcherHuman }
)");
    EXPECT_TRUE(
        has_diag(r, "logging[1].logFormat", "LegacyText and ForHuman both write node-*.log"))
        << dump(r);
    EXPECT_EQ(std::count_if(r.diagnostics.begin(),
                            r.diagnostics.end(),
                            [](const diagnostic& d) { return d.lvl == diagnostic::level::error; }),
              1);
}

}  // namespace ct_legacy

TEST(ConfigRemoteWrite, TargetsAreCheckedAndPasswordsNeverShown) {
    auto r = load_string(base +
                         "remoteWrite:\n"
                         "  - { url: \"http://prometheus:9090/api/v1/write\" }\n"
                         "  - { url: \"http://ops:s3cret@vm:8428/api/v1/write\", interval: 30, "
                         "timeout: 2.5 }\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->remote_write.size(), 2u);
    EXPECT_EQ(r.config->remote_write[0].interval_secs, 15);
    EXPECT_EQ(r.config->remote_write[0].timeout_secs, 10);
    EXPECT_EQ(r.config->remote_write[1].url, "http://ops:s3cret@vm:8428/api/v1/write");
    EXPECT_EQ(r.config->remote_write[1].timeout_secs, 2.5);
    const auto shown = to_json_text(*r.config);
    EXPECT_EQ(shown.find("s3cret"), std::string::npos) << shown;
    EXPECT_NE(shown.find("http://ops:<redacted>@vm:8428/api/v1/write"), std::string::npos);
    auto bad = load_string(base +
                           "remoteWrite:\n"
                           "  - { url: \"ftp://x/api/v1/write\" }\n"
                           "  - { interval: 0, urll: 1 }\n");
    EXPECT_FALSE(bad.ok());
    EXPECT_TRUE(
        has_diag(bad, "remoteWrite[0].url", "expected http(s)://HOST", diagnostic::level::error))
        << dump(bad);
    EXPECT_TRUE(has_diag(bad, "remoteWrite[1].url", "is required", diagnostic::level::error))
        << dump(bad);
    EXPECT_TRUE(has_diag(
        bad, "remoteWrite[1].interval", "must be greater than 0", diagnostic::level::error))
        << dump(bad);
    EXPECT_TRUE(
        has_diag(bad, "remoteWrite[1].urll", "did you mean `url`", diagnostic::level::warning))
        << dump(bad);
}

// The OTLP tests' configuration: a network, then their sections after one file section.
const std::string otlp_base =
    "networkMagic: 42\nnetwork: { tag: AcceptAt, contents: /tmp/ct.sock }\n";
const std::string file_section =
    "  - { logRoot: /tmp/logs, logMode: FileMode, logFormat: ForMachine }\n";

TEST(ConfigOtlp, SectionsReadTheirExporterAndNeverShowHeaderValues) {
    const std::string head = otlp_base + "logging:\n" + file_section;
    auto r = load_string(head +
                         "  - logMode: OTLPMode\n"
                         "    logFormat: ForHuman\n"
                         "    otlp:\n"
                         "      endpoint: http://collector:4318/\n"
                         "      encoding: json\n"
                         "      compression: none\n"
                         "      headers: { Authorization: \"Bearer t0ken\", X-Scope-OrgID: pool }\n"
                         "      resourceAttributes: { deployment.environment: mainnet }\n"
                         "      timeout: 2.5\n"
                         "      batchSize: 100\n"
                         "      batchDelay: 0.05\n"
                         "      queueBytes: 1000000\n"
                         "      policy: drop\n"
                         "  - { logMode: OTLPMode, logFormat: ForMachine, otlp: { endpoint: "
                         "\"https://otel.example\" } }\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->logging.size(), 3u);
    const auto& a = r.config->logging[1];
    EXPECT_EQ(a.mode, log_mode::otlp_mode);
    ASSERT_TRUE(a.otlp);
    EXPECT_EQ(a.otlp->endpoint, "http://collector:4318");  // the trailing slash goes
    EXPECT_EQ(a.otlp->enc, otlp_settings::encoding::json);
    EXPECT_FALSE(a.otlp->gzip);
    EXPECT_EQ(a.otlp->headers.at("Authorization"), "Bearer t0ken");
    EXPECT_EQ(a.otlp->resource_attributes.at("deployment.environment"), "mainnet");
    EXPECT_EQ(a.otlp->timeout_secs, 2.5);
    EXPECT_EQ(a.otlp->batch_records, 100u);
    EXPECT_EQ(a.otlp->batch_delay_secs, 0.05);
    EXPECT_EQ(a.otlp->queue_bytes, 1000000u);
    EXPECT_EQ(a.otlp->policy, otlp_settings::overflow::drop);
    const auto& b = r.config->logging[2];
    ASSERT_TRUE(b.otlp);
    EXPECT_EQ(b.otlp->enc, otlp_settings::encoding::protobuf);  // the defaults
    EXPECT_TRUE(b.otlp->gzip);
    EXPECT_EQ(b.otlp->policy, otlp_settings::overflow::block);
    EXPECT_NE(a.otlp->key(), b.otlp->key());
    const auto shown = to_json_text(*r.config);
    EXPECT_EQ(shown.find("t0ken"), std::string::npos) << shown;
    EXPECT_NE(shown.find("\"Authorization\": \"<redacted>\""), std::string::npos) << shown;
    EXPECT_NE(shown.find("\"logMode\": \"OTLPMode\""), std::string::npos) << shown;

    auto bad = load_string(head +
                           "  - logMode: OTLPMode\n"
                           "    logFormat: ForMachine\n"
                           "  - logMode: OTLPMode\n"
                           "    logFormat: ForMachine\n"
                           "    otlp: { endpoint: \"collector:4318\", encoding: proto, policy: "
                           "wait, batchSize: 0, timeout: -1, headers: { \"Bad Name\": x }, "
                           "caFile: /etc/ca.pem, endpiont: 1 }\n");
    EXPECT_FALSE(bad.ok());
    for (const auto& [path, text] : std::vector<std::pair<std::string, std::string>>{
             {"logging[1].otlp", "is required"},
             {"logging[2].otlp.endpoint", "expected http://HOST[:PORT][/PREFIX]"},
             {"logging[2].otlp.encoding", "protobuf"},
             {"logging[2].otlp.policy", "block"},
             {"logging[2].otlp.batchSize", "must be greater than 0"},
             {"logging[2].otlp.timeout", "must be greater than 0"},
             {"logging[2].otlp.headers.Bad Name", "not a valid HTTP header"},
             {"logging[2].otlp.caFile", "only used with an https:// endpoint"},
         }) {
        EXPECT_TRUE(has_diag(bad, path, text, diagnostic::level::error)) << path << "\n"
                                                                         << dump(bad);
    }
    EXPECT_TRUE(has_diag(
        bad, "logging[2].otlp.endpiont", "did you mean `endpoint`", diagnostic::level::warning))
        << dump(bad);
}

TEST(ConfigOtlp, MetricsTargetsShareTheConnectionKeys) {
    const std::string head = otlp_base + "logging:\n" + file_section;
    auto r = load_string(head +
                         "otlpMetrics:\n"
                         "  - { endpoint: \"http://collector:4318\", interval: 30, "
                         "headers: { Authorization: \"Basic c2VjcmV0\" } }\n"
                         "  - { endpoint: \"https://otel.example/otlp/\", encoding: json, "
                         "caFile: /etc/ssl/ca.pem }\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->otlp_metrics.size(), 2u);
    EXPECT_EQ(r.config->otlp_metrics[0].interval_secs, 30);
    EXPECT_EQ(r.config->otlp_metrics[1].interval_secs, 15);
    EXPECT_EQ(r.config->otlp_metrics[1].connection.endpoint, "https://otel.example/otlp");
    EXPECT_EQ(r.config->otlp_metrics[1].connection.enc, otlp_settings::encoding::json);
    EXPECT_EQ(r.config->otlp_metrics[1].connection.ca_file, "/etc/ssl/ca.pem");
    const auto shown = to_json_text(*r.config);
    EXPECT_EQ(shown.find("c2VjcmV0"), std::string::npos) << shown;
    auto bad = load_string(head +
                           "otlpMetrics:\n"
                           "  - { endpoint: collector, interval: 0, batchSize: 5 }\n");
    EXPECT_FALSE(bad.ok());
    EXPECT_TRUE(
        has_diag(bad, "otlpMetrics[0].endpoint", "expected http://HOST", diagnostic::level::error))
        << dump(bad);
    EXPECT_TRUE(has_diag(
        bad, "otlpMetrics[0].interval", "must be greater than 0", diagnostic::level::error))
        << dump(bad);
    EXPECT_TRUE(
        has_diag(bad, "otlpMetrics[0].batchSize", "unknown key", diagnostic::level::warning))
        << dump(bad);
}

TEST(ConfigOtlp, ASpillDirectoryBelongsToOneExporter) {
    const std::string head = otlp_base + "logging:\n" + file_section;
    auto r = load_string(head +
                         "  - { logMode: OTLPMode, logFormat: ForMachine, otlp: { endpoint: "
                         "\"http://a:4318\", spillDir: /var/spool/ct/a/, spillMaxBytes: 5000 } }\n"
                         "  - { logMode: OTLPMode, logFormat: ForHuman, otlp: { endpoint: "
                         "\"http://a:4318\", spillDir: /var/spool/ct/a, spillMaxBytes: 5000 } }\n");
    ASSERT_TRUE(r.ok()) << dump(r);  // the same exporter, two formats: one directory is right
    EXPECT_EQ(r.config->logging[1].otlp->spill_dir, "/var/spool/ct/a");
    EXPECT_EQ(r.config->logging[1].otlp->spill_max_bytes, 5000u);
    auto bad = load_string(head +
                           "  - { logMode: OTLPMode, logFormat: ForMachine, otlp: { endpoint: "
                           "\"http://a:4318\", spillDir: /var/spool/ct } }\n"
                           "  - { logMode: OTLPMode, logFormat: ForMachine, otlp: { endpoint: "
                           "\"http://b:4318\", spillDir: /var/spool/ct, spillMaxBytes: 0 } }\n");
    EXPECT_FALSE(bad.ok());
    EXPECT_TRUE(has_diag(
        bad, "logging[2].otlp.spillMaxBytes", "must be greater than 0", diagnostic::level::error))
        << dump(bad);
    auto shared = load_string(head +
                              "  - { logMode: OTLPMode, logFormat: ForMachine, otlp: { endpoint: "
                              "\"http://a:4318\", spillDir: /var/spool/ct } }\n"
                              "  - { logMode: OTLPMode, logFormat: ForMachine, otlp: { endpoint: "
                              "\"http://b:4318\", spillDir: /var/spool/ct } }\n");
    EXPECT_TRUE(has_diag(
        shared, "logging[2].otlp.spillDir", "give each exporter its own", diagnostic::level::error))
        << dump(shared);
}
