#!/usr/bin/env python3
"""Prints the daemon's own view of its HTTP latency: quantile bounds from the
cardano_tracer_http_request_duration_seconds histogram at /metrics.
Usage: http_histogram.py PORT"""
import sys
import urllib.request

from benchlib import record


def main():
    text = urllib.request.urlopen(f"http://127.0.0.1:{int(sys.argv[1])}/metrics").read().decode()
    buckets = []
    for line in text.splitlines():
        if line.startswith("cardano_tracer_http_request_duration_seconds_bucket{le="):
            le = line.split('"')[1]
            buckets.append((float("inf") if le == "+Inf" else float(le), int(float(line.split()[-1]))))
    if not buckets:
        sys.exit("no cardano_tracer_http_request_duration_seconds histogram at /metrics")
    total = buckets[-1][1]
    p50 = next(b for b, c in buckets if c >= 0.50 * total)
    p99 = next(b for b, c in buckets if c >= 0.99 * total)
    print(f"server side (cardano_tracer_http_request_duration_seconds, {total} requests): "
          f"p50 <= {p50 * 1000:g} ms, p99 <= {p99 * 1000:g} ms")
    record("scrape_server", requests=total, p50_ms=p50 * 1000, p99_ms=p99 * 1000)


if __name__ == "__main__":
    main()
