#!/usr/bin/env python3
"""Checks one chaos soak run (tests/chaos/soak.sh) and prints the fault log and the result table.

Inputs: the agent's log lines of the run (timestamps in local time, "writer change: ..." and
agent start lines give the agent's writer timeline), the fault log, lab_load's acknowledged writes
(id, client_seq, server_id, ack unix_ms) and per-attempt latencies, and app.writes as db01 and db02
hold it after the heal.

Must be zero:
  - acknowledged writes on a server more than GRACE ms after it stopped being the agent's writer
    (writes while the agent is down, plus HAProxy's spop-check rise time, go to the static
    fallback and are counted apart);
  - moments with two masters taking writes: in the acknowledged writes ordered by the time their
    connection was opened (= when HAProxy routed it), three or more switches between masters
    within one second (a handover is one switch; a straggler at the boundary two);
  - acknowledged writes missing (or different) on db01 or db02 after the heal;
  - connection attempts that took longer than HUNG ms (the client's own timeout is longer, so a
    hang shows as a long attempt).
Two balancers (soak.sh --lbs 2): --agent-log2 is lb2's agent log, --load-lb says which balancer
each load client went through (its writes are judged by that balancer's agent), agent faults name
agent1/agent2 (a SIGSTOP counts like a kill: its balancer uses HAProxy's fallback), and --samples
(tests/lab/status_sampler.py, both /status every 100 ms) adds two more must-be-zero counts: moments
where the two agents named different writers, and moments with two primaries.
Exit status 1 when one of them is not zero (or nothing was acknowledged at all).
"""
import argparse
import bisect
import datetime
import os
import re
import statistics
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
import status_sampler  # noqa: E402

GRACE_MS = 1000
HUNG_MS = 2000
SPOP_RISE_MS = 3000  # HAProxy marks the restarted agent UP after rise 2 x inter 1s (+ slack)
MASTERS = ("db01", "db02")

LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) \S+ \[\d+\] (.*)$")


