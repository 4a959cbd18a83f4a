// Fuzzes HTTP request handling behind the parser: methods, paths (node slugs, percent
// escapes, dot segments), Accept and Host headers, against a directory of named nodes. Every
// answer has a status and a content type, and the exposition answers parse.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/support/prom_text_check.hpp"
#include "tracer/metrics/node_directory.hpp"
#include "tracer/metrics/routes.hpp"

namespace {

using namespace ct::tracer::metrics;

node_directory& directory() {
    static node_directory* d = [] {
        auto* nodes = new node_directory();
        const char* names[] = {"relay-1", "metrics", "bp \"x\"", "a/b", "127.0.0.1_3001"};
        std::uint64_t id = 1;
        for (const char* n : names) {
            auto store = nodes->add(id);
            nodes->set_name(id, n);
            ct::protocol::ekg_response_view r;
            r.entries.push_back(
                {"cardano.node.metrics.blockNum_int", {ct::protocol::metric_kind::gauge, 7, {}}});
            r.entries.push_back(
                {"cardano.node.build_info", {ct::protocol::metric_kind::label, 0, "{v=\"1\"} 1"}});
            store->apply(r);
            ++id;
        }
        return nodes;
    }();
    return *d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Input: method \n target \n accept \n host (missing parts are absent headers).
    std::string parts[4];
    std::size_t k = 0;
    for (std::size_t i = 0; i < size && k < 4; ++i) {
        if (data[i] == '\n') {
            ++k;
            continue;
        }
        parts[k] += static_cast<char>(data[i]);
    }
    http_request req;
    req.method = parts[0].empty() ? "GET" : parts[0];
    req.target = parts[1];
    req.has_accept = k >= 2;
    req.accept = parts[2];
    req.host = parts[3];
    prometheus_context ctx{directory(),
                           {},
                           {{"env", "fuzz"}},
                           [] { return std::string("own_metric 1\n"); },
                           [] { return true; },
                           [](bool yaml) { return std::string(yaml ? "a: 1\n" : "{}"); }};
    for (const auto& res : {prometheus_route(req, ctx), ekg_route(req, directory())}) {
        if (res.status < 100 || res.status > 599 || res.content_type.empty()) {
            std::fprintf(stderr, "bad answer %d for %s\n", res.status, req.target.c_str());
            std::abort();
        }
        if (res.status == 200 && res.content_type.starts_with("text/plain") &&
            res.body.find("# TYPE") != std::string::npos) {
            const auto problem = ct::test::check_prom_text(res.body, true);
            if (!problem.empty()) {
                std::fprintf(
                    stderr, "invalid exposition for %s: %s\n", req.target.c_str(), problem.c_str());
                std::abort();
            }
        }
    }
    return 0;
}
