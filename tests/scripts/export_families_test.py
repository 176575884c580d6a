#!/usr/bin/python3
"""The real `transformers` classifiers, exported by synapse-export, against eager PyTorch.

    export_families_test.py SYNAPSE_CLI SYNAPSE_EXPORT CORPUS_JSONL WORK [FAMILY...]

Runs where python3 has torch 2.x, transformers and tokenizers (the LibTorch 2.x lane).
For each family (BERT, RoBERTa, DistilBERT, ALBERT, ELECTRA, DeBERTa-v2, ModernBERT, GPT-2),
with eager and with SDPA attention (DeBERTa-v2: eager only, it has no SDPA):
  1. a WordPiece tokenizer trained by Hugging Face tokenizers on real messages
     (CORPUS_JSONL: the SpamAssassin corpus as the build converts it), a small config of
     the family's real `transformers` class, seeded weights, save_pretrained;
  2. synapse-export SAVED OUT --attn ATTN;
  3. `synapse predict` on real messages with each intervention kind (zero, const, scale at
     every real token; zero at the pooled token; a logit shift) against the same
     intervention as an eager `register_forward_hook` on the original module in PyTorch,
     one message at a time: logits within 1e-4;
  4. `synapse analyze` on the exported directory end to end (a small grid): exit 0, one
     report layer per encoder layer.
Prints one line per check and exits 1 if any failed.
"""
import json
import os
import shutil
import subprocess
import sys

import torch
import transformers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

TOL = 1e-4
HIDDEN, HEADS, LAYERS, CLASSES = 32, 4, 2, 3
LABELS = ["ham", "hard_ham", "spam"]


def family_models(vocab, pad, cls, sep):
    """name -> (config class, model class, config kwargs, path of the layer list, pooling)."""
    t = transformers
    common = dict(vocab_size=vocab, num_labels=CLASSES, pad_token_id=pad,
                  id2label={i: n for i, n in enumerate(LABELS)}, label2id={n: i for i, n in enumerate(LABELS)})
    bert_like = dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                     intermediate_size=64, max_position_embeddings=128, **common)
    return {
        "bert": (t.BertConfig, t.BertForSequenceClassification, dict(bert_like), "bert.encoder.layer", "first"),
        "roberta": (t.RobertaConfig, t.RobertaForSequenceClassification,
                    dict(bert_like, max_position_embeddings=130, bos_token_id=cls, eos_token_id=sep),
                    "roberta.encoder.layer", "first"),
        "distilbert": (t.DistilBertConfig, t.DistilBertForSequenceClassification,
                       dict(dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS, hidden_dim=64, max_position_embeddings=128,
                            **common), "distilbert.transformer.layer", "first"),
        "albert": (t.AlbertConfig, t.AlbertForSequenceClassification,
                   dict(bert_like, embedding_size=16, num_hidden_groups=1, inner_group_num=1),
                   "albert.encoder.albert_layer_groups.0.albert_layers.0", "first"),
        "electra": (t.ElectraConfig, t.ElectraForSequenceClassification, dict(bert_like, embedding_size=16),
                    "electra.encoder.layer", "first"),
        "deberta_v2": (t.DebertaV2Config, t.DebertaV2ForSequenceClassification,
                       dict(bert_like, relative_attention=True, position_buckets=32, max_relative_positions=64,
                            pos_att_type=["p2c", "c2p"], position_biased_input=False, type_vocab_size=0),
                       "deberta.encoder.layer", "first"),
        "modernbert": (t.ModernBertConfig, t.ModernBertForSequenceClassification,
                       dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                            intermediate_size=64, max_position_embeddings=128,
                            layer_types=["full_attention", "sliding_attention"], local_attention=8,
                            rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 160000.0},
                                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                            cls_token_id=cls, sep_token_id=sep, bos_token_id=cls, eos_token_id=sep,
                            **common), "model.layers", "first"),
        "gpt2": (t.GPT2Config, t.GPT2ForSequenceClassification,
                 dict(n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS, n_positions=128, bos_token_id=cls,
                      eos_token_id=sep, **common), "transformer.h", "last"),
    }


