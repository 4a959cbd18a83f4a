// The daemon's own metrics (connections, trace objects, writer, reloads, build info, uptime)
// in a prometheus-cpp registry, refreshed from the live counters at every scrape and
// serialised in the text format. Thread-safe (a mutex around refresh + serialise).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
struct MetricFamily;
}  // namespace prometheus

namespace ct::tracer {

struct session_counters;
class traffic_registry;
class latency_histogram;
namespace outputs {
class output_router;
}

struct reload_counters {
    std::atomic<std::uint64_t> reloads{0};
    std::atomic<std::uint64_t> failures{0};
};

class own_metrics {
  public:
    own_metrics(const session_counters& sessions,
                const traffic_registry& traffic,
                const latency_histogram& turnaround,
                const outputs::output_router& writer,
                const reload_counters& reloads);
    ~own_metrics();
    /// Text exposition (format 0.0.4) of the daemon's metrics, prefix `cardano_tracer_`.
    std::string render();
    /// Time the daemon spent answering one HTTP request (routing and rendering).
    void observe_http_request(std::chrono::nanoseconds d);
    /// Families another part of the daemon renders itself (the re-forwarder's), appended at
    /// every scrape. Before the first render.
    using family_source = std::function<void(std::vector<prometheus::MetricFamily>&)>;
    void add_families(family_source source) { extra_.push_back(std::move(source)); }

  private:
    struct families;
    void append_node_families(std::vector<prometheus::MetricFamily>& out) const;
    static void append_histogram(std::vector<prometheus::MetricFamily>& out,
                                 const char* name,
                                 const char* help,
                                 const latency_histogram& h);
    const session_counters& sessions_;
    const traffic_registry& traffic_;
    const latency_histogram& turnaround_;
    const outputs::output_router& writer_;
    const reload_counters& reloads_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::mutex mutex_;
    std::shared_ptr<prometheus::Registry> registry_;
    std::unique_ptr<families> f_;
    std::unique_ptr<latency_histogram> http_duration_;
    std::vector<family_source> extra_;
};

}  // namespace ct::tracer
