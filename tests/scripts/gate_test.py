#!/usr/bin/python3
"""`synapse gate` as a release pipeline runs it (docs/gate.md).

  gate_test.py SYNAPSE_CLI SOURCE_DIR WORK_DIR

- examples/spam_filter/gate.json passes (exit 0); its junit.xml, report.json and report.html
  are checked (check_test_reports.py, report.html rendered in headless Chromium);
- a spec the model misses fails (exit 1) with each failure in junit.xml and on stdout;
- bad specs exit 2 with one line naming the JSON path, the JSON Schema rejects them too,
  and the previous reports stay as they were;
- SYNAPSE_MAX_EXAMPLES and --model override the spec.
"""
import json
import os
import shutil
import subprocess
import sys

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_test_reports as reports  # noqa: E402

cli, source, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
schema = json.load(open(os.path.join(source, "docs/gate-spec.schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
example = os.path.join(source, "examples/spam_filter/gate.json")
model_dir = os.path.join(source, "models/spam-tiny")


def fail(message):
    print("gate_test: " + message, file=sys.stderr)
    sys.exit(1)


def gate(spec_path, out, *extra, env=None):
    run_env = dict(os.environ)
    run_env.update(env or {})
    return subprocess.run([cli, "gate", "--spec", spec_path, "--out", out, *extra], capture_output=True, text=True,
                          env=run_env, timeout=600)


def write_spec(name, spec):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        json.dump(spec, f, indent=1)
    return path


# 1. The example passes.
spec = json.load(open(example))
errors = [e.message for e in validator.iter_errors(spec)]
if errors:
    fail(f"the example spec does not match the schema: {errors}")
out = os.path.join(work, "pass")
r = gate(example, out)
print(r.stdout)
if r.returncode != 0:
    fail(f"the example gate exited {r.returncode}: {r.stderr}")
if "gate passed: 11 of 11 assertions hold" not in r.stdout or "known weakness" not in r.stdout:
    fail("the summary table lacks the verdicts")
cases = reports.read_junit(out)
if len(cases) != 11 or any(c["status"] != "passed" for c in cases):
    fail(f"junit.xml: {[(c['name'], c['status']) for c in cases]}")
if any("synapse.1.metric" not in c["properties"] for c in cases):
    fail("junit.xml: a test case has no properties")
report = reports.read_report(out)
if report["gate"]["passed"] is not True or report["gate"]["assertions"] != 11:
    fail(f"report.json gate section: {report['gate']}")
reports.only_report_files(out)
reports.render(out, ["Test verdicts", "11 passed, 0 failed", "known weakness", "Baseline", "Logit flip budget"])

# 2. A spec the model misses.
missed = {
    "model": model_dir,
    "assertions": [
        {"name": "accuracy_above_the_model", "metric": "accuracy", "threshold": 0.99},
        {"name": "hard_ham_fixed", "metric": "recall", "class": "hard_ham", "threshold": 0.3, "known_weakness": True},
        {"name": "layer0_top64_hurts_more_than_random", "intervention": "ablate", "k": 64, "layer": 0,
         "metric": "hurts_more_than_random"},
        {"name": "still_fine", "metric": "flip_rate", "intervention": "logit_shift", "budget": 0.01,
         "threshold": 0.01},
    ],
}
errors = [e.message for e in validator.iter_errors(missed)]
if errors:
    fail(f"the failing spec does not match the schema: {errors}")
out_fail = os.path.join(work, "fail")
r = gate(write_spec("missed.json", missed), out_fail)
print(r.stdout)
if r.returncode != 1:
    fail(f"a missed spec exited {r.returncode}, not 1: {r.stderr}")
if "gate FAILED: 1 of 4 assertions hold" not in r.stdout or "FIXED (was a known weakness)" not in r.stdout:
    fail("the failing summary is wrong")
by_name = {c["name"]: c for c in reports.read_junit(out_fail)}
if [n for n, c in by_name.items() if c["status"] == "failed"] != ["accuracy_above_the_model", "hard_ham_fixed",
                                                                    "layer0_top64_hurts_more_than_random"]:
    fail(f"junit.xml failures: {[(n, c['status']) for n, c in by_name.items()]}")
if "whose accuracy is" not in by_name["accuracy_above_the_model"]["body"]:
    fail("the failure body lacks the explanation")
if "not significant" not in by_name["layer0_top64_hurts_more_than_random"]["body"]:
    fail("hurts_more_than_random: no test result in the failure")

# 3. Bad specs: exit 2, one line with the JSON path, rejected by the schema too, reports kept.
before = {f: open(os.path.join(out, f), "rb").read() for f in os.listdir(out)}
bad_specs = [
    ({"assertions": [{"metric": "accuracy", "threshold": "high"}]}, "assertions[0].threshold: expected a number"),
    ({"assertions": [{"metric": "acuracy", "threshold": 0.9}]}, "assertions[0].metric: \"acuracy\" is not a metric"),
    ({"assertions": [{"metric": "accuracy", "threshold": 0.9, "k": 3}]},
     "assertions[0].k: not used by intervention none"),
    ({"assertions": [{"metric": "recall", "threshold": 0.9}]}, "assertions[0].class: missing (a string)"),
    ({"assertions": [{"metric": "flip_rate", "threshold": 0.1, "intervention": "noise"}]},
     "assertions[0].sigma: missing (a number)"),
    ({"assertions": [{"metric": "accuracy", "threshold": 0.9}], "modle": "x"}, "modle: unknown key"),
    ({"assertions": []}, "assertions: empty"),
    ({"assertions": [{"metric": "hurts_more_than_random", "threshold": 0.1, "intervention": "ablate", "k": 3}]},
     "assertions[0].threshold: not used by hurts_more_than_random"),
]
for i, (bad, message) in enumerate(bad_specs):
    bad = dict(bad, model=model_dir)
    if validator.is_valid(bad):
        fail(f"the schema accepts bad spec {i}: {bad}")
    r = gate(write_spec(f"bad{i}.json", bad), out)
    lines = r.stderr.strip().splitlines()
    if r.returncode != 2 or len(lines) != 1 or message not in lines[0] or "[synapse.usage.404]" not in lines[0]:
        fail(f"bad spec {i}: exit {r.returncode}, stderr {r.stderr!r}, wanted {message!r}")
    print(f"bad spec {i}: {lines[0]}")
# A query that does not fit the model: a spec error too, naming the assertion.
r = gate(write_spec("badlayer.json", {"model": model_dir, "assertions": [
    {"name": "deep", "intervention": "ablate", "k": 3, "layer": 9, "metric": "accuracy", "threshold": 0.5}]}), out)
if r.returncode != 2 or "assertions[0] (deep): [synapse.spec.311]" not in r.stderr or "no layer 9" not in r.stderr:
    fail(f"a layer the model lacks: exit {r.returncode}, {r.stderr!r}")
print("bad layer:", r.stderr.strip())
after = {f: open(os.path.join(out, f), "rb").read() for f in os.listdir(out)}
if before != after:
    fail("a failed gate run changed the previous reports")

# 4. Overrides: the environment, then the command line.
out_small = os.path.join(work, "small")
r = gate(example, out_small, "--quiet", env={"SYNAPSE_MAX_EXAMPLES": "300"})
if r.returncode not in (0, 1) or r.stdout:
    fail(f"--quiet gate: exit {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}")
if reports.read_report(out_small)["data"]["examples"] != 300:
    fail("SYNAPSE_MAX_EXAMPLES did not reach the gate")
r = gate(example, os.path.join(work, "missing"), "--model", "/nonexistent/model")
if r.returncode != 2 or "--model: /nonexistent/model does not exist" not in r.stderr:
    fail(f"--model override: exit {r.returncode}, {r.stderr!r}")
print("gate_test: ok")
