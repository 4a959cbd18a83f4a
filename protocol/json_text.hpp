// JSON text of a string as aeson writes it (trace-dispatcher's lines, cardano-tracer's
// timeseries answers): '"' and '\\' escaped, \n \r \t by name, other control characters as
// \u00xx (lower-case hex), everything else (DEL, '/', all of UTF-8) as it is.
#pragma once

#include <string>
#include <string_view>

namespace ct::protocol {

/// Appends `s` as a JSON string, quotes included (input is UTF-8).
void append_json_string(std::string& out, std::string_view s);

}  // namespace ct::protocol
