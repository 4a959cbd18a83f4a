#include "tracer/logs/log_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "dispatcher/node_names.hpp"
#include "tracer/logs/log_files.hpp"

namespace ct::tracer::logs {
namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::string file_key(const std::string& node, const section& s) {
    return node + '\0' + s.log_root + '\0' + std::string(extension(s.format));
}

bool write_all(const write_syscall& w, int fd, std::string_view data, int& err) {
    while (!data.empty()) {
        errno = 0;
        const long n = w ? w(fd, data.data(), data.size()) : ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            err = errno != 0 ? errno : EIO;
            return false;
        }
        if (n == 0) {  // no progress and no error: treat as a full device rather than spin
            err = ENOSPC;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// The size of an open file, 0 if unknown.
std::uint64_t file_size_of(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// Compresses into `dst` through a temporary name, so that a partial archive (crash, full
// disk) never looks like a log file to the rotation.
bool gzip_file(const std::string& src, const std::string& dst, std::string& error) {
    const int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        error = std::strerror(errno);
        return false;
    }
    const std::string tmp = dst + ".tmp";
    gzFile out = gzopen(tmp.c_str(), "wb6");
    if (!out) {
        ::close(in);
        error = "cannot create " + tmp;
        return false;
    }
    char buf[1 << 16];
    bool ok = true;
    for (;;) {
        const ssize_t n = ::read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = std::strerror(errno);
            ok = false;
            break;
        }
        if (n == 0) break;
        if (gzwrite(out, buf, static_cast<unsigned>(n)) != n) {
            error = "gzip write failed";
            ok = false;
            break;
        }
    }
    ::close(in);
    if (gzclose(out) != Z_OK && ok) {
        error = "gzip close failed";
        ok = false;
    }
    if (ok && ::rename(tmp.c_str(), dst.c_str()) != 0) {
        error = std::strerror(errno);
        ok = false;
    }
    if (!ok) ::unlink(tmp.c_str());
    return ok;
}

// Two identical sections would write every batch twice into the same file (or journal):
// keep the first. Journal sections differ only by format (logRoot means nothing there).
writer_options without_duplicates(writer_options o) {
    std::vector<section> unique;
    for (auto s : o.sections) {
        if (s.mode == config::log_mode::journal_mode) s.log_root.clear();
        if (std::find(unique.begin(), unique.end(), s) == unique.end()) unique.push_back(s);
    }
    o.sections = std::move(unique);
    return o;
}

}  // namespace

log_writer::log_writer(writer_options opts)
    : opts_(without_duplicates(std::move(opts))),
      formatter_(opts_.legacy_names),
      capacity_(std::max<std::size_t>(1, opts_.queue_capacity)) {}

log_writer::~log_writer() { stop(); }

void log_writer::start() {
    next_rotation_check_ = clock::now();
    maintenance_thread_ = std::thread([this] { maintenance_loop(); });
    thread_ = std::thread([this] { run_guarded(); });
}

void log_writer::run_guarded() {
    // A thread never dies silently: an unexpected exception is reported and the loop resumes
    // (its state lives in members, so nothing queued is lost).
    for (;;) {
        try {
            run();
            break;
        } catch (const std::exception& e) {
            report(std::string("log writer: internal error: ") + e.what());
        } catch (...) {
            report("log writer: internal error");
        }
        std::this_thread::sleep_for(opts_.retry_interval);
    }
    finished_ = true;
}

void log_writer::stop_maintenance() {
    {
        std::lock_guard lock(maintenance_mutex_);
        maintenance_stop_ = true;
    }
    maintenance_cv_.notify_one();
    if (maintenance_thread_.joinable()) maintenance_thread_.join();
}

void log_writer::stop() {
    begin_stop(clock::now() + opts_.stop_grace);
    if (thread_.joinable()) thread_.join();
    stop_maintenance();  // after the writer: it may hand over rotated files until the end
}

void log_writer::begin_stop(clock::time_point deadline) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;  // the first deadline holds
        stopping_ = true;
        stop_deadline_ = deadline;
    }
    cv_.notify_all();
}

std::uint64_t log_writer::records_pending() const {
    const auto received = stats_.records_received.load();
    const auto done = stats_.records_written.load() + stats_.records_lost.load();
    return received > done ? received - done : 0;
}

