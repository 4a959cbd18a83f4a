#include "tracer/core/http_endpoints.hpp"

#include <nlohmann/json.hpp>

#include "tracer/core/self_log.hpp"

namespace ct::tracer {

http_endpoints::http_endpoints(boost::asio::io_context& ioc,
                               handler_factory handlers,
                               self_log& log)
    : ioc_(ioc), handlers_(std::move(handlers)), log_(log) {}

http_endpoints::~http_endpoints() { stop(); }

std::vector<http_endpoints::spec> http_endpoints::specs_of(const config::tracer_config& c) {
    std::vector<spec> out;
    auto add = [&](const std::string& name, const config::endpoint& ep) {
        spec s{name, ep.host, ep.port, std::nullopt};
        if (ep.force_ssl && c.tls_certificate_) {
            const auto& t = *c.tls_certificate_;
            s.tls =
                metrics::tls_files{t.certificate_file, t.certificate_key_file, t.certificate_chain};
        }
        out.push_back(std::move(s));
    };
    if (c.has_prometheus) add("hasPrometheus", *c.has_prometheus);
    if (c.has_ekg) add("hasEKG", *c.has_ekg);
    if (c.has_timeseries) add("hasTimeseries", *c.has_timeseries);
    for (const auto& [node, ep] : c.legacy_metrics_endpoints)
        add("legacyMetricsEndpoints." + node, ep);
    return out;
}

std::unique_ptr<http_endpoints::change> http_endpoints::prepare(const config::tracer_config& c) {
    auto out = std::make_unique<change>();
    const auto wanted = specs_of(c);
    // TLS files are read for every HTTPS endpoint on every reload (certificate renewal).
    for (const auto& w : wanted) {
        change::item item;
        item.wanted = w;
        if (w.tls) item.tls = metrics::load_tls_context(*w.tls, w.name);
        auto it = running_.find(w.name);
        if (it == running_.end()) {
            item.what = change::action::add;
        } else if (it->second.wanted.host == w.host && it->second.wanted.port == w.port) {
            item.what = change::action::keep_tls;  // same socket; TLS swapped in place
        } else {
            item.what = change::action::replace;
        }
        out->items.push_back(std::move(item));
    }
    for (const auto& [name, r] : running_) {
        const bool still = std::any_of(
            wanted.begin(), wanted.end(), [&](const spec& w) { return w.name == name; });
        if (!still) {
            change::item item;
            item.wanted = r.wanted;
            item.what = change::action::remove;
            out->items.push_back(std::move(item));
        }
    }
    // Bind what moves now, so that a port in use refuses the reload. A port held by one of
    // our endpoints that this reload moves or removes is bound after that one closes.
    for (auto& item : out->items) {
        if (item.what != change::action::add && item.what != change::action::replace) continue;
        try {
            item.server = std::make_unique<metrics::http_server>(ioc_,
                                                                 item.wanted.name,
                                                                 item.wanted.host,
                                                                 item.wanted.port,
                                                                 handlers_(item.wanted.name),
                                                                 item.tls);
        } catch (const metrics::endpoint_error&) {
            const bool ours = std::any_of(running_.begin(), running_.end(), [&](const auto& r) {
                return r.second.wanted.port == item.wanted.port && item.wanted.port != 0;
            });
            if (!ours) throw;
            item.bind_after_stop = true;
        }
    }
    return out;
}

std::vector<std::string> http_endpoints::summary(const change& c) {
    std::vector<std::string> out;
    for (const auto& item : c.items) {
        const auto where = item.wanted.host + ":" + std::to_string(item.wanted.port);
        switch (item.what) {
            case change::action::add:
                out.push_back(item.wanted.name + " starts at " + where);
                break;
            case change::action::replace:
                out.push_back(item.wanted.name + " moves to " + where);
                break;
            case change::action::remove:
                out.push_back(item.wanted.name + " stops");
                break;
            case change::action::keep_tls:
                break;
        }
    }
    return out;
}

std::vector<std::string> http_endpoints::commit(std::unique_ptr<change> c) {
    std::vector<std::string> problems;
    std::vector<change::item*> late;
    for (auto& item : c->items) {
        auto it = running_.find(item.wanted.name);
        switch (item.what) {
            case change::action::keep_tls:
                it->second.server->use_tls(item.tls);
                it->second.wanted = item.wanted;
                break;
            case change::action::remove:
                it->second.server->stop(/*wait_for_acceptor=*/true);
                running_.erase(it);
                break;
            case change::action::add:
            case change::action::replace:
                if (item.bind_after_stop) {
                    if (it != running_.end()) {
                        it->second.server->stop(/*wait_for_acceptor=*/true);
                        running_.erase(it);
                    }
                    late.push_back(&item);
                    break;
                }
                item.server->start();
                announce(item.wanted, item.server->port());
                if (it != running_.end()) {
                    it->second.server->stop(/*wait_for_acceptor=*/true);  // closed when reported
                    running_.erase(it);
                }
                running_.emplace(item.wanted.name,
                                 running_endpoint{item.wanted, std::move(item.server)});
                break;
        }
    }
    // The ports of what was stopped above are free now.
    for (auto* item : late) {
        try {
            auto server = std::make_unique<metrics::http_server>(ioc_,
                                                                 item->wanted.name,
                                                                 item->wanted.host,
                                                                 item->wanted.port,
                                                                 handlers_(item->wanted.name),
                                                                 item->tls);
            server->start();
            announce(item->wanted, server->port());
            running_.emplace(item->wanted.name, running_endpoint{item->wanted, std::move(server)});
        } catch (const std::exception& e) {
            problems.push_back(e.what());
        }
    }
    return problems;
}

void http_endpoints::announce(const spec& s, std::uint16_t bound_port) {
    nlohmann::json j{{"epHost", s.host},
                     {"epPort", s.port},
                     {"epForceSSL", s.tls.has_value()},
                     {"boundPort", bound_port}};
    if (s.name == "hasPrometheus") {
        log_.emit("StartedPrometheus", own_severity::info, {{"endpoint", j}});
    } else if (s.name == "hasEKG") {
        log_.emit("StartedMonitoring", own_severity::info, {{"endpoint", j}, {"type", "list"}});
    } else if (s.name == "hasTimeseries") {
        // Upstream's namespace, misspelt as it is (spec timeseries §3.4).
        log_.emit("StartedTimeseriers",
                  own_severity::info,
                  {{"kind", "TracerStartedTimeseries"}, {"endpoint", j}});
    } else {
        const auto node = s.name.substr(s.name.find('.') + 1);
        log_.emit(
            "StartedLegacyMetrics", own_severity::info, {{"endpoint", j}, {"nodeName", node}});
    }
}

void http_endpoints::stop() {
    for (auto& [name, r] : running_) r.server->stop(false);
}

}  // namespace ct::tracer
