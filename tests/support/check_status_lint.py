#!/usr/bin/env python3
"""Finds shell test checks that cannot fail: `check "message $(cmd)" $?`.

Bash expands a command's words left to right, and a command substitution sets $?: in
`check "... $(cat body)" $?` the $? is cat's status, not the tested command's. Scans every tracked
*.sh file (and tests/lab/labctl) for a `check` call whose last argument is $? while an earlier
argument holds a command substitution ($(...), not arithmetic $((...))). Prints each one; exit 1
when there is any. The fix: `st=$?` on the line before, then `check "..." $st`.

usage: tests/support/check_status_lint.py [--root DIR]
"""
import argparse
import os
import re
import subprocess
import sys


def statements(lines):
    """(line number, text) of each `check ...` call, continuation lines joined."""
    i = 0
    while i < len(lines):
        if re.match(r"\s*check\s", lines[i]):
            j, text = i, lines[i]
            while text.rstrip().endswith("\\") and j + 1 < len(lines):
                j += 1
                text = text.rstrip()[:-1] + " " + lines[j]
            # A command substitution left open (python -c "..." over several lines) continues
            # on the next lines until its parentheses balance.
            while text.count("(") > text.count(")") and j + 1 < len(lines) and j - i < 8:
                j += 1
                text += "\n" + lines[j]
            yield i + 1, text
            i = j + 1
        else:
            i += 1


def bad(text):
    t = text.rstrip()
    if not t.endswith("$?"):
        return False
    before = t[: -2]
    return re.search(r"\$\((?!\()", before) is not None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    root = os.path.abspath(ap.parse_args().root)
    files = subprocess.run(["git", "-C", root, "ls-files", "*.sh", "tests/lab/labctl"],
                           capture_output=True, text=True, check=True).stdout.split()
    found = 0
    for f in files:
        with open(os.path.join(root, f), errors="replace") as fh:
            lines = fh.read().split("\n")
        for n, text in statements(lines):
            if bad(text):
                found += 1
                print("%s:%d: $? after a $(...) in the message: %s" % (f, n, text.splitlines()[0][:100]))
    print("%d shell file(s) scanned, %d check(s) that read a command substitution's $?" % (len(files), found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
