#include "tracer/logs/trace_batch.hpp"

namespace ct::tracer::logs {

void trace_batch::add(const protocol::trace_object_view& o) {
    record_ref r;
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

}  // namespace ct::tracer::logs
