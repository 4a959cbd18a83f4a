#include "tracer/timeseries/store.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace ct::tracer::timeseries {

namespace {

std::string_view node_of(const label_set& labels) {
    for (const auto& [k, v] : labels) {
        if (k == "node_name") return v;
    }
    return {};
}

}  // namespace

insert_result store::insert(const label_set& labels,
                            std::uint64_t ts,
                            const std::vector<std::pair<std::string, double>>& batch) {
    insert_result r;
    const auto node = node_of(labels);
    auto node_it = node_points_.find(node);
    if (node_it == node_points_.end()) node_it = node_points_.emplace(std::string(node), 0).first;
    auto& positions = positions_[labels];
    if (positions.size() < batch.size()) positions.resize(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& [name, value] = batch[i];
        if (points_ >= limits_.max_points || node_it->second >= limits_.max_points_per_node) {
            ++r.refused_points;
            continue;
        }
        auto& cached = positions[i];
        series* target = cached.name && *cached.name == name ? cached.target : nullptr;
        if (!target) {
            auto metric = metrics_.find(name);
            if (metric == metrics_.end()) metric = metrics_.emplace(name, by_labels{}).first;
            auto s = metric->second.find(labels);
            if (s == metric->second.end()) {
                if (series_ >= limits_.max_series) {
                    ++r.refused_series;
                    continue;
                }
                s = metric->second.emplace(labels, series{{}, std::string(node)}).first;
                ++series_;
            }
            target = &s->second;
            cached = {&metric->first, target};
        }
        target->points.insert(ts, value);  // after equal timestamps: earliest first
        ++points_;
        ++node_it->second;
        ++r.inserted;
    }
    return r;
}

std::size_t store::truncate(std::uint64_t cutoff) {
    std::size_t dropped = 0;
    for (auto& [name, by] : metrics_) {
        for (auto& [labels, s] : by) {
            auto& points = s.points;
            const auto n = points.lower_bound(cutoff, points.size());
            if (n == 0) continue;
            points.erase_front(n);
            dropped += n;
            points_ -= n;
            if (auto it = node_points_.find(s.node); it != node_points_.end()) it->second -= n;
        }
    }
    return dropped;
}

std::vector<instant_sample> store::instant(std::string_view metric, std::uint64_t t) const {
    std::vector<instant_sample> out;
    const auto it = metrics_.find(metric);
    if (it == metrics_.end() || t < lookback_ms) return out;
    const std::uint64_t after = t - lookback_ms;  // exclusive
    for (const auto& [labels, s] : it->second) {
        const auto& points = s.points;
        // The last timestamp <= t, then the first point carrying it (earliest inserted).
        const auto end = points.upper_bound(t);
        if (end == 0) continue;
        const std::uint64_t latest = points.ts(end - 1);
        if (latest <= after) continue;
        const auto first = points.lower_bound(latest, end);
        out.push_back({&labels, points.value(first)});
    }
    return out;
}

std::vector<std::string> store::metric_names() const {
    std::vector<std::string> out;
    out.reserve(metrics_.size());
    for (const auto& [name, by] : metrics_) out.push_back(name);
    std::sort(out.begin(), out.end());
    return out;
}

bool store::has_metric(std::string_view metric) const {
    return metrics_.find(metric) != metrics_.end();
}

std::size_t store::point_bytes() const {
    std::size_t bytes = 0;
    for (const auto& [name, by] : metrics_) {
        for (const auto& [labels, s] : by) bytes += s.points.bytes();
    }
    return bytes;
}

std::string sanitise_metric_name(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    for (char c : name) {
        if (c == '.' || c == '-' || c == ' ') {
            out.push_back('_');
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_') {
            out.push_back(c);
        }
    }
    return out;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// An Integer's conversion to Double: correctly rounded (strtod is, for decimal integers).
double integer_to_double(std::string_view digits) {
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    return std::strtod(std::string(digits).c_str(), nullptr);
}

// Haskell's (^) on Double: exponentiation by squaring, the same multiplications in the same
// order (its rounding is part of the result).
double power_by_squaring(double x, std::uint64_t y) {
    if (y == 0) return 1.0;
    while (y % 2 == 0) {
        x *= x;
        y /= 2;
    }
    if (y == 1) return x;
    double z = x;
    x *= x;
    y /= 2;
    for (;;) {
        if (y % 2 == 0) {
            x *= x;
            y /= 2;
        } else if (y == 1) {
            return x * z;
        } else {
            z = x * z;
            x *= x;
            y /= 2;
        }
    }
}

// (10 :: Double) ^^ p
double ten_to(std::int64_t p) {
    if (p >= 0) return power_by_squaring(10.0, static_cast<std::uint64_t>(p));
    return 1.0 / power_by_squaring(10.0, static_cast<std::uint64_t>(-p));
}

}  // namespace

std::optional<double> read_double(std::string_view t) {
    std::size_t i = 0;
    bool negative = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
    const auto real_start = i;
    while (i < t.size() && is_digit(t[i])) ++i;
    if (i == real_start) return std::nullopt;
    const auto real = t.substr(real_start, i - real_start);
    std::string_view fraction;
    if (i + 1 < t.size() && t[i] == '.' && is_digit(t[i + 1])) {
        const auto start = ++i;
        while (i < t.size() && is_digit(t[i])) ++i;
        fraction = t.substr(start, i - start);
    }
    std::int64_t power = 0;
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        std::size_t j = i + 1;
        bool power_negative = false;
        if (j < t.size() && (t[j] == '+' || t[j] == '-')) power_negative = t[j++] == '-';
        const auto start = j;
        std::int64_t p = 0;
        while (j < t.size() && is_digit(t[j])) {
            // Beyond ±10^6 every result is 0 or infinite already.
            p = std::min<std::int64_t>(p * 10 + (t[j] - '0'), 1'000'000);
            ++j;
        }
        if (j > start) {
            power = power_negative ? -p : p;
            i = j;
        }
    }
    if (i != t.size()) return std::nullopt;
    double n = integer_to_double(real);
    if (!fraction.empty()) {
        const std::string scale = "1" + std::string(fraction.size(), '0');
        n = n + integer_to_double(fraction) / integer_to_double(scale);
    }
    if (power != 0) n = n * ten_to(power);
    return negative ? -n : n;
}

}  // namespace ct::tracer::timeseries
