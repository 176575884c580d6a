#!/usr/bin/python3
"""Synapse next to two ways of doing the same in eager PyTorch, in one run, on one model.

    /usr/bin/python3 bench/sweep_side_by_side.py build [--examples 128] [--tokens 64]
        [--layers 6] [--hidden 256] [--threads 2] [--work DIR] [--skip-a]
        [--transformers eager|sdpa [--pt2]]

The protocol: extraction of [CLS] at every layer, a linear probe per layer, and a sweep on
the last 2 layers: k in 1, 5, 20 and, for each k, the top-k and bottom-k neurons of the
probe's global ranking, 3 random draws and each class's top-k, zeroed at that layer's
output (2 classes: 7 configurations per k, 42 in all). Weight space is off.

1. Makes a BERT-shaped classifier with random weights (--layers layers, hidden --hidden,
   hidden/64 heads, feed-forward 4 x hidden, vocabulary 8000, 2 classes) with the fixture
   script's modules, traces it to WORK/side_by_side.pt and writes --examples rows of
   exactly --tokens random token ids (labels alternate).
2. Synapse: `synapse analyze --no-weight-space` with that grid; its figure is the report's
   timing.total_s (extraction, probes, sweep and the logit-space section, by its clock).
3. Python, (a): the eager model, register_forward_hook on every layer to capture [CLS],
   scikit-learn LogisticRegression probes, then for every configuration a hook that applies
   it and one whole forward pass over the data.
4. Python, (b): the same, but the sweep reuses each batch's prefix (TransformerLens'
   start_at_layer): per batch one pass keeps the output of each swept layer, and each
   configuration at layer L runs only layers L+1.. and the head on the changed output.

With --transformers ATTN (torch 2.x with `transformers`: the LibTorch 2.x lane) the model
is the real `transformers.BertForSequenceClassification` of that shape and attention,
saved with save_pretrained and exported by the build's synapse-export; with --pt2 it is
also exported as an AOTInductor package (`--format pt2`, the export timed), and Synapse
runs the same analysis on both, side by side: the package against the TorchScript file.

Each side is timed by its own clock around extraction + probes + sweep; both use the
same threads and batch 32. --skip-a leaves out (a), which takes minutes (over 6 on
LibTorch 2.14 on a busy 2-core machine), when only Synapse against (b) is wanted.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
import make_fixtures as mf  # noqa: E402
sys.path.insert(0, HERE)
from sweep_vs_python import probe_rankings  # noqa: E402

KS = [1, 5, 20]
RANDOM_DRAWS = 3
BATCH = 32


def build_model(path, layers, hidden):
    mf.HIDDEN, mf.HEADS, mf.VOCAB, mf.CLASSES, mf.FFN = hidden, max(1, hidden // 64), 8000, 2, 4
    torch.manual_seed(20261202)
    model = mf.BertForSequenceClassification(layers).eval()
    ids = torch.randint(5, 8000, (2, 16))
    torch.jit.trace(model, (ids, torch.ones_like(ids))).save(path)
    return model


def build_transformers_model(build, work, layers, hidden, attention, pt2):
    """The real BertForSequenceClassification of this shape (random weights), saved and
    exported by synapse-export: {"torchscript": path[, "pt2": path, "pt2_export_s": s]}."""
    import transformers
    torch.manual_seed(20261202)
    config = transformers.BertConfig(vocab_size=8000, hidden_size=hidden, num_hidden_layers=layers,
                                     num_attention_heads=max(1, hidden // 64), intermediate_size=4 * hidden,
                                     num_labels=2)
    model = transformers.BertForSequenceClassification._from_config(config, attn_implementation=attention).eval()
    saved = os.path.join(work, f"side_by_side_{attention}_saved")
    model.save_pretrained(saved)
    from tokenizers import Tokenizer, models, pre_tokenizers
    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(8000)}, unk_token="t1"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(os.path.join(saved, "tokenizer.json"))
    out = {}
    for fmt in (["torchscript", "pt2"] if pt2 else ["torchscript"]):
        target = os.path.join(work, f"side_by_side_{attention}_{fmt}")
        t = time.perf_counter()
        subprocess.run([sys.executable, os.path.join(build, "synapse-export"), saved, target, "--attn", attention,
                        "--format", fmt, "--force"], check=True)
        out[fmt] = target
        out[fmt + "_export_s"] = time.perf_counter() - t
    return model, out


class TransformersLayers:
    """The transformers model seen as the fixture modules are: model.bert.encoder.layer,
    model(ids, mask) -> (logits,), a layer called as layer(x, mask) -> (x,)."""

    def __init__(self, model):
        self.model = model
        self.bert = model.bert
        self.classifier = model.classifier

    def __call__(self, ids, mask):
        return (self.model(input_ids=ids, attention_mask=mask).logits,)


def batches(ids):
    for start in range(0, ids.shape[0], BATCH):
        chunk = ids[start:start + BATCH]
        yield chunk, torch.ones_like(chunk)


def extract_and_probe(model, ids, labels, times):
    layers = list(model.bert.encoder.layer)
    t = time.perf_counter()
    captured = {i: [] for i in range(len(layers))}
    handles = [layer.register_forward_hook(
        lambda mod, inp, out, i=i: captured[i].append((out[0] if isinstance(out, tuple) else out)[:, 0].detach().clone()))
        for i, layer in enumerate(layers)]
    with torch.inference_mode():
        for i, m in batches(ids):
            model(i, m)
    for h in handles:
        h.remove()
    acts = {i: torch.cat(v).numpy() for i, v in captured.items()}
    times["extraction"] = time.perf_counter() - t

    t = time.perf_counter()
    rankings = probe_rankings(acts, labels)
    times["probes"] = time.perf_counter() - t
    return rankings


def configurations(rankings, swept, width):
    rng = np.random.default_rng(0)
    configs = []
    for layer in swept:
        order, per_class = rankings[layer]
        for k in KS:
            configs.append((layer, order[:k]))
            configs.append((layer, order[-k:]))
            for _ in range(RANDOM_DRAWS):
                configs.append((layer, rng.choice(width, k, replace=False)))
            for c in per_class:
                configs.append((layer, c[:k]))
    return configs


def sweep_full_forward(model, ids, labels, configs):
    """(a): a hook applies the configuration; one whole forward pass over the data each."""
    layers = list(model.bert.encoder.layer)
    accuracies = []

    def hook_for(neurons):
        def hook(module, inputs, output):
            h = (output[0] if isinstance(output, tuple) else output).clone()
            h[:, :, neurons] = 0
            return (h,) + tuple(output[1:]) if isinstance(output, tuple) else h
        return hook

    for layer, neurons in configs:
        handle = layers[layer].register_forward_hook(hook_for(torch.as_tensor(neurons)))
        with torch.inference_mode():
            logits = torch.cat([model(i, m)[0] for i, m in batches(ids)])
        handle.remove()
        accuracies.append((logits.argmax(1).numpy() == labels).mean())
    return accuracies


def sweep_prefix_reuse(model, ids, labels, configs):
    """(b): per batch, one pass keeps each swept layer's output; a configuration at layer L
    changes that output and runs only the layers after L and the head."""
    bert = model.bert
    layers = list(bert.encoder.layer)
    swept = sorted({layer for layer, _ in configs})
    logits = [[] for _ in configs]
    with torch.inference_mode():
        for i, m in batches(ids):
            # Every row is all real tokens: the transformers layers take no mask then.
            ext = None if isinstance(model, TransformersLayers) else (1.0 - m[:, None, None, :].float()) * -10000.0
            x = bert.embeddings(input_ids=i) if isinstance(model, TransformersLayers) else bert.embeddings(i)

            def run(layer, h):
                out = layer(h, ext)
                return out[0] if isinstance(out, tuple) else out

            def head(h):
                if isinstance(model, TransformersLayers):
                    return model.classifier(bert.pooler(h))
                return model.classifier(torch.tanh(bert.pooler(h[:, 0])))
            kept = {}
            for index, layer in enumerate(layers[:swept[-1] + 1]):
                x = run(layer, x)
                if index in swept:
                    kept[index] = x
            for c, (at, neurons) in enumerate(configs):
                h = kept[at].clone()
                h[:, :, torch.as_tensor(neurons)] = 0
                for layer in layers[at + 1:]:
                    h = run(layer, h)
                logits[c].append(head(h))
    return [(torch.cat(l).argmax(1).numpy() == labels).mean() for l in logits]


def python_way(model, ids, labels, swept, prefix_reuse):
    times = {}
    rankings = extract_and_probe(model, ids, labels, times)
    configs = configurations(rankings, swept, mf.HIDDEN)
    t = time.perf_counter()
    accuracies = (sweep_prefix_reuse if prefix_reuse else sweep_full_forward)(model, ids, labels, configs)
    times["sweep"] = time.perf_counter() - t
    times["configs"] = len(configs)
    times["total"] = times["extraction"] + times["probes"] + times["sweep"]
    return times, accuracies


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--examples", type=int, default=128)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=None)
    ap.add_argument("--skip-a", action="store_true", help="leave out Python (a), the whole forward per configuration")
    ap.add_argument("--transformers", choices=["eager", "sdpa"], default=None,
                    help="the real transformers BertForSequenceClassification, exported by synapse-export")
    ap.add_argument("--pt2", action="store_true", help="with --transformers: also the .pt2 package, side by side")
    a = ap.parse_args()
    work = a.work or os.path.join(a.build, "bench_models")
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(a.threads)
    exports = {}
    if a.transformers:
        mf.HIDDEN = a.hidden
        eager_model, exports = build_transformers_model(a.build, work, a.layers, a.hidden, a.transformers, a.pt2)
        model = TransformersLayers(eager_model)
        path = exports["torchscript"]
    else:
        path = os.path.join(work, "side_by_side.pt")
        model = build_model(path, a.layers, a.hidden)
    gen = torch.Generator().manual_seed(20261202)
    ids = torch.randint(5, 8000, (a.examples, a.tokens), generator=gen)
    ids[:, 0], ids[:, -1] = 2, 3
    labels = np.arange(a.examples) % 2
    data = os.path.join(work, "side_by_side.jsonl")
    with open(data, "w") as f:
        for row, label in zip(ids.tolist(), labels.tolist()):
            f.write(json.dumps({"input_ids": row, "label": label}) + "\n")
    names = os.path.join(work, "side_by_side_labels.json")
    with open(names, "w") as f:
        json.dump(["a", "b"], f)
    swept = [a.layers - 2, a.layers - 1]

    def analyze(model_path, out):
        command = [os.path.join(a.build, "synapse"), "analyze", "--model", model_path, "--data", data,
                   "--labels", names, "--layers", ",".join(map(str, swept)), "--k", ",".join(map(str, KS)),
                   "--random-seeds", str(RANDOM_DRAWS), "--noise", "none", "--no-weight-space", "--no-cache",
                   "--threads", str(a.threads), "--batch-size", str(BATCH), "--quiet", "--out", out]
        print(" ".join(command), flush=True)
        t = time.perf_counter()
        subprocess.run(command, check=True, env=dict(os.environ, OMP_NUM_THREADS=str(a.threads)))
        wall = time.perf_counter() - t
        with open(os.path.join(out, "report.json")) as f:
            return json.load(f)["timing"], wall

    timing, wall = analyze(path, os.path.join(work, "side_by_side_out"))
    pt2_timing = None
    if "pt2" in exports:
        # The package next to the TorchScript file, interleaved: TorchScript, .pt2, TorchScript.
        pt2_timing, pt2_wall = analyze(exports["pt2"], os.path.join(work, "side_by_side_pt2_out"))
        again, wall_again = analyze(path, os.path.join(work, "side_by_side_out"))
        ts_runs = [timing["total_s"], again["total_s"]]
        if again["total_s"] < timing["total_s"]:
            timing, wall = again, wall_again
    syn_configs = timing["sweep_configurations"]

    print("Python (b), prefix reuse ...", flush=True)
    py_b, acc_b = python_way(model, ids, labels, swept, prefix_reuse=True)
    py_a = None
    if not a.skip_a:
        print("Python (a), one forward per configuration ...", flush=True)
        py_a, acc_a = python_way(model, ids, labels, swept, prefix_reuse=False)
        # The two Python sweeps compute the same configurations: the same accuracies.
        same = max(abs(x - y) for x, y in zip(acc_a, acc_b))

    syn_total = timing["total_s"]
    print()
    print(f"model: BERT-shaped, {a.layers} layers, hidden {a.hidden}; {a.examples} examples x {a.tokens} tokens; "
          f"{a.threads} threads; sweep on layers {swept[0]}-{swept[1]}: Synapse {syn_configs}, Python "
          f"{py_b['configs']} configurations")
    print(f"pooled rows: {timing['suffix_execution'].get('pooled_rows', {}).get('summary', '-')}")
    print("| | extraction s | probes s | sweep s | total s |")
    print("|---|---|---|---|---|")
    print(f"| Synapse (report timing) | {timing['extraction_s']:.2f} | {timing['probes_s']:.2f} | "
          f"{timing['sweep_s']:.2f} | {syn_total:.2f} (process wall {wall:.2f}) |")
    ways = [("Python (a), hooks, whole forward per configuration", py_a),
            ("Python (b), prefix reuse (start_at_layer style)", py_b)]
    if pt2_timing is not None:
        print(f"| Synapse on the .pt2 package (report timing) | {pt2_timing['extraction_s']:.2f} | "
              f"{pt2_timing['probes_s']:.2f} | {pt2_timing['sweep_s']:.2f} | {pt2_timing['total_s']:.2f} "
              f"(process wall {pt2_wall:.2f}) |")
    for label, p in ways:
        if p is not None:
            print(f"| {label} | {p['extraction']:.2f} | {p['probes']:.2f} | {p['sweep']:.2f} | {p['total']:.2f} |")
    if pt2_timing is not None:
        print(f".pt2 vs TorchScript: {timing['total_s'] / pt2_timing['total_s']:.2f}x (TorchScript runs "
              f"{', '.join(f'{x:.2f}' for x in ts_runs)} s, the faster kept; sweep alone "
              f"{timing['sweep_s'] / pt2_timing['sweep_s']:.2f}x); .pt2 vs (b): "
              f"{py_b['total'] / pt2_timing['total_s']:.2f}x; export: TorchScript {exports['torchscript_export_s']:.1f} s, "
              f".pt2 {exports['pt2_export_s']:.1f} s")
    vs_b = f"vs (b): {py_b['total'] / syn_total:.2f}x (sweep alone {py_b['sweep'] / timing['sweep_s']:.2f}x)"
    if py_a is None:
        print(f"torch {torch.__version__}; Synapse {vs_b}; (a) skipped")
    else:
        print(f"torch {torch.__version__}; Synapse vs (a): {py_a['total'] / syn_total:.2f}x "
              f"(sweep alone {py_a['sweep'] / timing['sweep_s']:.2f}x); {vs_b}; "
              f"Python (a) and (b) accuracies differ by at most {same:.3g}")


if __name__ == "__main__":
    main()
