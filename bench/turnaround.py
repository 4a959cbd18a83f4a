#!/usr/bin/env python3
"""Turnaround and node-side drops at a fixed rate per node (issue 12): the daemon must ask
for the next reply fast enough that a node's 192-object queue never overflows.

For 1, 5 and 10 nodes at RATE objects/s each (default 100,000), replaying simulated nodes
run for SECONDS; printed per run:
  - node-side overflow drops (the node empties its whole queue when it is full),
  - objects the generator did not make because it was itself late (a busy machine),
  - the node's view of the turnaround: reply handed to the socket -> next request (p50, p99,
    p99.9, max), which includes both sockets and the scheduling of both processes,
  - the daemon's own turnaround (reply read -> next request sent) p99.9, from its
    cardano_tracer_request_turnaround_seconds histogram (bucket bounds).

usage: turnaround.py BUILD_DIR [SECONDS] [RATE]
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, scrape, stop


def histogram_quantile(text, name, q):
    buckets = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket{"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    for bound, count in buckets:
        if count >= q * total:
            return bound
    return None


def run(build, nodes, rate, seconds):
    work = tempfile.mkdtemp(prefix="turnaround-")
    prom = free_port()
    with open(f"{work}/t.yaml", "w") as f:
        f.write(f"""networkMagic: 42
network: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}
hasPrometheus: {{ epHost: 127.0.0.1, epPort: {prom} }}
logging:
- {{ logRoot: "{work}/logs", logMode: FileMode, logFormat: ForMachine }}
rotation: {{ rpFrequencySecs: 10, rpLogLimitBytes: 100000000, rpMaxAgeHours: 1, rpKeepFilesNum: 1 }}
""")
    tracer = subprocess.Popen([f"{build}/cardano-tracer", "-c", f"{work}/t.yaml"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(f"{work}/tracer.sock"):
                break
            time.sleep(0.05)
        out = subprocess.run(
            [f"{build}/trace-forwarder", "--connect", f"{work}/tracer.sock", "--network-magic",
             "42", "--nodes", str(nodes), "--replay", "--rate", str(rate), "--duration",
             str(seconds)], capture_output=True, check=True, timeout=seconds + 60).stdout
        summary = json.loads(out)
        daemon_p999 = histogram_quantile(scrape(prom), "cardano_tracer_request_turnaround_seconds",
                                         0.999)
        return summary, daemon_p999
    finally:
        stop(tracer)
        subprocess.run(["rm", "-rf", work])


def main():
    build = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    rate = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    for nodes in (1, 5, 10):
        s, daemon = run(build, nodes, rate, seconds)
        sent = sum(n["sent"] for n in s["nodes"])
        drops = sum(n["overflow_drops"] for n in s["nodes"])
        late = sum(n.get("late_skipped", 0) for n in s["nodes"])
        w = s.get("request_wait_us", {})
        print(f"{nodes:3} node(s) x {rate:,} obj/s: {sent / seconds:12,.0f} objects/s handed over; "
              f"drops {drops} ({100 * drops / max(sent, 1):.3f} %); generator late {late}; "
              f"node-side wait p50/p99/p99.9/max {w.get('p50')}/{w.get('p99')}/{w.get('p999')}/"
              f"{w.get('max')} us; daemon turnaround p99.9 <= "
              f"{daemon * 1e6 if daemon is not None else float('nan'):.0f} us", flush=True)


if __name__ == "__main__":
    main()
