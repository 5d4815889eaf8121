#!/usr/bin/env python3
"""The folder-level include graph of the product code, and its cycles.

Reads every #include "..." of the C++ sources under common/, probes/, consistency/ and spoa/ and
folds them into edges between folders (spoa/app -> spoa/policy ...). Prints the edges with their
counts, then the cycles (strongly connected components of more than one folder). Exit status 1
when there is a cycle, 0 otherwise. Tests and benchmarks are not product code and are left out.

usage: scripts/include-graph.py [--root DIR] [--quiet]
"""
import argparse
import os
import re
import sys
from collections import defaultdict

PRODUCT = ("common", "probes", "consistency", "spoa")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(path):
    # The files directly in spoa/ are not a module: main.cc (the executable) and version.h (a
    # generated leaf). Each is its own node, so that they do not fold into one false cycle.
    d = os.path.dirname(path) or "."
    return os.path.splitext(path)[0] if d == "spoa" else d


def edges(root):
    out = defaultdict(int)
    for top in PRODUCT:
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if not f.endswith((".h", ".cc", ".cpp", ".hpp")):
                    continue
                src = os.path.relpath(os.path.join(d, f), root)
                with open(os.path.join(root, src), errors="replace") as fh:
                    for line in fh:
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = m.group(1)
                        if not target.startswith(tuple(p + "/" for p in PRODUCT)):
                            continue  # generated headers (spoa/version.h is under spoa/) count
                        a, b = folder_of(src), folder_of(target)
                        if a != b:
                            out[(a, b)] += 1
    return out


def cycles(graph_edges):
    """Strongly connected components with more than one node (Tarjan)."""
    adj = defaultdict(set)
    nodes = set()
    for a, b in graph_edges:
        adj[a].add(b)
        nodes.update((a, b))
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(adj[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                result.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--quiet", action="store_true", help="print only the verdict and the cycles")
    args = ap.parse_args()
    e = edges(os.path.abspath(args.root))
    if not args.quiet:
        for (a, b), n in sorted(e.items()):
            print("%-26s -> %-26s %3d" % (a, b, n))
    found = cycles(e)
    folders = len({x for pair in e for x in pair})
    for comp in found:
        print("CYCLE: " + " <-> ".join(comp))
    print("%d folders, %d edges, %d cycle(s)" % (folders, len(e), len(found)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
