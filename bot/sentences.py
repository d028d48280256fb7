"""Sentence boundaries: syntok 1.4.4's `segmenter.analyze` boundaries, found about fifteen times faster.

syntok tokenizes the whole text and walks every token through a state machine (~1.3 MB/s). Almost all tokens
are ordinary words the machine merely moves past; only terminals ('.', '!', '?', ';', '...' ...) and opening
brackets can change anything. So this module tokenizes lazily: a regex jumps from one whitespace-delimited
chunk that contains such a character to the next, only those chunks (and the few tokens a decision looks at)
are tokenized, exactly as syntok's Tokenizer would, and the decision rules of syntok's states are replayed on
that window. The result is `raw_spans(text)`: per sentence, (offset of its first token, end of its last token).

On the 2,883 releases of the shared corpus it returns exactly syntok's spans (tests/test_sentences.py checks it
against syntok itself, which stays the reference, as rank-bm25 is for BM25), about 15x faster, and stays linear
in the text length (syntok re-pads every paragraph with `offset` spaces, which is quadratic on long documents).
At syntok's 1.3 MB/s, splitting alone would take five minutes of a million-passage build.

Why one module of about 500 lines, and `_Paragraph.spans` of about 70: it replays syntok's state machine rule for
rule, in syntok's order, so that each rule can be read beside syntok's own; split up, they no longer could.
"""
from __future__ import annotations

import os
import re

import regex  # only for the tokenizer's Unicode-category split rule (\p{Ll}, \p{Lu}, \p{Ps}, ...)

# --- character classes, exactly as syntok sees them --------------------------------------------------------

# `regex`'s \s is Unicode White_Space, which differs from `re`'s \s (no \x1c-\x1f); syntok also splits on ZWSP.
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
TOKEN_SPACE = WHITE_SPACE + "\u200b"
TOKEN_SPACE_CHARS = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000\u200b") | frozenset(
    map(chr, range(0x2000, 0x200b)))

TERMINALS = frozenset({"..."} | set(".!?;\u203C\u203D\u2047\u2048\u2049\u3002\uFE52\uFE57\uFF01\uFF0E\uFF1F\uFF61"))
OPENING_BRACKETS = frozenset("([{\uFF5F\uFF5B\uFF3B\uFF08\uFE5D\uFE5B\uFE59\uFD3E\u301A\u3018\u2985\u2983\u2329")
CLOSING_BRACKETS = frozenset(")]}\uFF60\uFF5D\uFF3D\uFF09\uFE5E\uFE5C\uFE5A\uFD3F\u301B\u3019\u2986\u2984\u232A")
CLOSING_QUOTES = frozenset("'\"\u00B4\u2019\u201D\u232A\u27E9\u27EB\u2E29\u3009\u300B\u301E")
INNER_PUNCTUATION = frozenset(",;:")
SPECIAL = TERMINALS | OPENING_BRACKETS  # the tokens at which syntok's state machine makes a decision
SPECIAL_STARTS = frozenset(t[0] for t in SPECIAL)  # a chunk starting with none of these starts with an ordinary token
MAX_BRACKET_SKIP = 70  # State.max_bracket_skipping_length
MAX_BRACKET_TOKENS = 50  # a bracket not closed within this many tokens is not skipped

VOWELS = frozenset("aeiouáéííóúäëïöüåæø" + "aeiouáéííóúäëïöüåæø".upper())
ROMAN_NUMERALS = frozenset("I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII XVIII XIX XX "
                           "XXI XXII XXIII XXIV XXV".split())
MONTHS = frozenset("""Jän Jan en ene Ene feb febr Feb Mär Mar mzo Mzo Apr abr abl Abr may May jun Jun
    jul Jul ago agto Aug sep Sep sept Sept setbre set oct octbre Oct Okt nov novbre Nov dic dicbre Dic Dez Dec
    """.split())