bool log_writer::try_submit(trace_batch&& b) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return false;
        if (blocked_.contains(b.connection_id)) return false;  // parked: woken when written
        if (queued_batches_ >= capacity_) {
            full_signalled_ = true;
            stats_.queue_full++;
            return false;
        }
        stats_.batches_received++;
        stats_.records_received += b.records.size();
        queue_.emplace_back(std::move(b));
        ++queued_batches_;
        stats_.queue_depth = queued_batches_;
    }
    cv_.notify_one();
    return true;
}

void log_writer::node_disconnected(std::uint64_t connection_id) {
    {
        std::lock_guard lock(mutex_);
        queue_.emplace_back(disconnect{connection_id});
    }
    cv_.notify_one();
}

void log_writer::update_options(writer_options opts) {
    {
        std::lock_guard lock(mutex_);
        capacity_ = std::max<std::size_t>(1, opts.queue_capacity);
        queue_.emplace_back(std::move(opts));
    }
    cv_.notify_one();
}

void log_writer::report(const std::string& what) {
    // At most one report per distinct problem per interval (spdlog's err_handler idea). Called
    // from the writer and the maintenance thread.
    std::lock_guard lock(report_mutex_);
    const auto now = clock::now();
    if (last_report_.size() > 1000) last_report_.clear();  // bounded, even with odd messages
    auto& last = last_report_[what];
    if (last.time_since_epoch().count() != 0 && now - last < opts_.error_report_interval) return;
    last = now;
    if (reporter_) reporter_(what);
}

void log_writer::run() {
    clock::time_point stop_deadline{};
    bool stop_noticed = false;
    for (;;) {
        std::optional<item> current;
        bool stopping = false;
        bool signal_space = false;
        {
            std::unique_lock lock(mutex_);
            auto wake_at = opts_.rotation ? next_rotation_check_ : clock::time_point::max();
            for (const auto& [id, p] : parked_) wake_at = std::min(wake_at, p.next_retry);
            if (stopping_ && !parked_.empty())
                wake_at = std::min(wake_at, clock::now() + 50ms);  // until the deadline
            cv_.wait_until(lock, wake_at, [&] {
                return !queue_.empty() || (stopping_ && (parked_.empty() || !stop_noticed));
            });
            stopping = stopping_;
            stop_noticed = stopping;
            if (stopping && stop_deadline == clock::time_point{}) stop_deadline = stop_deadline_;
            if (stopping && queue_.empty() && parked_.empty()) break;
            if (!queue_.empty()) {
                current = std::move(queue_.front());
                queue_.pop_front();
                if (std::holds_alternative<trace_batch>(*current)) {
                    // Out of the queue at once, even if it is parked below: the other nodes'
                    // batches keep flowing (a parked connection is refused in try_submit).
                    --queued_batches_;
                    stats_.queue_depth = queued_batches_;
                    if (full_signalled_ && queued_batches_ < capacity_) {
                        full_signalled_ = false;
                        signal_space = true;
                    }
                }
            }
        }
        if (signal_space && space_callback_) space_callback_();
        const bool past_deadline = stopping && clock::now() > stop_deadline;
        if (opts_.rotation && clock::now() >= next_rotation_check_) {
            rotation_check();
            next_rotation_check_ =
                clock::now() + std::chrono::seconds(opts_.rotation->frequency_secs);
        }
        retry_parked(stopping, past_deadline);
        if (current) handle(*current, past_deadline);
    }
    // Shutdown: fsync and close everything.
    for (auto& [key, f] : files_) close_file(f, true);
    files_.clear();
}

void log_writer::handle(item& it, bool past_deadline) {
    if (auto* b = std::get_if<trace_batch>(&it)) {
        if (auto p = parked_.find(b->connection_id); p != parked_.end()) {
            p->second.batches.push_back(std::move(*b));  // behind the parked one: order kept
            return;
        }
        std::vector<section> done;
        if (write_batch(*b, done)) return;
        if (past_deadline) {
            lose(*b);
            return;
        }
        park(std::move(*b), std::move(done));
        return;
    }
    if (auto* d = std::get_if<disconnect>(&it)) {
        if (auto p = parked_.find(d->connection_id); p != parked_.end()) {
            p->second.disconnect_pending = true;  // after its batches are written
            return;
        }
        close_connection(d->connection_id);
        return;
    }
    apply_options(std::move(std::get<writer_options>(it)));
}

