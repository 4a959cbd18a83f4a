#include "tracer/timeseries/query_evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "protocol/json_text.hpp"
#include "tracer/timeseries/aeson_number.hpp"
#include "tracer/timeseries/query_parser.hpp"

namespace ct::tracer::timeseries::query {

namespace {

using ck = core_kind;
using vk = value_kind;
using sk = syntax_kind;

struct failure {
    std::string message;
};

value scalar(double x) {
    value v;
    v.kind = vk::scalar;
    v.scalar = x;
    return v;
}
value boolean(bool b) {
    value v;
    v.kind = b ? vk::truth : vk::falsity;
    return v;
}
value moment(vk kind, std::uint64_t ms) {
    value v;
    v.kind = kind;
    v.ms = ms;
    return v;
}
value with(vk kind, compound c) {
    value v;
    v.kind = kind;
    v.more = std::make_shared<const compound>(std::move(c));
    return v;
}

bool labels_less(const labels_ptr& a, const labels_ptr& b) { return a != b && *a < *b; }
bool labels_equal(const labels_ptr& a, const labels_ptr& b) { return a == b || *a == *b; }

// Kahan–Babuška–Neumaier summation (math-functions' kbn).
double kbn_sum(const std::vector<double>& xs) {
    double s = 0, c = 0;
    for (const double x : xs) {
        const double t = s + x;
        c += std::fabs(s) >= std::fabs(x) ? (s - t) + x : (x - t) + s;
        s = t;
    }
    return s + c;
}

// Haskell's `round :: Double -> Int` back to Double: half to even; what GHC gives for values
// an Int cannot hold is the minimum Int on x86-64.
double haskell_round(double x) {
    if (!std::isfinite(x) || std::fabs(x) >= 9223372036854775808.0) return -9223372036854775808.0;
    return std::nearbyint(x);
}

class interpreter {
  public:
    interpreter(const series_source& source, std::uint64_t now, const query_limits& limits)
        : source_(source),
          now_(now),
          limits_(limits),
          deadline_(std::chrono::steady_clock::now() + limits.max_time) {}

    value run(const core& c) { return eval(c, nullptr); }

  private:
    const series_source& source_;
    std::uint64_t now_;
    query_limits limits_;
    std::chrono::steady_clock::time_point deadline_;
    std::uint64_t steps_ = 0;
    std::uint64_t points_ = 0;

    std::optional<std::vector<std::string>> names_;
    // The store's metric names, read once per query.
    const std::vector<std::string>& metric_names() {
        if (!names_) names_ = source_.metric_names();
        return *names_;
    }

    void step(std::uint64_t n = 1) {
        steps_ += n;
        if (steps_ > limits_.max_steps)
            throw failure{"the query needs more than " + std::to_string(limits_.max_steps) +
                          " evaluation steps (timeseriesQueryMaxSteps)"};
        if ((steps_ & 1023) < n) {
            if (std::chrono::steady_clock::now() > deadline_) over_time();
            if (limits_.cancelled && limits_.cancelled->load(std::memory_order_relaxed))
                throw failure{"the tracer is stopping"};
        }
    }
    void touch(std::uint64_t n) {
        points_ += n;
        if (points_ > limits_.max_points)
            throw failure{"the query touches more than " + std::to_string(limits_.max_points) +
                          " points (timeseriesQueryMaxPoints)"};
        step(n);
    }
    [[noreturn]] void over_time() const {
        throw failure{"the query runs longer than " + std::to_string(limits_.max_time.count()) +
                      " ms (timeseriesQueryTimeoutSecs)"};
    }

    [[noreturn]] static void expected(const char* what) {
        throw failure{std::string("Unexpected expression type: expected ") + what};
    }
    static double as_scalar(const value& v) {
        if (v.kind != vk::scalar) expected("a scalar");
        return v.scalar;
    }
    static bool as_bool(const value& v) {
        if (v.kind == vk::truth) return true;
        if (v.kind == vk::falsity) return false;
        expected("a bool");
    }
    static const std::vector<instant>& as_instants(const value& v) {
        if (v.kind != vk::instant_vector) expected("an instant vector");
        return v.more->instants;
    }
    static const std::vector<series>& as_range(const value& v) {
        if (v.kind != vk::range_vector) expected("a range vector");
        return v.more->range;
    }
    static std::uint64_t as_ms(const value& v, vk kind) {
        if (v.kind != kind) expected(kind == vk::duration ? "a duration" : "a timestamp");
        return v.ms;
    }

