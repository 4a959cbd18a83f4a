#include "tracer/core/session_context.hpp"

#include <vector>

namespace ct::tracer {

std::string_view reason_label(session_error e) {
    switch (e) {
        case session_error::protocol:
            return "protocol";
        case session_error::handshake:
            return "handshake";
        case session_error::timeout:
            return "timeout";
        case session_error::io:
            return "io";
        case session_error::internal:
            return "internal";
    }
    return "internal";
}

void session_set::add(std::uint64_t id, controls c) {
    bool drain_now = false;
    {
        std::lock_guard lock(mutex_);
        drain_now = drain_on_add_.erase(id) > 0;
        sessions_.emplace(id, c);
    }
    if (drain_now) c.drain();
}

void session_set::remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    drain_on_add_.erase(id);
    sessions_.erase(id);
}

std::vector<session_set::controls> session_set::snapshot() const {
    // Copy under the lock, act outside it: the callbacks post to strands.
    std::lock_guard lock(mutex_);
    std::vector<controls> out;
    for (const auto& [id, c] : sessions_) out.push_back(c);
    return out;
}

void session_set::drain_all() {
    for (auto& c : snapshot()) c.drain();
}

void session_set::drain(std::uint64_t id) {
    controls c;
    {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(id);
        if (it == sessions_.end()) {
            // Started but not registered yet: drained the moment it registers. Bounded: an
            // id whose session never registers (refused at once) must not pile up.
            if (drain_on_add_.size() < 1024) drain_on_add_.insert(id);
            return;
        }
        c = it->second;
    }
    c.drain();
}

void session_set::close_all() {
    for (auto& c : snapshot()) c.close();
}

std::size_t session_set::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

void session_context::set_node_info(const std::string& node, std::string json) {
    constexpr std::size_t max_names = 100000;
    std::lock_guard lock(node_info_mutex_);
    auto [it, inserted] = node_info_.insert_or_assign(node, std::move(json));
    if (!inserted) return;
    node_info_order_.push_back(node);
    if (node_info_order_.size() > max_names) {
        node_info_.erase(node_info_order_.front());
        node_info_order_.pop_front();
    }
}

std::optional<std::string> session_context::node_info(const std::string& node) const {
    std::lock_guard lock(node_info_mutex_);
    auto it = node_info_.find(node);
    if (it == node_info_.end()) return std::nullopt;
    return it->second;
}

void session_context::set_data_point(const std::string& node,
                                     const std::string& name,
                                     std::string json) {
    constexpr std::size_t max_entries = 100000;
    std::lock_guard lock(node_info_mutex_);
    auto key = std::make_pair(node, name);
    auto [it, inserted] = data_points_.insert_or_assign(key, std::move(json));
    if (!inserted) return;
    data_point_order_.push_back(std::move(key));
    if (data_point_order_.size() > max_entries) {
        data_points_.erase(data_point_order_.front());
        data_point_order_.pop_front();
    }
}

std::optional<std::string> session_context::data_point(const std::string& node,
                                                       const std::string& name) const {
    std::lock_guard lock(node_info_mutex_);
    auto it = data_points_.find(std::make_pair(node, name));
    if (it == data_points_.end()) return std::nullopt;
    return it->second;
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
