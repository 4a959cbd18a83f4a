// OTLPMode against the OpenTelemetry project's own decoder: tests/peers/otlp/receiver.js
// (Node.js with @opentelemetry/otlp-transformer's generated protobuf code, installed by
// scripts/setup.sh) receives the daemon's OTLP/HTTP requests and writes what it decoded.
// Every field of every record is checked against what the node sent (its ForMachine line, as
// the daemon's own file section writes it), for both encodings; the receiver is killed and
// restarted mid-stream (policy block: nothing lost) or refuses for a while (policy drop:
// drops counted, files untouched).
#include <algorithm>
#include <csignal>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/integration/daemon_fixture.hpp"

namespace {

using namespace ct::test;
using nlohmann::json;

const std::string peer_dir = std::string(CT_SOURCE_DIR) + "/tests/peers/otlp";

// "2026-12-06T15:06:27.086801198Z" -> Unix nanoseconds, as a decimal string (OTLP's form).
std::string unix_nanos_text(const std::string& at) {
    std::tm tm{};
    const char* rest = ::strptime(at.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return "bad time " + at;
    std::uint64_t frac = 0;
    int digits = 0;
    if (*rest == '.') {
        for (++rest; *rest >= '0' && *rest <= '9'; ++rest, ++digits) {
            if (digits < 9) frac = frac * 10 + static_cast<std::uint64_t>(*rest - '0');
        }
    }
    for (int d = std::min(digits, 9); d < 9; ++d) frac *= 10;
    return std::to_string(static_cast<std::uint64_t>(::timegm(&tm)) * 1'000'000'000ull + frac);
}

struct OtlpTest : DaemonTest {
    std::unique_ptr<child_process> receiver, nodes;
    unsigned short port = 0;

    void TearDown() override {
        if (nodes) nodes->signal(SIGTERM);
        if (receiver) receiver->signal(SIGKILL);
        DaemonTest::TearDown();
    }

    void start_receiver(const std::vector<std::string>& extra = {}) {
        ASSERT_TRUE(fs::exists(peer_dir + "/node_modules/@opentelemetry/otlp-transformer"))
            << "the OTLP test peer is not installed: run scripts/setup.sh";
        if (port == 0) port = free_tcp_port();
        std::vector<std::string> args{
            peer_dir + "/receiver.js", std::to_string(port), (dir / "received.jsonl").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        receiver = std::make_unique<child_process>("/usr/bin/node", args, dir.path(), "receiver");
        ASSERT_TRUE(wait_until(
            [&] { return receiver->stdout_text().find("listening") != std::string::npos; },
            std::chrono::seconds(20)))
            << receiver->stderr_text();
    }

    /// What the receiver decoded, of one kind; records carry their request's Content-Type
    /// (the receiver writes a request's line before its records').
    std::vector<json> received(const std::string& kind) {
        std::vector<json> out;
        std::error_code ec;
        if (!fs::exists(dir / "received.jsonl", ec)) return out;
        std::string content_type;
        const std::string wanted = "{\"kind\":\"" + kind + "\"";
        for (const auto& line : split_lines(read_file(dir / "received.jsonl"))) {
            // Only the lines asked for and the requests are parsed (the file grows quickly).
            if (line.rfind(wanted, 0) != 0 && line.rfind("{\"kind\":\"request\"", 0) != 0) continue;
            auto j = json::parse(line, nullptr, false);
            if (!j.is_object()) continue;  // a line being written
            if (j.value("kind", "") == "request") content_type = j.value("contentType", "");
            if (j.value("kind", "") != kind) continue;
            j["contentType"] = content_type;
            out.push_back(std::move(j));
        }
        return out;
    }

    /// Two simulated nodes, relay-1 and relay-2, each sending `count` objects at `rate`/s;
    /// their exit summary goes to summary.json. `queue` is each node's queue (the node's
    /// default 192 unless a test gives it room for everything it sends).
    std::unique_ptr<child_process> run_relays(int count, int rate, int queue = 192) {
        return run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--nodes",
                              "2",
                              "--name-prefix",
                              "relay",
                              "--count",
                              std::to_string(count),
                              "--rate",
                              std::to_string(rate),
                              "--queue-size",
                              std::to_string(queue),
                              "--summary-file",
                              (dir / "summary.json").string()});
    }

    /// The daemon's configuration: tracer.sock, the Prometheus endpoint on a free port, the
    /// `top` keys, and ForMachine files under logs/ followed by the `sections`.
    static std::string daemon_config(const std::string& top, const std::string& sections) {
        return "networkMagic: 42\n"
               "network: { tag: AcceptAt, contents: \"tracer.sock\" }\n"
               "hasPrometheus: { epHost: 127.0.0.1, epPort: 0 }\n" +
               top +
               "logging:\n"
               "  - { logRoot: logs, logMode: FileMode, logFormat: ForMachine }\n" +
               sections;
    }
    /// An OTLPMode section in `format` whose otlp object is { endpoint: url, settings }.
    static std::string otlp_section(const std::string& format,
                                    const std::string& url,
                                    const std::string& settings) {
        return "  - logMode: OTLPMode\n    logFormat: " + format + "\n    otlp: { endpoint: \"" +
               url + "\"" + (settings.empty() ? "" : ", " + settings) + " }\n";
    }

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port); }

