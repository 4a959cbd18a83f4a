#include "tracer/export/otlp_exporter.hpp"

#include <algorithm>
#include <cmath>

#include "tracer/export/gzip.hpp"
#include "tracer/outputs/thread_name.hpp"

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
    // Content-Type goes with each request: a spilled one keeps the encoding it was made with.
    std::vector<std::string> common;
    if (settings_.gzip) common.emplace_back("Content-Encoding: gzip");
    common.emplace_back("User-Agent: cardano-tracer-cpp");
    for (const auto& [name, value] : settings_.headers) common.push_back(name + ": " + value);
    headers_protobuf_ = headers_json_ = common;
    headers_protobuf_.emplace_back("Content-Type: application/x-protobuf");
    headers_json_.emplace_back("Content-Type: application/json");
    if (settings_.spill_dir) {
        spill_ = std::make_unique<otlp_spill>(*settings_.spill_dir, settings_.spill_max_bytes);
        if (!spill_->problem().empty())
            report_("OTLP export to " + shown_ + ": " + spill_->problem());
        counters_.spill_bytes = spill_->bytes();
    }
    sender_ = std::thread([this] {
        name_this_thread("ct-otlp-send");
        run_sender();
    });
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

bool otlp_exporter::memory_room(std::size_t size) const {
    // An empty queue takes any request, however large: a limit below one request must not wedge.
    // Once the sender is gone (abandoned), nothing would ever take it from memory.
    return !abandoned_ && (!spill_ || spill_->empty()) &&
           (queue_.empty() || queue_bytes_ + size <= settings_.queue_bytes);
}

void otlp_exporter::seal(const std::function<bool()>& give_up) {
    request r;
    r.records = filling_.records();
    r.body = filling_.finish();
    r.json = settings_.enc == config::otlp_settings::encoding::json;
    r.deliveries = std::move(filling_deliveries_);
    filling_deliveries_ = {};
    due_ = clock::time_point::max();
    const std::size_t size = r.body.size();
    std::unique_lock lock(mutex_);
    for (bool reported = false;;) {
        if (memory_room(size)) {
            queue_bytes_ += size;
            counters_.queued_bytes = queue_bytes_;
            queue_.push_back(std::move(r));
            lock.unlock();
            cv_.notify_all();
            return;
        }
        std::string problem;
        if (spill_ && spill_->write(r.body, r.records, r.json, problem)) {
            // On disk it survives a receiver's outage and the daemon's restart: the batches
            // are done with.
            counters_.spilled += r.records;
            counters_.queued -= r.records;
            counters_.spill_bytes = spill_->bytes();
            lock.unlock();
            cv_.notify_all();
            return;
        }
        if (spill_ && !reported) {
            lock.unlock();
            report_("OTLP export to " + shown_ + ": cannot spill: " + problem);
            lock.lock();
            reported = true;
            continue;  // the sender may have made room meanwhile
        }
        if (settings_.policy == config::otlp_settings::overflow::drop) {
            counters_.dropped += r.records;
            counters_.queued -= r.records;
            lock.unlock();
            report_("OTLP export to " + shown_ + ": queue full (queueBytes" +
                    std::string(spill_ ? ", spillMaxBytes" : "") +
                    "), dropping the newest records (policy drop)");
            return;  // the deliveries go: these records are counted here, not lost
        }
        // give_up() takes the output's own lock, which is taken before this one elsewhere
        // (has_backlog -> idle): never call it while holding mutex_.
        lock.unlock();
        const bool stop = give_up();
        lock.lock();
        if (abandoned_ || stop) {
            lock.unlock();
            this->give_up(r, "shutting down");
            return;
        }
        cv_.wait_for(lock, 100ms);
    }
}

