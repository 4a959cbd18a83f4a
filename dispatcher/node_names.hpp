// Node identity and naming rules of cardano-tracer 0.5.0 (spec §4): the NodeId derived from
// the peer address, name sanitising, the log directory name, the HTTP slug, and a registry
// that keeps names unique among live connections. Free functions are pure; the registry is
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace ct::dispatcher {

/// Steps 1–6 of spec §4.1 applied to the Haskell rendering of a peer address.
std::string node_id_from_rendering(std::string_view rendering);
/// AcceptAt on a Unix socket: the listening path and the n-th accepted connection ("@n").
std::string node_id_for_accepted_path(std::string_view listen_path, std::uint64_t n);
/// ConnectTo a Unix socket.
std::string node_id_for_connected_path(std::string_view path);
/// TCP: "ip:port" or "[ip6]:port".
std::string node_id_for_tcp(std::string_view ip_port);

/// `sanitize` of spec §4.2: `"` `'` `:` `@` and whitespace become `_`, `*` and `?` go, and
/// leading/trailing characters that are not letters or digits are stripped (non-ASCII bytes
/// count as letters, approximating Haskell's Unicode isAlphaNum).
std::string sanitize_node_name(std::string_view name);

inline constexpr std::size_t max_directory_bytes = 200;

/// The node's sub-directory under logRoot (spec §4.3), made safe: always one path component,
/// never "." or "..", no NUL, control characters or backslashes, at most max_directory_bytes
/// (cut at a UTF-8 boundary). Falls back to slugify(name) as upstream, then to "node"; the
/// registry keeps directories unique, so such fallbacks never share a directory.
std::string log_directory_name(std::string_view name);

/// slugify 0.1.0.2 (spec §7.0): NFKD folding of Latin-1, Latin Extended-A, fullwidth forms
/// and compatibility spaces (a table, not full Unicode normalisation), other non-ASCII dropped,
/// lower-cased, letters and digits kept, '-', '_' and whitespace separate, parts joined by '-'.
std::string slugify(std::string_view name);

/// Unique node names among live connections. The first connection keeps a name; a later one
/// whose name is taken gets its NodeId instead (as upstream), or NodeId-2, NodeId-3 … if that
/// is taken too. "Taken" is stricter than upstream: a name also collides when its log
/// directory (log_directory_name) or its HTTP slug (slugify, when non-empty) equals that of a
/// live node's name, because two nodes sharing a directory would share the `node.json` symlink
/// and confuse rotation, and two sharing a slug would share a route. The session claims its
/// name before it hands over the first batch, so no batch ever lands in another node's files
/// (upstream writes the first batch of a colliding node under the other node's name).
class node_name_registry {
  public:
    /// Returns the name assigned to `node_id`; a node id that already holds a name keeps it.
    std::string claim(const std::string& preferred, const std::string& node_id);
    /// Frees the node's name (and its directory and slug) for later connections.
    void release(const std::string& node_id);
    /// The name held by `node_id`, empty if none.
    std::string name_of(const std::string& node_id) const;
    std::size_t size() const;

  private:
    struct held {
        std::string name, directory, slug;
    };
    bool taken(const held& h) const;

    mutable std::mutex mutex_;
    std::map<std::string, held> by_node_;                             // node id -> what it holds
    std::map<std::string, std::string> names_, directories_, slugs_;  // -> node id
};

}  // namespace ct::dispatcher
