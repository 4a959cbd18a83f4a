#!/usr/bin/env python3
"""Scaling (issue 12, part d): the same total load spread over 1, 10, 100 and 1000 connections,
and 1000 idle nodes whose EKG metrics are polled every second.

For each connection count the replaying simulated nodes send TOTAL objects/s between them
(ForMachine files, EKG polled every second, Prometheus scraped every second); after a warm-up
the daemon's CPU (from /proc), objects received (its own counter), RSS and open file
descriptors are sampled for SECONDS. Prints CPU-seconds per million objects (and its ratio to
10 connections'), throughput, RSS per extra node against 1 connection (the median of the
samples, what a node costs while the load runs, and the peak, which includes the connection
storm until the daemon gives that memory back), and fds.

usage: scaling.py BUILD_DIR [SECONDS] [TOTAL_OBJECTS_PER_S]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, metric, proc_stat, record, scrape, stop


def proc(pid):
    cpu, rss = proc_stat(pid)
    return cpu, rss, len(os.listdir(f"/proc/{pid}/fd"))


def run(build, nodes, rate, seconds, scrape_every=1):
    """rate: objects/s per node (0: idle nodes, metrics only); /metrics is scraped every
    scrape_every seconds."""
    work = tempfile.mkdtemp(prefix="scaling-")
    prom, ekg = free_port(), free_port()
    with open(f"{work}/t.yaml", "w") as f:
        f.write(f"""networkMagic: 42
network: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}
hasPrometheus: {{ epHost: 127.0.0.1, epPort: {prom} }}
hasEKG: {{ epHost: 127.0.0.1, epPort: {ekg} }}
ekgRequestFreq: 1
maxConnections: {nodes + 100}
logging:
- {{ logRoot: "{work}/logs", logMode: FileMode, logFormat: ForMachine }}
rotation: {{ rpFrequencySecs: 10, rpLogLimitBytes: 50000000, rpMaxAgeHours: 1, rpKeepFilesNum: 1 }}
""")
    tracer = subprocess.Popen([f"{build}/cardano-tracer", "-c", f"{work}/t.yaml"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fwd = None
    try:
        for _ in range(200):
            if os.path.exists(f"{work}/tracer.sock"):
                break
            time.sleep(0.05)
        _, base_rss, _ = proc(tracer.pid)
        args = [f"{build}/trace-forwarder", "--connect", f"{work}/tracer.sock",
                "--network-magic", "42", "--nodes", str(nodes), "--replay",
                "--duration", str(seconds + 60)]
        args += ["--rate", str(rate)] if rate > 0 else ["--rate", "0.001"]
        fwd = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while (metric(scrape(prom), "cardano_tracer_connected_nodes") or 0) < nodes:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(3)  # warm-up: names resolved, files open
        cpu0, _, _ = proc(tracer.pid)
        t0 = time.monotonic()
        before = scrape(prom)
        recv0 = metric(before, "cardano_tracer_trace_objects_received_total") or 0
        replies0 = metric(before, "cardano_tracer_trace_replies_received_total") or 0
        samples, fds, tick = [], 0, 0
        while time.monotonic() - t0 < seconds:
            if tick % scrape_every == 0:
                scrape(prom, "/metrics")
            tick += 1
            _, rss, fds = proc(tracer.pid)
            samples.append(rss)
            time.sleep(1)
        cpu1, _, _ = proc(tracer.pid)
        t1 = time.monotonic()
        after = scrape(prom)
        recv1 = metric(after, "cardano_tracer_trace_objects_received_total") or 0
        replies1 = metric(after, "cardano_tracer_trace_replies_received_total") or 0
        objs, replies = recv1 - recv0, replies1 - replies0
        return {"nodes": nodes, "rate": objs / (t1 - t0), "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
                "cpu_per_m": (cpu1 - cpu0) / objs * 1e6 if objs > 0 else None,
                # Each reply is a round trip (one request out, one reply in, its batch written):
                # nodes that send slowly bring one object per reply.
                "objects_per_reply": objs / replies if replies > 0 else None,
                "cpu_us_per_reply": (cpu1 - cpu0) / replies * 1e6 if replies > 0 else None,
                "rss": max(samples), "rss_median": statistics.median(samples),
                "base_rss": base_rss, "fds": fds}
    finally:
        stop(fwd, tracer)
        subprocess.run(["rm", "-rf", work])


def main():
    build = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    total = int(sys.argv[3]) if len(sys.argv) > 3 else 200000
    results = {}
    for n in (1, 10, 100, 1000):
        r = run(build, n, total / n, seconds)
        results[n] = r
        record("scaling", rate_per_node=total / n, **r)
        print(f"{n:5} connections x {total / n:9,.0f} obj/s: {r['rate']:9,.0f} objects/s received; "
              f"{r['cpu_per_m']:.2f} CPU-s per million; {r['objects_per_reply']:.1f} objects per "
              f"reply, {r['cpu_us_per_reply']:.1f} CPU-us per reply; CPU {r['cpu_pct']:5.1f} %; "
              f"RSS {r['rss_median']:6.1f} MiB median, {r['rss']:6.1f} peak; fds {r['fds']}", flush=True)
    base = results[1]
    for n in (10, 100, 1000):
        r = results[n]
        # Peak: what the connection storm and bursts reach before the daemon gives memory
        # back (every 5 s above 64 MiB); median: what a node costs while the load runs.
        print(f"{n:5} connections: CPU per object {r['cpu_per_m'] / results[10]['cpu_per_m']:.2f}x "
              f"10 connections', per reply "
              f"{r['cpu_us_per_reply'] / results[10]['cpu_us_per_reply']:.2f}x; RSS per extra node "
              f"{(r['rss_median'] - base['rss_median']) * 1024 / (n - 1):.0f} KiB median, "
              f"{(r['rss'] - base['rss']) * 1024 / (n - 1):.0f} KiB peak")
    # Idle: EKG polled every second as the issue says; /metrics scraped every 15 s, a usual
    # Prometheus interval (each scrape renders all 1000 nodes, ~2.8 MB).
    idle = run(build, 1000, 0, max(seconds, 30), scrape_every=15)
    print(f" 1000 idle nodes, EKG polled every second, /metrics scraped every 15 s: "
          f"CPU {idle['cpu_pct']:.1f} % of one core; "
          f"RSS {idle['rss']:.1f} MiB ({(idle['rss'] - idle['base_rss']) * 1024 / 1000:.0f} KiB "
          f"per node); fds {idle['fds']}", flush=True)
    record("scaling_idle", **idle)


if __name__ == "__main__":
    main()
