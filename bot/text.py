"""Text processing shared by releases and questions: tokens, stems, sentences, passages, boilerplate.

Sentences are character spans into the release text, so a quote is always `text[start:end]`: verbatim by
construction. syntok's rules, replayed fast by sentences.py, do the hard part of sentence splitting
(abbreviations, `$1.5 million`, `Section 12(b)`, URLs); the few things wire copies add on top (headline lines
without a full stop, `a) ... b)` enumerations, lines glued together) are handled here.
"""
from __future__ import annotations

import bisect
import re
from itertools import filterfalse

import Stemmer

from .sentences import raw_spans

_stemmer = Stemmer.Stemmer("english")

# English function words plus the words a question is phrased with: they say what kind of answer is wanted,
# not what it is about (bot/answer/question.py reads them before they are dropped).
STOP_WORDS = frozenset("""
a about above again against all am an and any are aren't as at be because been being below
between both but by can could did didn't do does doesn't doing don't down during each few for from further
had has have having he her here hers herself him himself his how i if in into is isn't it it's its itself
just let's me more most my myself no nor not of off on once only or other our ours ourselves out over own
same she should so some such than that that's the their theirs them themselves then there there's these
they this those through to too under until up very was we were what what's when where which while who whom
why will with would you your yours yourself yourselves also s t can't won't wasn't weren't hasn't haven't
ll re ve d m tell know please give show find explain whats wheres whos hows does anything something get got
going go gonna us now much many want wants wanted supposed exactly actually kind sort like think happen
happening happened doing done gotten hey hi thanks thank
""".split())

# A word starts with a letter and runs on through letters and digits; a number is digits with separators and
# perhaps a scale suffix. (Words first: most tokens are words, and the two never start alike.)
TOKEN = re.compile(r"[^\W\d_][^\W_]*|\d+(?:[.,]\d+)*(?:(?:k|mn?|bn?)\b)?")
SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
NUMBER_SUFFIX = re.compile(r"^(\d+(?:\.\d+)?)(k|mn?|bn?)$")     # (not "kn": 30kn is a force)
# What words() rewrites shows in the text as one of these: a number with a separator or a suffix, or a long
# scale word. Without any, the tokens stand as they are.
REWRITTEN = re.compile(r"\d[,kmb]|thousand|million|billion")
LONG_SCALE = frozenset(w for w in SCALE if len(w) > 2)


class _Stems(dict):
    """word -> stem, computed once per word (a dict hit is several times cheaper than a cached call)."""

    def __missing__(self, word: str) -> str:
        if len(self) >= 1_000_000:   # a long-running bot sees endless new words in questions
            self.clear()
        value = self[word] = _stemmer.stemWord(word)
        return value


STEMS = _Stems()


def stem(word: str) -> str:
    return STEMS[word]


def stem_words(words: list[str]) -> list[str]:
    """The stems of many words met once (not kept: spelling tries hundreds of strings that are no words)."""
    return _stemmer.stemWords(words)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens. Thousands separators are dropped and scaled amounts are spelled out
    as well, so `$350K`, `$350,000` and `350 thousand` share the token `350000`."""
    low = text.lower()
    tokens = TOKEN.findall(low)
    if not REWRITTEN.search(low):   # (two paragraphs in three)
        return tokens
    changing = {t for t in set(tokens)
                if t in LONG_SCALE or (t[0].isdigit() and ("," in t or t[-1] in "kmbn"))}
    if not changing:
        return tokens
    # the rest stand as they are (one pass: a table holds thousands of distinct amounts)
    special = [i for i, t in enumerate(tokens) if t in changing]
    out: list[str] = []
    done = 0
    for i in special:
        out.extend(tokens[done:i])
        done = i + 1
        t = tokens[i]
        if t[0].isdigit():
            t = t.replace(",", "")
            m = NUMBER_SUFFIX.match(t)
            if m:
                out.append(m.group(1))
                out.append(_number(float(m.group(1)) * SCALE[m.group(2)]))
                continue
        elif t in SCALE and len(t) > 2 and out and re.fullmatch(r"\d+(?:\.\d+)?", out[-1]):
            out.append(t)
            out.append(_number(float(out[-2]) * SCALE[t]))
            continue
        out.append(t)
    out.extend(tokens[done:])
    return out


def analyze(text: str) -> list[str]:
    """Stemmed content tokens: what BM25 indexes and what a question is matched with."""
    return stems(words(text))


def stems(tokens: list[str]) -> list[str]:
    return list(map(STEMS.__getitem__, filterfalse(STOP_WORDS.__contains__, tokens)))


# --- sentences ---------------------------------------------------------------------------------------------

ENUMERATION = re.compile(r"(?<=[.;:])\s+(?=(?:[a-h]|[ivx]{1,4}|\d{1,2})\)\s+[A-Z])")
GLUED = re.compile(r"(?<=[a-z]{3}[.!?])(?=[A-Z][a-z])")
URL_THEN_WORD = re.compile(r"(?:https?://|www\.)\S+\s+(?=[A-Z][a-z])")  # "go to http://x.com/ Statements in ..."
# What a text must hold for each of the three to match anywhere in it: most releases have none of them, and a
# pattern that starts with a lookbehind is tried at every character.
ENUMERATION_HINT = re.compile(r"[.;:]\s+(?:[a-h]|[ivx]{1,4}|\d{1,2})\)")
GLUED_HINT = re.compile(r"[.!?][A-Z][a-z]")
# Where syntok cut too early: after "No." before a number, after a state abbreviation in a dateline
# ("EDEN PRAIRIE, Minn. - (NewMediaWire) -"), or before a piece that goes on in lower case.
GLUE_BACK_END = re.compile(r"(?:\bNos?\.|\b[A-Z][a-z]{1,4}\.)$")
GLUE_BACK_START = re.compile(r"\d|[-–—(]|[a-z]")     # (used with match: at the start)
MAX_SENTENCE = 1000


def _split_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Break a span at line ends that close a headline or a list item (no sentence punctuation)."""
    spans = []
    cut = start
    for m in re.finditer(r"\n+", text[start:end]):
        pos = start + m.start()
        before = text[cut:pos].rstrip()
        after = text[start + m.end():start + m.end() + 1]
        wrapped = m.group().count("\n") == 1 and after.islower()  # a hard-wrapped line goes on in lower case
        if before and not wrapped and (m.group().count("\n") > 1 or
                                       not before.endswith((",", "-", "–", "(", "and", "of", "the"))):
            spans.append((cut, pos))
            cut = start + m.end()
    spans.append((cut, end))
    return spans