ABBREVIATIONS = frozenset("""
    Abb adm Adm Abs afmo alt Alt Anl ap apdo approx Approx art Art atte atto Aufl ave Ave Az
    bmo Bmo brig Bd Brig bsp Bsp bspw bzgl bzw ca cap capt Capt cf cmdt Cmdt cnel Cnel Co col Col Corp
    de Dr dgl dt emp en es etc evtl excl exca Exca excmo Excmo exsmo Exsmo ff fig Fig figs Figs fr Fr
    gal gen Gen ggf gral Gral GmbH gob Gob Hd hno Hno hnos Hnos Inc incl inkl lic Lic lit ldo Ldo Ltd
    mag Mag max med Med Min min Mio mos Mr mr Mrd Mrs mrs Ms ms Mt mt MwSt nat Nat Nr nr ntra Ntra ntro Ntro
    pag phil prof Prof rer Rer resp sci Sci Sen Sr sr Sra sra Srta srta St st synth tab Tab tel Tel
    univ Univ Urt vda Vda vol Vol vs vta zB zit zzgl
    Mo Mon lun Di Tue mar Mi Wed mie mié Do Thu jue Fr Fri vie Sa Sat sab So Sun dom
    """.split())
STARTERS = frozenset("""
    Above Accordingly Additionally Admittedly All Also Although Again And Are As Assuredly Because Besides
    Certainly Chiefly Comparatively Consequently Conversely Coupled Correspondingly
    Does Due Especially For Furthermore Granted Generally Hence How However
    Identically In Indeed Instead It Its Likewise Moreover Nevertheless No
    Obviously Of On Ordinarily Other Otherwise Outside Particularly Rather
    Similarly Since Singularly Still So Subsequently
    That The Therefore Thereupon This Thus Unquestionably Use Usually
    What Where Whereas Wherefore Why Yet
    Auch Da Dabei Dadurch Daher Darauf Darum Das Dein Der Deswegen Die Du
    Ich Ihr Ihnen Er Es Euer Mein Nämlich Sie Sein So Somit Sonst
    Unser Warum Was Wegen Weil Wer Weshalb Wie Wieso Wir
    A Algunas Algunos De Desde Debido El Ella En Hay La Las Los No
    Otra Otro Para Por Porque Se También Todas Todos
    """.split())
NUMBER_SIGNS = frozenset(("no", "No", "NO"))

# --- regexes ------------------------------------------------------------------------------------------------

# syntok's paragraph separator is "\r?\n(?:\s*\r?\n)+"; without the leading "\r?" `re` finds it much faster, and
# a "\r" just before a match is added back to it.
PARAGRAPH_BREAK = re.compile(f"\n(?:[{WHITE_SPACE}]*\n)+")
CHUNK = re.compile(f"[^{TOKEN_SPACE}]+")  # what syntok's tokenizer splits first: runs of non-space
CHUNK_REST = re.compile(f"[^{TOKEN_SPACE}]*")
SPECIAL_CHAR = re.compile("[" + re.escape("".join(sorted({c for t in SPECIAL for c in t}))) + "]")

# syntok's Tokenizer: inside the alphanumeric core of a chunk these make separate tokens
HYPHENS = "\u00AD\u058A\u05BE\u0F0C\u1400\u1806\u2010\u2011\u2012\u2e17\u30A0-"
HYPHENS_AND_UNDERSCORE = frozenset(HYPHENS + "_")  # split at, but not emitted as tokens
APOSTROPHES = frozenset("'\u00B4\u02B9\u02BC\u2019\u2032")
WORD_SEPARATION = regex.compile(
    r"(?<=\p{Ll})[.!?]?(?=\p{Lu})|"  # lowercase-uppercase transitions
    r"[" + "".join(sorted(APOSTROPHES)) + r"]\p{L}+|"  # apostrophes and their tail
    r"[\p{Ps}\p{Pe}]|"  # parenthesis and open/close punctuation
    r"\.\.\.|"  # inner ellipsis
    r"(?<=\p{L})[,;_" + HYPHENS + r"](?=[\p{L}\p{Nd}])|"  # dash-not-digits transition prefix
    r"(?<=[\p{L}\p{Nd}])[,;_" + HYPHENS + r"](?=\p{L})"  # dash-not-digits transition postfix
)
# An ASCII core of letters and digits joined by symbols that never separate ("3.5", "U.S", "1,000", "acme.com")
# is one token unless a lower-case letter is followed (maybe across a '.') by an upper-case one: this cheap
# test lets most cores skip WORD_SEPARATION.
PLAIN_CORE = re.compile(r"[A-Za-z0-9]+(?:(?:[.:/%$&@+=#*]|(?<=[0-9])[,-](?=[0-9]))[A-Za-z0-9]+)*")
CASE_CHANGE = re.compile(r"[a-z]\.?[A-Z]")

