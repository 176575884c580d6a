#!/usr/bin/python3
"""`synapse gate --adaptive`, and gate and analyze runs split in shards (docs/gate.md).

  shard_adaptive_test.py SYNAPSE_CLI SOURCE_DIR WORK_DIR

- examples/spam_filter/gate.json in 3 shards (--shard, and GTEST_SHARD_INDEX /
  GTEST_TOTAL_SHARDS), merged in the wrong order by `synapse merge`, gives the unsharded
  run's report.json and junit.xml, timings aside; so do 2 shards of a small analysis;
- a bad shard (--shard 3/2, an index without a total) exits 2 with [synapse.usage.405];
- --adaptive on the same spec spends fewer example-passes than the full run, whose cost it
  predicts exactly, and keeps every verdict the full run decides with a margin; without
  the spec's confidence (the whole-set guarantee) it keeps every verdict.
"""
import json
import os
import re
import shutil
import subprocess
import sys

cli, source, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
example = os.path.join(source, "examples/spam_filter/gate.json")
TIMINGS = {"time_s", "seconds", "probe_seconds", "environment", "timing", "parts"}


def fail(message):
    print("shard_adaptive_test: " + message, file=sys.stderr)
    sys.exit(1)


def run(*args, env=None, expect=0):
    run_env = dict(os.environ)
    run_env.update(env or {})
    r = subprocess.run([cli, *args], capture_output=True, text=True, env=run_env, timeout=600)
    if r.returncode != expect:
        fail(f"{' '.join(args)}: exit {r.returncode}, expected {expect}\n{r.stdout}\n{r.stderr}")
    return r


def strip(x, drop=TIMINGS):
    if isinstance(x, dict):
        return {k: strip(v, drop) for k, v in x.items() if k not in drop}
    if isinstance(x, list):
        return [strip(v, drop) for v in x]
    return x


def first_difference(a, b, path=""):
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}/{k}: only in one"
            d = first_difference(a[k], b[k], f"{path}/{k}")
            if d:
                return d
    elif isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} entries"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
    elif a != b:
        return f"{path}: {a!r} vs {b!r}"
    return None


def report(d):
    return json.load(open(os.path.join(d, "report.json")))


def junit(d):
    text = open(os.path.join(d, "junit.xml")).read()
    return re.sub(r' (time|timestamp)="[^"]*"', "", text)


# 1. The unsharded gate, then 3 shards merged.
full_dir = os.path.join(work, "full")
run("gate", "--spec", example, "--out", full_dir, "--quiet")
full = report(full_dir)
shards = []
for i in range(3):
    d = os.path.join(work, f"shard-{i}")
    if i == 1:
        run("gate", "--spec", example, "--out", d, "--quiet", env={"GTEST_TOTAL_SHARDS": "3", "GTEST_SHARD_INDEX": "1"})
    else:
        run("gate", "--spec", example, "--out", d, "--quiet", "--shard", f"{i}/3")
    part = report(d)
    if part["gate"]["shard"] != {"index": i, "total": 3}:
        fail(f"shard {i}: gate.shard is {part['gate'].get('shard')}")
    shards.append(d)
counts = [len(report(d)["tests"]) for d in shards]
if sum(counts) != len(full["tests"]) or min(counts) == 0:
    fail(f"the shards ran {counts} assertions of {len(full['tests'])}")
merged_dir = os.path.join(work, "merged")
run("merge", "--out", merged_dir, "--quiet", shards[2], shards[0], shards[1])
# Each shard pays its own extraction: the merged example-passes are the shards' sum.
diff = first_difference(strip(full, TIMINGS | {"example_passes"}), strip(report(merged_dir), TIMINGS | {"example_passes"}))
if diff:
    fail(f"the merged gate shards differ from the unsharded run at {diff}")
if junit(full_dir) != junit(merged_dir):
    fail("the merged junit.xml differs from the unsharded run's")
passes = sum(report(d)["gate"]["example_passes"] for d in shards)
if report(merged_dir)["gate"]["example_passes"] != passes:
    fail("the merged example_passes are not the shards' sum")

# 2. Bad shards.
for args, env in ((["--shard", "3/2"], {}), (["--shard", "1"], {}), ([], {"GTEST_TOTAL_SHARDS": "2"}),
                  ([], {"GTEST_TOTAL_SHARDS": "2", "GTEST_SHARD_INDEX": "-1"})):
    r = run("gate", "--spec", example, "--out", os.path.join(work, "bad"), *args, env=env, expect=2)
    lines = r.stderr.strip().splitlines()
    if len(lines) != 1 or "[synapse.usage.405]" not in lines[0]:
        fail(f"{args} {env}: expected one line with [synapse.usage.405], got {r.stderr!r}")
