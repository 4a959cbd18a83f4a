// Scrape latency as a scraper sees it: GETs the given paths in turn over one keep-alive
// connection for a number of seconds (5 ms apart, like a scraper rather than a load
// generator) and prints p50/p99/max per path. Plain POSIX sockets so that the client's own
// cost stays far below what it measures. With CT_BENCH_RESULTS set (scripts/bench.sh), each
// path's figures are also appended there as one JSON line (bench/report.py reads them).
// Usage: scrape_bench PORT SECONDS PATH...
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

int connect_to(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("connect");
        std::exit(1);
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

// Sends one GET and reads the whole response (Content-Length framing); returns the body size
// and when its first bytes arrived.
std::size_t get(int fd, const std::string& path, clock_type::time_point& first_byte) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) std::exit(1);
    std::string buf;
    char chunk[65536];
    std::size_t header_end = std::string::npos, length = 0;
    for (;;) {
        const auto n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) {
            std::fprintf(stderr, "connection closed\n");
            std::exit(1);
        }
        if (buf.empty()) first_byte = clock_type::now();
        buf.append(chunk, static_cast<std::size_t>(n));
        if (header_end == std::string::npos) {
            header_end = buf.find("\r\n\r\n");
            if (header_end == std::string::npos) continue;
            if (buf.compare(0, 12, "HTTP/1.1 200") != 0) {
                std::fprintf(stderr, "%s: %s\n", path.c_str(), buf.substr(0, 40).c_str());
                std::exit(1);
            }
            std::string lower = buf.substr(0, header_end);
            std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
            const auto cl = lower.find("content-length:");
            if (cl == std::string::npos) std::exit(1);
            length = std::strtoull(lower.c_str() + cl + 15, nullptr, 10);
        }
        if (buf.size() >= header_end + 4 + length) return length;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: scrape_bench PORT SECONDS PATH...\n");
        return 2;
    }
    const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
    const auto seconds = std::atof(argv[2]);
    const std::vector<std::string> paths(argv + 3, argv + argc);
    const int fd = connect_to(port);
    // Whole response, and until its first bytes (the server's work and the wait for a core;
    // the difference is the transfer).
    std::map<std::string, std::vector<double>> ms, first_ms;
    std::map<std::string, std::size_t> sizes;
    const auto end = clock_type::now() + std::chrono::duration<double>(seconds);
    while (clock_type::now() < end) {
        for (const auto& p : paths) {
            const auto t0 = clock_type::now();
            clock_type::time_point first;
            sizes[p] = get(fd, p, first);
            ms[p].push_back(
                std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
            first_ms[p].push_back(std::chrono::duration<double, std::milli>(first - t0).count());
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    ::close(fd);
    std::FILE* record = nullptr;
    if (const char* path = std::getenv("CT_BENCH_RESULTS")) record = std::fopen(path, "a");
    for (const auto& p : paths) {
        auto& xs = ms[p];
        auto& fs = first_ms[p];
        std::sort(xs.begin(), xs.end());
        std::sort(fs.begin(), fs.end());
        const auto q = [](const std::vector<double>& v, double f) {
            return v[std::min(v.size() - 1,
                              static_cast<std::size_t>(f * static_cast<double>(v.size())))];
        };
        // The same figures, in the same order, for the reader and for the record.
        const auto print = [&](std::FILE* out, const char* format) {
            std::fprintf(out,
                         format,
                         p.c_str(),
                         xs.size(),
                         sizes[p],
                         q(xs, 0.5),
                         q(xs, 0.99),
                         xs.back(),
                         q(fs, 0.5),
                         q(fs, 0.99));
        };
        print(stdout,
              "scrape %s: %zu requests, %zu bytes, p50 %.2f ms, p99 %.2f ms, max %.2f ms "
              "(first byte p50 %.2f ms, p99 %.2f ms)\n");
        // The paths are the benchmark's own ("/metrics", "/node-1"): nothing to escape.
        if (record)
            print(record,
                  "{\"kind\": \"scrape\", \"route\": \"%s\", \"requests\": %zu, "
                  "\"bytes\": %zu, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
                  "\"first_p50_ms\": %.3f, \"first_p99_ms\": %.3f}\n");
    }
    if (record) std::fclose(record);
    return 0;
}
