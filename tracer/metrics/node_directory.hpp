// The connected nodes as the HTTP side sees them: name, route slug and metric store. Entries
// appear when a connection starts, get their name once it is known, and vanish at once when
// the connection ends (no route cache). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tracer/metrics/node_metrics.hpp"

namespace ct::tracer::metrics {

struct node_entry {
    std::string name;
    std::string slug;
    std::shared_ptr<node_metrics> store;
    /// The node's last Reflection.TracerConfigInfo, as served at /<node>/tracer-config.
    std::shared_ptr<const std::string> tracer_config;
};

class node_directory {
  public:
    /// `max_metrics`: distinct EKG names kept for this node (maxMetricsPerNode).
    std::shared_ptr<node_metrics> add(std::uint64_t connection_id, std::size_t max_metrics = 20000);

    void set_name(std::uint64_t connection_id, const std::string& name);
    void set_tracer_config(std::uint64_t connection_id, std::string json);
    void remove(std::uint64_t connection_id);

    /// Named nodes sorted by name. Two names with the same slug both stay reachable: the later
    /// one gets "<slug>-2", "-3", … (upstream serves only the first).
    std::vector<node_entry> list() const;
    std::optional<node_entry> find_by_slug(const std::string& slug) const;
    std::optional<node_entry> find_by_name(const std::string& name) const;

  private:
    struct item {
        std::string name;
        std::shared_ptr<node_metrics> store;
        std::shared_ptr<const std::string> tracer_config;
    };
    mutable std::mutex mutex_;
    std::map<std::uint64_t, item> nodes_;
};

}  // namespace ct::tracer::metrics
