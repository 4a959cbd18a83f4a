// The floor for the ingest benchmark (issue 12): a socket-to-file relay that parses nothing.
// It accepts the nodes' connections on a Unix socket, answers the handshake (the only bytes it
// decodes), keeps trace-object requests flowing without reading the replies (one request per
// --request-every bytes received, so requests stay ahead of the node), reads 64 KiB at a time
// and writes everything it receives, mux headers included, to one file in 1 MiB writes. Its CPU
// per object is what any collector pays to move these bytes from a socket to a file.
//
// On this VM (a balloon with free page reporting), 1 MiB writes sometimes cost 2-5x more: the
// kernel fills them with large folios taken from memory the host had discarded, and the first
// touch of each faults in the host (perf: ~80 % in copy_folio_from_iter_atomic). WRITE_BYTES
// 65536 is steady (docs/benchmarks.md).
//
// usage: floor_relay SOCKET OUT_FILE CONNECTIONS [MAGIC] [REQUEST_EVERY_BYTES] [WRITE_BYTES]
// Exits when CONNECTIONS connections have come and gone; prints {"bytes","cpu_seconds"}.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "protocol/handshake.hpp"
#include "protocol/sdu.hpp"
#include "protocol/trace_objects_codec.hpp"

namespace proto = ct::protocol;

namespace {

[[noreturn]] void die(const char* what) {
    std::perror(what);
    std::exit(1);
}

bool read_exact(int fd, char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t r = ::read(fd, p, n);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

void write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t r = ::write(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die("write");
        p += r;
        n -= static_cast<std::size_t>(r);
    }
}

// Answers the node's ProposeVersions (one small SDU) with AcceptVersion.
bool handshake(int fd, std::uint32_t magic) {
    char head[proto::sdu_header_size];
    if (!read_exact(fd, head, sizeof head)) return false;
    const auto h = proto::decode_sdu_header(head);
    std::string proposal(h.length, '\0');
    if (!read_exact(fd, proposal.data(), proposal.size())) return false;
    const auto decision = proto::decide_handshake(proposal, magic);
    std::string out;
    proto::append_sdus(out, proto::mini_protocol::handshake, true, decision.reply_payload, 0);
    write_all(fd, out.data(), out.size());
    return decision.accepted;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(
            stderr,
            "usage: floor_relay SOCKET OUT_FILE CONNECTIONS [MAGIC] [EVERY] [WRITE_BYTES]\n");
        return 2;
    }
    const std::string path = argv[1];
    const int out = ::open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) die("open");
    const int connections = std::atoi(argv[3]);
    const auto magic = static_cast<std::uint32_t>(argc > 4 ? std::atol(argv[4]) : 42);
    const std::size_t every = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 32768;
    const std::size_t write_bytes = argc > 6 ? std::strtoul(argv[6], nullptr, 10) : 1u << 20;

    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    ::unlink(path.c_str());
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
    if (::listen(listener, 1024) != 0) die("listen");

    std::string request;
    proto::append_sdus(request,
                       proto::mini_protocol::trace_objects,
                       true,
                       proto::encode_trace_objects_request(false, 100),
                       0);
    struct peer {
        int fd;
        std::size_t since_request = 0;
    };
    std::vector<peer> peers;
    std::vector<pollfd> fds;
    std::vector<char> chunk(64 * 1024);
    std::string pending;
    pending.reserve(2 << 20);
    std::size_t total = 0;
    int accepted = 0, closed = 0;
    while (closed < connections) {
        fds.clear();
        if (accepted < connections) fds.push_back({listener, POLLIN, 0});
        for (auto& p : peers) fds.push_back({p.fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        const std::size_t first_peer = accepted < connections ? 1 : 0;
        std::size_t i = 0;
        if (first_peer == 1) {
            if (fds[0].revents & POLLIN) {
                const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd >= 0) {
                    ++accepted;
                    if (handshake(fd, magic)) {
                        // Two requests ahead, then one per `every` bytes received.
                        write_all(fd, request.data(), request.size());
                        write_all(fd, request.data(), request.size());
                        peers.push_back({fd});
                    } else {
                        ::close(fd);
                        ++closed;
                    }
                }
            }
            i = 1;
        }
        std::vector<int> gone;
        for (; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            auto& p = peers[i - first_peer];
            const ssize_t n = ::read(p.fd, chunk.data(), chunk.size());
            if (n <= 0) {
                gone.push_back(p.fd);
                continue;
            }
            total += static_cast<std::size_t>(n);
            pending.append(chunk.data(), static_cast<std::size_t>(n));
            if (pending.size() >= write_bytes) {
                write_all(out, pending.data(), pending.size());
                pending.clear();
            }
            p.since_request += static_cast<std::size_t>(n);
            while (p.since_request >= every) {
                p.since_request -= every;
                // Never blocks: when the node is this far behind, enough requests are queued.
                if (::send(p.fd, request.data(), request.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                    break;
            }
        }
        for (int fd : gone) {
            ::close(fd);
            ++closed;
            std::erase_if(peers, [fd](const peer& p) { return p.fd == fd; });
        }
    }
    write_all(out, pending.data(), pending.size());
    ::close(out);
    ::unlink(path.c_str());
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    std::printf("{\"bytes\":%zu,\"cpu_seconds\":%.6f}\n", total, cpu);
    return 0;
}
