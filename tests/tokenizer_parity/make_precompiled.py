#!/usr/bin/env python3
"""Builds a SentencePiece precompiled charsmap from the published format, for the parity test.

    /usr/bin/python3 make_precompiled.py OUT.bin

The format (sentencepiece normalizer.cc, read by Hugging Face's spm_precompiled crate):
a little-endian uint32 giving the byte size of the trie, the trie as a darts-clone double
array of little-endian uint32 units keyed by UTF-8 bytes, then the blob of normalized
strings, each ended by a NUL; a key's value is the offset of its string in the blob.

The rules: every code point whose NFKC form differs maps to that form (Python's
unicodedata); the canonical decomposition of every composed character maps to its NFKC
form too (multi-code-point keys, matched per grapheme as SentencePiece does); C0
controls other than tab/newline/CR, and DEL, map to nothing; tab, newline and CR to a space.
It is not SentencePiece's nmt_nfkc table, but it is built, stored and matched the same way.
"""
import struct
import sys
import unicodedata


def rules():
    out = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        n = unicodedata.normalize('NFKC', c)
        if n != c:
            out[c] = n
        d = unicodedata.normalize('NFD', c)
        if len(d) > 1 and unicodedata.normalize('NFKC', d) != d:
            out.setdefault(d, unicodedata.normalize('NFKC', d))
    for cp in list(range(0x01, 0x09)) + [0x0B, 0x0C] + list(range(0x0E, 0x20)) + [0x7F]:
        out[chr(cp)] = ''
    for c in '\t\n\r':
        out[c] = ' '
    return out


def build_double_array(keys):
    """keys: sorted list of (bytes, value). Returns the darts-clone units."""
    # A trie of dicts: label -> child; the value under key None.
    root = {}
    for key, value in keys:
        node = root
        for b in key:
            node = node.setdefault(b, {})
        node[None] = value
    units = [0] * 1024
    used = bytearray(1024)
    used_base = set()
    used[0] = 1
    first_free = 1

    def grow(n):
        while len(units) <= n:
            units.extend([0] * len(units))
            used.extend(bytearray(len(used)))

    stack = [(root, 0)]
    while stack:
        node, pos = stack.pop()
        labels = sorted(k for k in node if k is not None)
        if None in node:
            labels = [0] + labels
        if not labels:
            continue
        while first_free < len(used) and used[first_free]:
            first_free += 1
        p = first_free
        while True:
            grow(p + 256)
            if not used[p]:
                base = p ^ labels[0]
                if base not in used_base and all(base ^ l != 0 and not used[base ^ l] for l in labels):
                    break
            p += 1
        grow(base | 0xFF)
        offset = pos ^ base
        assert offset < (1 << 21), 'double array too large for a plain offset'
        used_base.add(base)
        units[pos] |= offset << 10
        for l in labels:
            used[base ^ l] = 1
        if None in node:
            units[pos] |= 1 << 8
            units[base] = (1 << 31) | node[None]
        for l in labels:
            if l == 0:
                continue
            units[base ^ l] = l
            stack.append((node[l], base ^ l))
    last = max(i for i in range(len(used)) if used[i])
    return units[: last + 1]


def main():
    table = rules()
    blob = bytearray()
    keys = []
    for key in sorted(table, key=lambda k: k.encode('utf-8')):
        keys.append((key.encode('utf-8'), len(blob)))
        blob += table[key].encode('utf-8') + b'\0'
    units = build_double_array(keys)
    trie = struct.pack('<%dI' % len(units), *units)
    with open(sys.argv[1], 'wb') as f:
        f.write(struct.pack('<I', len(trie)) + trie + bytes(blob))
    print('precompiled charsmap: %d rules, %d trie units, %d blob bytes' % (len(keys), len(units), len(blob)))


if __name__ == '__main__':
    main()
