#include "tracer/outputs/file_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "dispatcher/node_names.hpp"
#include "tracer/outputs/log_files.hpp"
#include "tracer/outputs/thread_name.hpp"

namespace ct::tracer::outputs {
namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

/// A file's key in files_ (node name, log root, extension), built into `out`, which keeps its
/// capacity: no allocation per batch.
const std::string& file_key_into(std::string& out, const std::string& node, const section& s) {
    out.assign(node);
    out += '\0';
    out += s.log_root;
    out += '\0';
    out += extension(s.format);
    return out;
}

std::string file_key(const std::string& node, const section& s) {
    std::string key;
    file_key_into(key, node, s);
    return key;
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

file_output::file_output(const writer_options& opts, output_events& events)
    : queued_output("file", opts, events),
      opts_(without_duplicates(opts)),
      formatter_(opts_.legacy_names) {}

file_output::~file_output() {
    begin_stop(clock::now() + opts_.stop_grace);
    join();
}

void file_output::start() {
    next_rotation_check_ = clock::now();
    maintenance_thread_ = std::thread([this] {
        name_this_thread("ct-rotation");
        maintenance_loop();
    });
    queued_output::start();
}

void file_output::join() {
    queued_output::join();
    stop_maintenance();  // after the writer: it may hand over rotated files until the end
}

void file_output::stop_maintenance() {
    {
        std::lock_guard lock(maintenance_mutex_);
        maintenance_stop_ = true;
    }
    maintenance_cv_.notify_one();
    if (maintenance_thread_.joinable()) maintenance_thread_.join();
}

clock::time_point file_output::next_wake() const {
    auto wake_at = opts_.rotation ? next_rotation_check_ : clock::time_point::max();
    for (const auto& [id, p] : parked_) wake_at = std::min(wake_at, p.next_retry);
    if (!staged_order_.empty())
        wake_at = std::min(wake_at, staged_order_.front().second + opts_.write_behind);
    return wake_at;
}

void file_output::tick(bool stopping, bool past_deadline) {
    stopping_now_ = stopping;
    past_deadline_now_ = past_deadline;
    const auto now = clock::now();
    if (stopping) {
        flush_all_staged();
    } else {
        flush_due_staged(now);
    }
    if (opts_.rotation && now >= next_rotation_check_) {
        flush_all_staged();  // rotation measures what was written
        rotation_check();
        next_rotation_check_ = clock::now() + std::chrono::seconds(opts_.rotation->frequency_secs);
    }
    retry_parked(stopping, past_deadline);
}

void file_output::at_exit() {
    flush_all_staged();  // normally nothing: the loop ends only without a backlog
    // Shutdown: fsync and close everything.
    for (auto& [key, f] : files_) close_file(f, true);
    files_.clear();
}

void file_output::handle_batch(shared_delivery d, bool past_deadline) {
    const auto id = d->batch().connection_id;
    if (auto p = parked_.find(id); p != parked_.end()) {
        p->second.batches.push_back({std::move(d), {}});  // behind the parked one: order kept
        return;
    }
    if (stage(d)) return;
    flush_staged(id);  // what the connection holds goes first
    if (auto p = parked_.find(id); p != parked_.end()) {
        p->second.batches.push_back({std::move(d), {}});
        return;
    }
    std::vector<section> done;
    if (write_batch(*d, done)) return;
    if (past_deadline) {
        lose(*d);
        return;
    }
    park(std::move(d), std::move(done));
}

void file_output::handle_disconnect(std::uint64_t connection_id) {
    flush_staged(connection_id);
    if (auto p = parked_.find(connection_id); p != parked_.end()) {
        p->second.disconnect_pending = true;  // after its batches are written
        return;
    }
    close_connection(connection_id);
}

void file_output::apply_options(const writer_options& o) {
    flush_all_staged();  // staged under the old options
    opts_ = without_duplicates(o);
    formatter_.set_legacy_names(opts_.legacy_names);
    // Close files of sections that no longer exist.
    std::set<std::string> keep;
    for (const auto& s : opts_.sections)
        keep.insert(s.log_root + '\0' + std::string(extension(s.format)));
    for (auto it = files_.begin(); it != files_.end();) {
        const auto first = it->first.find('\0');
        if (!keep.contains(it->first.substr(first + 1))) {
            close_file(it->second, true);
            it = files_.erase(it);
        } else {
            ++it;
        }
    }
    next_rotation_check_ = clock::now();
    publish_stalls();
}

void file_output::park_behind(shared_delivery d, std::vector<section> done) {
    if (auto p = parked_.find(d->batch().connection_id); p != parked_.end()) {
        p->second.batches.push_back({std::move(d), std::move(done)});
        return;
    }
    park(std::move(d), std::move(done));
}

void file_output::park(shared_delivery d, std::vector<section> done) {
    const auto id = d->batch().connection_id;
    parked p;
    p.node_name = d->batch().node_name;
    p.batches.push_back({std::move(d), std::move(done)});
    p.since = clock::now();
    p.backoff = opts_.retry_interval;
    p.next_retry = p.since + p.backoff;
    parked_.emplace(id, std::move(p));
    hold_back(id);
    stats_.parked_connections = parked_.size();
    healthy_ = false;
    publish_stalls();
}

void file_output::retry_parked(bool stopping, bool past_deadline) {
    if (parked_.empty()) return;
    const auto now = clock::now();
    // Released at the end, after the health flag: a batch counts as written only once the
    // state it leaves behind is visible.
    std::vector<shared_delivery> written;
    for (auto it = parked_.begin(); it != parked_.end();) {
        auto& p = it->second;
        if (past_deadline) {
            for (const auto& b : p.batches) lose(*b.d);
            p.batches.clear();
        } else if (stopping || now >= p.next_retry) {
            while (!p.batches.empty()) {
                auto& front = p.batches.front();
                if (!write_batch(*front.d, front.done)) break;
                written.push_back(std::move(front.d));
                p.batches.pop_front();
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
        const auto id = it->first;
        if (p.disconnect_pending) close_connection(id);
        it = parked_.erase(it);
        release(id);  // its session may submit again
    }
    stats_.parked_connections = parked_.size();
    if (parked_.empty()) healthy_ = true;
    publish_stalls();
    written.clear();
}

void file_output::publish_stalls() {
    std::vector<writer_stall> out;
    for (const auto& [id, p] : parked_) {
        if (p.batches.empty()) continue;  // not kept so today; front() needs one
        const auto& done = p.batches.front().done;
        for (const auto& s : opts_.sections) {
            if (std::find(done.begin(), done.end(), s) != done.end()) continue;
            if (!serves(s)) continue;
            out.push_back({p.node_name, s.log_root, s.format, p.since});
        }
    }
    std::lock_guard lock(stalls_mutex_);
    stalls_ = std::move(out);
}

std::vector<writer_stall> file_output::stalls() const {
    std::lock_guard lock(stalls_mutex_);
    return stalls_;
}

bool file_output::write_batch(const delivery& d, std::vector<section>& done) {
    const auto& b = d.batch();
    bool all_ok = true;
    dispatcher::section_mask written = 0;
    // The sections of the snapshot the batch was dispatched under (a reload since then does
    // not re-route it); a batch without one goes to every current section.
    const auto& sections = b.routing ? b.routing->sections() : opts_.sections;
    // Sections written by this call; `done` gets them only if the batch must be retried (the
    // usual batch, written everywhere at once, copies no section).
    dispatcher::section_mask written_now = 0;
    auto written_now_has = [&](const section& s, std::size_t before) {
        for (std::size_t j = 0; j < before; ++j) {
            if ((written_now & (dispatcher::section_mask{1} << j)) && sections[j] == s) return true;
        }
        return false;
    };
    for (std::size_t i = 0; i < sections.size() && i < 64; ++i) {
        const auto& s = sections[i];
        if (!serves(s)) continue;
        const dispatcher::section_mask bit = dispatcher::section_mask{1} << i;
        if (std::find(done.begin(), done.end(), s) != done.end() || written_now_has(s, i)) {
            written |= bit;
            continue;
        }
        if (!b.any_routed(bit)) continue;  // no file is opened for a section that gets nothing
        if (write_file_section(b, s, bit)) {
            written_now |= bit;
            written |= bit;
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
        counters_.batches++;
        counters_.records += b.count_routed(written);
        return true;
    }
    for (std::size_t i = 0; i < sections.size() && i < 64; ++i) {
        if (written_now & (dispatcher::section_mask{1} << i)) done.push_back(sections[i]);
    }
    return false;
}

file_output::open_file* file_output::file_for(const trace_batch& b, const section& s) {
    const auto& key = file_key_into(key_buffer_, b.node_name, s);
    auto it = files_.find(key);
    if (it != files_.end() && it->second.connection_id != b.connection_id &&
        staged_.contains(it->second.connection_id)) {
        // What its predecessor still holds goes into the predecessor's file first.
        flush_staged(it->second.connection_id);
        it = files_.find(file_key_into(key_buffer_, b.node_name, s));
    }
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
                events_.report("the log file " + f.path + " was removed; writing to a new file");
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

bool file_output::reopen(open_file& f) {
    // Reopen the same file after a failed write, so that a disk that fills up and frees again
    // does not leave a trail of new (or empty) files behind.
    const int fd = ::open(f.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
            f.path.clear();  // deleted, or its directory is gone: the caller makes a new file
            return false;
        }
        events_.report("cannot reopen the log file " + f.path + ": " + std::strerror(err));
        counters_.errors++;
        healthy_ = false;
        return false;
    }
    f.fd = fd;
    f.file_size = file_size_of(fd);
    return true;
}

bool file_output::open_new_file(open_file& f, const std::string& dir, config::log_format fmt) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        events_.report("cannot create the log directory " + dir + ": " + ec.message());
        counters_.errors++;
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
            events_.report("cannot create a log file in " + dir + ": " + std::strerror(errno));
            counters_.errors++;
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
            events_.report("cannot update the symlink " + link + ": " + std::strerror(errno));
            ::unlink(tmp.c_str());
        }
        return true;
    }
    events_.report("too many log files created in one second in " + dir);
    counters_.errors++;
    return false;
}

void file_output::close_file(open_file& f, bool sync) {
    if (f.fd < 0) return;
    if (sync) ::fsync(f.fd);
    ::close(f.fd);
    f.fd = -1;
}

bool file_output::write_file_section(const trace_batch& b,
                                     const section& s,
                                     dispatcher::section_mask bit) {
    open_file* f = file_for(b, s);
    if (!f) {
        events_.count_node(b.node_name, 0, 1);
        return false;
    }
    // One write per batch and file: ForMachine lines go out straight from the batch's arena
    // (runs of adjacent lines, one writev); other formats are built in the writer's buffer.
    pieces_.clear();
    if (!opts_.leading_empty_line && f->unterminated) pieces_.emplace_back("\n", 1);
    if (!direct_machine_lines(b, s, bit)) {
        std::string& buf = write_buffer_;  // keeps its capacity: no allocation per batch
        buf.clear();
        if (buf.capacity() > max_kept_write_buffer) buf.shrink_to_fit();
        std::size_t total = 0;
        for (const auto& r : b.records) {
            if (r.sections & bit) total += std::max(r.machine_len, r.human_len) + 1;
        }
        if (s.format != config::log_format::for_machine &&
            s.format != config::log_format::for_human)
            total += total / 2;  // the legacy and dispatcher formats add a header per record
        buf.reserve(total + 1);
        for (const auto& r : b.records) {
            if (!(r.sections & bit)) continue;
            // Compatibility mode reproduces upstream's "\n" + join("\n") (the same bytes as a
            // newline before every record); the default ends every record with a newline.
            if (opts_.leading_empty_line) buf.push_back('\n');
            formatter_.append(b, r, s.format, buf);
            if (!opts_.leading_empty_line) buf.push_back('\n');
        }
        pieces_.emplace_back(buf);
    }
    return commit_pieces(*f, b, s);
}

bool file_output::commit_pieces(open_file& f, const trace_batch& b, const section& s) {
    std::size_t bytes = 0;
    for (const auto& p : pieces_) bytes += p.size();
    int err = 0;
    if (!write_pieces(f.fd, err)) {
        counters_.errors++;
        events_.count_node(b.node_name, 0, 1);
        healthy_ = false;
        events_.report("cannot write to " + f.path + ": " + std::strerror(err) +
                       " (the trace objects are kept and the write is retried)");
        // Undo a partial batch so that the retry does not duplicate records, then reopen the
        // same file on the next attempt. A file that never got a complete batch goes away
        // (no empty files); the retry creates a new one.
        if (::ftruncate(f.fd, static_cast<off_t>(f.file_size)) != 0) {
            events_.report("cannot undo a partial write to " + f.path + ": " +
                           std::strerror(errno));
        }
        close_file(f, false);
        if (f.file_size == 0 && ::unlink(f.path.c_str()) == 0) f.path.clear();
        if (f.path.empty()) files_.erase(file_key(b.node_name, s));
        return false;
    }
    f.bytes += bytes;
    f.file_size += bytes;
    for (auto p = pieces_.rbegin(); p != pieces_.rend(); ++p) {
        if (!p->empty()) {
            f.unterminated = p->back() != '\n';
            break;
        }
    }
    counters_.bytes += bytes;
    events_.count_node(b.node_name, bytes, 0);
    return true;
}

bool file_output::stage(const shared_delivery& d) {
    if (opts_.write_behind.count() <= 0 || stopping_now_) return false;
    const auto& b = d->batch();
    const auto& sections = b.routing ? b.routing->sections() : opts_.sections;
    const std::size_t n = std::min<std::size_t>(sections.size(), 64);
    // Sections of the snapshot that the current options no longer have are written (and their
    // files closed) by write_batch.
    for (std::size_t i = 0; i < n; ++i) {
        if (serves(sections[i]) &&
            std::find(opts_.sections.begin(), opts_.sections.end(), sections[i]) ==
                opts_.sections.end())
            return false;
    }
    if (!staged_.contains(b.connection_id)) {
        // A node that reconnected before its old connection's disconnect was handled: what the
        // old connection holds goes into its own file first, as it arrived first.
        for (std::size_t i = 0; i < n; ++i) {
            if (!serves(sections[i])) continue;
            auto f = files_.find(file_key_into(key_buffer_, b.node_name, sections[i]));
            if (f != files_.end() && f->second.connection_id != b.connection_id)
                flush_staged(f->second.connection_id);
        }
    }
    auto [it, fresh] = staged_.try_emplace(b.connection_id);
    auto& sc = it->second;
    if (fresh) {
        sc.since = clock::now();
        staged_order_.emplace_back(b.connection_id, sc.since);
    }
    staged_batch sb{d, 0};
    bool full = false;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& s = sections[i];
        if (!serves(s)) continue;
        const dispatcher::section_mask bit = dispatcher::section_mask{1} << i;
        bool duplicate = false;
        for (std::size_t j = 0; j < i && !duplicate; ++j)
            duplicate = (sb.sections & (dispatcher::section_mask{1} << j)) && sections[j] == s;
        if (duplicate) {
            sb.sections |= bit;  // written once, counted as upstream counts it
            continue;
        }
        if (!b.any_routed(bit)) continue;  // no file is opened for a section that gets nothing
        sb.sections |= bit;
        auto f = std::find_if(
            sc.files.begin(), sc.files.end(), [&](const staged_file& x) { return x.s == s; });
        if (f == sc.files.end()) {
            sc.files.push_back({s, {}, {}, 0});
            f = sc.files.end() - 1;
        }
        pieces_.clear();
        if (direct_machine_lines(b, s, bit)) {
            for (auto p : pieces_) {
                f->pieces.push_back({p.data(), p.size()});
                f->bytes += p.size();
            }
        } else {
            const std::size_t before = f->text.size();
            for (const auto& r : b.records) {
                if (!(r.sections & bit)) continue;
                if (opts_.leading_empty_line) f->text.push_back('\n');
                formatter_.append(b, r, s.format, f->text);
                if (!opts_.leading_empty_line) f->text.push_back('\n');
            }
            const std::size_t added = f->text.size() - before;
            f->pieces.push_back({nullptr, added});
            f->bytes += added;
        }
        full = full || f->bytes >= opts_.write_behind_bytes;
    }
    const std::size_t memory = queued_size(b);
    sc.memory += memory;
    staged_memory_ += memory;
    sc.batches.push_back(std::move(sb));
    // Bounded: a thousand slow nodes each hold a few replies, so the bound is a few queues'
    // worth (memory of the batches, not only their lines).
    if (staged_memory_ > staged_memory_per_queue * opts_.queue_bytes) {
        flush_all_staged();
    } else if (full) {
        flush_staged(b.connection_id);
    }
    return true;
}

bool file_output::write_staged(const trace_batch& first, staged_file& sf) {
    open_file* f = file_for(first, sf.s);
    if (!f) {
        events_.count_node(first.node_name, 0, 1);
        return false;
    }
    pieces_.clear();
    if (!opts_.leading_empty_line && f->unterminated) pieces_.emplace_back("\n", 1);
    std::size_t text_at = 0;
    for (const auto& p : sf.pieces) {
        if (p.data) {
            pieces_.emplace_back(p.data, p.size);
        } else {
            pieces_.emplace_back(sf.text.data() + text_at, p.size);
            text_at += p.size;
        }
    }
    return commit_pieces(*f, first, sf.s);
}

void file_output::flush_staged(std::uint64_t connection_id) {
    auto it = staged_.find(connection_id);
    if (it == staged_.end()) return;
    // Out of the map first: a write may flush another connection (file_for), never this one.
    staged_connection sc = std::move(it->second);
    staged_.erase(it);
    staged_memory_ -= std::min(sc.memory, staged_memory_);
    if (sc.batches.empty()) return;
    const auto& first = sc.batches.front().d->batch();
    std::vector<section> failed;
    for (auto& sf : sc.files) {
        if (!write_staged(first, sf)) failed.push_back(sf.s);
    }
    if (failed.empty()) {
        for (const auto& sb : sc.batches) {
            counters_.batches++;
            counters_.records += sb.d->batch().count_routed(sb.sections);
        }
        return;  // the deliveries are released with sc
    }
    // A file failed: every batch goes the way of a batch written as it came, with the
    // sections it reached.
    for (auto& sb : sc.batches) {
        if (past_deadline_now_) {
            lose(*sb.d);
            continue;
        }
        const auto& b = sb.d->batch();
        const auto& sections = b.routing ? b.routing->sections() : opts_.sections;
        std::vector<section> done;
        for (std::size_t i = 0; i < sections.size() && i < 64; ++i) {
            if (!(sb.sections & (dispatcher::section_mask{1} << i))) continue;
            if (std::find(failed.begin(), failed.end(), sections[i]) != failed.end()) continue;
            if (std::find(done.begin(), done.end(), sections[i]) == done.end())
                done.push_back(sections[i]);
        }
        park_behind(std::move(sb.d), std::move(done));
    }
}

void file_output::flush_all_staged() {
    // In the order the connections started holding: the files of a reused name keep theirs.
    while (!staged_order_.empty()) {
        const auto [id, since] = staged_order_.front();
        staged_order_.pop_front();
        auto it = staged_.find(id);
        if (it != staged_.end() && it->second.since == since) flush_staged(id);
    }
    while (!staged_.empty()) flush_staged(staged_.begin()->first);
}

void file_output::flush_due_staged(clock::time_point now) {
    while (!staged_order_.empty() && staged_order_.front().second + opts_.write_behind <= now) {
        const auto [id, since] = staged_order_.front();
        staged_order_.pop_front();
        auto it = staged_.find(id);
        if (it != staged_.end() && it->second.since == since) flush_staged(id);
    }
    // Entries of connections flushed early (size, disconnect) are dropped as they come up; a
    // long run of them must not make next_wake() fire for nothing.
    while (!staged_order_.empty()) {
        auto it = staged_.find(staged_order_.front().first);
        if (it != staged_.end() && it->second.since == staged_order_.front().second) break;
        staged_order_.pop_front();
    }
}

bool file_output::direct_machine_lines(const trace_batch& b,
                                       const section& s,
                                       dispatcher::section_mask bit) {
    if (s.format != config::log_format::for_machine || opts_.leading_empty_line) return false;
    if ((b.summary.all & bit) && b.summary.lines_len > 0) {
        // Every record, lines back to back: one piece, without reading the records.
        pieces_.push_back(
            std::string_view(b.arena).substr(b.summary.lines_off, b.summary.lines_len));
        return true;
    }
    const std::size_t before = pieces_.size();
    const char* run = nullptr;
    std::size_t run_len = 0;
    for (const auto& r : b.records) {
        if (!(r.sections & bit)) continue;
        const auto line = b.machine_line(r);
        if (line.empty()) {  // a batch laid out otherwise: format it
            pieces_.resize(before);
            return false;
        }
        if (run && run + run_len == line.data()) {
            run_len += line.size();
            continue;
        }
        if (run) pieces_.emplace_back(run, run_len);
        run = line.data();
        run_len = line.size();
    }
    if (run) pieces_.emplace_back(run, run_len);
    return true;
}

bool file_output::write_pieces(int fd, int& err) {
    if (write_) {
        // A test's write hook sees one call per piece.
        for (const auto& p : pieces_) {
            if (!write_all(write_, fd, p, err)) return false;
        }
        return true;
    }
    iovecs_.clear();
    for (const auto& p : pieces_) {
        if (!p.empty()) iovecs_.push_back({const_cast<char*>(p.data()), p.size()});
    }
    std::size_t at = 0;
    while (at < iovecs_.size()) {
        const int n = static_cast<int>(std::min<std::size_t>(iovecs_.size() - at, IOV_MAX));
        const ssize_t w = ::writev(fd, iovecs_.data() + at, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            err = errno != 0 ? errno : EIO;
            return false;
        }
        if (w == 0) {  // no progress and no error: treat as a full device rather than spin
            err = ENOSPC;
            return false;
        }
        // Resume after a partial write.
        auto left = static_cast<std::size_t>(w);
        while (at < iovecs_.size() && left >= iovecs_[at].iov_len) left -= iovecs_[at++].iov_len;
        if (left > 0) {
            iovecs_[at].iov_base = static_cast<char*>(iovecs_[at].iov_base) + left;
            iovecs_[at].iov_len -= left;
        }
    }
    return true;
}

void file_output::close_connection(std::uint64_t id) {
    for (auto it = files_.begin(); it != files_.end();) {
        if (it->second.connection_id == id) {
            close_file(it->second, false);
            it = files_.erase(it);
        } else {
            ++it;
        }
    }
}

void file_output::rotation_check() {
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

void file_output::maintenance_loop() {
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
            events_.report(std::string("log maintenance failed: ") + e.what());
        } catch (...) {
            events_.report("log maintenance failed");
        }
        maintenance_runs_++;
    }
}

