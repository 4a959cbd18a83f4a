#include "tracer/timeseries/query_elaborate.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "tracer/timeseries/parse_error.hpp"

namespace ct::tracer::timeseries::query {

namespace {

using sk = syntax_kind;
using ck = core_kind;
using tk = type_kind;

type make(tk k, type a = nullptr, type b = nullptr) {
    auto n = std::make_shared<type_node>();
    n->kind = k;
    n->first = std::move(a);
    n->second = std::move(b);
    return n;
}

const type& base(tk k) {
    static const type scalar = make(tk::scalar), boolean = make(tk::boolean), text = make(tk::text),
                      unit = make(tk::unit), timestamp = make(tk::timestamp),
                      duration = make(tk::duration);
    switch (k) {
        case tk::scalar:
            return scalar;
        case tk::boolean:
            return boolean;
        case tk::text:
            return text;
        case tk::unit:
            return unit;
        case tk::timestamp:
            return timestamp;
        default:
            return duration;
    }
}

const type& scalar_t() { return base(tk::scalar); }
const type& bool_t() { return base(tk::boolean); }
const type& timestamp_t() { return base(tk::timestamp); }
const type& duration_t() { return base(tk::duration); }
type instant_of(type t) { return make(tk::instant_vector, std::move(t)); }
type range_of(type t) { return make(tk::range_vector, std::move(t)); }
type pair_of(type a, type b) { return make(tk::pair, std::move(a), std::move(b)); }
type function_of(type a, type b) { return make(tk::function, std::move(a), std::move(b)); }

bool is_base(tk k) {
    return k == tk::scalar || k == tk::boolean || k == tk::text || k == tk::unit ||
           k == tk::timestamp || k == tk::duration;
}

bool same(const type& a, const type& b) {
    if (a->kind != b->kind) return false;
    if (a->kind == tk::hole) return a->hole == b->hole;
    if (is_base(a->kind)) return true;
    if (a->kind == tk::pair || a->kind == tk::function)
        return same(a->first, b->first) && same(a->second, b->second);
    return same(a->first, b->first);
}

bool is(const type& t, tk k) { return t->kind == k; }
bool is_instant_scalar(const type& t) {
    return t->kind == tk::instant_vector && t->first->kind == tk::scalar;
}
bool is_range_scalar(const type& t) {
    return t->kind == tk::range_vector && t->first->kind == tk::scalar;
}

enum class precedence { loose, codomain, domain, tight };

std::string pretty_at(precedence p, const type& t) {
    auto wrap = [](bool parens, std::string s) { return parens ? "(" + s + ")" : s; };
    switch (t->kind) {
        case tk::scalar:
            return "Scalar";
        case tk::boolean:
            return "Bool";
        case tk::text:
            return "Text";
        case tk::unit:
            return "()";
        case tk::timestamp:
            return "Timestamp";
        case tk::duration:
            return "Duration";
        case tk::hole:
            return "?" + std::to_string(t->hole);
        case tk::instant_vector:
            return wrap(p == precedence::tight,
                        "InstantVector " + pretty_at(precedence::tight, t->first));
        case tk::range_vector:
            return wrap(p == precedence::tight,
                        "RangeVector " + pretty_at(precedence::tight, t->first));
        case tk::list:
            return wrap(p == precedence::tight, "List " + pretty_at(precedence::tight, t->first));
        case tk::pair:
            return "(" + pretty_at(precedence::loose, t->first) + ", " +
                   pretty_at(precedence::loose, t->second) + ")";
        case tk::function:
            return wrap(p > precedence::codomain,
                        pretty_at(precedence::domain, t->first) + " -> " +
                            pretty_at(precedence::codomain, t->second));
    }
    return "?";
}

// Levenshtein distance over code points, unit costs.
std::size_t edit_distance(const std::u32string& a, const std::u32string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const auto above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::u32string code_points(std::string_view s) {
    std::u32string out;
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        const std::size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : 4;
        char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
        for (std::size_t k = 1; k < len && i + k < s.size(); ++k)
            c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        out.push_back(c);
        i += len;
    }
    return out;
}

// ---- the solver state --------------------------------------------------------------------

struct binding {
    std::string name;
    bool let_bound = false;
    type ty;
};

struct context_node;
using context = std::shared_ptr<const context_node>;
struct context_node {
    binding b;
    context outer;
};

std::vector<const binding*> outermost_first(const context& ctx) {
    std::vector<const binding*> out;
    for (auto c = ctx.get(); c; c = c->outer.get()) out.push_back(&c->b);
    std::reverse(out.begin(), out.end());
    return out;
}

enum class problem_kind { general, relation, arithmetic, to_scalar };

struct problem {
    problem_kind kind = problem_kind::general;
    context ctx;
    const syntax* s = nullptr;  // general
    std::size_t offset = 0;     // where it is reported
    int x = 0;                  // the expression hole it defines
    type t;                     // its type
    int ea = 0, eb = 0;         // operands (relation, arithmetic; to_scalar: ea)
    type a, b;                  // their types (to_scalar: a)
    sk op = sk::add;
};

// An expression hole's definition: a core node whose operands are other holes.
struct definition {
    core node;  // args unused here
    std::vector<int> operands;
    int alias = -1;  // x := another hole
};

struct failure {
    std::string message;
};

class elaborator {
  public:
    elaborator(std::string_view input,
               const metric_catalogue& metrics,
               const elaboration_limits& limits)
        : input_(input), metrics_(metrics), limits_(limits) {}

