// The generator's gathered send: what the socket takes now plus what is left for the writer
// is the reply, in order, whether the socket takes all of it, part of it, or nothing.
#include "tools/trace_forwarder/gathered_send.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace ct::forwarder {
namespace {

struct socket_pair {
    int fds[2] = {-1, -1};
    socket_pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
    ~socket_pair() {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }
    std::string drain() {
        std::string got;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fds[1], buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0) return got;
            got.append(buf, static_cast<std::size_t>(n));
        }
    }
};

// Pieces of varied sizes (1500 are more than one sendmsg takes: IOV_MAX), and all of them
// joined: what the peer must receive.
struct reply_pieces {
    std::vector<std::string> pieces;
    std::vector<std::string_view> parts;
    std::string whole;
    explicit reply_pieces(std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) {
            pieces.emplace_back(1 + (i * 37) % 700, static_cast<char>('a' + i % 26));
            whole += pieces.back();
        }
        parts.assign(pieces.begin(), pieces.end());
    }
};

TEST(GatheredSend, WhatTheSocketTakesAndWhatIsLeftAreTheReplyInOrder) {
    const reply_pieces r(1500);
    const auto& whole = r.whole;
    socket_pair s;
    int small = 4096;  // far less than the reply: the send stops part-way through a piece
    ASSERT_EQ(::setsockopt(s.fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    std::string rest = "before|";  // appended to, never replaced
    std::vector<iovec> iov;
    const std::size_t sent = send_gathered(s.fds[0], r.parts, rest, iov);
    EXPECT_GT(sent, 0u);
    EXPECT_LT(sent, whole.size());
    EXPECT_EQ(s.drain(), whole.substr(0, sent));
    EXPECT_EQ(rest, "before|" + whole.substr(sent));

    // A socket with room for everything takes it all (several sendmsg calls).
    socket_pair roomy;
    int big = 4 << 20;
    ASSERT_EQ(::setsockopt(roomy.fds[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big), 0);
    ASSERT_EQ(::setsockopt(roomy.fds[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big), 0);
    rest.clear();
    EXPECT_EQ(send_gathered(roomy.fds[0], r.parts, rest, iov), whole.size());
    EXPECT_TRUE(rest.empty());
    EXPECT_EQ(roomy.drain(), whole);
}

TEST(GatheredSend, AClosedPeerLeavesEverythingForTheWriterToFail) {
    const reply_pieces r(10);
    socket_pair s;
    ::close(s.fds[1]);
    s.fds[1] = -1;
    std::string rest;
    std::vector<iovec> iov;
    EXPECT_EQ(send_gathered(s.fds[0], r.parts, rest, iov), 0u);  // EPIPE, and no SIGPIPE
    EXPECT_EQ(rest, r.whole);
}

}  // namespace
}  // namespace ct::forwarder
