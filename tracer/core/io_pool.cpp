#include "tracer/core/io_pool.hpp"

#include "tracer/outputs/thread_name.hpp"

namespace ct::tracer {

io_pool::io_pool(asio::io_context& main, unsigned threads) : main_(main) {
    for (unsigned i = 1; i < threads; ++i) {
        // Concurrency hint 1: each is run by one thread, which asio then never hands off from.
        further_.push_back(std::make_unique<asio::io_context>(1));
        guards_.emplace_back(further_.back()->get_executor());
    }
}

io_pool::~io_pool() {
    stop();
    join();
}

asio::io_context& io_pool::next() {
    const unsigned n =
        turn_.fetch_add(1, std::memory_order_relaxed) % static_cast<unsigned>(further_.size() + 1);
    return n == 0 ? main_ : *further_[n - 1];
}

void io_pool::start() {
    for (auto& ctx : further_) {
        threads_.emplace_back([c = ctx.get()] {
            name_this_thread("ct-io");
            c->run();
        });
    }
}

void io_pool::release() {
    for (auto& g : guards_) g.reset();
}

void io_pool::stop() {
    release();
    for (auto& ctx : further_) ctx->stop();
}

void io_pool::join() {
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

}  // namespace ct::tracer
