#include "tools/trace_forwarder/simulated_node.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "protocol/cbor_writer.hpp"
#include "protocol/trace_objects_codec.hpp"

namespace ct::forwarder {
namespace {

struct trace_kind {
    std::string_view ns;
    std::string_view kind;
    protocol::severity sev;
    unsigned weight;
};

// A relay's mix of real cardano-node namespaces with their declared severities (spec
// dispatcher §1.1, §2.8 and the legacy table of §4.2): mostly Info chain, fetch and mempool
// traffic, Debug noise that the shipped configurations silence, rare problems.
constexpr std::array<trace_kind, 40> kinds{{
    {"ChainDB.AddBlockEvent.AddedToCurrentChain",
     "AddedToCurrentChain",
     protocol::severity::notice,
     10},
    {"ChainDB.AddBlockEvent.AddedBlockToQueue", "AddedBlockToQueue", protocol::severity::debug, 8},
    {"ChainDB.AddBlockEvent.AddedBlockToVolatileDB",
     "AddedBlockToVolatileDB",
     protocol::severity::debug,
     8},
    {"ChainDB.AddBlockEvent.AddBlockValidation.ValidCandidate",
     "ValidCandidate",
     protocol::severity::info,
     6},
    {"ChainDB.CopyToImmutableDBEvent.CopiedBlockToImmutableDB",
     "CopiedBlockToImmutableDB",
     protocol::severity::debug,
     6},
    {"ChainDB.ImmDbEvent.ChunkValidation.ValidatedChunk",
     "ValidatedChunk",
     protocol::severity::info,
     2},
    {"ChainDB.LedgerEvent.Forker.ForkerOpen", "ForkerOpen", protocol::severity::debug, 4},
    {"ChainDB.ReplayBlock.LedgerReplay", "LedgerReplay", protocol::severity::info, 1},
    {"BlockFetch.Client.CompletedBlockFetch", "CompletedBlockFetch", protocol::severity::info, 10},
    {"BlockFetch.Client.SendFetchRequest", "SendFetchRequest", protocol::severity::info, 6},
    {"BlockFetch.Decision.Decline", "FetchDecision declined", protocol::severity::info, 6},
    {"BlockFetch.Server.SendBlock", "SendBlock", protocol::severity::info, 3},
    {"ChainSync.Client.DownloadedHeader", "DownloadedHeader", protocol::severity::info, 10},
    {"ChainSync.Client.RolledBack", "RolledBack", protocol::severity::notice, 1},
    {"ChainSync.ServerHeader.Update", "ChainSyncServerEvent.Update", protocol::severity::info, 4},
    {"Mempool.AddedTx", "TraceMempoolAddedTx", protocol::severity::info, 10},
    {"Mempool.RejectedTx", "TraceMempoolRejectedTx", protocol::severity::info, 2},
    {"Mempool.RemoveTxs", "TraceMempoolRemoveTxs", protocol::severity::info, 2},
    {"Forge.Loop.StartLeadershipCheck", "TraceStartLeadershipCheck", protocol::severity::info, 5},
    {"Forge.Loop.NodeNotLeader", "TraceNodeNotLeader", protocol::severity::info, 5},
    {"Forge.StateInfo", "ForgeStateInfo", protocol::severity::info, 1},
    {"TxSubmission.TxInbound.Collected",
     "TraceTxSubmissionCollected",
     protocol::severity::debug,
     4},
    {"TxSubmission.TxInbound.Processed",
     "TraceTxSubmissionProcessed",
     protocol::severity::debug,
     3},
    {"Net.PeerSelection.Actions.MonitoringResult",
     "MonitoringResult",
     protocol::severity::debug,
     3},
    {"Net.PeerSelection.Selection.GovernorWakeup", "GovernorWakeup", protocol::severity::info, 2},
    {"Net.PeerSelection.Counters", "PeerSelectionCounters", protocol::severity::info, 1},
    {"Net.ConnectionManager.Remote.ConnectionManagerCounters",
     "ConnectionManagerCounters",
     protocol::severity::info,
     2},
    {"Net.ConnectionManager.Remote.ConnectionHandler",
     "ConnectionHandler",
     protocol::severity::info,
     1},
    {"Net.InboundGovernor.Remote.InboundGovernorCounters",
     "InboundGovernorCounters",
     protocol::severity::info,
     2},
    {"Net.InboundGovernor.Remote.InboundGovernorError",
     "InboundGovernorError",
     protocol::severity::error,
     1},
    {"Net.Mux.Remote.Bearer.RecvEnd", "RecvEnd", protocol::severity::debug, 4},
    {"Net.Handshake.Remote.Send.ProposeVersions", "ProposeVersions", protocol::severity::info, 1},
    {"Net.DNS.LookupResult", "DnsLookupResult", protocol::severity::info, 1},
    {"Net.Server.Remote.Error", "AcceptError", protocol::severity::warning, 1},
    {"BlockchainTime.CurrentSlotUnknown", "CurrentSlotUnknown", protocol::severity::warning, 1},
    {"Consensus.GSM.EnterCaughtUp", "EnterCaughtUp", protocol::severity::notice, 1},
    {"Resources", "ResourceStats", protocol::severity::info, 1},
    {"Startup.Info", "StartupInfo", protocol::severity::notice, 1},
    {"Shutdown.Requested", "ShutdownRequested", protocol::severity::warning, 1},
    {"Reflection.TracerInfo", "TracerMeta", protocol::severity::notice, 1},
}};

// One kind, drawn by weight: the mix a relay produces.
const trace_kind* pick_kind(std::mt19937_64& rng) {
    static const unsigned total = [] {
        unsigned t = 0;
        for (const auto& k : kinds) t += k.weight;
        return t;
    }();
    unsigned pick = static_cast<unsigned>(rng() % total);
    for (const auto& cand : kinds) {
        if (pick < cand.weight) return &cand;
        pick -= cand.weight;
    }
    return &kinds[0];
}

/// The wall clock as a TraceObject timestamp (nanosecond resolution, in picoseconds).
protocol::utc_time utc_now() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto ns_total = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
    return {ns_total / 1'000'000'000, static_cast<std::uint64_t>(ns_total % 1'000'000'000) * 1000};
}

