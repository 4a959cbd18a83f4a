#include "tracer/export/otlp_exporter.hpp"

#include <algorithm>
#include <cmath>

#include "tracer/export/gzip.hpp"

namespace ct::tracer::exporting {

using namespace std::chrono_literals;

namespace {

otlp_logs_request::encoding encoding_of(const config::otlp_settings& s) {
    return s.enc == config::otlp_settings::encoding::json ? otlp_logs_request::encoding::json
                                                          : otlp_logs_request::encoding::protobuf;
}

bool retryable(int status) {
    return status == 0 || status == 408 || status == 429 || status >= 500;
}

}  // namespace

otlp_exporter::otlp_exporter(const config::otlp_settings& settings,
                             std::function<void(std::string)> report)
    : settings_(settings),
      report_(std::move(report)),
      filling_(encoding_of(settings), settings.resource_attributes) {
    const auto url = parse_http_url(settings_.endpoint);  // the loader checked it
    shown_ = url ? url->shown : settings_.endpoint;
    if (url) {
        path_ = (url->path == "/" ? std::string() : url->path) + "/v1/logs";
        client_ = std::make_unique<http_client>(*url, settings_.ca_file);
    }
    headers_.push_back(settings_.enc == config::otlp_settings::encoding::json
                           ? "Content-Type: application/json"
                           : "Content-Type: application/x-protobuf");
    if (settings_.gzip) headers_.emplace_back("Content-Encoding: gzip");
    headers_.emplace_back("User-Agent: cardano-tracer-cpp");
    for (const auto& [name, value] : settings_.headers) headers_.push_back(name + ": " + value);
    sender_ = std::thread([this] { run_sender(); });
}

otlp_exporter::~otlp_exporter() {
    abandon();
    join();
}

void otlp_exporter::add(const outputs::shared_delivery& d,
                        const outputs::record_ref& r,
                        std::string_view body,
                        std::uint64_t observed_ns) {
    const auto& b = d->batch();
    otlp_log_record rec;
    rec.time_ns = unix_nanos(r.at);
    rec.observed_ns = observed_ns;
    rec.sev = r.sev;
    rec.body = body;
    rec.ns = b.ns(r);
    rec.thread = b.thread(r);
    rec.detail = r.detail;
    if (filling_.empty()) {
        due_ = clock::now() + std::chrono::duration_cast<clock::duration>(
                                  std::chrono::duration<double>(settings_.batch_delay_secs));
    }
    filling_.add(b.node_name, b.host(r), rec);
    if (filling_deliveries_.empty() || filling_deliveries_.back() != d)
        filling_deliveries_.push_back(d);
    counters_.queued++;
}

void otlp_exporter::flush_if_due(bool now_all, const std::function<bool()>& give_up) {
    if (filling_.empty()) return;
    if (now_all || filling_.records() >= settings_.batch_records || clock::now() >= due_)
        seal(give_up);
}

void otlp_exporter::seal(const std::function<bool()>& give_up) {
    request r;
    r.records = filling_.records();
    r.body = filling_.finish();
    r.deliveries = std::move(filling_deliveries_);
    filling_deliveries_ = {};
    due_ = clock::time_point::max();
    const std::size_t size = r.body.size();
    std::unique_lock lock(mutex_);
    // An empty queue takes any request, however large: a limit below one request must not wedge.
    auto room = [&] { return queue_.empty() || queue_bytes_ + size <= settings_.queue_bytes; };
    if (!room()) {
        if (settings_.policy == config::otlp_settings::overflow::drop) {
            counters_.dropped += r.records;
            counters_.queued -= r.records;
            lock.unlock();
            report_("OTLP export to " + shown_ +
                    ": queue full (queueBytes), dropping the newest records (policy drop)");
            return;  // the deliveries go: these records are counted here, not lost
        }
        while (!room()) {
            if (give_up()) {
                lock.unlock();
                this->give_up(r, "shutting down");
                return;
            }
            cv_.wait_for(lock, 100ms);
        }
    }
    queue_bytes_ += size;
    counters_.queued_bytes = queue_bytes_;
    queue_.push_back(std::move(r));
    lock.unlock();
    cv_.notify_all();
}

bool otlp_exporter::idle() const {
    std::lock_guard lock(mutex_);
    return filling_.empty() && queue_.empty() && !in_flight_;
}

void otlp_exporter::abandon() {
    {
        std::lock_guard lock(mutex_);
        abandoned_ = true;
        cancel_ = true;
    }
    cv_.notify_all();
}

void otlp_exporter::join() {
    if (sender_.joinable()) sender_.join();
}

void otlp_exporter::give_up(request& r, const char* why) {
    for (const auto& d : r.deliveries) d->mark_lost();
    counters_.lost += r.records;
    counters_.queued -= r.records;
    report_("OTLP export to " + shown_ + ": " + why + ", " + std::to_string(r.records) +
            " trace objects not exported");
    r.deliveries.clear();
}

void otlp_exporter::run_sender() {
    for (;;) {
        request current;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return !queue_.empty() || abandoned_; });
            if (abandoned_) break;
            current = std::move(queue_.front());
            queue_.pop_front();
            queue_bytes_ -= std::min(queue_bytes_, current.body.size());
            counters_.queued_bytes = queue_bytes_;
            in_flight_ = true;
        }
        cv_.notify_all();  // room for the output thread
        // Compressed here, on the sender's thread: the output thread only encodes, so the two
        // share the work on two cores.
        if (settings_.gzip) current.body = gzip_compress(current.body);
        const bool taken = send(current);
        if (taken) {
            counters_.exported += current.records;
            counters_.requests++;
            counters_.bytes += current.body.size();
            counters_.queued -= current.records;
        }
        current.deliveries.clear();  // written (or counted) now
        {
            std::lock_guard lock(mutex_);
            in_flight_ = false;
        }
        cv_.notify_all();
    }
    // Abandoned: what is still queued is lost (counted, reported once).
    std::deque<request> left;
    {
        std::lock_guard lock(mutex_);
        left.swap(queue_);
        queue_bytes_ = 0;
        counters_.queued_bytes = 0;
    }
    request all;
    for (auto& r : left) {
        all.records += r.records;
        for (auto& d : r.deliveries) all.deliveries.push_back(std::move(d));
    }
    if (all.records > 0) give_up(all, "shutting down before the receiver took them");
}

