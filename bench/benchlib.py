"""Helpers shared by the Python benchmarks: a free port, a scrape, one sample of a metric, a
process's CPU time and resident memory, what it has written, the lines of log files, and the
record of a run that scripts/bench.sh turns into its report."""
import glob
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request


def record(kind, **figures):
    """Adds one result to the run's record when scripts/bench.sh asked for one
    (CT_BENCH_RESULTS names a JSON-lines file; bench/report.py reads it). A benchmark run by
    hand records nothing."""
    path = os.environ.get("CT_BENCH_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"kind": kind, **figures}) + "\n")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(port, path="/metrics"):
    """The body of an HTTP GET on 127.0.0.1 ("" when it fails)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.read().decode()
    except OSError:
        return ""


def metric(text, name, labels=""):
    """The value of the sample `name{labels}` (no labels: the bare name), or None."""
    for line in text.splitlines():
        if line.startswith(name + labels + " "):
            return float(line.split()[-1])
    return None


TICKS = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    """(CPU-seconds used, resident MiB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024
    return cpu, rss


def thread_times(pid):
    """{tid: (name, user s, system s)} from /proc."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        out[tid] = (name, int(fields[11]) / TICKS, int(fields[12]) / TICKS)
    return out


def stop(*processes):
    """Terminates and reaps each process given (None is skipped), in order."""
    for p in processes:
        if p is not None:
            p.terminate()
            p.wait()


def probe_text(p):
    """What bench/wakeup_probe printed (its JSON, parsed), in words."""
    return (f"a sleeping thread was woken late by more than 1 ms {p['late_1ms']} times, "
            f"by more than {p['slack_us']:.0f} us {p['late_slack']} times "
            f"(max {p['max_late_us']:.0f} us, {p['wakeups']} wake-ups)")


def start_listening(command, socket_path, what, timeout=10):
    """Starts `command` (output discarded) and waits until it listens on the Unix socket
    `socket_path`; exits the benchmark when it does not."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not os.path.exists(socket_path):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit(f"{what} did not start")
        time.sleep(0.01)
    return proc


def written(pid):
    """Bytes the process has written so far (syscall level, /proc/PID/io)."""
    with open(f"/proc/{pid}/io") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("wchar:"))


def wait_quiet(pid, expected_bytes=None, quiet=0.5, timeout=300):
    """Waits until the process has stopped writing (or has written expected_bytes more than at
    the start); returns when it last wrote and its peak RSS meanwhile. Reads only /proc.
    With expected_bytes, a process that has written 99 % of them and then stays quiet for
    twice `quiet` is done too (rsyslog's output can differ from its input by a few bytes)."""
    start = written(pid)
    last, t_last, peak = start, time.monotonic(), proc_stat(pid)[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = written(pid)
        peak = max(peak, proc_stat(pid)[1])
        if now != last:
            last, t_last = now, time.monotonic()
        if expected_bytes is not None and now - start >= expected_bytes:
            return time.monotonic(), peak
        if expected_bytes is None and time.monotonic() - t_last > quiet:
            break
        if (expected_bytes is not None and now - start >= 0.99 * expected_bytes
                and time.monotonic() - t_last > 2 * quiet):
            break
    return t_last, peak


def count_lines(pattern):
    n = 0
    for f in glob.glob(pattern):
        with open(f, "rb") as fh:
            n += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return n
