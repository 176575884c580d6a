#!/usr/bin/env node
// Encodes texts with a tokenizer.json through Hugging Face tokenizers (Rust, Node binding),
// for Synapse's trainer tests: what the real library makes of a vocabulary we trained.
//
//   NODE_PATH=.../node_modules node encode.js TOKENIZER_JSON TEXTS_JSON OUT_JSONL
//
// TEXTS_JSON: a JSON array whose items are a text or a [text, pair] array. OUT_JSONL: one
// row {ids, type_ids} per item, in order, with the tokenizer.json's own truncation.
'use strict';
const fs = require('fs');
const tk = require('@anush008/tokenizers');

async function main() {
  const [tokenizerPath, textsPath, outPath] = process.argv.slice(2);
  if (!outPath) {
    console.error('usage: encode.js TOKENIZER_JSON TEXTS_JSON OUT_JSONL');
    process.exit(2);
  }
  const tokenizer = tk.Tokenizer.fromFile(tokenizerPath);
  const items = JSON.parse(fs.readFileSync(textsPath, 'utf8'));
  const rows = [];
  for (const item of items) {
    const e = Array.isArray(item) ? await tokenizer.encode(item[0], item[1]) : await tokenizer.encode(item);
    rows.push(JSON.stringify({ ids: e.getIds(), type_ids: e.getTypeIds() }));
  }
  fs.writeFileSync(outPath, rows.join('\n') + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
