#include "tracer/export/otlp_spill.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace ct::tracer::exporting {

namespace fs = std::filesystem;

namespace {

// "<20-digit sequence>-<records>.<pb|json>"
std::optional<otlp_spill::entry> parse_name(const fs::path& p, std::uint64_t& seq) {
    const std::string name = p.filename().string();
    const auto dash = name.find('-');
    const auto dot = name.rfind('.');
    if (dash != 20 || dot == std::string::npos || dot < dash) return std::nullopt;
    const std::string ext = name.substr(dot + 1);
    if (ext != "pb" && ext != "json") return std::nullopt;
    char* end = nullptr;
    seq = std::strtoull(name.substr(0, 20).c_str(), &end, 10);
    otlp_spill::entry e;
    e.path = p.string();
    e.records = std::strtoull(name.substr(dash + 1, dot - dash - 1).c_str(), nullptr, 10);
    e.json = ext == "json";
    e.seq = seq;
    return e;
}

}  // namespace

otlp_spill::otlp_spill(std::string dir, std::uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) {
        problem_ = "cannot create " + dir_ + ": " + ec.message();
        return;
    }
    std::vector<std::pair<std::uint64_t, entry>> found;
    for (const auto& f : fs::directory_iterator(dir_, ec)) {
        const auto name = f.path().filename().string();
        if (name.rfind(".tmp-", 0) == 0) {  // a write a crash interrupted
            fs::remove(f.path(), ec);
            continue;
        }
        std::uint64_t seq = 0;
        if (auto e = parse_name(f.path(), seq)) {
            e->size = static_cast<std::uint64_t>(fs::file_size(f.path(), ec));
            found.emplace_back(seq, std::move(*e));
        }
    }
    if (ec) problem_ = "cannot read " + dir_ + ": " + ec.message();
    std::sort(
        found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [seq, e] : found) {
        next_seq_ = std::max(next_seq_, seq + 1);  // (files of another run keep their order)
        bytes_ += e.size;
        files_.push_back(std::move(e));
    }
}

bool otlp_spill::write(
    std::string_view body, std::uint64_t records, bool json, std::string& problem, bool front) {
    if (!problem_.empty()) {
        problem = problem_;
        return false;
    }
    if (bytes_ + body.size() > max_bytes_) {
        problem = "spill full (spillMaxBytes)";
        return false;
    }
    const std::uint64_t number =
        front && !files_.empty() && files_.front().seq > 1 ? files_.front().seq - 1 : next_seq_;
    char seq[32];
    std::snprintf(seq, sizeof seq, "%020llu", static_cast<unsigned long long>(number));
    const std::string name =
        std::string(seq) + "-" + std::to_string(records) + (json ? ".json" : ".pb");
    const fs::path tmp = fs::path(dir_) / (".tmp-" + name);
    const fs::path final_path = fs::path(dir_) / name;
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(body.data(), static_cast<std::streamsize>(body.size()));
        out.flush();
        if (!out) {
            problem = "cannot write " + tmp.string() + ": " + std::strerror(errno);
            std::error_code ec;
            fs::remove(tmp, ec);
            return false;
        }
    }
    std::error_code ec;
    fs::rename(tmp, final_path, ec);
    if (ec) {
        problem = "cannot rename " + tmp.string() + ": " + ec.message();
        fs::remove(tmp, ec);
        return false;
    }
    bytes_ += body.size();
    const entry e{final_path.string(), records, json, body.size(), number};
    if (number == next_seq_) {
        ++next_seq_;
        files_.push_back(e);
    } else {
        files_.push_front(e);
    }
    return true;
}

std::optional<otlp_spill::entry> otlp_spill::oldest() const {
    if (files_.empty()) return std::nullopt;
    return files_.front();
}

bool otlp_spill::read(const entry& e, std::string& body) {
    std::ifstream in(e.path, std::ios::binary);
    if (!in) return false;
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return static_cast<bool>(in) || in.eof();
}

void otlp_spill::remove_oldest() {
    if (files_.empty()) return;
    std::error_code ec;
    fs::remove(files_.front().path, ec);
    bytes_ -= std::min(bytes_, files_.front().size);
    files_.pop_front();
}

}  // namespace ct::tracer::exporting
