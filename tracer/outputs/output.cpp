#include "tracer/outputs/output.hpp"

#include <algorithm>
#include <utility>

#include "tracer/outputs/thread_name.hpp"

namespace ct::tracer::outputs {
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {
// Never more than a quarter of the queue: producers must not be refused while it lingers.
std::size_t linger_bytes_within(const writer_options& o, std::size_t queue_bytes) {
    return std::min(o.linger_bytes, queue_bytes / 4);
}
}  // namespace

std::size_t queued_size(const trace_batch& b) {
    return sizeof(trace_batch) + b.node_name.size() + b.arena.capacity() +
           b.records.capacity() * sizeof(record_ref);
}

queued_output::queued_output(std::string_view name, const writer_options& o, output_events& events)
    : events_(events),
      name_(name),
      max_bytes_(std::max<std::size_t>(1, o.queue_bytes)),
      max_batches_(std::max<std::size_t>(1, o.queue_capacity)),
      linger_(o.linger),
      linger_bytes_(linger_bytes_within(o, max_bytes_)),
      retry_interval_(o.retry_interval) {
    counters_.capacity_bytes = max_bytes_;
}

queued_output::~queued_output() {
    // Implementations stop their thread in their own destructor (their hooks are gone here);
    // this only catches a missing stop.
    begin_stop(clock::now());
    join();
    // Never started, or stopped with items left: what was never written is counted lost.
    for (auto& it : queue_) {
        if (auto* b = std::get_if<queued_batch>(&it)) lose(*b->d);
    }
}

void queued_output::start() {
    thread_ = std::thread([this] {
        name_this_thread("ct-out-" + name_);
        run_guarded();
    });
}

void queued_output::run_guarded() {
    // A thread never dies silently: an unexpected exception is reported and the loop resumes
    // (its state lives in members, so nothing queued is lost).
    for (;;) {
        try {
            run();
            break;
        } catch (const std::exception& e) {
            events_.report(std::string(name()) + " output: internal error: " + e.what());
        } catch (...) {
            events_.report(std::string(name()) + " output: internal error");
        }
        std::this_thread::sleep_for(retry_interval_);
    }
    finished_ = true;
}

bool queued_output::take_space_signal() {
    // Hysteresis: waiting connections are woken once the queue is down to half, not at every
    // freed slot. With many nodes waiting, waking all of them per batch let one in and sent
    // the rest back to sleep: a storm of wake-ups that cost more than the writing.
    if (!full_signalled_ || used_bytes_ > max_bytes_ / 2 || used_batches_ > max_batches_ / 2)
        return false;
    full_signalled_ = false;
    return true;
}

bool queued_output::try_reserve(std::uint64_t connection_id, std::size_t bytes) {
    std::unique_lock lock(mutex_);
    if (stopping_ || held_back_.contains(connection_id)) return false;
    // An empty queue takes any batch, however large: a limit below one batch must not wedge.
    const bool empty = used_batches_ == 0;
    if (!empty && (used_bytes_ + bytes > max_bytes_ || used_batches_ >= max_batches_)) {
        full_signalled_ = true;
        counters_.queue_full++;
        const bool wake = lingering_;  // a producer is refused: no more waiting for batches
        lock.unlock();
        if (wake) cv_.notify_one();
        return false;
    }
    used_bytes_ += bytes;
    ++used_batches_;
    counters_.queued_bytes = used_bytes_;
    counters_.queued_batches = used_batches_;
    return true;
}

void queued_output::cancel(std::size_t bytes) {
    bool signal = false;
    {
        std::lock_guard lock(mutex_);
        used_bytes_ -= std::min(bytes, used_bytes_);
        used_batches_ -= std::min<std::size_t>(1, used_batches_);
        counters_.queued_bytes = used_bytes_;
        counters_.queued_batches = used_batches_;
        signal = take_space_signal();
    }
    cv_.notify_one();  // a stop may be waiting for this reservation
    if (signal) events_.space_available();
}

void queued_output::push(shared_delivery d, std::size_t bytes) {
    bool wake;
    {
        std::lock_guard lock(mutex_);
        // A batch that finds the queue empty waits up to the linger for company.
        if (queue_.empty() && linger_.count() > 0) linger_until_ = clock::now() + linger_;
        queue_.emplace_back(queued_batch{std::move(d), bytes});
        pushed_bytes_ += bytes;
        // A lingering thread is woken only once it has enough: not once per batch.
        wake = !lingering_ || linger_over();
    }
    if (wake) cv_.notify_one();
}

void queued_output::node_disconnected(std::uint64_t connection_id) {
    {
        std::lock_guard lock(mutex_);
        queue_.emplace_back(disconnect{connection_id});
    }
    cv_.notify_one();
}

void queued_output::update_options(const writer_options& o) {
    {
        std::lock_guard lock(mutex_);
        max_bytes_ = std::max<std::size_t>(1, o.queue_bytes);
        max_batches_ = std::max<std::size_t>(1, o.queue_capacity);
        linger_ = o.linger;
        linger_bytes_ = linger_bytes_within(o, max_bytes_);
        counters_.capacity_bytes = max_bytes_;
        queue_.emplace_back(std::make_unique<const writer_options>(o));
    }
    cv_.notify_one();
}

void queued_output::begin_stop(clock::time_point deadline) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;  // the first deadline holds
        stopping_ = true;
        stop_deadline_ = deadline;
    }
    cv_.notify_all();
}

