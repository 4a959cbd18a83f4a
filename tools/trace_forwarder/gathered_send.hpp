// Sends a reply made of pieces (SDU headers, constants, replay-pool entries) on a socket
// without copying it: non-blocking sendmsg calls of up to IOV_MAX pieces each. What the socket
// does not take now (a full send buffer, or an error that the caller's next write will meet)
// is appended to `rest`, so no piece is referenced once this returns.
#pragma once

#include <sys/uio.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ct::forwarder {

/// Returns the bytes sent now; the others are appended to `rest`. `iov` is scratch space
/// (kept by the caller so that no call allocates).
std::size_t send_gathered(int fd,
                          std::span<const std::string_view> parts,
                          std::string& rest,
                          std::vector<iovec>& iov);

}  // namespace ct::forwarder