S, E, V, GLUED = 0, 1, 2, 3  # token tuple fields: start, end, value, no space before it


def _chunk_tokens(chunk: str) -> list[tuple[int, int, str, bool]]:
    """Tokens of `chunk` (a run without white space), as syntok's Tokenizer (replace_not_contraction=False)
    makes them: symbols before the first and after the last alphanumeric character are single tokens (a
    leading '...' of the tail stays one), a chunk without any alphanumeric is one token, and the core between
    is cut by WORD_SEPARATION."""
    n = len(chunk)
    s = 0
    while s < n and not chunk[s].isalnum():
        s += 1
    if s == n:
        return [(0, n, chunk, False)]
    e = n
    while not chunk[e - 1].isalnum():
        e -= 1
    out = [(i, i + 1, chunk[i], i > 0) for i in range(s)]
    glued = s > 0
    core = chunk[s:e]
    if e - s == 1 or (PLAIN_CORE.fullmatch(core) and not CASE_CHANGE.search(core)):
        out.append((s, e, core, glued))
    else:
        rest = 0  # start of the part of the core not yet emitted
        end = s if glued else -1  # end of the last emitted token, for GLUED
        for mo in WORD_SEPARATION.finditer(core):
            a, b = mo.span()
            if a > rest:
                if b - a == 2 and core[a] in APOSTROPHES and core[a + 1] == "t" and core[a - 1] == "n":
                    if rest < a - 1:  # "don't" is "do" + "n't"
                        out.append((s + rest, s + a - 1, core[rest:a - 1], s + rest == end))
                        end = s + a - 1
                    out.append((s + a - 1, s + b, core[a - 1:b], s + a - 1 == end))
                    end = s + b
                    rest = b
                    continue
                out.append((s + rest, s + a, core[rest:a], s + rest == end))
                end = s + a
            if b > a and core[a:b] not in HYPHENS_AND_UNDERSCORE:
                out.append((s + a, s + b, core[a:b], s + a == end))
                end = s + b
            rest = b
        if rest == 0:
            out.append((s, e, core, glued))
        elif rest < len(core):
            out.append((s + rest, e, core[rest:], s + rest == end))
    if chunk.startswith("...", e):
        out.append((e, e + 3, "...", True))
        e += 3
    out.extend((i, i + 1, chunk[i], True) for i in range(e, n))
    return out


_CHUNK_CACHE: dict = {}  # chunk -> its tokens, offsets relative to the chunk: the same words recur a lot
CACHE_SIZE = 1 << 16
CACHED_CHUNK_LENGTH = 64


def _cached_chunk_tokens(chunk: str) -> list[tuple[int, int, str, bool]]:
    """_chunk_tokens(chunk), kept for a short chunk (bot/_sentences.c asks for the chunks it leaves to Python)."""
    tokens = _CHUNK_CACHE.get(chunk)
    if tokens is None:
        tokens = _chunk_tokens(chunk)
        if len(chunk) <= CACHED_CHUNK_LENGTH:
            if len(_CHUNK_CACHE) >= CACHE_SIZE:
                _CHUNK_CACHE.clear()
            _CHUNK_CACHE[chunk] = tokens
    return tokens


def _tokenize_chunk(text: str, cs: int, ce: int) -> list[tuple[int, int, str, bool]]:
    """Tokens of text[cs:ce] with offsets into `text`."""
    tokens = _cached_chunk_tokens(text[cs:ce])
    if len(tokens) == 1:
        a, b, v, g = tokens[0]
        return [(cs + a, cs + b, v, g)]
    return [(cs + a, cs + b, v, g) for a, b, v, g in tokens]


def _is_single_letter_or_roman_numeral(value: str) -> bool:
    return len(value) == 1 or value in ROMAN_NUMERALS


# --- the state machine, on a lazily filled token buffer ----------------------------------------------------

