#!/usr/bin/python3
"""Runs the CI templates (ci/templates/) the way the CI services would, on a project laid
out as they expect: the example robustness tests as `build/robustness_tests`, this build's
CLI as `build/synapse/synapse`, examples/spam_filter/gate.json as `robustness.json`.

  ci_templates_test.py SOURCE_DIR SYNAPSE_CLI ROBUSTNESS_TESTS WORK_DIR

- GitLab: the job's script (after set-up and build) runs and exits 0; every JUnit file its
  artifacts name exists; with a baseline report the current model regresses against, the
  job exits 1 and still leaves its reports.
- GitHub Actions: the workflow's steps after the build run in order (ignoring `if:`); the
  step summary gets the comparison; the JUnit glob finds the three files.
- The sharded gate of both templates (GitLab `parallel:`, a GitHub matrix): every shard's
  job runs, the artifacts move as the services move them, and the merge job's report holds
  the unsharded gate's verdicts, in order.
"""
import re
import glob
import json
import os
import shutil
import subprocess
import sys

import yaml

source, cli, tests_binary, work = sys.argv[1:5]


def fail(message):
    print("ci_templates_test: " + message, file=sys.stderr)
    sys.exit(1)


def project(name, baseline_report):
    root = os.path.join(work, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "build/synapse"))
    os.makedirs(os.path.join(root, "robustness/baseline"))
    os.symlink(os.path.abspath(tests_binary), os.path.join(root, "build/robustness_tests"))
    os.symlink(os.path.abspath(cli), os.path.join(root, "build/synapse/synapse"))
    spec = json.load(open(os.path.join(source, "examples/spam_filter/gate.json")))
    spec["model"] = os.path.join(source, "models/spam-tiny")
    json.dump(spec, open(os.path.join(root, "robustness.json"), "w"))
    shutil.copy(baseline_report, os.path.join(root, "robustness/baseline/report.json"))
    return root


