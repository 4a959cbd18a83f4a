// The journal output: each record becomes one systemd journal entry (MESSAGE in the section's
// format, PRIORITY from the severity, SYSLOG_IDENTIFIER = node name, NAMESPACE, THREAD, TIME),
// on its own thread and queue, so a slow journald never holds up the files. A refused entry is
// counted and reported; it is not retried (journald itself drops under pressure, and a retry
// could duplicate an entry it did accept).
#pragma once

#include <functional>
#include <string>

struct iovec;

#include "tracer/outputs/formats.hpp"
#include "tracer/outputs/output.hpp"

namespace ct::tracer::outputs {

/// sd_journal_sendv; tests replace it to count entries or inject failures.
using journal_send = std::function<int(const iovec* iov, int n)>;

class journal_output final : public queued_output {
  public:
    journal_output(const writer_options& opts, output_events& events);
    ~journal_output() override;

    /// Fault injection for tests (empty = sd_journal_sendv); before start().
    void set_send(journal_send f) { send_ = std::move(f); }

    bool serves(const section& s) const noexcept override {
        return s.mode == config::log_mode::journal_mode;
    }

  private:
    void handle_batch(shared_delivery d, bool past_deadline) override;
    void handle_disconnect(std::uint64_t) override {}
    void apply_options(const writer_options& o) override;
    void write_section(const trace_batch& b,
                       config::log_format format,
                       dispatcher::section_mask bits);

    std::chrono::milliseconds stop_grace_;
    journal_send send_;
    record_formatter formatter_;
    std::vector<section> current_;  // for batches without a routing snapshot
    std::string message_, fields_;  // scratch, reused for every entry
};

}  // namespace ct::tracer::outputs
