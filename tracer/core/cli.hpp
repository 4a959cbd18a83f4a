// Command-line options of cardano-tracer (compatible with 0.5.0, plus --check-config,
// --strict and --print-config). Pure parsing, no side effects; not thread-bound.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ct::tracer {

enum class print_format { none, json, yaml };

struct cli_options {
    std::string config_path;
    std::optional<std::string> state_dir;
    std::string min_log_severity = "Info";  // validated name, see config/severity.hpp
    bool min_log_severity_given = false;
    bool check_config = false;
    bool strict = false;
    print_format print = print_format::none;
    /// --against-running URL (with --check-config): what a reload of the file would change.
    std::optional<std::string> against_running;
};

/// What the command line asks for: run (options), or print text and exit with a status.
struct cli_outcome {
    std::optional<cli_options> options;  // set when the daemon should run or check/print config
    std::string message;                 // text to print when `options` is empty
    bool message_to_stderr = false;
    int exit_code = 0;
};

/// Parses argv (argv[0] excluded). `+RTS ... -RTS` runtime flags of the Haskell binary are
/// accepted and ignored so that existing service files keep working.
cli_outcome parse_cli(const std::vector<std::string>& args);

/// The --help text.
std::string usage_text();

/// The version printed by -v/--version.
inline constexpr const char* tracer_version = "0.5.0";

}  // namespace ct::tracer
