#!/usr/bin/env python3
"""The report of one run of scripts/bench.sh (issue 12): the figures the benchmarks recorded
(bench/benchlib.record: one JSON object per line) and Google Benchmark's JSON files, as
Markdown tables: first issue 12's targets against this run, then each benchmark's table.

With --write, the report replaces what lies between the two markers of docs/benchmarks.md
(or goes after its introduction, the first time); the hand-written history below stays.

usage: report.py RECORD.jsonl [--gbench FILE.json ...] [--write DOC.md] [--command TEXT]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

BEGIN = "<!-- scripts/bench.sh: latest run, begin (rewritten at every run) -->"
END = "<!-- scripts/bench.sh: latest run, end -->"

# The baselines of bench/ingest.py: the floor relay (socket to file, nothing parsed) with the
# issue's 1 MiB writes and with 64 KiB writes (steady on a VM that slows large writes), and
# Debian's rsyslog.
BASELINES = {"floor": "the 1 MiB floor", "floor64k": "the 64 KiB floor", "rsyslog": "rsyslog"}


def num(v, fmt, unit=""):
    return "–" if v is None else format(v, fmt) + unit


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def ingest_table(results):
    """The ingest scenarios (dicts made by bench/ingest.py), each figure beside its ratio to
    every baseline of the same run: CPU per object (lower is better) and throughput."""
    bases = [(key, r) for key in BASELINES for r in results if r.get("scenario") == key]
    header = ["scenario", "objects/s", "CPU-s per million", "peak RSS", "syscalls per object",
              "generator CPU per object (user)", "node drops", "output"]
    header += [f"vs {BASELINES[key]}: CPU, throughput" for key, _ in bases]
    rows = []
    for r in results:
        row = [r["name"], f"{r['rate']:,.0f}", f"{r['cpu_per_m']:.2f}", num(r["rss"], ".1f", " MiB"),
               num(r["syscalls"], ".3f"), generator(r), r["drops"], r["check"]]
        for key, b in bases:
            row.append("–" if r is b else
                       f"{r['cpu_per_m'] / b['cpu_per_m']:.2f}×, {r['rate'] / b['rate']:.2f}×")
        rows.append(row)
    return table(header, rows)


def generator(r):
    if r.get("gen_ns") is None:
        return "–"
    user = r.get("gen_user_ns")
    return f"{r['gen_ns']:.0f} ns" + ("" if user is None else f" ({user:.0f} ns)")


class Run:
    """The records of one run, by kind."""

    def __init__(self, record_path, gbench_paths):
        self.records = []
        if os.path.exists(record_path):
            with open(record_path) as f:
                self.records = [json.loads(line) for line in f if line.strip()]
        self.gbench = []
        for path in gbench_paths:
            try:
                with open(path) as f:
                    data = json.load(f)
            except (OSError, ValueError):
                continue
            program = os.path.basename(path).rsplit(".", 1)[0]
            for b in data.get("benchmarks", []):
                # Repeated benchmarks: the median aggregate; single runs: the run itself.
                if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                    continue
                self.gbench.append((program, b))

    def all(self, kind):
        return [r for r in self.records if r["kind"] == kind]

    def one(self, kind, **match):
        for r in self.all(kind):
            if all(r.get(k) == v for k, v in match.items()):
                return r
        return None

    def gbench_us(self, name):
        for _, b in self.gbench:
            if b.get("run_name", b["name"]) == name or b["name"] == name:
                return to_us(b["real_time"], b.get("time_unit", "ns"))
        return None


def to_us(value, unit):
    return value * {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[unit]


def verdict(ok):
    return "–" if ok is None else ("met" if ok else "**not met**")


def ratio(a, b, key):
    return None if a is None or b is None else a[key] / b[key]


def targets(run):
    """Issue 12's targets, each with this run's figures and whether they hold."""
    rows = []
    m10, m1 = run.one("ingest", scenario="10:machine"), run.one("ingest", scenario="1:machine")
    floors = [(k, run.one("ingest", scenario=k)) for k in ("floor64k", "floor")]
    floors = [(k, f) for k, f in floors if f]
    rsys = run.one("ingest", scenario="rsyslog")

    pairs = run.all("ingest_pair")

    def against(key, limit, better_low):
        parts, oks = [], []
        for k, f in floors + ([("rsyslog", rsys)] if rsys else []):
            x = ratio(m10, f, key)
            if x is None:
                continue
            parts.append(f"{x:.2f}× {BASELINES[k]}'s")
            oks.append(x <= limit[k] if better_low else x >= limit[k])
        if pairs:
            xs = sorted(p[f"daemon_{key}"] / p[f"floor_{key}"] for p in pairs)
            x = statistics.median(xs)
            parts.append(f"{x:.2f}× {BASELINES['floor64k']}'s in {len(xs)} alternating pairs "
                         f"(median; {xs[0]:.2f}–{xs[-1]:.2f})")
            oks.append(x <= limit["floor64k"] if better_low else x >= limit["floor64k"])
        return parts, (all(oks) if oks else None)

    if m10:
        parts, ok = against("cpu_per_m", {"floor": 1.25, "floor64k": 1.25, "rsyslog": 0.15}, True)
        rows.append(["CPU per object at 10 nodes ≤ 1.25× the floor relay's, ≤ 0.15× rsyslog's",
                     "; ".join(parts), verdict(ok)])
        parts, ok = against("rate", {"floor": 1.0, "floor64k": 1.0, "rsyslog": 5.0}, False)
        rows.append(["Throughput at 10 nodes ≥ 1.0× the floor relay's, ≥ 5× rsyslog's",
                     "; ".join(parts), verdict(ok)])
        ok = m10["rate"] >= 2e6 and (m1 is None or m1["rate"] >= 1e6)
        rows.append(["≥ 2 M objects/s at 10 nodes (quiet run); one node ≥ 1 M",
                     f"10 nodes {m10['rate'] / 1e6:.2f} M" +
                     (f"; 1 node {m1['rate'] / 1e6:.2f} M" if m1 else ""), verdict(ok)])
        users = [r["gen_user_ns"] for r in run.all("ingest")
                 if r.get("gen_user_ns") is not None and r.get("scenario", "").startswith("10:")]
        if users:
            rows.append(["The generator well under 100 ns per object (its own work: user time, "
                         "10 nodes)", f"{min(users):.0f}–{max(users):.0f} ns",
                         verdict(max(users) < 100)])
        sc = m10.get("syscalls")
        rows.append(["≤ 0.05 syscalls per object at load", num(sc, ".3f"),
                     verdict(None if sc is None else sc <= 0.05)])
    turn = [t for t in run.all("turnaround") if not t.get("queries")]
    if turn:
        drops = sum(t["drops"] for t in turn)
        worst = max((t["daemon_p999_us"] for t in turn if t["daemon_p999_us"] is not None),
                    default=None)
        per = "; ".join(f"{t['nodes']} node(s) {t['drops']} ({t['drop_pct']:.3f} %)" for t in turn)
        rows.append(["Zero node-side drops at 100 k objects/s per node (192-object queue)",
                     per, verdict(drops == 0)])
        rows.append(["Request turnaround p99.9 < 1 ms (the daemon's own histogram)",
                     f"≤ {num(worst, '.0f', ' µs')} (bucket bound, worst run)",
                     verdict(None if worst is None else worst < 1000)])
    rss = [r["rss"] for r in run.all("ingest")
           if r.get("scenario", "").startswith("10:") and r["rss"] is not None]
    slow = run.one("slow_disk", queue_bytes=0)
    if rss or slow:
        peak = max(rss + ([slow["peak_rss"]] if slow else []))
        text = (f"{max(rss):.1f} MiB when the disk keeps up" if rss else "") + \
               (f"; {slow['peak_rss']:.1f} MiB with the writer starved" if slow else "")
        rows.append(["RSS ≤ 30 MB at 10 nodes whatever the disk does", text.strip("; "),
                     verdict(peak * 1.048576 <= 30)])
    base = run.one("scaling", nodes=1)
    big, ten = run.one("scaling", nodes=1000), run.one("scaling", nodes=10)
    if base and big:
        per_node = (big["rss_median"] - base["rss_median"]) * 1024 / 999
        rows.append(["≤ 100 KB per extra connected node (1000 connections, median RSS)",
                     f"{per_node:.0f} KiB", verdict(per_node * 1.024 <= 100)])
    if big and ten and big["cpu_per_m"] and ten["cpu_per_m"]:
        x = big["cpu_per_m"] / ten["cpu_per_m"]
        text = f"{x:.2f}×"
        if big.get("cpu_us_per_reply") and ten.get("cpu_us_per_reply"):
            # The round trips behind the figure: slow nodes bring one object or two per reply.
            text += (f" (per reply {big['cpu_us_per_reply'] / ten['cpu_us_per_reply']:.2f}×; "
                     f"{big['objects_per_reply']:.1f} against {ten['objects_per_reply']:.1f} "
                     f"objects per reply)")
        rows.append(["1000 connections ≤ 1.5× the CPU per object of 10", text,
                     verdict(x <= 1.5)])
    idle = run.one("scaling_idle")
    if idle:
        rows.append(["1000 idle nodes (EKG every second) < 3 % of a core",
                     f"{idle['cpu_pct']:.1f} %", verdict(idle["cpu_pct"] < 3.0)])
    render = run.gbench_us("Render500Series")
    if render is not None:
        rows.append(["Rendering 500 series ≤ 50 µs", f"{render:.1f} µs (median)",
                     verdict(render <= 50)])
    scrapes = run.all("scrape")
    if scrapes:
        rows.append(["Scrape p99 ≤ 2 ms for every route, 10 nodes × 500 metrics under load",
                     "; ".join(f"`{s['route']}` {s['p99_ms']:.2f} ms" for s in scrapes),
                     verdict(all(s["p99_ms"] <= 2.0 for s in scrapes))])
    rot = run.one("rotation")
    if rot:
        rows.append(["Rotation under load: nothing lost", rot["problem"] or
                     "every (node, seq) exactly once", verdict(not rot["problem"] and
                                                             rot["drops"] == 0)])
    return table(["target", "this run", ""], rows) if rows else []


def sections(run):
    out = []
    ingest = run.all("ingest")
    if ingest:
        out += ["", "### Ingest (`bench/ingest.py`)", "",
                "objects/s from the generator's start to the daemon's last write; CPU is the "
                "daemon's own (from /proc); every file checked for every (node, seq) exactly "
                "once and in order. The last columns give each scenario's CPU per object and "
                "throughput as ratios to each baseline's.", ""]
        out += ingest_table(ingest)
    pairs = run.all("ingest_pair")
    if pairs:
        out += ["", "### The daemon beside the 64 KiB floor, alternately (`bench/ingest.py "
                "pairs:N`)", "",
                "10 nodes, ForMachine, and the floor relay on the same bytes, run one after the "
                "other, the order swapped every other pair: what writing into the page cache "
                "costs moves with the machine's state during a run, and each pair sees one "
                "state.", ""]
        rows = [[p["pair"] + 1, "daemon" if p["daemon_first"] else "floor",
                 f"{p['daemon_rate']:,.0f}", f"{p['daemon_cpu_per_m']:.2f}",
                 f"{p['floor_rate']:,.0f}", f"{p['floor_cpu_per_m']:.2f}",
                 f"{p['daemon_cpu_per_m'] / p['floor_cpu_per_m']:.2f}×",
                 f"{p['daemon_rate'] / p['floor_rate']:.2f}×", p["check"]] for p in pairs]
        out += table(["pair", "first", "daemon objects/s", "daemon CPU-s per million",
                      "floor objects/s", "floor CPU-s per million", "CPU ratio",
                      "throughput ratio", "daemon's output"], rows)
    if run.gbench:
        rows = []
        for program, b in run.gbench:
            counters = ", ".join(f"{k} {v:,.4g}" for k, v in b.items()
                                 if k not in GBENCH_FIELDS and isinstance(v, (int, float)))
            rows.append([program, b.get("run_name", b["name"]),
                         f"{to_us(b['real_time'], b.get('time_unit', 'ns')):,.2f} µs",
                         counters or "–"])
        out += ["", "### Micro-benchmarks (Google Benchmark; median of 3 where repeated)", ""]
        out += table(["program", "benchmark", "time", "counters"], rows)
    scrapes = run.all("scrape")
    if scrapes:
        out += ["", "### Scrape under load (10 nodes × 500 EKG metrics, 50,000 objects/s each; "
                "keep-alive client)", ""]
        out += table(["route", "requests", "body", "p50", "p99", "max", "first byte p50 / p99"],
                     [[f"`{s['route']}`", s["requests"], f"{s['bytes']:,} B",
                       f"{s['p50_ms']:.2f} ms", f"{s['p99_ms']:.2f} ms", f"{s['max_ms']:.2f} ms",
                       f"{s['first_p50_ms']:.2f} / {s['first_p99_ms']:.2f} ms"] for s in scrapes])
        server, probe = run.one("scrape_server"), run.one("scrape_probe")
        nodes = run.one("scrape_nodes")
        out.append("")
        if server:
            out.append(f"- The server's own histogram: p50 ≤ {server['p50_ms']:g} ms, "
                       f"p99 ≤ {server['p99_ms']:g} ms ({server['requests']} requests).")
        if probe:
            out.append(f"- Meanwhile {probe_words(probe)}.")
        if nodes:
            out.append(f"- The nodes handed over {nodes['sent']:,} objects, overflow drops "
                       f"{nodes['drops']}.")
    scaling = sorted(run.all("scaling"), key=lambda r: r["nodes"])
    if scaling:
        ten = run.one("scaling", nodes=10)
        out += ["", "### Scaling (`bench/scaling.py`): the same total load over 1–1000 "
                "connections", ""]
        out += table(["connections", "objects/s received", "CPU-s per million",
                      "vs 10 connections", "objects per reply", "CPU-µs per reply",
                      "CPU", "RSS median / peak", "fds"],
                     [[r["nodes"], f"{r['rate']:,.0f}", num(r["cpu_per_m"], ".2f"),
                       num(ratio(r, ten, "cpu_per_m") if ten and r["cpu_per_m"] else None,
                           ".2f", "×"),
                       num(r.get("objects_per_reply"), ".1f"),
                       num(r.get("cpu_us_per_reply"), ".1f"),
                       f"{r['cpu_pct']:.1f} %", f"{r['rss_median']:.1f} / {r['rss']:.1f} MiB",
                       r["fds"]] for r in scaling])
        idle = run.one("scaling_idle")
        if idle:
            out += ["", f"1000 idle nodes, EKG polled every second, `/metrics` scraped every "
                    f"15 s: {idle['cpu_pct']:.1f} % of one core, RSS {idle['rss']:.1f} MiB "
                    f"({(idle['rss'] - idle['base_rss']) * 1024 / 1000:.0f} KiB per node), "
                    f"{idle['fds']} fds."]
    turn = run.all("turnaround")
    if turn:
        out += ["", "### Turnaround and node-side drops (`bench/turnaround.py`)", ""]
        out += table(["nodes × objects/s", "handed over", "drops", "generator late",
                      "node-side wait p50 / p99 / p99.9 / max", "daemon turnaround p99.9",
                      "machine: wake-ups > 1 ms late"],
                     [[f"{t['nodes']} × {t['rate']:,}" + (" + queries" if t["queries"] else ""),
                       f"{t['sent_per_s']:,.0f}/s", f"{t['drops']} ({t['drop_pct']:.3f} %)",
                       t["late"], f"{t['wait_p50']} / {t['wait_p99']} / {t['wait_p999']} / "
                       f"{t['wait_max']} µs", f"≤ {num(t['daemon_p999_us'], '.0f', ' µs')}",
                       f"{t['probe']['late_1ms']} of {t['probe']['wakeups']}"] for t in turn])
        alone = run.one("turnaround_alone")
        if alone:
            out += ["", f"The machine alone, before: {probe_words(alone)}."]
    rot = run.one("rotation")
    if rot:
        out += ["", "### Rotation under load (`bench/rotation_load.py`)", "",
                f"{rot['seconds']} s, 10 nodes at full speed, 10 MB files checked every second: "
                f"{rot['objects']:,} objects in {rot['files']} files, node drops {rot['drops']}, "
                f"{rot['problem'] or 'every (node, seq) exactly once, no partial line'}."]
        if rot.get("rotations"):
            out.append(f"Write rate per 100 ms: median {rot['steady_median_mb']:.1f} MB without "
                       f"a rotation; in the {rot['rotations']} intervals with one: median "
                       f"{rot['rotating_median_mb']:.1f} MB, lowest {rot['rotating_min_mb']:.1f} "
                       f"MB.")
    slow = run.all("slow_disk")
    if slow:
        out += ["", "### A disk slower than the nodes (`bench/slow_disk.py`: the writer at "
                "SCHED_IDLE, 10 nodes)", ""]
        out += table(["output queue", "peak RSS", "node drops", "on disk"],
                     [["default (4 MiB)" if s["queue_bytes"] == 0 else
                       f"outputQueueBytes {s['queue_bytes']:,}", f"{s['peak_rss']:.1f} MiB",
                       s["drops"], "every object" if s["lines"] >= s["want"] else
                       f"{s['lines']:,} of {s['want']:,}"] for s in slow])
    threads = run.all("thread_cpu")
    if threads:
        out += ["", "### CPU per thread role (`bench/thread_cpu.py`, CPU-s per million objects, "
                "10 nodes, ForMachine)", ""]
        out += table(["build", "rounds", "connections user", "connections system",
                      "writer user", "writer system", "total"],
                     [[t["build"], t["rounds"], f"{t['io_user']:.3f}", f"{t['io_sys']:.3f}",
                       f"{t['writer_user']:.3f}", f"{t['writer_sys']:.3f}",
                       f"{t['total']:.3f}"] for t in threads])
    reload_ = run.one("reload")
    if reload_:
        out += ["", "### Reload with 1000 connected nodes (`bench/reload_bench.py`)", "",
                f"{reload_['reloads']} reloads: SIGHUP → READY=1 median "
                f"{reload_['median_ms']:.1f} ms, max {reload_['max_ms']:.1f} ms; the daemon's "
                f"own reload time median {reload_['own_median_ms']:.1f} ms; node requests "
                f"turned around in > 10 ms during the reloads: {reload_['slow_during']}, in the "
                f"second after each: {reload_['slow_after']} of {reload_['turned']}."]
    e2e = run.one("end_to_end")
    if e2e:
        out += ["", "### End to end with the encoding generator (5 nodes × 45,000 objects, "
                "ForMachine + ForHuman)", "",
                f"{e2e['objects']:,} objects on disk of {e2e['expected']:,}; "
                f"{e2e['seconds']:.2f} s; {e2e['rate']:,.0f} objects/s (the generator, which "
                f"encodes every object, is the bottleneck here)."]
    return out


GBENCH_FIELDS = {"family_index", "per_family_instance_index", "repetitions", "repetition_index",
                 "threads", "iterations", "real_time", "cpu_time", "aggregate_unit"}


# What the 64 KiB floor relay needs on this machine on a quiet day (CPU-s per million objects,
# 10 nodes; docs/benchmarks.md, 7 December, seventh stop). The floor only moves bytes from a
# socket into the page cache, so its figure in a run says how costly that was in the run.
QUIET_FLOOR = (0.30, 0.35)
# Above the quiet range by more than this factor, the run is called slow: the floor's own
# run-to-run spread on a quiet day stays within it.
SLOW_FACTOR = 1.25


def machine_state(run):
    """A paragraph on the machine's state in this run: the floor relay's CPU per object against
    a quiet day's, and the wake-up probe with nothing else running."""
    floors = [r["cpu_per_m"] for r in run.all("ingest") if r.get("scenario") == "floor64k"]
    floors += [p["floor_cpu_per_m"] for p in run.all("ingest_pair")]
    alone = run.one("turnaround_alone")
    if not floors and not alone:
        return []
    words = []
    if floors:
        med = statistics.median(floors)
        slow = med > QUIET_FLOOR[1] * SLOW_FACTOR
        words.append(
            f"The 64 KiB floor relay needed {med:.2f} CPU-s per million objects (median of "
            f"{len(floors)} run(s), {min(floors):.2f}–{max(floors):.2f}); on a quiet day it "
            f"needs {QUIET_FLOOR[0]:.2f}–{QUIET_FLOOR[1]:.2f}. " +
            ("Writing into the page cache was slow in this run, and the absolute figures below "
             "moved with it; the ratios to the floor compare like with like."
             if slow else "Writing into the page cache cost what it does on a quiet day."))
    if alone:
        words.append(f"With nothing else running, {probe_words(alone)}.")
    return ["**The machine during this run.** " + " ".join(words), ""]


