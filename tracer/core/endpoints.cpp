#include "tracer/core/endpoints.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tracer/core/self_log.hpp"

namespace ct::tracer {
namespace {

using namespace std::chrono_literals;

std::string render_tcp_peer(const asio::ip::tcp::endpoint& ep) {
    const auto addr = ep.address();
    std::string host = addr.to_string();
    if (addr.is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(ep.port());
}

// True when some process accepts connections on the Unix socket at `path`.
bool unix_socket_is_live(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return live;
}

template <typename Socket>
stream_socket to_generic(Socket&& sock, strand& s, int family) {
    return stream_socket(s, asio::generic::stream_protocol(family, SOCK_STREAM), sock.release());
}

void spawn_session(const session_runner& runner,
                   stream_socket sock,
                   peer_info info,
                   self_log& log) {
    auto strand_ex = sock.get_executor();
    const auto id = info.connection_id;
    asio::co_spawn(
        strand_ex, runner(std::move(sock), std::move(info)), [&log, id](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log.emit("Error",
                         own_severity::error,
                         {{"error",
                           std::string("connection ") + std::to_string(id) + ": " + ex.what()}});
            }
        });
}

}  // namespace

std::uint64_t next_connection_id() {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1);
}

// ---------------------------------------------------------------------------------- listener

listener::listener(io_pool& pool,
                   endpoint_address where,
                   unsigned socket_mode,
                   session_runner runner,
                   self_log& log,
                   int adopted_fd,
                   std::string role)
    : pool_(pool),
      strand_(asio::make_strand(pool.main())),
      where_(std::move(where)),
      socket_mode_(socket_mode),
      runner_(std::move(runner)),
      log_(log),
      role_(std::move(role)) {
    if (adopted_fd >= 0 && !where_.is_tcp) {
        unix_acceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(strand_);
        boost::system::error_code ec;
        unix_acceptor_->assign(asio::local::stream_protocol(), adopted_fd, ec);
        if (ec)
            throw startup_error("AcceptAt " + where_.path +
                                ": cannot use the socket handed over by systemd: " + ec.message());
        adopted_ = true;
        return;
    }
    bind();
}

listener::~listener() {
    stopped_ = true;
    if (unix_acceptor_ && !adopted_ && !removed_file_) ::unlink(where_.path.c_str());
    close_acceptors();
}

std::string listener::set_socket_mode(unsigned mode) {
    if (where_.is_tcp || mode == socket_mode_) return {};
    if (::chmod(where_.path.c_str(), static_cast<mode_t>(mode)) != 0)
        return "AcceptAt " + where_.path +
               ": cannot set the socket's mode: " + std::strerror(errno);
    socket_mode_ = mode;
    return {};
}

void listener::close_acceptors() {
    boost::system::error_code ec;
    if (unix_acceptor_) unix_acceptor_->close(ec);
    if (tcp_acceptor_) tcp_acceptor_->close(ec);
}

void listener::bind() {
    if (!where_.is_tcp) {
        const std::string& path = where_.path;
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                throw startup_error("AcceptAt " + path + ": the path exists and is not a socket");
            }
            if (unix_socket_is_live(path)) {
                throw startup_error("AcceptAt " + path +
                                    ": another process is already listening on this socket");
            }
            ::unlink(path.c_str());  // stale socket left by a crash
        }
        std::error_code fs_ec;
        auto parent = std::filesystem::path(path).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent, fs_ec);

        unix_acceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(strand_);
        // Bound and listening under a temporary name, then renamed: the path appears only when
        // a connect to it succeeds, and only with its final mode.
        // (A path too long for the suffix is bound directly: sun_path holds 107 bytes.)
        const std::string suffixed = path + ".new-" + std::to_string(::getpid());
        const std::string staging = suffixed.size() < 108 ? suffixed : path;
        ::unlink(staging.c_str());
        boost::system::error_code ec;
        asio::local::stream_protocol::endpoint ep(staging);
        unix_acceptor_->open(ep.protocol(), ec);
        if (!ec) unix_acceptor_->bind(ep, ec);
        if (!ec) unix_acceptor_->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            ::unlink(staging.c_str());
            throw startup_error("AcceptAt " + path + ": cannot listen: " + ec.message());
        }
        if (::chmod(staging.c_str(), static_cast<mode_t>(socket_mode_)) != 0) {
            const int err = errno;
            ::unlink(staging.c_str());
            throw startup_error("AcceptAt " + path +
                                ": cannot set the socket's mode: " + std::strerror(err));
        }
        if (staging != path && ::rename(staging.c_str(), path.c_str()) != 0) {
            const int err = errno;
            ::unlink(staging.c_str());
            throw startup_error("AcceptAt " + path +
                                ": cannot create the socket: " + std::strerror(err));
        }
        return;
    }

    boost::system::error_code ec;
    asio::ip::tcp::resolver resolver(pool_.main());
    auto results = resolver.resolve(where_.host, std::to_string(where_.port), ec);
    if (ec || results.empty()) {
        throw startup_error("AcceptAt " + where_.to_string() +
                            ": cannot resolve the host: " + (ec ? ec.message() : "no address"));
    }
    auto ep = results.begin()->endpoint();
    tcp_acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(strand_);
    tcp_acceptor_->open(ep.protocol(), ec);
    if (!ec) tcp_acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) tcp_acceptor_->bind(ep, ec);
    if (!ec) tcp_acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw startup_error("AcceptAt " + where_.to_string() + ": cannot listen: " + ec.message());
}

