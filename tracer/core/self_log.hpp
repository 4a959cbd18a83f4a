// The daemon's own messages: one JSON object per line on stdout in trace-dispatcher's
// TraceMessage shape {"at","ns","data","sev","thread","host"}, namespaces `Tracer.*`.
// Thread-safe: spdlog's mutex-protected stdout sink serialises whole lines.
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "protocol/severity.hpp"

namespace spdlog {
class logger;
}

namespace ct::tracer {

/// Own messages carry the project's one severity type.
using own_severity = protocol::severity;

class self_log {
  public:
    /// Writes to stdout. `host` empty = derive it like trace-dispatcher (hostname up to the
    /// first '.', or $TRACE_DISPATCHER_LOGGING_HOSTNAME).
    explicit self_log(own_severity min_severity, std::string host = {});
    /// Writes through the given logger instead (tests use an ostream sink).
    self_log(own_severity min_severity, std::shared_ptr<spdlog::logger> logger, std::string host);
    ~self_log();

    bool enabled(own_severity s) const { return s >= min_severity_.load(); }
    void set_min_severity(own_severity s) { min_severity_.store(s); }

    /// Emits `Tracer.<name>` with `data` (an object; "kind" is added as "Tracer<name>" when
    /// absent, as cardano-tracer's own traces carry it).
    void emit(std::string_view name,
              own_severity sev,
              nlohmann::json data = nlohmann::json::object());

    /// A raw text line (verbosity Maximum protocol dumps are plain text upstream too).
    void emit_text(std::string_view line);

    void flush();

  private:
    std::atomic<own_severity> min_severity_;
    std::shared_ptr<spdlog::logger> logger_;
    std::string host_;
};

/// "2026-07-23T08:56:07.123456Z": UTC, fraction without trailing zeros (aeson style).
std::string format_utc_now();

}  // namespace ct::tracer
