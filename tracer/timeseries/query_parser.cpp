#include "tracer/timeseries/query_parser.hpp"

#include <locale.h>

#include <clocale>
#include <cstdlib>
#include <cwctype>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace ct::tracer::timeseries::query {

namespace {

using kind = syntax_kind;
using item = error_item;

locale_t unicode_locale() {
    static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
    return loc;
}

}  // namespace

bool is_space(char32_t c) {
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0) return true;
    // The other Space_Separator (Zs) characters; not U+0085, U+2028, U+2029.
    return c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_control(char32_t c) { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }

bool is_alpha(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const auto loc = unicode_locale();
    return loc != locale_t{} && iswalpha_l(static_cast<wint_t>(c), loc) != 0;
}

bool is_alpha_num(char32_t c) {
    if (c < 0x80) return is_alpha(c) || (c >= '0' && c <= '9');
    const auto loc = unicode_locale();
    return loc != locale_t{} && iswalnum_l(static_cast<wint_t>(c), loc) != 0;
}

namespace {

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }

// A parser's result in megaparsec's terms: ok or error, consumed or empty. On success `pos`
// is where the input continues and `hints` what could have come next; on failure `error`.
struct reply {
    bool ok = true;
    bool consumed = false;
    std::size_t pos = 0;
    std::set<item> hints;
    parse_error error;
};

void add_to_expected(parse_error& e, const std::set<item>& hints) {
    if (e.messages.empty()) e.expected.insert(hints.begin(), hints.end());
}

// megaparsec's (<>) on errors: the further one wins; at the same offset two trivial errors
// unite their expected items and keep the greater unexpected item; a fancy error wins.
parse_error merge(parse_error a, const parse_error& b) {
    if (a.offset != b.offset) return a.offset > b.offset ? a : b;
    const bool fa = !a.messages.empty(), fb = !b.messages.empty();
    if (fa && fb) {
        a.messages.insert(b.messages.begin(), b.messages.end());
        return a;
    }
    if (fa) return a;
    if (fb) return b;
    if (!a.unexpected || (b.unexpected && *b.unexpected > *a.unexpected))
        a.unexpected = b.unexpected;
    a.expected.insert(b.expected.begin(), b.expected.end());
    return a;
}

// The hints an error leaves when a choice recovers from it at `pos`.
std::set<item> to_hints(std::size_t pos, const parse_error& e) {
    if (!e.messages.empty() || e.offset != pos) return {};
    return e.expected;
}

// `a >>= k`: `b` is what k did from a.pos.
reply then(const reply& a, reply b) {
    if (!b.consumed) {
        if (b.ok)
            b.hints.insert(a.hints.begin(), a.hints.end());
        else
            add_to_expected(b.error, a.hints);
    }
    b.consumed = a.consumed || b.consumed;
    return b;
}

reply failure(parse_error e) {
    reply r;
    r.ok = false;
    r.error = std::move(e);
    return r;
}

class parser {
  public:
    explicit parser(std::string_view in) : in_(in) {}

