#include "tracer/outputs/forward_queue.hpp"

#include <algorithm>

namespace ct::tracer::outputs {

forward_queue::forward_queue(std::size_t capacity_per_stream)
    : capacity_(std::max<std::size_t>(1, capacity_per_stream)) {}

void forward_queue::trim(stream_state& s) {
    // The oldest go first: what is recent matters most to whoever watches downstream.
    while (s.objects.size() > capacity_) {
        s.objects.pop_front();
        dropped_.fetch_add(1, std::memory_order_relaxed);
    }
}

void forward_queue::set_capacity(std::size_t capacity_per_stream) {
    std::lock_guard lock(mutex_);
    capacity_ = std::max<std::size_t>(1, capacity_per_stream);
    for (auto& [name, s] : streams_) trim(s);
}

void forward_queue::push(const std::string& stream, std::vector<std::string>&& encoded) {
    if (encoded.empty()) return;
    std::vector<std::function<void()>> to_wake;
    std::function<void(const std::string&)> announce;
    {
        std::lock_guard lock(mutex_);
        auto [it, inserted] = streams_.try_emplace(stream);
        if (inserted) announce = on_new_stream_;
        for (auto& e : encoded) it->second.objects.push_back(std::move(e));
        pushed_.fetch_add(encoded.size(), std::memory_order_relaxed);
        trim(it->second);
        for (auto w = waiters_.begin(); w != waiters_.end();) {
            if (w->second.stream == stream) {
                to_wake.push_back(std::move(w->second.wake));
                w = waiters_.erase(w);
            } else {
                ++w;
            }
        }
    }
    if (announce) announce(stream);
    for (auto& w : to_wake) w();
}

std::size_t forward_queue::take(const std::string& stream,
                                std::size_t n,
                                std::vector<std::string>& out) {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(stream);
    if (it == streams_.end()) return 0;
    auto& q = it->second.objects;
    const std::size_t k = std::min(n, q.size());
    for (std::size_t i = 0; i < k; ++i) {
        out.push_back(std::move(q.front()));
        q.pop_front();
    }
    return k;
}

void forward_queue::put_back(const std::string& stream, std::vector<std::string>&& objects) {
    std::lock_guard lock(mutex_);
    auto& q = streams_[stream].objects;
    for (auto it = objects.rbegin(); it != objects.rend(); ++it) q.push_front(std::move(*it));
    trim(streams_[stream]);
}

std::uint64_t forward_queue::when_available(const std::string& stream, std::function<void()> wake) {
    {
        std::lock_guard lock(mutex_);
        auto it = streams_.find(stream);
        if (it == streams_.end() || it->second.objects.empty()) {
            const auto token = next_token_++;
            waiters_.emplace(token, waiter{stream, std::move(wake)});
            return token;
        }
    }
    wake();
    return 0;
}

void forward_queue::cancel_wait(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    waiters_.erase(token);
}

void forward_queue::set_stream_listener(std::function<void(const std::string&)> on_new_stream) {
    std::lock_guard lock(mutex_);
    on_new_stream_ = std::move(on_new_stream);
}

std::vector<std::string> forward_queue::streams() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [name, s] : streams_) out.push_back(name);
    return out;
}

std::size_t forward_queue::queued() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [name, s] : streams_) n += s.objects.size();
    return n;
}

}  // namespace ct::tracer::outputs
