#include "tracer/export/remote_writer.hpp"

#include <algorithm>

#include "tracer/outputs/thread_name.hpp"

namespace ct::tracer::exporting {

namespace {

using clock = std::chrono::steady_clock;

std::chrono::milliseconds millis(double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

}  // namespace

remote_writer::remote_writer(config::remote_write_target target,
                             collector collect,
                             std::function<void(const std::string&)> report)
    : target_(std::move(target)), collect_(std::move(collect)), report_(std::move(report)) {
    if (auto u = parse_http_url(target_.url)) url_ = *u;  // the loader checked it
    thread_ = std::thread([this] {
        name_this_thread("ct-remote-write");
        run();
    });
}

remote_writer::~remote_writer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cancel_ = true;
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool remote_writer::wait_until(clock::time_point t) {
    std::unique_lock lock(mutex_);
    return !cv_.wait_until(lock, t, [this] { return stopping_; });
}

void remote_writer::run() {
    const auto interval = millis(target_.interval_secs);
    auto next = clock::now();
    for (;;) {
        if (!wait_until(next)) return;
        next += interval;
        if (next < clock::now()) next = clock::now() + interval;
        push(next);
    }
}

bool remote_writer::push(clock::time_point give_up_at) {
    const auto samples = collect_();
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    // Requests of at most max_samples_per_request series (Prometheus' own sender sends 2000 per
    // request by default; receivers bound the request size).
    for (std::size_t first = 0; first < samples.size() || first == 0;
         first += max_samples_per_request) {
        const auto last = std::min(samples.size(), first + max_samples_per_request);
        const std::vector<sample> part(samples.begin() + static_cast<std::ptrdiff_t>(first),
                                       samples.begin() + static_cast<std::ptrdiff_t>(last));
        if (!send(part, now_ms, give_up_at)) {
            counters_.failures++;
            counters_.samples_dropped += samples.size() - first;
            failing_ = true;
            if (clock::now() - last_report_ >= std::chrono::minutes(1) ||
                last_report_ == clock::time_point{}) {
                last_report_ = clock::now();
                report_("remote write to " + url_.shown + " failed (" + problem_ + "); " +
                        std::to_string(samples.size() - first) +
                        " samples dropped, the next push is due in " +
                        std::to_string(target_.interval_secs) + " s");
            }
            return false;
        }
        if (samples.empty()) break;
    }
    counters_.pushes++;
    if (failing_) {
        failing_ = false;
        report_("remote write to " + url_.shown + " works again");
    }
    return true;
}

bool remote_writer::send(const std::vector<sample>& part,
                         std::int64_t now_ms,
                         clock::time_point give_up_at) {
    const auto body = snappy_compress(encode_write_request(part, now_ms));
    const std::vector<std::string> headers{"Content-Type: application/x-protobuf",
                                           "Content-Encoding: snappy",
                                           "X-Prometheus-Remote-Write-Version: 0.1.0",
                                           "User-Agent: cardano-tracer"};
    auto backoff = std::chrono::milliseconds(250);
    for (int attempt = 0;; ++attempt) {
        if (attempt > 0) counters_.retries++;
        const auto a = http_post(url_, headers, body, millis(target_.timeout_secs), &cancel_);
        if (a.status >= 200 && a.status < 300) {
            counters_.samples_sent += part.size();
            return true;
        }
        problem_ = a.status ? "answered " + std::to_string(a.status) + ": " + a.body : a.error;
        const bool retryable = a.status == 0 || a.status == 429 || a.status >= 500;
        auto wait = backoff;
        if (a.retry_after) wait = std::max(wait, millis(*a.retry_after));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
        if (!retryable || cancel_ || clock::now() + wait >= give_up_at) return false;
        if (!wait_until(clock::now() + wait)) return false;  // stopping
    }
}

}  // namespace ct::tracer::exporting
