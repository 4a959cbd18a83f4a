// Start-up steps between the command line and the server: load and validate the
// configuration (reporting every problem), serve --check-config / --print-config, and emit the
// first own messages. Called once from main(); not thread-bound.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "tracer/core/cli.hpp"

namespace ct::tracer {

class self_log;

struct loaded_configuration {
    std::shared_ptr<const config::tracer_config> config;  // null when it did not load
    int exit_code = 0;             // for --check-config / --print-config / failures
    nlohmann::json file_document;  // the file as read
};

/// Loads the file named on the command line. Problems go to stderr, one per line, as
/// "<file>: error: <path>: <message>"; --print-config output goes to stdout.
loaded_configuration load_configuration(const cli_options& opts);

/// Tracer.BuildInfo, Tracer.ParamsAre and Tracer.ConfigIs (with the effective configuration).
void announce_start(self_log& log, const cli_options& opts, const config::tracer_config& cfg);

}  // namespace ct::tracer