std::string listener::bound_address() const {
    if (tcp_acceptor_) {
        boost::system::error_code ec;
        auto ep = tcp_acceptor_->local_endpoint(ec);
        if (!ec) return render_tcp_peer(ep);
    }
    return where_.to_string();
}

void listener::start() {
    nlohmann::json j{{"listenAt", bound_address()}, {"socketActivated", adopted_}};
    if (!role_.empty()) j["role"] = role_;
    log_.emit("SockListen", own_severity::info, std::move(j));
    asio::co_spawn(strand_, accept_loop(shared_from_this()), [log = &log_](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log->emit(
                "Error", own_severity::error, {{"error", std::string("listener: ") + ex.what()}});
        }
    });
}

void listener::stop() {
    if (stopped_.exchange(true)) return;
    if (unix_acceptor_ && !adopted_) {
        ::unlink(where_.path.c_str());
        removed_file_ = true;
    }
    if (strand_.running_in_this_thread() || pool_.main().stopped()) {
        close_acceptors();
    } else {
        asio::post(strand_, [self = shared_from_this()] { self->close_acceptors(); });
    }
}

asio::awaitable<void> listener::accept_loop(std::shared_ptr<listener> self) {
    (void)self;  // held by the frame: the loop may outlive the server's reference
    asio::steady_timer backoff(strand_);
    auto delay = 1s;
    while (!stopped_) {
        auto conn_strand = asio::make_strand(pool_.next());
        peer_info info;
        info.connection_id = next_connection_id();
        info.we_connected = false;
        boost::system::error_code ec;
        std::optional<stream_socket> sock;
        if (unix_acceptor_) {
            auto [aec, s] = co_await unix_acceptor_->async_accept(use_nothrow_awaitable);
            ec = aec;
            if (!ec) {
                info.is_tcp = false;
                info.local_path = where_.path;
                info.accept_index = accepted_++;
                info.address = where_.path;
                sock.emplace(to_generic(std::move(s), conn_strand, AF_UNIX));
            }
        } else {
            auto [aec, s] = co_await tcp_acceptor_->async_accept(use_nothrow_awaitable);
            ec = aec;
            if (!ec) {
                boost::system::error_code pec;
                auto remote = s.remote_endpoint(pec);
                info.is_tcp = true;
                info.address = pec ? std::string("unknown") : render_tcp_peer(remote);
                s.set_option(asio::ip::tcp::no_delay(true), pec);
                sock.emplace(to_generic(std::move(s), conn_strand, remote.protocol().family()));
            }
        }
        if (ec) {
            if (stopped_ || ec == asio::error::operation_aborted) co_return;
            // Typically EMFILE/ENFILE: wait instead of spinning, as upstream restarts the
            // listener with a 1..10 s back-off.
            log_.emit(
                "ForwardingInterrupted",
                own_severity::warning,
                {{"conn", where_.to_string()}, {"message", "accept failed: " + ec.message()}});
            backoff.expires_after(delay);
            co_await backoff.async_wait(use_nothrow_awaitable);
            delay = std::min<std::chrono::seconds>(delay * 2, 10s);
            continue;
        }
        delay = 1s;
        spawn_session(runner_, std::move(*sock), std::move(info), log_);
    }
}

// --------------------------------------------------------------------------------- connector

connector::connector(io_pool& pool,
                     endpoint_address target,
                     session_runner runner,
                     self_log& log,
                     bool log_problems,
                     std::chrono::milliseconds max_delay,
                     std::string role)
    : pool_(pool),
      strand_(asio::make_strand(pool.main())),
      target_(std::move(target)),
      runner_(std::move(runner)),
      log_(log),
      log_problems_(log_problems),
      max_delay_(max_delay),
      role_(std::move(role)),
      timer_(strand_) {}

