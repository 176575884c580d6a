#!/usr/bin/python3
"""Synapse's sweep next to the straightforward Python way, in one run, on one model.

    /usr/bin/python3 bench/sweep_vs_python.py build [--examples 256] [--tokens 128]
        [--python-configs N] [--threads 2] [--work DIR] [--transformers eager|sdpa]

1. Makes a BERT-base-shaped classifier with random weights (12 layers, hidden 768, 12
   heads, feed-forward 3072, vocabulary 30522, 2 classes) with the fixture script's
   modules, and traces it to WORK/bert_base_traced.pt. With --transformers ATTN (torch 2.x
   with `transformers`: the LibTorch 2.x lane) it is the real
   `transformers.BertForSequenceClassification` of BERT-base's default config instead,
   with that attention implementation, traced the way synapse-export traces it (the
   build's BUILD/synapse-export), to WORK/bert_base_ATTN.pt.
2. Runs build/bench/sweep_bench (Google Benchmark) on it: a plain forward pass over the
   data, extraction with every layer captured, and the default protocol on the last 4
   layers (extraction, probes, sweep; weight space off), with suffix execution.
3. Runs the same protocol the straightforward Python way with Debian's python3-torch: the
   eager model, register_forward_hook on every layer to capture [CLS], scikit-learn
   LogisticRegression probes, then for every configuration a hook that applies it and one
   whole forward pass over the data. --python-configs N times N of the configurations,
   evenly spread over layers and kinds, and extrapolates the sweep to all of them (the full
   Python sweep at 256 examples takes hours on 2 cores); the output says so.

Both sides use the same number of threads, batch 32, and examples of exactly --tokens
random token ids (the same shapes, not the same bytes).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
import make_fixtures as mf  # noqa: E402

K_SPEC = ["1", "2", "5", "10", "20", "50", "10%", "25%", "50%"]
RANDOM_SEEDS = 5
NOISE = [0.1, 0.25, 0.5, 1.0]
BATCH = 32


def build_model(path):
    mf.HIDDEN, mf.HEADS, mf.VOCAB, mf.CLASSES, mf.FFN = 768, 12, 30522, 2, 4
    torch.manual_seed(20261126)
    model = mf.BertForSequenceClassification(12).eval()
    ids = torch.randint(5, 8000, (2, 16))
    torch.jit.trace(model, (ids, torch.ones_like(ids))).save(path)
    return model


def build_transformers_model(path, build, attention):
    """The real BertForSequenceClassification (BERT-base config, random weights), traced
    through synapse-export's own wrapper; returns a module called as model(ids, mask)."""
    import importlib.machinery
    import importlib.util
    import transformers
    loader = importlib.machinery.SourceFileLoader("synapse_export", os.path.join(build, "synapse-export"))
    spec = importlib.util.spec_from_loader("synapse_export", loader)
    exporter = importlib.util.module_from_spec(spec)
    loader.exec_module(exporter)
    torch.manual_seed(20261126)
    config = transformers.BertConfig(num_labels=2)
    model = transformers.BertForSequenceClassification._from_config(config, attn_implementation=attention).eval()
    names = exporter.input_names(model)
    wrapper = exporter.make_wrapper(model, names)
    ids = torch.randint(5, 8000, (2, 16))
    example = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if len(names) == 3 else ())
    with torch.no_grad():
        torch.jit.trace(wrapper, example, strict=False, check_trace=False).save(path)

    class Pair(torch.nn.Module):  # model(ids, mask) -> (logits,), as the fixture modules answer
        def __init__(self):
            super().__init__()
            self.bert = model.bert
            self.inner = wrapper

        def forward(self, input_ids, attention_mask):
            extra = (torch.zeros_like(input_ids),) if len(names) == 3 else ()
            return (self.inner(input_ids, attention_mask, *extra),)

    return Pair().eval()


