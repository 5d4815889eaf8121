#!/usr/bin/env python3
"""Samples GET /status of several agents every INTERVAL seconds into a TSV (two-balancer lab).

One line per sample: unix_ms, then for each admin port: role, writer, locks_held (coordination
role from /status "coordination", "-" when absent; writer "-" when the agent names none; "?" in
all three when the agent did not answer within the timeout, e.g. frozen or killed). The agents are
asked one after the other; the line's unix_ms is taken before the first request and the spread
(ms between the first request and the last answer) is the last column, so a reader can ignore
samples that were not close to simultaneous.

usage: status_sampler.py --out FILE --seconds N [--interval 0.1] [--timeout 0.3] PORT [PORT...]
       status_sampler.py --report FILE [--max-spread-ms 100] [--from-ms T] [--to-ms T]
Bounded: stops after --seconds (or on SIGTERM).

--report prints one line of counts over the samples of FILE (two agents), as key=value:
  samples, answered (both agents answered, spread <= max), different_writers (moments: runs of
  consecutive answered samples where both agents named a writer and the writers differ),
  two_primaries (moments where both said primary), no_primary_samples (answered samples where
  neither was primary), both_same_writer (answered samples where both named the same writer).
"""
import argparse
import json
import signal
import sys
import time
import urllib.request


def sample(port, timeout):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/status" % port, timeout=timeout) as r:
            j = json.load(r)
    except Exception:
        return ("?", "?", "?")
    c = j.get("coordination") or {}
    return (str(c.get("role") or "-"), str(j.get("writer") or "-"), str(c.get("locks_held", "-")))


def moments(flags):
    """Number of runs of True in a list of booleans."""
    n, prev = 0, False
    for f in flags:
        if f and not prev:
            n += 1
        prev = f
    return n


def analyze(path, max_spread=100, t_from=0, t_to=0):
    """Counts over the samples of a two-agent sampler file (see --report)."""
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            r = line.rstrip("\n").split("\t")
            t = int(r[0])
            if (t_from and t < t_from) or (t_to and t > t_to):
                continue
            rows.append(r)
    differ, two_primaries, same, none, answered = [], [], 0, 0, 0
    for r in rows:
        ok = "?" not in (r[1], r[4]) and int(r[7]) <= max_spread
        answered += ok
        differ.append(ok and r[2] != "-" and r[5] != "-" and r[2] != r[5])
        two_primaries.append(ok and r[1] == "primary" and r[4] == "primary")
        if ok:
            same += r[2] != "-" and r[2] == r[5]
            none += r[1] != "primary" and r[4] != "primary"
    return {"samples": len(rows), "answered": answered, "different_writers": moments(differ),
            "two_primaries": moments(two_primaries), "no_primary_samples": none,
            "both_same_writer": same,
            "different_writer_at": [int(r[0]) for i, r in enumerate(rows)
                                    if differ[i] and (i == 0 or not differ[i - 1])]}


def report(path, max_spread, t_from, t_to):
    a = analyze(path, max_spread, t_from, t_to)
    print(" ".join("%s=%d" % (k, a[k]) for k in ("samples", "answered", "different_writers",
                                                  "two_primaries", "no_primary_samples",
                                                  "both_same_writer")))
    return 0


def main():
    if "--report" in sys.argv:
        rp = argparse.ArgumentParser()
        rp.add_argument("--report", required=True)
        rp.add_argument("--max-spread-ms", type=int, default=100)
        rp.add_argument("--from-ms", type=int, default=0)
        rp.add_argument("--to-ms", type=int, default=0)
        r = rp.parse_args()
        return report(r.report, r.max_spread_ms, r.from_ms, r.to_ms)
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--timeout", type=float, default=0.3)
    ap.add_argument("ports", type=int, nargs="+")
    a = ap.parse_args()
    if not 0 < a.seconds <= 7200 or not 0.01 <= a.interval <= 10:
        print("status_sampler: --seconds must be in (0, 7200], --interval in [0.01, 10]",
              file=sys.stderr)
        return 2
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.time() + a.seconds
    with open(a.out, "w") as f:
        cols = ["unix_ms"]
        for p in a.ports:
            cols += ["role_%d" % p, "writer_%d" % p, "locks_%d" % p]
        f.write("# " + "\t".join(cols + ["spread_ms"]) + "\n")
        nxt = time.time()
        while not stop and time.time() < end:
            t0 = time.time()
            row = [str(int(t0 * 1000))]
            for p in a.ports:
                row += sample(p, a.timeout)
            row.append(str(int((time.time() - t0) * 1000)))
            f.write("\t".join(row) + "\n")
            f.flush()
            nxt += a.interval
            delay = nxt - time.time()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.time()
    return 0


if __name__ == "__main__":
    sys.exit(main())
