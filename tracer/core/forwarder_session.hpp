// The node side of the forwarding protocol, for re-forwarding: one connection to a downstream
// tracer (another cardano-tracer, or this daemon). It runs the handshake as initiator (we
// dialled) or responder (it dialled), then answers the downstream's requests: TraceObjects
// from a forward_queue stream (blocking requests wait for objects), an empty EKG reply (metrics
// are not re-forwarded, as upstream), and data points from a lookup (NodeInfo with perNode).
// Objects count as forwarded once their reply is written; a reply that could not be written
// is put back at the front of the stream, so the next connection sends it (nothing is lost
// when the downstream restarts). Runs on the socket's strand.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tracer/core/net.hpp"
#include "tracer/outputs/forward_queue.hpp"

namespace ct::tracer {

/// Counters of the re-forwarder (cardano_tracer_reforward_*).
struct reforward_counters {
    std::atomic<std::uint64_t> forwarded{0};          // objects in replies written downstream
    std::atomic<std::uint64_t> put_back{0};           // objects of replies that failed, requeued
    std::atomic<std::uint64_t> connections{0};        // downstream connections open now
    std::atomic<std::uint64_t> connections_total{0};  // downstream connections established
    std::atomic<std::uint64_t> handshake_failures{0};
};

struct forwarder_stream {
    outputs::forward_queue* queue = nullptr;
    std::string name;  // the forward_queue stream
    /// A data point's JSON by name (nullopt: the node does not have it).
    std::function<std::optional<std::string>(std::string_view)> data_point;
};

struct forwarder_session_options {
    bool we_connected = true;
    std::uint32_t network_magic = 0;
    std::chrono::milliseconds handshake_timeout{10000};
};

/// Serves one downstream connection until it ends; returns "" when the downstream closed it,
/// otherwise what went wrong. `on_close` receives a function that closes the connection from
/// any thread (for a reload or the shutdown), valid until the session returns.
asio::awaitable<std::string> run_forwarder_session(
    stream_socket sock,
    forwarder_session_options opts,
    forwarder_stream stream,
    reforward_counters& counters,
    std::function<void(std::function<void()> close)> on_close);

}  // namespace ct::tracer
