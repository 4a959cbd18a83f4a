// The io_contexts that serve connections: the daemon's main context (run by the main thread:
// control strand, listeners, connectors) and one more per further io thread, each run by its
// own thread alone. A connection is placed on one context for its life, dealt round-robin.
//
// Why not one context shared by every io thread: with an idle thread waiting, asio wakes it
// for each completion so that it takes over the reactor, and on this kind of machine a
// cross-core wake-up costs several microseconds. A node sending a few objects per reply paid
// two wake-ups per reply: one node at 100,000 objects/s cost 6.8 CPU-seconds per million
// objects with two shared threads, 1.6 with one thread per context.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "tracer/core/net.hpp"

namespace ct::tracer {

class io_pool {
  public:
    /// `threads`: io threads in all, the caller's (which runs `main`) included.
    io_pool(asio::io_context& main, unsigned threads);
    ~io_pool();
    io_pool(const io_pool&) = delete;
    io_pool& operator=(const io_pool&) = delete;

    asio::io_context& main() { return main_; }
    /// The context for a new connection (any thread).
    asio::io_context& next();
    /// Starts the threads of the further contexts.
    void start();
    /// The further contexts may end once their connections have: their threads return.
    void release();
    /// Stops every further context now (forced stop; their pending handlers are not run).
    void stop();
    /// Waits for the threads (after release() or stop()).
    void join();

  private:
    using guard = asio::executor_work_guard<asio::io_context::executor_type>;
    asio::io_context& main_;
    std::vector<std::unique_ptr<asio::io_context>> further_;
    std::vector<std::optional<guard>> guards_;
    std::vector<std::thread> threads_;
    std::atomic<unsigned> turn_{0};
};

}  // namespace ct::tracer
