// `--check-config FILE --against-running URL`: fetch a running daemon's GET /config and show
// what a reload of FILE would change, before the operator sends SIGHUP. Blocking; used by the
// command line only.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

namespace ct::tracer {

/// GET <url>/config (url = http://HOST:PORT[/prefix]); the parsed page, or why it failed.
std::variant<nlohmann::ordered_json, std::string> fetch_running_config(
    const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// The report printed for an operator: one line per changed top-level key with what a SIGHUP
/// does with it, or a line saying nothing would change.
std::string describe_reload(const nlohmann::ordered_json& running_page,
                            const nlohmann::ordered_json& proposed,
                            const std::string& file,
                            const std::string& url);

}  // namespace ct::tracer
