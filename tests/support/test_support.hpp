// Helpers for tests that run real processes: temp directories, child processes with captured
// output, bounded waits, free TCP ports. Not thread-safe; one instance per test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ct::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& rel) const { return path_ / rel; }

  private:
    fs::path path_;
};

/// Polls `pred` every few milliseconds until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s);

/// What a child gets besides its arguments: environment variables ("NAME=value", added to
/// the parent's) and a descriptor handed over as fd 3 with LISTEN_FDS=1 and LISTEN_PID set to
/// the child's pid (systemd socket activation).
struct child_extras {
    std::vector<std::string> env;
    int listen_fd = -1;
};

/// A child process with stdout and stderr captured into files.
class child_process {
  public:
    child_process(const std::string& exe,
                  const std::vector<std::string>& args,
                  const fs::path& output_dir,
                  const std::string& label,
                  const fs::path& cwd = {},
                  const child_extras& extras = {});
    ~child_process();  // SIGKILLs the child if it still runs
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int sig);
    /// Waits for exit; returns the exit status (128+signal when killed), nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);
    bool running();
    std::string stdout_text() const;
    std::string stderr_text() const;

  private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    fs::path out_path_, err_path_;
};

/// Runs a command to completion, returning {exit status, stdout, stderr}.
struct run_result {
    int status = -1;
    std::string out;
    std::string err;
};
run_result run_to_end(const std::string& exe,
                      const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = 20s);

/// True when something accepts TCP connections on 127.0.0.1:port.
bool tcp_port_open(unsigned short port);

/// A TCP port on 127.0.0.1 that was free a moment ago.
unsigned short free_tcp_port();

std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& text);
std::vector<std::string> split_lines(const std::string& text);
/// The value of the sample `series` (name plus labels, exactly as exposed) in a Prometheus
/// exposition, or -1.
double sample_value(const std::string& exposition, const std::string& series);

/// Minimal blocking HTTP/1.1 GET against 127.0.0.1:port; returns status, headers, body.
struct http_reply {
    int status = 0;
    std::string headers;
    std::string body;
};
std::optional<http_reply> http_get(unsigned short port,
                                   const std::string& target,
                                   const std::vector<std::string>& extra_headers = {});
/// The same with any method and a body (sent with its Content-Length).
std::optional<http_reply> http_call(unsigned short port,
                                    const std::string& method,
                                    const std::string& target,
                                    const std::string& body = "",
                                    const std::vector<std::string>& extra_headers = {});

/// An HTTP/1.1 client that keeps its connection open between requests, as Prometheus does.
/// get() reconnects only when the server closed the connection (reconnects() counts that).
class keep_alive_client {
  public:
    explicit keep_alive_client(unsigned short port) : port_(port) {}
    ~keep_alive_client();
    keep_alive_client(const keep_alive_client&) = delete;
    keep_alive_client& operator=(const keep_alive_client&) = delete;

    std::optional<http_reply> get(const std::string& target);
    /// Sends only the start of a request and leaves it so (a stalled client).
    bool send_partial(const std::string& bytes);
    /// Sends a whole request without reading the answer (a scrape in flight).
    bool send_request(const std::string& target);
    /// True once the server closed the connection (read returns 0 or an error).
    bool closed_by_server(std::chrono::milliseconds timeout);
    bool connected() const { return fd_ >= 0; }
    int reconnects() const { return reconnects_; }

  private:
    bool ensure_connected();
    void disconnect();
    unsigned short port_;
    int fd_ = -1;
    int reconnects_ = -1;  // the first connection is not a reconnect
};

}  // namespace ct::test
