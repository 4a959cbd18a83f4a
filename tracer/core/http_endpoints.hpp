// The daemon's HTTP endpoints (hasPrometheus, hasEKG, each legacyMetricsEndpoints entry) as
// one reloadable set. A reload prepares first: TLS files are re-read for every HTTPS endpoint
// (a renewed certificate is picked up; a bad pair refuses the reload, naming the file) and
// endpoints at a new address are bound. The commit then starts new endpoints, swaps TLS
// contexts in place, and stops removed ones (their keep-alive clients are closed after any
// answer being written). An unchanged endpoint keeps serving throughout. Control strand only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "tracer/metrics/http_server.hpp"

namespace ct::tracer {

class self_log;

class http_endpoints {
  public:
    /// The request handler of an endpoint, by name ("hasPrometheus", "hasEKG",
    /// "legacyMetricsEndpoints.<node>").
    using handler_factory = std::function<metrics::http_server::handler(const std::string& name)>;

    http_endpoints(boost::asio::io_context& ioc, handler_factory handlers, self_log& log);
    ~http_endpoints();

    /// One endpoint as a snapshot wants it.
    struct spec {
        std::string name;
        std::string host;
        std::uint16_t port = 0;
        std::optional<metrics::tls_files> tls;
        bool operator==(const spec&) const = default;
    };
    static std::vector<spec> specs_of(const config::tracer_config& c);

    /// A prepared reload of the endpoints.
    struct change {
        enum class action { keep_tls, replace, add, remove };
        struct item {
            spec wanted;
            action what = action::add;
            std::shared_ptr<const metrics::tls_context> tls;  // the context to serve with
            std::unique_ptr<metrics::http_server> server;     // bound by prepare(), not started
            bool bind_after_stop = false;  // its port is held by an endpoint that goes away
        };
        std::vector<item> items;
    };
    /// Loads TLS contexts and binds endpoints at new addresses; throws metrics::endpoint_error
    /// (nothing running is touched).
    std::unique_ptr<change> prepare(const config::tracer_config& c);
    /// Applies a prepared change; returns problems of endpoints that could only be bound after
    /// their predecessor on the same port closed and then failed (the rest applies).
    std::vector<std::string> commit(std::unique_ptr<change> c);
    /// Human-readable summary of a prepared change (for Tracer.ConfigReloaded).
    static std::vector<std::string> summary(const change& c);
    /// Shutdown: every endpoint stops (idempotent).
    void stop();

  private:
    struct running_endpoint {
        spec wanted;
        std::unique_ptr<metrics::http_server> server;
    };
    void announce(const spec& s, std::uint16_t bound_port);

    boost::asio::io_context& ioc_;
    handler_factory handlers_;
    self_log& log_;
    std::map<std::string, running_endpoint> running_;  // by name
};

}  // namespace ct::tracer
