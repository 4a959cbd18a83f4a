// The OTLP benchmark's receiver: an HTTP/1.1 sink that reads each request body (Content-Length)
// and answers 200 on the same kept-alive connection, one thread per connection, so that the
// receiver costs next to nothing and the daemon is what bench/otlp_bench.py measures.
// Usage: otlp_sink PORT (prints "listening" when it accepts connections; runs until killed).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

void serve(int fd) {
    std::string buf;
    buf.reserve(1 << 20);
    char chunk[1 << 16];
    static constexpr char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (;;) {
        std::size_t head_end;
        while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
            const auto n = ::read(fd, chunk, sizeof chunk);
            if (n <= 0) {
                ::close(fd);
                return;
            }
            buf.append(chunk, static_cast<std::size_t>(n));
        }
        std::size_t length = 0;
        for (std::size_t p = 0; p < head_end;) {
            const auto eol = buf.find("\r\n", p);
            if (strncasecmp(buf.c_str() + p, "content-length:", 15) == 0)
                length = std::strtoull(buf.c_str() + p + 15, nullptr, 10);
            p = eol + 2;
        }
        std::size_t have = buf.size() - (head_end + 4);
        while (have < length) {
            const auto n = ::read(fd, chunk, sizeof chunk);
            if (n <= 0) {
                ::close(fd);
                return;
            }
            have += static_cast<std::size_t>(n);
        }
        const std::size_t extra = have - length;  // the next request's first bytes
        buf.erase(0, buf.size() - extra);
        if (::write(fd, ok, sizeof ok - 1) < 0) {
            ::close(fd);
            return;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[1])));
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 64) != 0) {
        std::perror("otlp_sink");
        return 1;
    }
    std::puts("listening");
    std::fflush(stdout);
    for (;;) {
        const int c = ::accept(s, nullptr, nullptr);
        if (c >= 0) std::thread(serve, c).detach();
    }
}
