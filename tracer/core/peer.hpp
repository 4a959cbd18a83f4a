// Who is at the other end of a node connection, as far as naming and logging need to know.
// Plain value type.
#pragma once

#include <cstdint>
#include <string>

namespace ct::tracer {

struct peer_info {
    std::uint64_t connection_id = 0;  // unique per connection in this process
    bool we_connected = false;        // ConnectTo (true) or AcceptAt (false): decides the M bit
    bool is_tcp = false;
    std::string local_path;          // Unix: the listening or target socket path
    std::uint64_t accept_index = 0;  // AcceptAt Unix: n-th accepted connection (upstream "@n")
    std::string address;             // TCP: "ip:port" / "[ip6]:port" of the peer; Unix: the path
    std::string node_id;             // upstream NodeId rendering (spec §4.1), the fallback name
};

}  // namespace ct::tracer
