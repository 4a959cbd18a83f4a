#include "tracer/metrics/routes.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ct::tracer::metrics {
namespace {

// Request headers (Host, X-Forwarded-Host) are hostile text: bytes that are not UTF-8 become
// U+FFFD instead of an exception.
std::string to_text(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

constexpr const char* text_plain = "text/plain;charset=utf-8";
constexpr const char* html = "text/html;charset=utf-8";
constexpr const char* json_type = "application/json";

// Upstream negotiates by substring search; a request without Accept counts as JSON.
bool wants_json(const http_request& r) {
    return !r.has_accept || r.accept.find("application/json") != std::string::npos;
}

std::vector<std::string> segments(const std::string& target) {
    std::string path = target.substr(0, target.find('?'));
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        const auto j = path.find('/', i);
        const auto seg = path.substr(i, j == std::string::npos ? std::string::npos : j - i);
        if (!seg.empty()) out.push_back(seg);
        if (j == std::string::npos) break;
        i = j;
    }
    return out;
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out.push_back(c);
        }
    }
    return out;
}

http_response listing(const http_request& req,
                      const node_directory& nodes,
                      const std::string& title) {
    const auto list = nodes.list();
    if (wants_json(req)) {
        nlohmann::json j = nlohmann::json::object();
        for (const auto& n : list) j[n.name] = "/" + n.slug;
        return {200, json_type, to_text(j)};
    }
    if (list.empty()) return {200, html, "There are no connected nodes yet."};
    std::string body = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + title +
                       "</title></head><body><ul>";
    for (const auto& n : list)
        body += "<li><a href=\"/" + n.slug + "\">" + html_escape(n.name) + "</a></li>";
    body += "</ul></body></html>";
    return {200, html, std::move(body)};
}

// EKG JSON: names split on '.', leaves {"type":"c|g|l","val":…}.
nlohmann::json ekg_leaf(const metric_value& m) {
    switch (m.kind) {
        case protocol::metric_kind::counter:
            return {{"type", "c"}, {"val", m.number}};
        case protocol::metric_kind::gauge:
            return {{"type", "g"}, {"val", m.number}};
        case protocol::metric_kind::label:
            return {{"type", "l"}, {"val", m.text}};
    }
    return nullptr;
}

nlohmann::json ekg_tree(const metric_snapshot& metrics) {
    nlohmann::json root = nlohmann::json::object();
    for (const auto& [name, m] : metrics) {
        nlohmann::json* node = &root;
        std::size_t start = 0;
        bool ok = true;
        for (;;) {
            const auto dot = name.find('.', start);
            const std::string part =
                name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
            if (dot == std::string::npos) {
                if (node->is_object()) (*node)[part] = ekg_leaf(m);
                break;
            }
            auto& child = (*node)[part];
            if (child.is_null()) child = nlohmann::json::object();
            if (!child.is_object() || child.contains("type")) {
                ok = false;  // a metric name is also a prefix of another: keep the first
                break;
            }
            node = &child;
            start = dot + 1;
        }
        (void)ok;
    }
    return root;
}

const char* ekg_page =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>EKG metrics</title>"
    "<style>body{font-family:sans-serif}td{padding:2px "
    "8px}tr:nth-child(even){background:#eee}</style>"
    "</head><body><h1 id=\"t\">EKG metrics</h1><table id=\"m\"></table><script>\n"
    "function flat(o,p,out){for(const k in o){const v=o[k],n=p?p+'.'+k:k;"
    "if(v&&typeof v==='object'&&'type' in v&&'val' in v)out.push([n,v.val]);else "
    "flat(v,n,out);}return out;}\n"
    "async function tick(){try{const r=await "
    "fetch(location.pathname,{headers:{Accept:'application/json'}});"
    "const rows=flat(await r.json(),'',[]).sort();const "
    "t=document.getElementById('m');t.textContent='';"
    "for(const [n,v] of rows){const "
    "tr=t.insertRow();tr.insertCell().textContent=n;tr.insertCell().textContent=v;}}"
    "catch(e){}}\ntick();setInterval(tick,1000);\n</script></body></html>";

}  // namespace

