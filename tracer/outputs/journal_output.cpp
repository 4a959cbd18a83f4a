#include "tracer/outputs/journal_output.hpp"

#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "tracer/outputs/log_files.hpp"

namespace ct::tracer::outputs {

journal_output::journal_output(const writer_options& opts, output_events& events)
    : queued_output("journal", opts, events),
      stop_grace_(opts.stop_grace),
      formatter_(opts.legacy_names),
      current_(opts.sections) {}

journal_output::~journal_output() {
    begin_stop(std::chrono::steady_clock::now() + stop_grace_);
    join();
}

void journal_output::apply_options(const writer_options& o) {
    formatter_.set_legacy_names(o.legacy_names);
    current_ = o.sections;
}

void journal_output::handle_batch(shared_delivery d, bool /*past_deadline*/) {
    const auto& b = d->batch();
    const auto& sections = b.routing ? b.routing->sections() : current_;
    dispatcher::section_mask written = 0;
    // Journal sections differ only by format (logRoot means nothing there): a record goes
    // once per format, if any journal section of that format wants it.
    std::vector<std::pair<config::log_format, dispatcher::section_mask>> by_format;
    for (std::size_t i = 0; i < sections.size() && i < 64; ++i) {
        if (!serves(sections[i])) continue;
        const dispatcher::section_mask bit = dispatcher::section_mask{1} << i;
        auto it = std::find_if(by_format.begin(), by_format.end(), [&](const auto& f) {
            return f.first == sections[i].format;
        });
        if (it == by_format.end()) {
            by_format.emplace_back(sections[i].format, bit);
        } else {
            it->second |= bit;
        }
        written |= bit;
    }
    for (const auto& [format, bits] : by_format) write_section(b, format, bits);
    counters_.batches++;
    counters_.records += b.count_routed(written);
}

void journal_output::write_section(const trace_batch& b,
                                   config::log_format format,
                                   dispatcher::section_mask bits) {
    // sd_journal_sendv takes the fields as given: no printf parsing, no NUL truncation, and
    // multi-line messages stay one entry.
    for (const auto& r : b.records) {
        if (!(r.sections & bits)) continue;
        message_.clear();
        formatter_.append(b, r, format, message_);
        const std::string_view msg = message_;
        const std::string_view ns = b.ns(r).empty() ? std::string_view("noname") : b.ns(r);
        const std::string time = journal_time(r.at);
        const std::string priority = std::to_string(syslog_priority(r.sev));
        const std::string_view parts[][2] = {{"MESSAGE=", msg},
                                             {"PRIORITY=", priority},
                                             {"SYSLOG_IDENTIFIER=", b.node_name},
                                             {"NAMESPACE=", ns},
                                             {"THREAD=", b.thread(r)},
                                             {"TIME=", time}};
        fields_.clear();
        std::size_t offsets[std::size(parts) + 1] = {};
        for (std::size_t i = 0; i < std::size(parts); ++i) {
            offsets[i] = fields_.size();
            fields_.append(parts[i][0]);
            fields_.append(parts[i][1]);
        }
        offsets[std::size(parts)] = fields_.size();
        iovec iov[std::size(parts)];
        for (std::size_t i = 0; i < std::size(parts); ++i) {
            iov[i].iov_base = fields_.data() + offsets[i];
            iov[i].iov_len = offsets[i + 1] - offsets[i];
        }
        const int n = static_cast<int>(std::size(iov));
        const int rc = send_ ? send_(iov, n) : sd_journal_sendv(iov, n);
        if (rc < 0) {
            counters_.errors++;
            events_.report(std::string("cannot write to the systemd journal: ") +
                           std::strerror(-rc));
        } else {
            counters_.bytes += fields_.size();
        }
    }
}

}  // namespace ct::tracer::outputs