void queued_output::join() {
    if (thread_.joinable()) thread_.join();
}

void queued_output::hold_back(std::uint64_t connection_id) {
    std::lock_guard lock(mutex_);
    held_back_.insert(connection_id);
}

void queued_output::release(std::uint64_t connection_id) {
    {
        std::lock_guard lock(mutex_);
        held_back_.erase(connection_id);
    }
    events_.space_available();
}

bool queued_output::past_stop_deadline() const {
    std::lock_guard lock(mutex_);
    return stopping_ && clock::now() > stop_deadline_;
}

void queued_output::lose(const delivery& d) {
    d.mark_lost();
    const auto n = d.batch().records.size();
    counters_.lost += n;
    counters_.batches++;
    events_.report("shutting down with unwritable logs: " + std::to_string(n) +
                   " trace objects of " + d.batch().node_name + " could not be written (" +
                   std::string(name()) + " output)");
}

void queued_output::run() {
    clock::time_point stop_deadline{};
    bool stop_noticed = false;
    for (;;) {
        std::optional<item> current;
        bool stopping = false;
        bool signal_space = false;
        {
            std::unique_lock lock(mutex_);
            auto wake_at = next_wake();
            if (stopping_ && has_backlog())
                wake_at = std::min(wake_at, clock::now() + 50ms);  // until the deadline
            // A stop waits for reservations not pushed yet (used_batches_ counts them).
            cv_.wait_until(lock, wake_at, [&] {
                return !queue_.empty() ||
                       (stopping_ && used_batches_ == 0 && (!has_backlog() || !stop_noticed));
            });
            if (!queue_.empty() && !linger_over() && clock::now() < linger_until_) {
                // The first batch after a pause: wait a little for the next ones, so that one
                // wake-up serves them all (a cross-core wake-up costs several µs here).
                lingering_ = true;
                cv_.wait_until(
                    lock, std::min(wake_at, linger_until_), [&] { return linger_over(); });
                lingering_ = false;
            }
            linger_until_ = {};
            stopping = stopping_;
            stop_noticed = stopping;
            if (stopping && stop_deadline == clock::time_point{}) stop_deadline = stop_deadline_;
            if (stopping && queue_.empty() && used_batches_ == 0 && !has_backlog()) break;
            if (!queue_.empty()) {
                current = std::move(queue_.front());
                queue_.pop_front();
                if (auto* b = std::get_if<queued_batch>(&*current)) {
                    pushed_bytes_ -= std::min(b->bytes, pushed_bytes_);
                    // Out of the queue at once, even if the output holds it elsewhere (a held
                    // back connection is refused in try_reserve): the others keep flowing.
                    used_bytes_ -= std::min(b->bytes, used_bytes_);
                    used_batches_ -= std::min<std::size_t>(1, used_batches_);
                    counters_.queued_bytes = used_bytes_;
                    counters_.queued_batches = used_batches_;
                    signal_space = take_space_signal();
                }
            }
        }
        if (signal_space) events_.space_available();
        const bool past_deadline = stopping && clock::now() > stop_deadline;
        tick(stopping, past_deadline);
        if (!current) continue;
        if (auto* b = std::get_if<queued_batch>(&*current)) {
            handle_batch(std::move(b->d), past_deadline);
        } else if (auto* d = std::get_if<disconnect>(&*current)) {
            handle_disconnect(d->connection_id);
        } else {
            apply_options(*std::get<std::unique_ptr<const writer_options>>(*current));
        }
    }
    at_exit();
}

}  // namespace ct::tracer::outputs
