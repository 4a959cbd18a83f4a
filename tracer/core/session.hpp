// One node connection from socket to writer queue: handshake, the three mini-protocol request
// loops, naming, and hand-off of trace object batches to the log writer. Everything of one
// connection runs on that connection's strand, so a session needs no mutex.
#pragma once

#include "tracer/core/net.hpp"
#include "tracer/core/peer.hpp"

namespace ct::tracer {

struct session_context;

/// Runs the connection to its end (peer closed, protocol error, or shutdown). Never throws for
/// anything the peer does; logs connect/handshake/disconnect as own messages.
asio::awaitable<void> run_session(stream_socket socket, peer_info peer, session_context& ctx);

}  // namespace ct::tracer
