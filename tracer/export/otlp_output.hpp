// The OTLPMode output: every OTLPMode section's records go through here, to the exporter of
// that section's `otlp` settings (sections with equal settings share one). Bodies are the
// section's format of the record, as a file of that format would hold it (without the
// newline). A reload starts the exporters of new settings; exporters no longer configured
// finish what they hold (until the stop grace) on their own threads.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tracer/export/otlp_exporter.hpp"
#include "tracer/outputs/formats.hpp"
#include "tracer/outputs/output.hpp"

namespace ct::tracer::exporting {

/// One exporter's figures, for the metrics code.
struct otlp_exporter_stats {
    std::string endpoint;  // shown (no user information)
    std::uint64_t exported = 0, requests = 0, bytes = 0, retries = 0, dropped = 0, failed = 0,
                  lost = 0, queued = 0, queued_bytes = 0, spilled = 0, spill_bytes = 0;
};

class otlp_output final : public outputs::queued_output {
  public:
    otlp_output(const outputs::writer_options& opts, outputs::output_events& events);
    ~otlp_output() override;

    bool serves(const outputs::section& s) const noexcept override {
        return s.mode == config::log_mode::otlp_mode;
    }
    /// Every exporter now configured, and those still finishing after a reload.
    std::vector<otlp_exporter_stats> stats() const;

  private:
    void handle_batch(outputs::shared_delivery d, bool past_deadline) override;
    void handle_disconnect(std::uint64_t) override {}
    void apply_options(const outputs::writer_options& o) override;
    void tick(bool stopping, bool past_deadline) override;
    std::chrono::steady_clock::time_point next_wake() const override;
    bool has_backlog() const override;
    void at_exit() override;

    void configure(const outputs::writer_options& o);
    void flush_all(bool now_all);
    std::unique_ptr<otlp_exporter> make_exporter(const config::otlp_settings& s);
    /// Keeps the settings of every key seen (the latest 64), for late batches.
    void remember(const std::string& key, const config::otlp_settings& s);
    /// The exporter of that settings key, configured or retiring; nullptr when gone.
    otlp_exporter* find_exporter(const std::string& key);

    std::chrono::milliseconds stop_grace_;
    outputs::record_formatter formatter_;
    std::vector<outputs::section> current_;  // for batches without a routing snapshot
    mutable std::mutex exporters_mutex_;     // the maps below change on the output thread only
    std::map<std::string, std::unique_ptr<otlp_exporter>> exporters_;  // by settings key
    struct retiring {
        std::string key;
        std::unique_ptr<otlp_exporter> exporter;
        std::chrono::steady_clock::time_point deadline;  // then it gives up what it holds
    };
    std::vector<retiring> retiring_;
    std::deque<std::pair<std::string, config::otlp_settings>> known_;  // output thread only
    std::string body_;                                                 // scratch
};

}  // namespace ct::tracer::exporting