void connector::start() {
    asio::co_spawn(strand_, connect_loop(shared_from_this()), [log = &log_](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log->emit(
                "Error", own_severity::error, {{"error", std::string("connector: ") + ex.what()}});
        }
    });
}

void connector::stop(std::function<void(std::uint64_t)> end_session) {
    stopped_ = true;
    // On the strand, the loop is suspended: either a session runs (its id is set, and the
    // loop ends after it) or the loop will see stopped_ before it starts one.
    asio::post(strand_, [self = shared_from_this(), end_session = std::move(end_session)] {
        if (end_session && self->current_connection_ != 0)
            end_session(self->current_connection_.load());
        self->timer_.cancel();
        boost::system::error_code ec;
        if (self->resolving_) self->resolving_->cancel();
        if (self->connecting_tcp_) self->connecting_tcp_->close(ec);
        if (self->connecting_unix_) self->connecting_unix_->close(ec);
    });
}

asio::awaitable<void> connector::connect_loop(std::shared_ptr<connector> self) {
    (void)self;  // held by the frame: the loop may outlive the server's reference
    const auto max_delay = std::max<std::chrono::milliseconds>(max_delay_, 1s);
    std::chrono::milliseconds delay = 1s;
    auto with_role = [this](nlohmann::json j) {
        if (!role_.empty()) j["role"] = role_;
        return j;
    };
    while (!stopped_) {
        log_.emit("SockConnecting",
                  own_severity::info,
                  with_role({{"connectionIncomingAt", target_.to_string()}}));
        const auto started = std::chrono::steady_clock::now();
        auto conn_strand = asio::make_strand(pool_.next());
        peer_info info;
        info.connection_id = next_connection_id();
        info.we_connected = true;
        info.address = target_.to_string();
        boost::system::error_code ec;
        std::optional<stream_socket> sock;
        if (!target_.is_tcp) {
            asio::local::stream_protocol::socket s(strand_);
            connecting_unix_ = &s;
            std::tie(ec) = co_await s.async_connect(
                asio::local::stream_protocol::endpoint(target_.path), use_nothrow_awaitable);
            connecting_unix_ = nullptr;
            if (!ec) {
                info.local_path = target_.path;
                sock.emplace(to_generic(std::move(s), conn_strand, AF_UNIX));
            }
        } else {
            asio::ip::tcp::resolver resolver(strand_);
            resolving_ = &resolver;
            auto [rec, results] = co_await resolver.async_resolve(
                target_.host, std::to_string(target_.port), use_nothrow_awaitable);
            resolving_ = nullptr;
            ec = rec;
            if (!ec && !stopped_) {
                asio::ip::tcp::socket s(strand_);
                connecting_tcp_ = &s;
                auto [cec, ep] = co_await asio::async_connect(s, results, use_nothrow_awaitable);
                connecting_tcp_ = nullptr;
                ec = cec;
                if (!ec) {
                    info.is_tcp = true;
                    info.address = render_tcp_peer(ep);
                    boost::system::error_code oec;
                    s.set_option(asio::ip::tcp::no_delay(true), oec);
                    sock.emplace(to_generic(std::move(s), conn_strand, ep.protocol().family()));
                }
            }
        }
        if (stopped_) co_return;

        if (ec) {
            if (log_problems_) {
                log_.emit("ForwardingInterrupted",
                          own_severity::warning,
                          with_role({{"conn", target_.to_string()}, {"message", ec.message()}}));
            }
        } else {
            log_.emit("SockConnected",
                      own_severity::info,
                      with_role({{"connectedTo", target_.to_string()}}));
            current_connection_ = info.connection_id;
            auto [e] = co_await asio::co_spawn(
                conn_strand, runner_(std::move(*sock), std::move(info)), use_nothrow_awaitable);
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    log_.emit("Error", own_severity::error, {{"error", ex.what()}});
                }
            }
            current_connection_ = 0;
            // A connection that lived long enough resets the back-off (upstream runInLoop).
            if (std::chrono::steady_clock::now() - started >= max_delay) delay = 1s;
        }
        if (stopped_) co_return;
        timer_.expires_after(delay);
        co_await timer_.async_wait(use_nothrow_awaitable);
        delay = std::min<std::chrono::milliseconds>(delay * 2, max_delay);
    }
}

}  // namespace ct::tracer