    std::variant<core_ptr, elaboration_error> run(const syntax& s) {
        try {
            const auto top = fresh_type();
            const int h = fresh_expr();
            std::deque<problem> queue;
            problem p;
            p.s = &s;
            p.offset = s.offset;
            p.x = h;
            p.t = top;
            queue.push_back(std::move(p));
            solve(std::move(queue));
            return materialise(h);
        } catch (const failure& f) {
            return elaboration_error{f.message};
        }
    }

  private:
    std::string_view input_;
    const metric_catalogue& metrics_;
    elaboration_limits limits_;
    int next_ = 0;
    std::map<int, type> types_;              // instantiated type holes
    std::map<int, definition> expressions_;  // defined expression holes
    std::uint64_t steps_ = 0;

    type fresh_type() {
        auto n = std::make_shared<type_node>();
        n->kind = tk::hole;
        n->hole = next_++;
        return n;
    }
    int fresh_expr() { return next_++; }

    std::string at(std::size_t offset) const {
        const auto pos = position_of(input_, offset);
        return "input:" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
    }

    type resolve(const type& t) const {
        switch (t->kind) {
            case tk::hole: {
                auto it = types_.find(t->hole);
                return it == types_.end() ? t : resolve(it->second);
            }
            case tk::instant_vector:
            case tk::range_vector:
            case tk::list:
                return make(t->kind, resolve(t->first));
            case tk::pair:
            case tk::function:
                return make(t->kind, resolve(t->first), resolve(t->second));
            default:
                return t;
        }
    }

    static bool occurs(int hole, const type& t) {
        if (t->kind == tk::hole) return t->hole == hole;
        if (is_base(t->kind)) return false;
        if (t->kind == tk::pair || t->kind == tk::function)
            return occurs(hole, t->first) || occurs(hole, t->second);
        return occurs(hole, t->first);
    }

    // Unify.hs: sub-problems depth first; the left hole is instantiated when both are holes.
    void unify(std::size_t offset, const type& left, const type& right) {
        std::deque<std::pair<type, type>> work{{left, right}};
        while (!work.empty()) {
            type l = work.front().first, r = work.front().second;
            work.pop_front();
            l = resolve(l);
            r = resolve(r);
            auto mismatch = [&] {
                throw failure{"Can't solve unification constraint: " + pretty(l) + " = " +
                              pretty(r) + " @ " + at(offset)};
            };
            if (l->kind == tk::hole && r->kind == tk::hole && l->hole == r->hole) continue;
            if (l->kind == tk::hole || r->kind == tk::hole) {
                const auto& hole = l->kind == tk::hole ? l : r;
                const auto& other = l->kind == tk::hole ? r : l;
                if (occurs(hole->hole, other))
                    throw failure{
                        "Can't solve unification constraint (a type would contain "
                        "itself): " +
                        pretty(l) + " = " + pretty(r) + " @ " + at(offset)};
                types_[hole->hole] = other;
                continue;
            }
            if (l->kind != r->kind) mismatch();
            switch (l->kind) {
                case tk::function:
                case tk::pair:
                    work.push_front({l->second, r->second});
                    work.push_front({l->first, r->first});
                    break;
                case tk::instant_vector:
                case tk::range_vector:
                    work.push_front({l->first, r->first});
                    break;
                case tk::list:
                    mismatch();  // upstream has no rule for List = List
                    break;
                default:
                    break;  // equal base types
            }
        }
    }

    void define(int x, ck kind, std::vector<int> operands = {}) {
        definition d;
        d.node.kind = kind;
        d.operands = std::move(operands);
        expressions_[x] = std::move(d);
    }
    definition& define_node(int x, ck kind, std::vector<int> operands = {}) {
        define(x, kind, std::move(operands));
        return expressions_[x];
    }

