#include "tracer/outputs/trace_batch.hpp"

namespace ct::tracer::outputs {

void trace_batch::add(const protocol::trace_object_view& o, dispatcher::section_mask sections) {
    record_ref r;
    r.sections = sections;
    auto put = [this](std::string_view s, std::uint32_t& off, std::uint32_t& len) {
        off = static_cast<std::uint32_t>(arena.size());
        len = static_cast<std::uint32_t>(s.size());
        arena.append(s);
    };
    if (arena.empty()) arena.reserve(512);
    r.has_human = o.has_human;
    if (o.has_human) put(o.human, r.human_off, r.human_len);
    put(o.machine, r.machine_off, r.machine_len);
    put(o.ns, r.ns_off, r.ns_len);
    put(o.host, r.host_off, r.host_len);
    put(o.thread, r.thread_off, r.thread_len);
    r.sev = o.sev;
    r.detail = o.detail;
    r.at = o.at;
    records.push_back(r);
}

void trace_batch::add_all(std::span<const protocol::trace_object_view> objects) {
    std::size_t bytes = 0;
    for (const auto& o : objects) {
        bytes += (o.has_human ? o.human.size() : 0) + o.machine.size() + o.ns.size() +
                 o.host.size() + o.thread.size();
    }
    arena.reserve(arena.size() + bytes);
    records.reserve(records.size() + objects.size());
    for (const auto& o : objects) add(o);
}

void trace_batch::add_routed(std::span<const protocol::trace_object_view> objects,
                             std::span<const dispatcher::section_mask> masks) {
    std::size_t bytes = 0, kept = 0;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        if (masks[i] == 0) continue;
        const auto& o = objects[i];
        bytes += (o.has_human ? o.human.size() : 0) + o.machine.size() + o.ns.size() +
                 o.host.size() + o.thread.size();
        ++kept;
    }
    arena.reserve(arena.size() + bytes);
    records.reserve(records.size() + kept);
    for (std::size_t i = 0; i < objects.size(); ++i) {
        if (masks[i] != 0) add(objects[i], masks[i]);
    }
}

void trace_batch::drop_unrouted() {
    std::erase_if(records, [](const record_ref& r) { return r.sections == 0; });
}

}  // namespace ct::tracer::outputs
