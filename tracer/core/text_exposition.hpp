// The daemon's own metrics as Prometheus text (format 0.0.4), written straight into a string.
// prometheus-cpp keeps the registry; its TextSerializer formats every value through an
// ostream and took most of a scrape's time (86 µs for 10 nodes, and it grows with the nodes).
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace ct::tracer {

/// HELP and TYPE lines, then the samples, family by family in the given order; histograms as
/// `_bucket` (with `le`, ending at +Inf), `_sum` and `_count`; summaries with `quantile`.
/// Label values and HELP texts are escaped as the format requires.
std::string write_text_exposition(const std::vector<prometheus::MetricFamily>& families);

}  // namespace ct::tracer