std::string json_escape(std::string_view s) { return nlohmann::json(std::string(s)).dump(); }

}  // namespace

std::string aeson_time(std::int64_t seconds, std::uint64_t picoseconds) {
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf,
                  sizeof buf,
                  "%04d-%02d-%02dT%02d:%02d:%02d",
                  tm.tm_year + 1900,
                  tm.tm_mon + 1,
                  tm.tm_mday,
                  tm.tm_hour,
                  tm.tm_min,
                  tm.tm_sec);
    std::string out(buf);
    if (picoseconds != 0) {
        char frac[32];
        std::snprintf(frac, sizeof frac, "%012llu", static_cast<unsigned long long>(picoseconds));
        std::string f(frac);
        while (!f.empty() && f.back() == '0') f.pop_back();
        out += "." + f;
    }
    return out + "Z";
}

simulated_node::simulated_node(node_options opts) : opts_(std::move(opts)), rng_(opts_.seed) {
    const auto now = std::chrono::system_clock::now();
    const auto secs =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    start_time_ = aeson_time(secs, 500000000000ull);
    // cardano-node's metric names (trace-dispatcher's EKG backend, prefix
    // cardano.node.metrics., spec dispatcher §4.4), most common first; beyond the table,
    // numbered extras.
    using k = protocol::metric_kind;
    const std::array<std::pair<std::string_view, k>, 30> real_metrics{{
        {"blockNum_int", k::gauge},
        {"slotNum_int", k::gauge},
        {"served.header_counter", k::counter},
        {"peerSelection.Cold_int", k::gauge},
        {"density_real", k::label},
        {"Forge.forged_counter", k::counter},
        {"epoch_int", k::gauge},
        {"slotInEpoch_int", k::gauge},
        {"txsInMempool_int", k::gauge},
        {"mempoolBytes_int", k::gauge},
        {"txsProcessedNum_counter", k::counter},
        {"peerSelection.Warm_int", k::gauge},
        {"peerSelection.Hot_int", k::gauge},
        {"served.block_counter", k::counter},
        {"forks_counter", k::counter},
        {"remainingKESPeriods_int", k::gauge},
        {"currentKESPeriod_int", k::gauge},
        {"node_start_time_int", k::gauge},
        {"nodeIsLeader_int", k::gauge},
        {"blocksForged_int", k::gauge},
        {"Forge.node_not_leader_counter", k::counter},
        {"Forge.about_to_lead_counter", k::counter},
        {"connectionManager.inboundConns_int", k::gauge},
        {"connectionManager.outboundConns_int", k::gauge},
        {"connectionManager.duplexConns_int", k::gauge},
        {"inboundGovernor.hot_int", k::gauge},
        {"blockfetchclient.blockdelay_real", k::label},
        {"blockfetchclient.lateblocks_counter", k::counter},
        {"Mem.resident_int", k::gauge},
        {"RTS.gcLiveBytes_int", k::gauge},
    }};
    for (std::size_t i = 0; metrics_.size() < opts_.metrics; ++i) {
        if (i < real_metrics.size()) {
            const auto& [name, kind] = real_metrics[i];
            metrics_.push_back({"cardano.node.metrics." + std::string(name),
                                kind,
                                kind == k::label ? 0 : static_cast<std::int64_t>(i * 100),
                                kind == k::label ? "4.9e-2" : ""});
        } else {
            metrics_.push_back({"cardano.node.metrics.extra.metric" + std::to_string(i) + "_int",
                                k::gauge,
                                static_cast<std::int64_t>(i * 100),
                                {}});
        }
    }
    if (opts_.metrics > 0) {
        metrics_.push_back({"cardano.node.metrics.cardano_build_info",
                            protocol::metric_kind::label,
                            0,
                            "{version=\"10.5.1\",revision=\"0123456789abcdef\"} 1"});
        metrics_.push_back({"rts.gc.num_gcs", protocol::metric_kind::counter, 0, {}});
        metrics_.push_back(
            {"rts.gc.current_bytes_used", protocol::metric_kind::gauge, 1 << 20, {}});
    }
    // Names must be unique for a store; drop accidental duplicates.
    std::map<std::string, bool> seen;
    std::erase_if(metrics_, [&](const metric& m) { return !seen.emplace(m.name, true).second; });
    if (!opts_.tracer_config_info.empty()) queue_tracer_config_info();
}

