// An exporter's on-disk buffer (`spillDir`): sealed OTLP requests that do not fit the memory
// queue, or that are still queued at shutdown, are written here as files, one per request, and
// sent in order by the sender, also after a restart. Bounded by `spillMaxBytes`. Each file is
// written under a temporary name and renamed, so a crash never leaves half a request behind.
// Not thread-safe: the exporter calls it under its lock (reading a file is static).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace ct::tracer::exporting {

class otlp_spill {
  public:
    struct entry {
        std::string path;
        std::uint64_t records = 0;
        bool json = false;  // the request's encoding (files outlive a configuration)
        std::uint64_t size = 0;
        std::uint64_t seq = 0;  // the order of sending
    };

    /// Creates the directory when missing and takes over the files a previous run left.
    otlp_spill(std::string dir, std::uint64_t max_bytes);

    /// A problem with the directory (it cannot be created or read), or empty.
    const std::string& problem() const { return problem_; }
    bool empty() const { return files_.empty(); }
    std::uint64_t bytes() const { return bytes_; }
    std::size_t files() const { return files_.size(); }

    /// Writes one request behind the others (or, `front`, before them: a request older than
    /// everything on disk); false (with `problem`) when it does not fit or cannot be written.
    bool write(std::string_view body,
               std::uint64_t records,
               bool json,
               std::string& problem,
               bool front = false);
    /// The oldest request, without taking it.
    std::optional<entry> oldest() const;
    /// The request's body; false when the file cannot be read.
    static bool read(const entry& e, std::string& body);
    /// Deletes the oldest request (sent, or refused for good).
    void remove_oldest();

  private:
    std::string dir_;
    std::uint64_t max_bytes_;
    std::uint64_t bytes_ = 0;
    // Sequence numbers start high so that requests can also be put before the first one.
    std::uint64_t next_seq_ = 1'000'000'000'000;
    std::deque<entry> files_;
    std::string problem_;
};

}  // namespace ct::tracer::exporting