    value instant_lookup(const std::string& metric, std::uint64_t t) {
        const auto samples = source_.instant(metric, t);
        touch(samples.size() + 1);
        compound c;
        c.instants.reserve(samples.size());
        for (const auto& s : samples) {
            // The store never erases a series: its labels outlive the query (no ownership).
            c.instants.push_back(instant{labels_ptr(labels_ptr(), s.labels), t, scalar(s.value)});
        }
        return with(vk::instant_vector, std::move(c));
    }

    value apply(const value& f, const value& arg) {
        if (f.kind != vk::function) expected("a function");
        const auto& c = *f.more;
        if (!c.body) return instant_lookup(c.text, as_ms(arg, vk::timestamp));
        auto env = std::make_shared<environment>();
        env->name = c.parameter;
        env->v = arg;
        env->outer = c.env;
        return eval(*c.body, env);
    }

    value lookup(const std::string& name, const environment_ptr& env) {
        for (auto e = env.get(); e; e = e->outer.get())
            if (e->name == name) return e->v;
        if (!source_.has_metric(name))
            throw failure{"Undefined variable: User " + haskell_show_string(name)};
        compound c;
        c.text = name;
        return with(vk::function, std::move(c));
    }

    static bool relate(sk op, double a, double b) {
        switch (op) {
            case sk::equal:
                return a == b;
            case sk::not_equal:
                return a != b;
            case sk::less:
                return a < b;
            case sk::less_equal:
                return a <= b;
            case sk::greater:
                return a > b;
            default:
                return a >= b;
        }
    }
    static double arithmetic(sk op, double a, double b) {
        switch (op) {
            case sk::add:
                return a + b;
            case sk::subtract:
                return a - b;
            case sk::multiply:
                return a * b;
            default:
                return a / b;
        }
    }

    // statistics' quantile with R type 4 parameters (spec §5.7.4).
    static double quantile(double k, std::vector<double> xs, const char* who) {
        const double scaled = std::floor(k * 100);
        if (!(scaled >= 0 && scaled <= 100))
            throw failure{std::string(who) + ": the quantile must be between 0 and 1, got " +
                          show_ffloat(k)};
        for (const double x : xs)
            if (std::isnan(x)) throw failure{std::string(who) + ": the sample contains NaN"};
        const auto qi = static_cast<int>(scaled);
        const double n = static_cast<double>(xs.size());
        const double p = qi / 100.0;
        const double pk = 0 + p * (n + 1 - 0 - 1);
        const double j = std::trunc(pk);
        const double g = pk - j;
        std::sort(xs.begin(), xs.end());
        auto at = [&](double i) {
            const double clamped = std::clamp(i, 0.0, n - 1);
            return xs[static_cast<std::size_t>(clamped)];
        };
        return (1 - g) * at(j - 1) + g * at(j);
    }

    static std::vector<double> scalars_of(const series& s) {
        std::vector<double> xs;
        xs.reserve(s.points.size());
        for (const auto& [ts, v] : s.points) xs.push_back(as_scalar(v));
        return xs;
    }

    // The oldest (first of the earliest) and newest (last of the latest) points.
    static std::pair<std::size_t, std::size_t> ends(const series& s) {
        std::size_t oldest = 0, newest = 0;
        for (std::size_t i = 1; i < s.points.size(); ++i) {
            if (s.points[i].first < s.points[oldest].first) oldest = i;
            if (s.points[i].first >= s.points[newest].first) newest = i;
        }
        return {oldest, newest};
    }