std::string simulated_node::machine_json(std::string_view node,
                                         std::uint64_t seq,
                                         std::string_view ns,
                                         std::string_view kind,
                                         protocol::severity sev,
                                         std::string_view at,
                                         std::string_view thread,
                                         std::string_view host,
                                         std::size_t target_size) {
    // trace-dispatcher's TraceMessage: at, ns, data (keys sorted), sev, thread, host.
    std::string head = "{\"at\":\"" + std::string(at) + "\",\"ns\":" + json_escape(ns) +
                       ",\"data\":{\"kind\":" + json_escape(kind) +
                       ",\"node\":" + json_escape(node) + ",\"payload\":\"";
    std::string tail = "\",\"seq\":" + std::to_string(seq) + "},\"sev\":\"" +
                       std::string(protocol::severity_name(sev)) + "\",\"thread\":\"" +
                       std::string(thread) + "\",\"host\":" + json_escape(host) + "}";
    const std::size_t fixed = head.size() + tail.size();
    const std::size_t pad = target_size > fixed ? target_size - fixed : 0;
    std::string out;
    out.reserve(fixed + pad);
    out += head;
    for (std::size_t i = 0; i < pad; ++i) out.push_back(static_cast<char>('a' + (seq + i) % 26));
    out += tail;
    return out;
}

void simulated_node::queue_object(std::uint64_t seq, const protocol::trace_object_view& v) {
    // v.ns points at static storage (the kinds table or a literal), kept for --sent-log.
    queued_object q{seq, {}, v.at.seconds, v.ns, v.sev};
    q.encoded.reserve(v.machine.size() + v.human.size() + 96);
    protocol::encode_trace_object(v, q.encoded);
    queue_.push_back(std::move(q));
}

