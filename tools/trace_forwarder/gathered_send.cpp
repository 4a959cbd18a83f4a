#include "tools/trace_forwarder/gathered_send.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <climits>

namespace ct::forwarder {

std::size_t send_gathered(int fd,
                          std::span<const std::string_view> parts,
                          std::string& rest,
                          std::vector<iovec>& iov) {
    std::size_t total = 0;
    std::size_t i = 0, skip = 0;  // the next piece, and how much of it is already sent
    while (i < parts.size()) {
        iov.clear();
        for (std::size_t j = i; j < parts.size() && iov.size() < IOV_MAX; ++j) {
            const std::size_t off = j == i ? skip : 0;
            iov.push_back({const_cast<char*>(parts[j].data() + off), parts[j].size() - off});
        }
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = iov.size();
        const ssize_t sent = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) break;
        auto left = static_cast<std::size_t>(sent);
        total += left;
        while (left > 0) {
            const std::size_t here = parts[i].size() - skip;
            if (left < here) {
                skip += left;
                break;
            }
            left -= here;
            skip = 0;
            ++i;
        }
    }
    if (i < parts.size()) {
        rest.append(parts[i].substr(skip));
        for (++i; i < parts.size(); ++i) rest.append(parts[i]);
    }
    return total;
}

}  // namespace ct::forwarder