def resolve_k(width):
    out = []
    for spec in K_SPEC:
        k = max(1, round(float(spec[:-1]) / 100 * width)) if spec.endswith("%") else int(spec)
        if k <= width and k not in out:
            out.append(k)
    return out


def batches(ids):
    for start in range(0, ids.shape[0], BATCH):
        chunk = ids[start:start + BATCH]
        yield chunk, torch.ones_like(chunk)


def forward_all(model, ids):
    with torch.inference_mode():
        return torch.cat([model(i, m)[0] for i, m in batches(ids)])


def probe_rankings(acts, labels):
    """Per layer, a scikit-learn logistic regression on a stratified 80% split; returns the
    global ranking (by the summed |coefficients|) and each class's (most positive first)."""
    train, _ = train_test_split(np.arange(len(labels)), test_size=0.2, stratify=labels, random_state=0)
    rankings = {}
    for i, x in acts.items():
        probe = LogisticRegression(max_iter=1000).fit(x[train], labels[train])
        coef = probe.coef_ if probe.coef_.shape[0] > 1 else np.vstack([-probe.coef_[0], probe.coef_[0]])
        rankings[i] = (np.argsort(-np.abs(coef).sum(0)), [np.argsort(-coef[c]) for c in range(coef.shape[0])])
    return rankings


