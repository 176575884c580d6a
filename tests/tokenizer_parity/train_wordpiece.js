#!/usr/bin/env node
// Trains a vocabulary with Hugging Face's own WordPieceTrainer (Rust, Node binding), to set
// beside Synapse's trainer in its tests (for information: HF breaks ties by hash order).
//
//   NODE_PATH=.../node_modules node train_wordpiece.js TEXTS_JSON OUT_JSON [cased]
//
// TEXTS_JSON: a JSON array of texts. The binding offers only the default trainer (vocab_size
// 30000, min_frequency 0, whole alphabet, no special tokens). OUT_JSON: {alphabet, tokens}:
// the number of alphabet pieces (c and ##c) that come first, and every token in id order
// (alphabet, then merges in the order made).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const tk = require('@anush008/tokenizers');

const [textsPath, outPath, casing] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: train_wordpiece.js TEXTS_JSON OUT_JSON [cased]');
  process.exit(2);
}
const texts = JSON.parse(fs.readFileSync(textsPath, 'utf8'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synapse-wp-'));
const corpus = path.join(dir, 'corpus.txt');
fs.writeFileSync(corpus, texts.join('\n'));
const t = new tk.Tokenizer(tk.WordPiece.empty());
t.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: casing !== 'cased' }));
t.setPreTokenizer(tk.bertPreTokenizer());
t.train([corpus]);
fs.rmSync(dir, { recursive: true });
const vocab = t.getVocab(false);
const tokens = Object.keys(vocab).sort((x, y) => vocab[x] - vocab[y]);
// The alphabet is every single character, then every "##" + character, before any merge.
let alphabet = 0;
while (alphabet < tokens.length && [...tokens[alphabet].replace(/^##/, '')].length === 1) ++alphabet;
fs.writeFileSync(outPath, JSON.stringify({ alphabet, tokens }));
