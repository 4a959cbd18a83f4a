#!/usr/bin/env python3
"""OTLP export throughput (issue: >= 500 k trace objects/s over OTLP/protobuf while files are
written too). Side by side in one run: the daemon writing ForMachine files only, then the same
plus an OTLPMode section (protobuf, gzip or none) to a local receiver. The receiver is
bench/otlp_sink (C++: reads each body and answers 200 on the kept-alive connection, so it
costs next to nothing); what it took is the daemon's own
cardano_tracer_otlp_records_exported_total.

Usage: python3 bench/otlp_bench.py BUILD_DIR [OBJECTS_PER_NODE] [NODES]
Prints objects/s (generator start to the last record exported or written) and the daemon's
CPU-seconds per million objects."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import free_port, metric, proc_stat, scrape, stop  # noqa: E402


def run(build, per_node, nodes, otlp):
    work = tempfile.mkdtemp(prefix="ct-otlp-bench-")
    prom = free_port()
    sink_port = free_port()
    sink = subprocess.Popen([os.path.join(build, "otlp_sink"), str(sink_port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    sink.stdout.readline()  # "listening"
    cfg = (
        "networkMagic: 42\n"
        'network: { tag: AcceptAt, contents: "tracer.sock" }\n'
        f"hasPrometheus: {{ epHost: 127.0.0.1, epPort: {prom} }}\n"
        "logging:\n"
        "  - { logRoot: logs, logMode: FileMode, logFormat: ForMachine }\n")
    if otlp:
        cfg += ("  - logMode: OTLPMode\n"
                "    logFormat: ForMachine\n"
                f"    otlp: {{ endpoint: \"http://127.0.0.1:{sink_port}\", compression: {otlp} }}\n")
    with open(os.path.join(work, "tracer.yaml"), "w") as f:
        f.write(cfg)
    tracer = subprocess.Popen([os.path.join(build, "cardano-tracer"), "-c", "tracer.yaml"],
                              cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(os.path.join(work, "tracer.sock")):
            break
        time.sleep(0.02)
    total = per_node * nodes
    cpu0, _ = proc_stat(tracer.pid)
    start = time.monotonic()
    gen = subprocess.Popen([os.path.join(build, "trace-forwarder"), "--connect", "tracer.sock",
                            "--network-magic", "42", "--nodes", str(nodes), "--count",
                            str(per_node), "--replay"],
                           cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done_at = None
    while time.monotonic() - start < 300:
        page = scrape(prom)
        written = metric(page, "cardano_tracer_output_records_total", '{output="file"}') or 0
        exported = total
        if otlp:
            exported = metric(page, "cardano_tracer_otlp_records_exported_total",
                              f'{{exporter="http://127.0.0.1:{sink_port}"}}') or 0
        if written >= total and exported >= total:
            done_at = time.monotonic()
            break
        time.sleep(0.05)
    cpu1, rss = proc_stat(tracer.pid)
    gen.wait()
    sink_cpu, _ = proc_stat(sink.pid)
    stop(tracer, sink)
    if done_at is None:
        return None
    secs = done_at - start
    return total / secs, (cpu1 - cpu0) / (total / 1e6), rss, sink_cpu / (total / 1e6)


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/release")
    per_node = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    nodes = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    print(f"{nodes} nodes x {per_node} objects, ForMachine files (+ OTLP/protobuf)")
    print("| scenario | objects/s | daemon CPU-s per million | peak RSS MiB | receiver CPU-s per million |")
    print("|---|---|---|---|---|")
    for name, otlp in [("files only", None), ("files + OTLP protobuf, gzip", "gzip"),
                       ("files + OTLP protobuf, no compression", "none")]:
        r = run(build, per_node, nodes, otlp)
        if r is None:
            print(f"| {name} | did not finish in 300 s | | | |")
            continue
        rate, cpu, rss, sink_cpu = r
        print(f"| {name} | {rate:,.0f} | {cpu:.2f} | {rss:.1f} | {sink_cpu:.2f} |")


if __name__ == "__main__":
    main()
