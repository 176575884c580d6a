#!/usr/bin/python3
"""Models exported by torch 2.x and `transformers` 5, read by a Synapse built on LibTorch 1.13.

    cross_lane_test.py SYNAPSE_CLI WORK

WORK is the work folder that export_families_test.py leaves in the LibTorch 2.x lane:
WORK/FAMILY_ATTN_model (synapse-export's output), WORK/eval.jsonl, and
WORK/FAMILY_ATTN_eager.json with the eager-hook logits of every intervention it checked.
SYNAPSE_CLI is another build's `synapse` (Debian 12's LibTorch 1.13). For every export:
  - eager attention: `synapse predict` with each intervention gives the eager hooks'
    logits within 1e-4;
  - SDPA attention: refused with exit 2 and synapse.model.110, naming
    `synapse-export --attn eager` (LibTorch 1.13 has no aten::scaled_dot_product_attention).
Prints one line per export and exits 1 if any failed (2 if WORK holds no exports).
"""
import glob
import json
import os
import subprocess
import sys

TOL = 1e-4


def main():
    cli, work = sys.argv[1:3]
    references = sorted(glob.glob(os.path.join(work, "*_eager.json")))
    if not references:
        print(f"cross lane: no exports in {work} (run the LibTorch 2.x lane's export_families first)")
        sys.exit(2)
    data = os.path.join(work, "eval.jsonl")
    failures = 0
    for path in references:
        label = os.path.basename(path)[:-len("_eager.json")]
        model = os.path.join(work, label + "_model")
        reference = json.load(open(path))
        specs = reference.get("predict", {})
        if label.endswith("_sdpa"):
            p = subprocess.run([cli, "predict", "--model", model, "--data", data], capture_output=True, text=True)
            said = p.stderr.strip()
            if p.returncode == 2 and "synapse.model.110" in said and "--attn eager" in said:
                print(f"ok   {label}: refused, {said[:160]}")
            else:
                print(f"FAIL {label}: expected exit 2 with synapse.model.110, got exit {p.returncode}: {said[-300:]}")
                failures += 1
            continue
        if not specs:
            print(f"FAIL {label}: {path} has no eager logits")
            failures += 1
            continue
        worst = 0.0
        for spec, want in specs.items():
            cmd = [cli, "predict", "--model", model, "--data", data, "--pool", reference["pool"], "-i", spec]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                print(f"FAIL {label} {spec}: synapse predict exit {p.returncode}: {p.stderr.strip()[-300:]}")
                failures += 1
                continue
            got = [json.loads(line)["logits"] for line in p.stdout.splitlines() if line.strip()]
            if len(got) != len(want):
                print(f"FAIL {label} {spec}: {len(got)} rows, the reference has {len(want)}")
                failures += 1
                continue
            d = max(abs(g - w) for gr, wr in zip(got, want) for g, w in zip(gr, wr))
            worst = max(worst, d)
            if not d <= TOL:
                print(f"FAIL {label} {spec}: {d:.3g} from eager hooks")
                failures += 1
        print(f"{'ok  ' if worst <= TOL else 'FAIL'} {label}: {len(specs)} interventions, largest difference from "
              f"eager hooks {worst:.2g}")
    print(f"cross lane: {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