def run_shell(root, script, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run(["bash", "-e", "-c", script], cwd=root, capture_output=True, text=True, env=e, timeout=900)


os.makedirs(work, exist_ok=True)
# A baseline: the released version's gate report (the same model: no regression).
base_dir = os.path.join(work, "baseline_gate")
spec = json.load(open(os.path.join(source, "examples/spam_filter/gate.json")))
spec["model"] = os.path.join(source, "models/spam-tiny")
spec_path = os.path.join(work, "spec.json")
json.dump(spec, open(spec_path, "w"))
r = subprocess.run([cli, "gate", "--spec", spec_path, "--out", base_dir, "--quiet"], capture_output=True, text=True)
if r.returncode != 0:
    fail(f"baseline gate: {r.stderr}")
baseline = os.path.join(base_dir, "report.json")

# GitLab.
job = yaml.safe_load(open(os.path.join(source, "ci/templates/gitlab-ci.yml")))["robustness"]
script = job["script"]
start = script.index("status=0")
body = "\n".join(script[start:])
root = project("gitlab", baseline)
r = run_shell(root, body)
print(r.stdout[-1500:])
if r.returncode != 0:
    fail(f"the GitLab job failed on a passing model: exit {r.returncode}\n{r.stderr[-3000:]}")
for path in job["artifacts"]["reports"]["junit"]:
    if not os.path.exists(os.path.join(root, path)):
        fail(f"GitLab artifact {path} was not written")
if not os.path.exists(os.path.join(root, "reports/gate/report.html")):
    fail("no HTML report to keep")
# A baseline the current model regresses against: a report whose results are all right.
better = json.load(open(baseline))
n = better["baseline"]["n"]
import base64
everything_right = base64.b64encode(bytes([0xFF] * ((n + 7) // 8))).decode()
for layer in better["layers"]:
    for e in layer["experiments"]:
        m = e["metrics"]
        m["correct"], m["accuracy"], m["correct_bits"] = m["n"], 1.0, base64.b64encode(
            bytes([0xFF] * ((m["n"] + 7) // 8))).decode()
better["baseline"]["correct"], better["baseline"]["accuracy"] = n, 1.0
better["baseline"]["correct_bits"] = everything_right
better_path = os.path.join(work, "better.json")
json.dump(better, open(better_path, "w"))
root = project("gitlab_regressed", better_path)
r = run_shell(root, body)
if r.returncode != 1:
    fail(f"the GitLab job should fail on a regression: exit {r.returncode}\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
if "REGRESSION" not in r.stdout or not os.path.exists(os.path.join(root, "reports/compare/junit.xml")):
    fail("the regression was not reported")
print("GitLab template: passes on the released model, fails on a regression, reports either way")

# GitHub Actions.
workflow = yaml.safe_load(open(os.path.join(source, "ci/templates/github-actions.yml")))
steps = workflow["jobs"]["robustness"]["steps"]
names = [s.get("name", s.get("uses", "")) for s in steps]
build_at = names.index("Build")
root = project("github", baseline)
summary = os.path.join(root, "step_summary.md")
for step in steps[build_at + 1:]:
    if "run" not in step:
        continue
    r = run_shell(root, step["run"], env={"GITHUB_STEP_SUMMARY": summary})
    if r.returncode != 0:
        fail(f"GitHub step {step['name']!r} failed: {r.stderr[-2000:]}")
publish = next(s for s in steps if s.get("uses", "").startswith("mikepenz/action-junit-report"))
found = glob.glob(os.path.join(root, publish["with"]["report_paths"]), recursive=True)
if len(found) != 3:
    fail(f"the JUnit glob {publish['with']['report_paths']} finds {found}")
if "no regression" not in open(summary).read():
    fail("the step summary lacks the comparison")
upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
if not os.path.exists(os.path.join(root, upload["with"]["path"], "gate/report.html")):
    fail("the artifact path holds no HTML report")
print("GitHub Actions template: every step passes, the JUnit glob finds tests, gate and compare")


def same_verdicts(merged_dir, what):
    merged = json.load(open(os.path.join(merged_dir, "report.json")))
    reference = json.load(open(baseline))
    ours = [(t["name"], t["status"]) for t in merged["tests"]]
    theirs = [(t["name"], t["status"]) for t in reference["tests"]]
    if ours != theirs or merged["gate"]["assertions"] != reference["gate"]["assertions"]:
        fail(f"{what}: the merged shards hold {ours}, the unsharded gate {theirs}")
    if not os.path.exists(os.path.join(merged_dir, "junit.xml")):
        fail(f"{what}: no merged junit.xml")


# GitLab, sharded: `parallel: N` jobs, then the merge job on their artifacts.
gitlab = yaml.safe_load(open(os.path.join(source, "ci/templates/gitlab-ci.yml")))
shard_job, merge_job = gitlab["robustness-gate-shard"], gitlab["robustness-gate-merge"]
if merge_job["needs"] != ["robustness-gate-shard"]:
    fail("the GitLab merge job does not wait for the shards")
root = project("gitlab_shards", baseline)
body = "\n".join(shard_job["script"][shard_job["script"].index("status=0"):])
total = shard_job["parallel"]
for index in range(1, total + 1):
    r = run_shell(root, body, env={"CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": str(total)})
    if r.returncode != 0:
        fail(f"GitLab shard {index} of {total}: exit {r.returncode}\n{r.stderr[-2000:]}")
merge_lines = [line for line in merge_job["script"] if not line.startswith(("bash synapse/ci", "cmake "))]
r = run_shell(root, "\n".join(merge_lines))
if r.returncode != 0:
    fail(f"the GitLab merge job failed: {r.stderr[-2000:]}")
for path in merge_job["artifacts"]["reports"]["junit"]:
    if not os.path.exists(os.path.join(root, path)):
        fail(f"GitLab artifact {path} was not written")
same_verdicts(os.path.join(root, "reports/gate"), "GitLab")
print(f"GitLab template: the gate in {total} parallel shards merges into the unsharded verdicts")

# GitHub Actions, sharded: the matrix, upload-artifact / download-artifact, the merge job.
jobs = workflow["jobs"]
matrix = jobs["gate-shard"]["strategy"]["matrix"]["shard"]
if jobs["gate-merge"]["needs"] != "gate-shard":
    fail("the GitHub merge job does not wait for the shards")


def expand(text, context):
    def value(m):
        key = m.group(1).strip()
        if key not in context:
            fail(f"unknown expression ${{{{ {key} }}}} in {text!r}")
        return str(context[key])
    return re.sub(r"\$\{\{([^}]*)\}\}", value, text)


def steps_after_build(job):
    steps = job["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    return steps[names.index("Build") + 1:]


root = project("github_shards", baseline)
artifacts = os.path.join(root, "artifacts")
for shard in matrix:
    context = {"matrix.shard": shard, "strategy.job-total": len(matrix), "!cancelled()": "true"}
    for step in steps_after_build(jobs["gate-shard"]):
        if "run" in step:
            r = run_shell(root, expand(step["run"], context))
            if r.returncode != 0:
                fail(f"GitHub shard {shard}: step {step['name']!r} failed: {r.stderr[-2000:]}")
        elif step["uses"].startswith("actions/upload-artifact"):
            name = expand(step["with"]["name"], context)
            shutil.copytree(os.path.join(root, expand(step["with"]["path"], context)), os.path.join(artifacts, name))
for step in steps_after_build(jobs["gate-merge"]):
    if "run" in step:
        r = run_shell(root, step["run"])
        if r.returncode != 0:
            fail(f"GitHub merge step {step['name']!r} failed: {r.stderr[-2000:]}")
    elif step["uses"].startswith("actions/download-artifact"):
        # With a pattern and no merge-multiple, each artifact lands in PATH/<its name>/.
        pattern = re.compile(step["with"]["pattern"].replace("*", ".*") + "$")
        for name in sorted(os.listdir(artifacts)):
            if pattern.match(name):
                shutil.copytree(os.path.join(artifacts, name), os.path.join(root, step["with"]["path"], name))
    elif step["uses"].startswith("mikepenz/action-junit-report"):
        if not glob.glob(os.path.join(root, step["with"]["report_paths"]), recursive=True):
            fail("the merged JUnit file is missing")
same_verdicts(os.path.join(root, "reports/gate"), "GitHub Actions")
print(f"GitHub Actions template: the gate in a {len(matrix)}-shard matrix merges into the unsharded verdicts")
print("ci_templates_test: ok")
