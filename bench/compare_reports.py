#!/usr/bin/python3
"""Compares two report.json files number by number, timings aside.

    bench/compare_reports.py OLD/report.json NEW/report.json [--tolerance 1e-6] [--strict]
        [--path OLD_PREFIX=NEW_PREFIX ...]

Leaves out `timing`, `environment` and each probe's `seconds` (how long and where, not
what was measured) and the model, data, tokenizer and labels paths. Prints every value that differs (beyond --tolerance for
numbers), every key only one report has, and the weight-space pass counts (which a
faster engine changes by design) apart from the rest. Exits 1 when any other value
differs, else 0; with --strict also when a key is only in one report or a pass count
changed (a refactoring must change nothing). --path makes paths under two checkouts or
output directories compare equal.
"""
import argparse
import json
import sys

IGNORED = {("timing",), ("environment",), ("model", "path"), ("data", "path"), ("data", "tokenizer"),
           ("data", "labels")}
TIMES = {"seconds"}  # per-probe timings inside layers; and every key ending in _s
# Counts of forward passes: how a number was computed, not the number.
PASS_COUNTS = {"forward_passes"}
PATHS = []  # (old prefix, new prefix), from --path


def walk(old, new, path, out, tolerance):
    if tuple(path) in IGNORED or (path and (path[-1] in TIMES or str(path[-1]).endswith("_s"))):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            if key not in new:
                out["only_old"].append(path + [key])
            else:
                walk(old[key], new[key], path + [key], out, tolerance)
        for key in new:
            if key not in old:
                out["only_new"].append(path + [key])
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            walk(a, b, path + [i], out, tolerance)
        return
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    if numbers and abs(old - new) <= tolerance:
        if old != new:
            out["rounding"].append((path, old, new))
        return
    if isinstance(old, str) and isinstance(new, str):
        for a, b in PATHS:
            old = old.replace(a, b)
    if old == new:
        return
    kind = "passes" if path and path[-1] in PASS_COUNTS else "changed"
    out[kind].append((path, old, new))


def name(path):
    return ".".join(str(p) for p in path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="numbers closer than this count as equal (default 0: bit for bit)")
    parser.add_argument("--strict", action="store_true",
                        help="keys in one report only and changed pass counts are differences too")
    parser.add_argument("--path", action="append", default=[], metavar="OLD=NEW",
                        help="replace OLD by NEW in the old report's strings before comparing")
    args = parser.parse_args()
    for p in args.path:
        a, _, b = p.partition("=")
        PATHS.append((a, b))
    with open(args.old) as f:
        old = json.load(f)
    with open(args.new) as f:
        new = json.load(f)
    out = {"only_old": [], "only_new": [], "changed": [], "passes": [], "rounding": []}
    walk(old, new, [], out, args.tolerance)
    for path in out["only_new"]:
        print("added    " + name(path) + " = " + json.dumps(new_value(new, path))[:120])
    for path in out["only_old"]:
        print("removed  " + name(path))
    for path, a, b in out["passes"]:
        print("passes   %s: %s -> %s" % (name(path), a, b))
    for path, a, b in out["rounding"]:
        print("rounding %s: %r -> %r" % (name(path), a, b))
    for path, a, b in out["changed"]:
        print("CHANGED  %s: %s -> %s" % (name(path), json.dumps(a)[:80], json.dumps(b)[:80]))
    print("%d values differ (beyond %g), %d pass counts changed, %d keys added, %d removed"
          % (len(out["changed"]), args.tolerance, len(out["passes"]), len(out["only_new"]), len(out["only_old"])))
    if args.strict:
        return 1 if out["changed"] or out["passes"] or out["only_new"] or out["only_old"] else 0
    return 1 if out["changed"] else 0


def new_value(report, path):
    for p in path:
        report = report[p]
    return report


if __name__ == "__main__":
    sys.exit(main())