void log_writer::apply_options(writer_options o) {
    opts_ = without_duplicates(std::move(o));
    formatter_.set_legacy_names(opts_.legacy_names);
    // Close files of sections that no longer exist.
    std::set<std::string> keep;
    for (const auto& s : opts_.sections)
        keep.insert(s.log_root + '\0' + std::string(extension(s.format)));
    for (auto it2 = files_.begin(); it2 != files_.end();) {
        const auto first = it2->first.find('\0');
        if (!keep.contains(it2->first.substr(first + 1))) {
            close_file(it2->second, true);
            it2 = files_.erase(it2);
        } else {
            ++it2;
        }
    }
    next_rotation_check_ = clock::now();
    publish_stalls();
}

void log_writer::park(trace_batch&& b, std::vector<section> done) {
    const auto id = b.connection_id;
    parked p;
    p.node_name = b.node_name;
    p.batches.push_back(std::move(b));
    p.done = std::move(done);
    p.since = clock::now();
    p.backoff = opts_.retry_interval;
    p.next_retry = p.since + p.backoff;
    parked_.emplace(id, std::move(p));
    {
        std::lock_guard lock(mutex_);
        blocked_.insert(id);
    }
    stats_.parked_connections = parked_.size();
    healthy_ = false;
    publish_stalls();
}

void log_writer::retry_parked(bool stopping, bool past_deadline) {
    if (parked_.empty()) return;
    const auto now = clock::now();
    bool unblocked = false;
    for (auto it = parked_.begin(); it != parked_.end();) {
        auto& p = it->second;
        if (past_deadline) {
            for (const auto& b : p.batches) lose(b);
            p.batches.clear();
        } else if (stopping || now >= p.next_retry) {
            while (!p.batches.empty()) {
                if (!write_batch(p.batches.front(), p.done)) break;
                p.batches.pop_front();
                p.done.clear();
            }
            if (!p.batches.empty()) {
                // Its own schedule, with back-off; the other nodes are not waiting for it.
                p.backoff = std::min(p.backoff * 2, opts_.retry_interval * 8);
                p.next_retry = clock::now() + p.backoff;
            }
        }
        if (!p.batches.empty()) {
            ++it;
            continue;
        }
        if (p.disconnect_pending) close_connection(it->first);
        {
            std::lock_guard lock(mutex_);
            blocked_.erase(it->first);
        }
        it = parked_.erase(it);
        unblocked = true;
    }
    stats_.parked_connections = parked_.size();
    if (parked_.empty()) healthy_ = true;
    publish_stalls();
    if (unblocked && space_callback_) space_callback_();
}

void log_writer::lose(const trace_batch& b) {
    stats_.records_lost += b.records.size();
    report("shutting down with unwritable logs: " + std::to_string(b.records.size()) +
           " trace objects of " + b.node_name + " could not be written");
}

void log_writer::publish_stalls() {
    std::vector<writer_stall> out;
    for (const auto& [id, p] : parked_) {
        for (const auto& s : opts_.sections) {
            if (std::find(p.done.begin(), p.done.end(), s) != p.done.end()) continue;
            if (s.mode == config::log_mode::journal_mode) continue;
            out.push_back({p.node_name, s.log_root, s.format, p.since});
        }
    }
    std::lock_guard lock(stalls_mutex_);
    stalls_ = std::move(out);
}

std::vector<writer_stall> log_writer::stalls() const {
    std::lock_guard lock(stalls_mutex_);
    return stalls_;
}

bool log_writer::write_batch(const trace_batch& b, std::vector<section>& done) {
    bool all_ok = true;
    // The sections of the snapshot the batch was dispatched under (a reload since then does
    // not re-route it); a batch without one goes to every current section.
    const auto& sections = b.routing ? b.routing->sections() : opts_.sections;
    for (std::size_t i = 0; i < sections.size() && i < 64; ++i) {
        const auto& s = sections[i];
        const dispatcher::section_mask bit = dispatcher::section_mask{1} << i;
        if (std::find(done.begin(), done.end(), s) != done.end()) continue;
        const bool wanted = std::any_of(b.records.begin(),
                                        b.records.end(),
                                        [&](const record_ref& r) { return r.sections & bit; });
        if (!wanted) continue;  // no file is opened for a section that gets nothing
        if (s.mode == config::log_mode::journal_mode) {
            write_journal_section(b, s, bit);
            done.push_back(s);
        } else if (write_file_section(b, s, bit)) {
            done.push_back(s);
            if (b.routing && std::find(opts_.sections.begin(), opts_.sections.end(), s) ==
                                 opts_.sections.end()) {
                // Dispatched before a reload removed this section: written, then closed.
                if (auto it = files_.find(file_key(b.node_name, s)); it != files_.end()) {
                    close_file(it->second, true);
                    files_.erase(it);
                }
            }
        } else {
            all_ok = false;
        }
    }
    if (all_ok) {
        stats_.records_written += b.records.size();
        count_node(b.node_name, {1, b.records.size(), 0, 0});
    }
    return all_ok;
}

