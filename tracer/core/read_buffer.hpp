// A connection's receive buffer that follows its traffic: small while the peer sends little
// (an idle or slow node costs a few KiB, not 64), large while reads fill it (fewer syscalls per
// object at load). Resized only between reads, never while the kernel owns it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>

namespace ct::tracer {

class read_buffer {
  public:
    static constexpr std::size_t min_bytes = 4 * 1024;
    static constexpr std::size_t max_bytes = 64 * 1024;
    /// Reads observed before the buffer is fitted to the largest of them.
    static constexpr unsigned window = 32;

    /// The space for the next read.
    std::span<char> space() {
        if (!data_) data_.reset(new char[capacity_]);  // not zeroed: pages map when written
        return {data_.get(), capacity_};
    }

    /// Records how much the last read took and resizes for the next one: a full read means
    /// more was waiting (grow at once); otherwise every `window` reads the buffer is fitted to
    /// twice the largest read seen.
    void filled(std::size_t n) {
        if (n == capacity_ && capacity_ < max_bytes) {
            resize(std::min(capacity_ * 4, max_bytes));
            return;
        }
        largest_ = std::max(largest_, n);
        if (++reads_ < window) return;
        std::size_t fit = min_bytes;
        while (fit < 2 * largest_ && fit < max_bytes) fit *= 2;
        if (fit < capacity_) {
            resize(fit);
        } else {
            reads_ = 0;
            largest_ = 0;
        }
    }

    std::size_t capacity() const { return capacity_; }

  private:
    void resize(std::size_t bytes) {
        data_.reset();  // allocated again by the next space()
        capacity_ = bytes;
        reads_ = 0;
        largest_ = 0;
    }

    std::unique_ptr<char[]> data_;
    std::size_t capacity_ = min_bytes;
    unsigned reads_ = 0;
    std::size_t largest_ = 0;
};

}  // namespace ct::tracer
