#include "tracer/export/otlp_output.hpp"

#include <algorithm>

namespace ct::tracer::exporting {

using clock = std::chrono::steady_clock;

otlp_output::otlp_output(const outputs::writer_options& opts, outputs::output_events& events)
    : queued_output("otlp", opts, events),
      stop_grace_(opts.stop_grace),
      formatter_(opts.legacy_names) {
    configure(opts);
}

otlp_output::~otlp_output() {
    begin_stop(clock::now() + stop_grace_);
    join();
}

void otlp_output::configure(const outputs::writer_options& o) {
    current_ = o.sections;
    std::lock_guard lock(exporters_mutex_);
    for (auto it = exporters_.begin(); it != exporters_.end();) {
        if (o.otlp.contains(it->first)) {
            ++it;
            continue;
        }
        retiring_.push_back({it->first, std::move(it->second), clock::now() + stop_grace_});
        it = exporters_.erase(it);
    }
    for (const auto& [key, settings] : o.otlp) {
        remember(key, settings);
        if (exporters_.contains(key)) continue;
        exporters_.emplace(key, make_exporter(settings));
    }
}

std::unique_ptr<otlp_exporter> otlp_output::make_exporter(const config::otlp_settings& s) {
    return std::make_unique<otlp_exporter>(
        s, [this](std::string problem) { events_.report(problem); });
}

void otlp_output::remember(const std::string& key, const config::otlp_settings& s) {
    if (std::find_if(known_.begin(), known_.end(), [&](const auto& k) { return k.first == key; }) !=
        known_.end())
        return;
    known_.emplace_back(key, s);
    if (known_.size() > 64) known_.pop_front();  // reloads with ever new settings stay bounded
}

void otlp_output::apply_options(const outputs::writer_options& o) {
    // What the old exporters were filling goes out before they retire.
    flush_all(true);
    formatter_.set_legacy_names(o.legacy_names);
    configure(o);
}

void otlp_output::handle_batch(outputs::shared_delivery d, bool /*past_deadline*/) {
    const auto& b = d->batch();
    const auto& sections = b.routing ? b.routing->sections() : current_;
    const auto observed =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    dispatcher::section_mask written = 0;
    for (std::size_t i = 0; i < sections.size() && i < 64; ++i) {
        if (!serves(sections[i])) continue;
        // A batch dispatched before a reload may name an exporter that is retiring: it still
        // takes the batch (and sends it before it goes).
        otlp_exporter* exporter = find_exporter(sections[i].exporter);
        if (!exporter) continue;
        const dispatcher::section_mask bit = dispatcher::section_mask{1} << i;
        for (const auto& r : b.records) {
            if (!(r.sections & bit)) continue;
            // ForMachine and ForHuman are texts as they arrived: no copy.
            const auto format = sections[i].format;
            std::string_view body =
                format == config::log_format::for_human && r.has_human ? b.human(r) : b.machine(r);
            if (format != config::log_format::for_machine &&
                format != config::log_format::for_human) {
                body_.clear();
                formatter_.append(b, r, sections[i].format, body_);
                body = body_;
            }
            exporter->add(d, r, body, observed);
            counters_.bytes += body.size();
            if (exporter->full()) {
                exporter->flush_if_due(false, [this] { return past_stop_deadline(); });
            }
        }
        written |= bit;
    }
    counters_.batches++;
    counters_.records += b.count_routed(written);
    flush_all(false);
}

otlp_exporter* otlp_output::find_exporter(const std::string& key) {
    if (const auto it = exporters_.find(key); it != exporters_.end()) return it->second.get();
    for (auto& r : retiring_) {
        if (r.key == key) return r.exporter.get();
    }
    // A batch held back by a node (a full queue) can come long after its exporter retired: it
    // is sent by an exporter of its own settings again, retiring at once.
    const auto k =
        std::find_if(known_.begin(), known_.end(), [&](const auto& e) { return e.first == key; });
    if (k == known_.end()) return nullptr;  // cannot happen: configure() saw every key first
    std::lock_guard lock(exporters_mutex_);
    retiring_.push_back({key, make_exporter(k->second), clock::now() + stop_grace_});
    return retiring_.back().exporter.get();
}

void otlp_output::flush_all(bool now_all) {
    const auto give_up = [this] { return past_stop_deadline(); };
    for (auto& [key, e] : exporters_) e->flush_if_due(now_all, give_up);
    for (auto& r : retiring_) r.exporter->flush_if_due(true, give_up);
}

void otlp_output::tick(bool stopping, bool past_deadline) {
    flush_all(stopping);
    for (auto& [key, e] : exporters_) {
        // A stop does not wait for a receiver that is failing when the spill can keep what
        // the exporter holds: it is sent after the next start.
        if (past_deadline || (stopping && e->spills() && e->failing())) e->abandon();
    }
    const auto now = clock::now();
    std::lock_guard lock(exporters_mutex_);
    for (auto& r : retiring_) {
        if (past_deadline || now > r.deadline) r.exporter->abandon();
    }
    // Kept a second at least: a batch dispatched just before the reload may still come.
    std::erase_if(retiring_, [&](const retiring& r) {
        return r.exporter->idle() && now >= r.deadline - stop_grace_ + std::chrono::seconds(1);
    });
}

clock::time_point otlp_output::next_wake() const {
    auto at = clock::time_point::max();
    for (const auto& [key, e] : exporters_) at = std::min(at, e->due());
    if (!retiring_.empty()) at = std::min(at, clock::now() + std::chrono::milliseconds(200));
    return at;
}

bool otlp_output::has_backlog() const {
    return !retiring_.empty() || std::any_of(exporters_.begin(),
                                             exporters_.end(),
                                             [](const auto& e) { return !e.second->idle(); });
}

void otlp_output::at_exit() {
    // Everything was sent, or the deadline passed: what an exporter still holds is lost.
    std::lock_guard lock(exporters_mutex_);
    for (auto& [key, e] : exporters_) e->abandon();
    for (auto& r : retiring_) r.exporter->abandon();
    for (auto& [key, e] : exporters_) e->join();
    for (auto& r : retiring_) r.exporter->join();
}

std::vector<otlp_exporter_stats> otlp_output::stats() const {
    std::vector<otlp_exporter_stats> out;
    std::lock_guard lock(exporters_mutex_);
    auto one = [&](const otlp_exporter& e) {
        const auto& c = e.counters();
        out.push_back({e.shown(),
                       c.exported.load(),
                       c.requests.load(),
                       c.bytes.load(),
                       c.retries.load(),
                       c.dropped.load(),
                       c.failed.load(),
                       c.lost.load(),
                       c.queued.load(),
                       c.queued_bytes.load(),
                       c.spilled.load(),
                       c.spill_bytes.load()});
    };
    for (const auto& [key, e] : exporters_) one(*e);
    for (const auto& r : retiring_) one(*r.exporter);
    return out;
}

}  // namespace ct::tracer::exporting
