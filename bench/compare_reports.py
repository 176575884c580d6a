#!/usr/bin/python3
"""Compares two report.json files number by number, timings aside.

    bench/compare_reports.py OLD/report.json NEW/report.json [--tolerance 1e-6]

Leaves out `timing`, `environment` and each probe's `seconds` (how long and where, not
what was measured) and the model, data, tokenizer and labels paths. Prints every value that differs (beyond --tolerance for
numbers), every key only one report has, and the weight-space pass counts (which a
faster engine changes by design) apart from the rest. Exits 1 when any other value
differs, else 0.
"""
import argparse
import json
import sys

IGNORED = {("timing",), ("environment",), ("model", "path"), ("data", "path"), ("data", "tokenizer"),
           ("data", "labels")}
TIMES = {"seconds"}  # per-probe timings inside layers
# Counts of forward passes: how a number was computed, not the number.
PASS_COUNTS = {"forward_passes"}


def walk(old, new, path, out, tolerance):
    if tuple(path) in IGNORED or (path and path[-1] in TIMES):
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
    args = parser.parse_args()
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
    return 1 if out["changed"] else 0


def new_value(report, path):
    for p in path:
        report = report[p]
    return report


if __name__ == "__main__":
    sys.exit(main())
