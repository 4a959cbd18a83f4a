#include "config/load.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "config/schema.hpp"

namespace ct::config {
namespace {

// Ordered: nodeTraceOptions apply in the order written.
using json = nlohmann::ordered_json;

// ------------------------------------------------------------------ YAML -> JSON value tree

// yaml-cpp keeps every scalar as text. Type plain scalars the way cardano-tracer's YAML
// library (Haskell `yaml`) does, so a file means the same to both: null, ~ and "" are null;
// y/yes/on/true and n/no/off/false (lower, upper or title case) are booleans; 0x.. and 0o..
// are integers; a decimal number with digits before any '.' is a number (integer unless it
// has a fraction or exponent); anything else, and every quoted or !!str scalar, is a string.
bool is_like(std::string_view s, std::string_view ref) {
    if (s.size() != ref.size() || s.empty()) return false;
    if (s == ref) return true;
    const auto upper = [](char c) { return static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c); };
    bool all_upper = true;
    bool title = upper(ref[0]) == s[0];
    for (std::size_t i = 0; i < s.size(); ++i) {
        all_upper = all_upper && s[i] == upper(ref[i]);
        if (i > 0) title = title && s[i] == ref[i];
    }
    return all_upper || title;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_octal(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

template <typename Pred>
bool all_of(std::string_view s, Pred pred) {
    return std::all_of(s.begin(), s.end(), pred);
}

enum class number_shape { none, integer, fractional };

/// [+-]digits[.digits][(e|E)[+-]digits]: the decimal numbers attoparsec's `scientific` reads.
number_shape decimal_shape(std::string_view s) {
    std::size_t i = 0;
    const auto digits = [&] {
        const std::size_t start = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        return i > start;
    };
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return number_shape::none;
    bool fractional = false;
    if (i < s.size() && s[i] == '.') {
        ++i;
        if (!digits()) return number_shape::none;
        fractional = true;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (!digits()) return number_shape::none;
        fractional = true;
    }
    if (i != s.size()) return number_shape::none;
    return fractional ? number_shape::fractional : number_shape::integer;
}

json unsigned_or_huge(std::string_view digits, int base) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (ec == std::errc() && p == digits.data() + digits.size()) return v;
    return HUGE_VAL;  // beyond 64 bits: rejected later as out of range
}

json scalar_to_json(const YAML::Node& node) {
    const std::string& s = node.Scalar();
    if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return s;
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    for (std::string_view t : {"y", "yes", "on", "true"}) {
        if (is_like(s, t)) return true;
    }
    for (std::string_view f : {"n", "no", "off", "false"}) {
        if (is_like(s, f)) return false;
    }
    const std::string_view sv(s);
    if (sv.size() > 2 && sv.starts_with("0x") && all_of(sv.substr(2), is_hex)) {
        return unsigned_or_huge(sv.substr(2), 16);
    }
    if (sv.size() > 2 && sv.starts_with("0o") && all_of(sv.substr(2), is_octal)) {
        return unsigned_or_huge(sv.substr(2), 8);
    }
    const number_shape shape = decimal_shape(sv);
    if (shape == number_shape::integer) {
        if (s[0] == '-') {
            std::int64_t v = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec == std::errc()) return v;
            return std::strtod(s.c_str(), nullptr);
        }
        std::uint64_t v = 0;
        const char* b = s.data() + (s[0] == '+' ? 1 : 0);
        auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
        if (ec == std::errc()) return v;
        return std::strtod(s.c_str(), nullptr);  // beyond 64 bits: rejected later as too large
    }
    if (shape == number_shape::fractional) {
        // strtod gives +-HUGE_VAL beyond double range; that is rejected as non-finite later.
        return std::strtod(s.c_str(), nullptr);
    }
    return s;
}

json yaml_to_json(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
        case YAML::NodeType::Scalar:
            return scalar_to_json(node);
        case YAML::NodeType::Sequence: {
            json arr = json::array();
            for (const auto& item : node) arr.push_back(yaml_to_json(item));
            return arr;
        }
        case YAML::NodeType::Map: {
            json obj = json::object();
            std::vector<json> merged;
            for (const auto& kv : node) {
                // `<<: *anchor` (YAML merge key), which cardano-tracer's YAML library honours.
                if (kv.first.IsScalar() && kv.first.Scalar() == "<<" && kv.first.Tag() != "!") {
                    json m = yaml_to_json(kv.second);
                    if (m.is_object()) {
                        merged.push_back(std::move(m));
                        continue;
                    }
                    if (m.is_array() && std::all_of(m.begin(), m.end(), [](const json& e) {
                            return e.is_object();
                        })) {
                        for (auto& e : m) merged.push_back(std::move(e));
                        continue;
                    }
                }
                obj[kv.first.Scalar()] = yaml_to_json(kv.second);
            }
            // Keys written in the mapping win over merged ones; earlier merged maps win too.
            for (const auto& m : merged) {
                for (const auto& [k, v] : m.items()) {
                    if (!obj.contains(k)) obj[k] = v;
                }
            }
            return obj;
        }
    }
    return nullptr;
}

// ------------------------------------------------------------------------- field reading

std::string describe(const json& v) {
    switch (v.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::boolean:
            return std::string("bool ") + (v.get<bool>() ? "true" : "false");
        case json::value_t::string:
            return "string " + v.dump();
        case json::value_t::number_float: {
            const double x = v.get<double>();
            if (std::isnan(x)) return "number .nan";
            if (std::isinf(x)) return x > 0 ? "number .inf" : "number -.inf";
            return "number " + v.dump();
        }
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return "number " + v.dump();
        case json::value_t::array:
            return "a list";
        case json::value_t::object:
            return "an object";
        default:
            return "a value of another type";
    }
}

class reader {
  public:
    explicit reader(std::vector<diagnostic>& out) : out_(out) {}

    void error(std::string path, std::string msg) {
        out_.push_back({diagnostic::level::error, std::move(path), std::move(msg)});
    }
    void warn(std::string path, std::string msg) {
        out_.push_back({diagnostic::level::warning, std::move(path), std::move(msg)});
    }

    static std::string join(const std::string& parent, std::string_view key) {
        return parent.empty() ? std::string(key) : parent + "." + std::string(key);
    }

    /// The value of `key`, or nullptr when absent or null (null means absent, as upstream).
    static const json* field(const json& obj, std::string_view key) {
        auto it = obj.find(std::string(key));
        if (it == obj.end() || it->is_null()) return nullptr;
        return &*it;
    }

    const json* required(const json& obj, std::string_view key, const std::string& parent) {
        const json* v = field(obj, key);
        if (!v) error(join(parent, key), "is required");
        return v;
    }

    /// Warns about unknown keys; `also_known` accepts keys handled elsewhere (legacy switches).
    void check_keys(const json& obj,
                    std::string_view object,
                    const std::string& parent,
                    const std::function<bool(const std::string&)>& also_known = {}) {
        for (const auto& [k, v] : obj.items()) {
            if (also_known && also_known(k)) continue;
            if (const schema_entry* e = find_key(object, k)) {
                if (e->origin == key_origin::legacy)
                    warn(join(parent, k), "no longer used; ignored");
                if (e->origin == key_origin::ignored)
                    warn(join(parent, k), "ignored: " + std::string(e->description));
                continue;
            }
            auto near = nearest_key(object, k);
            warn(join(parent, k),
                 near.empty() ? "unknown key; ignored"
                              : "unknown key; ignored (did you mean `" + std::string(near) + "`?)");
        }
    }

    bool object(const json& v, const std::string& path) {
        if (v.is_object()) return true;
        error(path, "expected an object, got " + describe(v));
        return false;
    }