def _split_pattern(text: str, spans: list[tuple[int, int]], pattern: re.Pattern,
                   keep: bool = False) -> list[tuple[int, int]]:
    """Cut each span where `pattern` matches (keep=True: after the match, which stays with the piece before)."""
    out = []
    for s, e in spans:
        cut = s
        for m in pattern.finditer(text, s, e):
            if pattern is GLUED and _in_web_address(text, m.start()):
                continue
            at = m.end() if keep else m.start()
            if at > cut:
                out.append((cut, at))
            cut = m.end()
        out.append((cut, e))
    return out


def _in_web_address(text: str, pos: int) -> bool:
    """'www.SplashBeverageGroup.com': a full stop inside an address is no sentence end."""
    start = max(text.rfind(" ", 0, pos), text.rfind("\n", 0, pos)) + 1
    token = text[start:pos + 40].split(maxsplit=1)[0] if text[start:pos + 40].strip() else ""
    return "www." in token.lower() or "://" in token or bool(re.search(r"\.[a-z]{2,4}(?:/|$)", token))


def _glue_back(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out:
            ps, pe = out[-1]
            # (GLUE_BACK_END matches at most 6 characters: the last 8 of a sentence decide it, word boundary too)
            if text.find("\n", pe, s) < 0 and (
                    (pe - ps >= 4 and text[pe - 4:pe].lower() == "www.") or
                    GLUE_BACK_END.search(text[max(ps, pe - 8):pe]) and GLUE_BACK_START.match(text, s, e)):
                out[-1] = (ps, e)
                continue
        out.append((s, e))
    return out


def _split_long(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """A run-on 'sentence' (a table, a list without stops) is cut at semicolons, then at word breaks."""
    if e - s <= MAX_SENTENCE:
        return [(s, e)]
    out, cut = [], s
    while e - cut > MAX_SENTENCE:
        window = text[cut:cut + MAX_SENTENCE]
        pos = max(window.rfind("; "), window.rfind(" • "), window.rfind(" | "))
        if pos < MAX_SENTENCE // 3:
            pos = window.rfind(" ")
        if pos <= 0:
            pos = MAX_SENTENCE
        out.append((cut, cut + pos + 1))
        cut = cut + pos + 1
    out.append((cut, e))
    return out


def _trim(text: str, s: int, e: int) -> tuple[int, int] | None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if e > s else None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each sentence of `text`, in order."""
    spans: list[tuple[int, int]] = []
    # Where each of the three can match at all, from one scan of the text: most sentences are left alone.
    enumerations = [m.start() for m in ENUMERATION_HINT.finditer(text)]
    glued = [m.start() for m in GLUED_HINT.finditer(text)]
    urls = "http" in text or "www." in text
    for s, e in _glue_back(text, raw_spans(text)):
        pieces = _split_lines(text, s, e) if text.find("\n", s, e) >= 0 else [(s, e)]
        if enumerations and _any_between(enumerations, s - 1, e):   # (its lookbehind may see s - 1)
            pieces = _split_pattern(text, pieces, ENUMERATION)
        if glued and _any_between(glued, s - 4, e):
            pieces = _split_pattern(text, pieces, GLUED)
        if urls and (text.find("://", s, e) >= 0 or text.find("www.", s, e) >= 0):
            pieces = _split_pattern(text, pieces, URL_THEN_WORD, keep=True)
        for ps, pe in pieces:
            for ls, le in _split_long(text, ps, pe):
                span = _trim(text, ls, le)
                if span:
                    spans.append(span)
    return spans


def _any_between(positions: list[int], lo: int, hi: int) -> bool:
    """Whether a sorted list holds a position in [lo, hi)."""
    k = bisect.bisect_left(positions, lo)
    return k < len(positions) and positions[k] < hi


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def paragraph_breaks(text: str) -> list[int]:
    """Offsets where a blank line starts a new paragraph."""
    return [m.end() for m in re.finditer(r"\n\s*\n", text)]


# --- boilerplate -------------------------------------------------------------------------------------------

SECTION_HEAD = re.compile(
    r"^\s*(?:about\s+[\w&.,'’\- ]{2,80}|forward[- ]looking\s+statements?.*|safe\s+harbou?r.*|cautionary\s+"
    r"(?:note|statement).*|(?:investor|media|press)?\s*(?:relations\s+)?contacts?\s*:?.*|disclaimer.*|"
    r"notice\s+regarding.*|source:.*|for\s+(?:further|more)\s+information.*)\s*$", re.I)
# Matched against the lower-cased sentence. Phrases are grouped by their first letter: Python's `re` tries every
# branch at every character, so thirty branches cost twice what fifteen do (a case-insensitive search, three
# times what a search of the lower-cased text does).
BOILERPLATE = re.compile(
    r"a(?:ctual results (?:may|could) differ|ll rights reserved|ppeared first on)"
    r"|c(?:opyright|lick here)"
    r"|d(?:oes not constitute an offer|atasource:)"
    r"|f(?:orward[- ]looking|ollow us)"
    r"|l(?:ogo:|inkedin)"
    r"|n(?:o obligation to (?:update|revise)|ot an offer to sell|either .{0,40}nor .{0,40}accepts? responsibility"
    r"|ewsroom)"
    r"|originally published"
    r"|p(?:rivate securities litigation|hoto(?::| - ))"
    r"|risks? and uncertainties"
    r"|s(?:afe harbou?r|(?<=\bs)ubscribe (?:to|now|here)\b|(?<=\bs)ource\b)"
    r"|t(?:his press release (?:is|was) (?:for|provided)|witter)"
    r"|undue reliance"
    r"|view (?:original|source) content"
    r"|@\w+\.\w")
PHONE = re.compile(r"\d[\d\s().-]{8,}\d")


def is_boilerplate_sentence(sentence: str) -> bool:
    low = sentence.lower()
    return bool(BOILERPLATE.search(low) or PHONE.search(low))


def boilerplate_flags(text: str, spans: list[tuple[int, int]]) -> list[bool]:
    """is_boilerplate_sentence of each span, from one scan of the whole text (a search per sentence costs more
    in calls than in scanning): a sentence holding a whole match is boilerplate, one that no match touches is
    not, and one that a match runs into or out of is searched on its own."""
    low = text.lower()
    if len(low) != len(text):   # a character whose lower case is longer: the offsets would not line up
        return [is_boilerplate_sentence(text[s:e]) for s, e in spans]
    inside = [False] * len(spans)
    touched = [False] * len(spans)
    ends = [e for _, e in spans]
    for pattern in (BOILERPLATE, PHONE):
        for m in pattern.finditer(low):
            a, b = m.span()
            i = bisect.bisect_right(ends, a)
            while i < len(spans) and spans[i][0] < b:
                if spans[i][0] <= a and b <= spans[i][1]:
                    inside[i] = True
                else:
                    touched[i] = True
                i += 1
    return [inside[i] or (touched[i] and is_boilerplate_sentence(text[s:e])) for i, (s, e) in enumerate(spans)]


def section_kind(sentence: str) -> str | None:
    """'about', 'legal' or 'contact' when a sentence is the heading of a boilerplate section."""
    first_line = sentence.strip().splitlines()[0] if sentence.strip() else ""
    if len(first_line) > 120 or not SECTION_HEAD.match(first_line):
        return None
    low = first_line.lower()
    if low.startswith("about"):
        return "about"
    if "contact" in low or low.startswith(("for further", "for more", "source")):
        return "contact"
    return "legal"
