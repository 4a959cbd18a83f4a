#include "tracer/timeseries/aeson_number.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace ct::tracer::timeseries {

decimal_digits shortest_digits(double x) {
    // From to_chars' shortest scientific form "d.ddde±x".
    char buf[64];
    const auto res =
        std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::scientific);
    const std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
    const auto epos = sci.find('e');
    decimal_digits d;
    for (char c : sci.substr(0, epos)) {
        if (c != '.') d.digits.push_back(c);
    }
    while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
    d.exponent = std::atoi(std::string(sci.substr(epos + 1)).c_str()) + 1;
    return d;
}

std::string show_ffloat(double x) {
    if (std::isnan(x)) return "NaN";
    if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
    if (x < 0 || std::signbit(x)) return "-" + show_ffloat(-x);
    if (x == 0) return "0.0";
    const auto [digits, e] = shortest_digits(x);
    const int n = static_cast<int>(digits.size());
    if (e <= 0) return "0." + std::string(static_cast<std::size_t>(-e), '0') + digits;
    if (n <= e) return digits + std::string(static_cast<std::size_t>(e - n), '0') + ".0";
    return digits.substr(0, static_cast<std::size_t>(e)) + "." +
           digits.substr(static_cast<std::size_t>(e));
}

std::string aeson_number(double x) {
    if (std::isnan(x)) return "null";
    if (std::isinf(x)) return x > 0 ? "\"+inf\"" : "\"-inf\"";
    if (x == 0) return "0";
    const auto [digits, e] = shortest_digits(x);
    const int n = static_cast<int>(digits.size());
    const int b = e - n;
    std::string out = x < 0 ? "-" : "";
    if (b >= 0 && b <= 1024) {
        out += digits;
        out.append(static_cast<std::size_t>(b), '0');
    } else if (e < 0 || e > 7) {
        out.push_back(digits[0]);
        out.push_back('.');
        out += n == 1 ? std::string("0") : digits.substr(1);
        out += "e" + std::to_string(e - 1);
    } else if (e == 0) {
        out += "0." + digits;
    } else {
        out += digits.substr(0, static_cast<std::size_t>(e)) + "." +
               digits.substr(static_cast<std::size_t>(e));
    }
    return out;
}

}  // namespace ct::tracer::timeseries
