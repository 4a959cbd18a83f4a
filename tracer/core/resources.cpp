#include "tracer/core/resources.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ct::tracer {

nlohmann::json sample_resources() {
    long ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0) ticks = 100;
    unsigned long long utime = 0, stime = 0, rss_pages = 0, threads = 0, blkio = 0;
    {
        std::ifstream in("/proc/self/stat");
        std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        // Fields after the command name (which may contain spaces) start after ") ".
        auto close = all.rfind(')');
        std::istringstream ss(close == std::string::npos ? std::string() : all.substr(close + 2));
        std::string f;
        for (int i = 3; ss >> f; ++i) {
            if (i == 14) utime = std::stoull(f);
            if (i == 15) stime = std::stoull(f);
            if (i == 20) threads = std::stoull(f);
            if (i == 24) rss_pages = std::stoull(f);
            if (i == 42) blkio = std::stoull(f);
        }
    }
    unsigned long long rd = 0, wr = 0;
    {
        std::ifstream in("/proc/self/io");
        std::string key;
        unsigned long long v;
        while (in >> key >> v) {
            if (key == "read_bytes:") rd = v;
            if (key == "write_bytes:") wr = v;
        }
    }
    std::size_t fds = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
        ++fds;
    }
    const auto centi = [&](unsigned long long t) {
        return t * 100 / static_cast<unsigned long long>(ticks);
    };
    const unsigned long long rss =
        rss_pages * static_cast<unsigned long long>(sysconf(_SC_PAGESIZE));
    return {{"kind", "ResourceStats"},
            {"CentiCpu", centi(utime + stime)},
            {"CentiGC", 0},
            {"CentiMut", centi(utime + stime)},
            {"GcsMajor", 0},
            {"GcsMinor", 0},
            {"Alloc", 0},
            {"Live", rss},
            {"Heap", rss},
            {"RSS", rss},
            {"CentiBlkIO", centi(blkio)},
            {"NetRd", 0},
            {"NetWr", 0},
            {"FsRd", rd},
            {"FsWr", wr},
            {"Threads", threads},
            {"OpenFiles", fds}};
}

std::size_t resident_anonymous_bytes() {
    // statm: size resident shared ... in pages; resident minus shared (file-backed) pages is
    // the anonymous memory.
    std::size_t bytes = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        unsigned long size = 0, resident = 0, shared = 0;
        if (std::fscanf(f, "%lu %lu %lu", &size, &resident, &shared) == 3 && resident > shared) {
            bytes = (resident - shared) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        }
        std::fclose(f);
    }
    return bytes;
}

}  // namespace ct::tracer
