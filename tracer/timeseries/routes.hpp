// The timeseries HTTP routes of cardano-tracer 0.5.0 (spec timeseries §4) as a pure function
// from a request to a response, like the Prometheus routes. Runs on the HTTP thread, never on
// the threads that serve nodes; a query is handed to the query service's thread and answered
// from there (a deferred response).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tracer/metrics/node_directory.hpp"
#include "tracer/metrics/routes.hpp"
#include "tracer/timeseries/query_service.hpp"
#include "tracer/timeseries/service.hpp"

namespace ct::tracer::timeseries {

struct route_context {
    service& store;
    query_service& queries;
    const metrics::node_directory& nodes;
    /// The node's NodeInfo data point as JSON (nullopt: not received).
    std::function<std::optional<std::string>(const std::string& node)> node_info;
    /// Another data point of the node as JSON (NodeStartupInfo, NodeAddBlock).
    std::function<std::optional<std::string>(const std::string& node, const std::string& name)>
        data_point;
};

metrics::http_response timeseries_route(const metrics::http_request& req, route_context& ctx);

/// http-types' parseQuery + queryToQueryText (spec §4.2): items split at '&' or ';', key and
/// value at the first '=', '+' is a space, %XY decoded (a malformed escape kept as it is);
/// an item without '=' has no value.
std::vector<std::pair<std::string, std::optional<std::string>>> parse_query(std::string_view q);

/// hapytex/slugify for the names the tracer gives nodes (spec §4.3.2): lowercase ASCII word
/// characters, runs of separators (and '_') become one '-'. Non-ASCII characters are dropped
/// (upstream first decomposes them, so an accented letter keeps its base letter there).
std::string slugify(std::string_view name);

/// Text.Encoding.decodeUtf8With lenientDecode: every byte that does not start a well-formed
/// UTF-8 sequence becomes U+FFFD.
std::string lenient_utf8(std::string_view bytes);

/// Query texts longer than this are refused with a parse error (upstream has no bound).
inline constexpr std::size_t max_query_bytes = 64 * 1024;

}  // namespace ct::tracer::timeseries
