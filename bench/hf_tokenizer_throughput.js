#!/usr/bin/env node
// Hugging Face tokenizers (Rust, Node binding) on the same texts and tokenizer.json as
// tokenizer_bench: prints "hf_bytes_per_second N" for bench/tokenizer_throughput.sh.
// Usage: NODE_PATH=... node hf_tokenizer_throughput.js REF_DIR [SECONDS] [TOKENIZER_JSON]
// (TOKENIZER_JSON: a file in REF_DIR, default uncased.json.)
'use strict';
const fs = require('fs');
const tk = require('@anush008/tokenizers');
const dir = process.argv[2];
const seconds = Number(process.argv[3] || 5);
const texts = JSON.parse(fs.readFileSync(dir + '/texts.json', 'utf8')).texts;
const tok = tk.Tokenizer.fromFile(dir + '/' + (process.argv[4] || 'uncased.json'));
tok.disableTruncation();
tok.disablePadding();  // a batch would pad every text to the longest; Synapse encodes one at a time
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);
(async () => {
  await tok.encodeBatch(texts.slice(0, 100));  // warm-up
  let done = 0;
  const start = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
    await tok.encodeBatch(texts);
    done += bytes;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`hf_bytes_per_second ${done / elapsed}`);
})();