if os.path.exists(os.path.join(work, "bad")):
    fail("a bad shard wrote reports")

# 3. Adaptive: fewer example-passes, the full run's cost predicted, verdicts kept.
def verdicts(rep):
    return {t["name"]: t["status"] for t in rep["tests"]}


def margin(test):
    a = test["assertions"][0]
    if a["tested"] is None or a["threshold"] is None:
        return 0
    return abs(a["tested"] - a["threshold"])


for name, spec_path, min_ratio in (("population", example, 1.25), ("whole_set", None, 1.7)):
    reference = full
    if spec_path is None:
        spec = json.load(open(example))
        del spec["confidence"]
        spec["model"] = os.path.join(source, "models/spam-tiny")
        spec_path = os.path.join(work, "no_confidence.json")
        json.dump(spec, open(spec_path, "w"))
        ref_dir = os.path.join(work, "full_no_confidence")
        run("gate", "--spec", spec_path, "--out", ref_dir, "--quiet")
        reference = report(ref_dir)
    d = os.path.join(work, "adaptive_" + name)
    r = subprocess.run([cli, "gate", "--spec", spec_path, "--out", d, "--adaptive"], capture_output=True, text=True,
                       timeout=600)
    if r.returncode not in (0, 1):
        fail(f"--adaptive ({name}): exit {r.returncode}\n{r.stderr}")
    print(r.stdout)
    rep = report(d)
    g = rep["gate"]
    if not g["adaptive"] or g["full_run_example_passes"] != reference["gate"]["example_passes"]:
        fail(f"{name}: the full run cost {reference['gate']['example_passes']}, adaptive predicted "
             f"{g.get('full_run_example_passes')}")
    ratio = g["full_run_example_passes"] / g["example_passes"]
    if ratio < min_ratio:
        fail(f"{name}: {g['example_passes']} example-passes against {g['full_run_example_passes']} (x{ratio:.2f})")
    n = rep["data"]["examples"]
    for t in rep["tests"]:
        a = t["adaptive"]
        if not (0 < a["examples"] <= a["of"] == n) or a["stopped"] not in (
                "decided", "certain", "whole set", "needs the whole set"):
            fail(f"{name}: {t['name']}: bad adaptive entry {a}")
        if a["stopped"] == "decided" and a["bound"] is None:
            fail(f"{name}: {t['name']}: decided without a bound")
    if not any(t["adaptive"]["examples"] < n for t in rep["tests"]):
        fail(f"{name}: no assertion stopped early")
    ours, theirs = verdicts(rep), verdicts(reference)
    by_name = {t["name"]: t for t in reference["tests"]}
    for test, status in theirs.items():
        # The full run decides it with a margin: its bound or estimate is 0.01 from the threshold.
        if ours[test] != status and (name == "whole_set" or margin(by_name[test]) > 0.01):
            fail(f"{name}: {test} is {ours[test]} adaptively and {status} in the full run")
    print(f"shard_adaptive_test: {name}: {g['example_passes']:.0f} example-passes, the full run "
          f"{g['full_run_example_passes']:.0f} (x{ratio:.2f}); differing verdicts: "
          f"{sorted(t for t in theirs if ours[t] != theirs[t])}")

# 4. A small analysis in 2 shards, merged.
small = ["--max-examples", "100", "--k", "5", "--noise", "0.5", "--random-seeds", "1", "--weight-noise", "0.1",
         "--bisect-steps", "4", "--quiet"]
run("analyze", *small, "--out", os.path.join(work, "analysis"))
for i in range(2):
    run("analyze", *small, "--shard", f"{i}/2", "--out", os.path.join(work, f"analysis-{i}"))
if report(os.path.join(work, "analysis-1"))["weight_space"] != {"skipped": "another shard"}:
    fail("shard 1 ran the weight space")
for i in range(2):
    r = subprocess.run([sys.executable, os.path.join(source, "tests/scripts/validate_report.py"),
                        os.path.join(source, "docs/report.schema.json"),
                        os.path.join(work, f"analysis-{i}", "report.json")], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"analysis shard {i} does not match the report schema: {r.stdout}{r.stderr}")
run("merge", "--out", os.path.join(work, "analysis-merged"), "--quiet", os.path.join(work, "analysis-1"),
    os.path.join(work, "analysis-0"))
diff = first_difference(strip(report(os.path.join(work, "analysis"))),
                        strip(report(os.path.join(work, "analysis-merged"))))
if diff:
    fail(f"the merged analysis shards differ from the unsharded analysis at {diff}")
print("shard_adaptive_test: ok")