void log_writer::count_node(const std::string& node, const node_counts& delta) {
    std::lock_guard lock(per_node_mutex_);
    if (per_node_.size() >= opts_.max_tracked_nodes && !per_node_.contains(node)) {
        // Peers choose names (and NodeId fallbacks of ephemeral TCP ports are endless): forget
        // names that have no open file, so the map stays bounded.
        for (auto it = per_node_.begin();
             it != per_node_.end() && per_node_.size() >= opts_.max_tracked_nodes;) {
            const auto open = files_.lower_bound(it->first + '\0');
            const bool live = open != files_.end() && open->first.starts_with(it->first + '\0');
            if (live) {
                ++it;
            } else {
                it = per_node_.erase(it);
                stats_.nodes_forgotten++;
            }
        }
    }
    auto& c = per_node_[node];
    c.batches_written += delta.batches_written;
    c.records_written += delta.records_written;
    c.bytes_written += delta.bytes_written;
    c.write_errors += delta.write_errors;
}

std::map<std::string, node_counts> log_writer::per_node() const {
    std::lock_guard lock(per_node_mutex_);
    return per_node_;
}

log_writer::open_file* log_writer::file_for(const trace_batch& b, const section& s) {
    const auto key = file_key(b.node_name, s);
    auto it = files_.find(key);
    if (it != files_.end() && it->second.connection_id != b.connection_id) {
        // The name now belongs to a new connection (its predecessor's disconnect is still
        // queued): every connection starts its own file.
        close_file(it->second, false);
        files_.erase(it);
        it = files_.end();
    }
    if (it != files_.end() && it->second.fd >= 0) {
        // Someone removed the file or the whole logRoot (an operator, a cleanup job): writing
        // on into the unlinked inode would lose everything unseen. At most once a second, a
        // deleted file is replaced by a new one (directories are recreated).
        auto& f = it->second;
        const auto now = clock::now();
        if (now >= f.next_link_check) {
            f.next_link_check = now + 1s;
            struct stat st {};
            if (::fstat(f.fd, &st) == 0 && st.st_nlink == 0) {
                report("the log file " + f.path + " was removed; writing to a new file");
                close_file(f, false);
                files_.erase(it);
                it = files_.end();
            }
        }
    }
    if (it != files_.end()) {
        if (it->second.fd >= 0 || reopen(it->second)) return &it->second;
        if (!it->second.path.empty()) return nullptr;  // reported by reopen(); retried later
        files_.erase(it);                              // the file is gone: start a new one below
    }
    open_file f;
    f.connection_id = b.connection_id;
    f.format = s.format;
    const std::string dir =
        (fs::path(s.log_root) / dispatcher::log_directory_name(b.node_name)).string();
    if (!open_new_file(f, dir, s.format)) return nullptr;
    auto& slot = files_[key];
    slot = std::move(f);
    return &slot;
}

bool log_writer::reopen(open_file& f) {
    // Reopen the same file after a failed write, so that a disk that fills up and frees again
    // does not leave a trail of new (or empty) files behind.
    const int fd = ::open(f.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
            f.path.clear();  // deleted, or its directory is gone: the caller makes a new file
            return false;
        }
        report("cannot reopen the log file " + f.path + ": " + std::strerror(err));
        stats_.write_errors++;
        healthy_ = false;
        return false;
    }
    f.fd = fd;
    f.file_size = file_size_of(fd);
    return true;
}

