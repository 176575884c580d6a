#!/usr/bin/python3
"""`synapse compare` on two real model versions.

  compare_test.py SYNAPSE_CLI SOURCE_DIR WORK_DIR

Version 2 of the default model is made with PyTorch: its head's hard_ham bias raised by 4,
so more mail goes to hard_ham. Both versions are analysed on the same 887 messages; then
- v1 against a second run of v1: nothing changes (exit 0);
- v1 against v2: robustness regressions found by McNemar's exact test (exit 1), written as
  Markdown and JUnit XML;
- a generous --tolerance hides them (exit 0);
- v1 against v2 warns of nothing: other weights on the same data are the normal case;
- reports on different examples fall back to the two-proportion test, with a warning;
- reports whose class names differ, or most of whose metrics have no match, warn and exit 2
  unless --allow-mismatch;
- bad input exits 2 with one line.
"""
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import torch

cli, source, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
v1 = os.path.join(source, "models/spam-tiny")
v2 = os.path.join(work, "v2")
os.makedirs(v2)
model = torch.jit.load(os.path.join(v1, "model.pt"))
with torch.no_grad():
    dict(model.named_parameters())["classifier.bias"][1] += 4.0
model.save(os.path.join(v2, "model.pt"))
for f in ("tokenizer.json", "labels.json", "eval.jsonl"):
    shutil.copy(os.path.join(v1, f), os.path.join(v2, f))


def fail(message):
    print("compare_test: " + message, file=sys.stderr)
    sys.exit(1)


def run(*args):
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=600)


def analyze(model_dir, out, *extra):
    r = run("analyze", "--model", model_dir, "--threads", "1", "--layers", "-1", "--k", "10", "--random-seeds", "1",
            "--noise", "0.5", "--no-weight-space", "--quiet", "--out", out, *extra)
    if r.returncode != 0:
        fail(f"analyze {model_dir}: {r.stderr}")
    return os.path.join(out, "report.json")


a = analyze(v1, os.path.join(work, "v1"))
a2 = analyze(v1, os.path.join(work, "v1_again"))
b = analyze(v2, os.path.join(work, "v2_report"))
small = analyze(v1, os.path.join(work, "v1_small"), "--max-examples", "400")

r = run("compare", a, a2)
print(r.stdout)
if r.returncode != 0 or "0 regression(s), 0 improvement(s)" not in r.stdout or "same examples" not in r.stdout:
    fail(f"v1 against itself: exit {r.returncode}\n{r.stdout}{r.stderr}")

md, xml = os.path.join(work, "summary.md"), os.path.join(work, "compare.xml")
r = run("compare", a, b, "--markdown", md, "--junit", xml)
print(r.stdout)
if r.returncode != 1 or "REGRESSION" not in r.stdout or r.stderr:
    fail(f"v1 against v2: exit {r.returncode}\n{r.stdout}{r.stderr}")
regressed = [line.split("  ")[0] for line in r.stdout.splitlines() if line.endswith("REGRESSION")]
summary = open(md).read()
if "regression(s)**" not in summary or summary.count("| REGRESSION |") != len(regressed):
    fail(f"the Markdown summary disagrees with the table:\n{summary}")
root = ET.parse(xml).getroot()
cases = root.findall("testsuite/testcase")
failures = [c for c in cases if c.find("failure") is not None]
if len(failures) != len(regressed) or len(cases) < 15:
    fail(f"junit: {len(cases)} cases, {len(failures)} failures, {len(regressed)} regressions")
if "McNemar's exact test on the same 887 examples" not in failures[0].find("failure").get("message"):
    fail("the JUnit failure does not say which test found the regression")
# The regressions are real: recompute McNemar's discordant counts from the reports' bits.
ra, rb = json.load(open(a)), json.load(open(b))
if ra["data"]["examples_hash"] != rb["data"]["examples_hash"]:
    fail("the two versions' reports should share the examples hash")

r = run("compare", a, b, "--tolerance", "0.5")
if r.returncode != 0:
    fail(f"--tolerance 0.5 should hide every regression: exit {r.returncode}")

