#include "tracer/core/reforwarder.hpp"

#include <cmath>

#include "tracer/core/self_log.hpp"

namespace ct::tracer {

struct reforwarder::live_set {
    std::mutex mutex;
    bool stopped = false;
    std::map<std::uint64_t, std::function<void()>> closers;
    std::uint64_t next = 1;
};

namespace {

endpoint_address to_endpoint(const config::address& a) {
    endpoint_address e;
    e.is_tcp = a.is_tcp();
    e.path = a.path;
    e.host = a.host;
    e.port = a.port;
    return e;
}

}  // namespace

reforwarder::reforwarder(io_pool& pool,
                         const config::forwarding_config& cfg,
                         std::uint32_t network_magic,
                         std::shared_ptr<outputs::forward_queue> queue,
                         node_info_lookup node_info,
                         reforward_counters& counters,
                         self_log& log)
    : pool_(pool),
      cfg_(cfg),
      magic_(network_magic),
      queue_(std::move(queue)),
      node_info_(std::move(node_info)),
      counters_(counters),
      log_(log),
      live_(std::make_shared<live_set>()),
      verbose_(std::make_shared<std::atomic<bool>>(cfg.options.verbose_maximum)) {
    if (cfg_.network.m == config::network_config::mode::accept_at) {
        listener_ = std::make_shared<listener>(pool_,
                                               to_endpoint(cfg_.network.addresses.front()),
                                               0660,
                                               runner_for(""),
                                               log_,
                                               -1,
                                               "reforwarder");
    }
}

reforwarder::~reforwarder() { stop(); }

session_runner reforwarder::runner_for(const std::string& stream) {
    // Everything the session needs is captured by value: it may outlive this object (a
    // reload replaces the re-forwarder while its connections wind down).
    forwarder_stream fs;
    fs.queue = queue_.get();
    fs.name = stream;
    if (cfg_.options.per_node) {
        fs.data_point = [lookup = node_info_, stream](std::string_view name) {
            return name == "NodeInfo" ? lookup(stream) : std::nullopt;
        };
    }
    return [fs,
            queue = queue_,
            live = live_,
            magic = magic_,
            &counters = counters_,
            &log = log_,
            verbose = verbose_](stream_socket sock, peer_info peer) -> asio::awaitable<void> {
        forwarder_session_options o;
        o.we_connected = peer.we_connected;
        o.network_magic = magic;
        std::uint64_t id = 0;
        auto reason = co_await run_forwarder_session(
            std::move(sock), o, fs, counters, [&](std::function<void()> close) {
                std::lock_guard lock(live->mutex);
                if (live->stopped) {
                    close();
                    return;
                }
                id = live->next++;
                live->closers.emplace(id, std::move(close));
            });
        {
            std::lock_guard lock(live->mutex);
            live->closers.erase(id);
        }
        nlohmann::json j{{"conn", peer.address}, {"role", "reforwarder"}};
        if (!fs.name.empty()) j["nodeName"] = fs.name;
        if (!reason.empty()) {
            j["message"] = reason;
            log.emit("ForwardingInterrupted", own_severity::warning, std::move(j));
        } else if (verbose->load()) {
            log.emit("ConnectionClosed", own_severity::info, std::move(j));
        }
    };
}

void reforwarder::start() {
    nlohmann::json j{
        {"network",
         cfg_.network.m == config::network_config::mode::accept_at ? "AcceptAt" : "ConnectTo"},
        {"perNode", cfg_.options.per_node}};
    nlohmann::json addrs = nlohmann::json::array();
    for (const auto& a : cfg_.network.addresses) addrs.push_back(to_endpoint(a).to_string());
    j["addresses"] = addrs;
    log_.emit("StartedReforwarder", own_severity::info, std::move(j));
    if (listener_) {
        listener_->start();
        return;
    }
    if (!cfg_.options.per_node) {
        open_stream("");
        return;
    }
    // One connection per node (and target): opened for every stream the queue has now and
    // every stream it announces later.
    queue_->set_stream_listener([weak = weak_from_this()](const std::string& stream) {
        if (auto self = weak.lock()) self->open_stream(stream);
    });
    for (const auto& s : queue_->streams()) open_stream(s);
}

void reforwarder::open_stream(const std::string& stream) {
    std::lock_guard lock(mutex_);
    if (stopped_ || !streams_open_.emplace(stream, true).second) return;
    const auto max_delay = std::chrono::milliseconds(
        static_cast<long long>(std::llround(cfg_.options.max_reconnect_delay * 1000.0)));
    for (const auto& target : cfg_.network.addresses) {
        auto c = std::make_shared<connector>(
            pool_, to_endpoint(target), runner_for(stream), log_, true, max_delay, "reforwarder");
        c->start();
        connectors_.push_back(std::move(c));
    }
}

void reforwarder::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        stopped_ = true;
    }
    if (cfg_.options.per_node) queue_->set_stream_listener({});
    if (listener_) listener_->stop();
    std::vector<std::shared_ptr<connector>> connectors;
    {
        std::lock_guard lock(mutex_);
        connectors.swap(connectors_);
    }
    for (auto& c : connectors) c->stop();
    std::vector<std::function<void()>> closers;
    {
        std::lock_guard lock(live_->mutex);
        live_->stopped = true;
        for (auto& [id, close] : live_->closers) closers.push_back(close);
    }
    for (auto& close : closers) close();
}

}  // namespace ct::tracer