    std::variant<syntax_ptr, parse_error> run() {
        syntax_ptr result;
        auto r = universe(0, result);
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, eof(r.pos));
        if (!r.ok) return std::move(r.error);
        return result;
    }

  private:
    std::string_view in_;

    // ---- characters -------------------------------------------------------------------

    struct code_point {
        char32_t c;
        std::size_t len;
    };
    std::optional<code_point> peek(std::size_t pos) const {
        if (pos >= in_.size()) return std::nullopt;
        const auto b = static_cast<unsigned char>(in_[pos]);
        const std::size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : 4;
        char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
        for (std::size_t k = 1; k < len && pos + k < in_.size(); ++k)
            c = (c << 6) | (static_cast<unsigned char>(in_[pos + k]) & 0x3F);
        return code_point{c, std::min(len, in_.size() - pos)};
    }
    // What megaparsec reports as unexpected: the next `n` characters, or the end.
    item next_items(std::size_t pos, std::size_t n) const {
        if (pos >= in_.size()) return {item::kind::end_of_input, ""};
        std::size_t end = pos;
        for (std::size_t k = 0; k < n && end < in_.size(); ++k) end += peek(end)->len;
        return {item::kind::tokens, std::string(in_.substr(pos, end - pos))};
    }
    std::size_t char_count(std::string_view s) const {
        std::size_t n = 0;
        for (const unsigned char b : s) n += (b & 0xC0) != 0x80;
        return n;
    }

    // ---- primitives -------------------------------------------------------------------

    parse_error trivial(std::size_t pos, std::optional<item> unexpected, std::set<item> expected) {
        parse_error e;
        e.offset = pos;
        e.unexpected = std::move(unexpected);
        e.expected = std::move(expected);
        return e;
    }

    reply string(std::size_t pos, std::string_view s) {
        if (in_.substr(pos, s.size()) == s) {
            reply r;
            r.consumed = !s.empty();
            r.pos = pos + s.size();
            return r;
        }
        return failure(trivial(
            pos, next_items(pos, char_count(s)), {item{item::kind::tokens, std::string(s)}}));
    }

    template <typename Pred>
    reply satisfy(std::size_t pos, Pred pred, char32_t* out = nullptr) {
        const auto c = peek(pos);
        if (!c || !pred(c->c)) return failure(trivial(pos, next_items(pos, 1), {}));
        if (out) *out = c->c;
        reply r;
        r.consumed = true;
        r.pos = pos + c->len;
        return r;
    }

    template <typename Pred>
    reply take_while(std::size_t pos, const char* label, Pred pred, bool at_least_one) {
        std::size_t end = pos;
        while (auto c = peek(end)) {
            if (!pred(c->c)) break;
            end += c->len;
        }
        if (end == pos && at_least_one)
            return failure(trivial(pos, next_items(pos, 1), {item{item::kind::label, label}}));
        reply r;
        r.consumed = end > pos;
        r.pos = end;
        r.hints = {item{item::kind::label, label}};
        return r;
    }

    reply space(std::size_t pos) { return take_while(pos, "white space", is_space, false); }
    reply space1(std::size_t pos) { return take_while(pos, "white space", is_space, true); }

    reply eof(std::size_t pos) {
        if (pos >= in_.size()) {
            reply r;
            r.pos = pos;
            return r;
        }
        return failure(trivial(pos, next_items(pos, 1), {item{item::kind::end_of_input, ""}}));
    }

    reply fail(std::size_t pos, std::string message) {
        parse_error e;
        e.offset = pos;
        e.messages.insert(std::move(message));
        return failure(std::move(e));
    }

    reply guard_failure(std::size_t pos) { return failure(trivial(pos, std::nullopt, {})); }

    // ---- combinators ------------------------------------------------------------------

    // try: a consumed failure becomes an empty one (the input is rewound).
    static reply attempt(reply r) {
        if (!r.ok) r.consumed = false;
        return r;
    }

    // p <|> q, with q run only when p failed without consuming.
    template <typename Q>
    reply choice(std::size_t pos, reply first, Q&& q) {
        if (first.ok || first.consumed) return first;
        reply second = q(pos);
        if (second.ok) {
            if (!second.consumed) {
                auto h = to_hints(pos, first.error);
                second.hints.insert(h.begin(), h.end());
            }
            return second;
        }
        second.error = merge(second.error, first.error);
        return second;
    }

    // p <?> label
    static reply labelled(reply r, const char* label) {
        if (r.consumed) return r;
        if (!r.ok) {
            if (r.error.messages.empty()) r.error.expected = {item{item::kind::label, label}};
        } else if (!r.hints.empty()) {
            r.hints = {item{item::kind::label, label}};
        }
        return r;
    }

    // optional p: an empty failure turns into success with the failure's hints.
    reply optional_of(std::size_t pos, reply r, bool& present) {
        present = r.ok;
        if (r.ok || r.consumed) return r;
        reply none;
        none.pos = pos;
        none.hints = to_hints(pos, r.error);
        return none;
    }

    // many p: `step(pos)` runs one p; stops at its first empty failure.
    template <typename Step>
    reply many(std::size_t pos, Step&& step) {
        reply acc;
        acc.pos = pos;
        for (;;) {
            bool present = false;
            reply r = optional_of(acc.pos, step(acc.pos), present);
            acc = then(acc, std::move(r));
            if (!acc.ok || !present) return acc;
        }
    }

    // notFollowedBy p
    reply not_followed_by(std::size_t pos, const reply& r) {
        if (r.ok) return failure(trivial(pos, next_items(pos, 1), {}));
        reply ok;
        ok.pos = pos;
        return ok;
    }

    // ---- grammar ----------------------------------------------------------------------

    static syntax_ptr node(kind k, std::size_t offset) {
        auto n = std::make_unique<syntax>();
        n->kind = k;
        n->offset = offset;
        return n;
    }

    static bool is_keyword(std::string_view s) {
        static const std::set<std::string_view> keywords{
            "let",      "in",          "true",          "false",         "epoch",
            "now",      "fst",         "snd",           "min",           "max",
            "avg",      "filter",      "join",          "map",           "abs",
            "increase", "rate",        "avg_over_time", "sum_over_time", "quantile_over_time",
            "unless",   "quantile_by", "earliest",      "latest",        "to_scalar",
            "metrics"};
        return keywords.count(s) != 0;
    }

    static bool identifier_next(char32_t c) { return is_alpha_num(c) || c == '_'; }

    // (:) <$> firstChar <*> many nextChar <?> "identifier"
    reply unquoted_identifier(std::size_t pos, std::string& out) {
        auto first = satisfy(pos, [](char32_t c) { return is_alpha(c) || c == '_'; });
        reply r = first;
        if (r.ok)
            r = then(r, many(r.pos, [&](std::size_t p) { return satisfy(p, identifier_next); }));
        r = labelled(std::move(r), "identifier");
        if (r.ok) out.assign(in_.substr(pos, r.pos - pos));
        return r;
    }

    // '`' then characters up to the next '`' (manyTill).
    reply quoted_identifier(std::size_t pos, std::string& out) {
        reply r = string(pos, "`");
        if (!r.ok) return r;
        const auto start = r.pos;
        for (;;) {
            bool done = false;
            reply end = optional_of(r.pos, string(r.pos, "`"), done);
            if (done) {
                out.assign(in_.substr(start, r.pos - start));
                return then(r, end);
            }
            r = then(r, end);
            r = then(r, satisfy(r.pos, [](char32_t c) {
                         return !is_control(c) && c != '`' && c != '\n' && c != '\r';
                     }));
            if (!r.ok) return r;
        }
    }

    // literalVariableIdentifier <|> escapedVariableIdentifier
    reply variable_identifier(std::size_t pos, std::string& out) {
        std::string name;
        reply r = unquoted_identifier(pos, name);
        if (r.ok) {
            if (is_keyword(name)) return then(r, guard_failure(r.pos));
            out = std::move(name);
            return r;
        }
        return choice(pos, std::move(r), [&](std::size_t p) { return quoted_identifier(p, out); });
    }

    // '"' characters '"', no escapes.
    reply text(std::size_t pos, std::string& out) {
        reply r = string(pos, "\"");
        if (!r.ok) return r;
        const auto start = r.pos;
        r = then(r, many(r.pos, [&](std::size_t p) {
                     return satisfy(p, [](char32_t c) {
                         return !is_control(c) && c != '"' && c != '\n' && c != '\r';
                     });
                 }));
        if (!r.ok) return r;
        const auto end = r.pos;
        r = then(r, string(r.pos, "\""));
        if (r.ok) out.assign(in_.substr(start, end - start));
        return r;
    }

    reply digits(std::size_t pos) { return take_while(pos, "digit", is_digit, true); }

    // Text.Megaparsec.Char.Lexer.decimal into a Word64 (wrapping, as upstream's fromInteger).
    reply decimal(std::size_t pos, std::uint64_t& out) {
        reply r = labelled(digits(pos), "integer");
        if (r.ok) {
            out = 0;
            for (auto i = pos; i < r.pos; ++i) out = out * 10 + static_cast<unsigned>(in_[i] - '0');
        }
        return r;
    }

    // signed (pure ()) scientific <?> "number"
    reply number(std::size_t pos, double& out) {
        bool sign_present = false;
        reply r = optional_of(
            pos,
            choice(pos, string(pos, "+"), [&](std::size_t p) { return string(p, "-"); }),
            sign_present);
        r = then(r, digits(r.pos));
        if (r.ok) {
            bool present = false;
            // try (char '.' *> digits)
            const auto p = r.pos;
            reply dot = string(p, ".");
            if (dot.ok) dot = then(dot, digits(dot.pos));
            r = then(r, optional_of(p, attempt(std::move(dot)), present));
        }
        if (r.ok) {
            bool present = false;
            // try (char' 'e' *> signed decimal)
            const auto p = r.pos;
            reply e = choice(p, string(p, "e"), [&](std::size_t q) { return string(q, "E"); });
            if (e.ok) {
                bool signed_exponent = false;
                e = then(e,
                         optional_of(e.pos,
                                     choice(e.pos,
                                            string(e.pos, "+"),
                                            [&](std::size_t q) { return string(q, "-"); }),
                                     signed_exponent));
                e = then(e, digits(e.pos));
            }
            r = then(r, optional_of(p, attempt(std::move(e)), present));
        }
        r = labelled(std::move(r), "number");
        if (r.ok) {
            // Data.Scientific.toRealFloat: the exact decimal rounded once; strtod does the same.
            const std::string literal(in_.substr(pos, r.pos - pos));
            out = std::strtod(literal.c_str(), nullptr);
            if (out == 0) out = 0.0;  // Scientific has no negative zero
        }
        return r;
    }

    // decimal <* string unit <* notFollowedBy (satisfy isAlpha), inside try.
    reply duration(std::size_t pos, std::string_view unit, duration_unit u, syntax_ptr& out) {
        std::uint64_t n = 0;
        reply r = decimal(pos, n);
        if (r.ok) r = then(r, string(r.pos, unit));
        if (r.ok) r = then(r, not_followed_by(r.pos, satisfy(r.pos, is_alpha)));
        r = attempt(std::move(r));
        if (r.ok) {
            out = node(kind::duration, pos);
            out->unit = u;
            out->count = n;
        }
        return r;
    }

    // '(' ws ( Universe ( try(ws ',' ws) Universe )* )? ws ')': () is the unit, (a) is a,
    // (a, b) a pair and (a, b, c, …) pairs nested to the right.
    reply tuple(std::size_t pos, syntax_ptr& out) {
        reply r = string(pos, "(");
        if (!r.ok) return r;
        r = then(r, space(r.pos));
        std::vector<syntax_ptr> items;
        bool present = false;
        syntax_ptr first;
        r = then(r, optional_of(r.pos, universe(r.pos, first), present));
        if (!r.ok) return r;
        if (present) {
            items.push_back(std::move(first));
            r = then(r, many(r.pos, [&](std::size_t p) {
                         reply s = space(p);
                         s = then(s, string(s.pos, ","));
                         if (s.ok) s = then(s, space(s.pos));
                         s = attempt(std::move(s));
                         syntax_ptr next;
                         if (s.ok) s = then(s, universe(s.pos, next));
                         if (s.ok) items.push_back(std::move(next));
                         return s;
                     }));
            if (!r.ok) return r;
        }
        r = then(r, space(r.pos));
        r = then(r, string(r.pos, ")"));
        if (!r.ok) return r;
        if (items.empty()) {
            out = node(kind::unit, pos);
            return r;
        }
        // Right-nested pairs, each at the opening parenthesis.
        syntax_ptr built = std::move(items.back());
        for (std::size_t i = items.size() - 1; i-- > 0;) {
            auto pair = node(kind::pair, pos);
            pair->args.push_back(std::move(items[i]));
            pair->args.push_back(std::move(built));
            built = std::move(pair);
        }
        out = std::move(built);
        return r;
    }

    reply keyword_atom(std::size_t pos, std::string_view word, kind k, syntax_ptr& out) {
        reply r = string(pos, word);
        if (r.ok) out = node(k, pos);
        return r;
    }

    reply atom(std::size_t pos, syntax_ptr& out) {
        reply r = tuple(pos, out);
        r = choice(pos, std::move(r), [&](std::size_t p) {
            return keyword_atom(p, "epoch", kind::epoch, out);
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            return keyword_atom(p, "true", kind::truth, out);
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            return keyword_atom(p, "false", kind::falsity, out);
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            return keyword_atom(p, "now", kind::now, out);
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            std::string name;
            reply v = variable_identifier(p, name);
            if (v.ok) {
                out = node(kind::variable, p);
                out->text = std::move(name);
            }
            return v;
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            return duration(p, "ms", duration_unit::milliseconds, out);
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            return duration(p, "s", duration_unit::seconds, out);
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            return duration(p, "m", duration_unit::minutes, out);
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            return duration(p, "h", duration_unit::hours, out);
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            double value = 0;
            reply n = number(p, value);
            if (n.ok) {
                out = node(kind::number, p);
                out->number = value;
            }
            return n;
        });
        r = choice(pos, std::move(r), [&](std::size_t p) {
            std::string s;
            reply t = text(p, s);
            if (t.ok) {
                out = node(kind::string, p);
                out->text = std::move(s);
            }
            return t;
        });
        return r;
    }

    // '!' ws Atom
    reply negation(std::size_t pos, syntax_ptr& out) {
        reply r = string(pos, "!");
        if (!r.ok) return r;
        r = then(r, space(r.pos));
        syntax_ptr operand;
        r = then(r, atom(r.pos, operand));
        if (r.ok) {
            out = node(kind::negation, pos);
            out->args.push_back(std::move(operand));
        }
        return r;
    }

    // '[' ws Universe ws ';' ws Universe (ws ':' ws Universe ws)? ']'
    reply range_suffix(std::size_t pos, syntax_ptr& target, std::size_t target_offset) {
        syntax_ptr from, to, step;
        reply r = string(pos, "[");
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, universe(r.pos, from));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, string(r.pos, ";"));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, universe(r.pos, to));
        if (r.ok) {
            const auto p = r.pos;
            reply s = space(p);
            s = then(s, string(s.pos, ":"));
            if (s.ok) s = then(s, space(s.pos));
            if (s.ok) s = then(s, universe(s.pos, step));
            if (s.ok) s = then(s, space(s.pos));
            bool present = false;
            r = then(r, optional_of(p, std::move(s), present));
            if (!present) step.reset();
        }
        if (r.ok) r = then(r, string(r.pos, "]"));
        if (r.ok) {
            auto n = node(kind::range, target_offset);
            n->args.push_back(std::move(target));
            n->args.push_back(std::move(from));
            n->args.push_back(std::move(to));
            if (step) n->args.push_back(std::move(step));
            target = std::move(n);
        }
        return r;
    }

    // "k" ws ("=" | "!=") ws "v"
    reply label_constraint_(std::size_t pos, label_constraint& out) {
        reply r = text(pos, out.key);
        if (!r.ok) return r;
        r = then(r, space(r.pos));
        const auto p = r.pos;
        reply op = string(p, "=");
        out.equal = op.ok;
        op = choice(p, std::move(op), [&](std::size_t q) { return string(q, "!="); });
        r = then(r, std::move(op));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, text(r.pos, out.value));
        return r;
    }

    // sepBy item (ws ',' ws): `one(pos)` parses an item.
    template <typename One>
    reply separated(std::size_t pos, One&& one) {
        bool present = false;
        reply r = optional_of(pos, one(pos), present);
        if (!r.ok || !present) return r;
        return then(r, many(r.pos, [&](std::size_t p) {
                        reply s = space(p);
                        s = then(s, string(s.pos, ","));
                        if (s.ok) s = then(s, space(s.pos));
                        if (s.ok) s = then(s, one(s.pos));
                        return s;
                    }));
    }

    // '{' ws constraints ws '}'
    reply label_suffix(std::size_t pos, syntax_ptr& target, std::size_t target_offset) {
        std::set<label_constraint> constraints;
        reply r = string(pos, "{");
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok)
            r = then(r, separated(r.pos, [&](std::size_t p) {
                         label_constraint c;
                         reply one = label_constraint_(p, c);
                         if (one.ok) constraints.insert(std::move(c));
                         return one;
                     }));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, string(r.pos, "}"));
        if (r.ok) {
            auto n = node(kind::filter_by_label, target_offset);
            n->args.push_back(std::move(target));
            n->constraints.assign(constraints.begin(), constraints.end());
            target = std::move(n);
        }
        return r;
    }

    // Atom ( try( ws ( try(RangeSfx) | LabelSfx ) ) )*
    reply suffixed(std::size_t pos, syntax_ptr& out) {
        reply r = atom(pos, out);
        if (!r.ok) return r;
        return then(r, many(r.pos, [&](std::size_t p) {
                        reply s = space(p);
                        const auto q = s.pos;
                        reply suffix = attempt(range_suffix(q, out, pos));
                        suffix = choice(q, std::move(suffix), [&](std::size_t at) {
                            return label_suffix(at, out, pos);
                        });
                        return attempt(then(s, std::move(suffix)));
                    }));
    }

    // try(NotE) | Suffixed
    reply app_argument(std::size_t pos, syntax_ptr& out) {
        reply r = attempt(negation(pos, out));
        return choice(pos, std::move(r), [&](std::size_t p) { return suffixed(p, out); });
    }

    // '(' ws ( String ( ws ',' ws String )* )? ws ')'
    reply label_list(std::size_t pos, std::vector<std::string>& out) {
        std::set<std::string> labels;
        reply r = string(pos, "(");
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok)
            r = then(r, separated(r.pos, [&](std::size_t p) {
                         std::string s;
                         reply one = text(p, s);
                         if (one.ok) labels.insert(std::move(s));
                         return one;
                     }));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, string(r.pos, ")"));
        if (r.ok) out.assign(labels.begin(), labels.end());
        return r;
    }

    struct head_word {
        std::string_view word;
        builtin head;
    };

    // ( "fst" | … ) <* notFollowedBy identifier character
    reply head(std::size_t pos, syntax& out) {
        static constexpr head_word words[] = {
            {"fst", builtin::fst},
            {"snd", builtin::snd},
            {"min", builtin::min},
            {"max", builtin::max},
            {"filter", builtin::filter},
            {"join", builtin::join},
            {"map", builtin::map},
            {"abs", builtin::abs},
            {"round", builtin::round},
            {"increase", builtin::increase},
            {"rate", builtin::rate},
            {"avg_over_time", builtin::avg_over_time},
            {"avg", builtin::avg},
            {"sum_over_time", builtin::sum_over_time},
            {"quantile_over_time", builtin::quantile_over_time},
            {"unless", builtin::unless},
            {"quantile_by", builtin::quantile_by},
            {"earliest", builtin::earliest},
            {"latest", builtin::latest},
            {"to_scalar", builtin::to_scalar},
            {"metrics", builtin::metrics},
        };
        reply r = failure(trivial(pos, std::nullopt, {}));
        bool first = true;
        for (const auto& w : words) {
            auto alternative = [&](std::size_t p) {
                reply a = string(p, w.word);
                if (!a.ok) return a;
                if (w.head == builtin::quantile_by) {
                    a = then(a, space1(a.pos));
                    if (a.ok) a = then(a, label_list(a.pos, out.labels));
                } else if (w.head == builtin::earliest || w.head == builtin::latest) {
                    a = then(a, space1(a.pos));
                    if (a.ok) a = then(a, variable_identifier(a.pos, out.text));
                }
                if (a.ok) out.head = w.head;
                return a;
            };
            if (first) {
                r = alternative(pos);
                first = false;
            } else {
                r = choice(pos, std::move(r), alternative);
            }
            if (r.ok || r.consumed) break;
        }
        if (!r.ok) return r;
        return then(r, not_followed_by(r.pos, satisfy(r.pos, identifier_next)));
    }

    static std::size_t arity(builtin h) {
        switch (h) {
            case builtin::filter:
            case builtin::join:
            case builtin::map:
            case builtin::quantile_over_time:
            case builtin::unless:
            case builtin::quantile_by:
                return 2;
            case builtin::earliest:
            case builtin::latest:
            case builtin::metrics:
                return 0;
            default:
                return 1;
        }
    }

    // How upstream's derived Show writes a head in the arity message.
    static std::string show_head(const syntax& h) {
        std::string s(builtin_show_name(h.head));
        auto quoted = [](const std::string& t) {
            std::string q = "\"";
            for (const char c : t) {
                if (c == '"' || c == '\\') q += '\\';
                q += c;
            }
            return q + "\"";
        };
        if (h.head == builtin::quantile_by) {
            s += " (fromList [";
            for (std::size_t i = 0; i < h.labels.size(); ++i)
                s += (i ? "," : "") + quoted(h.labels[i]);
            s += "])";
        } else if (h.head == builtin::earliest || h.head == builtin::latest) {
            s += " (User " + quoted(h.text) + ")";
        }
        return s;
    }

    // ( try(Head) | AppArg ) ( try(ws1 AppArg) )*, then the builtin arity check.
    reply application(std::size_t pos, syntax_ptr& out) {
        auto h = node(kind::builtin, pos);
        reply r = attempt(head(pos, *h));
        const bool builtin_head = r.ok;
        syntax_ptr function;
        r = choice(pos, std::move(r), [&](std::size_t p) { return app_argument(p, function); });
        if (!r.ok) return r;
        std::vector<syntax_ptr> args;
        r = then(r, many(r.pos, [&](std::size_t p) {
                     reply s = space1(p);
                     syntax_ptr arg;
                     if (s.ok) s = then(s, app_argument(s.pos, arg));
                     if (s.ok) args.push_back(std::move(arg));
                     return attempt(std::move(s));
                 }));
        if (!r.ok) return r;
        if (builtin_head) {
            if (args.size() != arity(h->head))
                return then(r,
                            fail(r.pos,
                                 "Wrong number of arguments (" + std::to_string(args.size()) +
                                     ") for `" + show_head(*h) + "`"));
            h->args = std::move(args);
            out = std::move(h);
            return r;
        }
        for (auto& a : args) {
            auto app = node(kind::apply, pos);
            app->args.push_back(std::move(function));
            app->args.push_back(std::move(a));
            function = std::move(app);
        }
        out = std::move(function);
        return r;
    }

    struct operator_word {
        std::string_view word;
        kind k;
    };

    // operand ( try(ws op) ws operand )*, left-associative, every node at the chain's start.
    template <typename Operand>
    reply chain(std::size_t pos,
                syntax_ptr& out,
                std::initializer_list<operator_word> ops,
                Operand&& operand) {
        reply r = operand(pos, out);
        if (!r.ok) return r;
        return then(r, many(r.pos, [&](std::size_t p) {
                        reply s = space(p);
                        kind op{};
                        reply o = failure(trivial(s.pos, std::nullopt, {}));
                        bool first = true;
                        for (const auto& w : ops) {
                            auto alternative = [&](std::size_t q) {
                                reply a = string(q, w.word);
                                if (a.ok) op = w.k;
                                return a;
                            };
                            o = first ? alternative(s.pos)
                                      : choice(s.pos, std::move(o), alternative);
                            first = false;
                            if (o.ok || o.consumed) break;
                        }
                        s = attempt(then(s, std::move(o)));
                        if (!s.ok) return s;
                        s = then(s, space(s.pos));
                        syntax_ptr right;
                        s = then(s, operand(s.pos, right));
                        if (s.ok) {
                            auto n = node(op, pos);
                            n->args.push_back(std::move(out));
                            n->args.push_back(std::move(right));
                            out = std::move(n);
                        }
                        return s;
                    }));
    }

    reply multiplicative(std::size_t pos, syntax_ptr& out) {
        return chain(pos,
                     out,
                     {{"*", kind::multiply}, {"/", kind::divide}},
                     [&](std::size_t p, syntax_ptr& o) { return application(p, o); });
    }
    reply additive(std::size_t pos, syntax_ptr& out) {
        return chain(
            pos, out, {{"+", kind::add}, {"-", kind::subtract}}, [&](std::size_t p, syntax_ptr& o) {
                return multiplicative(p, o);
            });
    }
    reply comparison(std::size_t pos, syntax_ptr& out) {
        return chain(pos,
                     out,
                     {{"==", kind::equal},
                      {"!=", kind::not_equal},
                      {"<=", kind::less_equal},
                      {">=", kind::greater_equal},
                      {"<", kind::less},
                      {">", kind::greater}},
                     [&](std::size_t p, syntax_ptr& o) { return additive(p, o); });
    }
    reply conjunction(std::size_t pos, syntax_ptr& out) {
        return chain(pos, out, {{"&&", kind::conjunction}}, [&](std::size_t p, syntax_ptr& o) {
            return comparison(p, o);
        });
    }
    reply disjunction(std::size_t pos, syntax_ptr& out) {
        return chain(pos, out, {{"||", kind::disjunction}}, [&](std::size_t p, syntax_ptr& o) {
            return conjunction(p, o);
        });
    }

    // "let" ws1 VarId ws "=" ws Universe ws "in" ws1 Universe
    reply let(std::size_t pos, syntax_ptr& out) {
        auto n = node(kind::let, pos);
        syntax_ptr bound, body;
        reply r = string(pos, "let");
        if (r.ok) r = then(r, space1(r.pos));
        if (r.ok) r = then(r, variable_identifier(r.pos, n->text));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, string(r.pos, "="));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, universe(r.pos, bound));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, string(r.pos, "in"));
        if (r.ok) r = then(r, space1(r.pos));
        if (r.ok) r = then(r, universe(r.pos, body));
        if (r.ok) {
            n->args.push_back(std::move(bound));
            n->args.push_back(std::move(body));
            out = std::move(n);
        }
        return r;
    }

    // "\" ws VarId ws "->" ws Universe
    reply lambda(std::size_t pos, syntax_ptr& out) {
        auto n = node(kind::lambda, pos);
        syntax_ptr body;
        reply r = string(pos, "\\");
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, variable_identifier(r.pos, n->text));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, string(r.pos, "->"));
        if (r.ok) r = then(r, space(r.pos));
        if (r.ok) r = then(r, universe(r.pos, body));
        if (r.ok) {
            n->args.push_back(std::move(body));
            out = std::move(n);
        }
        return r;
    }

    // try(Let) | try(Lambda) | Or
    reply universe(std::size_t pos, syntax_ptr& out) {
        if (++depth_ > max_depth) {
            --depth_;
            return fail(pos,
                        "the query nests more than " + std::to_string(max_depth) +
                            " parentheses, lets or lambdas deep");
        }
        reply r = attempt(let(pos, out));
        r = choice(pos, std::move(r), [&](std::size_t p) { return attempt(lambda(p, out)); });
        r = choice(pos, std::move(r), [&](std::size_t p) { return disjunction(p, out); });
        --depth_;
        return r;
    }

    // Parentheses nest through universe(); a bound keeps a hostile query off the stack's end.
    static constexpr int max_depth = 100;
    int depth_ = 0;
};

}  // namespace

