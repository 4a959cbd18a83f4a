// Fixture for tests that run the real cardano-tracer against the real trace-forwarder in a
// temp directory: config writing, start/stop, and reading back the log files.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

namespace ct::test {

#ifdef CT_SANITIZED
inline constexpr int slowdown = 5;  // sanitizer builds: lower rates, longer waits
#else
inline constexpr int slowdown = 1;
#endif

inline const std::string tracer_exe = CT_TRACER_EXE;
inline const std::string forwarder_exe = CT_FORWARDER_EXE;

// Makes a CA, an intermediate signed by it and a server certificate for 127.0.0.1 signed by
// the intermediate (EC keys: fast), in `dir`.
inline bool make_certificates(const fs::path& dir) {
    write_file(dir / "ca.ext",
               "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n");
    write_file(dir / "leaf.ext", "subjectAltName=IP:127.0.0.1\n");
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "cd '" + dir.string() +
        "' && exec > openssl.out 2>&1 && set -e\n"
        "openssl req -x509" +
        key +
        " -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign\n"
        "openssl req" +
        key +
        " -keyout int.key -out int.csr -subj /CN=test-intermediate\n"
        "openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out int.pem"
        " -days 2 -extfile ca.ext\n"
        "openssl req" +
        key +
        " -keyout leaf.key -out leaf.csr -subj /CN=127.0.0.1\n"
        "openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -out leaf.pem"
        " -days 2 -extfile leaf.ext\n";
    write_file(dir / "certs.sh", script);
    return std::system(("sh '" + (dir / "certs.sh").string() + "'").c_str()) == 0;
}

class DaemonTest : public ::testing::Test {
  protected:
    temp_dir dir;

    /// Writes the config (YAML) and starts the daemon in the temp dir; waits for the listener
    /// when `wait_for` names a socket path or a TCP port.
    void start_tracer(const std::string& yaml, const child_extras& extras = {}) {
        write_file(dir / "tracer.yaml", yaml);
        tracer = std::make_unique<child_process>(tracer_exe,
                                                 std::vector<std::string>{"-c", "tracer.yaml"},
                                                 dir.path(),
                                                 "tracer",
                                                 dir.path(),
                                                 extras);
    }

    bool wait_for_socket(const std::string& rel) {
        return wait_until([&] { return fs::exists(dir / rel); }, 10s);
    }
    bool wait_for_port(unsigned short port) {
        return wait_until([&] { return tcp_port_open(port); }, 10s);
    }

    std::unique_ptr<child_process> run_forwarder(const std::vector<std::string>& args,
                                                 const std::string& label = "fwd") {
        return std::make_unique<child_process>(forwarder_exe, args, dir.path(), label, dir.path());
    }

    /// `count` simulated nodes named <prefix>-1 … on tracer.sock (network magic 42), each
    /// sending `rate` objects/s and `metrics` EKG metrics.
    std::unique_ptr<child_process> run_named_nodes(int count,
                                                   const std::string& prefix,
                                                   int rate,
                                                   int metrics) {
        return run_forwarder({"--connect",
                              "tracer.sock",
                              "--network-magic",
                              "42",
                              "--nodes",
                              std::to_string(count),
                              "--name-prefix",
                              prefix,
                              "--rate",
                              std::to_string(rate),
                              "--metrics",
                              std::to_string(metrics)});
    }

