#!/usr/bin/python3
"""The real `transformers` classifiers exported as AOTInductor packages (.pt2), against
eager PyTorch and against their TorchScript exports.

    pt2_families_test.py SYNAPSE_CLI SYNAPSE_EXPORT COMPARE_REPORTS WORK [FAMILY/ATTN...]

Runs after export_families_test.py, in its WORK folder (the LibTorch 2.x lane): for each
family and attention it saved (`*_saved`, with `*_eager.json`, the eager hooks' logits):
  1. synapse-export SAVED OUT --format pt2 (compiled once per content: the package is kept
     under $SYNAPSE_GENERATED_CACHE, default ~/.cache/synapse/generated, keyed by the saved
     model's bytes (its tokenizer aside), the attention, the exporter's bytes and the torch
     version; AOTInductor takes tens of
     seconds per program);
  2. `synapse predict` on the package with each intervention kind of export_families
     (zero, const, scale at every real token; zero at the pooled token; a logit shift)
     against the eager hooks' logits: within 1e-4;
  3. `synapse analyze` on the package and on the TorchScript export, same data and grid:
     the same report (bench/compare_reports.py, within 1e-4, timings aside), once with the
     head's captured input replayed and once with forward passes under weight noise on an
     encoder layer's weight (which changes the package's constants in place);
  4. `synapse gate` with every query kind on both: the same values and verdicts;
  5. rows the package was not exported for (too long, an unknown token id): one line,
     synapse.data.203, no crash;
  6. the GoogleTest fixture and the JSON suite (tests/any_classifier, SYNAPSE_SUITE_BINARY)
     on both: every test passes, with the same values;
  7. the kernels are vectorized on a CPU with AVX2, and a package whose record asks for a
     CPU feature this machine lacks is refused at load: synapse.model.112.
Prints one line per check and exits 1 if any failed.
"""
import ctypes.util
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_families_test as families  # noqa: E402

TOL = 1e-4
# Every query kind of a gate spec; thresholds any value meets (the values are compared).
GATE_ASSERTIONS = [
    {"name": "accuracy", "metric": "accuracy", "threshold": 0.0},
    {"name": "ablate_top", "intervention": "ablate", "selection": "top", "of_class": "spam", "k": 4, "layer": -1,
     "metric": "flip_rate", "threshold": 1.0},
    {"name": "noise", "intervention": "noise", "sigma": 0.5, "layer": 0, "metric": "flip_rate", "threshold": 1.0},
    {"name": "head", "intervention": "head_weight_scale", "of_class": "spam", "selection": "top", "k": 4,
     "factor": 2, "metric": "flip_rate", "threshold": 1.0},
    {"name": "probe", "intervention": "probe", "layer": 1, "metric": "probe_accuracy", "threshold": 0.0},
    {"name": "shift", "metric": "min_flip_budget", "threshold": 0.0, "share": 0.5},
]


def cache_key(saved, exporter, attn):
    # The tokenizer is left out: Hugging Face's WordPiece trainer numbers tokens of equal
    # frequency differently from run to run, and the compiled programs do not depend on it
    # (the package's own tokenizer.json is copied from the saved model after a restore).
    digest = hashlib.sha256(b"synapse-pt2-export-3\0" + attn.encode() + b"\0")
    for name in sorted(os.listdir(saved)):
        if name == "tokenizer.json":
            continue
        with open(os.path.join(saved, name), "rb") as f:
            digest.update(name.encode() + b"\0" + hashlib.sha256(f.read()).digest())
    with open(exporter, "rb") as f:
        digest.update(hashlib.sha256(f.read()).digest())
    digest.update(torch.__version__.encode())
    # What the kernels are compiled for: this CPU's vector extensions, and whether SLEEF (which
    # Inductor's vector kernels need on Debian) is there.
    digest.update(" ".join(sorted(f for f in cpu_flags() if f.startswith(("avx", "fma", "f16c")))).encode())
    digest.update(str(ctypes.util.find_library("sleef")).encode())
    return digest.hexdigest()


