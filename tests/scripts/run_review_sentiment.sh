#!/usr/bin/env bash
# Runs the review_sentiment example (examples/review_sentiment) as a user would: its
# robustness tests with reports, then `synapse gate` on its gate.json against the model the
# build trained. Checks that every test and assertion passed, the known weaknesses are
# reported as such, and the reports name the BPE tokenizer's model.
set -euo pipefail
example=$1 cli=$2 model=$3 spec=$4 out=$5
rm -rf "$out"
mkdir -p "$out"

echo "== the example suite (examples/review_sentiment)"
"$example" --gtest_brief=1 --synapse_report_dir="$out/tests"

echo "== synapse gate on examples/review_sentiment/gate.json"
"$cli" gate --spec "$spec" --model "$model" --out "$out/gate"

/usr/bin/python3 - "$out" "$model" <<'PY'
import json, os, sys
import xml.etree.ElementTree as ET
out, model = sys.argv[1:3]
def check(ok, what):
    if not ok:
        sys.exit("run_review_sentiment: " + what)
for part in ("tests", "gate"):
    root = ET.parse(os.path.join(out, part, "junit.xml")).getroot()
    cases = root.findall("testsuite/testcase")
    check(cases, f"{part}: no test cases in junit.xml")
    check(not [c for c in cases if c.find("failure") is not None or c.find("error") is not None],
          f"{part}: failures in junit.xml")
    weak = sum("known weakness" in (p.get("value") or "") for c in cases for p in c.iter("property")
               if p.get("name", "").endswith(".verdict"))
    check(weak >= 2, f"{part}: expected the known weaknesses to be marked, found {weak}")
    report = json.load(open(os.path.join(out, part, "report.json")))
    check(report["model"]["path"].startswith(model), f"{part}: report.json names {report['model']['path']}")
    check(report["baseline"]["n"] == 300, f"{part}: report.json baseline n {report['baseline']['n']}")
    print(f"{part}: {len(cases)} tests passed, {weak} known weaknesses marked")
PY
