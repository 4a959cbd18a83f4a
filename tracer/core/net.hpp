// Asio aliases shared by the daemon's network code: one generic stream socket type for Unix
// and TCP connections, and the per-connection strand executor. Header only; no state.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace ct::tracer {

namespace asio = boost::asio;

using executor = asio::io_context::executor_type;
using strand = asio::strand<executor>;
/// Both Unix and TCP connections are handled as a generic stream socket so that one session
/// implementation serves all four network modes.
using stream_socket = asio::generic::stream_protocol::socket;

inline constexpr auto use_nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

}  // namespace ct::tracer
