"""Splitting a release into what the index holds of it: its sentences (with the kind of each: body, boilerplate,
"About" section, contact, legal notice), its passages (about a paragraph each, for BM25) and their stems, and
the words near its top (for the company directory). Runs in the build's worker processes."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from . import text as tx

PASSAGE_TARGET = 700      # characters: a passage is about one paragraph
PASSAGE_MIN = 150
LEAD = 4000               # characters: where a release names its issuer and its business

# Sentence kinds: what part of a release a sentence belongs to.
BODY, BOILERPLATE, ABOUT, CONTACT, LEGAL, TITLE = range(6)


@dataclass
class ReleaseParts:
    """What one release contributes to the index (computed in a worker process)."""
    spans: list[tuple[int, int]]
    kinds: list[int]
    passages: list[tuple[int, int]]          # sentence index ranges, relative to the release
    passage_tokens: list[list[str]]
    lead_words: set[str]                     # the words of its first LEAD characters


ABOUT_LEAD = re.compile(r"About\s+[A-Z][\w&.,'’\- ]{1,60}:\s")   # "About Acme: Acme is ..." on one line


def _sentence_kinds(text: str, spans: list[tuple[int, int]]) -> list[int]:
    kinds = []
    section = BODY
    boilerplate = tx.boilerplate_flags(text, spans)
    for i, (s, e) in enumerate(spans):
        sentence = text[s:e]
        heading = tx.section_kind(sentence)
        if heading == "about" or ABOUT_LEAD.match(sentence):
            section = ABOUT
        elif heading == "legal" and section != CONTACT:
            section = LEGAL
        elif heading == "contact":
            section = CONTACT
        elif section == ABOUT and "\n" in text[max(0, s - 2):s] and len(sentence) < 60 and not sentence.endswith("."):
            section = BODY  # a new heading after an "About" block: back to substance
        if section != BODY:
            kinds.append(section)
        else:
            kinds.append(BOILERPLATE if boilerplate[i] else BODY)
    return kinds


def split_release(text: str) -> ReleaseParts:
    spans = tx.sentence_spans(text)
    kinds = _sentence_kinds(text, spans)
    breaks = tx.paragraph_breaks(text)
    passages: list[tuple[int, int]] = []
    start, size = 0, 0
    for i, (s, e) in enumerate(spans):
        previous_end = spans[i - 1][1] if i else -1
        k = bisect.bisect_right(breaks, previous_end)
        new_paragraph = k < len(breaks) and breaks[k] <= s
        if i > start and ((new_paragraph and size >= PASSAGE_MIN) or size + (e - s) > PASSAGE_TARGET
                          or (kinds[i] != kinds[i - 1] and size >= PASSAGE_MIN)):
            passages.append((start, i))
            start, size = i, 0
        size += e - s
    if spans:
        passages.append((start, len(spans)))
    tokens, lead = [], set()
    for a, b in passages:
        words = tx.words(" ".join(text[s:e] for s, e in spans[a:b]))
        tokens.append(tx.stems(words))
        if spans[b - 1][1] <= LEAD:
            lead.update(words)
        elif spans[a][0] < LEAD:
            lead.update(tx.words(text[spans[a][0]:LEAD]))
    return ReleaseParts(spans, kinds, passages, tokens, lead)