def make_tokenizer(texts, path):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=600, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    tok.train_from_iterator(texts, trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.enable_truncation(max_length=48)
    tok.save(path)
    return tok


def module_at(model, path):
    m = model
    for part in path.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


def eager_inputs(model, ids, types):
    """The keyword inputs of one unpadded message for the original transformers class."""
    kwargs = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}
    if "token_type_ids" in model.forward.__code__.co_varnames and (getattr(model.config, "type_vocab_size", 0) or 0) > 0:
        kwargs["token_type_ids"] = torch.tensor([types])
    if "use_cache" in model.forward.__code__.co_varnames:
        kwargs["use_cache"] = False
    return kwargs


def eager_logits(model, layer_path, ids, types, spec, pool):
    """Logits of one unpadded message with `spec` applied by forward hooks."""
    handles = []
    site, op, neurons, positions = spec
    if site != "logits":
        block = module_at(model, layer_path)
        layers = list(block) if isinstance(block, torch.nn.ModuleList) else None
        calls = {"n": 0}

        def hook(module, inputs, output, index=int(site) % LAYERS):
            if layers is None:  # ALBERT: one module called once per layer
                call = calls["n"]
                calls["n"] += 1
                if call != index:
                    return None
            hidden = output[0] if isinstance(output, tuple) else output
            hidden = hidden.clone()
            rows = [0] if positions == "pooled" and pool == "first" else \
                   [hidden.shape[1] - 1] if positions == "pooled" else list(range(hidden.shape[1]))
            for r in rows:
                for n in neurons:
                    if op == "zero":
                        hidden[0, r, n] = 0
                    elif op.startswith("const="):
                        hidden[0, r, n] = float(op.split("=")[1])
                    elif op.startswith("scale="):
                        hidden[0, r, n] = hidden[0, r, n] * float(op.split("=")[1])
            return (hidden,) + tuple(output[1:]) if isinstance(output, tuple) else hidden

        target = layers[int(site) % LAYERS] if layers is not None else block
        handles.append(target.register_forward_hook(hook))
    try:
        with torch.no_grad():
            logits = model(**eager_inputs(model, ids, types)).logits[0]
    finally:
        for h in handles:
            h.remove()
    if site == "logits":
        logits = logits + torch.tensor(neurons, dtype=logits.dtype)
    return logits


def eager_captures(model, layer_path, ids, types, pool):
    """Each layer's output at the pooled token of one unpadded message, by forward hooks."""
    block = module_at(model, layer_path)
    layers = list(block) if isinstance(block, torch.nn.ModuleList) else [block] * LAYERS
    seen = []

    def hook(module, inputs, output):
        hidden = output[0] if isinstance(output, tuple) else output
        row = 0 if pool == "first" else hidden.shape[1] - 1
        seen.append(hidden[0, row].tolist())

    handles = [m.register_forward_hook(hook) for m in dict.fromkeys(layers)]
    try:
        with torch.no_grad():
            model(**eager_inputs(model, ids, types))
    finally:
        for h in handles:
            h.remove()
    return seen


def spec_text(spec):
    site, op, neurons, positions = spec
    if site == "logits":
        return "logits:shift:" + ",".join(str(v) for v in neurons)
    return f"{site}:{op}:{','.join(str(n) for n in neurons)}" + (":pooled" if positions == "pooled" else "")


