// cardano-tracer: parse the command line, load the configuration, run the server, map
// failures to exit codes (1: bad command line or configuration, 2: start-up failure).
#include <iostream>
#include <memory>

#include "config/config.hpp"
#include "config/emit.hpp"
#include "config/load.hpp"
#include "tracer/core/cli.hpp"
#include "tracer/core/endpoints.hpp"
#include "tracer/core/self_log.hpp"
#include "tracer/core/server.hpp"
#include "tracer/core/startup.hpp"

int main(int argc, char** argv) {
    using namespace ct::tracer;
    const auto outcome = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
    if (!outcome.options) {
        (outcome.message_to_stderr ? std::cerr : std::cout) << outcome.message;
        return outcome.exit_code;
    }
    const cli_options& opts = *outcome.options;

    auto loaded = load_configuration(opts);
    if (!loaded.config || opts.check_config || opts.print != print_format::none) {
        return loaded.exit_code;
    }

    self_log log(ct::protocol::read_severity(opts.min_log_severity).value_or(own_severity::info));
    announce_start(log, opts, *loaded.config);

    try {
        server srv(loaded.config,
                   server_options{opts.config_path, opts.strict, std::move(loaded.file_document)},
                   log);
        return srv.run();
    } catch (const std::exception& e) {
        // Start-up failures (socket in use, HTTP port taken, unreadable TLS certificate).
        log.emit("Error", own_severity::critical, {{"error", e.what()}});
        std::cerr << "cardano-tracer: " << e.what() << "\n";
        return 2;
    }
}