bool log_writer::open_new_file(open_file& f, const std::string& dir, config::log_format fmt) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        report("cannot create the log directory " + dir + ": " + ec.message());
        stats_.write_errors++;
        healthy_ = false;
        return false;
    }
    const std::time_t now = std::time(nullptr);
    for (unsigned counter = 0; counter < 10000; ++counter) {
        const std::string path = dir + "/" + make_log_file_name(now, fmt, counter);
        const int fd =
            ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST) continue;  // never truncate an existing file
        if (fd < 0) {
            report("cannot create a log file in " + dir + ": " + std::strerror(errno));
            stats_.write_errors++;
            healthy_ = false;
            return false;
        }
        f.fd = fd;
        f.dir = dir;
        f.path = path;
        f.bytes = 0;
        f.file_size = 0;
        f.format = fmt;
        // Point node.json / node.log at the new file atomically (absolute target, as upstream).
        const std::string link = dir + "/" + std::string(symlink_name(fmt));
        const std::string tmp = link + ".tmp";
        ::unlink(tmp.c_str());
        std::error_code aec;
        const auto absolute = fs::absolute(path, aec);
        const std::string target = (aec ? fs::path(path) : absolute).lexically_normal().string();
        if (::symlink(target.c_str(), tmp.c_str()) != 0 ||
            ::rename(tmp.c_str(), link.c_str()) != 0) {
            report("cannot update the symlink " + link + ": " + std::strerror(errno));
            ::unlink(tmp.c_str());
        }
        return true;
    }
    report("too many log files created in one second in " + dir);
    stats_.write_errors++;
    return false;
}

void log_writer::close_file(open_file& f, bool sync) {
    if (f.fd < 0) return;
    if (sync) ::fsync(f.fd);
    ::close(f.fd);
    f.fd = -1;
}

bool log_writer::write_file_section(const trace_batch& b,
                                    const section& s,
                                    dispatcher::section_mask bit) {
    open_file* f = file_for(b, s);
    if (!f) {
        count_node(b.node_name, {0, 0, 0, 1});
        return false;
    }
    // One buffer, one write(2) per batch and file.
    std::string buf;
    std::size_t total = 0;
    for (const auto& r : b.records) {
        if (r.sections & bit) total += std::max(r.machine_len, r.human_len) + 1;
    }
    if (s.format != config::log_format::for_machine && s.format != config::log_format::for_human)
        total += total / 2;  // the legacy and dispatcher formats add a header per record
    buf.reserve(total + 1);
    // After a reload out of compatibility mode, end the file's last line first.
    if (!opts_.leading_empty_line && f->unterminated) buf.push_back('\n');
    for (const auto& r : b.records) {
        if (!(r.sections & bit)) continue;
        // Compatibility mode reproduces upstream's "\n" + join("\n") (the same bytes as a
        // newline before every record); the default ends every record with a newline.
        if (opts_.leading_empty_line) buf.push_back('\n');
        formatter_.append(b, r, s.format, buf);
        if (!opts_.leading_empty_line) buf.push_back('\n');
    }
    int err = 0;
    if (!write_all(write_, f->fd, buf, err)) {
        stats_.write_errors++;
        count_node(b.node_name, {0, 0, 0, 1});
        healthy_ = false;
        report("cannot write to " + f->path + ": " + std::strerror(err) +
               " (the trace objects are kept and the write is retried)");
        // Undo a partial batch so that the retry does not duplicate records, then reopen the
        // same file on the next attempt. A file that never got a complete batch goes away
        // (no empty files); the retry creates a new one.
        if (::ftruncate(f->fd, static_cast<off_t>(f->file_size)) != 0) {
            report("cannot undo a partial write to " + f->path + ": " + std::strerror(errno));
        }
        close_file(*f, false);
        if (f->file_size == 0 && ::unlink(f->path.c_str()) == 0) f->path.clear();
        if (f->path.empty()) files_.erase(file_key(b.node_name, s));
        return false;
    }
    f->bytes += buf.size();
    f->file_size += buf.size();
    f->unterminated = !buf.empty() && buf.back() != '\n';
    stats_.bytes_written += buf.size();
    count_node(b.node_name, {0, 0, buf.size(), 0});
    return true;
}

