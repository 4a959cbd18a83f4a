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

Then 5 nodes again, with and without heavy timeseries queries sent back to back the whole
time (issue 13: a query must not move a node's turnaround).

Beside every run, and once alone first, bench/wakeup_probe sleeps in a loop and counts the
wake-ups this machine delivered more than 1.92 ms late (the time a 192-object queue lasts at
100,000 objects/s): a process not run for that long drops objects whatever the collector does.

usage: turnaround.py BUILD_DIR [SECONDS] [RATE]
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from benchlib import free_port, probe_text, record, scrape, stop


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


def heavy_queries(port, stop_event, counts):
    # 18 M one-millisecond samples each: every query runs until its 5 s bound.
    body = urllib.parse.urlencode(
        {"query": "cardano_node_metrics_served_header_counter[now - 5h; now : 1ms]"}).encode()
    while not stop_event.is_set():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/timeseries/query", body, timeout=30)
        except urllib.error.HTTPError as e:  # a 400 at the bound is the expected answer
            answer = e.read().decode()
            if "timeseriesQueryTimeoutSecs" in answer:
                counts[0] += 1
            else:  # not (yet) heavy: the metric has not arrived
                time.sleep(0.2)
        except OSError:
            time.sleep(0.2)


def run(build, nodes, rate, seconds, queries=False):
    work = tempfile.mkdtemp(prefix="turnaround-")
    prom = free_port()
    ts = free_port()
    timeseries = f"""hasTimeseries: {{ epHost: 127.0.0.1, epPort: {ts} }}
ekgRequestFreq: 1
timeseriesQueryMaxSteps: 1000000000
timeseriesQueryMaxPoints: 1000000000
timeseriesQueryTimeoutSecs: 5
""" if queries else ""
    with open(f"{work}/t.yaml", "w") as f:
        f.write(f"""networkMagic: 42
network: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}
hasPrometheus: {{ epHost: 127.0.0.1, epPort: {prom} }}
logging:
- {{ logRoot: "{work}/logs", logMode: FileMode, logFormat: ForMachine }}
rotation: {{ rpFrequencySecs: 10, rpLogLimitBytes: 100000000, rpMaxAgeHours: 1, rpKeepFilesNum: 1 }}
{timeseries}""")
    tracer = subprocess.Popen([f"{build}/cardano-tracer", "-c", f"{work}/t.yaml"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(f"{work}/tracer.sock"):
                break
            time.sleep(0.05)
        stop_event, counts = threading.Event(), [0]
        probe = subprocess.Popen([f"{build}/wakeup_probe", str(seconds)], stdout=subprocess.PIPE)
        if queries:
            threading.Thread(target=heavy_queries, args=(ts, stop_event, counts),
                             daemon=True).start()
        out = subprocess.run(
            [f"{build}/trace-forwarder", "--connect", f"{work}/tracer.sock", "--network-magic",
             "42", "--nodes", str(nodes), "--replay", "--rate", str(rate), "--duration",
             str(seconds), "--metrics", "12"],
            capture_output=True, check=True, timeout=seconds + 60).stdout
        stop_event.set()
        summary = json.loads(out)
        summary["queries"] = counts[0]
        summary["probe"] = json.loads(probe.communicate(timeout=30)[0])
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
    alone = json.loads(subprocess.run([f"{build}/wakeup_probe", str(seconds)],
                                      capture_output=True, check=True).stdout)
    print(f"the machine alone: {probe_text(alone)}", flush=True)
    record("turnaround_alone", **alone)
    runs = [(1, False), (5, False), (10, False), (5, False), (5, True)]
    for nodes, queries in runs:
        s, daemon = run(build, nodes, rate, seconds, queries)
        if queries:
            print(f"    the run above with heavy timeseries queries back to back "
                  f"({s['queries']} queries ran to their 5 s bound):")
        sent = sum(n["sent"] for n in s["nodes"])
        drops = sum(n["overflow_drops"] for n in s["nodes"])
        late = sum(n.get("late_skipped", 0) for n in s["nodes"])
        w = s.get("request_wait_us", {})
        print(f"{nodes:3} node(s) x {rate:,} obj/s: {sent / seconds:12,.0f} objects/s handed over; "
              f"drops {drops} ({100 * drops / max(sent, 1):.3f} %); generator late {late}; "
              f"node-side wait p50/p99/p99.9/max {w.get('p50')}/{w.get('p99')}/{w.get('p999')}/"
              f"{w.get('max')} us; daemon turnaround p99.9 <= "
              f"{daemon * 1e6 if daemon is not None else float('nan'):.0f} us", flush=True)
        print(f"    beside it: {probe_text(s['probe'])}", flush=True)
        record("turnaround", nodes=nodes, rate=rate, queries=queries, sent_per_s=sent / seconds,
               drops=drops, drop_pct=100 * drops / max(sent, 1), late=late,
               wait_p50=w.get("p50"), wait_p99=w.get("p99"), wait_p999=w.get("p999"),
               wait_max=w.get("max"),
               daemon_p999_us=daemon * 1e6 if daemon is not None else None, probe=s["probe"])


if __name__ == "__main__":
    main()