def export_cached(exporter, saved, out, attn):
    """synapse-export --format pt2, or its output restored from the cache. Returns (ok, why)."""
    root = os.environ.get("SYNAPSE_GENERATED_CACHE") or os.path.expanduser("~/.cache/synapse/generated")
    entry = os.path.join(root, "pt2-" + cache_key(saved, exporter, attn) + ".tar")
    shutil.rmtree(out, ignore_errors=True)
    if root != "off" and os.path.exists(entry):
        try:
            with tarfile.open(entry) as tar:
                members = tar.getmembers()
                if any(m.name.startswith(("/", "..")) or not m.isfile() for m in members):
                    raise tarfile.TarError("unexpected member")
                tar.extractall(out, members=members)
            shutil.copyfile(os.path.join(saved, "tokenizer.json"), os.path.join(out, "tokenizer.json"))
            return True, "cached"
        except (OSError, tarfile.TarError, EOFError):
            shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([sys.executable, exporter, saved, out, "--attn", attn, "--format", "pt2"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"synapse-export exit {r.returncode}: {r.stderr.strip()[-400:]}"
    if root != "off":
        try:
            os.makedirs(root, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp-", suffix=".tar")
            os.close(fd)
            with tarfile.open(tmp, "w") as tar:
                for name in sorted(os.listdir(out)):
                    tar.add(os.path.join(out, name), arcname=name)
            os.replace(tmp, entry)
        except OSError:
            pass
    return True, r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "exported"


def layer_weight(saved, layer_path):
    """The first 2-d weight of the first encoder layer, by the model's own parameter names."""
    import transformers
    model = transformers.AutoModelForSequenceClassification.from_pretrained(saved)
    first = layer_path if layer_path.endswith(".0") or not isinstance(families.module_at(model, layer_path),
                                                                       torch.nn.ModuleList) else layer_path + ".0"
    for name, p in model.named_parameters():
        if name.startswith(first + ".") and p.dim() == 2:
            return name
    return None


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def check_cpu_refusal(cli, out, stem):
    """A package whose kernels need a CPU feature this one lacks is refused at load with
    synapse.model.112 naming it, before any compiled kernel runs (not killed by SIGILL).
    The package is copied with one made-up feature added to its record. Returns 0 or 1."""
    forged = stem + "_forged_cpu.pt2"
    with zipfile.ZipFile(os.path.join(out, "model.pt2")) as zin, zipfile.ZipFile(forged, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("_metadata.json") and "/aotinductor/model/" in info.filename:
                meta = json.loads(data)
                record = json.loads(meta["synapse.json"])
                record["cpu_flags"] = record.get("cpu_flags", []) + ["synapse_test_feature"]
                meta["synapse.json"] = json.dumps(record)
                data = json.dumps(meta).encode()
            zout.writestr(info, data)
    p = subprocess.run([cli, "inspect", forged], capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    if p.returncode != 2 or len(lines) != 1 or "synapse.model.112" not in lines[0] or \
            "lacks synapse_test_feature:" not in lines[0]:
        print(f"FAIL a package for another CPU: exit {p.returncode}, stderr {p.stderr.strip()[-300:]!r}")
        return 1
    print(f"ok   a package for another CPU is refused: {lines[0]}")
    return 0


def check_suite(label, stem, out):
    """The GoogleTest fixture and the JSON spec suite (tests/any_classifier, whose thresholds
    any value meets) on the package and on the TorchScript export, on the same rows: both
    runs pass and report the same values. Returns the failures."""
    suite = os.environ.get("SYNAPSE_SUITE_BINARY")
    if not suite:
        return 0
    # The evaluation rows relabelled ham, spam, ham, ...: the suite's per-class checks need
    # examples of both, and what is compared is the two formats on the same rows.
    rows = [json.loads(line) for line in open(os.path.join(stem + "_model", "eval.jsonl")) if line.strip()]
    data = stem + "_suite.jsonl"
    with open(data, "w") as f:
        for i, row in enumerate(rows):
            f.write(json.dumps(dict(row, label=["ham", "spam"][i % 2])) + "\n")
    values = {}
    for fmt, model_dir in (("torchscript", stem + "_model"), ("pt2", out)):
        report_dir = stem + f"_suite_{fmt}"
        shutil.rmtree(report_dir, ignore_errors=True)
        r = subprocess.run([suite, f"--synapse_report_dir={report_dir}"], capture_output=True, text=True,
                           env=dict(os.environ, SYNAPSE_MODEL=os.path.abspath(model_dir), SYNAPSE_DATA=data))
        if r.returncode != 0:
            failed = [line for line in r.stdout.splitlines() if "FAILED" in line or "synapse." in line]
            print(f"FAIL {label}: the GoogleTest suite on the {fmt} export: exit {r.returncode}: {failed[:4]} "
                  f"{r.stderr.strip()[-300:]}")
            return 1
        with open(os.path.join(report_dir, "report.json")) as f:
            tests = json.load(f)["tests"]
        values[fmt] = {t["name"]: [a.get("value") for a in t["assertions"]] for t in tests}

    def same(a, b):
        return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= TOL)
    ts, pt2 = values["torchscript"], values["pt2"]
    differ = sorted(n for n in ts if n not in pt2 or len(ts[n]) != len(pt2[n])
                    or not all(same(a, b) for a, b in zip(ts[n], pt2[n])))
    if differ or len(pt2) != len(ts) or len(ts) < 17:
        print(f"FAIL {label}: the GoogleTest suite on the .pt2 differs from TorchScript at {differ[:6]} "
              f"({len(pt2)} and {len(ts)} tests)")
        return 1
    print(f"ok   {label}: GoogleTest fixture + JSON suite .pt2 = TorchScript ({len(ts)} tests)")
    return 0


def analyze(cli, model, data, pool, out, extra):
    cmd = [cli, "analyze", "--model", model, "--data", data, "--pool", pool, "--k", "2,8", "--random-seeds", "2",
           "--noise", "0.5", "--weight-noise", "0.1", "--weight-noise-seeds", "1", "--bisect-steps", "3",
           "--no-cache", "--quiet", "--out", out] + extra
    return subprocess.run(cmd, capture_output=True, text=True)


def main():
    cli, exporter, compare, work = sys.argv[1:5]
    only = set(sys.argv[5:])
    data = os.path.join(work, "eval.jsonl")
    models = families.family_models(10, 0, 2, 3)
    failures = 0
    checked = 0
    for name, (_, _, _, layer_path, pool) in models.items():
        for attn in (["eager"] if name == "deberta_v2" else ["eager", "sdpa"]):
            label = f"{name}/{attn}"
            stem = os.path.join(work, label.replace("/", "_"))
            if (only and label not in only and name not in only) or not os.path.exists(stem + "_eager.json"):
                continue
            checked += 1
            out = stem + "_pt2"
            ok, why = export_cached(exporter, stem + "_saved", out, attn)
            if not ok:
                print(f"FAIL {label}: {why}")
                failures += 1
                continue
            # The kernels use the CPU's vector instructions where Inductor can compile them
            # (on Debian only with libsleef linked in, which synapse-export sees to).
            isa = json.load(open(os.path.join(out, "export.json"))).get("vector_isa", "none")
            if "avx2" in cpu_flags() and isa == "none":
                print(f"FAIL {label}: the package's kernels are scalar on a CPU with AVX2 (is libsleef-dev installed?)")
                failures += 1
            if checked == 1:
                failures += check_cpu_refusal(cli, out, stem)
            expected = json.load(open(stem + "_eager.json"))["predict"]
            worst = 0.0
            for spec, refs in expected.items():
                p = subprocess.run([cli, "predict", "--model", out, "--data", data, "--pool", pool, "-i", spec],
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    print(f"FAIL {label} {spec}: synapse predict exit {p.returncode}: {p.stderr.strip()[-300:]}")
                    failures += 1
                    continue
                got = [json.loads(line)["logits"] for line in p.stdout.splitlines() if line.strip()]
                if len(got) != len(refs):
                    print(f"FAIL {label} {spec}: {len(got)} predictions for {len(refs)} rows")
                    failures += 1
                    continue
                d = max(float((torch.tensor(g) - torch.tensor(r)).abs().max()) for g, r in zip(got, refs))
                worst = max(worst, d)
                if not d <= TOL:
                    print(f"FAIL {label} {spec}: {d:.3g} from eager hooks")
                    failures += 1
            print(f"{'ok  ' if worst <= TOL else 'FAIL'} {label}: .pt2 ({why}), {len(expected)} interventions, "
                  f"largest difference from eager hooks {worst:.2g}")

            weight = layer_weight(stem + "_saved", layer_path)
            runs = [("head input replayed", [], stem + "_analyze"),
                    (f"forward passes, weight noise on {weight}",
                     ["--no-head-input", "--weight-noise-param", weight], stem + "_analyze_weights")]
            for what, extra, ts_report in runs:
                if not os.path.exists(os.path.join(ts_report, "report.json")):
                    a = analyze(cli, stem + "_model", data, pool, ts_report, extra)
                    if a.returncode != 0:
                        print(f"FAIL {label}: synapse analyze (TorchScript, {what}) exit {a.returncode}: "
                              f"{a.stderr.strip()[-300:]}")
                        failures += 1
                        continue
                pt2_report = stem + "_pt2_analyze" + ("_weights" if extra else "")
                a = analyze(cli, out, data, pool, pt2_report, extra)
                if a.returncode != 0:
                    print(f"FAIL {label}: synapse analyze (.pt2, {what}) exit {a.returncode}: {a.stderr.strip()[-300:]}")
                    failures += 1
                    continue
                c = subprocess.run([sys.executable, compare, os.path.join(ts_report, "report.json"),
                                    os.path.join(pt2_report, "report.json"), "--tolerance", str(TOL)],
                                   capture_output=True, text=True)
                summary = c.stdout.strip().splitlines()[-1] if c.stdout.strip() else c.stderr.strip()[-300:]
                if c.returncode != 0:
                    changed = [line for line in c.stdout.splitlines() if line.startswith(("CHANGED", "removed", "added"))]
                    print(f"FAIL {label}: analyze .pt2 vs TorchScript ({what}): {summary}; " + "; ".join(changed[:6]))
                    failures += 1
                else:
                    pooled = json.load(open(os.path.join(pt2_report, "report.json")))["timing"]["suffix_execution"]
                    print(f"ok   {label}: analyze .pt2 = TorchScript ({what}): {summary}; pooled rows: "
                          f"{pooled.get('pooled_rows', {}).get('summary', '-')}")
            # Rows outside what the package was exported for: one clear line, never a crash
            # (the compiled code cannot report an index out of bounds itself).
            bad_rows = {"too_long": {"input_ids": [5] * 2000}, "unknown_id": {"input_ids": [5, 10 ** 7, 6]}}
            for what, row in bad_rows.items():
                bad = stem + f"_{what}.jsonl"
                with open(bad, "w") as f:
                    f.write(json.dumps(row) + "\n")
                p = subprocess.run([cli, "predict", "--model", out, "--data", bad], capture_output=True, text=True)
                lines = p.stderr.strip().splitlines()
                if p.returncode <= 0 or len(lines) != 1 or "synapse.data.203" not in lines[0]:
                    print(f"FAIL {label}: a {what} row: exit {p.returncode}, stderr {p.stderr.strip()[-300:]!r}")
                    failures += 1
                else:
                    print(f"ok   {label}: a {what} row is refused: {lines[0]}")

            # `synapse gate` on the package and on the TorchScript export: the same values.
            values = {}
            for fmt, model_dir in (("torchscript", stem + "_model"), ("pt2", out)):
                shutil.copyfile(data, os.path.join(model_dir, "eval.jsonl"))
                spec = stem + f"_gate_{fmt}.json"
                with open(spec, "w") as f:
                    json.dump({"model": os.path.abspath(model_dir), "assertions": GATE_ASSERTIONS}, f)
                g = subprocess.run([cli, "gate", "--spec", spec, "--out", stem + f"_gate_{fmt}", "--quiet"],
                                   capture_output=True, text=True)
                if g.returncode not in (0, 1):
                    print(f"FAIL {label}: synapse gate ({fmt}) exit {g.returncode}: {g.stderr.strip()[-300:]}")
                    failures += 1
                    break
                tests = json.load(open(os.path.join(stem + f"_gate_{fmt}", "report.json")))["tests"]
                values[fmt] = {t["name"]: (t["status"], t["assertions"][0]["value"]) for t in tests}
            if len(values) == 2:
                differ = [n for n, (st, v) in values["torchscript"].items()
                          if n not in values["pt2"] or values["pt2"][n][0] != st or abs(values["pt2"][n][1] - v) > TOL]
                if differ or len(values["pt2"]) != len(GATE_ASSERTIONS):
                    print(f"FAIL {label}: synapse gate on the .pt2 differs from TorchScript at {differ}: {values}")
                    failures += 1
                else:
                    print(f"ok   {label}: synapse gate .pt2 = TorchScript ({len(GATE_ASSERTIONS)} assertions)")
            failures += check_suite(label, stem, out)
    if checked == 0:
        print(f"FAIL no exported family found in {work} (run export_families_test.py first)")
        failures += 1
    print(f"pt2 families: {failures} failed (torch {torch.__version__})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