    double metric(unsigned short prom, const std::string& series) {
        auto page = http_get(prom, "/metrics");
        if (!page) return -1;
        for (const auto& line : split_lines(page->body)) {
            if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
        }
        return -1;
    }
};

TEST_F(OtlpTest, EveryFieldOfEveryRecordArrivesInBothEncodings) {
    start_receiver();
    ASSERT_FALSE(HasFatalFailure());
    start_tracer(daemon_config(
        "",
        "  - { logRoot: human, logMode: FileMode, logFormat: ForHuman }\n" +
            otlp_section("ForMachine",
                         endpoint(),
                         "headers: { X-Scope-OrgID: pool-7 }, resourceAttributes: { "
                         "deployment.environment: preprod }, batchDelay: 0.05, batchSize: 100") +
            otlp_section(
                "ForHuman", endpoint(), "encoding: json, compression: none, batchDelay: 0.05")));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    // Queues that hold everything: at 2000 objects/s a 192-object queue lasts 0.1 s, which a
    // loaded machine (sanitizers, tests in parallel) can keep the daemon from a core; what
    // the node drops then is the node's loss, not this test's subject.
    nodes = run_relays(400, 2000, 400);
    ASSERT_TRUE(wait_until([&] { return received("log").size() >= 1600; }, 30s))
        << received("log").size();
    ASSERT_TRUE(nodes->wait_exit(20s));

    // The requests: both encodings, gzip only where configured, protobuf byte-identical to
    // what protobufjs writes for the same message, and the configured header.
    std::size_t protobuf_requests = 0, json_requests = 0;
    for (const auto& r : received("request")) {
        EXPECT_FALSE(r.contains("error")) << r;
        EXPECT_EQ(r["path"], "/v1/logs");
        if (r["contentType"] == "application/x-protobuf") {
            ++protobuf_requests;
            EXPECT_TRUE(r["gzip"].get<bool>());
            EXPECT_TRUE(r["identical"].get<bool>()) << r;
            EXPECT_EQ(r["headers"]["x-scope-orgid"], "pool-7");
            EXPECT_LE(r["records"].get<int>(), 100);  // batchSize
        } else {
            ++json_requests;
            EXPECT_EQ(r["contentType"], "application/json");
            EXPECT_FALSE(r["gzip"].get<bool>());
            EXPECT_FALSE(r["headers"].contains("x-scope-orgid"));
        }
    }
    EXPECT_GE(protobuf_requests, 8u);  // 800 records, at most 100 per request
    EXPECT_GE(json_requests, 1u);

    // Two exporters with one endpoint (the sections' settings differ) make one series per
    // endpoint, their sum: two series with the same labels would make the page invalid.
    // (The count follows the receiver's answer to the last request: waited for.)
    const std::string series =
        "cardano_tracer_otlp_records_exported_total{exporter=\"" + endpoint() + "\"} ";
    std::string page;
    std::vector<std::string> exported;
    EXPECT_TRUE(wait_until([&] {
        const auto r = http_get(bound_port("Tracer.StartedPrometheus"), "/metrics");
        page = r ? r->body : "";
        exported.clear();
        for (const auto& l : split_lines(page)) {
            if (l.rfind(series, 0) == 0) exported.push_back(l.substr(series.size()));
        }
        return exported == std::vector<std::string>{"1600"};
    })) << page;
    EXPECT_EQ(promtool_errors("own", page), "");

    // Every ForMachine record: each field against the node's own line in the file section.
    std::map<std::pair<std::string, std::uint64_t>, std::pair<std::string, json>> file_lines;
    for (const std::string node : {"relay-1", "relay-2"}) {
        for (const auto& l : machine_lines("logs", node)) {
            auto j = json::parse(l);
            file_lines[{node, j["data"]["seq"].get<std::uint64_t>()}] = {l, j};
        }
    }
    ASSERT_EQ(file_lines.size(), 800u);
    std::set<std::pair<std::string, std::uint64_t>> seen;
    std::map<std::string, std::vector<std::string>> human_bodies;
    std::map<std::string, std::string> human_text;
    for (const auto& r : received("log")) {
        const auto& res = r["resource"];
        EXPECT_EQ(res["service.name"], "cardano-node");
        EXPECT_EQ(res["host.name"], "simhost");
        EXPECT_EQ(r["scope"], "cardano-tracer");
        const std::string node = res["service.instance.id"];
        const auto body = r["body"].get<std::string>();
        if (r["contentType"] == "application/json") {  // the ForHuman section
            human_bodies[node].push_back(body);
            human_text[node] += body + "\n";
            EXPECT_FALSE(res.contains("deployment.environment"));
            continue;
        }
        const auto machine = json::parse(body);
        EXPECT_EQ(res["deployment.environment"], "preprod");
        const auto key = std::make_pair(node, machine["data"]["seq"].get<std::uint64_t>());
        EXPECT_TRUE(seen.insert(key).second) << "twice: " << body;
        ASSERT_TRUE(file_lines.contains(key)) << body;
        const auto& [line, sent] = file_lines[key];
        EXPECT_EQ(body, line);
        EXPECT_EQ(r["time"], unix_nanos_text(sent["at"]));
        EXPECT_GE(std::stoull(r["observed"].get<std::string>()),
                  std::stoull(r["time"].get<std::string>()));
        EXPECT_EQ(r["severityText"], sent["sev"]);
        static const std::map<std::string, int> numbers{{"Debug", 5},
                                                        {"Info", 9},
                                                        {"Notice", 10},
                                                        {"Warning", 13},
                                                        {"Error", 17},
                                                        {"Critical", 18},
                                                        {"Alert", 21},
                                                        {"Emergency", 22}};
        EXPECT_EQ(r["severityNumber"], numbers.at(sent["sev"]));
        EXPECT_EQ(r["attributes"]["namespace"], sent["ns"]);
        EXPECT_EQ(r["attributes"]["thread"], sent["thread"]);
        EXPECT_EQ(r["attributes"]["detail"], "DNormal");
    }
    EXPECT_EQ(seen.size(), 800u);
    // Every ForHuman record (JSON encoding), in order: the ForHuman file's text, node by node
    // (a human text may span lines; one node's records arrive in the order written).
    for (const std::string node : {"relay-1", "relay-2"}) {
        std::string file_text;
        for (const auto& e : fs::directory_iterator(dir / "human" / node)) {
            if (!e.is_symlink()) file_text += read_file(e.path());  // not node.log
        }
        EXPECT_EQ(human_bodies[node].size(), 400u) << node;
        const auto& got = human_text[node];
        const auto diverge =
            std::mismatch(got.begin(), got.end(), file_text.begin(), file_text.end());
        EXPECT_TRUE(got == file_text)
            << node << ": differs at byte " << (diverge.first - got.begin()) << ": received \""
            << got.substr(static_cast<std::size_t>(diverge.first - got.begin()), 120)
            << "\", the file has \""
            << file_text.substr(static_cast<std::size_t>(diverge.second - file_text.begin()), 120)
            << "\"";
    }
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(OtlpTest, AReceiverKilledAndRestartedLosesNothingWithPolicyBlock) {
    start_receiver();
    ASSERT_FALSE(HasFatalFailure());
    // Small queues, so that an absent receiver quickly stops the daemon asking the nodes.
    start_tracer(daemon_config(
        "outputQueueBytes: 65536\nwriterQueueBatches: 8\n",
        otlp_section("ForMachine",
                     endpoint(),
                     "batchDelay: 0.05, batchSize: 20, queueBytes: 20000, timeout: 2")));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const auto prom = bound_port("Tracer.StartedPrometheus");
    // 2 nodes × 40 objects/s for 15 s: an outage of ~2 s fits the nodes' own 192-object queues.
    nodes = run_relays(600, 40);
    ASSERT_TRUE(wait_until([&] { return received("log").size() >= 100; }, 20s));
    receiver->signal(SIGKILL);
    ASSERT_TRUE(receiver->wait_exit(10s));
    // While it is away, requests fail and are retried; the output stops taking batches.
    ASSERT_TRUE(wait_until(
        [&] {
            return metric(prom,
                          "cardano_tracer_otlp_retries_total{exporter=\"" + endpoint() + "\"}") > 0;
        },
        20s));
    ASSERT_TRUE(wait_until(
        [&] { return metric(prom, "cardano_tracer_output_queue_full_total{output=\"otlp\"}") > 0; },
        20s));
    start_receiver();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(nodes->wait_exit(60s));
    const auto summary = json::parse(read_file(dir / "summary.json"));
    for (const auto& n : summary["nodes"]) EXPECT_EQ(n["overflow_drops"], 0) << summary;
    // Every object arrives (a request cut by the kill may arrive twice: at least once).
    std::map<std::string, std::set<std::uint64_t>> got;
    ASSERT_TRUE(wait_until(
        [&] {
            got.clear();
            for (const auto& r : received("log")) {
                const auto m = json::parse(r["body"].get<std::string>());
                got[r["resource"]["service.instance.id"]].insert(
                    m["data"]["seq"].get<std::uint64_t>());
            }
            return got["relay-1"].size() == 600 && got["relay-2"].size() == 600;
        },
        30s))
        << got["relay-1"].size() << " " << got["relay-2"].size();
    EXPECT_EQ(*got["relay-1"].rbegin(), 600u);
    EXPECT_EQ(
        metric(prom, "cardano_tracer_otlp_records_dropped_total{exporter=\"" + endpoint() + "\"}"),
        0);
    EXPECT_EQ(seqs("logs", "relay-1"), one_to(600));
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(OtlpTest, PolicyDropCountsWhatAnUnwillingReceiverCostsAndFilesLoseNothing) {
    start_receiver({"--status", "503"});
    ASSERT_FALSE(HasFatalFailure());
    start_tracer(daemon_config(
        "shutdownTimeoutSecs: 2\n",
        otlp_section(
            "ForMachine",
            endpoint(),
            "batchDelay: 0.05, batchSize: 50, queueBytes: 30000, policy: drop, timeout: 1")));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const auto prom = bound_port("Tracer.StartedPrometheus");
    nodes = run_relays(1500, 500);
    ASSERT_TRUE(nodes->wait_exit(30s));
    const std::string label = "{exporter=\"" + endpoint() + "\"}";
    ASSERT_TRUE(wait_until(
        [&] { return metric(prom, "cardano_tracer_otlp_records_dropped_total" + label) > 0; },
        20s));
    // The files are untouched by the exporter's trouble.
    const auto summary = json::parse(read_file(dir / "summary.json"));
    for (const auto& n : summary["nodes"]) EXPECT_EQ(n["overflow_drops"], 0) << summary;
    EXPECT_EQ(seqs("logs", "relay-1"), one_to(1500));
    EXPECT_EQ(seqs("logs", "relay-2"), one_to(1500));
    EXPECT_FALSE(messages("Tracer.Error").empty());
    // The receiver takes requests again: what was queued arrives, and every record is counted
    // exactly once as exported, dropped or still queued.
    receiver->signal(SIGKILL);
    ASSERT_TRUE(receiver->wait_exit(10s));
    start_receiver();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(wait_until(
        [&] { return metric(prom, "cardano_tracer_otlp_records_queued" + label) == 0; }, 30s));
    const double exported = metric(prom, "cardano_tracer_otlp_records_exported_total" + label);
    const double dropped = metric(prom, "cardano_tracer_otlp_records_dropped_total" + label);
    EXPECT_EQ(exported + dropped, 3000) << exported << " + " << dropped;
    EXPECT_EQ(static_cast<double>(received("log").size()), exported);
    // A stop while the receiver refuses again ends within shutdownTimeoutSecs.
    receiver->signal(SIGKILL);
    ASSERT_TRUE(receiver->wait_exit(10s));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(stop_tracer(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST_F(OtlpTest, MetricsArriveAsSumsGaugesAndHistogramsInBothEncodings) {
    start_receiver();
    ASSERT_FALSE(HasFatalFailure());
    start_tracer(
        daemon_config("prometheusLabels: { cluster: bench }\n"
                      "ekgRequestFreq: 0.2\n"
                      "otlpMetrics:\n"
                      "  - { endpoint: \"" +
                          endpoint() +
                          "\", interval: 0.5, resourceAttributes: { "
                          "deployment.environment: test } }\n"
                          "  - { endpoint: \"" +
                          endpoint() + "\", interval: 0.5, encoding: json, compression: none }\n",
                      ""));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const auto prom = bound_port("Tracer.StartedPrometheus");
    nodes = run_named_nodes(2, "relay", 20, 100);
    const std::string counter = "cardano_node_metrics_served_header_counter";
    // Both encodings bring both nodes' counter.
    auto find =
        [&](const std::string& content_type, const std::string& node, const std::string& name) {
            json found;
            for (const auto& m : received("metric")) {
                if (m["contentType"] == content_type && m["name"] == name &&
                    m["resource"].value("service.instance.id", "") == node)
                    found = m;  // the latest push
            }
            return found;
        };
    for (const std::string type : {"application/x-protobuf", "application/json"}) {
        for (const std::string node : {"relay-1", "relay-2"}) {
            ASSERT_TRUE(wait_until([&] { return !find(type, node, counter).is_null(); }, 30s))
                << type << " " << node;
        }
    }
    for (const auto& r : received("request")) {
        EXPECT_EQ(r["path"], "/v1/metrics");
        EXPECT_FALSE(r.contains("error")) << r;
        if (r["contentType"] == "application/x-protobuf") {
            EXPECT_TRUE(r["identical"].get<bool>());
        }
    }
    for (const std::string type : {"application/x-protobuf", "application/json"}) {
        // A counter: a cumulative monotonic sum, a value the node's own page showed.
        const auto sum = find(type, "relay-1", counter);
        EXPECT_EQ(sum["type"], "sum");
        EXPECT_TRUE(sum["monotonic"].get<bool>());
        EXPECT_EQ(sum["temporality"], 2);  // CUMULATIVE
        ASSERT_EQ(sum["points"].size(), 1u);
        const auto& point = sum["points"][0];
        EXPECT_LT(std::stoull(point["start"].get<std::string>()),
                  std::stoull(point["time"].get<std::string>()));
        const double pushed = point["value"].get<double>();
        EXPECT_GT(pushed, 0);
        const auto page = http_get(prom, "/relay-1");
        ASSERT_TRUE(page);
        double now = -1;
        for (const auto& line : split_lines(page->body))
            if (line.rfind(counter + " ", 0) == 0) now = std::stod(line.substr(counter.size() + 1));
        EXPECT_LE(pushed, now);
        // Resource: the node, prometheusLabels, the target's own attributes.
        EXPECT_EQ(sum["resource"]["service.name"], "cardano-node");
        EXPECT_EQ(sum["resource"]["cluster"], "bench");
        EXPECT_EQ(sum["resource"].contains("deployment.environment"),
                  type == "application/x-protobuf");
        // A label-valued metric: an info-style gauge whose labels are attributes.
        const auto info = find(type, "relay-2", "cardano_node_metrics_cardano_build_info");
        ASSERT_FALSE(info.is_null()) << type;
        EXPECT_EQ(info["type"], "gauge");
        EXPECT_EQ(info["points"][0]["value"], 1);
        EXPECT_FALSE(info["points"][0]["attributes"].empty()) << info;
        // The daemon's own metrics, histograms included.
        json turnaround;
        for (const auto& m : received("metric")) {
            if (m["contentType"] == type &&
                m["name"] == "cardano_tracer_request_turnaround_seconds")
                turnaround = m;
        }
        ASSERT_FALSE(turnaround.is_null()) << type;
        EXPECT_EQ(turnaround["resource"]["service.name"], "cardano-tracer");
        EXPECT_EQ(turnaround["type"], "histogram");
        const auto& h = turnaround["points"][0];
        ASSERT_EQ(h["bucketCounts"].size(), h["explicitBounds"].size() + 1) << h;
        std::uint64_t total = 0;
        for (const auto& c : h["bucketCounts"]) total += std::stoull(c.get<std::string>());
        EXPECT_EQ(total, std::stoull(h["count"].get<std::string>())) << h;
        EXPECT_GT(total, 0u);
    }
    EXPECT_GT(
        metric(prom, "cardano_tracer_otlp_metric_points_total{exporter=\"" + endpoint() + "\"}"),
        0);
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(OtlpTest, HttpsTrustsTheConfiguredCaAndRefusesAnUntrustedReceiver) {
    ASSERT_TRUE(make_certificates(dir.path())) << read_file(dir / "openssl.out");
    write_file(dir / "chain.pem", read_file(dir / "leaf.pem") + read_file(dir / "int.pem"));
    start_receiver({"--tls", (dir / "chain.pem").string(), (dir / "leaf.key").string()});
    ASSERT_FALSE(HasFatalFailure());
    const std::string https = "https://127.0.0.1:" + std::to_string(port);
    // One section trusts the test CA; the other uses the system's store, which does not
    // know it: its records are never sent in clear, and the failure is reported.
    start_tracer(
        daemon_config("shutdownTimeoutSecs: 2\n",
                      otlp_section("ForMachine", https, "caFile: ca.pem, batchDelay: 0.05") +
                          otlp_section("ForHuman", https, "batchDelay: 0.05, policy: drop")));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    const auto prom = bound_port("Tracer.StartedPrometheus");
    nodes = run_relays(200, 1000);
    ASSERT_TRUE(wait_until([&] { return received("log").size() >= 400; }, 30s))
        << received("log").size();
    for (const auto& r : received("request")) {
        EXPECT_FALSE(r.contains("error")) << r;
        EXPECT_TRUE(r["identical"].get<bool>());
    }
    ASSERT_TRUE(wait_until(
        [&] {
            for (const auto& m : messages("Tracer.Error")) {
                if (m["data"]["error"].get<std::string>().find("certificate") != std::string::npos)
                    return true;
            }
            return false;
        },
        20s))
        << tracer->stdout_text();
    EXPECT_EQ(
        metric(prom, "cardano_tracer_otlp_records_exported_total{exporter=\"" + https + "\"}"),
        400);
    EXPECT_EQ(received("log").size(), 400u);  // nothing of the untrusted exporter arrived
    // The untrusted exporter still holds its records: the stop waits for it until
    // shutdownTimeoutSecs, then counts them lost (exit status 1, as for any loss at shutdown).
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(stop_tracer(), 1);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 6s);
    EXPECT_EQ(messages("Tracer.ShutdownComplete").at(0)["data"]["recordsLost"], 400);
}

TEST_F(OtlpTest, ReloadsAddChangeAndRemoveAnExporterWhileNodesStream) {
    start_receiver();
    ASSERT_FALSE(HasFatalFailure());
    const std::string head = daemon_config("", "");
    auto with_otlp = [&](const std::string& encoding) {
        return daemon_config(
            "",
            otlp_section("ForMachine", endpoint(), "encoding: " + encoding + ", batchDelay: 0.05"));
    };
    start_tracer(head);
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    nodes = run_relays(3000, 300);  // 10 s
    ASSERT_TRUE(wait_until([&] { return seqs("logs", "relay-1").size() >= 300; }, 20s));
    // Files only, then an exporter, then another encoding, then none again.
    ASSERT_EQ(reload(with_otlp("protobuf")).value("ns", ""), "Tracer.ConfigReloaded");
    ASSERT_TRUE(wait_until([&] { return received("log").size() >= 500; }, 20s));
    ASSERT_EQ(reload(with_otlp("json")).value("ns", ""), "Tracer.ConfigReloaded");
    ASSERT_TRUE(wait_until(
        [&] {
            const auto logs = received("log");
            return std::count_if(logs.begin(), logs.end(), [](const json& l) {
                       return l["contentType"] == "application/json";
                   }) >= 500;
        },
        20s));
    ASSERT_EQ(reload(head).value("ns", ""), "Tracer.ConfigReloaded");
    ASSERT_TRUE(nodes->wait_exit(60s));
    const auto summary = json::parse(read_file(dir / "summary.json"));
    for (const auto& n : summary["nodes"]) EXPECT_EQ(n["overflow_drops"], 0) << summary;
    // The files lose nothing across the reloads; the receiver got, per node, one unbroken run
    // of records (the retiring exporter sent what it held), each once, in both encodings.
    ASSERT_TRUE(wait_until([&] { return seqs("logs", "relay-2").size() == 3000; }, 20s));
    EXPECT_EQ(seqs("logs", "relay-1"), one_to(3000));
    EXPECT_EQ(seqs("logs", "relay-2"), one_to(3000));
    const auto settled = received("log").size();
    std::map<std::string, std::vector<std::uint64_t>> got;
    std::set<std::string> encodings;
    for (const auto& r : received("log")) {
        encodings.insert(r["contentType"].get<std::string>());
        got[r["resource"]["service.instance.id"]].push_back(
            json::parse(r["body"].get<std::string>())["data"]["seq"].get<std::uint64_t>());
    }
    EXPECT_EQ(encodings.size(), 2u);
    for (auto& [node, list] : got) {
        std::sort(list.begin(), list.end());
        ASSERT_FALSE(list.empty());
        EXPECT_EQ(std::adjacent_find(list.begin(), list.end()), list.end()) << node << ": twice";
        EXPECT_EQ(list.back() - list.front() + 1, list.size()) << node << ": a gap";
        EXPECT_LT(list.back(), 3000u) << node << ": still exported after the exporter was removed";
    }
    EXPECT_EQ(received("log").size(), settled);
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(OtlpTest, ASpillCarriesRecordsAcrossAReceiverOutageAndADaemonRestart) {
    port = free_tcp_port();  // the receiver is not there yet
    const std::string config = daemon_config(
        "",
        otlp_section("ForMachine",
                     endpoint(),
                     "batchDelay: 0.05, batchSize: 50, queueBytes: 20000, spillDir: spill, "
                     "timeout: 1"));
    start_tracer(config);
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    auto prom = bound_port("Tracer.StartedPrometheus");
    const std::string label = "{exporter=\"" + endpoint() + "\"}";
    // The receiver is down the whole time: what the memory queue cannot hold goes to disk, and
    // the nodes are never held back.
    nodes = run_relays(500, 250);
    ASSERT_TRUE(nodes->wait_exit(30s));
    const auto summary = json::parse(read_file(dir / "summary.json"));
    for (const auto& n : summary["nodes"]) EXPECT_EQ(n["overflow_drops"], 0) << summary;
    ASSERT_TRUE(wait_until([&] { return seqs("logs", "relay-2").size() == 500; }, 20s));
    EXPECT_GT(metric(prom, "cardano_tracer_otlp_records_spilled_total" + label), 0);
    EXPECT_GT(metric(prom, "cardano_tracer_otlp_spill_bytes" + label), 0);
    // A stop saves what memory still holds, without waiting for the failing receiver
    // (shutdownTimeoutSecs is 10): nothing is lost.
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(stop_tracer(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_EQ(messages("Tracer.ShutdownComplete").at(0)["data"]["recordsLost"], 0);
    std::size_t files = 0;
    for (const auto& f : fs::directory_iterator(dir / "spill")) files += f.is_regular_file();
    EXPECT_GT(files, 0u);
    // The receiver is back, and the daemon starts again: the spill goes out, in order, once.
    start_receiver();
    ASSERT_FALSE(HasFatalFailure());
    start_tracer(config);
    ASSERT_TRUE(wait_until([&] { return received("log").size() >= 1000; }, 30s))
        << received("log").size();
    std::map<std::string, std::vector<std::uint64_t>> got;
    for (const auto& r : received("log")) {
        got[r["resource"]["service.instance.id"]].push_back(
            json::parse(r["body"].get<std::string>())["data"]["seq"].get<std::uint64_t>());
    }
    EXPECT_EQ(got["relay-1"], one_to(500));
    EXPECT_EQ(got["relay-2"], one_to(500));
    ASSERT_TRUE(wait_until([&] { return fs::is_empty(dir / "spill"); }, 10s));
    EXPECT_EQ(stop_tracer(), 0);
}

TEST_F(OtlpTest, ASectionsRulesChooseWhatIsExportedAndRetryAfterIsHonoured) {
    // The receiver refuses the first two requests with 429 and Retry-After: 1.
    start_receiver({"--status", "429", "--first", "2", "--retry-after", "1"});
    ASSERT_FALSE(HasFatalFailure());
    start_tracer(daemon_config("",
                               otlp_section("ForMachine", endpoint(), "batchDelay: 0.05") +
                                   "    TraceOptions: { \"\": { severity: Warning } }\n"));
    ASSERT_TRUE(wait_for_socket("tracer.sock"));
    nodes = run_relays(400, 2000, 400);  // room for all: see the first test
    ASSERT_TRUE(nodes->wait_exit(20s));
    std::size_t warnings = 0;
    static const std::set<std::string> warning_or_worse{
        "Warning", "Error", "Critical", "Alert", "Emergency"};
    for (const std::string node : {"relay-1", "relay-2"}) {
        ASSERT_TRUE(wait_until([&] { return seqs("logs", node).size() == 400; }, 20s));
        for (const auto& l : machine_lines("logs", node))
            warnings += warning_or_worse.contains(json::parse(l)["sev"].get<std::string>());
    }
    ASSERT_GT(warnings, 0u);
    ASSERT_TRUE(wait_until([&] { return received("log").size() >= warnings; }, 20s))
        << received("log").size() << " of " << warnings;
    for (const auto& r : received("log"))
        EXPECT_TRUE(warning_or_worse.contains(r["severityText"].get<std::string>())) << r;
    EXPECT_EQ(received("log").size(), warnings);
    // The same request was tried three times, each retry at least a second after the 429.
    const auto requests = received("request");
    ASSERT_GE(requests.size(), 3u);
    EXPECT_EQ(requests[0].value("answered", 0), 429);
    EXPECT_EQ(requests[1].value("answered", 0), 429);
    EXPECT_GE(requests[1]["at"].get<std::int64_t>() - requests[0]["at"].get<std::int64_t>(), 950);
    EXPECT_GE(requests[2]["at"].get<std::int64_t>() - requests[1]["at"].get<std::int64_t>(), 950);
    EXPECT_EQ(stop_tracer(), 0);
}

}  // namespace
