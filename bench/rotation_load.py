#!/usr/bin/env python3
"""Rotation under load (issue 12, part c): 10 replaying nodes at full speed for SECONDS with
10 MB files checked every second. Verifies that nothing is lost across the rotated files (every
(node, seq) exactly once and in order, no partial line) and measures the throughput dip at a
rotation: the daemon's write rate is sampled every 100 ms (from /proc/PID/io), and the samples
that contain a rotation (a new file appeared) are compared with the others.

usage: rotation_load.py BUILD_DIR [SECONDS]
"""
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import record, written

SEQ = re.compile(rb'"node":"([^"]*)".*"seq": *(\d+)')


def main():
    build = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    work = tempfile.mkdtemp(prefix="rotation-")
    logs = f"{work}/logs"
    with open(f"{work}/t.yaml", "w") as f:
        f.write(f"""networkMagic: 42
network: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}
logging:
- {{ logRoot: "{logs}", logMode: FileMode, logFormat: ForMachine }}
rotation: {{ rpFrequencySecs: 1, rpLogLimitBytes: 10000000, rpMaxAgeHours: 24, rpKeepFilesNum: 100000 }}
""")
    tracer = subprocess.Popen([f"{build}/cardano-tracer", "-c", f"{work}/t.yaml"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(f"{work}/tracer.sock"):
                break
            time.sleep(0.05)
        gen = subprocess.Popen([f"{build}/trace-forwarder", "--connect", f"{work}/tracer.sock",
                                "--network-magic", "42", "--nodes", "10", "--replay",
                                "--duration", str(seconds)], stdout=subprocess.PIPE)
        samples = []  # (bytes written in the interval, files now)
        last_w, last_files = written(tracer.pid), 0
        while gen.poll() is None:
            time.sleep(0.1)
            w = written(tracer.pid)
            files = len(glob.glob(f"{logs}/*/node-*.json"))
            samples.append((w - last_w, files > last_files))
            last_w, last_files = w, files
        summary = json.loads(gen.communicate()[0])
        # Let the daemon finish writing what it has (it stops writing when done).
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 0.5:
            time.sleep(0.05)
            w = written(tracer.pid)
            if w != last_w:
                last_w, quiet_since = w, time.monotonic()
    finally:
        tracer.terminate()
        tracer.wait()
    sent = {n["name"]: n["sent"] for n in summary["nodes"]}
    drops = sum(n["overflow_drops"] for n in summary["nodes"])
    seqs, problem = {}, None
    files = sorted(glob.glob(f"{logs}/*/node-*.json"))
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        if data and not data.endswith(b"\n"):
            problem = f"{f}: partial last line"
        for line in data.splitlines():
            m = SEQ.search(line)
            if not m:
                problem = f"{f}: a line without node/seq"
                break
            seqs.setdefault(m.group(1).decode(), []).append(int(m.group(2)))
    for node, n in sent.items():
        got = sorted(seqs.get(node, []))
        if got != list(range(1, n + 1)):
            problem = problem or f"{node}: {len(got)} objects on disk, {n} sent"
    total = sum(sent.values())
    steady = [b for b, rotated in samples[10:-5] if not rotated]  # skip warm-up and the end
    rotating = [b for b, rotated in samples[10:-5] if rotated]
    median = statistics.median(steady) if steady else 0
    print(f"{seconds} s, 10 nodes at full speed, 10 MB files checked every second: {total:,} "
          f"objects ({total / seconds:,.0f}/s) in {len(files)} files; node drops {drops}; "
          f"files: {problem or 'every (node, seq) exactly once, no partial line'}")
    if rotating and median:
        print(f"write rate per 100 ms: median {median / 1e6:.1f} MB without a rotation; in the "
              f"{len(rotating)} intervals with one: median {statistics.median(rotating) / 1e6:.1f} "
              f"MB, lowest {min(rotating) / 1e6:.1f} MB ({min(rotating) / median:.0%} of the "
              f"median)")
    record("rotation", seconds=seconds, objects=total, files=len(files), drops=drops,
           problem=problem, rotations=len(rotating),
           steady_median_mb=median / 1e6,
           rotating_median_mb=statistics.median(rotating) / 1e6 if rotating else None,
           rotating_min_mb=min(rotating) / 1e6 if rotating else None)
    subprocess.run(["rm", "-rf", work])
    sys.exit(1 if problem or drops else 0)


if __name__ == "__main__":
    main()
