#include "dispatcher/frequency_limiter.hpp"

#include <algorithm>

namespace ct::dispatcher {

bool frequency_limiter::admit(double now, limiter_report& report) noexcept {
    report = limiter_report::none;
    if (!started_) {
        // In the node a limiter exists from configuration time; here it is born with its
        // first message, which passes and only sets the time base (it earns no reward).
        started_ = true;
        last_arrival_ = now;
        return true;
    }
    // A clock that goes backwards (threads of the node stamping out of order) counts as a
    // burst, like two messages at the same instant.
    const double elapsed = std::max(0.0, now - last_arrival_);
    last_arrival_ = now;
    const double too_fast = elapsed > 0 ? period_ / elapsed : 10.0;  // "q"
    double reward = too_fast >= 1 ? too_fast - 1 : 1 - 1 / too_fast;
    reward = std::clamp(reward, -limiter_reward_clamp, limiter_reward_clamp);
    const double sum = budget_ + reward;
    budget_ = std::clamp(sum, -limiter_budget_limit, limiter_budget_limit);

    if (!active_) {
        if (sum >= limiter_budget_limit) {
            active_ = true;
            suppressed_ = 0;
            last_sent_ = now;
            last_reminder_ = now;
            reported_ = 0;
            report = limiter_report::start;
        }
        return true;
    }
    if (sum <= -limiter_budget_limit) {
        active_ = false;
        reported_ = suppressed_;
        report = limiter_report::stop;
        return true;
    }
    if (now - last_reminder_ > limiter_reminder_secs) {
        last_reminder_ = now;
        reported_ = suppressed_;
        report = limiter_report::remember;
    }
    if (now - last_sent_ > period_) {
        last_sent_ = now;
        return true;
    }
    ++suppressed_;
    return false;
}

}  // namespace ct::dispatcher
