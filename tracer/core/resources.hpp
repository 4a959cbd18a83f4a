// The daemon's own resource usage, read from /proc/self: for the Tracer.Resources message
// (spec §11.4) and for the memory trimmer. Pure reads; thread-safe.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>

namespace ct::tracer {

/// {"kind":"ResourceStats","CentiCpu",…,"Threads"} with the keys of trace-resources; GHC-only
/// fields (GC, allocation) are 0.
nlohmann::json sample_resources();

/// Resident anonymous memory of this process (heap, mmapped blocks, thread stacks), in bytes.
std::size_t resident_anonymous_bytes();

}  // namespace ct::tracer
