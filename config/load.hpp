// Loading a cardano-tracer configuration file (YAML or JSON): parse, apply defaults, validate.
// Every problem is collected with its field path; nothing throws to the caller. Pure
// functions; thread-safe.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace ct::config {

struct diagnostic {
    enum class level { warning, error };
    level lvl = level::error;
    std::string path;  // "rotation.rpLogLimitBytes", "logging[1].logRoot", "" for the file
    std::string message;
    /// "path: message" (or just the message for file-level problems).
    std::string to_string() const;
};

struct load_options {
    bool strict = false;                  // warnings become errors
    std::filesystem::path base_dir = {};  // relative logRoots resolve against it (empty = CWD)
};

struct load_result {
    std::optional<tracer_config> config;  // set iff there is no error diagnostic
    std::vector<diagnostic> diagnostics;  // errors and warnings, in document order
    nlohmann::json document;              // the file as read (null if it did not parse)
    bool ok() const { return config.has_value(); }
};

load_result load_file(const std::filesystem::path& file, const load_options& opts = {});
load_result load_string(std::string_view text, const load_options& opts = {});

/// The address rule of spec §3.3.1: split at the last ':'; a non-empty host and a decimal
/// port 0..65535 make a TCP address, anything else non-empty is a Unix socket path.
std::optional<address> parse_address(std::string_view text);

}  // namespace ct::config
