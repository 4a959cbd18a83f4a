#include "tracer/core/cli.hpp"

#include <array>
#include <string_view>

#include "protocol/severity.hpp"

namespace ct::tracer {
namespace {

cli_outcome fail(std::string text) {
    cli_outcome out;
    out.message = std::move(text) + "\n\n" + usage_text();
    out.message_to_stderr = true;
    out.exit_code = 1;
    return out;
}

}  // namespace

std::string usage_text() {
    return "cardano-tracer - the logging and monitoring service for Cardano nodes.\n"
           "\n"
           "Usage: cardano-tracer (-c|--config FILEPATH) [--state-dir FILEPATH]\n"
           "                      [--min-log-severity SEVERITY] [--check-config] [--strict]\n"
           "                      [--print-config json|yaml] [--against-running URL]\n"
           "                      [-v|--version]\n"
           "\n"
           "Available options:\n"
           "  -c,--config FILEPATH      Configuration file for cardano-tracer (YAML or JSON)\n"
           "  --state-dir FILEPATH      If specified, RTView saves its state in this directory\n"
           "                            (accepted for compatibility; only reported)\n"
           "  --min-log-severity SEVERITY\n"
           "                            Minimal severity of the tracer's own messages: Debug,\n"
           "                            Info, Notice, Warning, Error, Critical, Alert or\n"
           "                            Emergency (default: Info)\n"
           "  --check-config            Validate the configuration, print every problem and\n"
           "                            exit (status 0 when valid, 1 otherwise)\n"
           "  --strict                  Treat configuration warnings (unknown keys, legacy\n"
           "                            keys, suspicious addresses) as errors\n"
           "  --print-config json|yaml  Print the effective configuration (every default\n"
           "                            filled in) and exit\n"
           "  --against-running URL     With --check-config: fetch URL/config from a running\n"
           "                            daemon (its Prometheus endpoint, http://HOST:PORT) and\n"
           "                            show what a reload of the file would change\n"
           "  -h,--help                 Show this help text\n"
           "  -v,--version              Show the version of cardano-tracer\n";
}

cli_outcome parse_cli(const std::vector<std::string>& args) {
    if (args.empty()) return fail("Missing: (-c|--config FILEPATH)");

    cli_options opts;
    bool have_config = false;
    bool in_rts = false;

    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];

        // GHC runtime options: `+RTS ... -RTS` (or to the end of the line).
        if (in_rts) {
            if (arg == "-RTS") in_rts = false;
            continue;
        }
        if (arg == "+RTS") {
            in_rts = true;
            continue;
        }

        // Accept both `--opt value` and `--opt=value`.
        std::string_view name = arg;
        std::optional<std::string> inline_value;
        if (arg.starts_with("--")) {
            if (auto eq = arg.find('='); eq != std::string_view::npos) {
                name = arg.substr(0, eq);
                inline_value = std::string(arg.substr(eq + 1));
            }
        }
        auto value = [&](std::string& out) -> bool {
            if (inline_value) {
                out = *inline_value;
                return true;
            }
            if (i + 1 >= args.size()) return false;
            out = args[++i];
            return true;
        };

        if (name == "-h" || name == "--help") {
            return cli_outcome{std::nullopt, usage_text(), false, 0};
        }
        if (name == "-v" || name == "--version") {
            return cli_outcome{std::nullopt, std::string(tracer_version) + "\n", false, 0};
        }
        if (name == "-c" || name == "--config") {
            if (!value(opts.config_path)) return fail("The option `--config` expects an argument.");
            have_config = true;
        } else if (name == "--state-dir") {
            std::string dir;
            if (!value(dir)) return fail("The option `--state-dir` expects an argument.");
            opts.state_dir = dir;
        } else if (name == "--min-log-severity") {
            std::string sev;
            if (!value(sev)) return fail("The option `--min-log-severity` expects an argument.");
            const auto parsed = protocol::read_severity(sev);
            if (!parsed) {
                return fail("option --min-log-severity: cannot parse value `" + sev +
                            "' (expected one of Debug, Info, Notice, Warning, Error, Critical, "
                            "Alert, Emergency)");
            }
            opts.min_log_severity = std::string(protocol::severity_name(*parsed));
            opts.min_log_severity_given = true;
        } else if (name == "--check-config" || name == "--strict") {
            if (inline_value) return fail("The flag `" + std::string(name) + "' takes no value.");
            (name == "--check-config" ? opts.check_config : opts.strict) = true;
        } else if (name == "--against-running") {
            std::string url;
            if (!value(url)) return fail("The option `--against-running` expects a URL.");
            opts.against_running = url;
            opts.check_config = true;  // it is a check: nothing runs
        } else if (name == "--print-config") {
            std::string fmt;
            if (!value(fmt)) return fail("The option `--print-config` expects json or yaml.");
            if (fmt == "json") {
                opts.print = print_format::json;
            } else if (fmt == "yaml") {
                opts.print = print_format::yaml;
            } else {
                return fail("option --print-config: cannot parse value `" + fmt +
                            "' (expected json or yaml)");
            }
        } else {
            return fail("Invalid option `" + std::string(arg) + "'");
        }
    }

    if (!have_config) return fail("Missing: (-c|--config FILEPATH)");
    if (opts.config_path.empty()) return fail("option --config: the path is empty");
    return cli_outcome{std::move(opts), {}, false, 0};
}

}  // namespace ct::tracer