bool otlp_exporter::send(request& r) {
    if (!client_) {
        give_up(r, "not an http(s) endpoint");
        return false;
    }
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(settings_.timeout_secs));
    auto backoff = std::chrono::milliseconds(100ms);
    for (;;) {
        const auto a = client_->post(path_, headers_, r.body, timeout, &cancel_);
        if (a.status >= 200 && a.status < 300) return true;
        if (!retryable(a.status)) {
            counters_.failed += r.records;
            counters_.queued -= r.records;
            report_("OTLP export to " + shown_ + ": the receiver refused a request with " +
                    std::to_string(a.status) + " (not retried): " + a.body.substr(0, 200));
            return false;
        }
        report_("OTLP export to " + shown_ + ": " +
                (a.status ? "status " + std::to_string(a.status) : a.error) + "; retrying");
        auto wait = backoff;
        if (a.retry_after && *a.retry_after > 0) {
            wait = std::max(wait,
                            std::chrono::milliseconds(
                                static_cast<long>(std::min(*a.retry_after, 300.0) * 1000)));
        }
        backoff = std::min(backoff * 2, std::chrono::milliseconds(30s));
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, wait, [&] { return abandoned_; });
        if (abandoned_) {
            lock.unlock();
            give_up(r, "shutting down while the receiver could not take them");
            return false;
        }
        counters_.retries++;
    }
}

}  // namespace ct::tracer::exporting