    core_ptr materialise(int h) const {
        const auto it = expressions_.find(h);
        if (it == expressions_.end()) throw failure{"internal: undefined expression hole"};
        const auto& d = it->second;
        if (d.alias >= 0) return materialise(d.alias);
        auto out = std::make_unique<core>();
        out->kind = d.node.kind;
        out->op = d.node.op;
        out->number = d.node.number;
        out->ms = d.node.ms;
        out->text = d.node.text;
        out->labels = d.node.labels;
        out->constraints = d.node.constraints;
        for (const int operand : d.operands) out->args.push_back(materialise(operand));
        return out;
    }

    // ---- the driver ----------------------------------------------------------------------

    struct outcome {
        bool stuck = false;
        std::vector<std::pair<type, type>> constraints;
        std::vector<problem> fresh;
    };

    void solve(std::deque<problem> queue) {
        for (;;) {
            bool progress = false;
            std::vector<problem> stuck;
            while (!queue.empty()) {
                if (++steps_ > limits_.max_steps)
                    throw failure{"the query needs more than " + std::to_string(limits_.max_steps) +
                                  " elaboration steps (timeseriesQueryMaxSteps)"};
                problem p = std::move(queue.front());
                queue.pop_front();
                if (p.t) p.t = resolve(p.t);
                if (p.a) p.a = resolve(p.a);
                if (p.b) p.b = resolve(p.b);
                auto result = rule(p);
                if (result.stuck) {
                    stuck.push_back(std::move(p));
                    continue;
                }
                for (const auto& [l, r] : result.constraints) unify(p.offset, l, r);
                for (auto it = result.fresh.rbegin(); it != result.fresh.rend(); ++it)
                    queue.push_front(std::move(*it));
                progress = true;
            }
            if (stuck.empty()) return;
            if (!progress) {
                std::string message = "Can't solve elaboration problems:\n";
                for (auto& p : stuck) message += render(p) + "\n";
                throw failure{message};
            }
            queue.assign(std::make_move_iterator(stuck.begin()),
                         std::make_move_iterator(stuck.end()));
        }
    }

    std::string render(const problem& p) const {
        std::string ctx;
        const auto bindings = outermost_first(p.ctx);
        if (bindings.empty()) ctx = "()";
        for (std::size_t i = 0; i < bindings.size(); ++i) {
            if (i) ctx += " ";
            const auto& b = *bindings[i];
            ctx += "(" + b.name + (b.let_bound ? " \u2254 ... : " : " : ") + pretty(resolve(b.ty)) +
                   ")";
        }
        std::string body;
        if (p.kind == problem_kind::to_scalar) {
            body = "to_scalar " + pretty(resolve(p.a));
        } else {
            body = pretty(resolve(p.a)) + " " + std::string(operator_text(p.op)) + " " +
                   pretty(resolve(p.b)) + " : " + pretty(resolve(p.t));
        }
        return ctx + " \u22a6 " + body + "\n  @ " + at(p.offset);
    }

    // ---- rules ---------------------------------------------------------------------------

    problem general(const context& ctx, const syntax& s, int x, type t) const {
        problem p;
        p.ctx = ctx;
        p.s = &s;
        p.offset = s.offset;
        p.x = x;
        p.t = std::move(t);
        return p;
    }

    outcome rule(const problem& p) {
        switch (p.kind) {
            case problem_kind::general:
                return general_rule(p);
            case problem_kind::relation:
                return relation_rule(p);
            case problem_kind::arithmetic:
                return arithmetic_rule(p);
            case problem_kind::to_scalar:
                return to_scalar_rule(p);
        }
        return {};
    }