bool is_relation(syntax_kind k) {
    return k == kind::equal || k == kind::not_equal || k == kind::less || k == kind::less_equal ||
           k == kind::greater || k == kind::greater_equal;
}

bool is_arithmetic(syntax_kind k) {
    return k == kind::add || k == kind::subtract || k == kind::multiply || k == kind::divide;
}

std::string_view operator_text(syntax_kind k) {
    switch (k) {
        case kind::equal:
            return "==";
        case kind::not_equal:
            return "!=";
        case kind::less:
            return "<";
        case kind::less_equal:
            return "<=";
        case kind::greater:
            return ">";
        case kind::greater_equal:
            return ">=";
        case kind::add:
            return "+";
        case kind::subtract:
            return "-";
        case kind::multiply:
            return "*";
        case kind::divide:
            return "/";
        default:
            return "?";
    }
}

std::string_view builtin_show_name(builtin h) {
    switch (h) {
        case builtin::fst:
            return "Fst";
        case builtin::snd:
            return "Snd";
        case builtin::min:
            return "Min";
        case builtin::max:
            return "Max";
        case builtin::avg:
            return "Avg";
        case builtin::filter:
            return "Filter";
        case builtin::join:
            return "Join";
        case builtin::map:
            return "Map";
        case builtin::abs:
            return "Abs";
        case builtin::round:
            return "Round";
        case builtin::increase:
            return "Increase";
        case builtin::rate:
            return "Rate";
        case builtin::avg_over_time:
            return "AvgOverTime";
        case builtin::sum_over_time:
            return "SumOverTime";
        case builtin::quantile_over_time:
            return "QuantileOverTime";
        case builtin::unless:
            return "Unless";
        case builtin::quantile_by:
            return "QuantileBy";
        case builtin::earliest:
            return "Earliest";
        case builtin::latest:
            return "Latest";
        case builtin::to_scalar:
            return "ToScalar";
        case builtin::metrics:
            return "Metrics";
    }
    return "?";
}

std::variant<syntax_ptr, parse_error> parse(std::string_view input) {
    auto result = parser(input).run();
    // Operator chains nest without recursion in the parser; the elaborator and the interpreter
    // recurse, so a tree deeper than this is refused here.
    constexpr std::size_t max_tree_depth = 1000;
    if (const auto* tree = std::get_if<syntax_ptr>(&result)) {
        std::vector<std::pair<const syntax*, std::size_t>> stack{{tree->get(), 1}};
        while (!stack.empty()) {
            const auto [n, depth] = stack.back();
            stack.pop_back();
            if (depth > max_tree_depth) {
                parse_error e;
                e.offset = n->offset;
                e.messages.insert("the query nests deeper than " + std::to_string(max_tree_depth) +
                                  " levels");
                return e;
            }
            for (const auto& a : n->args) stack.emplace_back(a.get(), depth + 1);
        }
    }
    return result;
}

}  // namespace ct::tracer::timeseries::query
