#!/usr/bin/env python3
"""RSS when the disk is slower than the nodes (issue 12: "RSS <= 30 MB at 10 nodes whatever the
disk does"). The file writer's thread is put at SCHED_IDLE while 10 nodes replay at full speed,
so it writes only when nothing else wants the CPU: the output queue fills to its bound
(outputQueueBytes) and the daemon stops asking the nodes for more. Prints the daemon's peak RSS
for each queue size, the node-side drops (none: nodes wait, their queues are not overrun by a
replay) and checks that every object reached the files.

usage: slow_disk.py BUILD_DIR [OBJECTS_PER_NODE] [QUEUE_BYTES ...]
  default: 300000 objects per node; the default queue (4 MiB) and 32 MiB
"""
import json
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import count_lines, proc_stat, record, start_listening, thread_times, wait_quiet


def run(build, per_node, queue_bytes, nodes=10):
    work = tempfile.mkdtemp(prefix="slow-disk-")
    cfg = f"{work}/t.yaml"
    with open(cfg, "w") as f:
        f.write(f'networkMagic: 42\nnetwork: {{ tag: AcceptAt, contents: "{work}/tracer.sock" }}\n')
        if queue_bytes:
            f.write(f"outputQueueBytes: {queue_bytes}\n")
        f.write(f"logging:\n- {{ logRoot: {work}/logs, logMode: FileMode, logFormat: ForMachine }}\n")
    tracer = start_listening([f"{build}/cardano-tracer", "-c", cfg], f"{work}/tracer.sock",
                             "the daemon")
    try:
        writer = [tid for tid, (name, _, _) in thread_times(tracer.pid).items()
                  if name == "ct-out-file"]
        if not writer:
            sys.exit("no ct-out-file thread")
        subprocess.run(["chrt", "--idle", "-p", "0", writer[0]], check=True)
        gen = subprocess.Popen([f"{build}/trace-forwarder", "--connect", f"{work}/tracer.sock",
                                "--network-magic", "42", "--nodes", str(nodes), "--count",
                                str(per_node), "--replay"], stdout=subprocess.PIPE)
        peak = 0.0
        while gen.poll() is None:
            peak = max(peak, proc_stat(tracer.pid)[1])
            time.sleep(0.02)
        # Then until the writer has caught up and stopped writing.
        _, drain_peak = wait_quiet(tracer.pid, quiet=1.0)
        peak = max(peak, drain_peak)
        summary = json.loads(gen.stdout.read())
        drops = sum(n["overflow_drops"] for n in summary["nodes"])
        want = nodes * per_node
        lines = count_lines(f"{work}/logs/*/node-*.json")
        return peak, drops, lines, want
    finally:
        tracer.terminate()
        tracer.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    build = sys.argv[1]
    per_node = int(sys.argv[2]) if len(sys.argv) > 2 else 300000
    sizes = [int(s) for s in sys.argv[3:]] or [0, 32 << 20]
    for q in sizes:
        peak, drops, lines, want = run(build, per_node, q)
        name = "default queue" if q == 0 else f"outputQueueBytes {q:,}"
        check = "every object on disk" if lines >= want else f"only {lines:,} of {want:,} lines"
        print(f"10 nodes, writer starved, {name:32}: peak RSS {peak:5.1f} MiB; node drops "
              f"{drops}; {check}", flush=True)
        record("slow_disk", queue_bytes=q, peak_rss=peak, drops=drops, lines=lines, want=want)


if __name__ == "__main__":
    main()
