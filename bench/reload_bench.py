#!/usr/bin/env python3
"""Reload latency with many connected nodes.

Starts cardano-tracer with a stub NOTIFY_SOCKET, connects N simulated nodes (one
trace-forwarder process, a few objects per second each), then sends SIGHUPs that alternate two
configurations (sections, rules and the EKG port change). For each reload it prints the time
from SIGHUP to READY=1 as systemd would see it, the daemon's own figure (ConfigReloaded's
seconds), and how many node requests were turned around in more than 10 ms while it ran
(from the daemon's cardano_tracer_request_turnaround_seconds histogram, scraped just before
the signal and just after READY=1).

usage: reload_bench.py BUILD_DIR [NODES] [RELOADS]
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, metric, record, scrape, stop


def slow_turnarounds(text):
    """Observations above 10 ms so far: +Inf bucket minus the le=0.01 bucket."""
    total = metric(text, "cardano_tracer_request_turnaround_seconds_bucket", '{le="+Inf"}')
    fast = metric(text, "cardano_tracer_request_turnaround_seconds_bucket", '{le="0.01"}')
    return (total or 0) - (fast or 0), total or 0


def main():
    build = sys.argv[1]
    nodes = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    reloads = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    work = tempfile.mkdtemp(prefix="reload-bench-")
    prom = free_port()
    ekg = [free_port(), free_port()]

    def config(which):
        sections = "- { logRoot: %s/logs, logMode: FileMode, logFormat: ForMachine }\n" % work
        if which == 1:
            sections += "- { logRoot: %s/human, logMode: FileMode, logFormat: ForHuman,\n" \
                        "    TraceOptions: { \"\": { severity: Warning } } }\n" % work
        rules = 'TraceOptions: { "": { severity: Debug } }\n' if which == 0 else \
            'TraceOptions: { "": { severity: Debug }, ChainDB: { severity: Info, maxFrequency: 50 } }\n'
        return (f"networkMagic: 42\n"
                f"network: {{ tag: AcceptAt, contents: \"{work}/tracer.sock\" }}\n"
                f"hasPrometheus: {{ epHost: 127.0.0.1, epPort: {prom} }}\n"
                f"hasEKG: {{ epHost: 127.0.0.1, epPort: {ekg[which]} }}\n"
                f"maxConnections: {nodes + 100}\n" + rules + "logging:\n" + sections)

    cfg_path = os.path.join(work, "tracer.yaml")
    with open(cfg_path, "w") as f:
        f.write(config(0))
    notify_path = os.path.join(work, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(10)

    def wait_for(state):
        while True:
            msg = notify.recv(4096).decode()
            if msg.split("\n")[0] == state:
                return time.monotonic()

    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    out = open(os.path.join(work, "tracer.out"), "w")
    tracer = subprocess.Popen([os.path.join(build, "cardano-tracer"), "-c", cfg_path],
                              stdout=out, stderr=subprocess.STDOUT, env=env)
    fwd = None
    try:
        wait_for("READY=1")
        fwd = subprocess.Popen([os.path.join(build, "trace-forwarder"), "--connect",
                                f"{work}/tracer.sock", "--network-magic", "42", "--nodes",
                                str(nodes), "--rate", "5", "--duration", "600", "--metrics", "5"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while metric(scrape(prom), "cardano_tracer_connected_nodes") != nodes:
            if time.monotonic() > deadline:
                sys.exit(f"only {metric(scrape(prom), 'cardano_tracer_connected_nodes')} of "
                         f"{nodes} nodes connected")
            time.sleep(0.2)
        time.sleep(2)  # let every node settle into its request cycle
        print(f"{nodes} nodes connected; {reloads} reloads alternating sections, rules and the "
              f"EKG port")
        # The same windows without a reload: what the machine does anyway.
        base_slow, base_total = 0, 0
        for _ in range(reloads):
            s0, t0_ = slow_turnarounds(scrape(prom))
            time.sleep(1.0)
            s1, t1_ = slow_turnarounds(scrape(prom))
            base_slow += s1 - s0
            base_total += t1_ - t0_
        print(f"  baseline, {reloads} seconds without a reload: turnarounds > 10 ms: "
              f"{int(base_slow)} of {int(base_total)}")
        wall, slow_total, slow_aftermath, turned = [], 0, 0, 0
        for i in range(1, reloads + 1):
            with open(cfg_path, "w") as f:
                f.write(config(i % 2))
            slow_before, total_before = slow_turnarounds(scrape(prom))
            t0 = time.monotonic()
            tracer.send_signal(signal.SIGHUP)
            wait_for("RELOADING=1")
            t1 = wait_for("READY=1")
            slow_after, total_after = slow_turnarounds(scrape(prom))
            # The second after READY=1: sessions pick up the new snapshot at their next reply
            # (new dispatcher rules, new sections' files opened).
            time.sleep(1.0)
            slow_later, total_later = slow_turnarounds(scrape(prom))
            wall.append((t1 - t0) * 1000)
            slow_total += slow_after - slow_before
            slow_aftermath += slow_later - slow_after
            turned += total_later - total_before
            print(f"  reload {i:2}: SIGHUP -> READY=1 {wall[-1]:6.1f} ms; turnarounds > 10 ms "
                  f"during it: {int(slow_after - slow_before)} of "
                  f"{int(total_after - total_before)}, in the second after: "
                  f"{int(slow_later - slow_after)} of {int(total_later - total_after)}")
        own = []
        with open(os.path.join(work, "tracer.out")) as f:
            for line in f:
                if '"Tracer.ConfigReloaded"' in line:
                    own.append(json.loads(line)["data"]["seconds"] * 1000)
        print(f"SIGHUP -> READY=1: median {statistics.median(wall):.1f} ms, max {max(wall):.1f} ms "
              f"(target <= 100 ms)")
        print(f"daemon's own reload time: median {statistics.median(own):.1f} ms, "
              f"max {max(own):.1f} ms")
        print(f"node requests turned around in > 10 ms during the reloads: {int(slow_total)} "
              f"(target 0); in the second after each: {int(slow_aftermath)} of {int(turned)}")
        record("reload", nodes=nodes, reloads=reloads, median_ms=statistics.median(wall),
               max_ms=max(wall), own_median_ms=statistics.median(own), own_max_ms=max(own),
               slow_during=int(slow_total), slow_after=int(slow_aftermath), turned=int(turned),
               base_slow=int(base_slow), base_total=int(base_total))
    finally:
        stop(fwd, tracer)
        notify.close()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
