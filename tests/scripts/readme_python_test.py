#!/usr/bin/python3
"""Runs every Python snippet of README.md, as a user would paste it, on a local model.

    readme_python_test.py README.md SYNAPSE_CLI WORK

Runs where python3 has torch 2.x, transformers and tokenizers (the LibTorch 2.x lane). A
snippet that loads a Hub checkpoint (`name = "..."`) gets a small DistilBERT classifier
saved in WORK instead (no network at test time); everything else runs as written, in a
fresh folder. Each snippet must exit 0, and each model.pt it writes must load in
`synapse inspect`. Prints one line per snippet; exits 1 if any failed.
"""
import os
import re
import shutil
import subprocess
import sys


def local_classifier(folder):
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import DistilBertConfig, DistilBertForSequenceClassification, PreTrainedTokenizerFast

    texts = ["an example", "and a longer second example", "a positive review of a good film",
             "a negative review of a bad film"] * 4
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=200, special_tokens=[
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=tok.get_vocab_size(), dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                              num_labels=2, id2label={0: "NEGATIVE", 1: "POSITIVE"},
                              label2id={"NEGATIVE": 0, "POSITIVE": 1}, pad_token_id=0)
    DistilBertForSequenceClassification(config).save_pretrained(folder)
    fast.save_pretrained(folder)


def main():
    readme, cli, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    snippets = re.findall(r"```python\n(.*?)```", open(readme, encoding="utf-8").read(), re.S)
    if not snippets:
        print("README.md has no Python snippet")
        sys.exit(1)
    saved = os.path.abspath(os.path.join(work, "hub_model"))
    local_classifier(saved)
    failures = 0
    for i, code in enumerate(snippets):
        code = re.sub(r'^name = "[^"]*"$', f"name = {saved!r}", code, flags=re.M)
        folder = os.path.join(work, f"snippet_{i}")
        os.makedirs(folder)
        with open(os.path.join(folder, "snippet.py"), "w", encoding="utf-8") as f:
            f.write(code)
        r = subprocess.run([sys.executable, "snippet.py"], cwd=folder, capture_output=True, text=True)
        first = code.strip().splitlines()[0]
        if r.returncode != 0:
            print(f"FAIL snippet {i} ({first}): exit {r.returncode}: {r.stderr.strip()[-500:]}")
            failures += 1
            continue
        models = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".pt")]
        for m in models:
            p = subprocess.run([cli, "inspect", m], capture_output=True, text=True)
            if p.returncode != 0:
                print(f"FAIL snippet {i}: synapse inspect {os.path.basename(m)}: {p.stderr.strip()[-300:]}")
                failures += 1
        print(f"ok   snippet {i} ({first}): ran, {len(models)} model file(s) load in synapse inspect")
    print(f"README Python snippets: {len(snippets)} run, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