def main():
    cli, exporter, corpus, work = sys.argv[1:5]
    only = set(sys.argv[5:])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rows = [json.loads(line) for line in open(corpus, encoding="utf-8")]
    texts = [r["text"] for r in rows[:400]]
    eval_rows = [r for r in rows[400:460] if r["label"] in LABELS][:12]
    tok_path = os.path.join(work, "tokenizer.json")
    tok = make_tokenizer(texts, tok_path)
    pad, cls, sep = tok.token_to_id("[PAD]"), tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    data = os.path.join(work, "eval.jsonl")
    with open(data, "w", encoding="utf-8") as f:
        for r in eval_rows:
            f.write(json.dumps({"text": r["text"], "label": r["label"]}) + "\n")
    encoded = [tok.encode(r["text"]) for r in eval_rows]
    failures = 0
    specs = [("0", "zero", list(range(0, 16)), "all"), ("1", "const=0.5", [1, 3, 5, 30], "all"),
             ("-1", "scale=2", list(range(8, 24)), "all"), ("0", "zero", list(range(32)), "pooled"),
             ("logits", "shift", [0.0, 0.5, -0.25], "all")]
    for name, (config_cls, model_cls, kwargs, layer_path, pool) in family_models(tok.get_vocab_size(), pad, cls,
                                                                                  sep).items():
        if only and name not in only:
            continue
        for attn in (["eager"] if name == "deberta_v2" else ["eager", "sdpa"]):
            label = f"{name}/{attn}"
            torch.manual_seed(1234)
            try:
                config = config_cls(**kwargs)
                model = model_cls(config).eval()
            except Exception as e:
                print(f"FAIL {label}: cannot build the transformers model: {e}")
                failures += 1
                continue
            saved = os.path.join(work, label.replace("/", "_") + "_saved")
            out = os.path.join(work, label.replace("/", "_") + "_model")
            model.save_pretrained(saved)
            shutil.copyfile(tok_path, os.path.join(saved, "tokenizer.json"))
            r = subprocess.run([sys.executable, exporter, saved, out, "--attn", attn], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"FAIL {label}: synapse-export exit {r.returncode}: {r.stderr.strip()[-400:]}")
                failures += 1
                continue
            model = model_cls.from_pretrained(saved, attn_implementation=attn).eval()
            worst = 0.0
            base = [eager_logits(model, layer_path, e.ids, e.type_ids, ("logits", "shift", [0.0] * CLASSES, "all"),
                                 pool) for e in encoded]
            expected = {}  # spec → eager logits per message, for cross_lane_test.py
            for spec in specs:
                cmd = [cli, "predict", "--model", out, "--data", data, "--pool", pool, "-i", spec_text(spec)]
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    print(f"FAIL {label} {spec_text(spec)}: synapse predict exit {p.returncode}: {p.stderr.strip()[-300:]}")
                    failures += 1
                    continue
                got = [json.loads(line)["logits"] for line in p.stdout.splitlines() if line.strip()]
                # The intervention must move the logits, or matching eager hooks proves nothing.
                moved = max(float((torch.tensor(g) - b).abs().max()) for g, b in zip(got, base))
                if not moved > 1e-3:
                    print(f"FAIL {label} {spec_text(spec)}: the logits moved by only {moved:.3g}")
                    failures += 1
                expected[spec_text(spec)] = []
                for i, e in enumerate(encoded):
                    ref = eager_logits(model, layer_path, e.ids, e.type_ids, spec, pool)
                    expected[spec_text(spec)].append(ref.tolist())
                    d = float((torch.tensor(got[i]) - ref).abs().max())
                    worst = max(worst, d)
                    if not d <= TOL:
                        print(f"FAIL {label} {spec_text(spec)} row {i}: {d:.3g} from eager hooks")
                        failures += 1
                        break
            # For transformers_families_test (C++): each message's layer outputs at the pooled
            # token by eager hooks, to check Synapse's captures against.
            with open(os.path.join(work, label.replace("/", "_") + "_eager.json"), "w") as f:
                json.dump({"pool": pool, "captures": [eager_captures(model, layer_path, e.ids, e.type_ids, pool)
                                                      for e in encoded], "predict": expected}, f)
            print(f"{'ok  ' if worst <= TOL else 'FAIL'} {label}: {len(specs)} interventions x {len(encoded)} "
                  f"messages, largest difference from eager hooks {worst:.2g}")
            report_dir = os.path.join(work, label.replace("/", "_") + "_analyze")
            a = subprocess.run([cli, "analyze", "--model", out, "--data", data, "--pool", pool, "--k", "2,8",
                                "--random-seeds", "2", "--noise", "0.5", "--weight-noise", "0.1",
                                "--weight-noise-seeds", "1", "--bisect-steps", "3", "--no-cache", "--quiet",
                                "--out", report_dir], capture_output=True, text=True)
            layers = json.load(open(os.path.join(report_dir, "report.json")))["layers"] if a.returncode == 0 else []
            if a.returncode != 0 or len(layers) != LAYERS:
                print(f"FAIL {label}: synapse analyze exit {a.returncode}, {len(layers)} layers: {a.stderr.strip()[-300:]}")
                failures += 1
            else:
                print(f"ok   {label}: synapse analyze, {len(layers)} layers ({', '.join(l['name'] for l in layers)})")
    print(f"export families: {failures} failed (torch {torch.__version__}, transformers {transformers.__version__})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
