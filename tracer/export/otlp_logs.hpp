// OTLP logs requests (ExportLogsServiceRequest of opentelemetry-proto's collector/logs/v1),
// encoded by hand in both of OTLP/HTTP's encodings: protobuf exactly as protoc's serializer
// writes it (fields in number order, proto3 defaults left out, shortest lengths), and OTLP's
// JSON mapping (lowerCamelCase keys, 64-bit integers as strings, enums as integers). Records
// are grouped into one ResourceLogs per (node, host), the resource naming the node.
// A plain value, used by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/severity.hpp"
#include "protocol/trace_object.hpp"

namespace ct::tracer::exporting {

/// SeverityNumber of the OpenTelemetry logs data model: Debug 5, Info 9, Notice 10 (INFO2),
/// Warning 13, Error 17, Critical 18 (ERROR2), Alert 21 (FATAL), Emergency 22 (FATAL2).
int otlp_severity_number(protocol::severity s);

/// Unix nanoseconds of a UTCTime (0 before 1970, the maximum after 2554).
std::uint64_t unix_nanos(const protocol::utc_time& t);

/// What one LogRecord carries.
struct otlp_log_record {
    std::uint64_t time_ns = 0;
    std::uint64_t observed_ns = 0;
    protocol::severity sev = protocol::severity::info;
    std::string_view body;  // the section's format of the object
    std::string_view ns;    // attribute "namespace"
    std::string_view thread;
    protocol::detail_level detail = protocol::detail_level::normal;
};

class otlp_logs_request {
  public:
    enum class encoding { protobuf, json };
    /// `attributes`: the operator's resource attributes (a key replaces a default).
    otlp_logs_request(encoding enc, std::map<std::string, std::string> attributes);

    void add(std::string_view node, std::string_view host, const otlp_log_record& r);
    std::size_t records() const { return records_; }
    /// Encoded bytes so far (records only; the envelope adds a little).
    std::size_t bytes() const { return bytes_; }
    bool empty() const { return records_ == 0; }
    /// The request body; the request is empty again afterwards.
    std::string finish();

  private:
    struct group {
        std::string node, host;
        std::string records;  // protobuf: LogRecord fields of ScopeLogs; json: joined objects
        std::size_t count = 0;
    };
    group& group_for(std::string_view node, std::string_view host);
    static std::size_t protobuf_size(const otlp_log_record& r);
    void encode_protobuf(std::string& out, const otlp_log_record& r);
    void encode_json(std::string& out, const otlp_log_record& r);
    std::vector<std::pair<std::string, std::string>> resource(const group& g) const;

    encoding enc_;
    std::map<std::string, std::string> attributes_;
    std::vector<group> groups_;
    std::size_t last_ = 0;  // the group of the previous record (usually the next one's too)
    std::size_t records_ = 0, bytes_ = 0;
    std::size_t typical_group_bytes_ = 4096;  // a group's size in the last request, plus 25 %
};

}  // namespace ct::tracer::exporting
