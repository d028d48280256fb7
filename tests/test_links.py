"""The citation link lands on the quoted sentence: a text fragment that decodes back to the quote's words."""
from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from bot.links import link_to_quote



def decoded(link: str) -> list[str]:
    directive = link.split("#", 1)[1].split(":~:text=", 1)[1]
    return [unquote(part) for part in directive.split(",")]


def test_a_long_quote_is_found_by_its_first_and_last_words(shipped_bot):
    a = shipped_bot.ask("q", "why is FSN delisting?")
    link = link_to_quote("http://www.fusiontel.com/", a.quote)
    assert link.startswith("http://www.fusiontel.com/#:~:text=")
    start, end = decoded(link)
    quote = " ".join(a.quote.split())
    assert quote.startswith(start) and quote.endswith(end) and len(start.split()) == len(end.split()) == 4
    assert re.fullmatch(r"[A-Za-z0-9%._~]+", link.split(":~:text=")[1].replace(",", "")), "every syntax character encoded"


@pytest.mark.parametrize("quote", ["Shares fell 5% - a one-day drop, analysts said & more.", "Costs rose."])
def test_a_short_quote_is_the_whole_fragment_with_its_syntax_characters_encoded(quote):
    link = link_to_quote("https://example.com/release?id=7", quote)
    (whole,) = decoded(link)
    assert whole == quote
    assert "-" not in link.split("#")[1] and "&" not in link.split("#")[1]


def test_an_anchor_is_kept_and_a_non_web_source_is_left_alone():
    assert link_to_quote("https://example.com/r#section-2", "Costs rose.").startswith("https://example.com/r#section-2:~:text=")
    assert link_to_quote("https://example.com/r#:~:text=old", "Costs rose.") == "https://example.com/r#:~:text=Costs%20rose."
    assert link_to_quote("ftp://example.com/r.txt", "Costs rose.") == "ftp://example.com/r.txt"
    assert link_to_quote(None, "Costs rose.") is None
    assert link_to_quote("https://example.com/r", None) == "https://example.com/r"
