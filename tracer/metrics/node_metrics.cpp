#include "tracer/metrics/node_metrics.hpp"

#include <algorithm>
#include <chrono>
#include <functional>

#include "tracer/metrics/exposition.hpp"

namespace ct::tracer::metrics {

std::size_t node_metrics::apply(const protocol::ekg_response_view& response) {
    std::lock_guard lock(mutex_);
    ++hints_.changes;
    std::size_t ignored = 0;
    // A node sends its metrics in the same order every time: the entry at the same position
    // in the previous response is checked first (one comparison instead of a tree search).
    if (response_order_.size() < response.entries.size())
        response_order_.resize(response.entries.size(), metrics_.end());
    for (std::size_t i = 0; i < response.entries.size(); ++i) {
        const auto& e = response.entries[i];
        auto it = response_order_[i];
        if (it == metrics_.end() || it->first != e.name) it = metrics_.lower_bound(e.name);
        if (it != metrics_.end() && it->first == e.name) response_order_[i] = it;
        if (it == metrics_.end() || it->first != e.name) {
            // The server timestamp entry is ours, not the node's.
            if (metrics_.size() - (server_time_ ? 1 : 0) >= max_names_) {
                ++ignored;
                continue;
            }
            it = metrics_.emplace_hint(it, std::string(e.name), metric_value{});
            response_order_[i] = it;
            name_created(it->first, it->second);
            it->second.kind = e.value.kind;
            it->second.number = e.value.number;
            it->second.text.assign(e.value.text);
            continue;
        }
        auto& m = it->second;
        if (m.kind != e.value.kind) {
            m.kind = e.value.kind;
            m.number = e.value.number;
            m.text.assign(e.value.text);
            continue;
        }
        switch (m.kind) {
            case protocol::metric_kind::counter:
                if (e.value.number > m.number) m.number = e.value.number;  // counters never go down
                break;
            case protocol::metric_kind::gauge:
                m.number = e.value.number;
                break;
            case protocol::metric_kind::label:
                m.text.assign(e.value.text);
                break;
        }
    }
    return ignored;
}

void node_metrics::stamp_server_time() const {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (!server_time_) {
        // Looked up once: entries are never erased, so the map node stays where it is (a
        // search per read was 5-10 % of a /metrics scrape).
        auto [it, fresh] = metrics_.try_emplace(std::string(server_timestamp_name));
        if (fresh) {
            name_created(it->first, it->second);
            ++hints_.changes;
        }
        server_time_ = &it->second;
        hints_.server_time = server_time_;
    }
    server_time_->kind = protocol::metric_kind::counter;
    server_time_->number = static_cast<std::int64_t>(now);
    server_time_->text.clear();
}

void node_metrics::name_created(const std::string& ekg_name, metric_value& m) const {
    m.exposition_name = prometheus_name(ekg_name, false);
    m.suffix_bytes = static_cast<std::uint8_t>(m.exposition_name.size() -
                                               prometheus_name(ekg_name, true).size());
    // Names are created rarely (a node's first replies); scrapes are frequent. Keeping the
    // hashes of the forms in use tells every later scrape whether duplicates can exist (a
    // hash collision only costs that check).
    for (std::size_t form = 0; form < 2; ++form) {
        const auto name = std::string_view(m.exposition_name)
                              .substr(0, m.exposition_name.size() - (form ? m.suffix_bytes : 0));
        const auto h = std::hash<std::string_view>{}(name);
        auto& hashes = name_hashes_[form];
        const auto at = std::lower_bound(hashes.begin(), hashes.end(), h);
        if (at != hashes.end() && *at == h) {
            hints_.distinct_names[form] = false;
        } else {
            hashes.insert(at, h);
        }
    }
}

metric_snapshot node_metrics::snapshot() const {
    metric_snapshot copy;
    visit([&](const metric_snapshot& m) { copy = m; });
    return copy;
}

}  // namespace ct::tracer::metrics