    outcome general_rule(const problem& p) {
        const syntax& s = *p.s;
        const auto& T = p.t;
        outcome o;
        auto constrain = [&](type u) { o.constraints.emplace_back(T, std::move(u)); };
        auto sub = [&](int i) -> const syntax& { return *s.args[static_cast<std::size_t>(i)]; };

        if (is_relation(s.kind) || is_arithmetic(s.kind)) {
            const auto A = fresh_type(), B = fresh_type();
            const int ea = fresh_expr(), eb = fresh_expr();
            o.fresh.push_back(general(p.ctx, sub(0), ea, A));
            o.fresh.push_back(general(p.ctx, sub(1), eb, B));
            problem q;
            q.kind = is_relation(s.kind) ? problem_kind::relation : problem_kind::arithmetic;
            q.ctx = p.ctx;
            q.offset = s.offset;
            q.x = p.x;
            q.t = T;
            q.ea = ea;
            q.eb = eb;
            q.a = A;
            q.b = B;
            q.op = s.kind;
            o.fresh.push_back(std::move(q));
            return o;
        }
        switch (s.kind) {
            case sk::number: {
                constrain(scalar_t());
                define_node(p.x, ck::number).node.number = s.number;
                return o;
            }
            case sk::string: {
                constrain(base(tk::text));
                define_node(p.x, ck::text).node.text = s.text;
                return o;
            }
            case sk::unit:
                constrain(base(tk::unit));
                define(p.x, ck::unit);
                return o;
            case sk::truth:
            case sk::falsity:
                constrain(bool_t());
                define(p.x, s.kind == sk::truth ? ck::truth : ck::falsity);
                return o;
            case sk::now:
            case sk::epoch:
                constrain(timestamp_t());
                define(p.x, s.kind == sk::now ? ck::now : ck::epoch);
                return o;
            case sk::duration: {
                constrain(duration_t());
                const std::uint64_t factor = s.unit == duration_unit::milliseconds ? 1
                                             : s.unit == duration_unit::seconds    ? 1000
                                             : s.unit == duration_unit::minutes    ? 60000
                                                                                   : 3600000;
                define_node(p.x, ck::duration).node.ms = s.count * factor;  // Word64 wrap
                return o;
            }
            case sk::conjunction:
            case sk::disjunction: {
                const int ea = fresh_expr(), eb = fresh_expr();
                constrain(bool_t());
                o.fresh.push_back(general(p.ctx, sub(0), ea, bool_t()));
                o.fresh.push_back(general(p.ctx, sub(1), eb, bool_t()));
                define(
                    p.x, s.kind == sk::conjunction ? ck::conjunction : ck::disjunction, {ea, eb});
                return o;
            }
            case sk::negation: {
                const int ea = fresh_expr();
                constrain(bool_t());
                o.fresh.push_back(general(p.ctx, sub(0), ea, bool_t()));
                define(p.x, ck::negation, {ea});
                return o;
            }
            case sk::range: {
                const auto tau = fresh_type();
                const int ef = fresh_expr(), ea = fresh_expr(), eb = fresh_expr();
                const bool stepped = s.args.size() == 4;
                const int es = stepped ? fresh_expr() : -1;
                constrain(range_of(tau));
                o.fresh.push_back(
                    general(p.ctx, sub(0), ef, function_of(timestamp_t(), instant_of(tau))));
                o.fresh.push_back(general(p.ctx, sub(1), ea, timestamp_t()));
                o.fresh.push_back(general(p.ctx, sub(2), eb, timestamp_t()));
                std::vector<int> operands{ef, ea, eb};
                if (stepped) {
                    o.fresh.push_back(general(p.ctx, sub(3), es, duration_t()));
                    operands.push_back(es);
                }
                define(p.x, ck::range, std::move(operands));
                return o;
            }
            case sk::pair: {
                const auto A = fresh_type(), B = fresh_type();
                const int ea = fresh_expr(), eb = fresh_expr();
                constrain(pair_of(A, B));
                o.fresh.push_back(general(p.ctx, sub(0), ea, A));
                o.fresh.push_back(general(p.ctx, sub(1), eb, B));
                define(p.x, ck::make_pair, {ea, eb});
                return o;
            }
            case sk::lambda: {
                const auto A = fresh_type(), B = fresh_type();
                const int ee = fresh_expr();
                constrain(function_of(A, B));
                auto inner = std::make_shared<context_node>();
                inner->b = binding{s.text, false, A};
                inner->outer = p.ctx;
                o.fresh.push_back(general(inner, sub(0), ee, B));
                define_node(p.x, ck::lambda, {ee}).node.text = s.text;
                return o;
            }
            case sk::let: {
                const auto A = fresh_type(), B = fresh_type();
                const int er = fresh_expr(), ee = fresh_expr();
                constrain(B);
                o.fresh.push_back(general(p.ctx, sub(0), er, A));
                auto inner = std::make_shared<context_node>();
                inner->b = binding{s.text, true, A};
                inner->outer = p.ctx;
                o.fresh.push_back(general(inner, sub(1), ee, B));
                define_node(p.x, ck::let, {er, ee}).node.text = s.text;
                return o;
            }
            case sk::variable: {
                for (auto c = p.ctx.get(); c; c = c->outer.get()) {
                    if (c->b.name == s.text) {
                        constrain(c->b.ty);
                        define_node(p.x, ck::variable).node.text = s.text;
                        return o;
                    }
                }
                if (metrics_.contains(s.text)) {
                    constrain(function_of(timestamp_t(), instant_of(scalar_t())));
                    define_node(p.x, ck::variable).node.text = s.text;
                    return o;
                }
                throw failure{"Undefined name: " + s.text + did_you_mean(p.ctx, s.text) + "\n  @ " +
                              at(s.offset)};
            }
            case sk::apply: {
                const auto alpha = fresh_type(), beta = fresh_type();
                const int ef = fresh_expr(), ee = fresh_expr();
                constrain(beta);
                o.fresh.push_back(general(p.ctx, sub(0), ef, function_of(alpha, beta)));
                o.fresh.push_back(general(p.ctx, sub(1), ee, alpha));
                define(p.x, ck::application, {ef, ee});
                return o;
            }
            case sk::filter_by_label: {
                const auto alpha = fresh_type();
                const int ev = fresh_expr();
                constrain(instant_of(alpha));
                o.fresh.push_back(general(p.ctx, sub(0), ev, instant_of(alpha)));
                define_node(p.x, ck::filter_by_label, {ev}).node.constraints = s.constraints;
                return o;
            }
            case sk::builtin:
                return builtin_rule(p, o);
            default:
                throw failure{"internal: unexpected syntax"};
        }
    }