def python_way(model, ids, labels, layers_to_sweep, configs_to_time):
    """The protocol written the obvious way. Returns seconds per stage."""
    layers = list(model.bert.encoder.layer)
    times = {}
    t = time.perf_counter()
    forward_all(model, ids)
    times["forward"] = time.perf_counter() - t

    # Extraction: a forward hook on every layer keeps the [CLS] vector.
    t = time.perf_counter()
    captured = {i: [] for i in range(len(layers))}
    handles = [layer.register_forward_hook(
        lambda mod, inp, out, i=i: captured[i].append((out[0] if isinstance(out, tuple) else out)[:, 0].detach().clone()))
        for i, layer in enumerate(layers)]
    base = forward_all(model, ids)
    for h in handles:
        h.remove()
    acts = {i: torch.cat(v).numpy() for i, v in captured.items()}
    times["extraction"] = time.perf_counter() - t

    # Probes: scikit-learn logistic regression per layer; rankings from |coefficients|.
    t = time.perf_counter()
    rankings = probe_rankings(acts, labels)
    stds = {i: x.std(0) for i, x in acts.items()}
    times["probes"] = time.perf_counter() - t

    # The sweep: one whole forward pass per configuration, with a hook that applies it.
    rng = np.random.default_rng(0)
    configs = []
    for layer in layers_to_sweep:
        order, per_class = rankings[layer]
        for k in resolve_k(768):
            configs.append((layer, "zero", order[:k]))
            for _ in range(RANDOM_SEEDS):
                configs.append((layer, "zero", rng.choice(768, k, replace=False)))
            configs.append((layer, "zero", order[-k:]))
            for c in per_class:
                configs.append((layer, "zero", c[:k]))
        for sigma in NOISE:
            configs.append((layer, "noise", torch.tensor(stds[layer] * sigma)))
    step = max(1, len(configs) // configs_to_time) if configs_to_time else 1
    timed = configs[::step][:configs_to_time] if configs_to_time else configs

    def hook_for(kind, arg):
        def hook(module, inputs, output):
            h = (output[0] if isinstance(output, tuple) else output).clone()
            if kind == "zero":
                h[:, :, torch.as_tensor(arg)] = 0
            else:
                h = h + torch.randn_like(h) * arg
            return (h,) + tuple(output[1:]) if isinstance(output, tuple) else h
        return hook

    t = time.perf_counter()
    for layer, kind, arg in timed:
        handle = layers[layer].register_forward_hook(hook_for(kind, arg))
        logits = forward_all(model, ids)
        handle.remove()
        (logits.argmax(1).numpy() == labels).mean()
    measured = time.perf_counter() - t
    times["sweep_measured"] = measured
    times["sweep_configs_timed"] = len(timed)
    times["sweep_configs"] = len(configs)
    times["sweep"] = measured / len(timed) * len(configs)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--examples", type=int, default=256)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--python-configs", type=int, default=0, help="time this many configurations (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=None)
    ap.add_argument("--transformers", choices=["eager", "sdpa"], default=None,
                    help="the real transformers BertForSequenceClassification with this attention")
    a = ap.parse_args()
    work = a.work or os.path.join(a.build, "bench_models")
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(a.threads)
    if a.transformers:
        path = os.path.join(work, f"bert_base_{a.transformers}.pt")
        print(f"building {path} (transformers, attention {a.transformers}) ...", flush=True)
        model = build_transformers_model(path, a.build, a.transformers)
    else:
        path = os.path.join(work, "bert_base_traced.pt")
        print(f"building {path} ...", flush=True)
        model = build_model(path)

    env = dict(os.environ, SYNAPSE_SWEEP_MODEL=path, SYNAPSE_SWEEP_EXAMPLES=str(a.examples),
               SYNAPSE_SWEEP_TOKENS=str(a.tokens), OMP_NUM_THREADS=str(a.threads))
    print("running sweep_bench ...", flush=True)
    out = subprocess.run([os.path.join(a.build, "bench", "sweep_bench"), "--benchmark_filter=BM_Sweep",
                          "--benchmark_format=json"], env=env, check=True, capture_output=True, text=True).stdout
    syn = json.loads(out)["benchmarks"][0]

    print("running the Python way ...", flush=True)
    gen = torch.Generator().manual_seed(20261126)
    ids = torch.randint(5, 8000, (a.examples, a.tokens), generator=gen)
    ids[:, 0], ids[:, -1] = 2, 3
    labels = np.arange(a.examples) % 2
    py = python_way(model, ids, labels, [8, 9, 10, 11], a.python_configs)

    f = syn["forward_s"]
    syn_analysis = syn["analysis_x"] * f
    syn_sweep = syn["sweep_x"] * f
    py_total = py["extraction"] + py["probes"] + py["sweep"]
    print()
    kind = f"transformers BertForSequenceClassification, {a.transformers} attention" if a.transformers else \
        "the fixture script's modules"
    print(f"model: BERT-base-shaped ({kind}), 12 layers, hidden 768; {a.examples} examples x {a.tokens} tokens; "
          f"{a.threads} threads; {int(syn['configs'])} configurations on layers 8-11")
    print(f"Synapse  plain forward (LibTorch, no hooks) {f:9.2f} s")
    print(f"Synapse  extraction, every layer            {syn['extraction_x'] * f:9.2f} s = {syn['extraction_x']:.3f} x forward")
    print(f"Synapse  sweep (suffix execution)           {syn_sweep:9.2f} s = {syn['sweep_x']:.2f} x forward")
    print(f"Synapse  sweep without suffix execution     {syn['naive_x'] * f:9.2f} s = {syn['naive_x']:.2f} x forward "
          f"(configurations x one hooked pass)")
    print(f"Synapse  protocol total                     {syn_analysis:9.2f} s = {syn['analysis_x']:.2f} x forward")
    print(f"Python   plain forward (eager)              {py['forward']:9.2f} s")
    print(f"Python   extraction (forward hooks)         {py['extraction']:9.2f} s")
    print(f"Python   probes (scikit-learn)              {py['probes']:9.2f} s")
    note = "" if py["sweep_configs_timed"] == py["sweep_configs"] else \
        f" (extrapolated from {py['sweep_configs_timed']} of {py['sweep_configs']} configurations: {py['sweep_measured']:.2f} s)"
    print(f"Python   sweep                              {py['sweep']:9.2f} s{note}")
    print(f"Python   protocol total                     {py_total:9.2f} s")
    print(f"speed-up, sweep:  {py['sweep'] / syn_sweep:.2f} x;  protocol total: {py_total / syn_analysis:.2f} x")


if __name__ == "__main__":
    main()