void file_output::run_maintenance(const maintenance_job& job) {
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
                if (!unchanged_since_settled(dir, formats)) {
                    clean_directory(
                        job.rotation,
                        dir,
                        formats,
                        open == job.open_paths.end() ? std::set<std::string>{} : open->second);
                }
                dirs.insert(dir);
            }
        }
    }
    if (job.rotation.remove_idle_dirs) {
        for (const auto& dir : dirs) {
            if (!job.open_paths.contains(dir)) remove_if_idle(job.rotation, dir);
        }
    }
    std::erase_if(directories_, [&](const auto& entry) { return !dirs.contains(entry.first); });
}

bool file_output::unchanged_since_settled(const std::string& dir,
                                          const std::set<config::log_format>& formats) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return false;
    auto& state = directories_[dir];
    const bool same = state.settled && state.formats == formats &&
                      state.mtime.tv_sec == st.st_mtim.tv_sec &&
                      state.mtime.tv_nsec == st.st_mtim.tv_nsec && state.skips < rescan_after_skips;
    if (same) {
        ++state.skips;
        return true;
    }
    // Taken before the scan: a change during it makes the next check scan again. A directory
    // changed within the last second may change again within the same timestamp tick, which
    // the comparison would miss: it cannot be settled by this scan.
    state = directory_state{};
    state.mtime = st.st_mtim;
    state.formats = formats;
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    state.trusted = now.tv_sec - st.st_mtim.tv_sec >= 2;
    return false;
}

void file_output::clean_directory(const config::rotation_params& rp,
                                  const std::string& dir,
                                  const std::set<config::log_format>& formats,
                                  const std::set<std::string>& open) {
    stats_.directory_scans++;
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
    auto& state = directories_[dir];
    if (by_format.empty()) {
        state.settled = state.trusted;
        return;
    }

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
    state.settled =
        state.trusted && std::all_of(survivors.begin(), survivors.end(), [&](const auto& f) {
            return current.contains(f.name);
        });
    if (rp.compress) {
        for (const auto& f : survivors) {
            if (f.parsed.compressed || current.contains(f.name)) continue;
            const std::string path = dir + "/" + f.name;
            std::string error;
            if (gzip_file(path, path + ".gz", error)) {
                ::unlink(path.c_str());
                stats_.files_compressed++;
            } else {
                events_.report("cannot compress " + path + ": " + error);
            }
        }
    }
}

void file_output::remove_if_idle(const config::rotation_params& rp, const std::string& dir) {
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

}  // namespace ct::tracer::outputs
