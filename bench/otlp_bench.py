#!/usr/bin/env python3
"""OTLP export throughput (issue: >= 500 k trace objects/s over OTLP/protobuf while files are
written too). Side by side in one run: the daemon writing ForMachine files only, then the same
plus an OTLPMode section (protobuf, gzip or none) to a local receiver. The receiver is a
minimal keep-alive HTTP sink (it reads each body and answers 200, so it never limits the
daemon); what the receiver took is the daemon's own cardano_tracer_otlp_records_exported_total.

Usage: python3 bench/otlp_bench.py BUILD_DIR [OBJECTS_PER_NODE] [NODES]
Prints objects/s (generator start to the last record exported or written) and the daemon's
CPU-seconds per million objects."""
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import free_port, metric, proc_stat, scrape, stop  # noqa: E402


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received = 0

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        while n > 0:
            chunk = self.rfile.read(min(n, 1 << 20))
            if not chunk:
                break
            n -= len(chunk)
            Sink.received += len(chunk)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def run(build, per_node, nodes, otlp):
    work = tempfile.mkdtemp(prefix="ct-otlp-bench-")
    prom = free_port()
    sink_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", sink_port), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
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
    stop(tracer)
    server.shutdown()
    if done_at is None:
        return None
    secs = done_at - start
    return total / secs, (cpu1 - cpu0) / (total / 1e6), rss, Sink.received


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/release")
    per_node = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    nodes = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    print(f"{nodes} nodes x {per_node} objects, ForMachine files (+ OTLP/protobuf)")
    print("| scenario | objects/s | CPU-s per million | peak RSS MiB |")
    print("|---|---|---|---|")
    for name, otlp in [("files only", None), ("files + OTLP protobuf, gzip", "gzip"),
                       ("files + OTLP protobuf, no compression", "none")]:
        Sink.received = 0
        r = run(build, per_node, nodes, otlp)
        if r is None:
            print(f"| {name} | did not finish in 300 s | | |")
            continue
        rate, cpu, rss, _ = r
        print(f"| {name} | {rate:,.0f} | {cpu:.2f} | {rss:.1f} |")


if __name__ == "__main__":
    main()