void simulated_node::queue_tracer_config_info() {
    // As the node traces it once at start (spec dispatcher §6.1), seq 0, before anything else.
    const bool hermod = opts_.tracer_config_info == "Options";
    const std::string options =
        R"({"":{"backends":["EKGBackend","Forwarder","Stdout HumanFormatColoured"],"detail":"DNormal","severity":"Notice"},"ChainDB":{"severity":"Info"},"Mempool":{"severity":"Silence"}})";
    const std::string conf =
        hermod
            ? R"({"ApplicationName":)" + json_escape(opts_.name) +
                  R"(,"Forwarder":{"maxReconnectDelay":30,"queueSize":128,"verbosity":"Minimum"},"MetricsPrefix":"cardano.node.metrics.","Options":)" +
                  options + R"(,"PrometheusSimpleRun":null})"
            : R"({"TraceOptionForwarder":{"maxReconnectDelay":30,"queueSize":128,"verbosity":"Minimum"},"TraceOptionLedgerMetricsFrequency":null,"TraceOptionMetricsPrefix":"cardano.node.metrics.","TraceOptionNodeName":)" +
                  json_escape(opts_.name) +
                  R"(,"TraceOptionResourceFrequency":1000,"TraceOptions":)" + options + "}";
    const protocol::utc_time at = utc_now();
    const std::string machine = "{\"at\":\"" + aeson_time(at.seconds, at.picoseconds) +
                                R"(","ns":"Reflection.TracerConfigInfo","data":{"conf":)" + conf +
                                R"(},"sev":"Notice","thread":"5","host":)" +
                                json_escape(opts_.host) + "}";
    const std::string human = "Effective Tracer config is:  " + conf;
    protocol::trace_object_view v;
    v.has_human = true;
    v.human = human;
    v.machine = machine;
    v.ns = "Reflection.TracerConfigInfo";
    v.sev = protocol::severity::notice;
    v.at = at;
    v.host = opts_.host;
    v.thread = "5";
    queue_object(0, v);
}

void simulated_node::build_pool() {
    if (!opts_.replay || !pool_.empty()) return;
    // Built like live objects (same kinds, sizes and texts), with a placeholder for the seq
    // that is found in the encoded bytes and overwritten per object.
    const std::string placeholder(replay_seq_width, '9');
    const protocol::utc_time at = utc_now();
    const std::string at_text = aeson_time(at.seconds, at.picoseconds);
    pool_.reserve(opts_.replay_pool);
    for (std::size_t i = 0; i < std::max<std::size_t>(1, opts_.replay_pool); ++i) {
        const trace_kind* k = pick_kind(rng_);
        const std::size_t size =
            opts_.mean_size / 2 + static_cast<std::size_t>(rng_() % (opts_.mean_size + 1));
        const std::string thread = std::to_string(40 + i % 8);
        std::string machine =
            machine_json(opts_.name, 0, k->ns, k->kind, k->sev, at_text, thread, opts_.host, size);
        const auto seq_at = machine.find("\"seq\":0}");
        machine.replace(seq_at + 6, 1, placeholder);
        const std::string human = std::string(k->kind) + ": node " + opts_.name;
        protocol::trace_object_view v;
        v.has_human = i % 7 != 0;
        v.human = human;
        v.machine = machine;
        v.ns = k->ns;
        v.sev = k->sev;
        v.at = at;
        v.host = opts_.host;
        v.thread = thread;
        pooled_object p{{}, 0, k->ns, k->sev, at.seconds};
        protocol::encode_trace_object(v, p.encoded);
        p.seq_offset = p.encoded.find(placeholder);
        pool_.push_back(std::move(p));
    }
}

void simulated_node::generate_one() {
    if (opts_.replay) {
        if (pool_.empty()) build_pool();
        const std::uint64_t seq = ++generated_;
        if (queued() >= opts_.queue_size) drop_queue();  // not printed per drop here
        if (replayed_count_ == 0) replayed_first_ = seq;
        ++replayed_count_;
        return;
    }
    const std::uint64_t seq = ++generated_;
    const trace_kind* k = pick_kind(rng_);
    const protocol::utc_time at = utc_now();
    // Sizes vary around the mean (±50 %).
    const std::size_t size =
        opts_.mean_size / 2 + static_cast<std::size_t>(rng_() % (opts_.mean_size + 1));
    const std::string thread = std::to_string(40 + seq % 8);
    const std::string machine = machine_json(opts_.name,
                                             seq,
                                             k->ns,
                                             k->kind,
                                             k->sev,
                                             aeson_time(at.seconds, at.picoseconds),
                                             thread,
                                             opts_.host,
                                             size);
    std::string human;
    const bool has_human = seq % 7 != 0;  // some traces have no human rendering
    if (has_human)
        human = std::string(k->kind) + ": node " + opts_.name + " seq " + std::to_string(seq);

    protocol::trace_object_view v;
    v.has_human = has_human;
    v.human = human;
    v.machine = machine;
    v.ns = k->ns;
    v.sev = k->sev;
    v.detail = protocol::detail_level::normal;
    v.at = at;
    v.host = opts_.host;
    v.thread = thread;

    if (queued() >= opts_.queue_size) {
        std::cerr << "TraceObject queue overflowed. Dropped " << queue_.size() << " messages from "
                  << aeson_time(queue_.front().at_seconds, 0) << " to "
                  << aeson_time(queue_.back().at_seconds, 0) << "\n";
        drop_queue();
    }
    queue_object(seq, v);
}