bool otlp_exporter::idle() const {
    // What waits on disk does not hold a stop: it is sent after the next start.
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
        std::optional<otlp_spill::entry> from_disk;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock,
                     [&] { return !queue_.empty() || (spill_ && !spill_->empty()) || abandoned_; });
            if (abandoned_) break;
            if (!queue_.empty()) {  // older than anything on disk
                current = std::move(queue_.front());
                queue_.pop_front();
                queue_bytes_ -= std::min(queue_bytes_, current.body.size());
                counters_.queued_bytes = queue_bytes_;
            } else {
                from_disk = spill_->oldest();
            }
            in_flight_ = true;
        }
        cv_.notify_all();  // room for the output thread
        if (from_disk) {
            current.records = from_disk->records;
            current.json = from_disk->json;
            if (!otlp_spill::read(*from_disk, current.body)) {
                report_("OTLP export to " + shown_ + ": cannot read " + from_disk->path +
                        "; skipped");
                counters_.failed += current.records;
                std::lock_guard lock(mutex_);
                spill_->remove_oldest();
                counters_.spill_bytes = spill_->bytes();
                in_flight_ = false;
                continue;
            }
        }
        // Compressed here, on the sender's thread: the output thread only encodes, so the two
        // share the work on two cores. (The plain body stays, should it go to disk.)
        const std::string compressed = settings_.gzip ? gzip_compress(current.body) : std::string();
        const std::string_view wire = settings_.gzip ? std::string_view(compressed) : current.body;
        const auto result = send(current, wire);
        if (result == outcome::taken) {
            counters_.exported += current.records;
            counters_.requests++;
            counters_.bytes += wire.size();
        } else if (result == outcome::refused) {
            counters_.failed += current.records;
        }
        if (!from_disk && result != outcome::abandoned) counters_.queued -= current.records;
        {
            std::lock_guard lock(mutex_);
            if (from_disk && result != outcome::abandoned) {
                spill_->remove_oldest();
                counters_.spill_bytes = spill_->bytes();
            }
            if (!from_disk && result == outcome::abandoned) {
                queue_.push_front(std::move(current));  // saved or counted lost below
            }
            in_flight_ = false;
        }
        current.deliveries.clear();  // written (or counted) now
        cv_.notify_all();
    }
    std::deque<request> left;
    {
        std::lock_guard lock(mutex_);
        left.swap(queue_);
        queue_bytes_ = 0;
        counters_.queued_bytes = 0;
    }
    save_or_lose(left);
}

void otlp_exporter::save_or_lose(std::deque<request>& left) {
    // The memory queue is older than anything on disk: its requests go before the files,
    // newest first so that the oldest ends up first.
    request lost;
    std::uint64_t saved = 0;
    for (auto it = left.rbegin(); it != left.rend(); ++it) {
        auto& r = *it;
        std::string problem;
        bool on_disk = false;
        {
            std::lock_guard lock(mutex_);
            on_disk = spill_ && spill_->write(r.body, r.records, r.json, problem, true);
            if (on_disk) counters_.spill_bytes = spill_->bytes();
        }
        if (on_disk) {
            counters_.spilled += r.records;
            counters_.queued -= r.records;
            saved += r.records;
            continue;
        }
        lost.records += r.records;
        for (auto& d : r.deliveries) lost.deliveries.push_back(std::move(d));
    }
    if (saved > 0) {
        report_("OTLP export to " + shown_ + ": " + std::to_string(saved) +
                " trace objects kept in " + *settings_.spill_dir + " for the next start");
    }
    if (lost.records > 0) give_up(lost, "shutting down before the receiver took them");
}

otlp_exporter::outcome otlp_exporter::send(const request& r, std::string_view wire) {
    if (!client_) return outcome::refused;
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(settings_.timeout_secs));
    const auto& headers = r.json ? headers_json_ : headers_protobuf_;
    auto backoff = std::chrono::milliseconds(100ms);
    for (;;) {
        const auto a = client_->post(path_, headers, wire, timeout, &cancel_);
        failing_ = !(a.status >= 200 && a.status < 300);
        if (a.status >= 200 && a.status < 300) return outcome::taken;
        if (!retryable(a.status)) {
            report_("OTLP export to " + shown_ + ": the receiver refused a request with " +
                    std::to_string(a.status) + " (not retried): " + a.body.substr(0, 200));
            return outcome::refused;
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
        if (abandoned_) return outcome::abandoned;
        counters_.retries++;
    }
}

}  // namespace ct::tracer::exporting
