#!/usr/bin/python3
"""What `synapse analyze` prints, on the default model without a labels file (issue 23).

  analyze_summary_test.py SYNAPSE_CLI SOURCE_DIR WORK_DIR

Without class names, classes print as "class 0", not bare indices; and on 60 messages
with the top-1 neuron of the last layer, nothing moves: no "most fragile" layer or class
is named.
"""
import json
import os
import shutil
import subprocess
import sys

cli, source, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
model_dir = os.path.join(source, "models", "spam-tiny")
# The default model and its messages, labelled by index and with no labels.json beside them.
shutil.copy(os.path.join(model_dir, "model.pt"), work)
names = json.load(open(os.path.join(model_dir, "labels.json")))
with open(os.path.join(work, "eval.jsonl"), "w") as out:
    for line in open(os.path.join(model_dir, "eval.jsonl")):
        row = json.loads(line)
        row["label"] = names.index(row["label"])
        out.write(json.dumps(row) + "\n")
r = subprocess.run([cli, "analyze", "--model", os.path.join(work, "model.pt"), "--data", os.path.join(work, "eval.jsonl"),
                    "--tokenizer", os.path.join(model_dir, "tokenizer.json"), "--max-examples", "60", "--layers", "-1",
                    "--k", "1", "--random-seeds", "1", "--noise", "none", "--weight-noise", "none", "--no-weight-space",
                    "--threads", "1", "--no-cache", "--out", os.path.join(work, "report")],
                   capture_output=True, text=True, timeout=300)
print(r.stdout)
if r.returncode != 0:
    sys.exit(f"analyze: exit {r.returncode}\n{r.stderr}")
baseline = next(line for line in r.stdout.splitlines() if line.startswith("baseline"))
if "recall class 0 " not in baseline or " class 2 " not in baseline:
    sys.exit(f"classes without names should print as 'class 0': {baseline!r}")
for what in ("layer", "class"):
    line = next(line for line in r.stdout.splitlines() if line.startswith(f"most fragile {what}"))
    if " none: " not in line:
        sys.exit(f"nothing moved, yet: {line!r}")
report = json.load(open(os.path.join(work, "report", "report.json")))
if report["summary"]["most_fragile_layer"]["excess"] > 0:
    sys.exit("the fixture moved: this test needs an analysis where nothing moves")
print("analyze_summary_test: ok")
