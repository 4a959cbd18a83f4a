#!/usr/bin/env python3
"""Ingest benchmark (issue 12, part a): how fast the daemon takes trace objects to disk.

Simulated nodes replay pre-encoded objects (trace-forwarder --replay), so the generator costs
little and the daemon is what is measured. For each scenario it prints objects/s (generator
start to the last line on disk), the daemon's CPU-seconds per million objects (from /proc,
the daemon alone), its peak RSS, the generator's own CPU per object, the node-side overflow
drops, and verifies the files: every (node, seq) exactly once and in order, no partial line.

usage: ingest.py BUILD_DIR [OBJECTS_PER_NODE] [SCENARIO ...]
  scenario: NODES:SECTIONS with SECTIONS one of machine, human, both, rules
  default: 1:machine 10:machine 10:human 10:both 10:rules, 200000 objects per node
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

TICKS = os.sysconf("SC_CLK_TCK")
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


def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024
    return cpu, rss


def count_lines(pattern):
    n = 0
    for f in glob.glob(pattern):
        with open(f, "rb") as fh:
            n += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return n


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


def run(build, nodes, sections, per_node):
    work = tempfile.mkdtemp(prefix="ingest-")
    logs = f"{work}/logs"
    cfg = f"{work}/t.yaml"
    with open(cfg, "w") as f:
        f.write(f'networkMagic: 42\nnetwork: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}\n')
        if sections == "rules":
            f.write(RULES)
        f.write("logging:\n" + SECTIONS[sections].replace("LOGS", logs))
    tracer = subprocess.Popen([f"{build}/cardano-tracer", "-c", cfg],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(f"{work}/tracer.sock"):
            if time.monotonic() > deadline or tracer.poll() is not None:
                sys.exit("the daemon did not start")
            time.sleep(0.01)
        cpu0, _ = proc_stat(tracer.pid)
        t0 = time.monotonic()
        gen = subprocess.run([f"{build}/trace-forwarder", "--connect", f"{work}/tracer.sock",
                              "--network-magic", "42", "--nodes", str(nodes), "--count",
                              str(per_node), "--replay"], capture_output=True, check=True)
        total = nodes * per_node
        pattern = f"{logs}/*/node-*.json" if sections != "human" else f"{logs}/*/node-*.log"
        peak = 0.0
        if sections == "rules":
            # Not everything passes: wait until the files stop growing.
            last, t1 = -1, time.monotonic()
            while True:
                n = count_lines(pattern)
                if n == last:
                    break
                last, t1 = n, time.monotonic()
                peak = max(peak, proc_stat(tracer.pid)[1])
                time.sleep(0.3)
        else:
            while count_lines(pattern) < total:
                peak = max(peak, proc_stat(tracer.pid)[1])
                time.sleep(0.05)
            t1 = time.monotonic()
        cpu1, rss = proc_stat(tracer.pid)
        peak = max(peak, rss)
        summary = json.loads(gen.stdout)
        drops = sum(n["overflow_drops"] for n in summary["nodes"])
        check = (verify(logs, nodes, per_node, sections != "rules")
                 if sections != "human" else "not checked (text)")
        print(f"{nodes:3} node(s) {sections:8}: {total / (t1 - t0):10,.0f} objects/s; daemon "
              f"{(cpu1 - cpu0) / total * 1e6:5.2f} CPU-s per million; peak RSS {peak:6.1f} MiB; "
              f"generator {summary['cpu_seconds'] / total * 1e9:5.0f} ns CPU per object; "
              f"node drops {drops}; files: {check}", flush=True)
    finally:
        tracer.terminate()
        tracer.wait()
        subprocess.run(["rm", "-rf", work])


def main():
    build = sys.argv[1]
    per_node = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    scenarios = sys.argv[3:] or ["1:machine", "10:machine", "10:human", "10:both", "10:rules"]
    for s in scenarios:
        n, sec = s.split(":")
        run(build, int(n), sec, per_node)


if __name__ == "__main__":
    main()
