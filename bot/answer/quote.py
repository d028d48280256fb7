"""What is quoted: the sentence, and when it introduces a list ("... for the following reasons:"), its items, verbatim
from the release."""
from __future__ import annotations

import re

from ..index import Index


# "... for the following reasons:" and its items, "a) The costs ...", "b) While ...": the answer is the list.
LIST_ITEM = re.compile(r"^\s*(?:[-–•*▪●◦·]|\(?(?:[a-z]|\d{1,2}|[ivx]{1,4})[).])\s", re.I)
LIST_CHARS = 1000  # a quote stays a quote: whole items up to this length, never a passage

# What a quote does not start with: a bullet or a dash rule of the source's layout ("- Net sales rose...",
# "● The Company...", "--\nIn 2025..."), with the space after it.
LEADING_MARK = re.compile(r"^\s*(?:[-–—•*▪●◦·■□➢►✓]+\s+)+")


def whole_quote(index: Index, sentence: int) -> tuple[str, int]:
    """The sentence and, when it introduces a list, the list's items after it (whole items, up to LIST_CHARS),
    verbatim from the release; with the last sentence quoted."""
    shown = quoted_sentences(index, sentence)
    if len(shown) == 1:
        quoted = index.sentence(sentence)
        return tidy(quoted) or quoted, sentence
    release = int(index.sent_release[sentence])
    quoted = index.text(release)[int(index.sent_start[sentence]):int(index.sent_end[shown[-1]])]
    return tidy(quoted) or quoted, shown[-1]


def quoted_sentences(index: Index, sentence: int) -> range:
    """The sentences a quote of `sentence` shows: itself, and its list's items when it introduces one."""
    if not index.sentence(sentence).rstrip().endswith(":"):
        return range(sentence, sentence + 1)
    stop = index.release_sentences(int(index.sent_release[sentence])).stop
    start, last = int(index.sent_start[sentence]), sentence
    for i in range(sentence + 1, stop):
        if not LIST_ITEM.match(index.sentence(i)) or int(index.sent_end[i]) - start > LIST_CHARS:
            break
        last = i
    return range(sentence, last + 1)


def tidy(quote: str) -> str:
    """The quote without the source's artefacts at its edges: a leading bullet or dash, a quotation mark that
    opens or closes nothing inside it ('"In Q4 we...' where the speaker's quotation runs on), spaces. Only
    characters at the edges go, so the quote stays a verbatim substring of its release."""
    quote = LEADING_MARK.sub("", quote).strip()
    while quote:
        lonely = _unmatched_marks(quote)
        if 0 in lonely:
            quote = quote[1:].lstrip()
        elif len(quote) - 1 in lonely:
            quote = quote[:-1].rstrip()
        else:
            break
    return quote


def _unmatched_marks(text: str) -> set[int]:
    """Positions of the double quotation marks that open or close nothing: curly ones by their shape, a straight
    one opening where a word could start (after a space or a bracket) and closing elsewhere."""
    opened, lonely = [], set()
    for i, ch in enumerate(text):
        if ch == "“" or (ch == '"' and (i == 0 or text[i - 1].isspace() or text[i - 1] in "([{—–-")):
            opened.append(i)
        elif ch in '”"':
            if opened:
                opened.pop()
            else:
                lonely.add(i)
    return lonely | set(opened)
