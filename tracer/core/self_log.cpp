#include "tracer/core/self_log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <ctime>

namespace ct::tracer {
namespace {

std::string default_host() {
    if (const char* env = std::getenv("TRACE_DISPATCHER_LOGGING_HOSTNAME"); env && *env) {
        return env;
    }
    std::array<char, 256> buf{};
    if (gethostname(buf.data(), buf.size() - 1) != 0) return "localhost";
    std::string host(buf.data());
    if (auto dot = host.find('.'); dot != std::string::npos) host.resize(dot);
    return host;
}

// Small sequential thread numbers, like GHC's ThreadId numbers, instead of opaque pthread ids.
std::string thread_number() {
    static std::atomic<unsigned> next{1};
    thread_local unsigned mine = next.fetch_add(1);
    return std::to_string(mine);
}

}  // namespace

std::string format_utc_now() {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto secs = floor<seconds>(now);
    auto micros = duration_cast<microseconds>(now - secs).count();
    std::time_t t = system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out(buf, n);
    if (micros != 0) {
        char frac[32];
        std::snprintf(frac, sizeof frac, "%06lld", static_cast<long long>(micros));
        std::string f(frac);
        while (!f.empty() && f.back() == '0') f.pop_back();
        out += '.';
        out += f;
    }
    out += 'Z';
    return out;
}

self_log::self_log(own_severity min_severity, std::string host)
    : self_log(min_severity,
               std::make_shared<spdlog::logger>("cardano-tracer",
                                                std::make_shared<spdlog::sinks::stdout_sink_mt>()),
               std::move(host)) {}

self_log::self_log(own_severity min_severity,
                   std::shared_ptr<spdlog::logger> logger,
                   std::string host)
    : min_severity_(min_severity),
      logger_(std::move(logger)),
      host_(host.empty() ? default_host() : std::move(host)) {
    logger_->set_pattern("%v");
    logger_->set_level(spdlog::level::trace);
    logger_->flush_on(spdlog::level::trace);
}

self_log::~self_log() { flush(); }

void self_log::emit(std::string_view name, own_severity sev, nlohmann::json data) {
    if (!enabled(sev)) return;
    if (!data.is_object()) data = nlohmann::json{{"value", std::move(data)}};
    if (!data.contains("kind")) data["kind"] = "Tracer" + std::string(name);

    // Key order of TraceMessage is fixed (at, ns, data, sev, thread, host), so build the line
    // by hand rather than through an (ordered-by-key) json object.
    std::string line;
    line.reserve(256);
    line += R"({"at":")";
    line += format_utc_now();
    line += R"(","ns":)";
    line += nlohmann::json("Tracer." + std::string(name)).dump();
    line += R"(,"data":)";
    line += data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += R"(,"sev":")";
    line += protocol::severity_name(sev);
    line += R"(","thread":")";
    line += thread_number();
    line += R"(","host":)";
    line += nlohmann::json(host_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '}';
    logger_->info(line);
}

void self_log::emit_text(std::string_view line) { logger_->info(line); }

void self_log::flush() { logger_->flush(); }

}  // namespace ct::tracer
