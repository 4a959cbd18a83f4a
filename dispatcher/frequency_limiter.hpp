// trace-dispatcher's frequency limiter (spec dispatcher §3.6): a budget that fast messages
// fill and slow ones drain; at +30 limiting starts, at -30 it stops; while limiting, one
// message per period passes and a reminder reports the suppressed count every 10 s. State
// only advances when messages arrive. Time is given by the caller (seconds, any epoch), so
// tests inject it. A plain value; not thread-safe (one per node and namespace, on a strand).
#pragma once

#include <cstdint>

namespace ct::dispatcher {

inline constexpr double limiter_budget_limit = 30;
inline constexpr double limiter_reward_clamp = 10;
inline constexpr double limiter_reminder_secs = 10;

/// What the limiter reports besides its decision (trace-dispatcher's LimitingMessage).
enum class limiter_report : std::uint8_t { none, start, remember, stop };

class frequency_limiter {
  public:
    /// `max_frequency` > 0, in messages per second.
    explicit frequency_limiter(double max_frequency) noexcept
        : period_(1.0 / max_frequency), max_frequency_(max_frequency) {}

    /// One message arriving at `now`: true when it passes. `report` is set to what the
    /// limiter announces with it; `reported_count()` is the suppressed count it announces
    /// (counted before this message, as trace-dispatcher reports it).
    bool admit(double now, limiter_report& report) noexcept;

    double max_frequency() const noexcept { return max_frequency_; }
    bool limiting() const noexcept { return active_; }
    /// Messages suppressed in the current (or, after a stop, the last) limiting period.
    std::uint64_t suppressed() const noexcept { return suppressed_; }
    double budget() const noexcept { return budget_; }
    std::uint64_t reported_count() const noexcept { return reported_; }

  private:
    double period_;
    double max_frequency_;
    bool started_ = false;  // the first message sets the time base
    double last_arrival_ = 0;
    double budget_ = 0;
    bool active_ = false;
    std::uint64_t suppressed_ = 0;
    double last_sent_ = 0;
    double last_reminder_ = 0;
    std::uint64_t reported_ = 0;
};

}  // namespace ct::dispatcher
