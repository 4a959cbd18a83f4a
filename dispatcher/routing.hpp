// The dispatcher's rules compiled from one configuration snapshot: the logging sections (what
// each writes), and per node name the merged TraceOptions of every section (daemon map, then
// every matching nodeTraceOptions entry in order, then the section's own map; key by key,
// option by option). Resolution follows trace-dispatcher (spec dispatcher §2.7): per option,
// the most specific whole-segment prefix of the namespace that sets it wins.
// Immutable once built; shared by the sessions and the writer as shared_ptr<const routing>.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "protocol/severity.hpp"

namespace ct::dispatcher {

/// One bit per logging section, by its index in `routing::sections()`.
using section_mask = std::uint64_t;

/// What a logging section writes; it identifies the section across reloads (a section that
/// keeps its root, mode and format keeps its files wherever it moves in the list).
struct section_id {
    std::string log_root;
    config::log_mode mode = config::log_mode::file_mode;
    config::log_format format = config::log_format::for_machine;
    std::string exporter = {};  // OTLPMode: the exporter's otlp_settings::key()
    bool operator==(const section_id&) const = default;
    auto operator<=>(const section_id&) const = default;
};

/// The resolved options of one namespace for one node, over all sections.
struct resolved_route {
    /// Sections whose threshold lets an object of each severity through.
    std::array<section_mask, protocol::all_severities.size()> by_severity{};
    /// Frequency limits: sections sharing one maxFrequency share one limiter.
    struct limit {
        double max_frequency = 0;
        section_mask sections = 0;
        bool operator==(const limit&) const = default;
    };
    std::vector<limit> limits;
    bool operator==(const resolved_route&) const = default;
};

/// The rules of one node name: per section, the merged map.
class node_rules {
  public:
    node_rules(std::size_t sections, std::vector<config::trace_options> merged);
    /// Resolves `ns` (dotted) into `out`, reusing its storage (no allocation once warm).
    void resolve(std::string_view ns, resolved_route& out) const;
    std::size_t sections() const { return merged_.size(); }
    /// Per section: the merged TraceOptions (for --print-config style displays and tests).
    const config::trace_options& merged(std::size_t section) const { return merged_[section]; }

  private:
    using lookup_map = std::map<std::string, config::trace_option, std::less<>>;
    std::vector<config::trace_options> merged_;
    std::vector<lookup_map> lookup_;
    std::vector<std::size_t> same_as_;  // index of the first section with identical rules
};

class routing {
  public:
    static std::shared_ptr<const routing> build(const config::tracer_config& cfg);

    const std::vector<section_id>& sections() const { return sections_; }
    section_mask all_sections() const { return all_; }
    /// The rules that apply to `node_name` (glob matches are done here, once per node).
    std::shared_ptr<const node_rules> rules_for(std::string_view node_name) const;
    /// The nodeTraceOptions patterns that match `node_name`, in the order applied.
    std::vector<std::string> matching_patterns(std::string_view node_name) const;
    /// True when no rule can drop anything (every section takes everything): the session
    /// can skip resolution altogether.
    bool passes_everything() const { return passes_everything_; }

  private:
    std::vector<section_id> sections_;
    section_mask all_ = 0;
    config::trace_options daemon_;
    std::vector<config::node_trace_options> nodes_;
    std::vector<config::trace_options> section_rules_;
    bool passes_everything_ = false;
};

/// Shell-style glob (`*`, `?`, `[...]`, `[!...]`) over the whole name.
bool glob_match(std::string_view pattern, std::string_view name);

/// The top-level segment of a dotted namespace ("ChainDB" of "ChainDB.AddBlockEvent").
inline std::string_view top_segment(std::string_view ns) { return ns.substr(0, ns.find('.')); }

}  // namespace ct::dispatcher