    outcome builtin_rule(const problem& p, outcome& o) {
        const syntax& s = *p.s;
        const auto& T = p.t;
        auto constrain = [&](type u) { o.constraints.emplace_back(T, std::move(u)); };
        auto sub = [&](int i) -> const syntax& { return *s.args[static_cast<std::size_t>(i)]; };
        switch (s.head) {
            case builtin::metrics:
                constrain(make(tk::list, base(tk::text)));
                define(p.x, ck::metrics);
                return o;
            case builtin::abs:
            case builtin::round: {
                const int ea = fresh_expr();
                constrain(scalar_t());
                o.fresh.push_back(general(p.ctx, sub(0), ea, scalar_t()));
                define(p.x, s.head == builtin::abs ? ck::abs : ck::round, {ea});
                return o;
            }
            case builtin::increase:
            case builtin::rate:
            case builtin::avg_over_time:
            case builtin::sum_over_time: {
                const int er = fresh_expr();
                constrain(instant_of(scalar_t()));
                o.fresh.push_back(general(p.ctx, sub(0), er, range_of(scalar_t())));
                define(p.x,
                       s.head == builtin::increase        ? ck::increase
                       : s.head == builtin::rate          ? ck::rate
                       : s.head == builtin::avg_over_time ? ck::avg_over_time
                                                          : ck::sum_over_time,
                       {er});
                return o;
            }
            case builtin::max:
            case builtin::min:
            case builtin::avg: {
                const int ev = fresh_expr();
                constrain(scalar_t());
                o.fresh.push_back(general(p.ctx, sub(0), ev, instant_of(scalar_t())));
                define(p.x,
                       s.head == builtin::max   ? ck::max
                       : s.head == builtin::min ? ck::min
                                                : ck::avg,
                       {ev});
                return o;
            }
            case builtin::quantile_over_time: {
                const int er = fresh_expr(), ek = fresh_expr();
                constrain(instant_of(scalar_t()));
                o.fresh.push_back(general(p.ctx, sub(1), er, range_of(scalar_t())));
                o.fresh.push_back(general(p.ctx, sub(0), ek, scalar_t()));
                define(p.x, ck::quantile_over_time, {ek, er});
                return o;
            }
            case builtin::quantile_by: {
                const int ev = fresh_expr(), ek = fresh_expr();
                constrain(instant_of(scalar_t()));
                o.fresh.push_back(general(p.ctx, sub(1), ev, instant_of(scalar_t())));
                o.fresh.push_back(general(p.ctx, sub(0), ek, scalar_t()));
                define_node(p.x, ck::quantile_by, {ek, ev}).node.labels = s.labels;
                return o;
            }
            case builtin::fst:
            case builtin::snd: {
                const auto A = fresh_type(), B = fresh_type();
                const int et = fresh_expr();
                constrain(s.head == builtin::fst ? A : B);
                o.fresh.push_back(general(p.ctx, sub(0), et, pair_of(A, B)));
                define(p.x, s.head == builtin::fst ? ck::fst : ck::snd, {et});
                return o;
            }
            case builtin::filter: {
                const auto alpha = fresh_type();
                const int ef = fresh_expr(), ev = fresh_expr();
                constrain(instant_of(alpha));
                o.fresh.push_back(general(p.ctx, sub(0), ef, function_of(alpha, bool_t())));
                o.fresh.push_back(general(p.ctx, sub(1), ev, instant_of(alpha)));
                define(p.x, ck::filter, {ef, ev});
                return o;
            }
            case builtin::map: {
                const auto alpha = fresh_type(), beta = fresh_type();
                const int ef = fresh_expr(), ev = fresh_expr();
                constrain(instant_of(beta));
                o.fresh.push_back(general(p.ctx, sub(0), ef, function_of(alpha, beta)));
                o.fresh.push_back(general(p.ctx, sub(1), ev, instant_of(alpha)));
                define(p.x, ck::map, {ef, ev});
                return o;
            }
            case builtin::join:
            case builtin::unless: {
                const auto alpha = fresh_type(), beta = fresh_type();
                const int ev = fresh_expr(), eu = fresh_expr();
                constrain(s.head == builtin::join ? instant_of(pair_of(alpha, beta))
                                                  : instant_of(alpha));
                o.fresh.push_back(general(p.ctx, sub(0), ev, instant_of(alpha)));
                o.fresh.push_back(general(p.ctx, sub(1), eu, instant_of(beta)));
                define(p.x, s.head == builtin::join ? ck::join : ck::unless, {ev, eu});
                return o;
            }
            case builtin::to_scalar: {
                const auto tau = fresh_type();
                const int et = fresh_expr();
                constrain(scalar_t());
                o.fresh.push_back(general(p.ctx, sub(0), et, tau));
                problem q;
                q.kind = problem_kind::to_scalar;
                q.ctx = p.ctx;
                q.offset = s.offset;
                q.x = p.x;
                q.ea = et;
                q.a = tau;
                o.fresh.push_back(std::move(q));
                return o;
            }
            case builtin::earliest:
            case builtin::latest: {
                const auto pos = position_of(input_, s.offset);
                throw failure{std::string("Do not know how to elaborate: ") +
                              (s.head == builtin::earliest ? "Earliest" : "Latest") +
                              " (SourcePos {sourceName = \"input\", sourceLine = Pos " +
                              std::to_string(pos.line) + ", sourceColumn = Pos " +
                              std::to_string(pos.column) + "}) (User " +
                              haskell_show_string(s.text) + ")"};
            }
        }
        throw failure{"internal: unexpected builtin"};
    }