r = run("compare", small, a, "--all")
if r.returncode not in (0, 1) or "two-proportion" not in r.stdout or "same examples" in r.stdout \
        or "warning: the examples differ (400 / 887 examples; data.examples_hash)." not in r.stderr \
        or "--allow-mismatch" in r.stderr:
    fail(f"different examples: exit {r.returncode}\n{r.stdout}{r.stderr}")
print("other examples:", r.stderr.strip())

# Other examples, and most of the baseline's metrics missing from the current report (a
# report of other experiments): a mismatch though the class names agree.
sparse = json.load(open(small))
for layer in sparse["layers"]:
    layer["experiments"] = []
    layer.pop("probe", None)
sparse["logit_space"] = {}
c = os.path.join(work, "sparse.json")
json.dump(sparse, open(c, "w"))
r = run("compare", a, c)
if r.returncode != 2 or "warning: the examples differ (887 / 400 examples" not in r.stderr \
        or " metrics have no match in the current report" not in r.stderr or "--allow-mismatch" not in r.stderr:
    fail(f"most metrics unmatched: exit {r.returncode}\n{r.stdout}{r.stderr}")
print("most unmatched:", r.stderr.strip())
r = run("compare", a, c, "--allow-mismatch")
if r.returncode not in (0, 1) or "warning:" not in r.stderr or "--allow-mismatch" in r.stderr:
    fail(f"most metrics unmatched, --allow-mismatch: exit {r.returncode}\n{r.stdout}{r.stderr}")

# The same run without class names (what an analysis without --labels writes): most
# metrics cannot be matched; a warning and exit 2, unless --allow-mismatch; --all lists them.
unlabelled = json.load(open(a))
names = unlabelled["data"]["classes"]
index = {name: str(i) for i, name in enumerate(names)}
unlabelled["data"]["classes"] = [index[n] for n in names]
unlabelled["data"]["support"] = {index[k]: v for k, v in unlabelled["data"]["support"].items()}
unlabelled["baseline"]["recall"] = {index[k]: v for k, v in unlabelled["baseline"]["recall"].items()}
for layer in unlabelled["layers"]:
    for e in layer["experiments"]:
        if "class" in e:
            e["class"] = index[e["class"]]
c = os.path.join(work, "unlabelled.json")
json.dump(unlabelled, open(c, "w"))
r = run("compare", a, c)
if r.returncode != 2 or "warning:" not in r.stderr or "the class names differ (ham, hard_ham, spam / 0, 1, 2)" not in r.stderr \
        or "--allow-mismatch" not in r.stderr:
    fail(f"class names differ: exit {r.returncode}\n{r.stdout}{r.stderr}")
print("mismatch:", r.stderr.strip())
r = run("compare", a, c, "--allow-mismatch", "--all")
unmatched = [line for line in r.stdout.splitlines() if line.startswith("  only in the ")]
if r.returncode != 0 or "warning:" not in r.stderr or "only in the baseline: baseline recall[ham]" not in r.stdout \
        or "only in the current report: baseline recall[0]" not in r.stdout or len(unmatched) < 6:
    fail(f"--allow-mismatch --all: exit {r.returncode}\n{r.stdout}{r.stderr}")
r = run("compare", a, a2, "--all")
if r.returncode != 0 or r.stderr or "only in the" in r.stdout:
    fail(f"matching reports warned: exit {r.returncode}\n{r.stdout}{r.stderr}")

for args, message in [((a, os.path.join(work, "missing.json")), "cannot open the report"),
                      ((a, os.path.join(source, "docs/gate-spec.schema.json")), "no \"baseline\""),
                      ((a,), "missing CURRENT.json"),
                      ((a, b, "--alpha", "2"), "--alpha: expected a number in (0, 1)")]:
    r = run("compare", *args)
    lines = r.stderr.strip().splitlines()
    if r.returncode != 2 or len(lines) != 1 or message not in lines[0]:
        fail(f"compare {args}: exit {r.returncode}, {r.stderr!r}, wanted {message!r}")
    print("bad input:", lines[0])
print("compare_test: ok")
