// Translation of a configuration snapshot into what each part of the daemon consumes, so that
// only this file pair knows the configuration's field names. Pure functions.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "tracer/core/endpoints.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/outputs/output_router.hpp"

namespace ct::tracer {

session_settings make_session_settings(const config::tracer_config& cfg);
outputs::writer_options make_writer_options(const config::tracer_config& cfg);

struct network_plan {
    bool accept = true;                       // AcceptAt (listen) or ConnectTo (dial)
    std::vector<endpoint_address> addresses;  // one for AcceptAt; de-duplicated for ConnectTo
    unsigned socket_mode = 0660;
};
network_plan make_network_plan(const config::tracer_config& cfg);

}  // namespace ct::tracer