void log_writer::write_journal_section(const trace_batch& b,
                                       const section& s,
                                       dispatcher::section_mask bit) {
    // sd_journal_sendv takes the fields as given: no printf parsing, no NUL truncation, and
    // multi-line messages stay one entry.
    std::string fields;
    for (const auto& r : b.records) {
        if (!(r.sections & bit)) continue;
        message_.clear();
        formatter_.append(b, r, s.format, message_);
        const std::string_view msg = message_;
        const std::string_view ns = b.ns(r).empty() ? std::string_view("noname") : b.ns(r);
        const std::string time = journal_time(r.at);
        const std::string priority = std::to_string(syslog_priority(r.sev));
        const std::string_view parts[][2] = {{"MESSAGE=", msg},
                                             {"PRIORITY=", priority},
                                             {"SYSLOG_IDENTIFIER=", b.node_name},
                                             {"NAMESPACE=", ns},
                                             {"THREAD=", b.thread(r)},
                                             {"TIME=", time}};
        fields.clear();
        std::size_t offsets[std::size(parts) + 1] = {};
        for (std::size_t i = 0; i < std::size(parts); ++i) {
            offsets[i] = fields.size();
            fields.append(parts[i][0]);
            fields.append(parts[i][1]);
        }
        offsets[std::size(parts)] = fields.size();
        iovec iov[std::size(parts)];
        for (std::size_t i = 0; i < std::size(parts); ++i) {
            iov[i].iov_base = fields.data() + offsets[i];
            iov[i].iov_len = offsets[i + 1] - offsets[i];
        }
        const int rc = sd_journal_sendv(iov, static_cast<int>(std::size(iov)));
        if (rc < 0) {
            stats_.journal_errors++;
            report(std::string("cannot write to the systemd journal: ") + std::strerror(-rc));
        }
    }
}

void log_writer::close_connection(std::uint64_t id) {
    for (auto it = files_.begin(); it != files_.end();) {
        if (it->second.connection_id == id) {
            close_file(it->second, false);
            it = files_.erase(it);
        } else {
            ++it;
        }
    }
}

void log_writer::rotation_check() {
    const auto& rp = *opts_.rotation;
    // Size rotation of open files: bytes written through the handle, as upstream. Only the
    // open of the new file happens here; fsync and close of the old one, and every scan,
    // deletion and compression run on the maintenance thread.
    std::vector<int> to_close;
    for (auto& [key, f] : files_) {
        if (f.fd < 0 || f.bytes < rp.log_limit_bytes) continue;
        open_file fresh;
        fresh.connection_id = f.connection_id;
        if (open_new_file(fresh, f.dir, f.format)) {
            to_close.push_back(f.fd);
            f.fd = -1;
            f = std::move(fresh);
            stats_.rotations++;
        }
    }
    maintenance_job job;
    job.rotation = rp;
    for (const auto& s : opts_.sections) {
        if (s.mode == config::log_mode::file_mode) job.roots[s.log_root].insert(s.format);
    }
    for (const auto& [key, f] : files_) {
        if (!f.path.empty()) job.open_paths[f.dir].insert(f.path);
    }
    {
        std::lock_guard lock(maintenance_mutex_);
        // One pending scan at most: a newer snapshot replaces one not started yet.
        pending_job_ = std::move(job);
        for (int fd : to_close) fds_to_close_.push_back(fd);
    }
    maintenance_cv_.notify_one();
}

void log_writer::maintenance_loop() {
    for (;;) {
        std::optional<maintenance_job> job;
        std::vector<int> fds;
        {
            std::unique_lock lock(maintenance_mutex_);
            maintenance_cv_.wait(
                lock, [&] { return pending_job_ || !fds_to_close_.empty() || maintenance_stop_; });
            job.swap(pending_job_);
            fds.swap(fds_to_close_);
            if (!job && fds.empty() && maintenance_stop_) return;
        }
        // Never dies silently: a failure is reported and the next job runs.
        try {
            for (int fd : fds) {
                ::fsync(fd);
                ::close(fd);
            }
            if (job && maintenance_hook_) maintenance_hook_();
            if (job) run_maintenance(*job);
        } catch (const std::exception& e) {
            report(std::string("log maintenance failed: ") + e.what());
        } catch (...) {
            report("log maintenance failed");
        }
        maintenance_runs_++;
    }
}

void log_writer::run_maintenance(const maintenance_job& job) {
    // Deletion, caps and compression in every node directory of every FileMode root.
    std::set<std::string> dirs;
    for (const auto& [root, formats] : job.roots) {
        std::error_code ec;
        if (!fs::is_directory(root, ec)) continue;
        for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
            std::error_code dec;
            if (it->is_directory(dec) && !it->is_symlink(dec)) {
                const auto dir = it->path().string();
                const auto open = job.open_paths.find(dir);
                clean_directory(
                    job.rotation,
                    dir,
                    formats,
                    open == job.open_paths.end() ? std::set<std::string>{} : open->second);
                dirs.insert(dir);
            }
        }
    }
    if (job.rotation.remove_idle_dirs) {
        for (const auto& dir : dirs) {
            if (!job.open_paths.contains(dir)) remove_if_idle(job.rotation, dir);
        }
    }
}

