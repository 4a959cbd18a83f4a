// OTLP metrics requests (ExportMetricsServiceRequest of opentelemetry-proto's
// collector/metrics/v1) from Prometheus text pages, the way a scrape shows them: one resource
// per page (a node's page, or the daemon's own), one Metric per family; counters become
// cumulative monotonic sums, gauges (and untyped samples) gauges, histograms histograms with
// explicit bounds. Labels become data point attributes (a label-valued EKG metric is already
// an info-style gauge on the page). Encoded by hand like the logs (protobuf in field order,
// or OTLP's JSON mapping). Pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ct::tracer::exporting {

/// One page and the resource it belongs to (attributes in order; the first wins on a clash).
struct metrics_page {
    std::vector<std::pair<std::string, std::string>> resource;
    std::string text;
};

struct otlp_metrics_options {
    bool json = false;
    std::uint64_t time_ns = 0;        // every point's time
    std::uint64_t start_time_ns = 0;  // cumulative sums and histograms count from here
};

/// The request body; `points` (optional) receives the number of data points encoded.
std::string encode_metrics_request(const std::vector<metrics_page>& pages,
                                   const otlp_metrics_options& o,
                                   std::size_t* points = nullptr);

}  // namespace ct::tracer::exporting