    /// Every ForMachine line of a node directory, in file order (rotated files included).
    std::vector<std::string> machine_lines(const std::string& root, const std::string& node) {
        std::vector<fs::path> files;
        std::error_code ec;
        if (!fs::is_directory(dir / root / node, ec)) return {};
        for (const auto& e : fs::directory_iterator(dir / root / node)) {
            const auto name = e.path().filename().string();
            if (name.starts_with("node-") && name.ends_with(".json")) files.push_back(e.path());
        }
        std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
            // node-<ts>.json sorts before node-<ts>_N.json
            auto key = [](const fs::path& p) {
                auto s = p.filename().string();
                auto stem = s.substr(0, s.size() - 5);
                auto us = stem.find('_');
                return std::make_pair(stem.substr(0, us),
                                      us == std::string::npos ? 0 : std::stoi(stem.substr(us + 1)));
            };
            return key(a) < key(b);
        });
        std::vector<std::string> lines;
        for (const auto& f : files) {
            std::string text = read_file(f);
            // A file read while the daemon writes may end inside a write (a reader can see
            // part of a write(2) on a regular file): an unterminated tail that is not yet a
            // whole JSON object is left for the next look. (In compatibility mode the last
            // record is unterminated but whole.)
            const auto end = text.rfind('\n');
            const std::string_view tail =
                std::string_view(text).substr(end == std::string::npos ? 0 : end + 1);
            if (!tail.empty() && !nlohmann::json::accept(tail))
                text.resize(text.size() - tail.size());
            for (auto& l : split_lines(text)) lines.push_back(l);
        }
        return lines;
    }

    /// The `seq` numbers of a node's ForMachine lines.
    std::vector<std::uint64_t> seqs(const std::string& root, const std::string& node) {
        std::vector<std::uint64_t> out;
        for (const auto& l : machine_lines(root, node)) {
            out.push_back(nlohmann::json::parse(l)["data"]["seq"].get<std::uint64_t>());
        }
        return out;
    }

    /// seq numbers per simulated node (the `node` field inside the trace), over every node
    /// directory: the check does not depend on which name a directory got.
    std::map<std::string, std::vector<std::uint64_t>> seqs_by_origin(const std::string& root) {
        std::map<std::string, std::vector<std::uint64_t>> out;
        std::error_code ec;
        if (!fs::is_directory(dir / root, ec)) return out;
        for (const auto& d : fs::directory_iterator(dir / root)) {
            for (const auto& l : machine_lines(root, d.path().filename().string())) {
                const auto j = nlohmann::json::parse(l);
                out[j["data"]["node"].get<std::string>()].push_back(
                    j["data"]["seq"].get<std::uint64_t>());
            }
        }
        return out;
    }

    static std::vector<std::uint64_t> one_to(std::uint64_t n) {
        std::vector<std::uint64_t> v(n);
        for (std::uint64_t i = 0; i < n; ++i) v[i] = i + 1;
        return v;
    }

    /// The port an endpoint of the daemon bound (epPort 0 / AcceptAt host:0), from its start
    /// message (`ns` Tracer.StartedPrometheus, Tracer.StartedMonitoring or Tracer.SockListen):
    /// no bind-close-reuse race between tests running in parallel. 0 if not reported in 10 s.
    unsigned short bound_port(const std::string& ns) {
        unsigned short port = 0;
        wait_until([&] {
            for (const auto& line : split_lines(tracer->stdout_text())) {
                if (line.find("\"" + ns + "\"") == std::string::npos) continue;
                auto j = nlohmann::json::parse(line, nullptr, false);
                if (!j.is_object() || j.value("ns", "") != ns) continue;
                const auto& d = j["data"];
                if (d.contains("endpoint")) {
                    port = d["endpoint"]["boundPort"].get<unsigned short>();
                } else if (d.contains("listenAt")) {
                    const auto at = d["listenAt"].get<std::string>();
                    port = static_cast<unsigned short>(std::stoi(at.substr(at.rfind(':') + 1)));
                }
                return port != 0;
            }
            return false;
        });
        return port;
    }

    /// The lines of the daemon's own log with namespace `ns`, parsed.
    std::vector<nlohmann::json> messages(const std::string& ns) {
        std::vector<nlohmann::json> out;
        for (const auto& line : split_lines(tracer->stdout_text())) {
            if (line.find("\"" + ns + "\"") == std::string::npos) continue;
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_object() && j.value("ns", "") == ns) out.push_back(std::move(j));
        }
        return out;
    }
    std::size_t count(const std::string& ns) { return messages(ns).size(); }

    /// What `promtool check metrics` says against an exposition ("" when it accepts it).
    /// scripts/setup.sh installs promtool: its absence is a failure, not a skip.
    std::string promtool_errors(const std::string& name, const std::string& body) {
        if (!fs::exists("/usr/bin/promtool")) return "promtool is not installed";
        write_file(dir / (name + ".prom"), body);
        const std::string cmd = "/usr/bin/promtool check metrics < " +
                                (dir / (name + ".prom")).string() + " > " +
                                (dir / (name + ".promtool")).string() + " 2>&1";
        if (std::system(cmd.c_str()) == -1) return "cannot run promtool";
        const auto out = read_file(dir / (name + ".promtool"));
        return out.find("error") == std::string::npos ? std::string() : out;
    }

    /// Rewrites the config file, sends SIGHUP and waits for the n-th reload outcome
    /// (Tracer.ConfigReloaded or Tracer.ReloadFailed); returns that message.
    nlohmann::json reload(const std::string& yaml) {
        write_file(dir / "tracer.yaml", yaml);
        const auto before = count("Tracer.ConfigReloaded") + count("Tracer.ReloadFailed");
        tracer->signal(SIGHUP);
        nlohmann::json outcome;
        wait_until([&] {
            if (count("Tracer.ConfigReloaded") + count("Tracer.ReloadFailed") <= before)
                return false;
            for (const auto* ns : {"Tracer.ConfigReloaded", "Tracer.ReloadFailed"}) {
                auto m = messages(ns);
                if (!m.empty() && (outcome.is_null() || m.back()["at"] > outcome["at"]))
                    outcome = m.back();
            }
            return true;
        });
        return outcome;
    }

    /// Stops the daemon with SIGTERM and returns its exit status.
    int stop_tracer() {
        tracer->signal(SIGTERM);
        auto st = tracer->wait_exit(10s);
        return st ? *st : -1;
    }

    std::unique_ptr<child_process> tracer;

    void TearDown() override {
        // On failure, show what the daemon said (its temp dir is removed afterwards).
        if (HasFailure() && tracer) {
            auto out = tracer->stdout_text();
            if (out.size() > 6000) out = "…" + out.substr(out.size() - 6000);
            std::cerr << "---- tracer stdout (tail)\n"
                      << out << "\n---- tracer stderr\n"
                      << tracer->stderr_text() << "\n";
        }
    }
};

}  // namespace ct::test
