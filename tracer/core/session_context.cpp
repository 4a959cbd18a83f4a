#include "tracer/core/session_context.hpp"

#include <vector>

namespace ct::tracer {

void session_set::add(std::uint64_t id, std::function<void()> closer) {
    std::lock_guard lock(mutex_);
    closers_.emplace(id, std::move(closer));
}

void session_set::remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    closers_.erase(id);
}

void session_set::close_all() {
    // Copy under the lock, act outside it: a closer posts to a strand and must not be called
    // with our mutex held.
    std::vector<std::function<void()>> todo;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, closer] : closers_) todo.push_back(closer);
    }
    for (auto& c : todo) c();
}

std::size_t session_set::size() const {
    std::lock_guard lock(mutex_);
    return closers_.size();
}

void session_context::notify_writer_space() {
    std::vector<std::function<void()>> todo;
    {
        std::lock_guard lock(waiters_mutex_);
        for (auto& [token, wake] : space_waiters_) todo.push_back(wake);
    }
    for (auto& w : todo) w();
}

std::uint64_t session_context::add_space_waiter(std::function<void()> wake) {
    std::lock_guard lock(waiters_mutex_);
    const auto token = next_waiter_++;
    space_waiters_.emplace(token, std::move(wake));
    return token;
}

void session_context::remove_space_waiter(std::uint64_t token) {
    std::lock_guard lock(waiters_mutex_);
    space_waiters_.erase(token);
}

}  // namespace ct::tracer
