#!/usr/bin/python3
"""Checks the reports a robustness test binary wrote (synapse::robustness::InstallReporters).

  check_test_reports.py passing DIR          the example suite: every test passed
  check_test_reports.py failing DIR          the failing binary: failures and a skip
  check_test_reports.py sharded DIR FULLDIR  shard-0 and shard-1 under DIR cover FULLDIR's tests

junit.xml is parsed as a JUnit consumer would; report.json is read; report.html is rendered in
headless Chromium (its DOM after rendering, and a screenshot that must not be blank).
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

from PIL import Image


def fail(message):
    print("check_test_reports: " + message, file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def read_junit(directory):
    path = os.path.join(directory, "junit.xml")
    expect(os.path.exists(path), f"{path} is missing")
    root = ET.parse(path).getroot()
    expect(root.tag == "testsuites", f"{path}: root is <{root.tag}>, not <testsuites>")
    cases = []
    for suite in root.findall("testsuite"):
        expect(int(suite.get("tests")) == len(suite.findall("testcase")), f"{path}: tests= disagrees in {suite.get('name')}")
        for case in suite.findall("testcase"):
            expect(case.get("classname") == suite.get("name"), f"{path}: classname of {case.get('name')}")
            float(case.get("time"))
            props = {p.get("name"): p.get("value") for p in case.findall("properties/property")}
            failure = case.find("failure")
            cases.append({
                "suite": suite.get("name"),
                "name": case.get("name"),
                "status": "failed" if failure is not None else "skipped" if case.find("skipped") is not None else "passed",
                "message": failure.get("message") if failure is not None else "",
                "body": failure.text if failure is not None else "",
                "properties": props,
            })
    expect(int(root.get("tests")) == len(cases), f"{path}: <testsuites tests> is not the number of test cases")
    expect(int(root.get("failures")) == sum(c["status"] == "failed" for c in cases), f"{path}: failures= is wrong")
    return cases


def read_report(directory):
    path = os.path.join(directory, "report.json")
    expect(os.path.exists(path), f"{path} is missing")
    with open(path) as f:
        return json.load(f)


def render(directory, must_contain):
    """Renders report.html in headless Chromium; returns its DOM text."""
    html = os.path.join(os.path.abspath(directory), "report.html")
    expect(os.path.exists(html), f"{html} is missing")
    with open(html) as f:
        source = f.read()
    expect("http://" not in source.replace("http://www.w3.org/2000/svg", "") and "https://" not in source,
           f"{html} refers to the network")
    with tempfile.TemporaryDirectory() as profile:
        common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                  f"--user-data-dir={profile}", "--window-size=1280,2400"]
        dom = subprocess.run(common + ["--dump-dom", "file://" + html], capture_output=True, text=True, timeout=120)
        expect(dom.returncode == 0, f"chromium --dump-dom failed: {dom.stderr[-2000:]}")
        shot = os.path.join(directory, "report.png")
        r = subprocess.run(common + [f"--screenshot={shot}", "file://" + html], capture_output=True, text=True,
                           timeout=120)
        expect(r.returncode == 0 and os.path.exists(shot), f"chromium --screenshot failed: {r.stderr[-2000:]}")
    for text in must_contain:
        expect(text in dom.stdout, f"the rendered report.html lacks {text!r}")
    image = Image.open(shot).convert("RGB")
    pixels = image.getdata()
    inked = sum(1 for p in pixels if sum(p) < 720)  # not white
    colours = len(set(image.resize((320, 600)).getdata()))
    share = inked / (image.width * image.height)
    print(f"report.html rendered: {image.width}x{image.height}, {share:.1%} inked, {colours} colours")
    expect(share > 0.02, f"the rendered report.html is blank ({share:.2%} of the pixels are not white)")
    expect(colours > 20, f"the rendered report.html has only {colours} colours: no charts drawn")
    return dom.stdout


def only_report_files(directory):
    left = sorted(set(os.listdir(directory)) - {"junit.xml", "report.json", "report.html", "report.png", "parts"})
    expect(not left, f"{directory} holds more than the reports (a temporary file left behind?): {left}")
    # A test binary's run: its one part, and the lock the joining process took (no
    # temporary file). `synapse gate` writes no parts.
    if os.path.isdir(os.path.join(directory, "parts")):
        parts = sorted(set(os.listdir(os.path.join(directory, "parts"))) - {".lock"})
        expect(len(parts) == 1 and parts[0].endswith(".json"), f"{directory}/parts: {parts}")


def check_passing(directory):
    cases = read_junit(directory)
    report = read_report(directory)
    only_report_files(directory)
    expect(cases, "no test cases")
    failed = [c["name"] for c in cases if c["status"] != "passed"]
    expect(not failed, f"tests did not pass: {failed}")
    suites = {c["suite"] for c in cases}
    expect("SpamFilter" in suites and "Spec/SpamFilterSuite" in suites, f"suites: {sorted(suites)}")
    weak = 0
    for c in cases:
        props = c["properties"]
        expect("synapse.1.metric" in props and "synapse.1.value" in props and "synapse.1.threshold" in props,
               f"{c['suite']}.{c['name']} has no synapse.1.* properties: {props}")
        weak += "known weakness" in props.get("synapse.1.verdict", "")
    expect(weak >= 3, f"expected the example's known weaknesses to be marked, found {weak}")
    # report.json: the same tests, the model's measurements, every query's row.
    tests = report["tests"]
    expect(sorted((t["suite"], t["name"]) for t in tests) == sorted((c["suite"], c["name"]) for c in cases),
           "report.json and junit.xml list different tests")
    for t in tests:
        for a in t["assertions"]:
            for key in ("requirement", "metric", "value", "threshold", "verdict", "explanation"):
                expect(key in a, f"{t['name']}: an assertion lacks {key}")
    expect(report["model"]["path"].endswith("spam-tiny/model.pt"), "report.json names another model")
    expect(report["baseline"]["n"] == 887, "report.json: baseline n")
    rows = [e for layer in report["layers"] for e in layer["experiments"]]
    expect(any(e["selection"] == "class_top" and e["class"] == "spam" for e in rows), "no class_top row for spam")
    expect(any(e.get("positions") == "pooled" for e in rows), "no pooled-only row")
    expect(any(layer.get("probe") for layer in report["layers"]), "no probe in report.json")
    expect(report["logit_space"]["curve"], "no logit curve")
    dom = render(directory, ["Test verdicts", "0 failed", "Baseline", "Probe accuracy per layer", "Ablation curves",
                             "Per-class ablation", "Logit flip budget", "known weakness"])
    expect("<svg" in dom, "no SVG in the rendered report")
    print(f"passing: {len(cases)} tests, {weak} known weaknesses marked, {len(rows)} experiment rows")


def check_failing(directory):
    cases = read_junit(directory)
    read_report(directory)
    only_report_files(directory)
    by_name = {c["name"]: c for c in cases}
    expect(by_name["AccuracyAboveWhatTheModelScores"]["status"] == "failed", "accuracy test should fail")
    expect("whose accuracy is" in by_name["AccuracyAboveWhatTheModelScores"]["body"],
           "the failure body lacks the matcher's explanation")
    # The message (what CI summaries show) is the assertion's explanation in one line; the
    # body keeps GoogleMock's text.
    message = by_name["AccuracyAboveWhatTheModelScores"]["message"]
    expect(message.startswith("Baseline(): whose accuracy is ") and "Value of:" not in message and "\n" not in message,
           f"the failure message is not the explanation: {message!r}")
    expect("Value of: Baseline()" in by_name["AccuracyAboveWhatTheModelScores"]["body"],
           "the failure body lacks the assertion")
    expect("the lower bound" in by_name["HardHamRecallWithConfidence"]["body"], "no confidence bound in explanation")
    expect(by_name["PassesToo"]["status"] == "passed", "PassesToo should pass")
    expect(by_name["Skipped"]["status"] == "skipped", "Skipped should be skipped")
    unloadable = by_name["FailsWithTheLoadError"]
    expect(unloadable["status"] == "failed" and "[synapse.usage.403]" in unloadable["body"] and
           "/nonexistent/model-dir does not exist" in unloadable["body"], f"load error: {unloadable['body']}")
    render(directory, ["Test verdicts", "1 passed, 3 failed, 1 skipped"])
    print(f"failing: {len(cases)} tests, failures and the skip reported")


def check_sharded(directory, full_directory):
    full = {(c["suite"], c["name"]) for c in read_junit(full_directory)}
    seen = []
    for i in (0, 1):
        shard = os.path.join(directory, f"shard-{i}")
        cases = read_junit(shard)
        expect(cases, f"shard {i} ran no test")
        seen += [(c["suite"], c["name"]) for c in cases]
    expect(len(seen) == len(set(seen)), "a test ran in both shards")
    expect(set(seen) == full, f"the shards ran {sorted(set(seen))}, not {sorted(full)}")
    print(f"sharded: {len(seen)} tests over 2 shards")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "passing":
        check_passing(sys.argv[2])
    elif mode == "failing":
        check_failing(sys.argv[2])
    elif mode == "sharded":
        check_sharded(sys.argv[2], sys.argv[3])
    else:
        fail(f"unknown mode {mode}")
