// When a session sends its next EKG request. The request leaves ekgRequestFreq after the
// node's response (spec §8.5), rounded up to the end of a 10 ms slot of the steady clock:
// the polls of many nodes that fall in one slot then leave together, and the daemon wakes
// once per slot instead of once per node (1000 idle nodes: a third of the context switches,
// about a sixth less CPU; docs/benchmarks.md). A poll is at most one slot late.
#pragma once

#include <chrono>

namespace ct::tracer {

inline constexpr std::chrono::milliseconds ekg_poll_slot{10};

inline std::chrono::steady_clock::time_point next_ekg_poll(
    std::chrono::steady_clock::time_point response_at, std::chrono::steady_clock::duration period) {
    using duration = std::chrono::steady_clock::duration;
    const duration slot = ekg_poll_slot;
    const duration due = (response_at + period).time_since_epoch();
    return std::chrono::steady_clock::time_point((due + slot - duration(1)) / slot * slot);
}

}  // namespace ct::tracer
