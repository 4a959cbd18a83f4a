// How aeson (the Haskell JSON library cardano-tracer uses) writes a Double (spec timeseries
// §6.4): shortest round-trip digits, integers without ".0", exponent form outside 10^-1..10^7,
// NaN as null, infinities as the strings "+inf"/"-inf".
#pragma once

#include <string>

namespace ct::tracer::timeseries {

/// The JSON text of `x` as aeson writes it (a number, null, or a quoted string).
std::string aeson_number(double x);

}  // namespace ct::tracer::timeseries
