// Timed waits of many connections on one timer per io_context. asio keeps the armed timers of a
// context in one heap; each expiry sifts that heap and updates the timers it moves, and those
// live in as many sessions, so at 1000 idle nodes every EKG poll cost a cache miss per level:
// a sixth of the idle daemon's CPU (docs/benchmarks.md). The polls leave at the ends of 10 ms
// slots anyway (ekg_schedule.hpp), so the waits are grouped by slot here and one timer per
// context ends each slot's waits.
//
// A wait's own timer never expires (asio keeps such timers out of its heap): the service
// cancels it when the wait's slot has ended, and whoever else must end the wait early cancels
// it too. Not thread-safe: for a context that one thread runs (io_pool), used from handlers
// on that context.
#pragma once

#include <chrono>
#include <map>

#include "tracer/core/ekg_schedule.hpp"
#include "tracer/core/net.hpp"

namespace ct::tracer {

class slot_timers;

/// One waiter's timed wait: wait on `timer` after schedule(); the wait ends with
/// operation_aborted when its slot ends or when someone cancels `timer`.
class slot_wait {
  public:
    template <typename Executor>
    explicit slot_wait(const Executor& ex)
        : timer(ex, std::chrono::steady_clock::time_point::max()),
          service_(&service_of(asio::query(ex, asio::execution::context))) {}
    ~slot_wait();
    slot_wait(const slot_wait&) = delete;
    slot_wait& operator=(const slot_wait&) = delete;

    /// Ends the next wait on `timer` at the end of the slot `at` falls in (at once if that is
    /// past), replacing what was scheduled before.
    void schedule(std::chrono::steady_clock::time_point at);
    /// Withdraws what is scheduled (after a wait that ended otherwise).
    void unschedule();

    asio::steady_timer timer;  // never expires by itself

  private:
    friend class slot_timers;
    /// The service of `ctx`, which must be an io_context.
    static slot_timers& service_of(asio::execution_context& ctx);
    using queue = std::multimap<std::chrono::steady_clock::time_point, slot_wait*>;
    slot_timers* service_;
    bool queued_ = false;
    queue::iterator at_;
};

class slot_timers : public asio::execution_context::service {
  public:
    using key_type = slot_timers;
    static inline asio::execution_context::id id;

    explicit slot_timers(asio::execution_context& ctx);

    /// Waits scheduled now (for tests and metrics).
    std::size_t scheduled() const { return waits_.size(); }

  private:
    friend class slot_wait;
    void add(slot_wait& w, std::chrono::steady_clock::time_point slot_end);
    void remove(slot_wait& w);
    void arm();
    void on_tick();
    void shutdown() override;

    slot_wait::queue waits_;
    asio::steady_timer tick_;
    std::chrono::steady_clock::time_point armed_for_ = std::chrono::steady_clock::time_point::max();
};

}  // namespace ct::tracer
