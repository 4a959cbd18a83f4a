// Prometheus remote write 1.0 (prompb WriteRequest, protobuf, snappy block format): the
// samples of text-format pages, encoded by hand (four small messages; no protoc at build
// time) and compressed with Debian's libsnappy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ct::tracer::exporting {

using labels = std::vector<std::pair<std::string, std::string>>;

/// One series' current value: its labels include `__name__` and are sorted by name.
struct sample {
    labels series;
    double value = 0;
};

/// A label value or HELP text of the text format with its escapes (\\, \", \n) undone.
std::string text_format_unescape(std::string_view s);

/// The samples of a Prometheus text-format page (comments and `# EOF` skipped), each with
/// `extra` labels added (a label the page already has is kept as the page has it).
void append_samples(std::string_view page, const labels& extra, std::vector<sample>& out);

/// prompb.WriteRequest of the samples, all at `timestamp_ms`, as protobuf bytes.
std::string encode_write_request(const std::vector<sample>& samples, std::int64_t timestamp_ms);

/// Snappy's block format (what remote write sends as Content-Encoding: snappy).
std::string snappy_compress(std::string_view raw);

}  // namespace ct::tracer::exporting