    value range(const core& c, const environment_ptr& env) {
        const value f = eval(*c.args[0], env);
        const auto from = as_ms(eval(*c.args[1], env), vk::timestamp);
        const auto to = as_ms(eval(*c.args[2], env), vk::timestamp);
        const std::uint64_t stride =
            c.args.size() == 4 ? as_ms(eval(*c.args[3], env), vk::duration) : 15000;
        if (f.kind != vk::function) expected("a function");
        if (stride == 0 && from <= to)
            throw failure{
                "a range step of 0 never ends (upstream loops forever); give a positive "
                "step"};
        if (from <= to) {
            const auto samples = (to - from) / stride + 1;
            if (samples > limits_.max_steps)
                throw failure{"the range has " + std::to_string(samples) +
                              " samples, more than timeseriesQueryMaxSteps (" +
                              std::to_string(limits_.max_steps) + ")"};
        }
        // transpose: one series per label set, in sample order; listed in descending order.
        struct entry {
            series s;
            std::uint64_t last_sample = 0;  // only its first instant in a sample counts
        };
        std::map<labels_ptr, entry, decltype(&labels_less)> by_labels(&labels_less);
        std::uint64_t sample_number = 0;
        for (std::uint64_t t = from; t <= to;) {
            step();
            ++sample_number;
            const value sample = apply(f, moment(vk::timestamp, t));
            if (sample.kind != vk::instant_vector) expected("an instant vector");
            for (const auto& i : sample.more->instants) {
                auto [it, fresh] = by_labels.try_emplace(i.labels);
                auto& e = it->second;
                if (fresh) e.s.labels = i.labels;
                if (e.last_sample == sample_number) continue;
                e.last_sample = sample_number;
                e.s.points.emplace_back(i.ts, i.v);
                touch(1);
            }
            if (to - t < stride) break;  // the next sample would pass `to` (or wrap)
            t += stride;
        }
        compound out;
        out.range.reserve(by_labels.size());
        for (auto it = by_labels.rbegin(); it != by_labels.rend(); ++it)
            out.range.push_back(std::move(it->second.s));
        return with(vk::range_vector, std::move(out));
    }

