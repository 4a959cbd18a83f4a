#include "tracer/core/slot_timers.hpp"

namespace ct::tracer {

namespace {
using clock = std::chrono::steady_clock;

clock::time_point slot_end(clock::time_point at) {
    if (at == clock::time_point::max()) return at;
    return next_ekg_poll(at, clock::duration::zero());  // the end of the slot `at` is in
}
}  // namespace

slot_wait::~slot_wait() { unschedule(); }

slot_timers& slot_wait::service_of(asio::execution_context& ctx) {
    // Every connection of the daemon runs on an io_context (io_pool).
    return asio::use_service<slot_timers>(static_cast<asio::io_context&>(ctx));
}

void slot_wait::schedule(clock::time_point at) {
    unschedule();
    service_->add(*this, slot_end(at));
}

void slot_wait::unschedule() {
    if (queued_) service_->remove(*this);
}

slot_timers::slot_timers(asio::execution_context& ctx)
    : asio::execution_context::service(ctx),
      // Made only through service_of(), for an io_context.
      tick_(static_cast<asio::io_context&>(ctx)) {}

void slot_timers::add(slot_wait& w, clock::time_point slot_end) {
    w.at_ = waits_.emplace(slot_end, &w);
    w.queued_ = true;
    if (slot_end < armed_for_) arm();
}

void slot_timers::remove(slot_wait& w) {
    waits_.erase(w.at_);
    w.queued_ = false;
    // The tick stays armed: when it comes for nothing it re-arms for what is left.
}

void slot_timers::arm() {
    // A wait without an end (time_point::max) needs no tick: only a cancel ends it.
    armed_for_ = waits_.empty() ? clock::time_point::max() : waits_.begin()->first;
    if (armed_for_ == clock::time_point::max()) return;
    tick_.expires_at(armed_for_);  // cancels a pending wait: it ends as operation_aborted
    tick_.async_wait([this](const boost::system::error_code& ec) {
        if (ec != asio::error::operation_aborted) on_tick();
    });
}

void slot_timers::on_tick() {
    // Everything due is ended: each waiter's handler runs after this one, on its own strand.
    const auto now = clock::now();
    while (!waits_.empty() && waits_.begin()->first <= now) {
        slot_wait* w = waits_.begin()->second;
        waits_.erase(waits_.begin());
        w->queued_ = false;
        w->timer.cancel();
    }
    arm();
}

void slot_timers::shutdown() {
    // Waiters are sessions of this context: gone (or going) with it; nothing to end.
    for (auto& [at, w] : waits_) w->queued_ = false;
    waits_.clear();
}

}  // namespace ct::tracer
