#include "tracer/outputs/reforward_output.hpp"

#include "protocol/trace_objects_codec.hpp"

namespace ct::tracer::outputs {

reforward_output::reforward_output(const writer_options& opts,
                                   output_events& events,
                                   std::shared_ptr<forward_queue> queue,
                                   std::shared_ptr<std::atomic<bool>> per_node)
    : queued_output("reforward", opts, events),
      queue_(std::move(queue)),
      per_node_(std::move(per_node)) {}

void reforward_output::handle_batch(shared_delivery d, bool /*past_deadline*/) {
    const auto& b = d->batch();
    dispatcher::section_mask mine = 0;
    if (b.routing) {
        const auto& sections = b.routing->sections();
        for (std::size_t i = 0; i < sections.size() && i < 64; ++i) {
            if (serves(sections[i])) mine |= dispatcher::section_mask{1} << i;
        }
    }
    encoded_.clear();
    std::uint64_t bytes = 0;
    for (const auto& r : b.records) {
        if ((r.sections & mine) == 0) continue;
        std::string one;
        protocol::encode_trace_object(b.view(r), one);
        bytes += one.size();
        encoded_.push_back(std::move(one));
    }
    counters_.batches++;
    if (encoded_.empty()) return;
    counters_.records += encoded_.size();
    counters_.bytes += bytes;
    queue_->push(per_node_->load() ? b.node_name : std::string(), std::move(encoded_));
    encoded_ = {};
}

}  // namespace ct::tracer::outputs
