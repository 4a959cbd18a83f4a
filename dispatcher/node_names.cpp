#include "dispatcher/node_names.hpp"

#include <cctype>

namespace ct::dispatcher {
namespace {

void erase_all(std::string& s, std::string_view what) {
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos))
        s.erase(pos, what.size());
}

// Haskell's isAlphaNum is Unicode-aware; bytes of multi-byte UTF-8 sequences count as
// letters so that names like "nœud" or "節点" are not stripped away.
bool is_alnum(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || std::isalnum(u) != 0;
}

// Cuts at most `max` bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, std::size_t max) {
    if (s.size() <= max) return;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
}

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
    truncate_utf8(safe, max_directory_bytes);
    if (safe.empty() || safe == "." || safe == "..") safe = slugify(name);
    truncate_utf8(safe, max_directory_bytes);
    if (safe.empty()) safe = "node";
    return safe;
}

namespace {

// NFKD + "drop non-ASCII" of U+00C0..U+017F, one byte per code point ('.' = nothing left).
// Generated with Python's unicodedata; U+0132/U+0133 (IJ, ij) are handled separately.
constexpr std::string_view latin_fold =
    "AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.yAaAaAaCcCcCcCcDd..EeEeEeEe"
    "EeGgGgGgGgHh..IiIiIiIiI...JjKk.LlLlLlLl..NnNnNnn..OoOoOo..RrRrRrSsSsSsSsTtTt..UuUuUuUuUu"
    "UuWwYyYZzZzZzs";

// Decodes one UTF-8 code point at `i` (advancing it); invalid bytes decode as U+FFFD.
char32_t next_code_point(std::string_view s, std::size_t& i) {
    const auto b0 = static_cast<unsigned char>(s[i++]);
    if (b0 < 0x80) return b0;
    int extra = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC0 ? 1 : -1;
    if (extra < 0) return 0xFFFD;
    char32_t cp = b0 & (0x3F >> extra);
    for (; extra > 0; --extra) {
        if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return 0xFFFD;
        cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
    }
    return cp;
}

// What NFKD leaves in ASCII for a code point: the folded text, or empty.
std::string_view ascii_fold(char32_t cp, char (&one)[2]) {
    auto single = [&](char c) {
        one[0] = c;
        return std::string_view(one, 1);
    };
    if (cp < 0x80) return single(static_cast<char>(cp));
    if (cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
        cp == 0x3000)
        return single(' ');  // compatibility spaces decompose to U+0020
    if (cp == 0xAA) return single('a');
    if (cp == 0xBA) return single('o');
    if (cp == 0xB2) return single('2');
    if (cp == 0xB3) return single('3');
    if (cp == 0xB9) return single('1');
    if (cp == 0x132) return "IJ";
    if (cp == 0x133) return "ij";
    if (cp >= 0xC0 && cp < 0x180) {
        const char c = latin_fold[cp - 0xC0];
        return c == '.' ? std::string_view() : single(c);
    }
    if (cp >= 0xFF01 && cp <= 0xFF5E) return single(static_cast<char>(cp - 0xFF01 + 0x21));
    return {};
}

}  // namespace

std::string slugify(std::string_view name) {
    std::string out;
    bool pending_separator = false;
    for (std::size_t i = 0; i < name.size();) {
        char one[2] = {};
        for (char c : ascii_fold(next_code_point(name, i), one)) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '-' || c == '_' || std::isspace(u)) {
                pending_separator = true;
                continue;
            }
            if (!std::isalnum(u)) continue;
            if (pending_separator && !out.empty()) out.push_back('-');
            pending_separator = false;
            out.push_back(static_cast<char>(std::tolower(u)));
        }
    }
    return out;
}

bool node_name_registry::taken(const held& h) const {
    return h.name.empty() || names_.contains(h.name) || directories_.contains(h.directory) ||
           (!h.slug.empty() && slugs_.contains(h.slug));
}

std::string node_name_registry::claim(const std::string& preferred, const std::string& node_id) {
    auto make = [](std::string name) {
        held h;
        h.directory = log_directory_name(name);
        h.slug = slugify(name);
        h.name = std::move(name);
        return h;
    };
    std::lock_guard lock(mutex_);
    if (auto it = by_node_.find(node_id); it != by_node_.end()) return it->second.name;
    held h = make(preferred);
    if (taken(h)) h = make(node_id);
    // Bounded: each live node blocks at most three candidates (name, directory, slug).
    for (std::size_t k = 2; taken(h); ++k) h = make(node_id + "-" + std::to_string(k));
    names_[h.name] = node_id;
    directories_[h.directory] = node_id;
    if (!h.slug.empty()) slugs_[h.slug] = node_id;
    auto& slot = by_node_[node_id];
    slot = std::move(h);
    return slot.name;
}

void node_name_registry::release(const std::string& node_id) {
    std::lock_guard lock(mutex_);
    auto it = by_node_.find(node_id);
    if (it == by_node_.end()) return;
    names_.erase(it->second.name);
    directories_.erase(it->second.directory);
    if (!it->second.slug.empty()) slugs_.erase(it->second.slug);
    by_node_.erase(it);
}

std::string node_name_registry::name_of(const std::string& node_id) const {
    std::lock_guard lock(mutex_);
    auto it = by_node_.find(node_id);
    return it == by_node_.end() ? std::string() : it->second.name;
}

std::size_t node_name_registry::size() const {
    std::lock_guard lock(mutex_);
    return by_node_.size();
}

}  // namespace ct::dispatcher