def log_ms(stamp):
    # spdlog writes local time; the soak runs on the machine that wrote the log.
    return int(datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").timestamp() * 1000)


def new_writer(change):
    """The writer a "writer change: ..." line announces; None when writes are refused."""
    if "writes refused (was" in change:
        return None
    m = re.search(r"failback: (\S+) preferred", change)
    if m:
        return m.group(1)
    # "db01 takes writes (...)", or "... master: db01 (read_only=0) takes writes"
    m = re.search(r"(\S+)(?: \([^)]*\))? takes writes", change)
    return m.group(1) if m else None


def read_timeline(path):
    """[(ms, writer or None, text)] in log order."""
    events = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LOG_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            t, text = log_ms(m.group(1)), m.group(2)
            if text.startswith("writer change: "):
                events.append((t, new_writer(text[len("writer change: "):]), text))
            elif text.startswith("spop server listening on"):
                events.append((t, None, "agent started: writes refused until the first round"))
    return events


def read_tsv(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rows.append(line.rstrip("\n").split("\t"))
    return rows


def name_of(server_id):
    return "db%02d" % int(server_id)


class Timeline:
    def __init__(self, events):
        self.events = events
        self.times = [e[0] for e in events]
        # Writer intervals: name -> [(start, end)] (end = next change, or +inf).
        self.intervals = {}
        for i, (t, w, _) in enumerate(events):
            end = events[i + 1][0] if i + 1 < len(events) else float("inf")
            if w is not None:
                self.intervals.setdefault(w, []).append((t, end))

    def writer_at(self, t):
        i = bisect.bisect_right(self.times, t) - 1
        return self.events[i][1] if i >= 0 else None

    def allowed(self, name, t):
        """Writer at t, or stopped being the writer at most GRACE_MS before t."""
        return any(s <= t <= e + GRACE_MS for s, e in self.intervals.get(name, []))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", required=True)
    ap.add_argument("--start-ms", type=int, required=True)
    ap.add_argument("--end-ms", type=int, required=True)
    ap.add_argument("--agent-log", required=True)
    ap.add_argument("--faults", required=True)
    ap.add_argument("--load", nargs="+", required=True)
    ap.add_argument("--attempts", nargs="+", required=True)
    ap.add_argument("--rows", nargs="+", required=True, help="NAME=PATH of app.writes dumps")
    ap.add_argument("--agent-log2", help="lb2's agent log (two balancers)")
    ap.add_argument("--load-lb", type=int, nargs="+", help="balancer (1/2) of each --load")
    ap.add_argument("--samples", help="status_sampler.py output of both agents")
    a = ap.parse_args()
    t0 = a.start_ms

    def rel(t):
        return "%7.1fs" % ((t - t0) / 1000.0)

    timelines = [Timeline(read_timeline(a.agent_log))]
    if a.agent_log2:
        timelines.append(Timeline(read_timeline(a.agent_log2)))
    timeline = timelines[0]
    two = len(timelines) == 2
    lb_of = [(a.load_lb[i] - 1) if a.load_lb and i < len(a.load_lb) else 0
             for i in range(len(a.load))]
    faults = [(int(r[0]), r[1], r[2], r[3], r[4] if len(r) > 4 else "") for r in read_tsv(a.faults)]

    # Agent-down windows, per balancer: from the kill (or SIGSTOP) until HAProxy can have marked
    # the restarted (thawed) agent UP.
    def lb_of_target(target):
        return 1 if target == "agent2" else 0

    down = [[], []]
    kill_at = [None, None]
    for t, phase, kind, target, _ in faults:
        if kind not in ("agent-kill", "agent-freeze"):
            continue
        lb = lb_of_target(target)
        if phase == "inject":
            kill_at[lb] = t
        elif phase == "revert" and kill_at[lb] is not None:
            down[lb].append((kill_at[lb], t + SPOP_RISE_MS))
            kill_at[lb] = None
    for lb in (0, 1):
        if kill_at[lb] is not None:
            down[lb].append((kill_at[lb], a.end_ms + SPOP_RISE_MS))

    def agent_down(t, lb=0):
        return any(s <= t <= e for s, e in down[lb])

    # Acknowledged writes with the start time of their attempt (routing time).
    acked = []  # (ack_ms, start_ms, id, server, client, seq); client's balancer: lb_of[client]
    for c, (lp, ap_) in enumerate(zip(a.load, a.attempts)):
        start = {int(r[0]): int(r[1]) for r in read_tsv(ap_)}
        for r in read_tsv(lp):
            seq = int(r[1])
            acked.append((int(r[3]), start.get(seq, int(r[3])), int(r[0]), name_of(r[2]), c, seq))
    attempts = []  # (start_ms, latency_ms, outcome, server, client)
    for c, ap_ in enumerate(a.attempts):
        for r in read_tsv(ap_):
            attempts.append((int(r[1]), int(r[2]), r[3], name_of(r[4]) if r[4] != "0" else "-", c))

    # 1. writes on a server that was no longer the agent's writer.
    late, fallback = [], 0
    for w in acked:
        t, server, lb = w[0], w[3], lb_of[w[4]]
        if agent_down(t, lb):
            fallback += 1
        elif not timelines[lb].allowed(server, t):
            late.append(w)

    # 2. two masters taking writes: >= 3 master switches within 1 s, in routing order.
    seq = sorted((w[1], w[3]) for w in acked if w[3] in MASTERS)
    switches = [seq[i][0] for i in range(1, len(seq)) if seq[i][1] != seq[i - 1][1]]
    moments, last_end = [], None
    for i in range(len(switches) - 2):
        if switches[i + 2] - switches[i] <= 1000:
            if last_end is None or switches[i] > last_end:
                moments.append(switches[i])
            last_end = switches[i + 2]

    # 3. acknowledged writes missing after the heal.
    missing = {}
    for spec in a.rows:
        name, path = spec.split("=", 1)
        have = {}
        try:
            for r in read_tsv(path):
                have[int(r[0])] = (name_of(r[1]), int(r[2]))
        except OSError:
            pass
        missing[name] = [w for w in acked if have.get(w[2]) != (w[3], w[5])]

    # 4. hung connections.
    hung = [x for x in attempts if x[1] > HUNG_MS]

    # 5. failover times: fault -> the agent names another writer -> first write lands on it.
    acked_by_ack = sorted(acked)
    failovers = []
    stamps = [f[0] for f in faults]
    for t, phase, kind, target, detail in faults:
        if kind in ("agent-kill", "agent-freeze"):
            continue
        # Up to the next fault event: the change is attributed to the latest one.
        nxt = min([x for x in stamps if x > t] + [a.end_ms])
        before = timeline.writer_at(t)
        change = next((e for e in timeline.events if t < e[0] <= nxt and e[1] not in (None, before)),
                      None)
        if change is None:
            continue
        # First write on the new writer while it still is the writer.
        until = min([e[0] for e in timeline.events if e[0] > change[0]] + [a.end_ms])
        first = next((w for w in acked_by_ack
                      if change[0] <= w[0] <= until + GRACE_MS and w[3] == change[1]), None)
        failovers.append((t, phase, kind, target, before, change[1], change[0] - t,
                          (first[0] - t) if first else None))

    # ---- output ----------------------------------------------------------------------------
    print("\n== chaos soak: seed %s, %d s ==" % (a.seed, (a.end_ms - t0) // 1000))
    print("\nfault log (time since load start):")
    for t, phase, kind, target, detail in faults:
        print("  %s  %-6s %-10s %-6s %s" % (rel(t), phase, kind, target, detail))
    for i, tl in enumerate(timelines):
        print("\nagent writer timeline%s:" % (" (lb%d)" % (i + 1) if two else ""))
        for t, w, text in tl.events:
            print("  %s  %-5s %s" % (rel(t), w or "-", text))

    if late:
        print("\nwrites on a server that was no longer the writer (first 20):")
        for w in late[:20]:
            print("  %s ack on %s (client %d seq %d id %d), agent writer then: %s" %
                  (rel(w[0]), w[3], w[4], w[5], w[2], timelines[lb_of[w[4]]].writer_at(w[0])))
    if moments:
        print("\ntwo-master moments:")
        for m in moments:
            near = [(s, n) for s, n in seq if m - 500 <= s <= m + 1500]
            print("  %s routing order: %s" % (rel(m), " ".join(n for _, n in near[:40])))
    for name, lost in missing.items():
        if lost:
            print("\nacknowledged writes missing or different on %s (first 20):" % name)
            for w in lost[:20]:
                print("  id %d acked %s on %s (client %d seq %d)" % (w[2], rel(w[0]), w[3], w[4], w[5]))
    if hung:
        print("\nattempts longer than %d ms (first 20):" % HUNG_MS)
        for x in sorted(hung)[:20]:
            prior = [f for f in faults if f[0] <= x[0]]
            last = ("%s %s %s at %s" % (prior[-1][1], prior[-1][2], prior[-1][3], rel(prior[-1][0]))
                    if prior else "no fault yet")
            print("  %s client %d: %d ms, %s (%s); last fault: %s" %
                  (rel(x[0]), x[4], x[1], x[2], x[3], last))

    print("\nfailovers (fault -> %s names a new writer -> first write lands on it):" %
          ("lb1's agent" if two else "agent"))
    for t, phase, kind, target, before, after, dec, first in failovers:
        print("  %s  %-6s %-9s %-5s %s -> %s  decision %6d ms  first write %s" %
              (rel(t), phase, kind, target, before or "-", after, dec,
               "%6d ms" % first if first is not None else "none"))
    times = [f[7] for f in failovers if f[7] is not None]

    errors = sum(1 for x in attempts if x[2] != "ok")
    by_server = {}
    for w in acked:
        by_server[w[3]] = by_server.get(w[3], 0) + 1
    rows = [
        ("attempts / acknowledged / errors", "%d / %d / %d" % (len(attempts), len(acked), errors), ""),
        ("acknowledged by server", " ".join("%s=%d" % kv for kv in sorted(by_server.items())), ""),
        ("agent kills%s (writes via HAProxy fallback)" % ("/freezes" if two else ""),
         "%d (%d)" % (len(down[0]) + len(down[1]), fallback), ""),
        ("writes on a former writer > %d ms after" % GRACE_MS, str(len(late)), "must be 0"),
        ("two-master moments", str(len(moments)), "must be 0"),
    ]
    for name, lost in missing.items():
        rows.append(("acked writes missing on %s after heal" % name, str(len(lost)), "must be 0"))
    rows += [
        ("connections hung > %d ms" % HUNG_MS,
         "%d (max %d ms)" % (len(hung), max((x[1] for x in attempts), default=0)), "must be 0"),
        ("failovers seen (fault -> first write)",
         "%d: min %d / median %d / max %d ms" % (len(times), min(times), statistics.median(times),
                                                max(times)) if times else "0", ""),
    ]
    sampled = None
    if a.samples:
        sampled = status_sampler.analyze(a.samples, t_from=a.start_ms, t_to=a.end_ms)
        rows += [
            ("status samples of both agents (answered)",
             "%d (%d)" % (sampled["samples"], sampled["answered"]), ""),
            ("moments the two agents named different writers",
             str(sampled["different_writers"]), "must be 0"),
            ("moments with two primaries", str(sampled["two_primaries"]), "must be 0"),
        ]
        if sampled["different_writer_at"]:
            print("\nmoments where the two agents named different writers:")
            for t in sampled["different_writer_at"][:20]:
                print("  %s" % rel(t))
    width = max(len(r[0]) for r in rows)
    print("\n%-*s  %-40s %s" % (width, "check", "value", ""))
    for r in rows:
        print("%-*s  %-40s %s" % (width, r[0], r[1], r[2]))
    bad = len(late) + len(moments) + sum(len(v) for v in missing.values()) + len(hung)
    if sampled:
        bad += sampled["different_writers"] + sampled["two_primaries"]
    if not acked:
        print("\nFAIL: no write was acknowledged")
        return 1
    print("\nseed %s: %s" % (a.seed, "PASS" if bad == 0 else "FAIL (%d must-be-zero events)" % bad))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
