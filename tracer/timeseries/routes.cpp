#include "tracer/timeseries/routes.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "tracer/timeseries/aeson_number.hpp"

namespace ct::tracer::timeseries {

namespace {

using metrics::http_request;
using metrics::http_response;

constexpr const char* malformed_type = "text/plain;charset=utf-8";

http_response ok() { return {200, "", ""}; }
http_response not_found() { return {404, "", ""}; }
http_response malformed() { return {400, malformed_type, "Malformed input"}; }
http_response json(const nlohmann::json& j) { return {200, "application/json", j.dump()}; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
                   hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::optional<std::string> lookup(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& items,
    std::string_view key) {
    for (const auto& [k, v] : items) {
        if (k == key) return v;
    }
    return std::nullopt;
}

// The first valid duration item of the URL query (spec §4.5), in milliseconds.
std::optional<std::uint64_t> duration_item(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& items) {
    static const std::vector<std::pair<std::string_view, std::uint64_t>> units{
        {"milliseconds", 1},
        {"seconds", 1000},
        {"minutes", 60'000},
        {"hours", 3'600'000},
        {"days", 86'400'000}};
    for (const auto& [key, value] : items) {
        if (!value || value->empty()) continue;
        std::uint64_t scale = 0;
        for (const auto& [name, ms] : units) {
            if (key == name) scale = ms;
        }
        if (scale == 0) continue;
        bool digits = true;
        std::uint64_t n = 0;
        for (char c : *value) {
            if (c < '0' || c > '9') {
                digits = false;
                break;
            }
            n = n * 10 + static_cast<std::uint64_t>(c - '0');  // Word64: wraps as upstream
        }
        if (digits) return n * scale;
    }
    return std::nullopt;
}

std::vector<std::string> path_segments(std::string_view path) {
    std::vector<std::string> out;
    if (path.empty() || path.front() != '/') return out;
    path.remove_prefix(1);
    for (;;) {
        const auto slash = path.find('/');
        out.push_back(url_decode(path.substr(0, slash), false));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

// Seconds since the epoch of an aeson UTCTime text "YYYY-MM-DDTHH:MM:SS[.f]Z".
std::optional<double> utc_seconds(const std::string& text) {
    std::tm tm{};
    int consumed = 0;
    if (std::sscanf(text.c_str(),
                    "%4d-%2d-%2dT%2d:%2d:%2d%n",
                    &tm.tm_year,
                    &tm.tm_mon,
                    &tm.tm_mday,
                    &tm.tm_hour,
                    &tm.tm_min,
                    &tm.tm_sec,
                    &consumed) < 6)
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    double fraction = 0;
    if (static_cast<std::size_t>(consumed) < text.size() &&
        text[static_cast<std::size_t>(consumed)] == '.')
        fraction = std::strtod(text.c_str() + consumed, nullptr);
    return static_cast<double>(timegm(&tm)) + fraction;
}

// The named node whose slug this is (the first in the list, as upstream's dictionary).
std::optional<std::string> node_of_slug(const std::string& slug, route_context& ctx) {
    for (const auto& n : ctx.nodes.list()) {
        if (slugify(n.name) == slug) return n.name;
    }
    return std::nullopt;
}

http_response node_info_route(const std::string& slug, route_context& ctx) {
    const auto node = node_of_slug(slug, ctx);
    if (!node) return not_found();
    const auto info = ctx.node_info ? ctx.node_info(*node) : std::nullopt;
    if (!info) return not_found();
    auto j = nlohmann::json::parse(*info, nullptr, false);
    if (!j.is_object()) return not_found();
    nlohmann::json out;  // the NodeInfo fields, keys sorted (nlohmann's default), + uptime
    for (const char* key :
         {"niCommit", "niName", "niProtocol", "niStartTime", "niSystemStartTime", "niVersion"}) {
        if (!j.contains(key)) return not_found();
        out[key] = j[key];
    }
    if (!j["niStartTime"].is_string()) return not_found();
    const auto start = utc_seconds(j["niStartTime"].get<std::string>());
    if (!start) return not_found();
    const double uptime = static_cast<double>(now_ms()) / 1000.0 - *start;
    out["uptimeSeconds"] = static_cast<std::int64_t>(std::nearbyint(uptime));  // half to even
    return json(out);
}

std::optional<nlohmann::json> data_point_json(const std::string& slug,
                                              const std::string& name,
                                              route_context& ctx) {
    const auto node = node_of_slug(slug, ctx);
    if (!node || !ctx.data_point) return std::nullopt;
    const auto text = ctx.data_point(*node, name);
    if (!text) return std::nullopt;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

http_response startup_route(const std::string& slug, route_context& ctx) {
    const auto j = data_point_json(slug, "NodeStartupInfo", ctx);
    if (!j || !j->is_object()) return not_found();
    // NodeStartupInfo re-encoded: these four fields, keys sorted.
    nlohmann::json out;
    for (const char* key : {"suiEpochLength", "suiEra", "suiSlotLength", "suiSlotsPerKESPeriod"}) {
        if (!j->contains(key)) return not_found();
        out[key] = (*j)[key];
    }
    if (!out["suiEra"].is_string() || !out["suiSlotLength"].is_number() ||
        !out["suiEpochLength"].is_number_unsigned() ||
        !out["suiSlotsPerKESPeriod"].is_number_unsigned())
        return not_found();
    std::string body = "{\"suiEpochLength\":" + out["suiEpochLength"].dump() +
                       ",\"suiEra\":" + out["suiEra"].dump() +
                       ",\"suiSlotLength\":" + aeson_number(out["suiSlotLength"].get<double>()) +
                       ",\"suiSlotsPerKESPeriod\":" + out["suiSlotsPerKESPeriod"].dump() + "}";
    return {200, "application/json", std::move(body)};
}

http_response sync_progress_route(const std::string& slug, route_context& ctx) {
    // {"tag":"NodeAddBlock","contents":[_, _, percentage]}
    const auto j = data_point_json(slug, "NodeAddBlock", ctx);
    if (!j || !j->is_object() || j->value("tag", "") != "NodeAddBlock") return not_found();
    const auto it = j->find("contents");
    if (it == j->end() || !it->is_array() || it->size() != 3 || !(*it)[2].is_number())
        return not_found();
    return {
        200, "application/json", "{\"syncProgress\":" + aeson_number((*it)[2].get<double>()) + "}"};
}

}  // namespace

std::string lenient_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    const std::string_view replacement = "\xEF\xBF\xBD";
    for (std::size_t i = 0; i < bytes.size();) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        std::size_t len = 0;
        char32_t min = 0;
        if (b < 0x80) {
            len = 1;
        } else if ((b >> 5) == 6) {
            len = 2;
            min = 0x80;
        } else if ((b >> 4) == 14) {
            len = 3;
            min = 0x800;
        } else if ((b >> 3) == 30) {
            len = 4;
            min = 0x10000;
        }
        bool ok = len > 0 && i + len <= bytes.size();
        char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto cont = static_cast<unsigned char>(bytes[i + k]);
            ok = (cont & 0xC0) == 0x80;
            c = (c << 6) | (cont & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not well formed.
        if (ok && len > 1) ok = c >= min && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
        if (ok) {
            out.append(bytes.substr(i, len));
            i += len;
        } else {
            out.append(replacement);
            ++i;
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::optional<std::string>>> parse_query(std::string_view q) {
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    if (!q.empty() && q.front() == '?') q.remove_prefix(1);
    while (!q.empty()) {
        const auto end = q.find_first_of("&;");
        const auto item = q.substr(0, end);
        if (!item.empty()) {
            const auto eq = item.find('=');
            if (eq == std::string_view::npos) {
                out.emplace_back(url_decode(item, true), std::nullopt);
            } else {
                out.emplace_back(url_decode(item.substr(0, eq), true),
                                 url_decode(item.substr(eq + 1), true));
            }
        }
        if (end == std::string_view::npos) break;
        q.remove_prefix(end + 1);
    }
    return out;
}

std::string slugify(std::string_view name) {
    std::string out;
    bool pending_separator = false;
    for (unsigned char c : name) {
        const bool word =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        const bool separator = c == '-' || c == '_' || c == ' ' || (c >= 0x09 && c <= 0x0d) ||
                               (c >= 0x1c && c <= 0x1f);
        if (word) {
            if (pending_separator && !out.empty()) out.push_back('-');
            pending_separator = false;
            out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
        } else if (separator) {
            pending_separator = true;
        }
    }
    return out;
}

http_response timeseries_route(const http_request& req, route_context& ctx) {
    const auto qmark = req.target.find('?');
    const auto segs = path_segments(std::string_view(req.target).substr(0, qmark));
    const auto url_query = qmark == std::string::npos
                               ? decltype(parse_query("")){}
                               : parse_query(std::string_view(req.target).substr(qmark + 1));
    const bool get = req.method == "GET", post = req.method == "POST";
    if (segs.empty() || segs[0] != "timeseries") return not_found();

    if (segs.size() == 2 && segs[1] == "query" && (get || post)) {
        const auto items = post ? parse_query(req.body) : url_query;
        const auto query = lookup(items, "query");
        if (!query) return malformed();
        // `time` in seconds, read as Data.Text.Read.double; absent or invalid: the clock.
        std::uint64_t now = ctx.store.now_ms();
        if (const auto time = lookup(items, "time"); time) {
            if (const auto seconds = read_double(*time); seconds && std::isfinite(*seconds)) {
                const double ms = std::nearbyint(*seconds * 1000);  // round half to even
                if (std::fabs(ms) < 9.2e18)
                    now = static_cast<std::uint64_t>(static_cast<std::int64_t>(ms));  // wraps
            }
        }
        auto text = lenient_utf8(*query);
        if (text.size() > max_query_bytes) {
            return {400,
                    "application/json",
                    "{\"error\":" +
                        query::json_string("While executing, parsing error: the query is longer "
                                           "than " +
                                           std::to_string(max_query_bytes) + " bytes") +
                        ",\"errorType\":\"parse\",\"status\":\"error\"}"};
        }
        http_response deferred;
        deferred.deferred = [&queries = ctx.queries, text = std::move(text), now](
                                std::function<void(http_response)> done) mutable {
            queries.submit(std::move(text), now, [done = std::move(done)](query::query_response r) {
                done({static_cast<unsigned>(r.status), "application/json", std::move(r.body)});
            });
        };
        return deferred;
    }
    if (segs.size() == 2 && segs[1] == "prune" && post) {
        ctx.store.prune_now();
        return ok();
    }
    if (segs.size() == 3 && segs[1] == "config" && segs[2] == "retention") {
        if (get) return json({{"retentionMillis", ctx.store.retention_ms()}});
        if (post) {
            const auto ms = duration_item(url_query);
            if (!ms) return not_found();  // upstream's guard falls through
            return ctx.store.set_retention(*ms) ? ok() : malformed();
        }
    }
    if (segs.size() == 3 && segs[1] == "config" && segs[2] == "pruning") {
        if (get) {
            const auto p = ctx.store.pruning_period_ms();
            return json({{"pruningPeriodMillis", p ? nlohmann::json(*p) : nlohmann::json()}});
        }
        if (post) {
            const auto ms = duration_item(url_query);
            if (ms && *ms == 0) return malformed();
            ctx.store.set_pruning(ms);
            return ok();
        }
    }
    if (segs.size() == 2 && segs[1] == "nodes" && get) {
        auto arr = nlohmann::json::array();
        for (const auto& n : ctx.nodes.list())
            arr.push_back({{"nodeName", n.name}, {"slug", slugify(n.name)}});
        return json(arr);
    }
    if (segs.size() == 4 && segs[1] == "node" && get) {
        if (segs[3] == "info") return node_info_route(segs[2], ctx);
        if (segs[3] == "startup") return startup_route(segs[2], ctx);
        if (segs[3] == "sync-progress") return sync_progress_route(segs[2], ctx);
    }
    return not_found();
}

}  // namespace ct::tracer::timeseries