void log_writer::clean_directory(const config::rotation_params& rp,
                                 const std::string& dir,
                                 const std::set<config::log_format>& formats,
                                 const std::set<std::string>& open) {
    std::map<config::log_format, std::vector<existing_file>> by_format;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        std::error_code fec;
        if (!entry.is_regular_file(fec) || entry.is_symlink(fec)) continue;
        const auto name = entry.path().filename().string();
        for (auto fmt : formats) {
            if (auto parsed = parse_log_file_name(name, fmt)) {
                by_format[fmt].push_back(
                    {name, *parsed, static_cast<std::uint64_t>(entry.file_size(fec))});
                if (fec) by_format[fmt].back().size = 0;
            }
        }
    }
    if (by_format.empty()) return;

    // Files with a handle (normally just the newest) are current and never touched, even if a
    // clock step made an older name sort last; without a handle the newest file is current.
    std::set<std::string> current;
    for (const auto& path : open) current.insert(fs::path(path).filename().string());
    const std::time_t now = std::time(nullptr);
    auto remove = [&](const std::string& name) {
        if (current.contains(name)) return false;
        if (::unlink((dir + "/" + name).c_str()) != 0) return false;
        stats_.files_deleted++;
        return true;
    };
    // Age rule, keep-N floor and the count cap per format; the byte cap is per directory.
    auto per_format = rp;
    per_format.max_total_bytes.reset();
    std::vector<existing_file> survivors;
    for (auto& [fmt, files] : by_format) {
        std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
            return a.parsed < b.parsed;
        });
        current.insert(files.back().name);
        std::set<std::string> gone;
        for (const auto& name : plan_deletions(files, per_format, now)) {
            if (remove(name)) gone.insert(name);
        }
        for (auto& f : files) {
            if (!gone.contains(f.name)) survivors.push_back(std::move(f));
        }
    }
    std::sort(survivors.begin(), survivors.end(), [](const auto& a, const auto& b) {
        return a.parsed < b.parsed;
    });
    if (rp.max_total_bytes) {
        std::set<std::string> gone;
        for (const auto& name : plan_total_bytes(survivors, current, *rp.max_total_bytes)) {
            if (remove(name)) gone.insert(name);
        }
        std::erase_if(survivors, [&](const existing_file& f) { return gone.contains(f.name); });
    }
    if (rp.compress) {
        for (const auto& f : survivors) {
            if (f.parsed.compressed || current.contains(f.name)) continue;
            const std::string path = dir + "/" + f.name;
            std::string error;
            if (gzip_file(path, path + ".gz", error)) {
                ::unlink(path.c_str());
                stats_.files_compressed++;
            } else {
                report("cannot compress " + path + ": " + error);
            }
        }
    }
}

void log_writer::remove_if_idle(const config::rotation_params& rp, const std::string& dir) {
    // A node directory goes when nothing writes to it, its newest log file (of any format) is
    // older than the max age, and it holds nothing but our files: user files are never removed.
    const auto max_age = static_cast<std::int64_t>(rp.max_age_minutes) * 60;
    const std::time_t now = std::time(nullptr);
    std::vector<fs::path> ours;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        const auto name = entry.path().filename().string();
        std::optional<log_file_name> parsed;
        for (auto fmt : {config::log_format::for_machine, config::log_format::for_human}) {
            if (!parsed) parsed = parse_log_file_name(name, fmt);
            if (name == symlink_name(fmt) || name == std::string(symlink_name(fmt)) + ".tmp") {
                parsed = log_file_name{};  // a symlink of ours: no age of its own
                parsed->created = std::numeric_limits<std::time_t>::min();
            }
        }
        if (!parsed) return;
        if (parsed->created != std::numeric_limits<std::time_t>::min() &&
            now - parsed->created < max_age)
            return;
        ours.push_back(entry.path());
    }
    if (ec) return;
    for (const auto& p : ours) {
        if (::unlink(p.c_str()) == 0 && p.filename().string().starts_with("node-"))
            stats_.files_deleted++;
    }
    std::error_code rec;
    fs::remove(dir, rec);  // only if empty: a file that appeared meanwhile keeps it
}

}  // namespace ct::tracer::logs
