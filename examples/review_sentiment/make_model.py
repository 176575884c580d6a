#!/usr/bin/python3
"""Trains the review_sentiment example's model: a 2-layer RoBERTa-shaped classifier
(Hugging Face module names, tests/fixtures/make_fixtures.py) on the 700 training sentences
that make_data.js split and tokenized, and writes a model directory Synapse reads.

    /usr/bin/python3 make_model.py DATA_DIR MODEL_DIR

DATA_DIR holds make_data.js's tokenizer.json and split.jsonl. MODEL_DIR gets model.pt
(torch.jit.trace), tokenizer.json, labels.json, eval.jsonl (the 300 held-out sentences as
text: Synapse tokenizes them with tokenizer.json) and training.json (settings and the
accuracy PyTorch measured on eval.jsonl, for the README; the tests measure their own).
Deterministic on one machine: fixed seeds, one thread. SYNAPSE_FIXTURE_SEED (default 0)
picks the seed; what the model learns also differs from one CPU to the next, so the
example's tests hold for any seed, and CI retrains it with another one.
"""
import json
import os
import shutil
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'fixtures'))
import make_fixtures as mf  # noqa: E402  (the RoBERTa modules, sized by its module globals)

LABELS = ['negative', 'positive']
PAD_ID = 1
HIDDEN = 64
HEADS = 4
LAYERS = 2
EPOCHS = 10
BATCH = 32
LR = 2e-3
SEED = int(os.environ.get('SYNAPSE_FIXTURE_SEED') or 0)


def batches(rows, order):
    for start in range(0, len(order), BATCH):
        chunk = [rows[i] for i in order[start:start + BATCH]]
        width = max(len(r['input_ids']) for r in chunk)
        ids = torch.full((len(chunk), width), PAD_ID, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for k, r in enumerate(chunk):
            ids[k, :len(r['input_ids'])] = torch.tensor(r['input_ids'])
            mask[k, :len(r['input_ids'])] = 1
        yield ids, mask, torch.tensor([LABELS.index(r['label']) for r in chunk])


def accuracy(model, rows):
    model.eval()
    right = 0
    with torch.no_grad():
        for ids, mask, y in batches(rows, list(range(len(rows)))):
            right += int((model(ids, mask)[0].argmax(-1) == y).sum())
    return right / len(rows)


def main():
    data_dir, model_dir = sys.argv[1:3]
    started = time.time()
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    rows = [json.loads(line) for line in open(os.path.join(data_dir, 'split.jsonl'), encoding='utf-8')]
    train = [r for r in rows if r['split'] == 'train']
    held_out = [r for r in rows if r['split'] == 'eval']
    vocab = len(json.load(open(os.path.join(data_dir, 'tokenizer.json'), encoding='utf-8'))['model']['vocab'])

    mf.VOCAB, mf.HIDDEN, mf.HEADS, mf.CLASSES = vocab, HIDDEN, HEADS, len(LABELS)
    model = mf.RobertaForSequenceClassification(LAYERS)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        total = 0.0
        for ids, mask, y in batches(train, torch.randperm(len(train), generator=gen).tolist()):
            # Token dropout (the fixture modules have no dropout): replace 10% of the real
            # tokens by <unk>, so that 700 sentences do not simply get memorized.
            drop = (torch.rand(ids.shape, generator=gen) < 0.1) & (mask == 1) & (ids > 4)
            loss = F.cross_entropy(model(ids.masked_fill(drop, 3), mask)[0], y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(y)
        print(f'epoch {epoch}: loss {total / len(train):.3f}')
    model.eval()
    train_acc, eval_acc = accuracy(model, train), accuracy(model, held_out)
    print(f'train accuracy {train_acc:.3f}, eval accuracy {eval_acc:.3f} ({time.time() - started:.1f} s)')

    os.makedirs(model_dir, exist_ok=True)
    ids, mask, _ = next(batches(held_out, [0, 1]))
    traced = torch.jit.trace(model, (ids, mask))
    traced.save(os.path.join(model_dir, 'model.pt'))
    shutil.copyfile(os.path.join(data_dir, 'tokenizer.json'), os.path.join(model_dir, 'tokenizer.json'))
    with open(os.path.join(model_dir, 'labels.json'), 'w', encoding='utf-8') as f:
        json.dump(LABELS, f)
    with open(os.path.join(model_dir, 'eval.jsonl'), 'w', encoding='utf-8') as f:
        for r in held_out:
            f.write(json.dumps({'text': r['text'], 'label': r['label']}, ensure_ascii=False) + '\n')
    with open(os.path.join(model_dir, 'training.json'), 'w', encoding='utf-8') as f:
        json.dump({'layers': LAYERS, 'hidden': HIDDEN, 'heads': HEADS, 'vocab': vocab, 'epochs': EPOCHS,
                   'batch': BATCH, 'lr': LR, 'seed': SEED, 'train_rows': len(train), 'eval_rows': len(held_out),
                   'train_accuracy': train_acc, 'eval_accuracy': eval_acc}, f, indent=1)


if __name__ == '__main__':
    main()
