// Runs timeseries queries on their own thread, in the idle scheduling class, so that a heavy
// query moves neither a node's request turnaround nor a Prometheus scrape. A bounded queue of
// waiting queries; what does not fit is answered 503 at once. Every submitted query is
// answered exactly once, also when the daemon stops.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "tracer/timeseries/query_evaluate.hpp"
#include "tracer/timeseries/service.hpp"

namespace ct::tracer::timeseries {

struct query_counters {
    std::uint64_t answered = 0;     // 200
    std::uint64_t failed = 0;       // 400: parse, type or evaluation error, a limit reached
    std::uint64_t refused = 0;      // 503: the queue was full or the tracer stopping
    double seconds = 0;             // spent evaluating
    std::uint64_t in_progress = 0;  // waiting or running now
    std::uint64_t waiting = 0;      // of which waiting
};

class query_service {
  public:
    using completion = std::function<void(query::query_response)>;

    query_service(service& store, query::query_limits limits, std::size_t queue_limit = 16);
    ~query_service();
    query_service(const query_service&) = delete;
    query_service& operator=(const query_service&) = delete;

    /// Queues a query; `done` runs on the query thread (or at once when refused).
    void submit(std::string text, std::uint64_t now_ms, completion done);
    /// New bounds (a reload); the running query keeps its own.
    void set_limits(const query::query_limits& limits);
    /// Answers every waiting query 503, stops the running one and joins the thread.
    void stop();

    query_counters counters() const;

  private:
    void run();

    struct job {
        std::string text;
        std::uint64_t now_ms;
        completion done;
    };

    service& store_;
    const std::size_t queue_limit_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<job> queue_;
    query::query_limits limits_;
    query_counters counters_;
    bool stopping_ = false;
    bool running_ = false;
    std::atomic<bool> cancelled_{false};
    std::thread thread_;
};

/// A series source that reads the service's store under its lock, one lookup at a time, so a
/// long query never holds up ingestion.
class service_source final : public query::series_source {
  public:
    explicit service_source(const service& s) : service_(s) {}
    std::vector<instant_sample> instant(std::string_view metric, std::uint64_t t) const override;
    std::vector<std::string> metric_names() const override;
    bool has_metric(std::string_view metric) const override;

  private:
    const service& service_;
};

}  // namespace ct::tracer::timeseries
