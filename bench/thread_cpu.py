#!/usr/bin/env python3
"""Where the daemon's CPU goes, per thread role, for one or more builds side by side.

The end-to-end ingest figure (bench/ingest.py) moves by ±10 % between runs on this shared
machine, which hides changes of a few per cent. The CPU the kernel accounts to each thread,
split into user and system time, is much steadier: this script replays 10 nodes × N objects
(ForMachine files) into each build in turn, ROUNDS times alternately, and prints the user and
system CPU-seconds per million objects of the connection threads (`cardano-tracer`, `ct-io`)
and of the file writer (`ct-out-file`), with the median of the rounds.

Builds from before threads were named are read by shape: the writer is the busy thread with
the most system time, the connection threads are the other two busy ones.

usage: thread_cpu.py [--rounds K] [--objects N] BUILD_DIR [BUILD_DIR ...]
"""
import argparse
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import record, start_listening, thread_times


def roles(times):
    """(io user, io system, writer user, writer system) in seconds."""
    threads = list(times.values())
    named = any(name.startswith("ct-") for name, _, _ in threads)
    if named:
        io = [t for t in threads if t[0] in ("cardano-tracer", "ct-io")]
        writer = [t for t in threads if t[0] == "ct-out-file"]
    else:
        busy = sorted(threads, key=lambda t: -(t[1] + t[2]))[:3]
        w = max(busy, key=lambda t: t[2] / (t[1] + 0.01))
        writer = [w]
        io = [t for t in busy if t is not w]
    return (sum(t[1] for t in io), sum(t[2] for t in io),
            sum(t[1] for t in writer), sum(t[2] for t in writer))


def run(build, per_node, nodes=10):
    work = tempfile.mkdtemp(prefix="thread-cpu-")
    cfg = f"{work}/t.yaml"
    with open(cfg, "w") as f:
        f.write(f'networkMagic: 42\nnetwork: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}\n'
                f"logging:\n- {{ logRoot: {work}/logs, logMode: FileMode, logFormat: ForMachine }}\n")
    tracer = start_listening([f"{build}/cardano-tracer", "-c", cfg], f"{work}/tracer.sock",
                             f"{build}: the daemon")
    try:
        before = roles(thread_times(tracer.pid))
        subprocess.run([f"{build}/trace-forwarder", "--connect", f"{work}/tracer.sock",
                        "--network-magic", "42", "--nodes", str(nodes), "--count",
                        str(per_node), "--replay"], capture_output=True, check=True)
        # Until the writer has been idle for a while: every object is on disk.
        last, still = None, 0
        while still < 5:
            time.sleep(0.1)
            now = roles(thread_times(tracer.pid))
            still = still + 1 if now == last else 0
            last = now
        millions = nodes * per_node / 1e6
        return [(a - b) / millions for a, b in zip(last, before)]
    finally:
        tracer.terminate()
        tracer.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--objects", type=int, default=400000, help="per node")
    p.add_argument("builds", nargs="+")
    a = p.parse_args()
    results = {b: [] for b in a.builds}
    for _ in range(a.rounds):
        for b in a.builds:
            results[b].append(run(b, a.objects))
    print("CPU-seconds per million objects, 10 nodes, ForMachine (median of "
          f"{a.rounds} rounds, builds alternating)")
    print(f"{'build':<32} {'io user':>8} {'io sys':>8} {'writer user':>12} {'writer sys':>11} "
          f"{'total':>7}")
    for b, rounds in results.items():
        med = [statistics.median(r[i] for r in rounds) for i in range(4)]
        total = statistics.median(sum(r) for r in rounds)
        print(f"{b:<32} {med[0]:>8.3f} {med[1]:>8.3f} {med[2]:>12.3f} {med[3]:>11.3f} "
              f"{total:>7.3f}")
        record("thread_cpu", build=b, rounds=a.rounds, io_user=med[0], io_sys=med[1],
               writer_user=med[2], writer_sys=med[3], total=total)


if __name__ == "__main__":
    main()
