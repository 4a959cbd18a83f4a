// One TraceObjects reply of one connection, copied once into a single arena so it can cross
// from the connection's strand to the writer thread without per-record allocations.
// A plain value; moved, never shared.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/trace_object.hpp"

namespace ct::tracer::logs {

struct record_ref {
    std::uint32_t human_off = 0, human_len = 0;
    std::uint32_t machine_off = 0, machine_len = 0;
    std::uint32_t ns_off = 0, ns_len = 0;
    std::uint32_t host_off = 0, host_len = 0;
    std::uint32_t thread_off = 0, thread_len = 0;
    bool has_human = false;
    protocol::severity sev = protocol::severity::info;
    protocol::utc_time at;
};

struct trace_batch {
    std::uint64_t connection_id = 0;
    std::string node_name;  // unique among live connections; set before submission
    std::string arena;
    std::vector<record_ref> records;

    /// Copies one record into the arena (amortised: no allocation per record).
    void add(const protocol::trace_object_view& o);
    /// Copies a whole reply with exactly one arena and one vector allocation.
    void add_all(std::span<const protocol::trace_object_view> objects);
    std::string_view text(std::uint32_t off, std::uint32_t len) const {
        return std::string_view(arena).substr(off, len);
    }
    std::string_view machine(const record_ref& r) const {
        return text(r.machine_off, r.machine_len);
    }
    std::string_view human(const record_ref& r) const { return text(r.human_off, r.human_len); }
    std::string_view ns(const record_ref& r) const { return text(r.ns_off, r.ns_len); }
    std::string_view host(const record_ref& r) const { return text(r.host_off, r.host_len); }
    std::string_view thread(const record_ref& r) const { return text(r.thread_off, r.thread_len); }
};

}  // namespace ct::tracer::logs
