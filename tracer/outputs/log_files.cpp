#include "tracer/outputs/log_files.hpp"

#include <charconv>
#include <cstdio>

namespace ct::tracer::outputs {

std::string journal_time(const protocol::utc_time& t) {
    const auto secs = static_cast<std::time_t>(t.seconds);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[80];
    std::snprintf(buf,
                  sizeof buf,
                  "%04d-%02d-%02d %02d:%02d:%02d.%012lluZ",
                  tm.tm_year + 1900,
                  tm.tm_mon + 1,
                  tm.tm_mday,
                  tm.tm_hour,
                  tm.tm_min,
                  tm.tm_sec,
                  static_cast<unsigned long long>(t.picoseconds % 1000000000000ull));
    return buf;
}

std::string_view extension(config::log_format f) { return config::file_extension(f); }

std::string_view symlink_name(config::log_format f) {
    return config::file_extension(f) == "json" ? "node.json" : "node.log";
}

std::string make_log_file_name(std::time_t created, config::log_format f, unsigned counter) {
    std::tm tm{};
    gmtime_r(&created, &tm);
    char buf[64];
    std::snprintf(buf,
                  sizeof buf,
                  "node-%04d-%02d-%02dT%02d-%02d-%02d",
                  tm.tm_year + 1900,
                  tm.tm_mon + 1,
                  tm.tm_mday,
                  tm.tm_hour,
                  tm.tm_min,
                  tm.tm_sec);
    std::string name(buf);
    if (counter > 0) name += "_" + std::to_string(counter);
    name += ".";
    name += extension(f);
    return name;
}

std::optional<log_file_name> parse_log_file_name(std::string_view name, config::log_format f) {
    log_file_name out;
    if (name.ends_with(".gz")) {
        out.compressed = true;
        name.remove_suffix(3);
    }
    const std::string ext = "." + std::string(extension(f));
    if (!name.starts_with("node-") || !name.ends_with(ext)) return std::nullopt;
    name.remove_prefix(5);
    name.remove_suffix(ext.size());
    // YYYY-MM-DDTHH-MM-SS, then optionally _N
    if (name.size() < 19) return std::nullopt;
    auto num = [&](std::size_t pos, std::size_t len, int& v) {
        auto [p, ec] = std::from_chars(name.data() + pos, name.data() + pos + len, v);
        return ec == std::errc() && p == name.data() + pos + len;
    };
    int y, mo, d, h, mi, s;
    if (!num(0, 4, y) || name[4] != '-' || !num(5, 2, mo) || name[7] != '-' || !num(8, 2, d) ||
        name[10] != 'T' || !num(11, 2, h) || name[13] != '-' || !num(14, 2, mi) ||
        name[16] != '-' || !num(17, 2, s)) {
        return std::nullopt;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
    std::string_view rest = name.substr(19);
    if (!rest.empty()) {
        if (rest[0] != '_' || rest.size() < 2) return std::nullopt;
        int c = 0;
        auto [p, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), c);
        if (ec != std::errc() || p != rest.data() + rest.size() || c < 1) return std::nullopt;
        out.counter = static_cast<unsigned>(c);
    }
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    out.created = timegm(&tm);
    return out;
}

std::vector<std::string> plan_deletions(const std::vector<existing_file>& files,
                                        const config::rotation_params& rp,
                                        std::time_t now) {
    std::vector<std::string> doomed;
    if (files.size() <= 1) return doomed;
    // Candidates: everything but the current (newest) file.
    std::vector<const existing_file*> old;
    for (std::size_t i = 0; i + 1 < files.size(); ++i) old.push_back(&files[i]);

    // Upstream: keep the newest rpKeepFilesNum of them; delete oldest-first while older than
    // the max age, stopping at the first younger one.
    std::size_t deletable = old.size() > rp.keep_files_num ? old.size() - rp.keep_files_num : 0;
    std::size_t removed = 0;
    const auto max_age = static_cast<std::int64_t>(rp.max_age_minutes) * 60;
    for (; removed < deletable; ++removed) {
        if (now - old[removed]->parsed.created < max_age) break;
        doomed.push_back(old[removed]->name);
    }

    // Extensions: a cap on the file count (the current file counts) and on total bytes.
    std::size_t remaining_files = files.size() - removed;
    std::uint64_t total = 0;
    for (const auto& f : files) total += f.size;
    for (std::size_t i = 0; i < removed; ++i) total -= old[i]->size;
    for (std::size_t i = removed; i < old.size(); ++i) {
        const bool over_count = rp.max_files_num && remaining_files > *rp.max_files_num;
        const bool over_bytes = rp.max_total_bytes && total > *rp.max_total_bytes;
        if (!over_count && !over_bytes) break;
        doomed.push_back(old[i]->name);
        --remaining_files;
        total -= old[i]->size;
    }
    return doomed;
}

std::vector<std::string> plan_total_bytes(const std::vector<existing_file>& files,
                                          const std::set<std::string>& current,
                                          std::uint64_t max_total_bytes) {
    std::uint64_t total = 0;
    for (const auto& f : files) total += f.size;
    std::vector<std::string> doomed;
    for (const auto& f : files) {
        if (total <= max_total_bytes) break;
        if (current.contains(f.name)) continue;
        doomed.push_back(f.name);
        total -= f.size;
    }
    return doomed;
}

}  // namespace ct::tracer::outputs