    value eval(const core& c, const environment_ptr& env) {
        step();
        switch (c.kind) {
            case ck::number:
                return scalar(c.number);
            case ck::text: {
                compound t;
                t.text = c.text;
                return with(vk::text, std::move(t));
            }
            case ck::variable:
                return lookup(c.text, env);
            case ck::application: {
                const value f = eval(*c.args[0], env);
                if (f.kind != vk::function) expected("a function");
                return apply(f, eval(*c.args[1], env));
            }
            case ck::lambda: {
                compound closure;
                closure.body = c.args[0].get();
                closure.parameter = c.text;
                closure.env = env;
                return with(vk::function, std::move(closure));
            }
            case ck::let: {
                auto inner = std::make_shared<environment>();
                inner->name = c.text;
                inner->v = eval(*c.args[0], env);
                inner->outer = env;
                return eval(*c.args[1], inner);
            }
            case ck::truth:
                return boolean(true);
            case ck::falsity:
                return boolean(false);
            case ck::unit:
                return value{};
            case ck::conjunction:
            case ck::disjunction: {
                const bool a = as_bool(eval(*c.args[0], env));
                const bool b = as_bool(eval(*c.args[1], env));
                return boolean(c.kind == ck::conjunction ? a && b : a || b);
            }
            case ck::negation:
                return boolean(!as_bool(eval(*c.args[0], env)));
            case ck::relation_bool: {
                const int a = as_bool(eval(*c.args[0], env));
                const int b = as_bool(eval(*c.args[1], env));
                return boolean(relate(c.op, a, b));
            }
            case ck::relation_scalar: {
                const double a = as_scalar(eval(*c.args[0], env));
                return boolean(relate(c.op, a, as_scalar(eval(*c.args[1], env))));
            }
            case ck::arithmetic_scalar: {
                const double a = as_scalar(eval(*c.args[0], env));
                return scalar(arithmetic(c.op, a, as_scalar(eval(*c.args[1], env))));
            }
            case ck::relation_instant:
            case ck::arithmetic_instant: {
                const value v = eval(*c.args[0], env);
                const auto& in = as_instants(v);
                compound out;
                if (in.empty()) return with(vk::instant_vector, std::move(out));
                // Upstream evaluates the scalar per element; it is pure, so once is the same.
                const double k = as_scalar(eval(*c.args[1], env));
                for (const auto& i : in) {
                    step();
                    const double x = as_scalar(i.v);
                    if (c.kind == ck::relation_instant) {
                        if (relate(c.op, x, k)) out.instants.push_back(i);
                    } else {
                        out.instants.push_back(
                            instant{i.labels, i.ts, scalar(arithmetic(c.op, x, k))});
                    }
                }
                return with(vk::instant_vector, std::move(out));
            }
            case ck::arithmetic_range: {
                const value r = eval(*c.args[0], env);
                const auto& in = as_range(r);
                const double k = as_scalar(eval(*c.args[1], env));
                compound out;
                for (const auto& s : in) {
                    series t{s.labels, {}};
                    for (const auto& [ts, v] : s.points) {
                        step();
                        if (v.kind != vk::scalar)
                            throw failure{
                                "Expected Scalar values in RangeVector for arithmetic, "
                                "got: " +
                                show_value(v)};
                        t.points.emplace_back(ts, scalar(arithmetic(c.op, v.scalar, k)));
                    }
                    out.range.push_back(std::move(t));
                }
                return with(vk::range_vector, std::move(out));
            }
            case ck::duration:
                return moment(vk::duration, c.ms);
            case ck::add_duration: {
                const auto a = as_ms(eval(*c.args[0], env), vk::duration);
                return moment(vk::duration, a + as_ms(eval(*c.args[1], env), vk::duration));
            }
            case ck::now:
                return moment(vk::timestamp, now_);
            case ck::epoch:
                return moment(vk::timestamp, 0);
            case ck::rewind:
            case ck::fast_forward: {
                const auto t = as_ms(eval(*c.args[0], env), vk::timestamp);
                const auto d = as_ms(eval(*c.args[1], env), vk::duration);
                return moment(vk::timestamp, c.kind == ck::rewind ? t - d : t + d);  // wraps
            }
            case ck::timestamp_to_scalar:
                return scalar(static_cast<double>(as_ms(eval(*c.args[0], env), vk::timestamp)));
            case ck::duration_to_scalar:
                return scalar(static_cast<double>(as_ms(eval(*c.args[0], env), vk::duration)));
            case ck::bool_to_scalar:
                return scalar(as_bool(eval(*c.args[0], env)) ? 1.0 : 0.0);
            case ck::abs:
                return scalar(std::fabs(as_scalar(eval(*c.args[0], env))));
            case ck::round:
                return scalar(haskell_round(as_scalar(eval(*c.args[0], env))));
            case ck::make_pair: {
                compound p;
                p.first = eval(*c.args[0], env);
                p.second = eval(*c.args[1], env);
                return with(vk::pair, std::move(p));
            }
            case ck::fst:
            case ck::snd: {
                const value p = eval(*c.args[0], env);
                if (p.kind != vk::pair) expected("a pair");
                return c.kind == ck::fst ? p.more->first : p.more->second;
            }
            case ck::avg_over_time:
            case ck::sum_over_time:
            case ck::rate:
            case ck::increase: {
                const value r = eval(*c.args[0], env);
                compound out;
                for (const auto& s : as_range(r)) {
                    step(s.points.size());
                    if (c.kind == ck::avg_over_time || c.kind == ck::sum_over_time) {
                        const auto xs = scalars_of(s);
                        double result = 0;
                        if (c.kind == ck::avg_over_time) {
                            result = kbn_sum(xs) / static_cast<double>(xs.size());
                        } else {
                            for (const double x : xs) result = result + x;
                        }
                        out.instants.push_back(instant{s.labels, now_, scalar(result)});
                        continue;
                    }
                    const auto [oldest, newest] = ends(s);
                    const auto& o = s.points[oldest];
                    const auto& n = s.points[newest];
                    const double dv = as_scalar(n.second) - as_scalar(o.second);
                    double result = dv;
                    if (c.kind == ck::rate) {
                        if (o.first == n.first)
                            throw failure{
                                "rate: single-point timeseries has undefined rate "
                                "(zero time span)"};
                        result = dv / (static_cast<double>(n.first) - static_cast<double>(o.first));
                    }
                    out.instants.push_back(instant{s.labels, n.first, scalar(result)});
                }
                return with(vk::instant_vector, std::move(out));
            }
            case ck::quantile_over_time: {
                const double k = as_scalar(eval(*c.args[0], env));
                const value r = eval(*c.args[1], env);
                compound out;
                for (const auto& s : as_range(r)) {
                    step(s.points.size());
                    const auto [oldest, newest] = ends(s);
                    (void)oldest;
                    out.instants.push_back(
                        instant{s.labels,
                                s.points[newest].first,
                                scalar(quantile(k, scalars_of(s), "quantile_over_time"))});
                }
                return with(vk::instant_vector, std::move(out));
            }
            case ck::quantile_by: {
                const double k = as_scalar(eval(*c.args[0], env));
                const value v = eval(*c.args[1], env);
                const auto& in = as_instants(v);
                compound out;
                auto restrict = [&](const label_set& l) {
                    label_set kept;
                    for (const auto& kv : l)
                        if (std::binary_search(c.labels.begin(), c.labels.end(), kv.first))
                            kept.push_back(kv);
                    return kept;
                };
                for (std::size_t i = 0; i < in.size();) {
                    auto group = restrict(*in[i].labels);
                    std::vector<double> xs;
                    std::size_t j = i;
                    for (; j < in.size()&& restrict(*in[j].labels) == group; ++j) {
                        step();
                        xs.push_back(as_scalar(in[j].v));
                    }
                    out.instants.push_back(
                        instant{std::make_shared<const label_set>(std::move(group)),
                                now_,
                                scalar(quantile(k, std::move(xs), "quantile_by"))});
                    i = j;
                }
                return with(vk::instant_vector, std::move(out));
            }
            case ck::avg:
            case ck::max:
            case ck::min: {
                const value v = eval(*c.args[0], env);
                const auto& in = as_instants(v);
                const char* name = c.kind == ck::avg ? "avg" : c.kind == ck::max ? "max" : "min";
                if (in.empty()) throw failure{std::string(name) + ": empty instant vector"};
                step(in.size());
                std::vector<double> xs;
                xs.reserve(in.size());
                for (const auto& i : in) xs.push_back(as_scalar(i.v));
                if (c.kind == ck::avg) return scalar(kbn_sum(xs) / static_cast<double>(xs.size()));
                double lo = std::numeric_limits<double>::infinity(), hi = -lo;
                for (const double x : xs) {
                    lo = lo <= x ? lo : x;  // Haskell's min and max, NaN cases included
                    hi = hi <= x ? x : hi;
                }
                return scalar(c.kind == ck::max ? hi : lo);
            }
            case ck::filter:
            case ck::map: {
                const value f = eval(*c.args[0], env);
                const value v = eval(*c.args[1], env);
                compound out;
                for (const auto& i : as_instants(v)) {
                    const value r = apply(f, i.v);
                    if (c.kind == ck::map) {
                        out.instants.push_back(instant{i.labels, i.ts, r});
                    } else {
                        if (r.kind != vk::truth && r.kind != vk::falsity) expected("a boolean");
                        if (r.kind == vk::truth) out.instants.push_back(i);
                    }
                }
                return with(vk::instant_vector, std::move(out));
            }
            case ck::join:
            case ck::unless: {
                const value u = eval(*c.args[0], env);
                const value w = eval(*c.args[1], env);
                const auto& left = as_instants(u);
                const auto& right = as_instants(w);
                compound out;
                for (const auto& i : left) {
                    step(right.size() + 1);
                    const instant* match = nullptr;
                    for (const auto& j : right) {
                        if (labels_equal(i.labels, j.labels)) {
                            match = &j;
                            break;
                        }
                    }
                    if (c.kind == ck::unless) {
                        if (!match) out.instants.push_back(i);
                        continue;
                    }
                    if (!match) throw failure{"No matching label: " + show_label_set(*i.labels)};
                    compound p;
                    p.first = i.v;
                    p.second = match->v;
                    out.instants.push_back(instant{i.labels, i.ts, with(vk::pair, std::move(p))});
                }
                return with(vk::instant_vector, std::move(out));
            }
            case ck::range:
                return range(c, env);
            case ck::filter_by_label: {
                const value v = eval(*c.args[0], env);
                compound out;
                for (const auto& i : as_instants(v)) {
                    step();
                    bool keep = true;
                    for (const auto& want : c.constraints) {
                        const auto found =
                            std::find_if(i.labels->begin(), i.labels->end(), [&](const auto& kv) {
                                return kv.first == want.key;
                            });
                        const bool has = found != i.labels->end() && found->second == want.value;
                        if (want.equal != has) {
                            keep = false;
                            break;
                        }
                    }
                    if (keep) out.instants.push_back(i);
                }
                return with(vk::instant_vector, std::move(out));
            }
            case ck::metrics: {
                const auto& names = metric_names();
                touch(names.size());
                value list;
                list.kind = vk::nil;
                for (auto it = names.rbegin(); it != names.rend(); ++it) {
                    compound cell;
                    compound t;
                    t.text = *it;
                    cell.first = with(vk::text, std::move(t));
                    cell.second = std::move(list);
                    list = with(vk::cons, std::move(cell));
                }
                return list;
            }
        }
        throw failure{"Can't interpret expression"};
    }

