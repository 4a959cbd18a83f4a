// How a record is written in each logFormat: ForMachine and ForHuman as cardano-tracer writes
// them, trace-dispatcher's human line (DispatcherHuman), and the old node's iohk-monitoring
// text and JSON lines (LegacyText, LegacyJson), whose logger names come from the legacy
// namespace table. The machine JSON is parsed with simdjson only where a format needs its
// `data` object. One formatter per writer thread (it keeps a parser and scratch buffers).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.hpp"
#include "protocol/json_text.hpp"
#include "tracer/outputs/trace_batch.hpp"

namespace ct::tracer::outputs {

class record_formatter {
  public:
    explicit record_formatter(std::shared_ptr<const config::legacy_namespace_table> names = {});
    ~record_formatter();
    record_formatter(const record_formatter&) = delete;
    record_formatter& operator=(const record_formatter&) = delete;
    void set_legacy_names(std::shared_ptr<const config::legacy_namespace_table> names);

    /// Appends record `r` of `b` in format `f`, without the line's trailing newline.
    void append(const trace_batch& b, const record_ref& r, config::log_format f, std::string& out);

    /// The raw JSON of the `data` member of a machine line, or nullopt when there is none.
    std::optional<std::string_view> data_of(std::string_view machine);
    /// "cardano.node.<logger>" of a namespace (cached).
    const std::string& logger_for(std::string_view ns);

  private:
    void append_text_or_data(const trace_batch& b,
                             const record_ref& r,
                             bool wrap,
                             std::string& out);

    struct json_scanner;  // simdjson stays out of this header (it is large and has its own ABI)
    std::shared_ptr<const config::legacy_namespace_table> names_;
    std::unique_ptr<json_scanner> json_;
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    // Looked up by string_view: no allocation per record once a namespace is known.
    std::unordered_map<std::string, std::string, string_hash, std::equal_to<>> loggers_;
};

/// "YYYY-MM-DD HH:MM:SS" of a UTC time, then `digits` fractional digits (truncated) if > 0.
void append_utc(std::string& out, const protocol::utc_time& t, char date_time_sep, int digits);
using protocol::append_json_string;

}  // namespace ct::tracer::outputs
