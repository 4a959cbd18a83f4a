// The points of one series in timestamp order, 12 bytes a point: 32-bit millisecond offsets
// from a base time beside the 64-bit values, each in its own deque (aligned, no padding). A
// series whose points span more than 49 days, or that gets a point before its base (the clock
// stepped back), is rebased; when even that cannot fit, it switches to 64-bit times for good.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>

namespace ct::tracer::timeseries {

class point_column {
  public:
    std::size_t size() const { return values_.size(); }
    bool empty() const { return values_.empty(); }
    std::uint64_t ts(std::size_t i) const { return wide_ ? wide_times_[i] : base_ + offsets_[i]; }
    double value(std::size_t i) const { return values_[i]; }

    /// Inserts after every point with a timestamp <= ts (equal timestamps keep their order).
    void insert(std::uint64_t ts, double value) {
        // Mostly appended in range: the clock moves forwards.
        if (!wide_ && !values_.empty() && ts >= base_ && ts - base_ <= span &&
            base_ + offsets_.back() <= ts) {
            offsets_.push_back(static_cast<std::uint32_t>(ts - base_));
            values_.push_back(value);
            return;
        }
        const std::size_t at = empty() || this->ts(size() - 1) <= ts ? size() : upper_bound(ts);
        if (!wide_ && !fits(ts)) make_room_for(ts);
        if (wide_) {
            wide_times_.insert(wide_times_.begin() + static_cast<std::ptrdiff_t>(at), ts);
        } else {
            offsets_.insert(offsets_.begin() + static_cast<std::ptrdiff_t>(at),
                            static_cast<std::uint32_t>(ts - base_));
        }
        values_.insert(values_.begin() + static_cast<std::ptrdiff_t>(at), value);
    }

    /// Drops the first n points.
    void erase_front(std::size_t n) {
        const auto d = static_cast<std::ptrdiff_t>(n);
        if (wide_) {
            wide_times_.erase(wide_times_.begin(), wide_times_.begin() + d);
        } else {
            offsets_.erase(offsets_.begin(), offsets_.begin() + d);
        }
        values_.erase(values_.begin(), values_.begin() + d);
        if (values_.empty()) {
            wide_ = false;
            offsets_.shrink_to_fit();
            wide_times_.shrink_to_fit();
            values_.shrink_to_fit();
        }
    }

    /// The index of the first point with a timestamp > t.
    std::size_t upper_bound(std::uint64_t t) const {
        std::size_t lo = 0, hi = size();
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (ts(mid) <= t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
    /// The index of the first point with a timestamp >= t.
    std::size_t lower_bound(std::uint64_t t, std::size_t hi) const {
        std::size_t lo = 0;
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (ts(mid) < t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /// Bytes of the deques' blocks (libstdc++: 512-byte blocks, one more than the points need,
    /// and a map of block pointers).
    std::size_t bytes() const {
        auto deque_bytes = [](std::size_t n, std::size_t element) {
            const std::size_t per_block = 512 / element;
            return ((n + per_block - 1) / per_block + 1) * (512 + sizeof(void*));
        };
        return deque_bytes(size(), sizeof(double)) +
               (wide_ ? deque_bytes(size(), sizeof(std::uint64_t))
                      : deque_bytes(size(), sizeof(std::uint32_t)));
    }
    bool wide() const { return wide_; }

  private:
    static constexpr std::uint64_t span = std::numeric_limits<std::uint32_t>::max();

    bool fits(std::uint64_t ts) const {
        if (empty()) return false;  // a first point sets the base
        return ts >= base_ && ts - base_ <= span;
    }

    // Moves the base so that ts and every point fit, or switches to 64-bit times.
    void make_room_for(std::uint64_t ts) {
        if (empty()) {
            base_ = ts;
            return;
        }
        const std::uint64_t first = std::min(ts, this->ts(0));
        const std::uint64_t last = std::max(ts, this->ts(size() - 1));
        if (last - first <= span) {
            for (auto& o : offsets_) o = static_cast<std::uint32_t>(base_ + o - first);
            base_ = first;
            return;
        }
        for (std::size_t i = 0; i < size(); ++i) wide_times_.push_back(base_ + offsets_[i]);
        offsets_.clear();
        offsets_.shrink_to_fit();
        wide_ = true;
    }

    std::uint64_t base_ = 0;
    bool wide_ = false;
    std::deque<std::uint32_t> offsets_;
    std::deque<std::uint64_t> wide_times_;
    std::deque<double> values_;
};

}  // namespace ct::tracer::timeseries
