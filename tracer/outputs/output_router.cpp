#include "tracer/outputs/output_router.hpp"

#include <algorithm>
#include <stdexcept>

#include "tracer/outputs/journal_output.hpp"

namespace ct::tracer::outputs {
using clock = std::chrono::steady_clock;

namespace {

// Journal sections differ only by format (logRoot means nothing there).
std::vector<section> normalised(std::vector<section> sections) {
    std::vector<section> unique;
    for (auto s : sections) {
        if (s.mode == config::log_mode::journal_mode) s.log_root.clear();
        if (std::find(unique.begin(), unique.end(), s) == unique.end()) unique.push_back(s);
    }
    return unique;
}

}  // namespace

output_router::output_router(writer_options opts, std::vector<output_factory> extra)
    : sections_(normalised(opts.sections)),
      max_tracked_nodes_(opts.max_tracked_nodes),
      error_report_interval_(opts.error_report_interval),
      stop_grace_(opts.stop_grace) {
    auto files = std::make_unique<file_output>(opts, static_cast<output_events&>(*this));
    files_ = files.get();
    outputs_.push_back(std::move(files));
    outputs_.push_back(std::make_unique<journal_output>(opts, static_cast<output_events&>(*this)));
    for (auto& make : extra) {
        if (outputs_.size() == max_outputs) throw std::length_error("more than 8 outputs");
        if (auto o = make(opts, static_cast<output_events&>(*this)))
            outputs_.push_back(std::move(o));
    }
}

output_router::~output_router() { stop(); }

void output_router::start() {
    for (auto& o : outputs_) o->start();
}

void output_router::stop() {
    begin_stop(clock::now() + stop_grace_);
    for (auto& o : outputs_) o->join();
}

void output_router::begin_stop(clock::time_point deadline) {
    stopping_ = true;
    for (auto& o : outputs_) o->begin_stop(deadline);
}

bool output_router::finished() const {
    return std::all_of(
        outputs_.begin(), outputs_.end(), [](const auto& o) { return o->finished(); });
}

std::uint64_t output_router::records_pending() const {
    const auto received = records_received_.load();
    const auto done = records_written_.load() + records_lost_.load();
    return received > done ? received - done : 0;
}

bool output_router::try_submit(trace_batch&& b) {
    if (stopping_) return false;
    // Which outputs: those serving a section that at least one record is marked for.
    b.summarise();  // here, where the records are still in this core's cache
    const dispatcher::section_mask wanted = b.summary.any;
    std::array<bool, max_outputs> needed{};
    {
        std::unique_lock lock(options_mutex_, std::defer_lock);
        const std::vector<section>* sections = nullptr;
        if (b.routing) {
            sections = &b.routing->sections();
        } else {
            lock.lock();
            sections = &sections_;
        }
        for (std::size_t i = 0; i < sections->size() && i < 64; ++i) {
            if (!(wanted & (dispatcher::section_mask{1} << i))) continue;
            for (std::size_t k = 0; k < outputs_.size(); ++k) {
                if (outputs_[k]->serves((*sections)[i])) needed[k] = true;
            }
        }
    }
    // All or none: a refusal gives back what the others reserved.
    const std::size_t bytes = queued_size(b);
    for (std::size_t k = 0; k < outputs_.size(); ++k) {
        if (!needed[k] || outputs_[k]->try_reserve(b.connection_id, bytes)) continue;
        for (std::size_t j = 0; j < k; ++j) {
            if (needed[j]) outputs_[j]->cancel(bytes);
        }
        return false;
    }
    batches_received_++;
    records_received_ += b.records.size();
    {
        std::lock_guard lock(per_node_mutex_);
        live_.try_emplace(b.connection_id, b.node_name);
    }
    // The last output to let go of it reports it delivered (at once if none needs it).
    auto d = std::make_shared<const delivery>(std::move(b), static_cast<delivery_sink*>(this));
    for (std::size_t k = 0; k < outputs_.size(); ++k) {
        if (needed[k]) outputs_[k]->push(d, bytes);
    }
    return true;
}

void output_router::node_disconnected(std::uint64_t connection_id) {
    for (auto& o : outputs_) o->node_disconnected(connection_id);
    std::lock_guard lock(per_node_mutex_);
    live_.erase(connection_id);
}

void output_router::update_options(writer_options opts) {
    {
        std::lock_guard lock(options_mutex_);
        sections_ = normalised(opts.sections);
        max_tracked_nodes_.store(opts.max_tracked_nodes, std::memory_order_relaxed);
        error_report_interval_ = opts.error_report_interval;
        stop_grace_ = opts.stop_grace;
    }
    for (auto& o : outputs_) o->update_options(opts);
}

writer_totals output_router::stats() const {
    writer_totals t;
    t.batches_received = batches_received_;
    t.records_received = records_received_;
    t.records_written = records_written_;
    t.records_lost = records_lost_;
    t.nodes_forgotten = nodes_forgotten_;
    for (const auto& o : outputs_) {
        const auto& c = o->counters();
        t.queue_full += c.queue_full;
        t.queue_depth += c.queued_batches;
    }
    const auto& fc = files_->counters();
    t.bytes_written = fc.bytes;
    t.write_errors = fc.errors;
    for (const auto& o : outputs_) {
        if (o->name() == "journal") t.journal_errors = o->counters().errors;
    }
    const auto& fs = files_->stats();
    t.rotations = fs.rotations;
    t.files_deleted = fs.files_deleted;
    t.files_compressed = fs.files_compressed;
    t.parked_connections = fs.parked_connections;
    return t;
}

bool output_router::healthy() const {
    return std::all_of(
        outputs_.begin(), outputs_.end(), [](const auto& o) { return o->healthy(); });
}

void output_router::space_available() {
    if (space_callback_) space_callback_();
}

void output_router::report(const std::string& problem) {
    // At most one report per distinct problem per interval (spdlog's err_handler idea). Called
    // from every output's threads.
    std::chrono::seconds interval;
    {
        std::lock_guard lock(options_mutex_);
        interval = error_report_interval_;
    }
    std::lock_guard lock(report_mutex_);
    const auto now = clock::now();
    if (last_report_.size() > 1000) last_report_.clear();  // bounded, even with odd messages
    auto& last = last_report_[problem];
    if (last.time_since_epoch().count() != 0 && now - last < interval) return;
    last = now;
    if (reporter_) reporter_(problem);
}

void output_router::count_node(const std::string& node, std::uint64_t bytes, std::uint64_t errors) {
    add_to_node(node, {0, 0, bytes, errors});
}

void output_router::delivered(const trace_batch& b, bool lost) noexcept {
    if (lost) {
        records_lost_ += b.records.size();
        return;
    }
    try {
        add_to_node(b.node_name, {1, b.records.size(), 0, 0});
    } catch (...) {  // out of memory for a map node: the statistics miss one batch
    }
    records_written_ += b.records.size();
}

void output_router::add_to_node(const std::string& node, const node_counts& delta) {
    const std::size_t cap = max_tracked_nodes_.load(std::memory_order_relaxed);
    std::lock_guard lock(per_node_mutex_);
    if (per_node_.size() >= cap && !per_node_.contains(node)) {
        // Peers choose names (and NodeId fallbacks of ephemeral TCP ports are endless): forget
        // names without a live connection, so the map stays bounded.
        std::set<std::string_view> live;
        for (const auto& [id, name] : live_) live.insert(name);
        for (auto it = per_node_.begin(); it != per_node_.end() && per_node_.size() >= cap;) {
            if (live.contains(it->first)) {
                ++it;
            } else {
                it = per_node_.erase(it);
                nodes_forgotten_++;
            }
        }
    }
    auto& c = per_node_[node];
    c.batches_written += delta.batches_written;
    c.records_written += delta.records_written;
    c.bytes_written += delta.bytes_written;
    c.write_errors += delta.write_errors;
}

std::map<std::string, node_counts> output_router::per_node() const {
    std::lock_guard lock(per_node_mutex_);
    return per_node_;
}

}  // namespace ct::tracer::outputs