  public:
    // Haskell's show of a Set (Text, Text): fromList [("k","v"),…]
    static std::string show_label_set(const label_set& l) {
        std::string out = "fromList [";
        for (std::size_t i = 0; i < l.size(); ++i) {
            if (i) out += ",";
            out += "(" + haskell_show_string(l[i].first) + "," + haskell_show_string(l[i].second) +
                   ")";
        }
        return out + "]";
    }
};

std::string seconds_json(std::uint64_t ms) {
    return aeson_number(static_cast<double>(ms) / 1000.0);
}

std::string labels_json(const label_set& l) {
    // Map.fromList: sorted keys, the last of equal keys wins.
    std::map<std::string, std::string> m;
    for (const auto& [k, v] : l) m[k] = v;
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : m) {
        if (!first) out += ",";
        first = false;
        out += json_string(k) + ":" + json_string(v);
    }
    return out + "}";
}

std::string error_json(const std::string& message, const char* type) {
    return "{\"error\":" + json_string(message) + ",\"errorType\":\"" + type +
           "\",\"status\":\"error\"}";
}

}  // namespace

std::string json_string(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    protocol::append_json_string(out, s);
    return out;
}

std::string show_value(const value& v) {
    switch (v.kind) {
        case vk::scalar:
            return show_ffloat(v.scalar);
        case vk::truth:
            return "true";
        case vk::falsity:
            return "false";
        case vk::unit:
            return "()";
        case vk::pair:
            return "(" + show_value(v.more->first) + ", " + show_value(v.more->second) + ")";
        case vk::duration:
            return std::to_string(v.ms) + "ms";
        case vk::timestamp:
            return std::to_string(v.ms);
        case vk::function:
            return "<function>";
        case vk::nil:
            return "[]";
        case vk::cons:
            return "[" + show_value(v.more->first) + "|" + show_value(v.more->second) + "]";
        case vk::text:
            return haskell_show_string(v.more->text);
        case vk::instant_vector: {
            std::string out;
            for (const auto& i : v.more->instants) {
                if (!out.empty()) out += "\n";
                std::string l = "[";
                for (std::size_t k = 0; k < i.labels->size(); ++k)
                    l += (k ? "," : "") + std::string("(") + (*i.labels)[k].first + "," +
                         (*i.labels)[k].second + ")";
                out += l + "] " + std::to_string(i.ts) + " " + show_value(i.v);
            }
            return out;
        }
        case vk::range_vector: {
            std::string out;
            for (const auto& s : v.more->range) {
                if (!out.empty()) out += "\n";
                std::string l = "[";
                for (std::size_t k = 0; k < s.labels->size(); ++k)
                    l += (k ? "," : "") + std::string("(") + (*s.labels)[k].first + "," +
                         (*s.labels)[k].second + ")";
                out += l + "]";
                for (const auto& [ts, x] : s.points)
                    out += "\n  " + std::to_string(ts) + " " + show_value(x);
            }
            return out;
        }
    }
    return "";
}

