// Names for the daemon's threads, as top -H, ps -L, perf and gdb show them.
#pragma once

#include <pthread.h>

#include <string>

namespace ct::tracer {

/// Names the calling thread; the kernel keeps 15 bytes.
inline void name_this_thread(const std::string& name) {
    (void)pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace ct::tracer