    std::optional<std::uint64_t> uint(
        const json& v,
        const std::string& path,
        std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
        if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
            auto x = v.get<std::uint64_t>();
            if (x > max) {
                error(path,
                      "must be at most " + std::to_string(max) + ", got " + std::to_string(x));
                return std::nullopt;
            }
            return x;
        }
        if (v.is_number_float()) {
            // aeson reads an integral number such as 1.0 or 1e6 into an integer field.
            const double d = v.get<double>();
            if (std::isfinite(d) && d == std::floor(d)) {
                if (d < 0) {
                    error(path, "must not be negative, got " + v.dump());
                } else if (d >= 18446744073709551616.0 || static_cast<std::uint64_t>(d) > max) {
                    error(path, "must be at most " + std::to_string(max) + ", got " + v.dump());
                } else {
                    return static_cast<std::uint64_t>(d);
                }
                return std::nullopt;
            }
            if (std::isinf(d)) {
                error(path, "is out of range: " + describe(v));
                return std::nullopt;
            }
        }
        if (v.is_number_integer()) {
            error(path, "must not be negative, got " + v.dump());
        } else {
            error(path, "expected an unsigned integer, got " + describe(v));
        }
        return std::nullopt;
    }

    std::optional<std::int64_t> integer(const json& v, const std::string& path) {
        if (v.is_number_integer() || v.is_number_unsigned()) {
            if (v.is_number_unsigned() &&
                v.get<std::uint64_t>() >
                    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                error(path, "is out of range: " + v.dump());
                return std::nullopt;
            }
            return v.get<std::int64_t>();
        }
        if (v.is_number_float()) {
            const double d = v.get<double>();
            if (std::isfinite(d) && d == std::floor(d)) {
                if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
                    return static_cast<std::int64_t>(d);
                }
                error(path, "is out of range: " + v.dump());
                return std::nullopt;
            }
        }
        error(path, "expected an integer, got " + describe(v));
        return std::nullopt;
    }

    std::optional<double> number(const json& v, const std::string& path) {
        if (v.is_number()) {
            const double x = v.get<double>();
            // YAML's .inf/.nan would not survive emission as JSON (it has no such numbers).
            if (!std::isfinite(x)) {
                error(path, "must be a finite number, got " + describe(v));
                return std::nullopt;
            }
            return x;
        }
        error(path, "expected a number, got " + describe(v));
        return std::nullopt;
    }

    std::optional<bool> boolean(const json& v, const std::string& path) {
        if (v.is_boolean()) return v.get<bool>();
        error(path, "expected true or false, got " + describe(v));
        return std::nullopt;
    }

    std::optional<std::string> string(const json& v, const std::string& path) {
        if (v.is_string()) return v.get<std::string>();
        error(path, "expected a string, got " + describe(v));
        return std::nullopt;
    }

    template <typename Enum, std::size_t N>
    std::optional<Enum> one_of(const json& v,
                               const std::string& path,
                               const std::array<std::pair<std::string_view, Enum>, N>& choices) {
        std::string allowed;
        for (const auto& [name, value] : choices) {
            if (v.is_string() && v.get<std::string>() == name) return value;
            allowed += allowed.empty() ? "" : ", ";
            allowed += name;
        }
        error(path, "expected one of " + allowed + ", got " + describe(v));
        return std::nullopt;
    }

  private:
    std::vector<diagnostic>& out_;
};

// ------------------------------------------------------------------------------ sections

std::optional<network_config> read_network(reader& r, const json& v, const std::string& path) {
    if (!r.object(v, path)) return std::nullopt;
    r.check_keys(v, "network", path);
    const json* tag = r.required(v, "tag", path);
    const json* contents = r.required(v, "contents", path);
    if (!tag || !contents) return std::nullopt;
    auto mode = r.one_of(*tag,
                         reader::join(path, "tag"),
                         std::array<std::pair<std::string_view, network_config::mode>, 2>{
                             {{"AcceptAt", network_config::mode::accept_at},
                              {"ConnectTo", network_config::mode::connect_to}}});
    if (!mode) return std::nullopt;

    network_config net;
    net.m = *mode;
    const std::string cpath = reader::join(path, "contents");
    auto one = [&](const json& a, const std::string& apath) -> bool {
        auto text = r.string(a, apath);
        if (!text) return false;
        auto addr = parse_address(*text);
        if (!addr) {
            r.error(apath,
                    net.m == network_config::mode::accept_at ? "AcceptAt is empty"
                                                             : "ConnectTo address is empty");
            return false;
        }
        if (addr->is_tcp() && addr->host.find('/') != std::string::npos) {
            r.warn(apath,
                   "\"" + *text + "\" is read as TCP host \"" + addr->host + "\" port " +
                       std::to_string(addr->port) +
                       " (the text after the last ':' is a number) although it looks like a "
                       "socket path; rename the socket if a path was meant");
        }
        if (addr->is_tcp() && addr->host.starts_with('[')) {
            r.warn(apath,
                   "brackets are kept in the host \"" + addr->host +
                       "\" (cardano-tracer does the same) and will not resolve; write "
                       "the IPv6 address without brackets");
        }
        net.addresses.push_back(*addr);
        return true;
    };
    if (net.m == network_config::mode::accept_at) {
        if (!one(*contents, cpath)) return std::nullopt;
    } else {
        if (!contents->is_array()) {
            r.error(cpath, "expected a list of addresses, got " + describe(*contents));
            return std::nullopt;
        }
        if (contents->empty()) {
            r.error(cpath, "ConnectTo are empty");
            return std::nullopt;
        }
        bool ok = true;
        for (std::size_t i = 0; i < contents->size(); ++i) {
            ok = one((*contents)[i], cpath + "[" + std::to_string(i) + "]") && ok;
        }
        if (!ok) return std::nullopt;
        // Duplicates are dialled once (upstream de-duplicates at run time).
        std::vector<address> unique;
        for (auto& a : net.addresses) {
            if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(a);
        }
        net.addresses = std::move(unique);
    }
    return net;
}

std::optional<endpoint> read_endpoint(reader& r, const json& v, const std::string& path) {
    if (!r.object(v, path)) return std::nullopt;
    r.check_keys(v, "endpoint", path);
    endpoint ep;
    bool ok = true;
    if (const json* host = r.required(v, "epHost", path)) {
        auto h = r.string(*host, reader::join(path, "epHost"));
        if (h && h->empty()) {
            r.error(reader::join(path, "epHost"), "must not be empty (no host in " + path + ")");
            ok = false;
        }
        if (h) ep.host = *h;
        ok = ok && h.has_value();
    } else {
        ok = false;
    }
    if (const json* port = r.required(v, "epPort", path)) {
        auto p =
            r.uint(*port, reader::join(path, "epPort"), std::numeric_limits<std::uint64_t>::max());
        // 0 (an extension): any free port; the bound one is in Tracer.StartedPrometheus /
        // Tracer.StartedMonitoring (boundPort), so tests and scripts never race for a port.
        if (p && *p > 65535) {
            r.error(reader::join(path, "epPort"),
                    "must be between 0 and 65535, got " + std::to_string(*p));
            ok = false;
        } else if (p) {
            ep.port = static_cast<std::uint16_t>(*p);
        } else {
            ok = false;
        }
    } else {
        ok = false;
    }
    if (const json* ssl = reader::field(v, "epForceSSL")) {
        auto b = r.boolean(*ssl, reader::join(path, "epForceSSL"));
        if (b) ep.force_ssl = *b;
    }
    if (!ok) return std::nullopt;
    return ep;
}

std::optional<tls_certificate> read_tls(reader& r, const json& v, const std::string& path) {
    if (!r.object(v, path)) return std::nullopt;
    r.check_keys(v, "tlsCertificate", path);
    tls_certificate t;
    bool ok = true;
    for (auto [key, dst] :
         {std::pair<std::string_view, std::string*>{"certificateFile", &t.certificate_file},
          {"certificateKeyFile", &t.certificate_key_file}}) {
        const json* f = r.required(v, key, path);
        auto s = f ? r.string(*f, reader::join(path, key)) : std::nullopt;
        if (s && s->empty()) r.error(reader::join(path, key), "must not be empty");
        if (s && !s->empty()) {
            *dst = *s;
        } else {
            ok = false;
        }
    }
    if (const json* chain = reader::field(v, "certificateChain")) {
        const std::string cpath = reader::join(path, "certificateChain");
        if (!chain->is_array()) {
            r.error(cpath, "expected a list of paths, got " + describe(*chain));
        } else {
            for (std::size_t i = 0; i < chain->size(); ++i) {
                if (auto s = r.string((*chain)[i], cpath + "[" + std::to_string(i) + "]")) {
                    t.certificate_chain.push_back(*s);
                }
            }
        }
    }
    if (!ok) return std::nullopt;
    return t;
}