def probe_words(p):
    return (f"a sleeping thread was woken more than 1 ms late {p['late_1ms']} times of "
            f"{p['wakeups']} (max {p['max_late_us']:.0f} µs)")


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} × {model}, Linux {platform.release()}"


def commit():
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(run, command):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["## Latest run of `scripts/bench.sh`", "",
           f"{now}, commit `{commit()}`, {machine()}. Command: `{command}`. Written by "
           "`bench/report.py`; the sections after this one are the hand-written history.",
           "", "### Issue 12's targets in this run", "",
           "Each ratio is taken against a baseline measured in the same run; a target is met "
           "only when it holds against every baseline it names.", ""]
    out += machine_state(run)
    out += targets(run) or ["No figure for a target was recorded."]
    out += sections(run)
    return out


def write(doc, lines):
    """Puts the report between the markers of `doc` (after the first paragraph block that
    precedes the first `## ` heading, the first time)."""
    block = BEGIN + "\n" + "\n".join(lines) + "\n" + END + "\n"
    text = "# Benchmarks\n\n"
    if os.path.exists(doc):
        with open(doc) as f:
            text = f.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + "\n" + rest.split(END, 1)[1].lstrip("\n")
    else:
        at = text.find("\n## ")
        at = len(text) if at < 0 else at + 1
        text = text[:at] + block + "\n" + text[at:]
    with open(doc, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("record")
    p.add_argument("--gbench", nargs="*", default=[])
    p.add_argument("--write")
    p.add_argument("--command", default="./scripts/bench.sh")
    a = p.parse_args()
    lines = report(Run(a.record, a.gbench), a.command)
    print("\n".join(lines))
    if a.write:
        write(a.write, lines)
        print(f"(the report was written into {a.write})", file=sys.stderr)


if __name__ == "__main__":
    main()
