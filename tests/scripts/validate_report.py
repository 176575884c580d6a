#!/usr/bin/python3
"""Validates a Synapse report against docs/report.schema.json and checks what a schema
cannot: that the numbers agree with each other.

    /usr/bin/python3 tests/scripts/validate_report.py SCHEMA REPORT

Exit 0 when valid; 1 with one line per problem otherwise.
"""
import json
import math
import sys

import jsonschema


def main(schema_path, report_path):
    schema = json.load(open(schema_path))
    report = json.load(open(report_path))
    problems = []
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"schema: {where}: {error.message[:300]}")

    classes = report["data"]["classes"]
    n = report["data"]["examples"]
    if sum(report["data"]["support"].values()) != n:
        problems.append("data.support does not add up to data.examples")
    base = report["baseline"]
    if base["n"] != n:
        problems.append("baseline.n differs from data.examples")
    if abs(base["accuracy"] - base["correct"] / base["n"]) > 1e-12:
        problems.append("baseline.accuracy is not correct / n")
    confusion = base["confusion"]
    if sum(confusion[i][i] for i in range(len(classes))) != base["correct"]:
        problems.append("the confusion matrix's diagonal is not baseline.correct")
    for layer in report["layers"]:
        hidden = layer["hidden"]
        ranking = layer["ranking"]
        if sorted(ranking["global"]) != list(range(hidden)):
            problems.append(f"layer {layer['index']}: the global ranking is not a permutation of 0..{hidden - 1}")
        if any(a < b for a, b in zip(ranking["importance"], ranking["importance"][1:])):
            problems.append(f"layer {layer['index']}: importance is not descending")
        for row in layer["experiments"]:
            m = row["metrics"]
            lo, hi = m["accuracy_ci"]
            if not (lo <= m["accuracy"] <= hi):
                problems.append(f"layer {layer['index']} {row['selection']} k={row['k']}: accuracy outside its interval")
            if "neurons" in row and len(row["neurons"]) != row["k"]:
                problems.append(f"layer {layer['index']} {row['selection']} k={row['k']}: {len(row['neurons'])} neurons")
            if row["selection"] == "top" and row["neurons"] != sorted(ranking["global"][: row["k"]]) and \
                    sorted(row["neurons"]) != sorted(ranking["global"][: row["k"]]):
                problems.append(f"layer {layer['index']} top k={row['k']}: not the ranking's prefix")
            if abs(m["accuracy_drop"] - (base["accuracy"] - m["accuracy"])) > 1e-12:
                problems.append(f"layer {layer['index']} {row['selection']} k={row['k']}: accuracy_drop is wrong")
    curve = report["logit_space"]["curve"]
    if any(a["flip_rate"] > b["flip_rate"] for a, b in zip(curve, curve[1:])):
        problems.append("logit_space.curve: the flip rate falls as the budget grows")
    if not math.isclose(curve[-1]["flip_rate"], 1.0):
        problems.append("logit_space.curve: the largest budget does not flip every example")
    for p in problems:
        print(p)
    if not problems:
        print(f"{report_path}: valid ({len(report['layers'])} layers, "
              f"{sum(len(l['experiments']) for l in report['layers'])} experiments)")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: validate_report.py SCHEMA REPORT")
    sys.exit(main(sys.argv[1], sys.argv[2]))
