"""A link that lands on the sentence: the source URL with a text fragment (`#:~:text=start,end`), which browsers
that support it (Chrome, Edge, Safari, Firefox 131+) scroll to and highlight; the others open the page as before.

Only for web pages (http and https); anything else is returned as it is. Spec: https://wicg.github.io/scroll-to-text-fragment/
"""
from __future__ import annotations

import re
from urllib.parse import quote as percent

EDGE_WORDS = 4      # a long quote is found by its first and last words: the link stays short, the match exact
WHOLE_CHARS = 80    # up to this length the whole quote is the fragment


def _encode(text: str) -> str:
    """Percent-encoded for a text directive: '-', ',' and '&' are its syntax, so they are encoded too."""
    return percent(text, safe="").replace("-", "%2D")


def text_fragment(quote: str) -> str:
    """`:~:text=...` for `quote`: the whole of a short quote, or `start,end` of a long one (whole words each)."""
    words = quote.split()
    if not words:
        return ""
    if len(quote) <= WHOLE_CHARS or len(words) <= 2 * EDGE_WORDS:
        return ":~:text=" + _encode(" ".join(words))
    return ":~:text=" + _encode(" ".join(words[:EDGE_WORDS])) + "," + _encode(" ".join(words[-EDGE_WORDS:]))


def link_to_quote(url: str | None, quote: str | None) -> str | None:
    """`url` opened at `quote`; `url` unchanged when it is not a web page or there is no quote."""
    if not url or not quote or not re.match(r"https?://[^\s#]+(?:#\S*)?$", url, re.I):
        return url
    fragment = text_fragment(quote)
    if not fragment:
        return url
    base, hash_, existing = url.partition("#")
    existing = existing.split(":~:", 1)[0]  # a directive already there is replaced, an anchor kept
    return f"{base}#{existing}{fragment}"
