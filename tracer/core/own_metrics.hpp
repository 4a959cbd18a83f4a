// The daemon's own metrics (connections, trace objects, writer, reloads, build info, uptime)
// in a prometheus-cpp registry, refreshed from the live counters at every scrape and
// serialised in the text format. Thread-safe (a mutex around refresh + serialise).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace prometheus {
class Registry;
}

namespace ct::tracer {

struct session_counters;
namespace logs {
struct writer_stats;
}

struct reload_counters {
    std::atomic<std::uint64_t> reloads{0};
    std::atomic<std::uint64_t> failures{0};
};

class own_metrics {
  public:
    own_metrics(const session_counters& sessions,
                const logs::writer_stats& writer,
                const reload_counters& reloads);
    ~own_metrics();
    /// Text exposition (format 0.0.4) of the daemon's metrics, prefix `cardano_tracer_`.
    std::string render();

  private:
    struct families;
    const session_counters& sessions_;
    const logs::writer_stats& writer_;
    const reload_counters& reloads_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::mutex mutex_;
    std::shared_ptr<prometheus::Registry> registry_;
    std::unique_ptr<families> f_;
};

}  // namespace ct::tracer
