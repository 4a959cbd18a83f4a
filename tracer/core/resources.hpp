// The daemon's own resource usage for the Tracer.Resources message (spec §11.4), read from
// /proc/self. Pure reads; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

namespace ct::tracer {

/// {"kind":"ResourceStats","CentiCpu",…,"Threads"} with the keys of trace-resources; GHC-only
/// fields (GC, allocation) are 0.
nlohmann::json sample_resources();

}  // namespace ct::tracer