    std::string did_you_mean(const context& ctx, const std::string& name) const {
        std::vector<std::string> candidates;
        std::set<std::string> seen;
        for (const auto* b : outermost_first(ctx))
            if (seen.insert(b->name).second) candidates.push_back(b->name);
        for (const auto& m : metrics_.all())
            if (seen.insert(m).second) candidates.push_back(m);
        const auto target = code_points(name);
        const std::size_t threshold = std::max<std::size_t>(1, target.size() / 3);
        std::vector<std::pair<std::size_t, const std::string*>> close;
        for (const auto& c : candidates) {
            const auto d = edit_distance(target, code_points(c));
            if (d <= threshold) close.emplace_back(d, &c);
        }
        std::stable_sort(close.begin(), close.end(), [](const auto& a, const auto& b) {
            return a.first < b.first;
        });
        if (close.empty()) return "";
        std::string out = "\n  Did you mean: ";
        for (std::size_t i = 0; i < close.size() && i < 5; ++i)
            out += (i ? ", " : "") + *close[i].second;
        return out;
    }

    // Elab.hs lines 303–381.
    outcome relation_rule(const problem& p) {
        outcome o;
        const auto &A = p.a, &B = p.b, &T = p.t;
        auto finish = [&](ck kind, int first, int second) {
            define_node(p.x, kind, {first, second}).node.op = p.op;
            return o;
        };
        if (is_instant_scalar(A) && is(B, tk::scalar) && is_instant_scalar(T))
            return finish(ck::relation_instant, p.ea, p.eb);
        if (is(A, tk::scalar) && is(B, tk::scalar) && is(T, tk::boolean))
            return finish(ck::relation_scalar, p.ea, p.eb);
        if (is(A, tk::boolean) && is(B, tk::boolean) && is(T, tk::boolean))
            return finish(ck::relation_bool, p.ea, p.eb);
        auto repose = [&](type a, type b, type t, bool swap) {
            problem q = p;
            q.a = std::move(a);
            q.b = std::move(b);
            q.t = std::move(t);
            if (swap) {
                std::swap(q.ea, q.eb);
                q.op = swapped(p.op);
            }
            o.fresh.push_back(std::move(q));
            return o;
        };
        const auto iv_scalar = instant_of(scalar_t());
        if (is_instant_scalar(A) && is(B, tk::scalar)) {  // N1
            o.constraints.emplace_back(T, iv_scalar);
            return repose(iv_scalar, scalar_t(), iv_scalar, false);
        }
        if (is(A, tk::scalar) && is_instant_scalar(B)) {  // N2
            o.constraints.emplace_back(T, iv_scalar);
            return repose(iv_scalar, scalar_t(), iv_scalar, true);
        }
        if (is(A, tk::scalar) && is(B, tk::scalar)) {  // N3
            o.constraints.emplace_back(T, bool_t());
            return repose(scalar_t(), scalar_t(), bool_t(), false);
        }
        if (is(T, tk::boolean)) {  // N4
            o.constraints.emplace_back(A, scalar_t());
            o.constraints.emplace_back(B, scalar_t());
            return repose(scalar_t(), scalar_t(), bool_t(), false);
        }
        if (is(A, tk::boolean) || is(B, tk::boolean)) {  // N5
            o.constraints.emplace_back(A, bool_t());
            o.constraints.emplace_back(B, bool_t());
            o.constraints.emplace_back(T, bool_t());
            return repose(bool_t(), bool_t(), bool_t(), false);
        }
        o.stuck = true;
        return o;
    }

