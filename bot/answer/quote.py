"""What is quoted: the sentence, and when it introduces a list ("... for the following reasons:"), its items, verbatim
from the release."""
from __future__ import annotations

import re

from ..index import Index


# "... for the following reasons:" and its items, "a) The costs ...", "b) While ...": the answer is the list.
LIST_ITEM = re.compile(r"^\s*(?:[-–•*▪●◦·]|\(?(?:[a-z]|\d{1,2}|[ivx]{1,4})[).])\s", re.I)
LIST_CHARS = 1000  # a quote stays a quote: whole items up to this length, never a passage


def whole_quote(index: Index, sentence: int) -> tuple[str, int]:
    """The sentence and, when it introduces a list, the list's items after it (whole items, up to LIST_CHARS),
    verbatim from the release; with the last sentence quoted."""
    quoted = index.sentence(sentence)
    if not quoted.rstrip().endswith(":"):
        return quoted, sentence
    release = int(index.sent_release[sentence])
    stop = index.release_sentences(release).stop
    start, last = int(index.sent_start[sentence]), sentence
    for i in range(sentence + 1, stop):
        if not LIST_ITEM.match(index.sentence(i)) or int(index.sent_end[i]) - start > LIST_CHARS:
            break
        last = i
    return index.text(release)[start:int(index.sent_end[last])], last
