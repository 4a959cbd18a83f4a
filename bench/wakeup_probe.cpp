// How late this machine wakes a sleeping thread (issue 12's node-side drops): one thread sleeps
// PERIOD_US at a time for SECONDS and counts the wake-ups that came more than 1 ms and more
// than SLACK_US late. A node at 100,000 objects/s fills its 192-object queue in 1,920 µs, so a
// process that is not run for that long drops objects whatever the collector does. Run beside
// a benchmark (bench/turnaround.py does), it shows what the machine itself did at that time.
//
// usage: wakeup_probe SECONDS [PERIOD_US] [SLACK_US]
// prints {"wakeups","late_1ms","late_slack","max_late_us","slack_us"}
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

double now_us() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: wakeup_probe SECONDS [PERIOD_US] [SLACK_US]\n");
        return 2;
    }
    const double seconds = std::atof(argv[1]);
    const long period_us = argc > 2 ? std::atol(argv[2]) : 480;  // the generator's tick
    const double slack_us = argc > 3 ? std::atof(argv[3]) : 1920;
    const timespec period{period_us / 1000000, (period_us % 1000000) * 1000};
    long wakeups = 0, late_1ms = 0, late_slack = 0;
    double max_late = 0;
    const double end = now_us() + seconds * 1e6;
    while (now_us() < end) {
        const double before = now_us();
        nanosleep(&period, nullptr);
        const double late = now_us() - before - static_cast<double>(period_us);
        max_late = std::max(max_late, late);
        late_1ms += late > 1000;
        late_slack += late > slack_us;
        ++wakeups;
    }
    std::printf(
        "{\"wakeups\":%ld,\"late_1ms\":%ld,\"late_slack\":%ld,\"max_late_us\":%.0f,"
        "\"slack_us\":%.0f}\n",
        wakeups,
        late_1ms,
        late_slack,
        max_late,
        slack_us);
    return 0;
}