class _Paragraph:
    """syntok's segmenter states (Begin, FirstToken, InnerToken, Terminal, End) for one paragraph.

    `buf[pos]` is syntok's queue head and `buf[pos - 1]` its history's last token. Tokens are added to `buf` a
    chunk at a time when a rule looks ahead; in the InnerToken state, when `buf` runs out, `jump` replaces it
    with the next chunk that holds a terminal or an opening bracket (plus the token just before it), because
    the ordinary tokens in between would only be moved to the history."""

    __slots__ = ("text", "end", "buf", "loaded")

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text = text
        self.end = end
        self.buf: list = []
        self.loaded = start  # text before this offset is tokenized (or jumped over)

    def fill(self, i: int) -> bool:
        """Tokenize more chunks until buf[i] exists; False at the end of the paragraph."""
        buf = self.buf
        while len(buf) <= i:
            mo = CHUNK.search(self.text, self.loaded, self.end)
            if mo is None:
                return False
            buf.extend(_tokenize_chunk(self.text, mo.start(), mo.end()))
            self.loaded = mo.end()
        return True

    def jump(self) -> int:
        """Called with the whole buf consumed: make buf hold [token before the next special token, the
        special token, rest of its chunk] and return the index of the special token; -1 if none is left,
        with buf holding only the last token of the paragraph."""
        text, end = self.text, self.end
        last = self.buf[-1]
        searched = self.loaded
        at = searched
        while True:
            mo = SPECIAL_CHAR.search(text, at, end)
            if mo is None:
                break
            c = mo.start()
            at = c + 1
            if text[c] == "." and at < end and text[c - 1].isalnum() and text[at].isalnum() and not (
                    text[c - 1].islower() and text[at].isupper()):
                continue  # "3.5", "acme.com", "U.S": a full stop inside a word is no token of its own
            cs = c
            while cs > searched and text[cs - 1] not in TOKEN_SPACE_CHARS:
                cs -= 1
            ce = CHUNK_REST.match(text, c, end).end()
            tokens = _tokenize_chunk(text, cs, ce)
            for k, t in enumerate(tokens):
                if t[V] in SPECIAL:
                    break
            else:
                last, searched = tokens[-1], ce
                at = ce
                continue
            if k == 0:
                before = self._last_token_before(cs, searched)
                if before is not None:
                    last = before
                self.buf = [last] + tokens
                k = 1
            else:
                self.buf = tokens
            self.loaded = ce
            return k
        before = self._last_token_before(end, searched)
        self.buf = [before if before is not None else last]
        self.loaded = end
        return -1

    def _last_token_before(self, pos: int, limit: int):
        """Last token of the chunk that ends before `pos`, if that chunk starts after `limit`."""
        text = self.text
        b = pos
        while b > limit and text[b - 1] in TOKEN_SPACE_CHARS:
            b -= 1
        if b <= limit:
            return None
        a = b
        while a > limit and text[a - 1] not in TOKEN_SPACE_CHARS:
            a -= 1
        return _tokenize_chunk(text, a, b)[-1]

    # -- brackets --

    def find_end_of_bracket(self, i: int) -> tuple[int, bool]:
        """(offset of the matching closing bracket from i, or 0), and whether the bracket holds a sentence:
        first word title-cased and the last word before the end followed by a terminal."""
        buf = self.buf
        depth = 1
        q = 1
        first_is_title = None
        last_is_terminal = False
        while q < MAX_BRACKET_TOKENS and self.fill(i + q):
            v = buf[i + q][V]
            if first_is_title is None:
                if v.isalnum():
                    first_is_title = v.istitle()
            elif first_is_title and v.isalnum():
                last_is_terminal = self.fill(i + q + 1) and buf[i + q + 1][V] in TERMINALS
            if v in OPENING_BRACKETS:
                depth += 1
            elif v in CLOSING_BRACKETS:
                depth -= 1
                if depth == 0:
                    break
            q += 1
        return (q if depth == 0 else 0), bool(first_is_title and last_is_terminal)

    def skip_bracket(self, i: int) -> int:
        """Index after the bracketed text opened at i, or i if syntok would not skip it."""
        closing, has_sentence = self.find_end_of_bracket(i)
        if closing > 0:
            buf = self.buf
            if buf[i + closing][E] - buf[i][S] < MAX_BRACKET_SKIP or not has_sentence:
                return i + closing + 1
        return i

    # -- the decision at a terminal or opening bracket --

    def decide(self, i: int, first: bool) -> tuple[int, bool]:
        """State._move_and_maybe_extract_terminal with buf[i] the terminal (or bracket): returns the new queue
        head and whether a sentence ends before it."""
        buf, fill = self.buf, self.fill
        before = buf[i - 1][V]
        if buf[i][V] not in OPENING_BRACKETS:
            i += 1
        after = None
        has = i < len(buf) or fill(i)
        if has and buf[i][V] in OPENING_BRACKETS and buf[i - 1][V] not in TERMINALS:
            i = self.skip_bracket(i)
            has = i < len(buf) or fill(i)
        else:
            i, has, after = self._past_terminals(i, has, after)
            if has and buf[i][V] in CLOSING_QUOTES and buf[i][GLUED]:
                i += 1
                has = i < len(buf) or fill(i)
                if has and after is None:
                    after = buf[i - 1][V]
            i, has, after = self._past_terminals(i, has, after)
            if has and buf[i][V] in OPENING_BRACKETS:
                after = buf[i][V]
        if not has:
            return i, True  # end of paragraph: splitting or not gives the same spans
        nxt = buf[i][V]
        if after is None:
            after = nxt
        return i, self._splits(i, first, before, after, nxt, buf[i][GLUED])

    def _past_terminals(self, i: int, has: bool, after: str | None) -> tuple[int, bool, str | None]:
        """Move over a run of terminals and closing brackets; `after` becomes the first token moved past."""
        buf, fill = self.buf, self.fill
        while has and (buf[i][V] in TERMINALS or buf[i][V] in CLOSING_BRACKETS):
            i += 1
            has = i < len(buf) or fill(i)
            if not has:
                break
            if after is None:
                after = buf[i - 1][V]
        return i, has, after

    def _splits(self, i: int, first: bool, before: str, after: str, nxt: str, glued: bool) -> bool:
        """syntok's rules, in its order, for a terminal between `before` and the next token `nxt`."""
        if nxt[:1].islower() or nxt in INNER_PUNCTUATION:
            return False
        if nxt in STARTERS and not (first and _is_single_letter_or_roman_numeral(before)):
            return True
        if before in ABBREVIATIONS and after not in CLOSING_BRACKETS:
            return False
        if before in NUMBER_SIGNS and nxt.isalnum() and any(c.isnumeric() for c in nxt):
            return False
        if glued and (nxt.isnumeric() or not after.istitle() or not after.isalpha() or len(after) == 1):
            return False
        if nxt.isnumeric() and len(nxt) > 2:
            return False
        if before.isnumeric() and nxt in MONTHS:
            return False
        if before in MONTHS and nxt.isnumeric():
            return False
        if "." in before and after != ".":
            return False
        if (first or before.isupper()) and _is_single_letter_or_roman_numeral(before):
            return False
        if len(before) == 1 and before.isalpha() and before not in VOWELS:
            return False
        if after in OPENING_BRACKETS:  # buf[i] is that bracket
            closing, has_sentence = self.find_end_of_bracket(i)
            buf = self.buf
            after_brackets = ""
            if closing and not has_sentence and self.fill(i + closing + 1):
                after_brackets = buf[i + closing + 1][V]
            if after_brackets in INNER_PUNCTUATION:
                return False
            if self.fill(i + 1) and buf[i + 1][V].istitle():
                return True
            return not after_brackets[:1].islower()
        return True

    # -- the walk --

    def spans(self, out: list) -> None:
        """Append the paragraph's sentence spans to `out` (syntok's segment(): Terminal yields a sentence)."""
        fill = self.fill
        if not fill(0):
            return
        buf = self.buf
        pos = 0
        start = buf[0][S]  # offset of the current sentence's first token
        start_pos = 0  # its index in buf (only needed while in the FirstToken state)
        first = True
        while True:
            if first:  # FirstToken
                if buf[pos][V] in OPENING_BRACKETS:
                    j = self.skip_bracket(pos)
                    if j != pos:
                        pos = j
                        if not (pos < len(buf) or fill(pos)):
                            break
                        if pos - start_pos > 3 and not buf[pos][V][:1].islower():
                            out.append((start, buf[pos - 1][E]))
                            start, start_pos = buf[pos][S], pos
                            continue
                pos += 1
                if pos == len(buf):  # the next token starts a chunk: look at that before tokenizing it
                    mo = CHUNK.search(self.text, self.loaded, self.end)
                    if mo is None:
                        break
                    if self.text[mo.start()] not in SPECIAL_STARTS:
                        # an ordinary token follows, which InnerToken moves: go on from its chunk
                        self.loaded = mo.start()
                        pos -= 1
                        first = False
                        continue
                    buf.extend(_tokenize_chunk(self.text, mo.start(), mo.end()))
                    self.loaded = mo.end()
                if buf[pos][V] in TERMINALS or buf[pos][V] == "(":
                    pos, split = self.decide(pos, True)
                    if not (pos < len(buf) or fill(pos)):
                        break
                    if split:
                        out.append((start, buf[pos - 1][E]))
                        start, start_pos = buf[pos][S], pos
                else:
                    first = False
            else:  # InnerToken: move one token, then past all ordinary ones
                pos += 1
                while True:
                    if pos >= len(buf):
                        pos = self.jump()
                        buf = self.buf
                        if pos < 0:
                            out.append((start, buf[0][E]))
                            return
                    if buf[pos][V] in OPENING_BRACKETS:
                        pos = self.skip_bracket(pos)
                        if not (pos < len(buf) or fill(pos)):
                            break
                    if buf[pos][V] in SPECIAL:
                        break
                    pos += 1
                if not (pos < len(buf) or fill(pos)):
                    break
                pos, split = self.decide(pos, False)
                buf = self.buf
                if not (pos < len(buf) or fill(pos)):
                    break
                if split:
                    out.append((start, buf[pos - 1][E]))
                    start, start_pos, first = buf[pos][S], pos, True
            buf = self.buf
        out.append((start, buf[pos - 1][E]))