std::optional<forwarding_config> read_forwarding(reader& r,
                                                 const json& v,
                                                 const std::string& path) {
    if (!v.is_array() || v.size() != 3) {
        r.error(path,
                "expected a list of three elements [network, prefixes or null, options], got " +
                    describe(v));
        return std::nullopt;
    }
    forwarding_config f;
    auto net = read_network(r, v[0], path + "[0]");
    if (!net) return std::nullopt;
    f.network = *net;
    if (!v[1].is_null()) {
        if (!v[1].is_array()) {
            r.error(path + "[1]",
                    "expected null or a list of namespace prefixes, got " + describe(v[1]));
            return std::nullopt;
        }
        std::vector<std::vector<std::string>> prefixes;
        for (std::size_t i = 0; i < v[1].size(); ++i) {
            const auto& p = v[1][i];
            const std::string ppath = path + "[1][" + std::to_string(i) + "]";
            if (!p.is_array()) {
                r.error(ppath, "expected a list of namespace segments, got " + describe(p));
                continue;
            }
            std::vector<std::string> segs;
            for (std::size_t j = 0; j < p.size(); ++j) {
                if (auto s = r.string(p[j], ppath + "[" + std::to_string(j) + "]"))
                    segs.push_back(*s);
            }
            prefixes.push_back(std::move(segs));
        }
        f.prefixes = std::move(prefixes);
    }
    const std::string opath = path + "[2]";
    if (!r.object(v[2], opath)) return std::nullopt;
    r.check_keys(v[2], "forwarderOptions", opath);
    if (const json* q = reader::field(v[2], "queueSize")) {
        if (auto x = r.uint(*q, reader::join(opath, "queueSize"))) {
            if (*x == 0) {
                r.error(reader::join(opath, "queueSize"), "must be greater than 0");
            } else {
                f.options.queue_size = *x;
            }
        }
    }
    if (const json* vb = reader::field(v[2], "verbosity")) {
        if (auto x = r.one_of(*vb,
                              reader::join(opath, "verbosity"),
                              std::array<std::pair<std::string_view, bool>, 2>{
                                  {{"Minimum", false}, {"Maximum", true}}})) {
            f.options.verbose_maximum = *x;
        }
    }
    if (const json* d = reader::field(v[2], "maxReconnectDelay")) {
        if (auto x = r.number(*d, reader::join(opath, "maxReconnectDelay"))) {
            if (*x <= 0) {
                r.error(reader::join(opath, "maxReconnectDelay"), "must be greater than 0");
            } else {
                f.options.max_reconnect_delay = *x;
            }
        }
    }
    if (const json* pn = reader::field(v[2], "perNode")) {
        if (auto x = r.boolean(*pn, reader::join(opath, "perNode"))) f.options.per_node = *x;
        if (f.options.per_node && f.network.m != network_config::mode::connect_to) {
            r.error(reader::join(opath, "perNode"),
                    "needs ConnectTo in hasForwarding[0]: the daemon opens one connection per "
                    "node towards the next tracer");
        }
    }
    return f;
}

// ------------------------------------------------------------------------ TraceOptions

std::optional<severity_threshold> read_threshold(reader& r,
                                                 const json& v,
                                                 const std::string& path) {
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s == "Silence") return severity_threshold{true, protocol::severity::debug};
        if (auto sev = protocol::parse_severity(s)) return severity_threshold{false, *sev};
    }
    r.error(path,
            "unknown severity " + (v.is_string() ? v.dump() : describe(v)) +
                " (expected Debug, Info, Notice, Warning, Error, Critical, Alert, Emergency or "
                "Silence)");
    return std::nullopt;
}

/// A namespace key: "" or "_root_" is the root; otherwise dot-separated non-empty segments.
std::optional<std::string> namespace_key(reader& r,
                                         const std::string& key,
                                         const std::string& path) {
    if (key.empty() || key == "_root_") return std::string();
    bool ok = key.front() != '.' && key.back() != '.' && key.find("..") == std::string::npos;
    for (char ch : key) ok = ok && ch != ' ' && ch != '\t';
    if (!ok) {
        r.error(path,
                "is not a namespace (dot-separated segments such as ChainDB.AddBlockEvent; \"\" "
                "or _root_ for the root)");
        return std::nullopt;
    }
    return key;
}

bool is_legacy_logger_key(std::string_view k) {
    return k == "cardano.node" || k.starts_with("cardano.node.");
}

