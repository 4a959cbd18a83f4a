#include "tests/support/test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ct::test {

temp_dir::temp_dir() {
    const char* base = std::getenv("TMPDIR");
    fs::path root = base && *base ? base : "/tmp";
    std::random_device rd;
    for (int i = 0; i < 100; ++i) {
        auto candidate =
            root / ("ct-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::error_code ec;
        if (fs::create_directory(candidate, ec)) {
            path_ = candidate;
            return;
        }
    }
    throw std::runtime_error("cannot create a temp dir");
}

temp_dir::~temp_dir() {
    std::error_code ec;
    // Make everything removable again (tests chmod directories).
    for (auto it = fs::recursive_directory_iterator(
             path_, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::error_code pec;
        if (it->is_directory(pec))
            fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, pec);
    }
    fs::remove_all(path_, ec);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (pred()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return pred();
        std::this_thread::sleep_for(10ms);
    }
}

child_process::child_process(const std::string& exe,
                             const std::vector<std::string>& args,
                             const fs::path& output_dir,
                             const std::string& label,
                             const fs::path& cwd,
                             const child_extras& extras)
    : out_path_(output_dir / (label + ".stdout")), err_path_(output_dir / (label + ".stderr")) {
    std::vector<std::string> argv_s{exe};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, 1);
        ::dup2(err, 2);
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
        for (const auto& e : extras.env) ::putenv(const_cast<char*>(e.c_str()));
        if (extras.listen_fd >= 0) {
            if (extras.listen_fd != 3) {
                ::dup2(extras.listen_fd, 3);
                ::close(extras.listen_fd);
            } else {
                ::fcntl(3, F_SETFD, 0);  // keep it across exec
            }
            ::setenv("LISTEN_FDS", "1", 1);
            ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
        }
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
}

child_process::~child_process() {
    if (!status_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        ::waitpid(pid_, &st, 0);
    }
}

void child_process::signal(int sig) {
    if (!status_ && pid_ > 0) ::kill(pid_, sig);
}

bool child_process::running() {
    if (status_) return false;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    wait_until([this] { return !running(); }, timeout);
    return status_;
}

std::string child_process::stdout_text() const { return read_file(out_path_); }
std::string child_process::stderr_text() const { return read_file(err_path_); }

run_result run_to_end(const std::string& exe,
                      const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout) {
    temp_dir out;
    child_process p(exe, args, out.path(), "run");
    run_result r;
    auto st = p.wait_exit(timeout);
    r.status = st ? *st : -1;
    r.out = p.stdout_text();
    r.err = p.stderr_text();
    return r;
}

unsigned short free_tcp_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool tcp_port_open(unsigned short port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

double sample_value(const std::string& exposition, const std::string& series) {
    for (const auto& line : split_lines(exposition)) {
        if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::string cur;
    for (char c : text) {
        if (c == '\n') {
            lines.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) lines.push_back(cur);
    return lines;
}

namespace {
// A signal (the sanitizer runtime's, a child's) may interrupt a blocking read: retry it, as
// a real HTTP client does, instead of taking it for a closed connection.
ssize_t recv_retrying(int fd, char* buf, std::size_t len) {
    for (;;) {
        const ssize_t n = ::recv(fd, buf, len, 0);
        if (n >= 0 || errno != EINTR) return n;
    }
}
}  // namespace

std::optional<http_reply> http_get(unsigned short port,
                                   const std::string& target,
                                   const std::vector<std::string>& extra_headers) {
    return http_call(port, "GET", target, "", extra_headers);
}

std::optional<http_reply> http_call(unsigned short port,
                                    const std::string& method,
                                    const std::string& target,
                                    const std::string& body,
                                    const std::vector<std::string>& extra_headers) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return std::nullopt;
    // Generous: on a loaded test machine a daemon under sanitizers can take seconds (the
    // timeseries queries run at SCHED_IDLE, only when a core is free). A daemon that does
    // not answer at all still fails the test.
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    // A header "-Host" means: send no Host header at all; "Host: x" replaces the default.
    bool default_host = true;
    for (auto& h : extra_headers)
        default_host = default_host && h != "-Host" && !h.starts_with("Host:");
    std::string req = method + " " + target + " HTTP/1.1\r\n";
    if (default_host) req += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
    req += "Connection: close\r\n";
    for (auto& h : extra_headers) {
        if (h != "-Host") req += h + "\r\n";
    }
    if (!body.empty() || method == "POST")
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string resp;
    char buf[4096];
    for (;;) {
        ssize_t n = recv_retrying(fd, buf, sizeof buf);
        if (n <= 0) break;
        resp.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    auto head_end = resp.find("\r\n\r\n");
    if (head_end == std::string::npos) return std::nullopt;
    http_reply r;
    r.headers = resp.substr(0, head_end);
    r.body = resp.substr(head_end + 4);
    if (r.headers.size() > 12) r.status = std::atoi(r.headers.c_str() + 9);
    return r;
}

keep_alive_client::~keep_alive_client() { disconnect(); }

void keep_alive_client::disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool keep_alive_client::ensure_connected() {
    if (fd_ >= 0) return true;
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        disconnect();
        return false;
    }
    ++reconnects_;
    return true;
}

bool keep_alive_client::send_partial(const std::string& bytes) {
    if (!ensure_connected()) return false;
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
}

bool keep_alive_client::send_request(const std::string& target) {
    return send_partial("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                        "\r\n\r\n");
}

bool keep_alive_client::closed_by_server(std::chrono::milliseconds timeout) {
    if (fd_ < 0) return true;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return true;  // bytes of an answer are read and ignored
    }
    return false;
}

std::optional<http_reply> keep_alive_client::get(const std::string& target) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!send_request(target)) {
            disconnect();
            continue;
        }
        std::string resp;
        char buf[8192];
        std::size_t head_end = std::string::npos;
        std::size_t body_len = 0;
        bool failed = false;
        for (;;) {
            if (head_end == std::string::npos) {
                head_end = resp.find("\r\n\r\n");
                if (head_end != std::string::npos) {
                    const auto headers = resp.substr(0, head_end);
                    auto cl = headers.find("Content-Length: ");
                    if (cl == std::string::npos) cl = headers.find("content-length: ");
                    body_len =
                        cl == std::string::npos
                            ? 0
                            : static_cast<std::size_t>(std::atoll(headers.c_str() + cl + 16));
                }
            }
            if (head_end != std::string::npos && resp.size() >= head_end + 4 + body_len) break;
            const ssize_t n = recv_retrying(fd_, buf, sizeof buf);
            if (n <= 0) {
                failed = true;
                break;
            }
            resp.append(buf, static_cast<std::size_t>(n));
        }
        if (failed) {
            disconnect();
            if (resp.empty()) continue;  // closed while idle: reconnect once
            return std::nullopt;
        }
        http_reply r;
        r.headers = resp.substr(0, head_end);
        r.body = resp.substr(head_end + 4, body_len);
        if (r.headers.size() > 12) r.status = std::atoi(r.headers.c_str() + 9);
        if (r.headers.find("Connection: close") != std::string::npos) disconnect();
        return r;
    }
    return std::nullopt;
}

}  // namespace ct::test
