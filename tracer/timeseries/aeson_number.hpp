// How aeson (the Haskell JSON library cardano-tracer uses) writes a Double (spec timeseries
// §6.4): shortest round-trip digits, integers without ".0", exponent form outside 10^-1..10^7,
// NaN as null, infinities as the strings "+inf"/"-inf".
#pragma once

#include <string>

namespace ct::tracer::timeseries {

/// The JSON text of `x` as aeson writes it (a number, null, or a quoted string).
std::string aeson_number(double x);

/// The shortest digits that read back as |x| (finite, non-zero): |x| = 0.d1…dn × 10^exponent,
/// as GHC's floatToDigits gives them.
struct decimal_digits {
    std::string digits;
    int exponent = 0;
};
decimal_digits shortest_digits(double x);

/// Haskell's `showFFloat Nothing x ""` (spec timeseries §6.5): never an exponent, "15.0",
/// "0.000033333333333333335", "NaN", "Infinity", "-Infinity".
std::string show_ffloat(double x);

}  // namespace ct::tracer::timeseries
