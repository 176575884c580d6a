// What both reference scripts share: the sentence pairs, how encodings become rows, and the
// digest that keeps a row small (tests/tokenizer_reference.h computes the same one).
//
//   const rows = require('./reference_rows');
//   const pairs = rows.pairsOf(messages, edge);             // every message, in two pairs
//   const encoded = await rows.encodeAll(tokenizer, inputs, batchable);
//   out.push(rows.row({ tokenizer: 'x.json', max_length: 512, text: 7 }, encoded[7], detailed));
//
// A detailed row carries ids, type_ids and attention_mask; the others their length `n` and
// `h`, two 32-bit FNV-1a-style lanes over ids, -1, type_ids, -1, attention_mask as 16 hex
// digits: every encoding is compared, at ~100 bytes a row instead of ~3 KB.
'use strict';

function hex8(x) { return (x >>> 0).toString(16).padStart(8, '0'); }

function digest(ids, typeIds, mask) {
  let h1 = 0x811c9dc5, h2 = 0x9747b28c;
  const feed = (v) => {
    h1 = Math.imul(h1 ^ v, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ v, 0x5bd1e995) >>> 0;
    h2 = (h2 ^ (h2 >>> 15)) >>> 0;
  };
  ids.forEach(feed); feed(-1); typeIds.forEach(feed); feed(-1); mask.forEach(feed);
  return hex8(h1) + hex8(h2);
}

// The first n code points of s (never half of a surrogate pair).
function head(s, n) { return Array.from(s).slice(0, n).join(''); }

// Every message i with the next one: the head of i (200 to 1,099 code points) and of i + 1
// (50 to 2,049), so that some pairs fit and most are truncated; then each edge case with
// another edge case and with the head of a message.
function pairsOf(messages, edge) {
  const pairs = [];
  for (let i = 0; i < messages.length; ++i) {
    pairs.push([head(messages[i], 200 + (i * 37) % 900), head(messages[(i + 1) % messages.length], 50 + (i * 53) % 2000)]);
  }
  edge.forEach((e, k) => {
    pairs.push([e, edge[(k + 3) % edge.length]]);
    pairs.push([head(messages[k], 300), e]);
  });
  return pairs;
}

// Encodes every input (a text or a [text, pair]) with `t`: {e} or, where the library
// refuses (OnlyFirst/OnlySecond truncation), {error}. `batchable`: a batch encodes each input
// as encode would (false when the file pads to the batch's longest).
async function encodeAll(t, inputs, batchable) {
  const out = [];
  const chunk = 256;
  for (let s = 0; s < inputs.length; s += chunk) {
    const part = inputs.slice(s, s + chunk);
    let encoded = null;
    if (batchable && part.every((x) => !Array.isArray(x))) {
      try { encoded = await t.encodeBatch(part); } catch (err) { encoded = null; }  // one refusal fails the batch
    }
    if (encoded) { encoded.forEach((e) => out.push({ e })); continue; }
    for (const x of part) {
      try {
        out.push({ e: Array.isArray(x) ? await t.encode(x[0], x[1]) : await t.encode(x) });
      } catch (err) {
        out.push({ error: String(err.message || err) });
      }
    }
  }
  return out;
}

function row(base, encoded, detailed) {
  if (encoded.error !== undefined) return { ...base, error: encoded.error };
  const e = encoded.e;
  const ids = e.getIds(), types = e.getTypeIds(), mask = e.getAttentionMask();
  return detailed ? { ...base, ids, type_ids: types, attention_mask: mask }
                  : { ...base, n: ids.length, h: digest(ids, types, mask) };
}

module.exports = { digest, head, pairsOf, encodeAll, row };