    static sk swapped(sk op) {
        switch (op) {
            case sk::less:
                return sk::greater;
            case sk::greater:
                return sk::less;
            case sk::less_equal:
                return sk::greater_equal;
            case sk::greater_equal:
                return sk::less_equal;
            default:
                return op;
        }
    }

    // Elab.hs lines 383–554.
    outcome arithmetic_rule(const problem& p) {
        outcome o;
        const auto &A = p.a, &B = p.b, &T = p.t;
        const bool plus = p.op == sk::add, minus = p.op == sk::subtract;
        auto finish = [&](ck kind, int first, int second) {
            define_node(p.x, kind, {first, second}).node.op = p.op;
            return o;
        };
        if (is(A, tk::timestamp) && plus && is(B, tk::duration) && is(T, tk::timestamp))
            return finish(ck::fast_forward, p.ea, p.eb);
        if (is(A, tk::duration) && plus && is(B, tk::duration) && is(T, tk::duration))
            return finish(ck::add_duration, p.ea, p.eb);
        if (is(A, tk::timestamp) && minus && is(B, tk::duration) && is(T, tk::timestamp))
            return finish(ck::rewind, p.ea, p.eb);
        if (is(A, tk::scalar) && is(B, tk::scalar) && is(T, tk::scalar))
            return finish(ck::arithmetic_scalar, p.ea, p.eb);
        if (is_instant_scalar(A) && is(B, tk::scalar) && is_instant_scalar(T))
            return finish(ck::arithmetic_instant, p.ea, p.eb);
        if (is_range_scalar(A) && is(B, tk::scalar) && is_range_scalar(T))
            return finish(ck::arithmetic_range, p.ea, p.eb);

        auto repose = [&](type a, type b, type t, bool swap) {
            problem q = p;
            q.a = std::move(a);
            q.b = std::move(b);
            q.t = std::move(t);
            if (swap) std::swap(q.ea, q.eb);
            o.fresh.push_back(std::move(q));
            return o;
        };
        auto constrain = [&](const type& l, const type& r) { o.constraints.emplace_back(l, r); };
        const auto iv_scalar = instant_of(scalar_t());
        const auto rv_scalar = range_of(scalar_t());
        if (is(A, tk::duration) && plus && is(B, tk::timestamp)) {  // N1
            constrain(T, timestamp_t());
            return repose(timestamp_t(), duration_t(), timestamp_t(), true);
        }
        if (is(A, tk::timestamp) && plus) {  // N2
            constrain(B, duration_t());
            constrain(T, timestamp_t());
            return repose(timestamp_t(), duration_t(), timestamp_t(), false);
        }
        if (plus && is(B, tk::timestamp)) {  // N3
            constrain(A, duration_t());
            constrain(T, timestamp_t());
            return repose(duration_t(), timestamp_t(), timestamp_t(), false);
        }
        if (is(A, tk::timestamp) && minus) {  // N4
            constrain(B, duration_t());
            constrain(T, timestamp_t());
            return repose(timestamp_t(), duration_t(), timestamp_t(), false);
        }
        if (minus && is(B, tk::duration)) {  // N5
            constrain(A, timestamp_t());
            constrain(T, timestamp_t());
            return repose(timestamp_t(), duration_t(), timestamp_t(), false);
        }
        if (is(A, tk::duration) && plus && is(B, tk::duration)) {  // N6
            constrain(T, duration_t());
            return repose(duration_t(), duration_t(), duration_t(), false);
        }
        if (plus && is(T, tk::duration)) {  // N7
            constrain(A, duration_t());
            constrain(B, duration_t());
            return repose(duration_t(), duration_t(), duration_t(), false);
        }
        if (is(A, tk::scalar) && is_instant_scalar(B)) {  // N8: swapped for every operator
            constrain(T, iv_scalar);
            return repose(iv_scalar, scalar_t(), iv_scalar, true);
        }
        if (is(A, tk::scalar) && is_range_scalar(B)) {  // N9
            constrain(T, rv_scalar);
            return repose(rv_scalar, scalar_t(), rv_scalar, true);
        }
        if (minus && is(T, tk::timestamp)) {  // N10
            constrain(A, timestamp_t());
            constrain(B, duration_t());
            return repose(timestamp_t(), duration_t(), timestamp_t(), false);
        }
        if (is(T, tk::scalar)) {  // N11
            constrain(A, scalar_t());
            constrain(B, scalar_t());
            return repose(scalar_t(), scalar_t(), scalar_t(), false);
        }
        if (is(A, tk::scalar) && is(B, tk::scalar)) {  // N12
            constrain(T, scalar_t());
            return repose(scalar_t(), scalar_t(), scalar_t(), false);
        }
        // N13/N14 re-pose the same operands with the vector result type. When that type is
        // already the result, upstream re-poses an identical problem forever; here it is stuck.
        if (is_range_scalar(A) || is_range_scalar(B)) {  // N13
            if (same(T, rv_scalar)) {
                o.stuck = true;
                return o;
            }
            constrain(T, rv_scalar);
            return repose(A, B, rv_scalar, false);
        }
        if (is_instant_scalar(A) || is_instant_scalar(B)) {  // N14
            if (same(T, iv_scalar)) {
                o.stuck = true;
                return o;
            }
            constrain(T, iv_scalar);
            return repose(A, B, iv_scalar, false);
        }
        o.stuck = true;
        return o;
    }