void simulated_node::drop_queue() {
    // The node's rule: a full queue is dropped as a whole.
    drops_ += queued();
    queue_.clear();
    replayed_count_ = 0;
}

simulated_node::queued_view simulated_node::queued_at(std::size_t i) const {
    if (i < queue_.size()) return {queue_[i].seq, queue_[i].ns, queue_[i].sev};
    const std::uint64_t seq = replayed_first_ + (i - queue_.size());
    const auto& p = pool_[seq % pool_.size()];
    return {seq, p.ns, p.sev};
}

template <class Sink>
void simulated_node::write_reply(std::size_t n, Sink&& append) {
    const std::size_t k = std::min(n, queued());
    // MsgTraceObjectsReply: [3, list]; the list is `80` when empty, else indefinite (spec §5).
    append(k == 0 ? std::string_view("\x82\x03\x80", 3) : std::string_view("\x82\x03\x9f", 3));
    const std::size_t built = std::min(k, queue_.size());
    for (std::size_t i = 0; i < built; ++i) append(queue_[i].encoded);
    for (std::uint64_t seq = replayed_first_; seq < replayed_first_ + (k - built); ++seq) {
        // A pooled object gets its seq written into its own seq field, then goes out in one
        // piece (the copy is made here, so the pool entry is free again at once).
        auto& p = pool_[seq % pool_.size()];
        char digits[replay_seq_width];
        const auto end = std::to_chars(digits, digits + replay_seq_width, seq).ptr;
        const auto len = static_cast<std::size_t>(end - digits);
        char* field = p.encoded.data() + p.seq_offset;
        std::memset(field, ' ', replay_seq_width - len);  // right-aligned: still a JSON number
        std::memcpy(field + replay_seq_width - len, digits, len);
        append(std::string_view(p.encoded));
    }
    if (k > 0) append(std::string_view("\xff", 1));
    if (sent_log_) {
        for (std::size_t i = 0; i < k; ++i) {
            const auto q = queued_at(i);
            *sent_log_ << opts_.name << ' ' << q.seq << ' ' << q.ns << ' '
                       << protocol::severity_name(q.sev) << '\n';
        }
    }
    if (k > 0) {
        if (sent_ == 0) first_sent_ = queued_at(0).seq;
        last_sent_ = queued_at(k - 1).seq;
        sent_ += k;
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(built));
    replayed_first_ += k - built;
    replayed_count_ -= k - built;
}

std::size_t simulated_node::reply_size(std::size_t n) const {
    const std::size_t k = std::min(n, queued());
    if (k == 0) return 3;   // [3, []]
    std::size_t bytes = 4;  // the reply's head and the list's break
    for (std::size_t i = 0; i < k; ++i) {
        bytes += i < queue_.size() ? queue_[i].encoded.size()
                                   : pool_[queued_at(i).seq % pool_.size()].encoded.size();
    }
    return bytes;
}

std::string simulated_node::take_reply(std::size_t n) {
    std::string reply;
    reply.reserve(reply_size(n));
    write_reply(n, [&](std::string_view piece) { reply.append(piece); });
    return reply;
}

void simulated_node::take_reply(std::size_t n, protocol::sdu_stream& out) {
    // No reserve: the caller's buffer keeps its capacity from one reply to the next.
    write_reply(n, [&](std::string_view piece) { out.append(piece); });
    out.finish();
}

