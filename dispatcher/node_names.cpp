#include "dispatcher/node_names.hpp"

#include <cctype>

namespace ct::dispatcher {
namespace {

void erase_all(std::string& s, std::string_view what) {
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos))
        s.erase(pos, what.size());
}

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::string node_id_from_rendering(std::string_view rendering) {
    std::string s(rendering);
    erase_all(s, "LocalAddress");
    erase_all(s, ".");
    erase_all(s, "pipe");
    for (char& c : s) {
        if (c == '\\' || c == '/' || c == '"' || c == ' ') c = '-';
    }
    // Delete every non-overlapping "--", left to right, in one pass.
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '-' && i + 1 < s.size() && s[i + 1] == '-') {
            ++i;
            continue;
        }
        out.push_back(s[i]);
    }
    if (!out.empty() && out.back() == '-') out.pop_back();
    if (!out.empty() && out.front() == '-') out.erase(0, 1);
    return out;
}

std::string node_id_for_accepted_path(std::string_view listen_path, std::uint64_t n) {
    return node_id_from_rendering("LocalAddress \"" + std::string(listen_path) + "@" +
                                  std::to_string(n) + "\"");
}

std::string node_id_for_connected_path(std::string_view path) {
    return node_id_from_rendering("LocalAddress \"" + std::string(path) + "\"");
}

std::string node_id_for_tcp(std::string_view ip_port) { return node_id_from_rendering(ip_port); }

std::string sanitize_node_name(std::string_view name) {
    std::string s;
    s.reserve(name.size());
    for (char c : name) {
        if (c == '*' || c == '?') continue;
        if (c == '"' || c == '\'' || c == ':' || c == '@' ||
            std::isspace(static_cast<unsigned char>(c))) {
            s.push_back('_');
        } else {
            s.push_back(c);
        }
    }
    std::size_t b = 0, e = s.size();
    while (b < e && !is_alnum(s[b])) ++b;
    while (e > b && !is_alnum(s[e - 1])) --e;
    return s.substr(b, e - b);
}

std::string log_directory_name(std::string_view name) {
    std::string s = sanitize_node_name(name);
    if (auto slash = s.find_last_of('/'); slash != std::string::npos) s = s.substr(slash + 1);
    std::string safe;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '\\') continue;
        safe.push_back(c);
    }
    if (safe.size() > 200) safe.resize(200);
    if (safe.empty() || safe == "." || safe == "..") safe = slugify(name);
    if (safe.size() > 200) safe.resize(200);
    if (safe.empty()) safe = "node";
    return safe;
}

std::string slugify(std::string_view name) {
    std::string out;
    bool pending_separator = false;
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) continue;
        if (c == '-' || c == '_' || std::isspace(u)) {
            pending_separator = true;
            continue;
        }
        if (!std::isalnum(u)) continue;
        if (pending_separator && !out.empty()) out.push_back('-');
        pending_separator = false;
        out.push_back(static_cast<char>(std::tolower(u)));
    }
    return out;
}

std::string node_name_registry::claim(const std::string& preferred, const std::string& node_id) {
    std::lock_guard lock(mutex_);
    if (auto it = name_of_node_.find(node_id); it != name_of_node_.end()) return it->second;
    auto free = [&](const std::string& n) { return !n.empty() && !owner_of_name_.contains(n); };
    std::string name = preferred;
    if (!free(name)) name = node_id;
    for (int k = 2; !free(name); ++k) name = node_id + "-" + std::to_string(k);
    owner_of_name_[name] = node_id;
    name_of_node_[node_id] = name;
    return name;
}

void node_name_registry::release(const std::string& node_id) {
    std::lock_guard lock(mutex_);
    if (auto it = name_of_node_.find(node_id); it != name_of_node_.end()) {
        owner_of_name_.erase(it->second);
        name_of_node_.erase(it);
    }
}

std::size_t node_name_registry::size() const {
    std::lock_guard lock(mutex_);
    return owner_of_name_.size();
}

}  // namespace ct::dispatcher
