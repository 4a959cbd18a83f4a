#!/usr/bin/env python3
"""Sizing: CPU and memory of cardano-tracer per node and per object rate.

For each scenario (nodes x objects/s per node), starts the daemon (ForMachine files, rotation,
Prometheus and EKG endpoints scraped every second), lets simulated nodes stream for a while and
reads the daemon's CPU time and resident memory from /proc. Prints one line per scenario.

usage: sizing.py BUILD_DIR [SECONDS] [SCENARIO ...]   (scenario: NODESxRATE, e.g. 100x20)
"""
import os
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, metric, proc_stat, scrape, stop


def cpu_seconds(pid):
    return proc_stat(pid)[0]


def rss_mib(pid):
    return proc_stat(pid)[1]


def run(build, nodes, rate, seconds):
    work = tempfile.mkdtemp(prefix="sizing-")
    prom, ekg = free_port(), free_port()
    cfg = os.path.join(work, "t.yaml")
    with open(cfg, "w") as f:
        f.write(f"""networkMagic: 42
network: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}
hasPrometheus: {{ epHost: 127.0.0.1, epPort: {prom} }}
hasEKG: {{ epHost: 127.0.0.1, epPort: {ekg} }}
maxConnections: {nodes + 100}
logging:
- {{ logRoot: "{work}/logs", logMode: FileMode, logFormat: ForMachine }}
rotation: {{ rpFrequencySecs: 10, rpLogLimitBytes: 20000000, rpMaxAgeHours: 1, rpKeepFilesNum: 2 }}
""")
    out = open(os.path.join(work, "tracer.out"), "w")
    tracer = subprocess.Popen([os.path.join(build, "cardano-tracer"), "-c", cfg],
                              stdout=out, stderr=subprocess.STDOUT)
    fwd = None
    try:
        for _ in range(200):
            if os.path.exists(f"{work}/tracer.sock"):
                break
            time.sleep(0.05)
        base_rss = rss_mib(tracer.pid)
        fwd = subprocess.Popen([os.path.join(build, "trace-forwarder"), "--connect",
                                f"{work}/tracer.sock", "--network-magic", "42", "--nodes",
                                str(nodes), "--rate", str(rate), "--duration",
                                str(seconds + 30)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while (metric(scrape(prom), "cardano_tracer_connected_nodes") or 0) < nodes:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(3)  # warm up: names resolved, files open
        cpu0, t0 = cpu_seconds(tracer.pid), time.monotonic()
        recv0 = metric(scrape(prom), "cardano_tracer_trace_objects_received_total") or 0
        peak = rss_mib(tracer.pid)
        while time.monotonic() - t0 < seconds:
            scrape(prom, "/metrics")       # one Prometheus scrape of every node per second
            scrape(ekg, "/")
            peak = max(peak, rss_mib(tracer.pid))
            time.sleep(1)
        cpu1, t1 = cpu_seconds(tracer.pid), time.monotonic()
        recv1 = metric(scrape(prom), "cardano_tracer_trace_objects_received_total") or 0
        cpu_pct = 100 * (cpu1 - cpu0) / (t1 - t0)
        objs = (recv1 - recv0) / (t1 - t0)
        print(f"{nodes:5} nodes x {rate:5} obj/s: {objs:9,.0f} objects/s received; "
              f"CPU {cpu_pct:5.1f} % of one core ({cpu_pct / max(objs, 1) * 1000:.2f} % per "
              f"1000 obj/s); RSS {peak:6.1f} MiB (idle {base_rss:.1f} MiB, "
              f"{(peak - base_rss) * 1024 / nodes:.0f} KiB per node)", flush=True)
    finally:
        stop(fwd, tracer)
        subprocess.run(["rm", "-rf", work])


def main():
    build = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    scenarios = sys.argv[3:] or ["10x100", "100x20", "1000x2", "10x2000"]
    for s in scenarios:
        n, r = s.split("x")
        run(build, int(n), float(r), seconds)


if __name__ == "__main__":
    main()