bool simulated_node::take_gathered_reply(std::size_t n, bool from_responder, gathered_reply& out) {
    const std::size_t k = std::min(n, queued());
    if (!queue_.empty() || k > pool_.size()) return false;
    // Every piece write_reply hands over is then a constant or a pool entry: both outlive
    // the call. The reply's size is known first, so each SDU header is written whole.
    const std::size_t total = reply_size(n);
    const std::size_t max_payload = protocol::max_sdu_payload_sent;
    out.frames.clear();
    out.frames.reserve(protocol::sdu_header_size * (total / max_payload + 1));
    out.parts.clear();
    std::size_t left = total, room = 0;
    write_reply(n, [&](std::string_view piece) {
        while (!piece.empty()) {
            if (room == 0) {
                const auto length = std::min(left, max_payload);
                const std::size_t at = out.frames.size();
                out.frames.append(protocol::sdu_header_size, '\0');
                protocol::encode_sdu_header({0,
                                             from_responder,
                                             protocol::mini_protocol::trace_objects,
                                             static_cast<std::uint16_t>(length)},
                                            out.frames.data() + at);
                out.parts.emplace_back(out.frames.data() + at, protocol::sdu_header_size);
                room = length;
            }
            const std::size_t take = std::min(piece.size(), room);
            out.parts.push_back(piece.substr(0, take));
            piece.remove_prefix(take);
            room -= take;
            left -= take;
        }
    });
    return true;
}

std::optional<std::string> simulated_node::data_point(std::string_view name) const {
    if (name == "NodeInfo" && opts_.node_info) {
        nlohmann::ordered_json j;
        j["niName"] = opts_.name;
        j["niProtocol"] = "Cardano";
        j["niVersion"] = "10.5.1";
        j["niCommit"] = "0123456789abcdef0123456789abcdef01234567";
        j["niStartTime"] = start_time_;
        j["niSystemStartTime"] = "2017-09-23T21:44:51Z";
        return j.dump();
    }
    if (name == "NodeStartupInfo") {
        return std::string(
            R"({"suiEra":"Conway","suiSlotLength":1,"suiEpochLength":432000,"suiSlotsPerKESPeriod":129600})");
    }
    if (name == "NodeAddBlock") {
        return R"({"tag":"NodeAddBlock","contents":[500,)" + std::to_string(140000000 + ticks_) +
               R"(,99.87]})";
    }
    return std::nullopt;
}

void simulated_node::tick_metrics() {
    ++ticks_;
    for (std::size_t i = 0; i < metrics_.size(); ++i) {
        auto& m = metrics_[i];
        if (m.name.starts_with("cardano.node.metrics.cardano_build_info")) continue;
        // Change roughly a third of the metrics per tick so that deltas are partial.
        if ((i + ticks_) % 3 != 0) continue;
        switch (m.kind) {
            case protocol::metric_kind::counter:
                m.number += static_cast<std::int64_t>(1 + i % 5);
                break;
            case protocol::metric_kind::gauge:
                m.number += static_cast<std::int64_t>((ticks_ % 2) ? 1 : -1) *
                            static_cast<std::int64_t>(i % 7);
                break;
            case protocol::metric_kind::label: {
                char buf[32];
                std::snprintf(
                    buf, sizeof buf, "%.4g", 0.01 * static_cast<double>((ticks_ + i) % 100));
                m.text = buf;
                break;
            }
        }
    }
}

std::string simulated_node::ekg_reply(const protocol::ekg_request& req,
                                      ekg_back_buffer& back) const {
    std::vector<protocol::ekg_entry_view> out;
    for (const auto& m : metrics_) {
        protocol::metric_value_view v{m.kind, m.number, m.text};
        if (req.kind == protocol::ekg_request_kind::get_metrics) {
            bool wanted = false;
            for (auto n : req.names) wanted = wanted || n == m.name;
            if (!wanted) continue;
        }
        if (req.kind == protocol::ekg_request_kind::get_updated) {
            auto it = back.last.find(m.name);
            if (it != back.last.end() && it->second.kind == v.kind &&
                it->second.number == v.number && it->second.text == v.text) {
                continue;
            }
        }
        out.push_back({m.name, v});
    }
    // Remember what the peer has now seen.
    for (const auto& e : out) {
        back.last[std::string(e.name)] = {e.value.kind, e.value.number, std::string(e.value.text)};
    }
    return protocol::encode_ekg_response(out);
}

}  // namespace ct::forwarder
