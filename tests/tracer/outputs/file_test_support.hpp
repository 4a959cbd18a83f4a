// What the file writer's tests share: numbered batches and the log files of a node directory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "protocol/trace_object.hpp"
#include "tracer/outputs/trace_batch.hpp"

namespace ct::test {

/// `n` records with seq first…first+n-1: ForMachine lines {"seq":i}, a human text for even i.
inline tracer::outputs::trace_batch make_batch(std::uint64_t conn,
                                               const std::string& node,
                                               int first,
                                               int n) {
    tracer::outputs::trace_batch b;
    b.connection_id = conn;
    b.node_name = node;
    for (int i = first; i < first + n; ++i) {
        const std::string machine = "{\"seq\":" + std::to_string(i) + "}";
        const std::string human = "human " + std::to_string(i);
        protocol::trace_object_view v;
        v.has_human = i % 2 == 0;
        v.human = human;
        v.machine = machine;
        v.ns = "A.B";
        v.host = "h";
        v.thread = "1";
        b.add(v);
    }
    return b;
}

/// The log files (node-…) of one extension in a node directory, oldest first.
inline std::vector<std::filesystem::path> log_files(const std::filesystem::path& dir,
                                                    const std::string& ext) {
    std::vector<std::filesystem::path> out;
    if (!std::filesystem::exists(dir)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const auto n = e.path().filename().string();
        if (n.starts_with("node-") && n.find(ext) != std::string::npos) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace ct::test