std::optional<trace_options> read_trace_options(reader& r,
                                                const json& v,
                                                const std::string& path,
                                                const legacy_namespace_table& legacy) {
    if (!r.object(v, path)) return std::nullopt;
    trace_options out;
    bool ok = true;
    // Keys naming a legacy logger first (translated to its new prefixes), then new keys, then
    // `_root_`: a later entry wins field by field, so explicit new names beat translations and
    // `_root_` beats `""` (as trace-dispatcher merges them).
    std::vector<std::pair<std::string, const json*>> entries;
    const json* root_alias = nullptr;
    for (const auto& [k, e] : v.items()) {
        if (is_legacy_logger_key(k)) entries.emplace_back(k, &e);
    }
    for (const auto& [k, e] : v.items()) {
        if (k == "_root_") {
            root_alias = &e;
        } else if (!is_legacy_logger_key(k)) {
            entries.emplace_back(k, &e);
        }
    }
    if (root_alias) entries.emplace_back("_root_", root_alias);
    for (const auto& [k, e] : entries) {
        const std::string epath = path + ".\"" + k + "\"";
        std::vector<std::string> keys;
        if (is_legacy_logger_key(k)) {
            keys = legacy.prefixes_of_logger(k);
            if (keys.empty()) {
                r.error(epath,
                        "unknown legacy logger (not in the legacy namespace table, " +
                            legacy.source + ")");
                ok = false;
                continue;
            }
        } else {
            auto key = namespace_key(r, k, epath);
            if (!key) {
                ok = false;
                continue;
            }
            keys.push_back(*key);
        }
        if (e->is_null()) continue;
        if (!r.object(*e, epath)) {
            ok = false;
            continue;
        }
        r.check_keys(*e, "TraceOptions{}", epath);
        trace_option opt;
        if (const json* s = reader::field(*e, "severity")) {
            if (auto t = read_threshold(r, *s, epath + ".severity")) {
                opt.severity = *t;
            } else {
                ok = false;
            }
        }
        if (const json* f = reader::field(*e, "maxFrequency")) {
            if (auto x = r.number(*f, epath + ".maxFrequency")) {
                if (*x < 0) {
                    r.error(epath + ".maxFrequency",
                            "must not be negative (0 removes an inherited limit)");
                    ok = false;
                } else {
                    opt.max_frequency = *x;
                }
            } else {
                ok = false;
            }
        }
        for (const auto& key : keys) {
            trace_option& slot = out[key];
            if (opt.severity) slot.severity = opt.severity;
            if (opt.max_frequency) slot.max_frequency = opt.max_frequency;
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

/// `over` wins key by key, option by option.
void merge_over(trace_options& base, const trace_options& over) {
    for (const auto& [ns, o] : over) {
        auto& slot = base[ns];
        if (o.severity) slot.severity = o.severity;
        if (o.max_frequency) slot.max_frequency = o.max_frequency;
    }
}

/// An old node config's `TraceXxx: bool` (or `DebugXxx`) switch, not a key of our schema.
bool looks_like_switch(std::string_view object, const std::string& k) {
    const bool shape = (k.starts_with("Trace") || k.starts_with("Debug")) && k.size() > 5 &&
                       k[5] >= 'A' && k[5] <= 'Z';
    return shape && !find_key(object, k);
}

/// The switches of `obj`, as rules: false is Silence on every new prefix of the switch, true
/// is `on` there (the default severity). Unknown switches are reported by name.
trace_options read_switches(reader& r,
                            const json& obj,
                            std::string_view object,
                            const std::string& parent,
                            const legacy_namespace_table& legacy,
                            severity_threshold on,
                            bool& ok) {
    trace_options out;
    for (const auto& [k, v] : obj.items()) {
        if (!looks_like_switch(object, k)) continue;
        const std::string path = reader::join(parent, k);
        if (!legacy.knows_switch(k)) {
            r.warn(path,
                   "unknown legacy switch (not in the legacy namespace table, " + legacy.source +
                       "); ignored");
            continue;
        }
        if (v.is_null()) continue;
        auto b = r.boolean(v, path);
        if (!b) {
            ok = false;
            continue;
        }
        const auto prefixes = legacy.prefixes_of_switch(k);
        if (prefixes.empty()) {
            r.warn(path, "legacy switch without an equivalent in new tracing; ignored");
            continue;
        }
        for (const auto& p : prefixes) {
            out[p].severity = *b ? on : severity_threshold{true, protocol::severity::debug};
        }
    }
    return out;
}

std::vector<node_trace_options> read_node_trace_options(reader& r,
                                                        const json& v,
                                                        const std::string& path,
                                                        bool& ok,
                                                        const legacy_namespace_table& legacy) {
    std::vector<node_trace_options> out;
    if (!r.object(v, path)) {
        ok = false;
        return out;
    }
    for (const auto& [pattern, rules] : v.items()) {
        const std::string ppath = path + ".\"" + pattern + "\"";
        if (pattern.empty()) {
            r.error(ppath, "a node name pattern must not be empty (use \"*\" for every node)");
            ok = false;
            continue;
        }
        auto opts = read_trace_options(r, rules, ppath, legacy);
        if (!opts) {
            ok = false;
            continue;
        }
        out.push_back({pattern, std::move(*opts)});
    }
    return out;
}

std::optional<std::map<std::string, std::string>> read_string_map(reader& r,
                                                                  const json& v,
                                                                  const std::string& path) {
    if (!v.is_object()) {
        r.error(path, "expected an object of strings, got " + describe(v));
        return std::nullopt;
    }
    std::map<std::string, std::string> m;
    for (const auto& [k, val] : v.items()) {
        if (auto s = r.string(val, reader::join(path, k))) m[k] = *s;
    }
    return m;
}

// A number of seconds in (0, max] at `key`, when present.
void read_seconds(reader& r,
                  const json& v,
                  const std::string& path,
                  std::string_view key,
                  double& dst,
                  double max,
                  bool& ok) {
    const json* x = reader::field(v, key);
    if (!x) return;
    auto n = r.number(*x, reader::join(path, key));
    if (!n) {
        ok = false;
        return;
    }
    if (!(*n > 0) || *n > max) {
        r.error(reader::join(path, key), "must be greater than 0 and at most " + json(max).dump());
        ok = false;
        return;
    }
    dst = *n;
}

// An integer in [1, max] at `key`, when present.
void read_positive(reader& r,
                   const json& v,
                   const std::string& path,
                   std::string_view key,
                   std::uint64_t& dst,
                   std::uint64_t max,
                   bool& ok) {
    const json* x = reader::field(v, key);
    if (!x) return;
    auto n = r.uint(*x, reader::join(path, key), max);
    if (!n) {
        ok = false;
        return;
    }
    if (*n == 0) {
        r.error(reader::join(path, key), "must be greater than 0");
        ok = false;
        return;
    }
    dst = *n;
}

// A header name as HTTP allows it (a token), and a value without line breaks: a header from
// the configuration can never split the request.
bool valid_header(const std::string& name, const std::string& value) {
    if (name.empty()) return false;
    for (const unsigned char c : name) {
        if (c <= 32 || c >= 127 ||
            std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos)
            return false;
    }
    return value.find_first_of("\r\n") == std::string::npos;
}

// The keys every OTLP exporter has (logs and metrics): where, how, with which credentials.
void read_otlp_connection(reader& r,
                          const json& v,
                          const std::string& path,
                          const std::filesystem::path& base,
                          otlp_settings& o,
                          bool& ok) {
    if (const json* e = r.required(v, "endpoint", path)) {
        if (auto s = r.string(*e, path + ".endpoint")) {
            o.endpoint = *s;
            while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
            const bool http = o.endpoint.rfind("http://", 0) == 0 && o.endpoint.size() > 7;
            const bool https = o.endpoint.rfind("https://", 0) == 0 && o.endpoint.size() > 8;
            if (!http && !https) {
                r.error(path + ".endpoint",
                        "expected http://HOST[:PORT][/PREFIX] or https://..., got \"" + *s + "\"");
                ok = false;
            }
        } else {
            ok = false;
        }
    } else {
        ok = false;
    }
    if (const json* e = reader::field(v, "encoding")) {
        auto enc = r.one_of(*e,
                            path + ".encoding",
                            std::array<std::pair<std::string_view, otlp_settings::encoding>, 2>{
                                {{"protobuf", otlp_settings::encoding::protobuf},
                                 {"json", otlp_settings::encoding::json}}});
        if (enc) {
            o.enc = *enc;
        } else {
            ok = false;
        }
    }
    if (const json* e = reader::field(v, "compression")) {
        auto gz = r.one_of(
            *e,
            path + ".compression",
            std::array<std::pair<std::string_view, bool>, 2>{{{"gzip", true}, {"none", false}}});
        if (gz) {
            o.gzip = *gz;
        } else {
            ok = false;
        }
    }
    if (const json* e = reader::field(v, "headers")) {
        if (auto m = read_string_map(r, *e, path + ".headers")) {
            for (const auto& [name, value] : *m) {
                if (!valid_header(name, value)) {
                    r.error(path + ".headers." + name,
                            "not a valid HTTP header (a token name, a value without line breaks)");
                    ok = false;
                }
            }
            o.headers = std::move(*m);
        } else {
            ok = false;
        }
    }
    if (const json* e = reader::field(v, "resourceAttributes")) {
        if (auto m = read_string_map(r, *e, path + ".resourceAttributes")) {
            o.resource_attributes = std::move(*m);
        } else {
            ok = false;
        }
    }
    read_seconds(r, v, path, "timeout", o.timeout_secs, 3600, ok);
    if (const json* x = reader::field(v, "caFile")) {
        auto s = r.string(*x, path + ".caFile");
        if (!s || s->empty()) {
            if (s) r.error(path + ".caFile", "must not be empty");
            ok = false;
        } else {
            std::filesystem::path p(*s);
            if (p.is_relative()) p = base / p;
            o.ca_file = p.lexically_normal().string();
        }
    }
    if (o.ca_file && o.endpoint.rfind("https://", 0) != 0) {
        r.error(path + ".caFile", "only used with an https:// endpoint");
        ok = false;
    }
}

std::optional<otlp_settings> read_otlp(reader& r,
                                       const json& v,
                                       const std::string& path,
                                       const std::filesystem::path& base) {
    if (!r.object(v, path)) return std::nullopt;
    r.check_keys(v, "otlp", path);
    otlp_settings o;
    bool ok = true;
    read_otlp_connection(r, v, path, base, o, ok);
    if (const json* e = reader::field(v, "policy")) {
        auto p = r.one_of(*e,
                          path + ".policy",
                          std::array<std::pair<std::string_view, otlp_settings::overflow>, 2>{
                              {{"block", otlp_settings::overflow::block},
                               {"drop", otlp_settings::overflow::drop}}});
        if (p) {
            o.policy = *p;
        } else {
            ok = false;
        }
    }
    read_seconds(r, v, path, "batchDelay", o.batch_delay_secs, 60, ok);
    std::uint64_t batch = o.batch_records;
    read_positive(r, v, path, "batchSize", batch, 1'000'000, ok);
    o.batch_records = static_cast<std::uint32_t>(batch);
    read_positive(r, v, path, "queueBytes", o.queue_bytes, std::uint64_t{1} << 40, ok);
    read_positive(r, v, path, "spillMaxBytes", o.spill_max_bytes, std::uint64_t{1} << 50, ok);
    if (const json* x = reader::field(v, "spillDir")) {
        auto dir = r.string(*x, path + ".spillDir");
        if (!dir || dir->empty()) {
            if (dir) r.error(path + ".spillDir", "must not be empty");
            ok = false;
        } else {
            std::filesystem::path p(*dir);
            if (p.is_relative()) p = base / p;
            o.spill_dir = p.lexically_normal().string();
            while (o.spill_dir->size() > 1 && o.spill_dir->back() == '/') o.spill_dir->pop_back();
        }
    }
    if (!ok) return std::nullopt;
    return o;
}

std::optional<otlp_metrics_target> read_otlp_metrics_target(reader& r,
                                                            const json& v,
                                                            const std::string& path,
                                                            const std::filesystem::path& base) {
    if (!r.object(v, path)) return std::nullopt;
    r.check_keys(v, "otlpMetrics[]", path);
    otlp_metrics_target t;
    bool ok = true;
    read_otlp_connection(r, v, path, base, t.connection, ok);
    read_seconds(r, v, path, "interval", t.interval_secs, 86400, ok);
    if (!ok) return std::nullopt;
    return t;
}

std::vector<logging_params> read_logging(reader& r,
                                         const json& v,
                                         const std::string& path,
                                         const std::filesystem::path& base,
                                         const legacy_namespace_table& legacy,
                                         severity_threshold daemon_root) {
    std::vector<logging_params> out;
    if (!v.is_array()) {
        r.error(path, "expected a non-empty list of logging sections, got " + describe(v));
        return out;
    }
    if (v.empty()) {
        r.error(path, "must contain at least one logging section");
        return out;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string ipath = path + "[" + std::to_string(i) + "]";
        const json& e = v[i];
        if (!r.object(e, ipath)) continue;
        r.check_keys(e, "logging[]", ipath, [](const std::string& k) {
            return looks_like_switch("logging[]", k);
        });
        logging_params lp;
        bool ok = true;
        const json* mode = r.required(e, "logMode", ipath);
        // (Declared apart from its value: GCC 12 sees the ternary's optional as uninitialised.)
        log_mode mode_value = log_mode::file_mode;
        bool mode_ok = false;
        if (mode) {
            if (auto m = r.one_of(*mode,
                                  ipath + ".logMode",
                                  std::array<std::pair<std::string_view, log_mode>, 3>{
                                      {{"FileMode", log_mode::file_mode},
                                       {"JournalMode", log_mode::journal_mode},
                                       {"OTLPMode", log_mode::otlp_mode}}})) {
                mode_value = *m;
                mode_ok = true;
            }
        }
        // logRoot means nothing to an exporter: OTLPMode sections may leave it out.
        const bool otlp_mode = mode_ok && mode_value == log_mode::otlp_mode;
        const json* root =
            otlp_mode ? reader::field(e, "logRoot") : r.required(e, "logRoot", ipath);
        const json* fmt = r.required(e, "logFormat", ipath);
        std::optional<std::string> root_s =
            root ? r.string(*root, ipath + ".logRoot")
                 : (otlp_mode ? std::optional<std::string>(std::string()) : std::nullopt);
        if (otlp_mode) {
            if (const json* ov = r.required(e, "otlp", ipath)) {
                lp.otlp = read_otlp(r, *ov, ipath + ".otlp", base);
            }
            if (!lp.otlp) ok = false;
        } else if (reader::field(e, "otlp")) {
            r.warn(ipath + ".otlp", "only used with logMode: OTLPMode; ignored");
        }
        auto fmt_v = fmt ? r.one_of(*fmt,
                                    ipath + ".logFormat",
                                    std::array<std::pair<std::string_view, log_format>, 5>{
                                        {{"ForMachine", log_format::for_machine},
                                         {"ForHuman", log_format::for_human},
                                         {"DispatcherHuman", log_format::dispatcher_human},
                                         {"LegacyText", log_format::legacy_text},
                                         {"LegacyJson", log_format::legacy_json}}})
                         : std::nullopt;
        if (!root_s || !mode_ok || !fmt_v) ok = false;
        if (ok && mode_value == log_mode::file_mode && root_s->empty()) {
            r.error(ipath + ".logRoot", "must not be empty (empty logRoot(s))");
            ok = false;
        }
        if (ok) {
            lp.mode = mode_value;
            lp.format = fmt_v.value_or(log_format::for_machine);
        }
        trace_options explicit_rules;
        if (const json* t = reader::field(e, "TraceOptions")) {
            if (auto opts = read_trace_options(r, *t, ipath + ".TraceOptions", legacy)) {
                explicit_rules = std::move(*opts);
            } else {
                ok = false;
            }
        }
        // Switches of an old node config inside the section, then its explicit rules.
        const auto root_rule = explicit_rules.find("");
        const severity_threshold on =
            root_rule != explicit_rules.end() && root_rule->second.severity
                ? *root_rule->second.severity
                : daemon_root;
        lp.options = read_switches(r, e, "logging[]", ipath, legacy, on, ok);
        merge_over(lp.options, explicit_rules);
        if (!ok || !root_s) continue;
        std::filesystem::path p(*root_s);
        if (!root_s->empty() && p.is_relative()) p = (base / p);
        lp.log_root = root_s->empty() ? std::string() : p.lexically_normal().string();
        if (lp.log_root.size() > 1 && lp.log_root.back() == '/') lp.log_root.pop_back();
        // One exporter per spill directory: two would send (and delete) each other's files.
        if (lp.otlp && lp.otlp->spill_dir) {
            auto shared = std::find_if(out.begin(), out.end(), [&](const logging_params& o) {
                return o.otlp && o.otlp->spill_dir == lp.otlp->spill_dir &&
                       o.otlp->key() != lp.otlp->key();
            });
            if (shared != out.end()) {
                r.error(ipath + ".otlp.spillDir",
                        "is also the spill directory of an earlier section with other otlp "
                        "settings; give each exporter its own");
                continue;
            }
        }
        auto same = std::find_if(
            out.begin(), out.end(), [&](const logging_params& o) { return o.same_output(lp); });
        if (same != out.end() && same->options == lp.options) continue;  // a duplicate
        auto clash = std::find_if(out.begin(), out.end(), [&](const logging_params& o) {
            return o.mode == log_mode::file_mode && lp.mode == log_mode::file_mode &&
                   o.log_root == lp.log_root && o.format != lp.format &&
                   file_extension(o.format) == file_extension(lp.format);
        });
        if (clash != out.end()) {
            r.error(ipath + ".logFormat",
                    std::string(to_string(lp.format)) + " and " +
                        std::string(to_string(clash->format)) + " both write node-*." +
                        std::string(file_extension(lp.format)) +
                        " files; give one of them another logRoot");
            continue;
        }
        if (same != out.end()) {
            r.error(ipath,
                    "writes the same files as an earlier section (same logRoot, logMode and "
                    "logFormat) with other TraceOptions; merge their rules into one section");
            continue;
        }
        if (out.size() == max_logging_sections) {
            r.error(
                ipath,
                "too many logging sections (at most " + std::to_string(max_logging_sections) + ")");
            continue;
        }
        out.push_back(std::move(lp));
    }
    return out;
}

std::optional<rotation_params> read_rotation(reader& r, const json& v, const std::string& path) {
    if (!r.object(v, path)) return std::nullopt;
    r.check_keys(v, "rotation", path);
    rotation_params rp;
    bool ok = true;
    auto positive_u32 = [&](std::string_view key, std::uint32_t& dst, bool required) {
        const json* f = required ? r.required(v, key, path) : reader::field(v, key);
        if (!f) {
            ok = ok && !required;
            return;
        }
        auto x = r.uint(*f, reader::join(path, key), std::numeric_limits<std::uint32_t>::max());
        if (!x) {
            ok = false;
            return;
        }
        dst = static_cast<std::uint32_t>(*x);
    };
    positive_u32("rpFrequencySecs", rp.frequency_secs, false);
    if (const json* f = reader::field(v, "rpFrequencySecs");
        f && f->is_number() && rp.frequency_secs == 0) {
        r.error(reader::join(path, "rpFrequencySecs"), "must be greater than 0");
        ok = false;
    }
    if (const json* f = r.required(v, "rpLogLimitBytes", path)) {
        if (auto x = r.uint(*f, reader::join(path, "rpLogLimitBytes"))) {
            if (*x == 0) {
                r.error(reader::join(path, "rpLogLimitBytes"), "must be greater than 0");
                ok = false;
            }
            rp.log_limit_bytes = *x;
        } else {
            ok = false;
        }
    } else {
        ok = false;
    }
    positive_u32("rpKeepFilesNum", rp.keep_files_num, true);
    const json* minutes = reader::field(v, "rpMaxAgeMinutes");
    const json* hours = reader::field(v, "rpMaxAgeHours");
    if (minutes) {
        if (auto x = r.uint(*minutes, reader::join(path, "rpMaxAgeMinutes"))) {
            rp.max_age_minutes = *x;
        } else {
            ok = false;
        }
        if (hours) {
            // Still validate it, but say which one wins.
            if (r.uint(*hours, reader::join(path, "rpMaxAgeHours"))) {
                r.warn(reader::join(path, "rpMaxAgeHours"),
                       "ignored because rpMaxAgeMinutes is set");
            }
        }
    } else if (hours) {
        if (auto x = r.uint(*hours,
                            reader::join(path, "rpMaxAgeHours"),
                            std::numeric_limits<std::uint64_t>::max() / 60)) {
            rp.max_age_minutes = *x * 60;
        } else {
            ok = false;
        }
    }
    for (auto [key, dst] : {std::pair<std::string_view, std::optional<std::uint64_t>*>{
                                "rpMaxFilesNum", &rp.max_files_num},
                            {"rpMaxTotalBytes", &rp.max_total_bytes}}) {
        if (const json* f = reader::field(v, key)) {
            if (auto x = r.uint(*f, reader::join(path, key))) {
                if (*x == 0) {
                    r.error(reader::join(path, key), "must be greater than 0 (or null for no cap)");
                    ok = false;
                } else {
                    *dst = *x;
                }
            } else {
                ok = false;
            }
        }
    }
    if (const json* f = reader::field(v, "rpCompress")) {
        if (auto b = r.boolean(*f, reader::join(path, "rpCompress"))) rp.compress = *b;
    }
    if (const json* f = reader::field(v, "rpRemoveIdleDirs")) {
        if (auto b = r.boolean(*f, reader::join(path, "rpRemoveIdleDirs")))
            rp.remove_idle_dirs = *b;
    }
    if (!ok) return std::nullopt;
    return rp;
}

void check_ports(reader& r, const tracer_config& c) {
    std::vector<std::pair<std::string, std::uint16_t>> used;
    auto add = [&](std::string what, std::uint16_t port) {
        if (port == 0) return;  // any free port: never a duplicate
        for (const auto& [other, p] : used) {
            if (p == port) {
                r.error(what,
                        "port " + std::to_string(port) + " is also used by " + other +
                            " (duplicate ports in config)");
                return;
            }
        }
        used.emplace_back(std::move(what), port);
    };
    if (c.network.m == network_config::mode::accept_at && !c.network.addresses.empty() &&
        c.network.addresses.front().is_tcp() && c.network.addresses.front().port != 0) {
        add("network.contents", c.network.addresses.front().port);
    }
    if (c.has_ekg) add("hasEKG.epPort", c.has_ekg->port);
    if (c.has_prometheus) add("hasPrometheus.epPort", c.has_prometheus->port);
    if (c.has_timeseries) add("hasTimeseries.epPort", c.has_timeseries->port);
    for (const auto& [node, ep] : c.legacy_metrics_endpoints)
        add("legacyMetricsEndpoints.\"" + node + "\".epPort", ep.port);
    if (c.has_forwarding && c.has_forwarding->network.addresses.front().is_tcp() &&
        c.has_forwarding->network.addresses.front().port != 0) {
        add("hasForwarding[0].contents", c.has_forwarding->network.addresses.front().port);
    }
}

std::filesystem::path working_directory() {
    std::error_code ec;
    auto cwd = std::filesystem::current_path(ec);
    return ec ? std::filesystem::path("/") : cwd;  // a deleted CWD must not throw at the caller
}

legacy_namespace_table builtin_namespace_table() {
    std::vector<table_problem> problems;
    auto t = parse_legacy_namespaces(builtin_legacy_namespaces(), "built-in", problems);
    return t;  // tests keep the shipped file free of problems
}

/// A data file named by `key` (a legacy table): its path, absolute against `base`, and text.
struct data_file {
    std::string path;
    std::string text;
};

std::optional<data_file> read_data_file(reader& r,
                                        const json& v,
                                        const std::string& key,
                                        const std::filesystem::path& base) {
    auto name = r.string(v, key);
    if (!name) return std::nullopt;
    std::filesystem::path p(*name);
    if (p.is_relative()) p = base / p;
    data_file f{p.lexically_normal().string(), {}};
    std::ifstream in(f.path, std::ios::binary);
    if (!in) {
        r.error(key, "cannot read " + f.path);
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    f.text = ss.str();
    return f;
}

/// Reports a table's problems as errors of `key`, naming the file and line; true when none.
bool report_table_problems(reader& r,
                           const std::string& key,
                           const std::string& path,
                           const std::vector<table_problem>& problems) {
    for (const auto& p : problems) {
        r.error(key,
                path + (p.line ? ":" + std::to_string(p.line) : std::string()) + ": " + p.message);
    }
    return problems.empty();
}

load_result load_json(const json& root, const load_options& opts) {
    load_result result;
    reader r(result.diagnostics);
    tracer_config c;
    bool ok = true;
    auto fail = [&ok](auto&& opt) {
        if (!opt) ok = false;
        return std::forward<decltype(opt)>(opt);
    };

    if (!root.is_object()) {
        r.error("",
                "the configuration must be an object (a YAML mapping or a JSON object), got " +
                    describe(root));
        return result;
    }
    r.check_keys(root, "", "", [](const std::string& k) { return looks_like_switch("", k); });

    const std::filesystem::path base_dir =
        opts.base_dir.empty() ? working_directory() : opts.base_dir;
    // The legacy namespace table comes first: rule keys and switches are translated with it.
    c.legacy_namespaces = builtin_namespace_table();
    if (const json* v = reader::field(root, "legacyNamespaces")) {
        if (auto f = fail(read_data_file(r, *v, "legacyNamespaces", base_dir))) {
            c.legacy_namespaces_file = f->path;
            std::vector<table_problem> problems;
            auto t = parse_legacy_namespaces(f->text, f->path, problems);
            if (report_table_problems(r, "legacyNamespaces", f->path, problems)) {
                c.legacy_namespaces = std::move(t);
            } else {
                ok = false;
            }
        }
    }
    // The daemon's rules before the sections: a section's `TraceXxx: true` means the daemon's
    // root severity unless the section sets its own.
    {
        trace_options explicit_rules;
        if (const json* v = reader::field(root, "TraceOptions")) {
            if (auto t = fail(read_trace_options(r, *v, "TraceOptions", c.legacy_namespaces)))
                explicit_rules = *t;
        }
        const auto root_rule = explicit_rules.find("");
        const severity_threshold on =
            root_rule != explicit_rules.end() && root_rule->second.severity
                ? *root_rule->second.severity
                : severity_threshold{};
        c.trace_options_ = read_switches(r, root, "", "", c.legacy_namespaces, on, ok);
        merge_over(c.trace_options_, explicit_rules);
        // The root's default is explicit, so the effective rules (--print-config) are complete.
        if (!c.trace_options_[""].severity) c.trace_options_[""].severity = severity_threshold{};
    }

    if (const json* v = r.required(root, "networkMagic", "")) {
        if (auto x = fail(r.uint(*v, "networkMagic", std::numeric_limits<std::uint32_t>::max()))) {
            c.network_magic = static_cast<std::uint32_t>(*x);
        }
    } else {
        ok = false;
    }
    if (const json* v = r.required(root, "network", "")) {
        if (auto n = fail(read_network(r, *v, "network"))) c.network = *n;
    } else {
        ok = false;
    }
    if (const json* v = reader::field(root, "loRequestNum")) {
        if (auto x = fail(r.uint(*v, "loRequestNum", 65535))) {
            if (*x == 0) {
                r.error("loRequestNum",
                        "must be greater than 0 (a blocking request for 0 objects makes the node "
                        "spin)");
                ok = false;
            }
            c.lo_request_num = static_cast<std::uint16_t>(*x);
        }
    }
    if (const json* v = reader::field(root, "ekgRequestFreq")) {
        if (auto x = fail(r.number(*v, "ekgRequestFreq"))) {
            if (!(*x > 0)) {
                r.error("ekgRequestFreq", "must be greater than 0 seconds");
                ok = false;
            }
            c.ekg_request_freq = *x;
        }
    }
    if (const json* v = reader::field(root, "ekgRequestFull")) {
        if (auto x = fail(r.boolean(*v, "ekgRequestFull"))) c.ekg_request_full = *x;
    }
    for (auto [key, dst] :
         {std::pair<std::string_view, std::optional<endpoint>*>{"hasEKG", &c.has_ekg},
          {"hasPrometheus", &c.has_prometheus},
          {"hasTimeseries", &c.has_timeseries}}) {
        if (const json* v = reader::field(root, key)) {
            if (auto ep = fail(read_endpoint(r, *v, std::string(key)))) *dst = *ep;
        }
    }
    if (const json* v = reader::field(root, "tlsCertificate")) {
        if (auto t = fail(read_tls(r, *v, "tlsCertificate"))) c.tls_certificate_ = *t;
    }
    if (const json* v = reader::field(root, "hasForwarding")) {
        if (auto f = fail(read_forwarding(r, *v, "hasForwarding"))) c.has_forwarding = *f;
    }
    if (const json* v = r.required(root, "logging", "")) {
        const std::size_t before = result.diagnostics.size();
        c.logging = read_logging(
            r, *v, "logging", base_dir, c.legacy_namespaces, *c.trace_options_.at("").severity);
        for (std::size_t i = before; i < result.diagnostics.size(); ++i) {
            if (result.diagnostics[i].lvl == diagnostic::level::error) ok = false;
        }
        if (c.logging.empty()) ok = false;
    } else {
        ok = false;
    }
    if (const json* v = reader::field(root, "rotation")) {
        if (auto rp = fail(read_rotation(r, *v, "rotation"))) c.rotation = *rp;
    }
    if (const json* v = reader::field(root, "verbosity")) {
        if (auto x = fail(r.one_of(*v,
                                   "verbosity",
                                   std::array<std::pair<std::string_view, verbosity_level>, 3>{
                                       {{"Minimum", verbosity_level::minimum},
                                        {"ErrorsOnly", verbosity_level::errors_only},
                                        {"Maximum", verbosity_level::maximum}}}))) {
            c.verbosity = *x;
        }
    }
    if (const json* v = reader::field(root, "metricsNoSuffix")) {
        if (auto x = fail(r.boolean(*v, "metricsNoSuffix"))) c.metrics_no_suffix = *x;
    }
    if (const json* v = reader::field(root, "metricsHelp")) {
        if (v->is_string()) {
            c.metrics_help_ = v->get<std::string>();
        } else if (v->is_object()) {
            if (auto m = fail(read_string_map(r, *v, "metricsHelp"))) {
                std::erase_if(*m, [](const auto& kv) { return kv.second.empty(); });
                c.metrics_help_ = *m;
            }
        } else {
            r.error("metricsHelp",
                    "expected a file path or an object of help texts, got " + describe(*v));
            ok = false;
        }
    }
    if (const json* v = reader::field(root, "resourceFreq")) {
        if (auto x = fail(r.integer(*v, "resourceFreq"))) {
            if (*x <= 0) {
                r.error("resourceFreq",
                        "must be greater than 0 milliseconds (or null to turn it off)");
                ok = false;
            } else {
                c.resource_freq = static_cast<std::uint64_t>(*x);
            }
        }
    }
    if (const json* v = reader::field(root, "prometheusLabels")) {
        if (auto m = fail(read_string_map(r, *v, "prometheusLabels"))) c.prometheus_labels = *m;
    }

    // Extensions.
    if (const json* v = reader::field(root, "metricsLegacyNames")) {
        if (auto x = fail(r.boolean(*v, "metricsLegacyNames"))) c.metrics_legacy_names = *x;
    }
    if (c.metrics_legacy_names) {
        std::vector<table_problem> problems;
        c.metric_aliases = parse_metric_aliases(builtin_legacy_metrics(), problems);
    }
    if (const json* v = reader::field(root, "metricsAliases")) {
        if (auto f = fail(read_data_file(r, *v, "metricsAliases", base_dir))) {
            c.metrics_aliases_file = f->path;
            std::vector<table_problem> problems;
            auto mine = parse_metric_aliases(f->text, problems);
            if (!report_table_problems(r, "metricsAliases", f->path, problems)) ok = false;
            for (auto& [k, v2] : mine) c.metric_aliases[k] = std::move(v2);
        }
    }
    if (const json* v = reader::field(root, "legacyMetricsEndpoints")) {
        if (r.object(*v, "legacyMetricsEndpoints")) {
            for (const auto& [node, e] : v->items()) {
                const std::string epath = "legacyMetricsEndpoints.\"" + node + "\"";
                if (node.empty()) {
                    r.error(epath, "a node name must not be empty");
                    ok = false;
                    continue;
                }
                if (auto ep = fail(read_endpoint(r, e, epath))) {
                    if (ep->force_ssl && !c.tls_certificate_ &&
                        !reader::field(root, "tlsCertificate")) {
                        r.error(epath + ".epForceSSL", "requires tlsCertificate");
                        ok = false;
                    }
                    c.legacy_metrics_endpoints[node] = *ep;
                }
            }
        } else {
            ok = false;
        }
    }
    if (const json* v = reader::field(root, "remoteWrite")) {
        if (!v->is_array()) {
            r.error("remoteWrite",
                    "expected a list of { url, interval, timeout }, got " + describe(*v));
            ok = false;
        } else {
            for (std::size_t i = 0; i < v->size(); ++i) {
                const std::string epath = "remoteWrite[" + std::to_string(i) + "]";
                const json& e = (*v)[i];
                if (!r.object(e, epath)) {
                    ok = false;
                    continue;
                }
                r.check_keys(e, "remoteWrite[]", epath);
                remote_write_target t;
                if (const json* u = r.required(e, "url", epath)) {
                    if (auto url = fail(r.string(*u, epath + ".url"))) {
                        t.url = *url;
                        const bool http = t.url.rfind("http://", 0) == 0 && t.url.size() > 7;
                        const bool https = t.url.rfind("https://", 0) == 0 && t.url.size() > 8;
                        if (!http && !https) {
                            r.error(epath + ".url",
                                    "expected http(s)://HOST[:PORT]/PATH, got \"" + t.url + "\"");
                            ok = false;
                        }
                    }
                } else {
                    ok = false;
                }
                for (const auto& [key, dst] :
                     {std::pair<const char*, double*>{"interval", &t.interval_secs},
                      std::pair<const char*, double*>{"timeout", &t.timeout_secs}}) {
                    if (const json* x = reader::field(e, key)) {
                        if (auto n = fail(r.number(*x, reader::join(epath, key)))) {
                            if (!(*n > 0) || *n > 86400) {
                                r.error(reader::join(epath, key),
                                        "must be greater than 0 and at most 86400");
                                ok = false;
                            }
                            *dst = *n;
                        }
                    }
                }
                c.remote_write.push_back(std::move(t));
            }
        }
    }
    if (const json* v = reader::field(root, "otlpMetrics")) {
        if (!v->is_array()) {
            r.error("otlpMetrics",
                    "expected a list of { endpoint, interval, ... }, got " + describe(*v));
            ok = false;
        } else {
            for (std::size_t i = 0; i < v->size(); ++i) {
                auto t = read_otlp_metrics_target(
                    r, (*v)[i], "otlpMetrics[" + std::to_string(i) + "]", base_dir);
                if (t) {
                    c.otlp_metrics.push_back(std::move(*t));
                } else {
                    ok = false;
                }
            }
        }
    }
    if (const json* v = reader::field(root, "nodeTraceOptions")) {
        c.node_trace_options_ =
            read_node_trace_options(r, *v, "nodeTraceOptions", ok, c.legacy_namespaces);
    }
    if (const json* v = reader::field(root, "socketMode")) {
        if (v->is_number()) {
            // YAML reads an unquoted 0660 as the decimal number 660: say how to fix it.
            r.error(
                "socketMode",
                "expected a quoted string of octal digits such as \"0660\", got " + describe(*v));
            ok = false;
        }
        auto s = v->is_number() ? std::nullopt : fail(r.string(*v, "socketMode"));
        if (s) {
            const bool octal =
                (s->size() == 3 || (s->size() == 4 && (*s)[0] == '0')) && all_of(*s, is_octal);
            if (!octal) {
                r.error("socketMode",
                        "expected an octal file mode such as \"0660\", got " + describe(*v));
                ok = false;
            } else {
                c.socket_mode = static_cast<unsigned>(std::stoul(*s, nullptr, 8));
            }
        }
    }
    auto positive = [&](std::string_view key, std::uint64_t max, auto& dst) {
        if (const json* v = reader::field(root, key)) {
            if (auto x = fail(r.uint(*v, std::string(key), max))) {
                if (*x == 0) {
                    r.error(std::string(key), "must be greater than 0");
                    ok = false;
                } else {
                    dst = static_cast<std::remove_reference_t<decltype(dst)>>(*x);
                }
            }
        }
    };
    positive("maxMessageBytes", std::numeric_limits<std::uint64_t>::max(), c.max_message_bytes);
    positive("maxIngressBytes", std::numeric_limits<std::uint64_t>::max(), c.max_ingress_bytes);
    positive("writerQueueBatches", 1'000'000, c.writer_queue_batches);
    positive("outputQueueBytes", 1ull << 40, c.output_queue_bytes);
    positive("ioThreads", 64, c.io_threads);
    positive("maxConnections", 1'000'000, c.max_connections);
    positive("maxMetricsPerNode", 10'000'000, c.max_metrics_per_node);
    positive("maxTrackedNodes", 10'000'000, c.max_tracked_nodes);
    positive("timeseriesMaxSeries", 1ull << 32, c.timeseries_max_series);
    positive("timeseriesMaxPoints", 1ull << 40, c.timeseries_max_points);
    positive("timeseriesMaxPointsPerNode", 1ull << 40, c.timeseries_max_points_per_node);
    positive("timeseriesQueryMaxSteps", 1ull << 40, c.timeseries_query_max_steps);
    positive("timeseriesQueryMaxPoints", 1ull << 40, c.timeseries_query_max_points);
    if (const json* v = reader::field(root, "timeseriesQueryTimeoutSecs")) {
        if (auto x = fail(r.number(*v, "timeseriesQueryTimeoutSecs"))) {
            if (!(*x > 0) || *x > 3600) {
                r.error("timeseriesQueryTimeoutSecs", "must be greater than 0 and at most 3600");
                ok = false;
            }
            c.timeseries_query_timeout_secs = *x;
        }
    }
    if (const json* v = reader::field(root, "peerSilenceTimeoutSecs")) {
        if (auto x = fail(r.uint(*v, "peerSilenceTimeoutSecs", 86400)))
            c.peer_silence_timeout_secs = static_cast<std::uint32_t>(*x);
    }
    if (const json* v = reader::field(root, "tcpKeepAliveSecs")) {
        if (auto x = fail(r.uint(*v, "tcpKeepAliveSecs", 86400)))
            c.tcp_keep_alive_secs = static_cast<std::uint32_t>(*x);
    }
    if (c.max_ingress_bytes < c.max_message_bytes) {
        r.error("maxIngressBytes",
                "must be at least maxMessageBytes (" + std::to_string(c.max_message_bytes) + ")");
        ok = false;
    }
    if (const json* v = reader::field(root, "logFlushMillis")) {
        if (auto x = fail(r.uint(*v, "logFlushMillis", 10000)))
            c.log_flush_millis = static_cast<std::uint32_t>(*x);
    }
    if (const json* v = reader::field(root, "leadingEmptyLine")) {
        if (auto x = fail(r.boolean(*v, "leadingEmptyLine"))) c.leading_empty_line = *x;
    }
    if (const json* v = reader::field(root, "handshakeTimeoutSecs")) {
        if (auto x = fail(r.number(*v, "handshakeTimeoutSecs"))) {
            if (!(*x > 0)) {
                r.error("handshakeTimeoutSecs", "must be greater than 0");
                ok = false;
            }
            c.handshake_timeout_secs = *x;
        }
    }
    if (const json* v = reader::field(root, "shutdownTimeoutSecs")) {
        if (auto x = fail(r.number(*v, "shutdownTimeoutSecs"))) {
            if (!(*x > 0) || *x > 86400) {
                r.error("shutdownTimeoutSecs", "must be greater than 0 and at most 86400");
                ok = false;
            }
            c.shutdown_timeout_secs = *x;
        }
    }

    // Cross-field checks.
    check_ports(r, c);
    for (auto [name, ep] :
         {std::pair<std::string_view, const std::optional<endpoint>*>{"hasEKG", &c.has_ekg},
          {"hasPrometheus", &c.has_prometheus},
          {"hasTimeseries", &c.has_timeseries}}) {
        if (*ep && (*ep)->force_ssl && !c.tls_certificate_) {
            r.error(std::string(name) + ".epForceSSL",
                    "requires tlsCertificate (cardano-tracer would silently serve plain HTTP)");
        }
    }

    if (opts.strict) {
        for (auto& d : result.diagnostics) d.lvl = diagnostic::level::error;
    }
    const bool any_error =
        std::any_of(result.diagnostics.begin(), result.diagnostics.end(), [](const diagnostic& d) {
            return d.lvl == diagnostic::level::error;
        });
    if (ok && !any_error) result.config = std::move(c);
    return result;
}

}  // namespace

std::string diagnostic::to_string() const { return path.empty() ? message : path + ": " + message; }

std::string address::to_string() const {
    return is_tcp() ? host + ":" + std::to_string(port) : path;
}

std::string otlp_settings::key() const {
    nlohmann::ordered_json j;
    j["endpoint"] = endpoint;
    j["encoding"] = enc == encoding::json ? "json" : "protobuf";
    j["headers"] = headers;
    j["resourceAttributes"] = resource_attributes;
    j["gzip"] = gzip;
    j["timeout"] = timeout_secs;
    j["batchSize"] = batch_records;
    j["batchDelay"] = batch_delay_secs;
    j["queueBytes"] = queue_bytes;
    j["policy"] = policy == overflow::drop ? "drop" : "block";
    j["caFile"] = ca_file ? json(*ca_file) : json(nullptr);
    j["spillDir"] = spill_dir ? json(*spill_dir) : json(nullptr);
    j["spillMaxBytes"] = spill_max_bytes;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view to_string(log_mode m) {
    return m == log_mode::file_mode      ? "FileMode"
           : m == log_mode::journal_mode ? "JournalMode"
           : m == log_mode::otlp_mode    ? "OTLPMode"
                                         : "ForwardMode";
}
std::string_view to_string(log_format f) {
    switch (f) {
        case log_format::for_machine:
            return "ForMachine";
        case log_format::for_human:
            return "ForHuman";
        case log_format::dispatcher_human:
            return "DispatcherHuman";
        case log_format::legacy_text:
            return "LegacyText";
        case log_format::legacy_json:
            return "LegacyJson";
    }
    return "ForMachine";
}

std::string_view file_extension(log_format f) {
    return f == log_format::for_machine || f == log_format::legacy_json ? "json" : "log";
}
std::string_view to_string(verbosity_level v) {
    switch (v) {
        case verbosity_level::minimum:
            return "Minimum";
        case verbosity_level::errors_only:
            return "ErrorsOnly";
        case verbosity_level::maximum:
            return "Maximum";
    }
    return "ErrorsOnly";
}

std::string_view to_string(const severity_threshold& t) {
    return t.silence ? std::string_view("Silence") : protocol::severity_name(t.min);
}

std::optional<address> parse_address(std::string_view text) {
    if (text.empty()) return std::nullopt;
    if (auto colon = text.rfind(':'); colon != std::string_view::npos && colon > 0) {
        auto port_text = text.substr(colon + 1);
        unsigned long port = 0;
        auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (!port_text.empty() && ec == std::errc() && p == port_text.data() + port_text.size() &&
            port <= 65535 && std::all_of(port_text.begin(), port_text.end(), [](char ch) {
                return ch >= '0' && ch <= '9';
            })) {
            address a;
            a.k = address::kind::tcp;
            a.host = std::string(text.substr(0, colon));
            a.port = static_cast<std::uint16_t>(port);
            return a;
        }
    }
    address a;
    a.k = address::kind::local;
    a.path = std::string(text);
    return a;
}

namespace {

// YAML scalars are bytes; the configuration is text. A string that is not valid UTF-8 cannot
// be shown (--print-config, Tracer.ConfigIs) nor used as a path we report, so it is refused
// here with its field path, before anything else looks at it.
bool valid_utf8_text(const std::string& s) {
    try {
        (void)json(s).dump();  // the strict error handler throws on invalid UTF-8
        return true;
    } catch (const json::exception&) {
        return false;
    }
}

void find_invalid_utf8(const json& v, const std::string& path, std::vector<diagnostic>& out) {
    if (v.is_string()) {
        if (!valid_utf8_text(v.get_ref<const std::string&>()))
            out.push_back({diagnostic::level::error, path, "is not valid UTF-8"});
    } else if (v.is_array()) {
        for (std::size_t i = 0; i < v.size(); ++i)
            find_invalid_utf8(v[i], path + "[" + std::to_string(i) + "]", out);
    } else if (v.is_object()) {
        for (const auto& [k, item] : v.items()) {
            if (!valid_utf8_text(k)) {
                out.push_back(
                    {diagnostic::level::error, path, "holds a key that is not valid UTF-8"});
                continue;
            }
            find_invalid_utf8(item, path.empty() ? k : path + "." + k, out);
        }
    }
}

}  // namespace

load_result load_string(std::string_view text, const load_options& opts) {
    json root;
    try {
        YAML::Node doc = YAML::Load(std::string(text));
        root = yaml_to_json(doc);
    } catch (const YAML::Exception& e) {
        load_result r;
        std::ostringstream msg;
        msg << "invalid YAML/JSON at line " << (e.mark.line + 1) << ", column "
            << (e.mark.column + 1) << ": " << e.msg;
        r.diagnostics.push_back({diagnostic::level::error, "", msg.str()});
        return r;
    }
    try {
        load_result r;
        find_invalid_utf8(root, "", r.diagnostics);
        if (!r.diagnostics.empty()) return r;
        r = load_json(root, opts);
        r.document = std::move(root);
        return r;
    } catch (const std::exception& e) {
        // Not expected; the contract is diagnostics, never exceptions.
        load_result r;
        r.diagnostics.push_back(
            {diagnostic::level::error, "", std::string("internal error: ") + e.what()});
        return r;
    }
}

load_result load_file(const std::filesystem::path& file, const load_options& opts) {
    std::error_code ec;
    const auto st = std::filesystem::status(file, ec);
    std::ifstream in;
    if (!std::filesystem::is_directory(st)) in.open(file, std::ios::binary);
    if (!in.is_open() || !in) {
        const char* why = !std::filesystem::exists(st)        ? "no such file"
                          : std::filesystem::is_directory(st) ? "it is a directory"
                                                              : "permission denied or unreadable";
        load_result r;
        r.diagnostics.push_back(
            {diagnostic::level::error,
             "",
             "cannot read the configuration file " + file.string() + " (" + why + ")"});
        return r;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return load_string(ss.str(), opts);
}

}  // namespace ct::config
