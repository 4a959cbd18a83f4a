#include "tracer/timeseries/query_service.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>

namespace ct::tracer::timeseries {

namespace {

query::query_response unavailable(const char* why) {
    return {503,
            "{\"error\":" + query::json_string(why) +
                ",\"errorType\":\"unavailable\",\"status\":\"error\"}"};
}

}  // namespace

query_service::query_service(service& store, query::query_limits limits, std::size_t queue_limit)
    : store_(store), queue_limit_(queue_limit), limits_(limits) {
    thread_ = std::thread([this] {
        (void)pthread_setname_np(pthread_self(), "ct-ts-query");
        run();
    });
}

query_service::~query_service() { stop(); }

void query_service::submit(std::string text, std::uint64_t now_ms, completion done) {
    bool stopping = false;
    {
        std::lock_guard lock(mutex_);
        if (!stopping_ && queue_.size() < queue_limit_) {
            queue_.push_back(job{std::move(text), now_ms, std::move(done)});
            cv_.notify_one();
            return;
        }
        stopping = stopping_;
        counters_.refused++;
    }
    done(unavailable(stopping ? "the tracer is stopping"
                              : "too many timeseries queries are waiting; try again"));
}

void query_service::set_limits(const query::query_limits& limits) {
    std::lock_guard lock(mutex_);
    limits_ = limits;
}

void query_service::stop() {
    std::deque<job> waiting;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
        cancelled_ = true;
        waiting.swap(queue_);
        counters_.refused += waiting.size();
        cv_.notify_all();
    }
    for (auto& j : waiting) j.done(unavailable("the tracer is stopping"));
    if (thread_.joinable()) thread_.join();
}

query_counters query_service::counters() const {
    std::lock_guard lock(mutex_);
    auto c = counters_;
    c.waiting = queue_.size();
    c.in_progress = c.waiting + (running_ ? 1 : 0);
    return c;
}

void query_service::run() {
    // Below everything: a query takes only CPU time nobody else wants, so it moves neither
    // the node threads nor, on a shared host, cardano-node itself (Linux SCHED_IDLE; nice 19
    // where that is refused). Its wall-time bound still holds.
    sched_param idle{};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle) != 0)
        setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
    const service_source source(store_);
    for (;;) {
        job j;
        query::query_limits limits;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            j = std::move(queue_.front());
            queue_.pop_front();
            limits = limits_;
            running_ = true;
        }
        limits.cancelled = &cancelled_;
        const auto t0 = std::chrono::steady_clock::now();
        auto response = query::run_query(j.text, j.now_ms, source, limits);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
        {
            std::lock_guard lock(mutex_);
            (response.status == 200 ? counters_.answered : counters_.failed)++;
            counters_.seconds += took.count();
            running_ = false;
        }
        j.done(std::move(response));
    }
}

std::vector<instant_sample> service_source::instant(std::string_view metric,
                                                    std::uint64_t t) const {
    return service_.read([&](const store& s) { return s.instant(metric, t); });
}

std::vector<std::string> service_source::metric_names() const {
    return service_.read([](const store& s) { return s.metric_names(); });
}

bool service_source::has_metric(std::string_view metric) const {
    return service_.read([&](const store& s) { return s.has_metric(metric); });
}

}  // namespace ct::tracer::timeseries
