#!/usr/bin/python3
"""Robustness tests in a team's own GoogleTest setup (tests/gtest_setups/).

  gtest_setups_test.py OWN_MAIN GTEST_MAIN WORK NODE_MODULES SYNAPSE_CLI SOURCE_DIR

OWN_MAIN and GTEST_MAIN are the same tests linked with synapse::gtest and a main() of their
own or GoogleTest's gtest_main. For both: --synapse_model and SYNAPSE_REPORT_DIR are
honoured, --synapse_report_dir writes the reports, --synapse_pad_id sets the pad id, an
unknown --synapse_ flag exits 2 with one line. Then one process per test, two at a time (what gtest_discover_tests and ctest -j2
do), into one report directory: junit.xml and report.json hold every test, and a rerun of
one test replaces it. junit.xml is read back by junit2json (npm, NODE_MODULES): a failed
assertion's <failure message> is its explanation, not GoogleMock's first line, for the
plugin and for `synapse gate`.
"""
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys

FAILING = {"Setup.FailingHardHamRecall", "Setup.FailingPlainAssertion"}


def fail(message):
    print("gtest_setups_test: " + message, file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def run(binary, *args, env=None):
    full_env = dict(os.environ)
    for key in [k for k in full_env if k.startswith("SYNAPSE_")]:
        del full_env[key]
    full_env.update(env or {})
    return subprocess.run([binary, *args], capture_output=True, text=True, env=full_env, timeout=300)


def junit(directory, node_modules):
    """junit.xml as junit2json reads it: {suite.name: {message, inner} or None}."""
    path = os.path.join(directory, "junit.xml")
    expect(os.path.exists(path), f"{path} is missing")
    cli = os.path.join(node_modules, "junit2json", "dist", "esm", "cli.js")
    out = subprocess.run(["node", cli, path], capture_output=True, text=True, check=True).stdout
    parsed = json.loads(out)
    cases = {}
    for suite in parsed.get("testsuite", []):
        for case in suite.get("testcase", []):
            failure = (case.get("failure") or [None])[0]
            cases[f"{case['classname']}.{case['name']}"] = failure
    expect(parsed["tests"] == len(cases), f"{path}: tests={parsed['tests']} but {len(cases)} test cases")
    return cases


def check_binary(binary, work, node_modules, cache):
    name = os.path.basename(binary)
    common = [f"--synapse_cache_dir={cache}", "--gtest_brief=1"]

    # An unknown --synapse_ flag fails: exit 2, one line.
    r = run(binary, "--synapse_bogus=1", *common)
    expect(r.returncode == 2, f"{name} --synapse_bogus=1: exit {r.returncode}, not 2\n{r.stdout}{r.stderr}")
    lines = r.stderr.strip().splitlines()
    expect(len(lines) == 1 and "--synapse_bogus=1: unknown flag" in lines[0], f"{name}: stderr {r.stderr!r}")

    # --synapse_model is the model under test, over the test file's Config.
    r = run(binary, "--gtest_filter=Setup.BaselineAccuracy", "--synapse_model=/does/not/exist", *common)
    expect(r.returncode == 1, f"{name} --synapse_model=/does/not/exist: exit {r.returncode}, not 1\n{r.stdout}")
    expect("--synapse_model: /does/not/exist does not exist" in r.stdout, f"{name}: {r.stdout}")

    # SYNAPSE_MODEL too, and SYNAPSE_REPORT_DIR writes the reports.
    env_dir = os.path.join(work, name + "-env")
    r = run(binary, "--gtest_filter=Setup.BaselineAccuracy", *common,
            env={"SYNAPSE_MODEL": "/nowhere/else", "SYNAPSE_REPORT_DIR": env_dir})
    expect(r.returncode == 1 and "SYNAPSE_MODEL: /nowhere/else does not exist" in r.stdout, f"{name}: {r.stdout}")
    expect(os.path.exists(os.path.join(env_dir, "junit.xml")), f"{name}: SYNAPSE_REPORT_DIR wrote nothing")
    r = run(binary, "--gtest_filter=Setup.BaselineAccuracy", *common, env={"SYNAPSE_REPORT_DIR": env_dir})
    expect(r.returncode == 0, f"{name}: {r.stdout}{r.stderr}")
    cases = junit(env_dir, node_modules)
    expect(list(cases) == ["Setup.BaselineAccuracy"] and cases["Setup.BaselineAccuracy"] is None,
           f"{name}: the rerun did not replace the failed run of the same test: {cases}")

    # --synapse_report_dir, with failures: the message is the explanation, in one line.
    flag_dir = os.path.join(work, name + "-flag")
    r = run(binary, "--gtest_filter=Setup.BaselineAccuracy:Setup.Failing*", f"--synapse_report_dir={flag_dir}",
            *common)
    expect(r.returncode == 1, f"{name}: failing tests exit {r.returncode}\n{r.stdout}{r.stderr}")
    cases = junit(flag_dir, node_modules)
    expect(set(cases) == {"Setup.BaselineAccuracy"} | FAILING, f"{name}: {sorted(cases)}")
    recall = cases["Setup.FailingHardHamRecall"]
    expect(recall is not None, f"{name}: FailingHardHamRecall has no <failure>")
    message = recall["message"]
    expect(message.startswith('Baseline(): whose recall of class "hard_ham" is '), f"{name}: message {message!r}")
    # 5 hard_ham messages among the 120: no recall reaches a lower bound of 0.9.
    expect(message.endswith("; the lower bound 0.118 misses 0.900; unreachable with 5 examples: the best possible "
                             "lower bound is 0.566"), f"{name}: message {message!r}")
    expect("Value of:" not in message and "\n" not in message, f"{name}: message {message!r}")
    expect("Value of: Baseline()" in recall["inner"], f"{name}: the body lost GoogleMock's text: {recall['inner']!r}")
    plain = cases["Setup.FailingPlainAssertion"]
    expect(plain is not None and "Expected equality of these values" in plain["message"], f"{name}: {plain}")

    # --synapse_pad_id on the command line: the pad id the batches use (report.json's
    # options.pad_id; without it the tokenizer's, 0 for the default model), and a
    # negative one fails the test with the flag named.
    pad_dir = os.path.join(work, name + "-pad")
    r = run(binary, "--gtest_filter=Setup.BaselineAccuracy", "--synapse_pad_id=3", f"--synapse_report_dir={pad_dir}",
            *common)
    expect(r.returncode == 0, f"{name} --synapse_pad_id=3: exit {r.returncode}\n{r.stdout}{r.stderr}")
    pad = json.load(open(os.path.join(pad_dir, "report.json")))["options"]["pad_id"]
    expect(pad == 3, f"{name} --synapse_pad_id=3: options.pad_id is {pad}")
    default_pad = json.load(open(os.path.join(flag_dir, "report.json")))["options"]["pad_id"]
    expect(default_pad == 0, f"{name}: without --synapse_pad_id, options.pad_id is {default_pad}, not the tokenizer's 0")
    r = run(binary, "--gtest_filter=Setup.BaselineAccuracy", "--synapse_pad_id=-1", *common)
    expect(r.returncode == 1 and '--synapse_pad_id: expected a non-negative integer, got "-1"' in r.stdout,
           f"{name} --synapse_pad_id=-1: exit {r.returncode}\n{r.stdout}{r.stderr}")
    print(f"{name}: flags, environment and reports work; message: {message}")


def check_one_process_per_test(binary, work, node_modules, cache):
    listing = run(binary, "--gtest_list_tests").stdout
    tests, suite = [], ""
    for line in listing.splitlines():
        if not line.startswith(" "):
            suite = line.strip()
        else:
            tests.append(suite + line.strip())
    expect(len(tests) == 6, f"--gtest_list_tests: {tests}")
    reports = os.path.join(work, "per-test")

    def one(test):
        return test, run(binary, f"--gtest_filter={test}", f"--synapse_report_dir={reports}",
                         f"--synapse_cache_dir={cache}", "--gtest_brief=1")

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for test, r in pool.map(one, tests):
            expect(r.returncode == (1 if test in FAILING else 0), f"{test}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    cases = junit(reports, node_modules)
    expect(set(cases) == set(tests), f"one process per test: junit.xml holds {sorted(cases)}, not {sorted(tests)}")
    report = json.load(open(os.path.join(reports, "report.json")))
    expect(len(report["tests"]) == len(tests) and report["parts"] == len(tests), "report.json: tests or parts")
    expect(report["baseline"] is not None, "report.json: no baseline")
    queries = {row["query"] for layer in report["layers"] for row in layer["experiments"]}
    expect({"Ablate(TopK(5)).AtLayer(-1)", "Noise(0.1).AtLayer(0)"} <= queries,
           f"report.json: the processes' experiments were not united: {queries}")
    expect(any(q["query"] == "LogitShift(0.001)" for q in report["other_queries"]), "report.json: other_queries")

    # A rerun of one test replaces it (and its stale part goes).
    r = run(binary, "--gtest_filter=Setup.LogitShift", f"--synapse_report_dir={reports}", f"--synapse_cache_dir={cache}")
    expect(r.returncode == 0, r.stdout + r.stderr)
    report = json.load(open(os.path.join(reports, "report.json")))
    names = [f"{t['suite']}.{t['name']}" for t in report["tests"]]
    expect(sorted(names) == sorted(tests), f"after a rerun: {names}")
    parts = [p for p in os.listdir(os.path.join(reports, "parts")) if p.endswith(".json")]
    expect(len(parts) == len(tests), f"after a rerun: {len(parts)} parts, not {len(tests)}")
    print(f"one process per test, two at a time: junit.xml and report.json hold all {len(tests)} tests")


def check_gate(cli, source_dir, work, node_modules, cache):
    spec = os.path.join(work, "gate.json")
    model = os.path.join(source_dir, "models", "spam-tiny")
    with open(spec, "w") as f:
        json.dump({"model": model, "max_examples": 120, "confidence": 0.95, "assertions": [
            {"name": "accuracy", "metric": "accuracy", "threshold": 0.5},
            {"name": "hard_ham", "metric": "recall", "class": "hard_ham", "threshold": 0.9},
            {"name": "hard_ham_estimate", "metric": "recall", "class": "hard_ham", "threshold": 0.9,
             "confidence": "none"}]}, f)
    out = os.path.join(work, "gate")
    r = run(cli, "gate", "--spec", spec, "--out", out, "--cache-dir", cache)
    expect(r.returncode == 1, f"synapse gate: exit {r.returncode}\n{r.stdout}{r.stderr}")
    cases = junit(out, node_modules)
    expect(cases["gate.gate.accuracy"] is None, f"gate: {cases}")
    bounded = cases["gate.gate.hard_ham"]["message"]
    estimate = cases["gate.gate.hard_ham_estimate"]["message"]
    expect(bounded.startswith('Baseline(): whose recall of class "hard_ham" is ') and " misses 0.900" in bounded,
           f"gate: message {bounded!r}")
    # "confidence": "none" tests the estimate: no bound in its explanation.
    expect("bound" not in estimate and estimate.startswith("Baseline(): whose recall"), f"gate: message {estimate!r}")
    print(f"synapse gate: message: {bounded}")


def check_merge(cli, work, node_modules):
    """synapse merge: the per-test parts and the gate's report.json, joined elsewhere."""
    out = os.path.join(work, "merged")
    r = run(cli, "merge", "--out", out, os.path.join(work, "per-test"), os.path.join(work, "gate"))
    expect(r.returncode == 1, f"synapse merge: exit {r.returncode} (failed tests are in it)\n{r.stdout}{r.stderr}")
    cases = junit(out, node_modules)
    expect(len(cases) == 9 and "gate.gate.hard_ham" in cases and "Setup.LogitShift" in cases, f"merge: {sorted(cases)}")
    report = json.load(open(os.path.join(out, "report.json")))
    expect(report["parts"] == 7 and report["baseline"] is not None, f"merge: parts {report.get('parts')}")
    empty = os.path.join(work, "empty")
    os.makedirs(empty)
    r = run(cli, "merge", "--out", out, empty)
    expect(r.returncode == 2 and "empty: no parts/*.json and no report.json to merge" in r.stderr, f"merge: {r.stderr}")
    print(f"synapse merge: {len(cases)} tests joined from 7 reports")


def main():
    own_main, gtest_main, work, node_modules, cli, source_dir = sys.argv[1:7]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cache = os.path.join(work, "cache")
    for binary in (own_main, gtest_main):
        check_binary(binary, work, node_modules, cache)
    check_one_process_per_test(own_main, work, node_modules, cache)
    check_gate(cli, source_dir, work, node_modules, cache)
    check_merge(cli, work, node_modules)


if __name__ == "__main__":
    main()
