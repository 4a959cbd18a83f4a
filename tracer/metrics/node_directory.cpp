#include "tracer/metrics/node_directory.hpp"

#include <algorithm>
#include <set>

#include "dispatcher/node_names.hpp"

namespace ct::tracer::metrics {

std::shared_ptr<node_metrics> node_directory::add(std::uint64_t connection_id,
                                                  std::size_t max_metrics) {
    auto store = std::make_shared<node_metrics>(max_metrics);
    std::lock_guard lock(mutex_);
    nodes_[connection_id] = {{}, store, {}};
    return store;
}

void node_directory::set_name(std::uint64_t connection_id, const std::string& name) {
    std::lock_guard lock(mutex_);
    if (auto it = nodes_.find(connection_id); it != nodes_.end()) it->second.name = name;
}

void node_directory::set_tracer_config(std::uint64_t connection_id, std::string json) {
    auto text = std::make_shared<const std::string>(std::move(json));
    std::lock_guard lock(mutex_);
    if (auto it = nodes_.find(connection_id); it != nodes_.end()) it->second.tracer_config = text;
}

void node_directory::remove(std::uint64_t connection_id) {
    std::lock_guard lock(mutex_);
    nodes_.erase(connection_id);
}

std::vector<node_entry> node_directory::list() const {
    std::vector<node_entry> out;
    {
        std::lock_guard lock(mutex_);
        // Connection order decides who keeps a contested slug.
        for (const auto& [id, it] : nodes_) {
            if (!it.name.empty()) out.push_back({it.name, {}, it.store, it.tracer_config});
        }
    }
    std::set<std::string> used;
    for (auto& e : out) {
        const std::string base =
            dispatcher::slugify(e.name).empty() ? "node" : dispatcher::slugify(e.name);
        std::string slug = base;
        for (int k = 2; used.contains(slug); ++k) slug = base + "-" + std::to_string(k);
        used.insert(slug);
        e.slug = slug;
    }
    std::sort(out.begin(), out.end(), [](const node_entry& a, const node_entry& b) {
        return a.name < b.name;
    });
    return out;
}

std::optional<node_entry> node_directory::find_by_slug(const std::string& slug) const {
    for (auto& e : list()) {
        if (e.slug == slug) return e;
    }
    return std::nullopt;
}

std::optional<node_entry> node_directory::find_by_name(const std::string& name) const {
    for (auto& e : list()) {
        if (e.name == name) return e;
    }
    return std::nullopt;
}

}  // namespace ct::tracer::metrics