std::string value_json(const value& v) {
    switch (v.kind) {
        case vk::scalar:
            return "{\"result\":" + aeson_number(v.scalar) + ",\"resultType\":\"scalar\"}";
        case vk::instant_vector: {
            std::string out = "{\"result\":[";
            bool first = true;
            for (const auto& i : v.more->instants) {
                if (!first) out += ",";
                first = false;
                out += "{\"metric\":" + labels_json(*i.labels) + ",\"value\":[" +
                       seconds_json(i.ts) + "," + json_string(show_value(i.v)) + "]}";
            }
            return out + "],\"resultType\":\"vector\"}";
        }
        case vk::range_vector: {
            std::string out = "{\"result\":[";
            bool first = true;
            for (const auto& s : v.more->range) {
                if (!first) out += ",";
                first = false;
                out += "{\"metric\":" + labels_json(*s.labels) + ",\"values\":[";
                for (std::size_t k = 0; k < s.points.size(); ++k) {
                    if (k) out += ",";
                    out += "[" + seconds_json(s.points[k].first) + "," +
                           json_string(show_value(s.points[k].second)) + "]";
                }
                out += "]}";
            }
            return out + "],\"resultType\":\"matrix\"}";
        }
        case vk::pair:
            return "{\"fst\":" + value_json(v.more->first) +
                   ",\"resultType\":\"pair\",\"snd\":" + value_json(v.more->second) + "}";
        case vk::unit:
            return "{\"resultType\":\"unit\"}";
        case vk::truth:
            return "{\"resultType\":\"truth\"}";
        case vk::falsity:
            return "{\"resultType\":\"falsity\"}";
        case vk::duration:
            return "{\"result\":" + seconds_json(v.ms) + ",\"resultType\":\"duration\"}";
        case vk::timestamp:
            return "{\"result\":" + seconds_json(v.ms) + ",\"resultType\":\"timestamp\"}";
        case vk::text:
            return "{\"result\":" + json_string(v.more->text) + ",\"resultType\":\"text\"}";
        case vk::function:
            return "{\"resultType\":\"function\"}";
        case vk::nil:
            return "{\"resultType\":\"nil\"}";
        case vk::cons:
            return "{\"head\":" + value_json(v.more->first) +
                   ",\"resultType\":\"cons\",\"tail\":" + value_json(v.more->second) + "}";
    }
    return "null";
}

