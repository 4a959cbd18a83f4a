// The re-forward output (hasForwarding): every record routed to the re-forwarder's section is
// encoded as a TraceObject and queued for downstream tracers in a forward_queue (one stream
// for all nodes, or one per node name with perNode). It never holds a node back: a slow or
// absent downstream costs the oldest queued objects (counted), never local logging.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "tracer/outputs/forward_queue.hpp"
#include "tracer/outputs/output.hpp"

namespace ct::tracer::outputs {

class reforward_output final : public queued_output {
  public:
    /// `per_node`: the stream is the batch's node name (else one stream, "").
    reforward_output(const writer_options& opts,
                     output_events& events,
                     std::shared_ptr<forward_queue> queue,
                     std::shared_ptr<std::atomic<bool>> per_node);

    bool serves(const section& s) const noexcept override {
        return s.mode == config::log_mode::forward_mode;
    }

  private:
    void handle_batch(shared_delivery d, bool past_deadline) override;
    void handle_disconnect(std::uint64_t) override {}
    void apply_options(const writer_options&) override {}

    std::shared_ptr<forward_queue> queue_;
    std::shared_ptr<std::atomic<bool>> per_node_;  // hot reload flips it
    std::vector<std::string> encoded_;             // scratch
};

}  // namespace ct::tracer::outputs
