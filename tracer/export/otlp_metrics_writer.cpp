#include "tracer/export/otlp_metrics_writer.hpp"

#include <algorithm>

#include "tracer/export/gzip.hpp"
#include "tracer/outputs/thread_name.hpp"

namespace ct::tracer::exporting {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

template <typename D>
clock::duration seconds(D s) {
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

otlp_metrics_writer::otlp_metrics_writer(config::otlp_metrics_target target,
                                         collector collect,
                                         std::function<void(const std::string&)> report)
    : target_(std::move(target)),
      collect_(std::move(collect)),
      report_(std::move(report)),
      start_ns_(now_ns()) {
    const auto& c = target_.connection;
    const auto url = parse_http_url(c.endpoint);  // the loader checked it
    shown_ = url ? url->shown : c.endpoint;
    if (url) {
        path_ = (url->path == "/" ? std::string() : url->path) + "/v1/metrics";
        client_ = std::make_unique<http_client>(*url, c.ca_file);
    }
    headers_.push_back(c.enc == config::otlp_settings::encoding::json
                           ? "Content-Type: application/json"
                           : "Content-Type: application/x-protobuf");
    if (c.gzip) headers_.emplace_back("Content-Encoding: gzip");
    headers_.emplace_back("User-Agent: cardano-tracer-cpp");
    for (const auto& [name, value] : c.headers) headers_.push_back(name + ": " + value);
    thread_ = std::thread([this] {
        name_this_thread("ct-otlp-metric");
        run();
    });
}

otlp_metrics_writer::~otlp_metrics_writer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        cancel_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool otlp_metrics_writer::wait_until(clock::time_point t) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, t, [&] { return stopping_; });
    return !stopping_;
}

void otlp_metrics_writer::run() {
    const auto interval = seconds(target_.interval_secs);
    auto next = clock::now() + interval;
    while (wait_until(next)) {
        next += interval;
        if (next < clock::now()) next = clock::now() + interval;  // after a long stall
        push(next);
    }
}

void otlp_metrics_writer::push(clock::time_point give_up_at) {
    if (!client_) return;
    otlp_metrics_options o;
    o.json = target_.connection.enc == config::otlp_settings::encoding::json;
    o.time_ns = now_ns();
    o.start_time_ns = start_ns_;
    std::size_t points = 0;
    std::string body = encode_metrics_request(collect_(), o, &points);
    if (target_.connection.gzip) body = gzip_compress(body);
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        seconds(target_.connection.timeout_secs));
    auto backoff = std::chrono::milliseconds(250ms);
    for (;;) {
        const auto a = client_->post(path_, headers_, body, timeout, &cancel_);
        if (a.status >= 200 && a.status < 300) {
            counters_.pushes++;
            counters_.points += points;
            return;
        }
        const bool retry = a.status == 0 || a.status == 408 || a.status == 429 || a.status >= 500;
        const std::string problem =
            "OTLP metrics push to " + shown_ + ": " +
            (a.status ? "status " + std::to_string(a.status) + " " + a.body.substr(0, 200)
                      : a.error);
        auto wait = backoff;
        if (a.retry_after && *a.retry_after > 0) {
            wait = std::max(wait,
                            std::chrono::duration_cast<std::chrono::milliseconds>(
                                seconds(std::min(*a.retry_after, 300.0))));
        }
        backoff = std::min(backoff * 2, std::chrono::milliseconds(30s));
        if (!retry || clock::now() + wait >= give_up_at) {
            counters_.failures++;
            if (clock::now() - last_report_ >= 60s) {
                last_report_ = clock::now();
                report_(problem + (retry ? "; dropped (the next push carries every value)"
                                         : "; not retried"));
            }
            return;
        }
        if (!wait_until(clock::now() + wait)) return;
        counters_.retries++;
    }
}

}  // namespace ct::tracer::exporting
