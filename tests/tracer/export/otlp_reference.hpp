// Shared by the reference test and the encoder benchmark: varied records as the daemon sees
// them, and the same request built and serialized with protoc's generated classes (grouped
// per node and host in first-seen order, as the hand-written encoder groups them).
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "otlp_logs_reference.pb.h"
#include "tracer/export/otlp_logs.hpp"

namespace ct::test::otlp_reference {

struct owned_record {
    std::string node, host, body, ns, thread;
    std::uint64_t time_ns = 0, observed_ns = 0;
    protocol::severity sev = protocol::severity::info;
    protocol::detail_level detail = protocol::detail_level::normal;
    tracer::exporting::otlp_log_record view() const {
        return {time_ns, observed_ns, sev, body, ns, thread, detail};
    }
};

inline std::vector<owned_record> sample_records(std::mt19937& rng, int n) {
    static const char* nodes[] = {"relay-1", "relay-2", "bp", ""};
    static const char* namespaces[] = {"ChainDB.AddBlockEvent.AddedToCurrentChain",
                                       "BlockFetch.Client.CompletedBlockFetch",
                                       "Mempool.AddedTx",
                                       ""};
    std::vector<owned_record> out;
    for (int i = 0; i < n; ++i) {
        owned_record r;
        r.node = nodes[rng() % 4];
        r.host = rng() % 5 == 0 ? "other-host" : "simhost";
        const std::size_t size = rng() % 7 == 0 ? rng() % 20000 : rng() % 600;
        r.body = "{\"at\":\"2026-12-06T15:06:27Z\",\"data\":\"";
        for (std::size_t k = 0; k < size; ++k)
            r.body.push_back(static_cast<char>('a' + rng() % 26));
        r.body += rng() % 9 == 0 ? "é€\"}" : "\"}";
        if (rng() % 17 == 0) r.body.clear();
        r.ns = namespaces[rng() % 4];
        r.thread = std::to_string(rng() % 200);
        r.time_ns = rng() % 11 == 0 ? 0 : 1'700'000'000'000'000'000ull + rng();
        r.observed_ns = rng() % 13 == 0 ? 0 : r.time_ns + rng() % 1000;
        r.sev = protocol::all_severities[rng() % 8];
        r.detail = static_cast<protocol::detail_level>(rng() % 4);
        out.push_back(std::move(r));
    }
    return out;
}

inline void set_attribute(ct_reference::otlp::KeyValue* kv,
                          const std::string& key,
                          const std::string& value) {
    kv->set_key(key);
    kv->mutable_value()->set_string_value(value);
}

/// protoc's bytes for the request the hand-written encoder builds from the same records.
inline std::string serialize_with_protoc(const std::vector<owned_record>& records,
                                         const std::map<std::string, std::string>& attributes) {
    ct_reference::otlp::ExportLogsServiceRequest request;
    std::vector<std::pair<std::string, std::string>> order;  // (node, host) groups
    std::vector<ct_reference::otlp::ScopeLogs*> scopes;
    for (const auto& r : records) {
        std::size_t g = 0;
        while (g < order.size() && order[g] != std::make_pair(r.node, r.host)) ++g;
        if (g == order.size()) {
            order.emplace_back(r.node, r.host);
            auto* rl = request.add_resource_logs();
            std::vector<std::pair<std::string, std::string>> attrs{{"service.name", "cardano-node"},
                                                                   {"service.instance.id", r.node},
                                                                   {"host.name", r.host}};
            for (const auto& [k, v] : attributes) {
                bool replaced = false;
                for (auto& a : attrs) {
                    if (a.first == k) {
                        a.second = v;
                        replaced = true;
                    }
                }
                if (!replaced) attrs.emplace_back(k, v);
            }
            for (const auto& [k, v] : attrs)
                set_attribute(rl->mutable_resource()->add_attributes(), k, v);
            auto* sl = rl->add_scope_logs();
            sl->mutable_scope()->set_name("cardano-tracer");
            scopes.push_back(sl);
        }
        auto* lr = scopes[g]->add_log_records();
        lr->set_time_unix_nano(r.time_ns);
        lr->set_observed_time_unix_nano(r.observed_ns);
        lr->set_severity_number(tracer::exporting::otlp_severity_number(r.sev));
        lr->set_severity_text(std::string(protocol::severity_name(r.sev)));
        lr->mutable_body()->set_string_value(r.body);
        set_attribute(lr->add_attributes(), "namespace", r.ns);
        set_attribute(lr->add_attributes(), "thread", r.thread);
        set_attribute(
            lr->add_attributes(), "detail", std::string(protocol::detail_level_name(r.detail)));
    }
    return request.SerializeAsString();
}

}  // namespace ct::test::otlp_reference
