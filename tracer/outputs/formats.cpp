#include "tracer/outputs/formats.hpp"

#include <simdjson.h>

#include <ctime>

namespace ct::tracer::outputs {

struct record_formatter::json_scanner {
    simdjson::ondemand::parser parser;
    std::string padded;
};
namespace {

void append_2(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10 % 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

/// The old node's host field: the host name up to its first dot, at most 8 characters.
std::string_view legacy_host(std::string_view host) {
    host = host.substr(0, host.find('.'));
    return host.substr(0, 8);
}

}  // namespace

void append_utc(std::string& out, const protocol::utc_time& t, char date_time_sep, int digits) {
    const std::time_t secs = static_cast<std::time_t>(t.seconds);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    const int year = tm.tm_year + 1900;
    if (year >= 0 && year <= 9999) {
        append_2(out, static_cast<unsigned>(year / 100));
        append_2(out, static_cast<unsigned>(year % 100));
    } else {
        out += std::to_string(year);
    }
    out.push_back('-');
    append_2(out, static_cast<unsigned>(tm.tm_mon + 1));
    out.push_back('-');
    append_2(out, static_cast<unsigned>(tm.tm_mday));
    out.push_back(date_time_sep);
    append_2(out, static_cast<unsigned>(tm.tm_hour));
    out.push_back(':');
    append_2(out, static_cast<unsigned>(tm.tm_min));
    out.push_back(':');
    append_2(out, static_cast<unsigned>(tm.tm_sec));
    if (digits > 0) {
        out.push_back('.');
        std::uint64_t frac = t.picoseconds;  // 12 digits, truncated to `digits`
        char buf[12];
        for (int i = 11; i >= 0; --i) {
            buf[i] = static_cast<char>('0' + frac % 10);
            frac /= 10;
        }
        out.append(buf, static_cast<std::size_t>(digits));
    }
}

record_formatter::record_formatter(std::shared_ptr<const config::legacy_namespace_table> names)
    : names_(std::move(names)), json_(std::make_unique<json_scanner>()) {}

record_formatter::~record_formatter() = default;

void record_formatter::set_legacy_names(
    std::shared_ptr<const config::legacy_namespace_table> names) {
    if (names == names_) return;
    names_ = std::move(names);
    loggers_.clear();
}

std::optional<std::string_view> record_formatter::data_of(std::string_view machine) {
    auto& padded = json_->padded;
    padded.assign(machine);
    padded.append(simdjson::SIMDJSON_PADDING, ' ');
    simdjson::ondemand::document doc;
    if (json_->parser.iterate(padded.data(), machine.size(), padded.size()).get(doc))
        return std::nullopt;
    simdjson::ondemand::object top;
    if (doc.get_object().get(top)) return std::nullopt;
    simdjson::ondemand::value data;
    if (top.find_field_unordered("data").get(data)) return std::nullopt;
    simdjson::ondemand::json_type type;
    if (data.type().get(type)) return std::nullopt;
    std::string_view raw;
    if (type == simdjson::ondemand::json_type::object) {
        simdjson::ondemand::object obj;
        if (data.get_object().get(obj) || obj.raw_json().get(raw)) return std::nullopt;
    } else if (type == simdjson::ondemand::json_type::array) {
        simdjson::ondemand::array arr;
        if (data.get_array().get(arr) || arr.raw_json().get(raw)) return std::nullopt;
    } else {
        raw = data.raw_json_token();
    }
    while (!raw.empty() &&
           (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\t' || raw.back() == '\r'))
        raw.remove_suffix(1);
    // `raw` points into the padded copy of `machine`, which starts at offset 0.
    const auto offset = static_cast<std::size_t>(raw.data() - padded.data());
    return machine.substr(offset, raw.size());
}

const std::string& record_formatter::logger_for(std::string_view ns) {
    if (auto it = loggers_.find(ns); it != loggers_.end()) return it->second;
    if (loggers_.size() > 4096) loggers_.clear();  // a peer inventing namespaces
    std::string name =
        names_ ? names_->logger_for(ns) : "cardano.node." + std::string(ns.substr(0, ns.find('.')));
    return loggers_.emplace(std::string(ns), std::move(name)).first->second;
}

void record_formatter::append_text_or_data(const trace_batch& b,
                                           const record_ref& r,
                                           bool wrap,
                                           std::string& out) {
    if (r.has_human && r.human_len > 0) {
        out.append(b.human(r));
        return;
    }
    const auto machine = b.machine(r);
    if (auto data = data_of(machine)) {
        if (wrap) out += "{\"data\":";
        out.append(*data);
        if (wrap) out.push_back('}');
    } else {
        out.append(machine);  // not the JSON it should be: shown as it came
    }
}

void record_formatter::append(const trace_batch& b,
                              const record_ref& r,
                              config::log_format f,
                              std::string& out) {
    switch (f) {
        case config::log_format::for_machine:
            out.append(b.machine(r));
            return;
        case config::log_format::for_human:
            out.append(r.has_human ? b.human(r) : b.machine(r));
            return;
        case config::log_format::dispatcher_human:
            // [2026-07-23 10:00:01.1234Z][host:ns](Notice,42) text
            out.push_back('[');
            append_utc(out, r.at, ' ', 4);
            out += "Z][";
            out.append(b.host(r));
            out.push_back(':');
            out.append(b.ns(r));
            out += "](";
            out.append(protocol::severity_name(r.sev));
            out.push_back(',');
            out.append(b.thread(r));
            out += ") ";
            append_text_or_data(b, r, true, out);
            return;
        case config::log_format::legacy_text:
            // [host:cardano.node.ChainDB:Info:174] [2022-10-31 19:58:52.00 UTC] text
            out.push_back('[');
            out.append(legacy_host(b.host(r)));
            out.push_back(':');
            out.append(logger_for(b.ns(r)));
            out.push_back(':');
            out.append(protocol::severity_name(r.sev));
            out.push_back(':');
            out.append(b.thread(r));
            out += "] [";
            append_utc(out, r.at, ' ', 2);
            out += " UTC] ";
            append_text_or_data(b, r, false, out);
            return;
        case config::log_format::legacy_json: {
            out += "{\"at\":\"";
            append_utc(out, r.at, 'T', 2);
            out += "Z\",\"env\":\"\",\"ns\":[";
            append_json_string(out, logger_for(b.ns(r)));
            out += "],\"data\":";
            const auto machine = b.machine(r);
            if (auto data = data_of(machine)) {
                out.append(*data);
            } else {
                out += "{\"machine\":";
                append_json_string(out, machine);
                out.push_back('}');
            }
            out += ",\"app\":[],\"msg\":";
            append_json_string(out, r.has_human ? b.human(r) : std::string_view());
            out += ",\"pid\":\"\",\"loc\":null,\"host\":";
            append_json_string(out, legacy_host(b.host(r)));
            out += ",\"sev\":\"";
            out.append(protocol::severity_name(r.sev));
            out += "\",\"thread\":";
            append_json_string(out, b.thread(r));
            out.push_back('}');
            return;
        }
    }
}

}  // namespace ct::tracer::outputs
