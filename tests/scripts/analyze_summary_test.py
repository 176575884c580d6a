#!/usr/bin/python3
"""What `synapse analyze` prints, on the default model without a labels file (issue 23).

  analyze_summary_test.py SYNAPSE_CLI SOURCE_DIR WORK_DIR

Without class names, classes print as "class 0", not bare indices; and on 60 messages
with the top-1 neuron of the last layer, nothing moves: no "most fragile" layer or class
is named, in the summary printed and in report.json's (null). report.html names the
classes as the summary does.
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
if any(layer["fragility"]["excess"] > 0 for layer in report["layers"] if layer.get("fragility")):
    sys.exit("the fixture moved: this test needs an analysis where nothing moves")
# report.json says what the summary prints: nothing moved, nothing singled out.
for key in ("most_fragile_layer", "most_fragile_class"):
    if report["summary"][key] is not None:
        sys.exit(f"nothing moved, yet summary.{key} is {report['summary'][key]}")
v = subprocess.run([sys.executable, os.path.join(source, "tests/scripts/validate_report.py"),
                    os.path.join(source, "docs/report.schema.json"), os.path.join(work, "report", "report.json")],
                   capture_output=True, text=True)
if v.returncode != 0:
    sys.exit(f"the report does not match the schema: {v.stdout}{v.stderr}")
html = open(os.path.join(work, "report", "report.html")).read()
for want in (">recall class 0<", ">drop of class 2<", "top-1 of class 1"):
    if want not in html:
        sys.exit(f"report.html should name classes as the summary does: no {want!r}")
print("analyze_summary_test: ok")
