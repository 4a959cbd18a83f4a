// What one cross-thread wake-up costs on this machine: two threads hand a token back and forth
// through a futex, ROUND_TRIPS times, and the process's CPU time is divided by the wake-ups.
// Run it as it is (the threads land on different vCPUs) and under `taskset -c 0` (one vCPU):
// on the 2-core VM of the benchmarks, 5.2-6.5 us against 0.88 us (docs/benchmarks.md).
//
// usage: wake_cost [ROUND_TRIPS]     prints {"round_trips","wall_us","cpu_us_per_wake"}
#include <linux/futex.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

std::atomic<int> turn{0};

void futex(int op, int value) {
    ::syscall(SYS_futex, reinterpret_cast<int*>(&turn), op, value, nullptr, nullptr, 0);
}

// Sleeps until the token is `mine` (the kernel rechecks the word, so no wake-up is missed).
void wait_for(int mine) {
    for (;;) {
        const int now = turn.load();
        if (now == mine) return;
        futex(FUTEX_WAIT_PRIVATE, now);
    }
}

void hand_to(int other) {
    turn.store(other);
    futex(FUTEX_WAKE_PRIVATE, 1);
}

double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    const long rounds = argc > 1 ? std::atol(argv[1]) : 100000;
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    std::thread other([&] {
        for (long i = 0; i < rounds; ++i) {
            wait_for(1);
            hand_to(0);
        }
    });
    for (long i = 0; i < rounds; ++i) {
        hand_to(1);
        wait_for(0);
    }
    other.join();
    const double wall =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    std::printf("{\"round_trips\":%ld,\"wall_us\":%.2f,\"cpu_us_per_wake\":%.2f}\n",
                rounds,
                wall / static_cast<double>(rounds),
                cpu * 1e6 / static_cast<double>(2 * rounds));
}
