#!/usr/bin/env python3
"""Soak test: SOAK_NODES (10) simulated nodes at a steady rate, rotation every few seconds with gzip, a SIGHUP
every 30 s, 50 keep-alive scrapers. Samples the daemon's RSS and open descriptors; at the end
checks that every object each node sent is on disk exactly once, and that RSS and descriptors
stayed flat (within 5 %) after the warm-up. Prints a table; exit 1 on any failure.
Usage: scripts/soak.py MINUTES [build-dir]; SOAK_NODES, SOAK_RATE (objects/s per node),
SOAK_SCRAPERS change the load (e.g. SOAK_NODES=1000 SOAK_RATE=5 SOAK_SCRAPERS=100)."""
import glob, gzip, http.client, json, os, signal, subprocess, sys, tempfile, threading, time

minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
build = sys.argv[2] if len(sys.argv) > 2 else "build/release"
rate = int(os.environ.get("SOAK_RATE", "2000"))  # objects/s per node
nodes = int(os.environ.get("SOAK_NODES", "10"))
scrapers = int(os.environ.get("SOAK_SCRAPERS", "50"))
duration = minutes * 60
tracer = os.path.abspath(os.path.join(build, "cardano-tracer"))
forwarder = os.path.abspath(os.path.join(build, "trace-forwarder"))
work = tempfile.mkdtemp(prefix="ct-soak-")

config = f"""networkMagic: 42
network: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}
logging:
- {{ logRoot: "{work}/logs", logMode: FileMode, logFormat: ForMachine }}
rotation: {{ rpFrequencySecs: 2, rpLogLimitBytes: 2000000, rpMaxAgeMinutes: 100000, rpKeepFilesNum: 100000, rpCompress: true }}
hasPrometheus: {{ epHost: 127.0.0.1, epPort: 0 }}
hasEKG: {{ epHost: 127.0.0.1, epPort: 0 }}
"""
open(f"{work}/tracer.yaml", "w").write(config)
out = open(f"{work}/tracer.out", "w")
daemon = subprocess.Popen([tracer, "-c", f"{work}/tracer.yaml"], stdout=out, stderr=subprocess.STDOUT, cwd=work)

def wait_for(pred, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False

def bound_port(ns):
    for line in open(f"{work}/tracer.out"):
        if f'"{ns}"' in line:
            return json.loads(line)["data"]["endpoint"]["boundPort"]
    return None

assert wait_for(lambda: bound_port("Tracer.StartedPrometheus")), "daemon did not start"
prom = bound_port("Tracer.StartedPrometheus")

# One simulated-node process for all nodes (each node is its own connection).
fwd = subprocess.Popen([forwarder, "--connect", f"{work}/tracer.sock", "--network-magic", "42",
                        "--nodes", str(nodes), "--name-prefix", "soak", "--rate", str(rate),
                        "--duration", str(int(duration))],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=work)

stop = threading.Event()
scrape_errors = [0]
scrapes = [0]
def scraper(k):
    conn = http.client.HTTPConnection("127.0.0.1", prom, timeout=10)
    path = "/metrics" if k % 2 == 0 else f"/soak-{k % nodes + 1}"
    while not stop.is_set():
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            scrapes[0] += 1
        except Exception:
            scrape_errors[0] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", prom, timeout=10)
        stop.wait(1.0)
threads = [threading.Thread(target=scraper, args=(k,), daemon=True) for k in range(scrapers)]
for t in threads:
    t.start()

def sample():
    rss = 0
    for line in open(f"/proc/{daemon.pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{daemon.pid}/fd"))
    return rss, fds

samples = []
start = time.time()
next_hup = start + 30
while time.time() - start < duration:
    time.sleep(2)
    if time.time() >= next_hup:
        daemon.send_signal(signal.SIGHUP)
        next_hup += 30
    samples.append((time.time() - start, *sample()))

o, _ = fwd.communicate(timeout=300)
summaries = json.loads(o)["nodes"]
stop.set()
time.sleep(1)
daemon.send_signal(signal.SIGTERM)
status = daemon.wait(timeout=60)

# Every object each node sent, exactly once.
ok = True
total_sent = 0
for s in summaries:
    seqs = []
    for f in sorted(glob.glob(f"{work}/logs/{s['name']}/node-*.json*")):
        data = gzip.open(f).read() if f.endswith(".gz") else open(f, "rb").read()
        for line in data.splitlines():
            seqs.append(json.loads(line)["data"]["seq"])
    total_sent += s["sent"]
    if len(seqs) != s["sent"] or len(set(seqs)) != len(seqs):
        ok = False
        print(f"!! {s['name']}: sent {s['sent']}, on disk {len(seqs)} ({len(seqs) - len(set(seqs))} repeated)")

warm = [x for x in samples if x[0] >= duration * 0.25]
def drift(idx):
    # Flat = no growth: the median of the last third of the samples after warm-up against the
    # median of the first third (momentary swings, e.g. a file being gzipped, are not growth).
    vals = [x[idx] for x in warm]
    if len(vals) < 3:
        return 0.0
    third = len(vals) // 3
    med = lambda v: sorted(v)[len(v) // 2]
    first, last = med(vals[:third]), med(vals[-third:])
    return (last - first) / max(1, first) * 100
rss_spread, fd_spread = drift(1), drift(2)
hups = sum(1 for line in open(f"{work}/tracer.out") if '"Tracer.ConfigReloaded"' in line)
rotated = len(glob.glob(f"{work}/logs/*/node-*.gz"))
print(f"soak: {minutes:g} min, {nodes} nodes x {rate}/s, {scrapers} keep-alive scrapers, work dir {work}")
print(f"| objects sent (all on disk once) | {total_sent} |")
print(f"| overflow drops at the nodes | {sum(s['overflow_drops'] for s in summaries)} |")
print(f"| reloads applied | {hups} |")
print(f"| rotated files (gzip) | {rotated} |")
print(f"| scrapes / errors | {scrapes[0]} / {scrape_errors[0]} |")
if warm:
    print(f"| RSS after warm-up, KiB (min..max, drift) | {min(x[1] for x in warm)}..{max(x[1] for x in warm)} ({rss_spread:+.1f} %) |")
    print(f"| open fds after warm-up (min..max, drift) | {min(x[2] for x in warm)}..{max(x[2] for x in warm)} ({fd_spread:+.1f} %) |")
print(f"| connections at the end of the run | {sum(1 for x in summaries if x['connections'] >= 1)} of {nodes} nodes connected |")
print(f"| daemon exit status | {status} |")
if status != 0 or scrape_errors[0] or rss_spread > 5 or fd_spread > 5:
    ok = False
print("soak: OK" if ok else "soak: FAILED")
if ok:
    subprocess.run(["rm", "-rf", work])
sys.exit(0 if ok else 1)
