#!/usr/bin/env python3
"""Tests of bench/report.py: the targets' verdicts from a recorded run, the ratio columns, and
the report's place in docs/benchmarks.md (between its markers, the history untouched).
Run by CTest (BenchReport) and by hand: python3 bench/report_test.py"""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


def ingest(scenario, rate, cpu, rss=15.0, syscalls=0.04, gen_user=60):
    return {"kind": "ingest", "scenario": scenario, "name": scenario, "objects": 2000000,
            "rate": rate, "cpu_per_m": cpu, "rss": rss, "syscalls": syscalls, "gen_ns": 200,
            "gen_user_ns": gen_user, "drops": 0, "check": "ok"}


def recorded(records, gbench=None):
    d = tempfile.mkdtemp()
    path = f"{d}/record.jsonl"
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    paths = []
    if gbench:
        paths.append(f"{d}/metrics_bench.json")
        with open(paths[0], "w") as f:
            json.dump({"benchmarks": gbench}, f)
    return report.Run(path, paths)


def verdicts(run):
    """target text -> its verdict cell."""
    return {row.split(" | ")[0].lstrip("| "): row.rstrip(" |").split(" | ")[-1]
            for row in report.targets(run)[2:]}


class Targets(unittest.TestCase):
    def test_cpu_and_throughput_against_every_baseline(self):
        run = recorded([ingest("10:machine", 2.4e6, 0.36), ingest("floor", 2.0e6, 0.30),
                        ingest("floor64k", 2.2e6, 0.29), ingest("rsyslog", 0.4e6, 2.5)])
        v = verdicts(run)
        cpu = next(k for k in v if k.startswith("CPU per object"))
        rate = next(k for k in v if k.startswith("Throughput"))
        # 0.36 / 0.29 = 1.24 and 0.36 / 0.30 = 1.2: within 1.25x; 0.144x rsyslog's.
        self.assertEqual(v[cpu], "met")
        # 2.4 / 2.2 >= 1 and 2.4 / 0.4 = 6 >= 5.
        self.assertEqual(v[rate], "met")
        self.assertEqual(v[next(k for k in v if k.startswith("The generator"))], "met")

    def test_one_baseline_missed_is_not_met(self):
        run = recorded([ingest("10:machine", 2.4e6, 0.40), ingest("floor", 2.0e6, 0.40),
                        ingest("floor64k", 2.6e6, 0.30), ingest("rsyslog", 0.4e6, 3.0)])
        v = verdicts(run)
        self.assertEqual(v[next(k for k in v if k.startswith("CPU per object"))], "**not met**")
        self.assertEqual(v[next(k for k in v if k.startswith("Throughput"))], "**not met**")

    def test_alternating_pairs_decide_by_their_median(self):
        def pair(i, d_cpu, f_cpu, d_rate=2.4e6, f_rate=2.2e6):
            return {"kind": "ingest_pair", "pair": i, "daemon_first": i % 2 == 0,
                    "daemon_cpu_per_m": d_cpu, "daemon_rate": d_rate,
                    "floor_cpu_per_m": f_cpu, "floor_rate": f_rate, "check": "ok", "drops": 0}
        single = [ingest("10:machine", 2.4e6, 0.36), ingest("floor64k", 2.2e6, 0.29),
                  ingest("rsyslog", 0.4e6, 2.5)]
        # Ratios 1.2, 1.5, 1.1: the median (1.2) holds, though one pair alone would not.
        run = recorded(single + [pair(0, 0.36, 0.30), pair(1, 0.45, 0.30), pair(2, 0.33, 0.30)])
        v = verdicts(run)
        cpu = next(k for k in v if k.startswith("CPU per object"))
        self.assertEqual(v[cpu], "met")
        row = next(r for r in report.targets(run) if r.startswith("| CPU per object"))
        self.assertIn("1.20× the 64 KiB floor's in 3 alternating pairs (median; 1.10–1.50)", row)
        # Ratios 1.5, 1.5, 1.1: the median misses, whatever the single runs say.
        run = recorded(single + [pair(0, 0.45, 0.30), pair(1, 0.45, 0.30), pair(2, 0.33, 0.30)])
        self.assertEqual(verdicts(run)[cpu], "**not met**")
        text = "\n".join(report.sections(run))
        self.assertIn("### The daemon beside the 64 KiB floor, alternately", text)
        self.assertIn("| 2 | floor | 2,400,000 | 0.45 | 2,200,000 | 0.30 | 1.50× | 1.09× | ok |",
                      text)

    def test_the_machine_state_says_when_the_floor_was_slow(self):
        probe = {"wakeups": 16000, "late_1ms": 49, "late_slack": 33, "slack_us": 1920,
                 "max_late_us": 5539}
        pair = {"kind": "ingest_pair", "pair": 0, "daemon_first": True, "daemon_cpu_per_m": 1.1,
                "daemon_rate": 1.1e6, "floor_cpu_per_m": 0.65, "floor_rate": 1.3e6,
                "check": "ok", "drops": 0}
        slow = recorded([ingest("10:machine", 1.4e6, 0.9), ingest("floor64k", 1.1e6, 0.61),
                         pair, {"kind": "turnaround_alone", **probe}])
        text = " ".join(report.machine_state(slow))
        self.assertIn("needed 0.63 CPU-s per million objects (median of 2 run(s), 0.61–0.65)",
                      text)
        self.assertIn("was slow in this run", text)
        self.assertIn("woken more than 1 ms late 49 times of 16000", text)
        quiet = recorded([ingest("floor64k", 2.9e6, 0.31)])
        text = " ".join(report.machine_state(quiet))
        self.assertIn("what it does on a quiet day", text)
        self.assertNotIn("woken", text)
        self.assertEqual(report.machine_state(recorded([])), [])
        # In the report, before the targets' table.
        lines = report.report(slow, "./scripts/bench.sh")
        self.assertLess(next(i for i, l in enumerate(lines) if "The machine during" in l),
                        next(i for i, l in enumerate(lines) if l.startswith("| target")))

    def test_syscalls_rss_idle_render_and_scrape(self):
        run = recorded(
            [ingest("10:machine", 2.1e6, 0.5, rss=18.0, syscalls=0.051),
             ingest("10:human", 2.1e6, 0.5, gen_user=101),
             ingest("1:machine", 1.2e6, 0.6),
             {"kind": "slow_disk", "queue_bytes": 0, "peak_rss": 29.0, "drops": 0,
              "lines": 10, "want": 10},
             {"kind": "scaling_idle", "nodes": 1000, "cpu_pct": 2.9, "rss": 60, "base_rss": 5,
              "fds": 1010},
             {"kind": "scrape", "route": "/metrics", "requests": 10, "bytes": 1, "p50_ms": 1,
              "p99_ms": 2.1, "max_ms": 3, "first_p50_ms": 1, "first_p99_ms": 1},
             {"kind": "scrape", "route": "/node-1", "requests": 10, "bytes": 1, "p50_ms": 1,
              "p99_ms": 0.5, "max_ms": 3, "first_p50_ms": 1, "first_p99_ms": 1}],
            gbench=[{"name": "Render500Series_median", "run_name": "Render500Series",
                     "run_type": "aggregate", "aggregate_name": "median", "real_time": 49000,
                     "time_unit": "ns"},
                    {"name": "Render500Series_mean", "run_name": "Render500Series",
                     "run_type": "aggregate", "aggregate_name": "mean", "real_time": 90000,
                     "time_unit": "ns"}])
        v = verdicts(run)
        get = lambda prefix: v[next(k for k in v if k.startswith(prefix))]  # noqa: E731
        self.assertEqual(get("≥ 2 M objects/s"), "met")
        self.assertEqual(get("≤ 0.05 syscalls"), "**not met**")
        self.assertEqual(get("The generator"), "**not met**")  # 101 ns in one scenario
        # 29 MiB is 30.4 MB: over the 30 MB bound.
        self.assertEqual(get("RSS ≤ 30 MB"), "**not met**")
        self.assertEqual(get("1000 idle nodes"), "met")
        self.assertEqual(get("Rendering 500 series"), "met")  # the median, not the mean
        self.assertEqual(get("Scrape p99"), "**not met**")

    def test_scaling_shows_the_round_trips_behind_the_ratio(self):
        def scaling(nodes, cpu, per_reply, objects):
            return {"kind": "scaling", "nodes": nodes, "rate": 2e5, "cpu_pct": 50,
                    "cpu_per_m": cpu, "cpu_us_per_reply": per_reply,
                    "objects_per_reply": objects, "rss": 20, "rss_median": 20,
                    "base_rss": 5, "fds": 10}
        run = recorded([scaling(1, 2.0, 12.0, 6.0), scaling(10, 2.0, 10.0, 5.0),
                        scaling(1000, 6.0, 12.0, 2.0)])
        row = next(r for r in report.targets(run) if "1000 connections ≤" in r)
        self.assertIn("3.00× (per reply 1.20×; 2.0 against 5.0 objects per reply)", row)
        self.assertTrue(row.endswith("**not met** |"), row)
        self.assertIn("| objects per reply | CPU-µs per reply |", "\n".join(report.sections(run)))

    def test_ratio_columns_name_each_baseline(self):
        rows = report.ingest_table([ingest("10:machine", 2.0e6, 0.6),
                                    ingest("floor64k", 2.5e6, 0.3)])
        self.assertIn("vs the 64 KiB floor: CPU, throughput", rows[0])
        self.assertIn("| 2.00×, 0.80× |", rows[2])
        self.assertTrue(rows[3].endswith("| – |"))  # the baseline against itself


class Document(unittest.TestCase):
    def test_inserted_once_then_replaced_history_kept(self):
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write("# Benchmarks\n\nIntro.\n\n## History\n\nOld figures.\n")
        report.write(f.name, ["## Latest run", "", "first"])
        report.write(f.name, ["## Latest run", "", "second"])
        with open(f.name) as g:
            text = g.read()
        os.unlink(f.name)
        self.assertEqual(text.count(report.BEGIN), 1)
        self.assertNotIn("first", text)
        self.assertLess(text.index("Intro."), text.index("second"))
        self.assertLess(text.index("second"), text.index("## History"))
        self.assertIn(report.END + "\n\n## History\n\nOld figures.\n", text)


if __name__ == "__main__":
    unittest.main()
