// Node identity and naming rules of cardano-tracer 0.5.0 (spec §4): the NodeId derived from
// the peer address, name sanitising, the log directory name, the HTTP slug, and a registry
// that keeps names unique among live connections. Free functions are pure; the registry is
// thread-safe.
#pragma once

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
/// leading/trailing characters that are not letters or digits are stripped.
std::string sanitize_node_name(std::string_view name);

/// The node's sub-directory under logRoot (spec §4.3), made safe: always one path component,
/// never "." or "..", no NUL or control characters, at most 200 bytes.
std::string log_directory_name(std::string_view name);

/// slugify 0.1.0.2 (spec §7.0) for ASCII input; non-ASCII characters are dropped.
std::string slugify(std::string_view name);

/// Unique node names among live connections. The first connection keeps a name; a later one
/// with the same name gets its NodeId instead (as upstream), or NodeId-2, -3 … if that is
/// taken too. Names are settled before anything is written, so no batch can land in another
/// node's files.
class node_name_registry {
  public:
    /// Returns the name assigned to `node_id`.
    std::string claim(const std::string& preferred, const std::string& node_id);
    void release(const std::string& node_id);
    std::size_t size() const;

  private:
    mutable std::mutex mutex_;
    std::map<std::string, std::string> owner_of_name_;  // name -> node id
    std::map<std::string, std::string> name_of_node_;   // node id -> name
};

}  // namespace ct::dispatcher
