// The benchmarks' TraceObjects reply: n objects of about 400 bytes, as a busy relay sends.
#pragma once

#include <string>
#include <vector>

#include "protocol/trace_objects_codec.hpp"

namespace ct::bench {

inline std::string make_reply(std::size_t n) {
    using namespace ct::protocol;
    std::vector<trace_object> objs(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto& o = objs[i];
        o.machine =
            R"({"at":"2026-07-23T08:56:07.123456789Z","ns":"ChainDB.AddBlockEvent.AddedToCurrentChain","data":{"kind":"AddedToCurrentChain","newtip":"5f7d4b0b2a8c3e9d1f6a4b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a@131313131","headers":[{"blockNo":"10500000","slotNo":"131313131"}],"seq":)" +
            std::to_string(i) + R"(},"sev":"Notice","thread":"47","host":"relay1"})";
        o.human = "Chain extended, new tip: 5f7d4b0b2a8c3e9d1f6a at slot 131313131";
        o.ns = "ChainDB.AddBlockEvent.AddedToCurrentChain";
        o.sev = severity::notice;
        o.at = {1784796967, 123456789000};
        o.host = "relay1";
        o.thread = "47";
    }
    return encode_trace_objects_reply(objs);
}

}  // namespace ct::bench
