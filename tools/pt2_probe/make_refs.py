#!/usr/bin/python3
"""Eager references for pt2_probe: builds the 8 families of export_families_test.py (small
configs, eager and sdpa), exports each with `synapse-export --format pt2`, and writes what
the compiled package must reproduce, for tools/pt2_probe/pt2_probe.cpp.

    make_refs.py CORPUS_JSONL WORK [FAMILY[/ATTN]...]

Per model, WORK/NAME_ATTN_model/ (the exporter's output) and WORK/NAME_ATTN_refs.pt, a
TorchScript module whose buffers the probe reads (LibTorch reads them with torch::jit::load):
  input_0.. (the inputs), logits (eager), capture_I (eager forward hooks: the output of layer
  call I, the head Linear's input for the head site), zeroed_I (logits with neurons ZERO of
  site I set to 0 at every position, by an eager hook), neurons (the zeroed neuron indices).
Also WORK/NAME_ATTN_model_ts/ (the TorchScript export, for the timing) when --ts is given.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "scripts"))
import export_families_test as fam  # noqa: E402

EXPORTER = os.path.join(HERE, "..", "synapse-export")
ZERO = list(range(0, 8))


def module_at(model, path):
    return fam.module_at(model, path)


def eager(model, meta, args, zero_site=None, capture=None):
    """Logits of `model` on args, with neurons ZERO of site zero_site zeroed by hooks; capture
    (a dict) gets each site's tensor (after the zeroing)."""
    sites = meta["sites"]
    handles, counts = [], {}

    def edit(index, x):
        if index == zero_site:
            x = x.clone()
            x[..., ZERO] = 0
        if capture is not None:
            capture[index] = x.detach().clone()
        return x

    for path in dict.fromkeys(s["module"] for s in sites if s["kind"] == "layer"):
        def hook(m, i, o, path=path):
            call = counts.get(path, 0)
            counts[path] = call + 1
            index = next(s["index"] for s in sites if s["kind"] == "layer" and s["module"] == path and s["call"] == call)
            if isinstance(o, tuple):
                return (edit(index, o[0]),) + tuple(o[1:])
            return edit(index, o)
        handles.append(module_at(model, path).register_forward_hook(hook))
    head = sites[meta["head_site"]]

    def head_hook(m, i):
        return (edit(head["index"], i[0]),) + tuple(i[1:])
    handles.append(module_at(model, head["module"]).register_forward_pre_hook(head_hook))
    kwargs = {"input_ids": args[0], "attention_mask": args[1]}
    if len(args) == 3:
        kwargs["token_type_ids"] = args[2]
    if "use_cache" in model.forward.__code__.co_varnames:
        kwargs["use_cache"] = False
    try:
        with torch.no_grad():
            return model(**kwargs).logits
    finally:
        for h in handles:
            h.remove()


def main():
    corpus, work = sys.argv[1:3]
    want_ts = "--ts" in sys.argv
    only = [a for a in sys.argv[3:] if not a.startswith("--")]
    os.makedirs(work, exist_ok=True)
    rows = [json.loads(line) for line in open(corpus, encoding="utf-8")]
    texts = [r["text"] for r in rows[:400]]
    tok_path = os.path.join(work, "tokenizer.json")
    tok = fam.make_tokenizer(texts, tok_path)
    pad, cls, sep = tok.token_to_id("[PAD]"), tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    messages = [r["text"] for r in rows[400:460]][:4]
    timings = {}
    families = fam.family_models(tok.get_vocab_size(), pad, cls, sep)
    todo = [(name, attn) for name in families for attn in (["eager"] if name == "deberta_v2" else ["eager", "sdpa"])]
    if only:  # in the order given
        todo = [(n, a) for o in only for n, a in todo if o in (n, f"{n}/{a}")]
    for name, attn in todo:
        config_cls, model_cls, kwargs, layer_path, pool = families[name]
        if True:
            label = f"{name}_{attn}"
            torch.manual_seed(1234)
            model = model_cls(config_cls(**kwargs)).eval()
            saved = os.path.join(work, label + "_saved")
            out = os.path.join(work, label + "_model")
            reuse = "--reuse" in sys.argv and os.path.exists(os.path.join(out, "export.json"))
            if not reuse:
                shutil.rmtree(saved, ignore_errors=True)
                shutil.rmtree(out, ignore_errors=True)
                model.save_pretrained(saved)
                shutil.copyfile(tok_path, os.path.join(saved, "tokenizer.json"))
            t = time.time()
            r = subprocess.run(["true"] if reuse else
                               [sys.executable, EXPORTER, saved, out, "--attn", attn, "--format", "pt2"],
                               capture_output=True, text=True)
            took = time.time() - t
            if reuse:
                print(f"ok   {label}: reusing {out}", flush=True)
            elif r.returncode != 0:
                print(f"FAIL {label}: synapse-export --format pt2 exit {r.returncode}: {r.stderr.strip()[-600:]}",
                      flush=True)
                continue
            else:
                print(f"ok   {label}: {r.stdout.strip()} [{took:.1f} s wall]", flush=True)
                timings[label] = took
            if want_ts:
                r = subprocess.run([sys.executable, EXPORTER, saved, out + "_ts", "--attn", attn, "--force"],
                                   capture_output=True, text=True)
                print(("ok   " if r.returncode == 0 else "FAIL ") + f"{label} torchscript: "
                      f"{(r.stdout or r.stderr).strip()[-300:]}", flush=True)
            with open(os.path.join(out, "export.json")) as f:
                record = json.load(f)
            meta = {"sites": record["sites"], "head_site": len(record["sites"]) - 1}
            model = model_cls.from_pretrained(saved, attn_implementation=attn).eval()
            # A padded batch of 4 messages of different lengths (other shapes than the export's).
            enc = [tok.encode(m) for m in messages]
            width = max(len(e.ids) for e in enc)
            ids = torch.full((len(enc), width), pad, dtype=torch.long)
            mask = torch.zeros((len(enc), width), dtype=torch.long)
            types = torch.zeros((len(enc), width), dtype=torch.long)
            for i, e in enumerate(enc):
                ids[i, :len(e.ids)] = torch.tensor(e.ids)
                mask[i, :len(e.ids)] = 1
            args = (ids, mask, types) if len(record["inputs"]) == 3 else (ids, mask)
            refs = {f"input_{i}": a for i, a in enumerate(args)}
            capture = {}
            refs["logits"] = eager(model, meta, args, capture=capture)
            for i, x in capture.items():
                refs[f"capture_{i}"] = x
            for s in record["sites"]:
                refs[f"zeroed_{s['index']}"] = eager(model, meta, args, zero_site=s["index"])
            refs["neurons"] = torch.tensor(ZERO, dtype=torch.long)

            class Refs(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    for k, v in refs.items():
                        self.register_buffer(k, v.contiguous())

                def forward(self):
                    return self.logits
            torch.jit.script(Refs()).save(os.path.join(work, label + "_refs.pt"))
    path = os.path.join(work, "export_seconds.json")
    if os.path.exists(path):
        timings = dict(json.load(open(path)), **timings)
    with open(path, "w") as f:
        json.dump(timings, f, indent=1)
    print(f"refs: torch {torch.__version__}, transformers {transformers.__version__}")


if __name__ == "__main__":
    main()