def _paragraph_spans(text: str, start: int, end: int, out: list) -> None:
    """A paragraph without a terminal or an opening bracket (headings, contact lines) is one sentence."""
    if SPECIAL_CHAR.search(text, start, end) is None:
        mo = CHUNK.search(text, start, end)
        if mo is not None:
            while text[end - 1] in TOKEN_SPACE_CHARS:
                end -= 1
            out.append((mo.start(), end))
    else:
        _Paragraph(text, start, end).spans(out)


def python_raw_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence syntok.segmenter.analyze(text) finds: from its first to the end of its
    last non-empty token. (The reference for bot/_sentences.c, which walks the same way.)"""
    out: list[tuple[int, int]] = []
    start = 0
    for mo in PARAGRAPH_BREAK.finditer(text):
        stop = mo.start()
        if stop > start and text[stop - 1] == "\r":
            stop -= 1
        _paragraph_spans(text, start, stop, out)
        start = mo.end()
    _paragraph_spans(text, start, len(text), out)
    return out


# The same walk compiled (bot/_sentences.c, built at install where a C compiler is), about five times faster.
# IRBOT_PURE_PYTHON=1 splits with this module alone (the tests still reach the compiled walk, to compare).
try:
    from . import _sentences
except ImportError:     # no compiler at install, or a copy of the sources: this module alone
    _sentences = None
# What the compiled walk decides with, in the order its setup() takes them (before the chunk tokenizer).
WALK_SETS = (TERMINALS, OPENING_BRACKETS, CLOSING_BRACKETS, CLOSING_QUOTES, INNER_PUNCTUATION, SPECIAL, STARTERS,
             ABBREVIATIONS, NUMBER_SIGNS, MONTHS, ROMAN_NUMERALS, VOWELS)
if _sentences is not None:
    try:
        _sentences.setup(*WALK_SETS, _cached_chunk_tokens)
    except (TypeError, ValueError):     # a build older than this file: the install command rebuilds it
        _sentences = None
PURE_PYTHON = os.environ.get("IRBOT_PURE_PYTHON", "").strip().lower() not in ("", "0", "off", "false", "no")
raw_spans = python_raw_spans if _sentences is None or PURE_PYTHON else _sentences.raw_spans
COMPILED = raw_spans is not python_raw_spans
