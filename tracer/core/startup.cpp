#include "tracer/core/startup.hpp"

#include <iostream>

#include "config/emit.hpp"
#include "config/load.hpp"
#include "tracer/core/running_config.hpp"
#include "tracer/core/self_log.hpp"

namespace ct::tracer {

loaded_configuration load_configuration(const cli_options& opts) {
    config::load_options lo;
    lo.strict = opts.strict;
    auto result = config::load_file(opts.config_path, lo);

    loaded_configuration out;
    std::size_t errors = 0;
    for (const auto& d : result.diagnostics) {
        const bool is_error = d.lvl == config::diagnostic::level::error;
        errors += is_error ? 1 : 0;
        std::cerr << opts.config_path << ": " << (is_error ? "error: " : "warning: ")
                  << d.to_string() << "\n";
    }
    if (!result.ok() || !result.config) {
        std::cerr << "cardano-tracer: the configuration in " << opts.config_path << " is invalid ("
                  << errors << (errors == 1 ? " error" : " errors") << ")\n";
        out.exit_code = 1;
        return out;
    }

    out.config = std::make_shared<const config::tracer_config>(std::move(*result.config));
    out.file_document = std::move(result.document);
    if (opts.print == print_format::json) {
        std::cout << config::to_json_text(*out.config) << "\n";
    } else if (opts.print == print_format::yaml) {
        std::cout << config::to_yaml_text(*out.config);
    } else if (opts.check_config) {
        std::cout << opts.config_path << ": configuration OK";
        if (!result.diagnostics.empty()) {
            std::cout << " (" << result.diagnostics.size() << " warning"
                      << (result.diagnostics.size() == 1 ? "" : "s") << ")";
        }
        std::cout << "\n";
        if (opts.against_running) {
            auto page = fetch_running_config(*opts.against_running);
            if (auto* err = std::get_if<std::string>(&page)) {
                std::cerr << "cardano-tracer: " << *err << "\n";
                out.exit_code = 2;
            } else {
                std::cout << describe_reload(std::get<nlohmann::ordered_json>(page),
                                             config::to_ordered_json(*out.config),
                                             opts.config_path,
                                             *opts.against_running);
            }
        }
    }
    return out;
}

void announce_start(self_log& log, const cli_options& opts, const config::tracer_config& cfg) {
    log.emit("BuildInfo",
             own_severity::info,
             {{"version", tracer_version}, {"implementation", "C++"}, {"BuiltWithRTView", false}});
    log.emit("ParamsAre",
             own_severity::warning,
             {{"configPath", opts.config_path},
              {"stateDir", opts.state_dir ? nlohmann::json(*opts.state_dir) : nlohmann::json()},
              {"minLogSeverity", opts.min_log_severity}});
    log.emit("ConfigIs", own_severity::warning, {{"config", config::to_json(cfg)}});
}

}  // namespace ct::tracer
