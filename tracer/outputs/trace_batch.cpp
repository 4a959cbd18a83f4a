#include "tracer/outputs/trace_batch.hpp"

#include <algorithm>

namespace ct::tracer::outputs {

void trace_batch::add(const protocol::trace_object_view& o, dispatcher::section_mask sections) {
    summary.known = false;
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

void trace_batch::add_lines_first(std::span<const protocol::trace_object_view> objects,
                                  std::span<const dispatcher::section_mask> masks) {
    // Two passes: first every kept record's machine text, each followed by '\n' (so the
    // ForMachine lines of a batch lie back to back and are written straight from the arena),
    // then the other fields.
    summary.known = false;
    std::size_t bytes = 0, kept = 0;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        if (!masks.empty() && masks[i] == 0) continue;
        const auto& o = objects[i];
        bytes += (o.has_human ? o.human.size() : 0) + o.machine.size() + 1 + o.ns.size() +
                 o.host.size() + o.thread.size();
        ++kept;
    }
    arena.reserve(arena.size() + bytes);
    const std::size_t first = records.size();
    records.reserve(first + kept);
    auto put = [this](std::string_view s, std::uint32_t& off, std::uint32_t& len) {
        off = static_cast<std::uint32_t>(arena.size());
        len = static_cast<std::uint32_t>(s.size());
        arena.append(s);
    };
    for (std::size_t i = 0; i < objects.size(); ++i) {
        if (!masks.empty() && masks[i] == 0) continue;
        const auto& o = objects[i];
        // Filled in place: a record built aside and copied in stalled on its byte-sized
        // fields (the copy's wide loads waited for the narrow stores).
        auto& r = records.emplace_back();
        r.sections = masks.empty() ? ~dispatcher::section_mask{0} : masks[i];
        put(o.machine, r.machine_off, r.machine_len);
        arena.push_back('\n');
        r.has_human = o.has_human;
        r.sev = o.sev;
        r.detail = o.detail;
        r.at = o.at;
    }
    std::size_t k = first;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        if (!masks.empty() && masks[i] == 0) continue;
        const auto& o = objects[i];
        auto& r = records[k++];
        if (o.has_human) put(o.human, r.human_off, r.human_len);
        put(o.ns, r.ns_off, r.ns_len);
        put(o.host, r.host_off, r.host_len);
        put(o.thread, r.thread_off, r.thread_len);
    }
}

void trace_batch::add_all(std::span<const protocol::trace_object_view> objects) {
    add_lines_first(objects, {});
}

void trace_batch::add_routed(std::span<const protocol::trace_object_view> objects,
                             std::span<const dispatcher::section_mask> masks) {
    add_lines_first(objects, masks);
}

void trace_batch::drop_unrouted() {
    std::erase_if(records, [](const record_ref& r) { return r.sections == 0; });
    summary = {};
}

void trace_batch::summarise() {
    record_summary s;
    s.all = ~dispatcher::section_mask{0};
    bool lines_adjacent = !records.empty();
    std::size_t next_line = records.empty() ? 0 : records.front().machine_off;
    for (const auto& r : records) {
        s.any |= r.sections;
        s.all &= r.sections;
        if (lines_adjacent) {
            const std::size_t end = std::size_t{r.machine_off} + r.machine_len;
            lines_adjacent = r.machine_off == next_line && end < arena.size() && arena[end] == '\n';
            next_line = end + 1;
        }
    }
    if (records.empty()) s.all = 0;
    if (lines_adjacent) {
        s.lines_off = records.front().machine_off;
        s.lines_len = static_cast<std::uint32_t>(next_line - s.lines_off);
    }
    s.known = true;
    summary = s;
}

std::size_t trace_batch::count_routed(dispatcher::section_mask mask) const {
    if (summary.known && (summary.all & mask) != 0) return records.size();
    if (summary.known && (summary.any & mask) == 0) return 0;
    return static_cast<std::size_t>(
        std::count_if(records.begin(), records.end(), [&](const record_ref& r) {
            return (r.sections & mask) != 0;
        }));
}

bool trace_batch::any_routed(dispatcher::section_mask mask) const {
    if (summary.known) return (summary.any & mask) != 0;
    return std::any_of(records.begin(), records.end(), [&](const record_ref& r) {
        return (r.sections & mask) != 0;
    });
}

}  // namespace ct::tracer::outputs
