// An immutable snapshot swapped whole (the configuration, the HTTP settings): readers take a
// shared_ptr to the version in force, a reload publishes a new one. A mutex rather than
// std::atomic<std::shared_ptr>: GCC 12's implementation releases its lock with relaxed order in
// load(), which ThreadSanitizer rightly reports as a race against the next store. The lock is
// held only to copy a pointer. Thread-safe.
#pragma once

#include <memory>
#include <mutex>

namespace ct::tracer {

template <typename T>
class snapshot {
  public:
    snapshot() = default;
    explicit snapshot(std::shared_ptr<const T> first) : current_(std::move(first)) {}
    snapshot(const snapshot&) = delete;
    snapshot& operator=(const snapshot&) = delete;

    std::shared_ptr<const T> load() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    void store(std::shared_ptr<const T> next) {
        std::shared_ptr<const T> previous;  // released outside the lock
        std::lock_guard lock(mutex_);
        previous = std::exchange(current_, std::move(next));
    }

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> current_;
};

}  // namespace ct::tracer
