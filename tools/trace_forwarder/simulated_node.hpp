// One simulated cardano-node as the tracer sees it: its name and data points, its bounded
// TraceObject queue with the node's drop-everything overflow rule (spec §6.5), pre-encoded
// trace objects, and its EKG metrics with per-connection delta semantics. No I/O; not
// thread-safe (one io_context thread drives all nodes).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/ekg_codec.hpp"
#include "protocol/sdu.hpp"
#include "protocol/trace_object.hpp"

namespace ct::forwarder {

struct node_options {
    std::string name;
    std::string host = "simhost";
    std::size_t queue_size = 192;
    std::size_t mean_size = 400;  // bytes of machine JSON
    std::size_t metrics = 30;
    bool node_info = true;
    /// "", or the shape of the Reflection.TracerConfigInfo sent first: "TraceOptions"
    /// (trace-dispatcher <= 2.12.0) or "Options" (2.12.1+).
    std::string tracer_config_info;
    std::uint64_t seed = 1;
    /// Replay mode: `replay_pool` objects are built and encoded once; each generated object is
    /// a pool entry whose seq is patched into the reply (a fixed-width field, right-aligned
    /// digits after spaces: still a JSON number). The generator then costs a copy per object,
    /// so the daemon, not the generator, is what a benchmark measures. The objects carry the
    /// pool's creation time.
    bool replay = false;
    std::size_t replay_pool = 128;
};

struct queued_object {
    std::uint64_t seq;
    std::string encoded;  // CBOR of one TraceObject
    std::int64_t at_seconds;
    std::string_view ns;  // static storage
    protocol::severity sev = protocol::severity::info;
};

/// Per-connection EKG state: the back buffer of GetUpdatedMetrics.
struct ekg_back_buffer {
    struct value {
        protocol::metric_kind kind;
        std::int64_t number;
        std::string text;
    };
    std::map<std::string, value, std::less<>> last;
};

class simulated_node {
  public:
    explicit simulated_node(node_options opts);

    const std::string& name() const { return opts_.name; }

    /// Creates the next trace object (seq = generated()+1) and queues it; on a full queue the
    /// whole queue is dropped first (counted, reported on stderr), as the node does.
    void generate_one();
    /// Queues the Reflection.TracerConfigInfo a node sends at start (seq 0).
    void queue_tracer_config_info();
    std::size_t queued() const { return queue_.size() + replayed_count_; }
    std::size_t room() const { return opts_.queue_size - std::min(opts_.queue_size, queued()); }

    /// A MsgTraceObjectsReply with up to `n` of the oldest queued objects (they count as sent).
    std::string take_reply(std::size_t n);
    /// The same reply written as SDUs straight into a connection's output (no payload copy).
    void take_reply(std::size_t n, protocol::sdu_stream& out);
    /// The same reply as SDUs of pieces to be sent in one gathered write, with no copy at all:
    /// `parts` views the SDU headers (in `frames`), constant bytes and the replay pool's
    /// entries. Valid until the next reply is taken. False (nothing taken) when the reply
    /// would need a built object (they are freed once sent) or one pool entry twice.
    struct gathered_reply {
        std::string frames;
        std::vector<std::string_view> parts;
    };
    bool take_gathered_reply(std::size_t n, bool from_responder, gathered_reply& out);
    /// Every object taken into a reply is also written here as "<node> <seq> <ns> <Severity>"
    /// (tests and benchmarks check the daemon's output against it). nullptr: off.
    void set_sent_log(std::ostream* out) { sent_log_ = out; }

    /// The JSON of a data point, or nullopt for names the node does not store.
    std::optional<std::string> data_point(std::string_view name) const;

    /// Advances metric values (called periodically).
    void tick_metrics();
    std::string ekg_reply(const protocol::ekg_request& req, ekg_back_buffer& back) const;

    std::uint64_t generated() const { return generated_; }
    std::uint64_t sent() const { return sent_; }
    std::uint64_t first_sent_seq() const { return first_sent_; }
    std::uint64_t last_sent_seq() const { return last_sent_; }
    std::uint64_t overflow_drops() const { return drops_; }

    /// The machine JSON of object `seq` (also used by tests to predict file contents).
    static std::string machine_json(std::string_view node,
                                    std::uint64_t seq,
                                    std::string_view ns,
                                    std::string_view kind,
                                    protocol::severity sev,
                                    std::string_view at,
                                    std::string_view thread,
                                    std::string_view host,
                                    std::size_t target_size);

    /// Width of the seq field of replayed objects (digits right-aligned after spaces).
    static constexpr std::size_t replay_seq_width = 20;

  private:
    void queue_object(std::uint64_t seq, const protocol::trace_object_view& v);
    struct pooled_object {
        std::string encoded;     // with a placeholder in the seq field
        std::size_t seq_offset;  // where the seq field's characters start in `encoded`
        std::string_view ns;
        protocol::severity sev;
        std::int64_t at_seconds;
    };
    std::size_t reply_size(std::size_t n) const;
    template <class Sink>
    void write_reply(std::size_t n, Sink&& append);
    /// The queued object at `i` (0 = oldest): seq, namespace and severity.
    struct queued_view {
        std::uint64_t seq;
        std::string_view ns;
        protocol::severity sev;
    };
    queued_view queued_at(std::size_t i) const;
    void drop_queue();

  public:
    /// Replay mode: builds the pool now (else at the first object), so a benchmark can keep
    /// this one-off cost out of its per-object figures.
    void build_pool();

  private:
    std::vector<pooled_object> pool_;
    struct metric {
        std::string name;
        protocol::metric_kind kind;
        std::int64_t number = 0;
        std::string text;
    };

    node_options opts_;
    std::mt19937_64 rng_;
    // The queue: built objects first (the TracerConfigInfo at start, every object outside
    // replay mode), then replayed ones. Replayed objects have consecutive seqs and their pool
    // entry is seq % pool size, so they are kept as a range, not one by one.
    std::deque<queued_object> queue_;
    std::uint64_t replayed_first_ = 0;
    std::size_t replayed_count_ = 0;
    std::vector<metric> metrics_;
    std::uint64_t generated_ = 0, sent_ = 0, first_sent_ = 0, last_sent_ = 0, drops_ = 0;
    std::string start_time_;
    std::uint64_t ticks_ = 0;
    std::ostream* sent_log_ = nullptr;
};

/// aeson-style UTC time: fraction without trailing zeros, omitted when zero.
std::string aeson_time(std::int64_t seconds, std::uint64_t picoseconds);

}  // namespace ct::forwarder
