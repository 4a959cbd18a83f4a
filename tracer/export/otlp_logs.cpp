#include "tracer/export/otlp_logs.hpp"

#include <algorithm>
#include <limits>

#include "protocol/json_text.hpp"
#include "tracer/export/protobuf_writer.hpp"

namespace ct::tracer::exporting {

namespace {

// Field numbers of opentelemetry-proto (logs/v1, common/v1, resource/v1).
namespace request_f {
constexpr std::uint32_t resource_logs = 1;
}
namespace resource_logs_f {
constexpr std::uint32_t resource = 1, scope_logs = 2;
}
namespace resource_f {
constexpr std::uint32_t attributes = 1;
}
namespace scope_logs_f {
constexpr std::uint32_t scope = 1, log_records = 2;
}
namespace scope_f {
constexpr std::uint32_t name = 1;
}
namespace record_f {
constexpr std::uint32_t time = 1, severity_number = 2, severity_text = 3, body = 5, attributes = 6,
                        observed_time = 11;
}
namespace key_value_f {
constexpr std::uint32_t key = 1, value = 2;
}
namespace any_value_f {
constexpr std::uint32_t string_value = 1;
}

constexpr std::string_view scope_name = "cardano-tracer";

// KeyValue{key, AnyValue{string_value}}, as a field of its parent.
void put_string_attribute(std::string& out,
                          std::uint32_t field,
                          std::string_view key,
                          std::string_view value) {
    // string_value is a oneof member: written even when empty (it says which one is set).
    const std::size_t any_size = 1 + pb::varint_size(value.size()) + value.size();
    const std::size_t kv_size = (key.empty() ? 0 : 1 + pb::varint_size(key.size()) + key.size()) +
                                1 + pb::varint_size(any_size) + any_size;
    pb::put_header(out, field, kv_size);
    if (!key.empty()) pb::put_bytes(out, key_value_f::key, key);
    pb::put_header(out, key_value_f::value, any_size);
    pb::put_bytes(out, any_value_f::string_value, value);
}

void put_json_attribute(std::string& out, std::string_view key, std::string_view value) {
    out += "{\"key\":";
    protocol::append_json_string(out, key);
    out += ",\"value\":{\"stringValue\":";
    protocol::append_json_string(out, value);
    out += "}}";
}

}  // namespace

int otlp_severity_number(protocol::severity s) {
    switch (s) {
        case protocol::severity::debug:
            return 5;
        case protocol::severity::info:
            return 9;
        case protocol::severity::notice:
            return 10;
        case protocol::severity::warning:
            return 13;
        case protocol::severity::error:
            return 17;
        case protocol::severity::critical:
            return 18;
        case protocol::severity::alert:
            return 21;
        case protocol::severity::emergency:
            return 22;
    }
    return 0;
}

std::uint64_t unix_nanos(const protocol::utc_time& t) {
    if (t.seconds < 0) return 0;
    constexpr std::uint64_t max_seconds =
        std::numeric_limits<std::uint64_t>::max() / 1'000'000'000 - 1;
    if (static_cast<std::uint64_t>(t.seconds) > max_seconds)
        return std::numeric_limits<std::uint64_t>::max();
    return static_cast<std::uint64_t>(t.seconds) * 1'000'000'000 + t.picoseconds / 1000;
}

otlp_logs_request::otlp_logs_request(encoding enc, std::map<std::string, std::string> attributes)
    : enc_(enc), attributes_(std::move(attributes)) {}

otlp_logs_request::group& otlp_logs_request::group_for(std::string_view node,
                                                       std::string_view host) {
    if (last_ < groups_.size() && groups_[last_].node == node && groups_[last_].host == host)
        return groups_[last_];
    for (std::size_t i = 0; i < groups_.size(); ++i) {
        if (groups_[i].node == node && groups_[i].host == host) {
            last_ = i;
            return groups_[i];
        }
    }
    last_ = groups_.size();
    auto& g = groups_.emplace_back();
    g.node = node;
    g.host = host;
    g.records.reserve(typical_group_bytes_);  // no regrowth copies for a usual request
    return g;
}

void otlp_logs_request::add(std::string_view node,
                            std::string_view host,
                            const otlp_log_record& r) {
    auto& g = group_for(node, host);
    const std::size_t before = g.records.size();
    if (enc_ == encoding::protobuf) {
        // Straight into the group: the record's size is known before it is written.
        pb::put_header(g.records, scope_logs_f::log_records, protobuf_size(r));
        encode_protobuf(g.records, r);
    } else {
        if (g.count > 0) g.records.push_back(',');
        encode_json(g.records, r);
    }
    ++g.count;
    ++records_;
    bytes_ += g.records.size() - before;
}

namespace {

std::size_t string_field_size(std::size_t n) { return 1 + pb::varint_size(n) + n; }

// KeyValue{key, AnyValue{string_value}} as a field: its whole size.
std::size_t attribute_size(std::string_view key, std::string_view value) {
    const std::size_t any = string_field_size(value.size());
    const std::size_t kv =
        (key.empty() ? 0 : string_field_size(key.size())) + 1 + pb::varint_size(any) + any;
    return 1 + pb::varint_size(kv) + kv;
}

}  // namespace

std::size_t otlp_logs_request::protobuf_size(const otlp_log_record& r) {
    const std::size_t body_any = string_field_size(r.body.size());
    return (r.time_ns != 0 ? 9 : 0) + 1 +
           pb::varint_size(static_cast<std::uint64_t>(otlp_severity_number(r.sev))) +
           string_field_size(protocol::severity_name(r.sev).size()) + 1 +
           pb::varint_size(body_any) + body_any + attribute_size("namespace", r.ns) +
           attribute_size("thread", r.thread) +
           attribute_size("detail", protocol::detail_level_name(r.detail)) +
           (r.observed_ns != 0 ? 9 : 0);
}

void otlp_logs_request::encode_protobuf(std::string& out, const otlp_log_record& r) {
    if (r.time_ns != 0) pb::put_fixed64(out, record_f::time, r.time_ns);
    pb::put_tag(out, record_f::severity_number, pb::varint);
    pb::put_varint(out, static_cast<std::uint64_t>(otlp_severity_number(r.sev)));
    pb::put_bytes(out, record_f::severity_text, protocol::severity_name(r.sev));
    pb::put_header(out, record_f::body, 1 + pb::varint_size(r.body.size()) + r.body.size());
    pb::put_bytes(out, any_value_f::string_value, r.body);
    put_string_attribute(out, record_f::attributes, "namespace", r.ns);
    put_string_attribute(out, record_f::attributes, "thread", r.thread);
    put_string_attribute(
        out, record_f::attributes, "detail", protocol::detail_level_name(r.detail));
    if (r.observed_ns != 0) pb::put_fixed64(out, record_f::observed_time, r.observed_ns);
}

void otlp_logs_request::encode_json(std::string& out, const otlp_log_record& r) {
    out += "{\"timeUnixNano\":\"";
    out += std::to_string(r.time_ns);
    out += "\",\"observedTimeUnixNano\":\"";
    out += std::to_string(r.observed_ns);
    out += "\",\"severityNumber\":";
    out += std::to_string(otlp_severity_number(r.sev));
    out += ",\"severityText\":";
    protocol::append_json_string(out, protocol::severity_name(r.sev));
    out += ",\"body\":{\"stringValue\":";
    protocol::append_json_string(out, r.body);
    out += "},\"attributes\":[";
    put_json_attribute(out, "namespace", r.ns);
    out.push_back(',');
    put_json_attribute(out, "thread", r.thread);
    out.push_back(',');
    put_json_attribute(out, "detail", protocol::detail_level_name(r.detail));
    out += "]}";
}

std::vector<std::pair<std::string, std::string>> otlp_logs_request::resource(const group& g) const {
    std::vector<std::pair<std::string, std::string>> attrs{
        {"service.name", "cardano-node"},
        {"service.instance.id", g.node},
        {"host.name", g.host},
    };
    for (const auto& [k, v] : attributes_) {
        auto it = std::find_if(
            attrs.begin(), attrs.end(), [&, &key = k](const auto& a) { return a.first == key; });
        if (it != attrs.end()) {
            it->second = v;
        } else {
            attrs.emplace_back(k, v);
        }
    }
    return attrs;
}

std::string otlp_logs_request::finish() {
    std::string out;
    out.reserve(bytes_ + groups_.size() * 256 + 64);
    if (enc_ == encoding::protobuf) {
        std::string resource_msg, scope_msg;
        for (const auto& g : groups_) {
            resource_msg.clear();
            for (const auto& [k, v] : resource(g))
                put_string_attribute(resource_msg, resource_f::attributes, k, v);
            scope_msg.clear();
            pb::put_bytes(scope_msg, scope_f::name, scope_name);
            const std::size_t scope_logs_size =
                1 + pb::varint_size(scope_msg.size()) + scope_msg.size() + g.records.size();
            const std::size_t resource_logs_size =
                1 + pb::varint_size(resource_msg.size()) + resource_msg.size() + 1 +
                pb::varint_size(scope_logs_size) + scope_logs_size;
            pb::put_header(out, request_f::resource_logs, resource_logs_size);
            pb::put_bytes(out, resource_logs_f::resource, resource_msg);
            pb::put_header(out, resource_logs_f::scope_logs, scope_logs_size);
            pb::put_bytes(out, scope_logs_f::scope, scope_msg);
            out += g.records;
        }
    } else {
        out += "{\"resourceLogs\":[";
        bool first_group = true;
        for (const auto& g : groups_) {
            if (!first_group) out.push_back(',');
            first_group = false;
            out += "{\"resource\":{\"attributes\":[";
            bool first = true;
            for (const auto& [k, v] : resource(g)) {
                if (!first) out.push_back(',');
                first = false;
                put_json_attribute(out, k, v);
            }
            out += "]},\"scopeLogs\":[{\"scope\":{\"name\":";
            protocol::append_json_string(out, scope_name);
            out += "},\"logRecords\":[";
            out += g.records;
            out += "]}]}";
        }
        out += "]}";
    }
    if (!groups_.empty())
        typical_group_bytes_ = bytes_ / groups_.size() + bytes_ / groups_.size() / 4;
    groups_.clear();
    last_ = 0;
    records_ = 0;
    bytes_ = 0;
    return out;
}

}  // namespace ct::tracer::exporting
