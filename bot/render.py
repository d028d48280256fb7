"""Rendering an answer for the terminal: the citation line, and what a typing slip was read as."""
from __future__ import annotations

from .answer.models import Citation


def read_as_line(read_as: dict[str, str]) -> str:
    """'(read "Oncoytics" as "Oncolytics")': what the answer was to, when the question had a typing slip."""
    if not read_as:
        return ""
    return "(read " + ", ".join(f"“{typed}” as “{meant}”" for typed, meant in read_as.items()) + ")"


def citation_line(c: Citation) -> str:
    """'Fusion (NYSE Amex: FSN), "Title", 2009-05-29, PR Newswire, http://...' with what is known."""
    who = c.company or "Unknown company"
    if c.ticker:
        who += f" ({c.exchange + ': ' if c.exchange else ''}{c.ticker})"
    parts = [who, f'"{c.title}"'] + [p for p in (c.date, c.publisher, c.url) if p]
    return ", ".join(parts)


def count(n: int, noun: str) -> str:
    """'1 release', '2,883 releases', '2 companies'."""
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou") else noun + "s"
    return f"{n:,} {plural}"
