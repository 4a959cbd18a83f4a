#include "tracer/timeseries/service.hpp"

#include <pthread.h>

namespace ct::tracer::timeseries {

service::service(service_options o, std::function<void(const std::string&)> report)
    : options_(o), report_(std::move(report)), store_(o.limits) {
    thread_ = std::thread([this] {
        (void)pthread_setname_np(pthread_self(), "ct-timeseries");
        run();
    });
}

service::~service() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

std::uint64_t service::now_ms() const {
    if (options_.clock_ms) return options_.clock_ms();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    return static_cast<std::uint64_t>(ms.count());
}

void service::submit(std::string node_name, std::vector<std::pair<std::string, double>> values) {
    const auto ts = now_ms();
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= options_.queue_batches) {
            counters_.batches_dropped++;
            return;
        }
        queue_.push_back({std::move(node_name), ts, std::move(values)});
        ++submitted_;
    }
    cv_.notify_one();
}

std::uint64_t service::retention_ms() const {
    std::lock_guard lock(mutex_);
    return retention_ms_;
}

std::optional<std::uint64_t> service::pruning_period_ms() const {
    std::lock_guard lock(mutex_);
    return pruning_ms_;
}

bool service::set_retention(std::uint64_t ms) {
    if (ms < options_.min_retention_ms) return false;
    {
        std::lock_guard lock(mutex_);
        retention_ms_ = ms;
        reconfigured_ = true;
    }
    cv_.notify_all();
    return true;
}

void service::set_pruning(std::optional<std::uint64_t> ms) {
    {
        std::lock_guard lock(mutex_);
        pruning_ms_ = ms;
        reconfigured_ = true;
    }
    cv_.notify_all();
}

void service::set_limits(const store_limits& limits) {
    std::unique_lock lock(store_mutex_);
    store_.set_limits(limits);
}

void service::prune_now() {
    std::uint64_t retention;
    {
        std::lock_guard lock(mutex_);
        retention = retention_ms_;
    }
    std::unique_lock lock(store_mutex_);
    const auto n = store_.truncate(now_ms() - retention);
    std::lock_guard counters_lock(mutex_);
    counters_.points_pruned += n;
}

service_counters service::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

void service::flush() {
    std::unique_lock lock(mutex_);
    const auto target = submitted_;
    applied_cv_.wait(lock, [&] { return applied_ >= target || stopping_; });
}

void service::run() {
    // Upstream prunes at start-up, then every period, and at once after a reconfiguration.
    auto next_prune = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    for (;;) {
        if (pruning_ms_ && std::chrono::steady_clock::now() >= next_prune) {
            lock.unlock();
            prune_now();
            lock.lock();
            next_prune = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(pruning_ms_ ? *pruning_ms_ : 0);
        }
        const auto deadline =
            pruning_ms_ ? next_prune : std::chrono::steady_clock::time_point::max();
        cv_.wait_until(
            lock, deadline, [&] { return stopping_ || reconfigured_ || !queue_.empty(); });
        if (stopping_) return;
        if (reconfigured_) {
            reconfigured_ = false;
            next_prune = std::chrono::steady_clock::now();  // prune now (if a period is set)
        }
        if (queue_.empty()) continue;
        std::deque<batch> todo;
        todo.swap(queue_);
        lock.unlock();
        insert_result total;
        store_limits limits;
        {
            std::unique_lock store_lock(store_mutex_);
            limits = store_.limits();
            label_set labels{{"node_name", ""}};
            for (auto& b : todo) {
                labels[0].second = b.node;
                const auto r = store_.insert(labels, b.ts, b.values);
                total.inserted += r.inserted;
                total.refused_points += r.refused_points;
                total.refused_series += r.refused_series;
            }
        }
        std::string problem;
        lock.lock();
        counters_.points_inserted += total.inserted;
        counters_.points_refused += total.refused_points;
        counters_.series_refused += total.refused_series;
        const auto now = std::chrono::steady_clock::now();
        if ((total.refused_points || total.refused_series) &&
            (last_cap_report_ == std::chrono::steady_clock::time_point{} ||
             now - last_cap_report_ > std::chrono::minutes(1))) {
            last_cap_report_ = now;
            problem = "timeseries store full: " + std::to_string(total.refused_points) +
                      " points and " + std::to_string(total.refused_series) +
                      " new series refused (caps: " + std::to_string(limits.max_series) +
                      " series, " + std::to_string(limits.max_points) + " points, " +
                      std::to_string(limits.max_points_per_node) +
                      " points per node; lower the retention with "
                      "POST /timeseries/config/retention)";
        }
        if (!problem.empty() && report_) {
            lock.unlock();
            report_(problem);
            lock.lock();
        }
        // After the report: flush() then sees everything these batches caused.
        applied_ += todo.size();
        applied_cv_.notify_all();
    }
}

}  // namespace ct::tracer::timeseries
