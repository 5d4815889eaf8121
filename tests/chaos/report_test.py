#!/usr/bin/env python3
"""No-lab test of chaos_report.py's two-balancer checks (soak.sh --lbs 2), on synthetic runs.

Each case writes the files a soak run leaves (two agent logs, faults, loads, attempts, rows, status
samples), runs chaos_report.py and checks its exit status and the counts it prints:
  agree        both agents name db01 throughout, writes through both balancers on db01: PASS
  differ       the samples show the agents naming db01 and db02 for 3 samples: 1 moment, FAIL
  two-primary  both agents say primary in one sample: FAIL
  per-lb       lb2's agent moved to db02 at t=2 s while lb1's stayed on db01; a write through lb2
               on db02 is fine, a write through lb1 on db02 is late (judged by lb1's agent): FAIL
  freeze       a write through lb2 on db02 while agent2 is frozen counts as a fallback write, not a
               late one: PASS
"""
import datetime
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_800_000_000_000  # unix ms of the run start


def stamp(ms):
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def write(path, lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))


def run_case(d, log1, log2, faults, writes, samples):
    """writes: [(lb, ms, server_id)]. Returns (exit status, output)."""
    write(os.path.join(d, "a1.log"), ["%s warning [1] %s" % (stamp(T0 + t), m) for t, m in log1])
    write(os.path.join(d, "a2.log"), ["%s warning [1] %s" % (stamp(T0 + t), m) for t, m in log2])
    write(os.path.join(d, "faults.tsv"),
          ["# unix_ms\tphase\tkind\ttarget\tdetail"] +
          ["%d\t%s\t%s\t%s\t" % (T0 + t, p, k, g) for t, p, k, g in faults])
    rows, loads, atts = [], {1: [], 2: []}, {1: [], 2: []}
    for i, (lb, t, sid) in enumerate(writes, 1):
        loads[lb].append("%d\t%d\t%d\t%d" % (i, i, sid, T0 + t))
        atts[lb].append("%d\t%d\t5\tok\t%d" % (i, T0 + t - 5, sid))
        rows.append("%d\t%d\t%d\t%d" % (i, sid, i, T0 + t))
    for lb in (1, 2):
        write(os.path.join(d, "load%d.tsv" % lb), ["# id"] + loads[lb])
        write(os.path.join(d, "att%d.tsv" % lb), ["# seq"] + atts[lb])
    write(os.path.join(d, "rows.tsv"), rows)
    write(os.path.join(d, "samples.tsv"),
          ["# unix_ms"] + ["%d\t%s\t%s\t5\t%s\t%s\t0\t3" % (T0 + t, r1, w1, r2, w2)
                           for t, r1, w1, r2, w2 in samples])
    p = subprocess.run(
        [sys.executable, os.path.join(HERE, "chaos_report.py"), "--seed", "1",
         "--start-ms", str(T0), "--end-ms", str(T0 + 10_000),
         "--agent-log", os.path.join(d, "a1.log"), "--agent-log2", os.path.join(d, "a2.log"),
         "--faults", os.path.join(d, "faults.tsv"),
         "--load", os.path.join(d, "load1.tsv"), os.path.join(d, "load2.tsv"),
         "--attempts", os.path.join(d, "att1.tsv"), os.path.join(d, "att2.tsv"),
         "--load-lb", "1", "2", "--samples", os.path.join(d, "samples.tsv"),
         "--rows", "db01=" + os.path.join(d, "rows.tsv"), "db02=" + os.path.join(d, "rows.tsv")],
        capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def row(out, name):
    for line in out.splitlines():
        if line.startswith(name):
            return line[len(name):].split()[0]
    return None


def row_text(out, name):
    for line in out.splitlines():
        if line.startswith(name):
            return line[len(name):].strip()
    return None


def main():
    start = [(0, "writer change: db01 takes writes (start)")]
    agree = [(t, "primary", "db01", "secondary", "db01") for t in range(0, 10_000, 100)]
    failures = 0

    def expect(name, cond, out):
        nonlocal failures
        print(("ok    " if cond else "FAIL  ") + name)
        if not cond:
            failures += 1
            print(out)

    with tempfile.TemporaryDirectory() as d:
        w = [(1, 1000, 1), (2, 1100, 1), (1, 5000, 1), (2, 5100, 1)]
        rc, out = run_case(d, start, start, [], w, agree)
        expect("agree: PASS, 0 different-writer moments",
               rc == 0 and row(out, "moments the two agents named different writers") == "0", out)

        s = list(agree)
        for i in (30, 31, 32):
            s[i] = (s[i][0], "primary", "db01", "secondary", "db02")
        rc, out = run_case(d, start, start, [], w, s)
        expect("differ: FAIL, 1 different-writer moment",
               rc == 1 and row(out, "moments the two agents named different writers") == "1", out)

        s = list(agree)
        s[50] = (s[50][0], "primary", "db01", "primary", "db01")
        rc, out = run_case(d, start, start, [], w, s)
        expect("two-primary: FAIL, 1 moment with two primaries",
               rc == 1 and row(out, "moments with two primaries") == "1", out)

        log2 = start + [(2000, "writer change: db02 takes writes (db01 down)")]
        rc, out = run_case(d, start, log2, [], [(1, 1000, 1), (2, 3000, 2)], agree)
        expect("per-lb: a write through lb2 on lb2's writer db02 is not late",
               rc == 0 and row(out, "writes on a former writer > 1000 ms after") == "0", out)
        rc, out = run_case(d, start, log2, [], [(1, 1000, 1), (1, 3000, 2)], agree)
        expect("per-lb: a write through lb1 on db02 is late (lb1's agent named db01)",
               rc == 1 and row(out, "writes on a former writer > 1000 ms after") == "1", out)

        # The majority policy's wording when the one writable master changes under the agent
        # (the 30-minute soak of 2026-12-03 read "(read_only=0)" as the writer's name).
        log1 = start + [(2000, "writer change: no writable master: writes refused (was db01)"),
                        (2500, "writer change: db02 is no longer the one writable master: "
                               "db01 (read_only=0) takes writes")]
        rc, out = run_case(d, log1, start, [], [(1, 1000, 1), (1, 4500, 1)], agree)
        expect("wording: 'db01 (read_only=0) takes writes' names db01 as the writer",
               rc == 0 and row(out, "writes on a former writer > 1000 ms after") == "0", out)

        faults = [(2500, "inject", "agent-freeze", "agent2"), (4000, "revert", "agent-freeze", "agent2")]
        rc, out = run_case(d, start, start, faults, [(1, 1000, 1), (2, 3000, 2)], agree)
        expect("freeze: a write through lb2 during agent2's freeze is a fallback write",
               rc == 0 and row(out, "writes on a former writer > 1000 ms after") == "0"
               and row_text(out, "agent kills/freezes (writes via HAProxy fallback)") == "1 (1)",
               out)
    print("all report checks passed" if not failures else "%d check(s) failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