http_response prometheus_route(const http_request& req, const prometheus_context& ctx) {
    const auto segs = segments(req.target);
    if (segs.empty()) return listing(req, ctx.nodes, "Prometheus metrics");
    const auto& first = segs[0];
    if (first == "targets") {
        if (!wants_json(req)) return {415, text_plain, "Unsupported Media Type"};
        const std::string host = !req.forwarded_host.empty() ? req.forwarded_host : req.host;
        nlohmann::json arr = nlohmann::json::array();
        if (!host.empty()) {
            for (const auto& n : ctx.nodes.list()) {
                nlohmann::json labels = nlohmann::json::object();  // sorted keys
                for (const auto& [k, v] : ctx.sd_labels) labels[k] = v;
                labels["__metrics_path__"] = "/" + n.slug;
                labels["node_name"] = n.name;
                arr.push_back({{"targets", {host}}, {"labels", labels}});
            }
        }
        return {200, json_type, to_text(arr)};
    }
    if (first == "metrics" && segs.size() == 1) {
        // A node whose slug is "metrics" keeps its route (it was there first upstream).
        const auto nodes = ctx.nodes.list();
        const bool shadowed = std::any_of(
            nodes.begin(), nodes.end(), [](const node_entry& n) { return n.slug == "metrics"; });
        if (!shadowed) {
            multi_node_exposition all(ctx.exposition);
            for (const auto& n : nodes) {
                n.store->visit([&](const metric_snapshot& m, const series_hints& h) {
                    all.add_node(n.name, m, &h);
                });
            }
            std::string body = all.finish();
            if (ctx.own_metrics) body += ctx.own_metrics();
            return {200, "text/plain;version=0.0.4;charset=utf-8", std::move(body)};
        }
    }
    if (first == "config" && segs.size() == 1 && ctx.effective_config &&
        !ctx.nodes.find_by_slug("config")) {  // a node named "config" keeps its route
        const bool yaml = req.accept.find("application/yaml") != std::string::npos ||
                          req.accept.find("text/yaml") != std::string::npos;
        return {
            200, yaml ? "application/yaml;charset=utf-8" : json_type, ctx.effective_config(yaml)};
    }
    if (first == "healthz" && segs.size() == 1) return {200, text_plain, "ok\n"};
    if (first == "readyz" && segs.size() == 1) {
        const bool ok = !ctx.ready || ctx.ready();
        return {ok ? 200u : 503u, text_plain, ok ? "ready\n" : "not ready\n"};
    }
    if (auto node = ctx.nodes.find_by_slug(first)) {
        if (segs.size() == 2 && segs[1] == "tracer-config") {
            if (!node->tracer_config) {
                return {404,
                        json_type,
                        R"({"error":"this node has not sent Reflection.TracerConfigInfo"})"};
            }
            return {200, json_type, *node->tracer_config};
        }
        const bool openmetrics =
            !req.has_accept || req.accept.find("application/openmetrics-text") != std::string::npos;
        std::string body;
        node->store->visit([&](const metric_snapshot& m, const series_hints& h) {
            body = render_node(m, ctx.exposition, &h);
        });
        return {200,
                openmetrics ? "application/openmetrics-text;version=1.0.0;charset=utf-8"
                            : "text/plain;version=0.0.4;charset=utf-8",
                std::move(body)};
    }
    return {404, text_plain, "Not found: " + first};
}

http_response ekg_route(const http_request& req,
                        const node_directory& nodes,
                        const config::metric_alias_table* aliases) {
    const auto segs = segments(req.target);
    if (segs.empty()) return listing(req, nodes, "EKG metrics");
    auto node = nodes.find_by_slug(segs[0]);
    if (!node) return {404, text_plain, "Not found: \"" + segs[0] + "\""};
    // ekg-wai answers JSON when application/json is the first-ranked type.
    const bool json = req.accept.rfind("application/json", 0) == 0;
    if (!json) return {200, html, ekg_page};
    auto snap = node->store->snapshot();
    if (aliases && !aliases->empty()) add_aliases(snap, *aliases);
    if (segs.size() == 1) return {200, json_type, to_text(ekg_tree(snap))};
    std::string name;
    for (std::size_t i = 1; i < segs.size(); ++i) name += (i > 1 ? "." : "") + segs[i];
    auto it = snap.find(name);
    if (it == snap.end()) return {404, json_type, "\"Metric not found\""};
    return {200, json_type, to_text(ekg_leaf(it->second))};
}

}  // namespace ct::tracer::metrics