std::variant<value, evaluation_error> evaluate(const core& program,
                                               const series_source& source,
                                               std::uint64_t now_ms,
                                               const query_limits& limits) {
    try {
        return interpreter(source, now_ms, limits).run(program);
    } catch (const failure& f) {
        return evaluation_error{f.message};
    }
}

query_response run_query(std::string_view text,
                         std::uint64_t now_ms,
                         const series_source& source,
                         const query_limits& limits) {
    auto parsed = parse(text);
    if (auto* e = std::get_if<parse_error>(&parsed))
        return {
            400,
            error_json("While executing, parsing error: " + render_parse_error(text, *e), "parse")};
    const auto& syntax_tree = *std::get<syntax_ptr>(parsed);
    elaboration_limits el;
    el.max_steps = limits.max_steps;
    const query::metric_catalogue catalogue{
        [&](std::string_view m) { return source.has_metric(m); },
        [&] { return source.metric_names(); }};
    auto elaborated = elaborate(syntax_tree, text, catalogue, el);
    if (auto* e = std::get_if<elaboration_error>(&elaborated))
        return {400, error_json("While executing, elaboration error: " + e->message, "bad_data")};
    auto result = evaluate(*std::get<core_ptr>(elaborated), source, now_ms, limits);
    if (auto* e = std::get_if<evaluation_error>(&result))
        return {400,
                error_json("While executing, interpretation error: " + e->message, "execution")};
    return {200, "{\"data\":" + value_json(std::get<value>(result)) + ",\"status\":\"success\"}"};
}

}  // namespace ct::tracer::timeseries::query
