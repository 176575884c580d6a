#!/usr/bin/env node
// Build-time data of the review_sentiment example: the 1,000 Amazon product review
// sentences of the UCI "Sentiment Labelled Sentences" (as wink-sentiment ships them), split
// 700 / 300 stratified with a fixed seed, and a RoBERTa-style byte-level BPE tokenizer.json
// trained on the 700 training sentences by Hugging Face tokenizers (Rust, Node binding).
//
//   NODE_PATH=.../node_modules node make_data.js OUT_DIR
//
// Writes OUT_DIR/tokenizer.json and OUT_DIR/split.jsonl: one row {text, label, split:
// "train" | "eval", input_ids} per sentence, the ids as Hugging Face encodes the text with
// that tokenizer.json (what make_model.py trains on; Synapse tokenizes eval text itself).
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('@anush008/tokenizers');

const out = process.argv[2];
if (!out) { console.error('usage: make_data.js OUT_DIR'); process.exit(2); }
fs.mkdirSync(out, { recursive: true });

const kMerges = 300;        // BPE merges kept (the binding's default trainer learns thousands)
const kMaxLength = 64;      // the model has 64 + 2 position embeddings (RoBERTa's offset)
const kEvalPerClass = 150;

const source = path.join(path.dirname(require.resolve('wink-sentiment/package.json')),
                         'test', 'data', 'amazon_cells_labelled.txt');
const rows = fs.readFileSync(source, 'utf8').split('\n').filter((l) => l.trim() !== '').map((line) => {
  const tab = line.lastIndexOf('\t');
  const label = line.slice(tab + 1).trim();
  if (label !== '0' && label !== '1') throw new Error(`${source}: bad label in ${JSON.stringify(line)}`);
  return { text: line.slice(0, tab).trim(), label: label === '1' ? 'positive' : 'negative' };
});
if (rows.length !== 1000) throw new Error(`${source}: expected 1000 sentences, found ${rows.length}`);

// mulberry32: a seeded shuffle, the same split on every machine.
let state = 20261201;
function random() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const order = [...rows.keys()];
for (let i = order.length - 1; i > 0; --i) {
  const j = Math.floor(random() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const taken = { positive: 0, negative: 0 };
for (const i of order) {
  rows[i].split = taken[rows[i].label]++ < kEvalPerClass ? 'eval' : 'train';
}

// Byte-level BPE as RoBERTa builds it: <s> <pad> </s> <unk> <mask> first (pad id 1), the
// 256 byte symbols, then the first kMerges merges the trainer learned and their results.
const corpus = path.join(out, 'train_text.txt');
fs.writeFileSync(corpus, rows.filter((r) => r.split === 'train').map((r) => r.text).join('\n') + '\n');
const trainer = new tk.Tokenizer(tk.BPE.empty());
trainer.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
trainer.train([corpus]);
const tmp = path.join(out, 'trained_tmp.json');
trainer.save(tmp);
const j = JSON.parse(fs.readFileSync(tmp, 'utf8'));
fs.unlinkSync(tmp);
fs.unlinkSync(corpus);

const specials = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
const vocab = {};
const add = (tok) => { if (!(tok in vocab)) vocab[tok] = Object.keys(vocab).length; };
specials.forEach(add);
tk.byteLevelAlphabet().sort().forEach(add);
const merges = j.model.merges.slice(0, kMerges).map((m) => (Array.isArray(m) ? m : m.split(' ')));
for (const [a, b] of merges) {
  if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${a} ${b} needs a token it does not have`);
  add(a + b);
}
j.model.vocab = vocab;
j.model.merges = merges;
j.added_tokens = specials.map((s, id) => ({ id, content: s, single_word: false, lstrip: s === '<mask>', rstrip: false,
                                              normalized: false, special: true }));
j.normalizer = null;
j.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
j.post_processor = { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false };
j.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
j.truncation = { direction: 'Right', max_length: kMaxLength, strategy: 'LongestFirst', stride: 0 };
j.padding = null;
const text = JSON.stringify(j);
fs.writeFileSync(path.join(out, 'tokenizer.json'), text);

// Encode with the file just written, loaded back: the library decides what it means.
async function main() {
  const t = tk.Tokenizer.fromString(text);
  const lines = [];
  for (const r of rows) {
    const e = await t.encode(r.text);
    lines.push(JSON.stringify({ text: r.text, label: r.label, split: r.split, input_ids: e.getIds() }));
  }
  fs.writeFileSync(path.join(out, 'split.jsonl'), lines.join('\n') + '\n');
  console.log(`review_sentiment: ${Object.keys(vocab).length} tokens, ${rows.length} sentences ` +
              `(${rows.filter((r) => r.split === 'train').length} train)`);
}

main().catch((e) => { console.error(e); process.exit(1); });