    outcome to_scalar_rule(const problem& p) {
        outcome o;
        switch (p.a->kind) {
            case tk::scalar:
                expressions_[p.x].alias = p.ea;
                return o;
            case tk::boolean:
                define(p.x, ck::bool_to_scalar, {p.ea});
                return o;
            case tk::duration:
                define(p.x, ck::duration_to_scalar, {p.ea});
                return o;
            case tk::timestamp:
                define(p.x, ck::timestamp_to_scalar, {p.ea});
                return o;
            case tk::hole:
                o.stuck = true;
                return o;
            default:
                throw failure{"to_scalar can't be applied to an expression of type " + pretty(p.a) +
                              "\n  @ " + at(p.offset)};
        }
    }
};

}  // namespace

std::string pretty(const type& t) { return pretty_at(precedence::loose, t); }

// Haskell's `show` of a String: quotes, backslash escapes, non-ASCII as decimal escapes.
std::string haskell_show_string(std::string_view s) {
    static const char* const names[] = {"NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "a",
                                        "b",   "t",   "n",   "v",   "f",   "r",   "SO",  "SI",
                                        "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB",
                                        "CAN", "EM",  "SUB", "ESC", "FS",  "GS",  "RS",  "US"};
    const auto cps = code_points(s);
    std::string out = "\"";
    for (std::size_t i = 0; i < cps.size(); ++i) {
        const char32_t c = cps[i];
        const bool next_digit = i + 1 < cps.size() && cps[i + 1] >= '0' && cps[i + 1] <= '9';
        if (c == '"') {
            out += "\\\"";
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c < 0x20) {
            out += "\\";
            out += names[c];
            if (c == 0x0E && i + 1 < cps.size() && cps[i + 1] == 'H') out += "\\&";
        } else if (c == 0x7F) {
            out += "\\DEL";
        } else if (c > 0x7F) {
            out += "\\" + std::to_string(static_cast<std::uint32_t>(c));
            if (next_digit) out += "\\&";
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out + "\"";
}

std::variant<core_ptr, elaboration_error> elaborate(const syntax& s,
                                                    std::string_view input,
                                                    const metric_catalogue& metrics,
                                                    const elaboration_limits& limits) {
    return elaborator(input, metrics, limits).run(s);
}

}  // namespace ct::tracer::timeseries::query
