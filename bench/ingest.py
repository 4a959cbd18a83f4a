#!/usr/bin/env python3
"""Ingest benchmark (issue 12, part a): how fast the daemon takes trace objects to disk, side by
side with two baselines on the same bytes in the same run.

Simulated nodes replay pre-encoded objects (trace-forwarder --replay), so the generator costs
little and the daemon is what is measured. For each scenario: objects/s (generator start to the
daemon's last write), the daemon's CPU-seconds per million objects (from /proc, the daemon
alone), its peak RSS, syscalls per object (perf's raw_syscalls tracepoint, when perf works here),
the generator's own CPU per object, the node-side overflow drops; the files are verified: every
(node, seq) exactly once and in order, no partial line.

Baselines (10 nodes, the ForMachine scenario's bytes):
  floor    bench/floor_relay: the same protocol bytes from the same generator, socket to file,
           nothing parsed (64 KiB reads, 1 MiB writes)
  floor64k the same relay writing 64 KiB at a time (steady on a VM whose large writes are
           sometimes slowed by the host; see floor_relay.cpp)
  rsyslog  Debian's rsyslogd (imptcp -> omfile, raw message template) fed the daemon's own
           ForMachine lines over 10 TCP connections

usage: ingest.py BUILD_DIR [OBJECTS_PER_NODE | total=OBJECTS] [SCENARIO ...]
       ingest.py --smoke BUILD_DIR      (CI: 2 nodes x 20000, fails only on errors or losses)
  scenario: NODES:SECTIONS with SECTIONS one of machine, human, both, rules; or floor, floor64k,
            rsyslog; or pairs:N
  pairs:N   10:machine and floor64k run alternately N times (the order swapped every other
            pair), each pair's ratios recorded: the cost of writing into the page cache moves
            severalfold with the machine's state over a run, so one run of each can compare
            two states rather than two programs
  default: 1:machine 10:machine floor floor64k rsyslog 10:human 10:both 10:rules, 200000 per
           node
  total=2000000: every scenario sends 2 M objects in all (1 node: 2 M; 10 nodes: 200,000 each)
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import count_lines, free_port, proc_stat, record, start_listening, wait_quiet
from report import ingest_table

SEQ = re.compile(rb'"node":"([^"]*)".*"seq": *(\d+)')

SECTIONS = {
    "machine": "- { logRoot: LOGS, logMode: FileMode, logFormat: ForMachine }\n",
    "human": "- { logRoot: LOGS, logMode: FileMode, logFormat: ForHuman }\n",
    "both": "- { logRoot: LOGS, logMode: FileMode, logFormat: ForMachine }\n"
            "- { logRoot: LOGS, logMode: FileMode, logFormat: ForHuman }\n",
    # A realistic rule set: the mainnet severities, one limited namespace, a warnings section.
    "rules": "- { logRoot: LOGS, logMode: FileMode, logFormat: ForMachine }\n"
             "- { logRoot: LOGS-warn, logMode: FileMode, logFormat: ForHuman,\n"
             "    TraceOptions: { \"\": { severity: Warning } } }\n",
}
RULES = ('TraceOptions:\n  "": { severity: Debug }\n  ChainDB: { severity: Info }\n'
         '  Net: { severity: Info }\n  Mempool: { severity: Info, maxFrequency: 100000 }\n')


class SyscallCounter:
    """Counts a process's syscalls with perf's raw_syscalls:sys_enter tracepoint (no ptrace, so
    the process runs at full speed); None when perf is missing or not permitted."""

    enabled = True

    def __init__(self, pid):
        self.proc, self.out = None, tempfile.mktemp(prefix="perf-")
        if not SyscallCounter.enabled or shutil.which("perf") is None:
            return
        self.proc = subprocess.Popen(["perf", "stat", "-x,", "-o", self.out, "-e",
                                      "raw_syscalls:sys_enter", "-p", str(pid)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # attached before the load starts
        if self.proc.poll() is not None:
            self.proc = None

    def stop(self):
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait()
        try:
            with open(self.out) as f:
                for line in f:
                    parts = line.split(",")
                    if len(parts) > 2 and parts[2].startswith("raw_syscalls"):
                        return int(parts[0]) if parts[0].isdigit() else None
        finally:
            if os.path.exists(self.out):
                os.unlink(self.out)
        return None


def verify(logs, nodes, per_node, complete=True):
    """Every (node, seq) exactly once and in order in the ForMachine files; no partial line.
    complete=False (rules that filter): a strictly increasing subset of 1..per_node."""
    seqs = {}
    for f in sorted(glob.glob(f"{logs}/*/node-*.json")):
        with open(f, "rb") as fh:
            data = fh.read()
        if data and not data.endswith(b"\n"):
            return f"{f}: last line is partial"
        for line in data.splitlines():
            m = SEQ.search(line)
            if not m:
                return f"{f}: a line without node/seq"
            seqs.setdefault(m.group(1), []).append(int(m.group(2)))
    if len(seqs) != nodes:
        return f"{len(seqs)} nodes on disk, expected {nodes}"
    for node, s in seqs.items():
        if complete and s != list(range(1, per_node + 1)):
            return f"{node.decode()}: {len(s)} objects, not 1..{per_node} in order"
        if not complete and (any(b <= a for a, b in zip(s, s[1:])) or s[-1] > per_node):
            return f"{node.decode()}: duplicated or out of order"
    return "ok" if complete else f"ok ({sum(len(s) for s in seqs.values()):,} passed the rules)"


def generator(build, target, nodes, per_node, extra=()):
    return subprocess.run([f"{build}/trace-forwarder", "--connect", target, "--network-magic",
                           "42", "--nodes", str(nodes), "--count", str(per_node), "--replay",
                           *extra], capture_output=True, check=True)


def gen_figures(gen, total):
    """The generator's CPU per object (ns: all, and its own work in user space) and the
    node-side drops."""
    summary = json.loads(gen.stdout)
    return ({"gen_ns": summary["cpu_seconds"] / total * 1e9,
             "gen_user_ns": summary["user_cpu_seconds"] / total * 1e9},
            sum(n["overflow_drops"] for n in summary["nodes"]))


def run_daemon(build, nodes, sections, per_node, keep_lines_in=None):
    work = tempfile.mkdtemp(prefix="ingest-")
    logs = f"{work}/logs"
    cfg = f"{work}/t.yaml"
    with open(cfg, "w") as f:
        f.write(f'networkMagic: 42\nnetwork: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}\n')
        if sections == "rules":
            f.write(RULES)
        # Experiments: extra top-level keys, e.g. CT_BENCH_CONFIG='ioThreads: 1'.
        f.write(os.environ.get("CT_BENCH_CONFIG", "") + "\n")
        f.write("logging:\n" + SECTIONS[sections].replace("LOGS", logs))
    tracer = start_listening([f"{build}/cardano-tracer", "-c", cfg], f"{work}/tracer.sock",
                             "the daemon")
    try:
        counter = SyscallCounter(tracer.pid)
        cpu0, _ = proc_stat(tracer.pid)
        t0 = time.monotonic()
        gen = generator(build, f"{work}/tracer.sock", nodes, per_node)
        total = nodes * per_node
        t1, peak = wait_quiet(tracer.pid)
        cpu1, _ = proc_stat(tracer.pid)
        syscalls = counter.stop()
        gen_cpu, drops = gen_figures(gen, total)
        check = (verify(logs, nodes, per_node, sections != "rules")
                 if sections != "human" else
                 ("ok (line count)" if count_lines(f"{logs}/*/node-*.log") >= total
                  else "lines missing"))
        if keep_lines_in is not None:
            for f in sorted(glob.glob(f"{logs}/*/node-*.json")):
                keep_lines_in.append(f)
            keep_lines_in.append(work)  # the caller removes it
            work = None
        return {"name": f"{nodes} node(s), {sections}", "objects": total,
                "rate": total / (t1 - t0), "cpu_per_m": (cpu1 - cpu0) / total * 1e6,
                "rss": peak, "syscalls": None if syscalls is None else syscalls / total,
                **gen_cpu, "drops": drops, "check": check}
    finally:
        tracer.terminate()
        tracer.wait()
        if work:
            shutil.rmtree(work, ignore_errors=True)


def run_floor(build, nodes, per_node, write_bytes=1 << 20):
    work = tempfile.mkdtemp(prefix="floor-")
    try:
        relay = subprocess.Popen([f"{build}/floor_relay", f"{work}/floor.sock", f"{work}/out",
                                  str(nodes), "42", "32768", str(write_bytes)],
                                 stdout=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.exists(f"{work}/floor.sock"):
            if time.monotonic() > deadline or relay.poll() is not None:
                sys.exit("the floor relay did not start")
            time.sleep(0.01)
        counter = SyscallCounter(relay.pid)
        t0 = time.monotonic()
        gen = generator(build, f"{work}/floor.sock", nodes, per_node, ["--no-node-info"])
        syscalls = counter.stop()
        out, _ = relay.communicate(timeout=120)
        t1 = time.monotonic()
        figures = json.loads(out)
        total = nodes * per_node
        gen_cpu, drops = gen_figures(gen, total)
        writes = "1 MiB" if write_bytes == 1 << 20 else f"{write_bytes // 1024} KiB"
        return {"name": f"floor relay, {writes}", "objects": total, "rate": total / (t1 - t0),
                "cpu_per_m": figures["cpu_seconds"] / total * 1e6, "rss": None,
                "syscalls": None if syscalls is None else syscalls / total, **gen_cpu,
                "drops": drops, "check": f"{figures['bytes']:,} bytes relayed"}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_rsyslog(files):
    """Debian's rsyslogd fed the given line files, one TCP connection per file."""
    rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not os.path.exists(rsyslogd):
        return None
    work = tempfile.mkdtemp(prefix="rsyslog-")
    port = free_port()
    with open(f"{work}/rsyslog.conf", "w") as f:
        f.write(f'''global(workDirectory="{work}" maxMessageSize="64k")
module(load="imptcp")
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="bench") {{
  action(type="omfile" file="{work}/out.log" template="raw" ioBufferSize="1m")
}}
input(type="imptcp" port="{port}" address="127.0.0.1" ruleset="bench")
''')
    daemon = subprocess.Popen([rsyslogd, "-n", "-f", f"{work}/rsyslog.conf", "-i",
                               f"{work}/rsyslog.pid"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or daemon.poll() is not None:
                    return None
                time.sleep(0.05)
        data = []
        for path in files:
            with open(path, "rb") as fh:
                data.append(fh.read())
        total_bytes = sum(len(d) for d in data)
        total = sum(d.count(b"\n") for d in data)
        counter = SyscallCounter(daemon.pid)
        cpu0, _ = proc_stat(daemon.pid)
        t0 = time.monotonic()

        def send(d):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(d)

        threads = [threading.Thread(target=send, args=(d,)) for d in data]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t1, peak = wait_quiet(daemon.pid, expected_bytes=total_bytes)
        cpu1, _ = proc_stat(daemon.pid)
        syscalls = counter.stop()
        lines = count_lines(f"{work}/out.log")
        return {"name": f"rsyslog, {len(files)} connections", "objects": total,
                "rate": total / (t1 - t0), "cpu_per_m": (cpu1 - cpu0) / total * 1e6,
                "rss": peak, "syscalls": None if syscalls is None else syscalls / total,
                "gen_ns": None, "gen_user_ns": None, "drops": 0,
                "check": "ok" if lines == total else f"{lines} of {total} lines"}
    finally:
        daemon.terminate()
        daemon.wait()
        shutil.rmtree(work, ignore_errors=True)


def run_pairs(build, per_node, n):
    """10:machine beside floor64k, alternately, n times; one record per pair."""
    for i in range(n):
        runs = {}
        for which in (("daemon", "floor") if i % 2 == 0 else ("floor", "daemon")):
            runs[which] = (run_daemon(build, 10, "machine", per_node) if which == "daemon"
                           else run_floor(build, 10, per_node, 64 * 1024))
            show(runs[which])
        d, f = runs["daemon"], runs["floor"]
        pair = {"pair": i, "daemon_first": i % 2 == 0,
                "daemon_cpu_per_m": d["cpu_per_m"], "daemon_rate": d["rate"],
                "floor_cpu_per_m": f["cpu_per_m"], "floor_rate": f["rate"],
                "check": d["check"], "drops": d["drops"] + f["drops"]}
        record("ingest_pair", **pair)
        print(f"pair {i + 1}: CPU {d['cpu_per_m'] / f['cpu_per_m']:.2f}× the 64 KiB floor's, "
              f"throughput {d['rate'] / f['rate']:.2f}×", flush=True)


def show(r):
    def opt(v, fmt):
        return "n/a" if v is None else format(v, fmt)
    print(f"{r['name']:28}: {r['rate']:11,.0f} objects/s; {r['cpu_per_m']:5.2f} CPU-s per million; "
          f"peak RSS {opt(r['rss'], '6.1f')} MiB; syscalls/object {opt(r['syscalls'], '.4f')}; "
          f"generator {opt(r['gen_ns'], '.0f')} ns/object ({opt(r['gen_user_ns'], '.0f')} user); "
          f"node drops {r['drops']}; "
          f"{r['check']}", flush=True)


def main():
    if sys.argv[1] == "--smoke":
        # CI: errors and lost objects fail; timing never does (and perf is not needed).
        SyscallCounter.enabled = False
        r = run_daemon(sys.argv[2], 2, "both", 20000)
        show(r)
        print("\n".join(ingest_table([r])))  # the report's table, from a real run
        sys.exit(0 if r["check"] == "ok" and r["drops"] == 0 else 1)
    build = sys.argv[1]
    count = sys.argv[2] if len(sys.argv) > 2 else "200000"
    if count.startswith("total="):
        total = int(count[len("total="):])
        def objects(nodes):
            return total // nodes
    else:
        def objects(nodes):
            return int(count)
    scenarios = sys.argv[3:] or ["1:machine", "10:machine", "floor", "floor64k", "rsyslog",
                                 "10:human", "10:both", "10:rules"]
    results, lines = {}, []
    try:
        for s in scenarios:
            if s.startswith("pairs:"):
                run_pairs(build, objects(10), int(s.split(":")[1]))
                continue
            if s == "floor":
                results[s] = run_floor(build, 10, objects(10))
            elif s == "floor64k":
                results[s] = run_floor(build, 10, objects(10), 64 * 1024)
            elif s == "rsyslog":
                if not lines:
                    run_daemon(build, 10, "machine", objects(10), keep_lines_in=lines)
                results[s] = run_rsyslog(lines[:-1])
                if results[s] is None:
                    del results[s]
                    print("rsyslog: rsyslogd not available (apt-get install rsyslog)")
                    continue
            else:
                n, sec = s.split(":")
                results[s] = run_daemon(build, int(n), sec, objects(int(n)),
                                        keep_lines_in=lines if s == "10:machine" else None)
            results[s]["scenario"] = s
            show(results[s])
            record("ingest", **results[s])
    finally:
        if lines:
            shutil.rmtree(lines[-1], ignore_errors=True)
    # Every figure beside its ratio to each baseline of the same run.
    if results:
        print()
        print("\n".join(ingest_table(list(results.values()))))


if __name__ == "__main__":
    main()
