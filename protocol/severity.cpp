#include "protocol/severity.hpp"

namespace ct::protocol {
namespace {

constexpr std::array<std::string_view, 8> names{
    "Debug", "Info", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency"};

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string_view severity_name(severity s) {
    const auto i = static_cast<std::size_t>(s);
    return i < names.size() ? names[i] : "Info";
}

std::optional<severity> parse_severity(std::string_view name) {
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (name == names[i]) return all_severities[i];
    }
    return std::nullopt;
}

std::optional<severity> read_severity(std::string_view text) {
    text = trim(text);
    // Read accepts any number of redundant parentheses around a nullary constructor.
    while (text.size() >= 2 && text.front() == '(' && text.back() == ')') {
        text = trim(text.substr(1, text.size() - 2));
    }
    return parse_severity(text);
}

}  // namespace ct::protocol
