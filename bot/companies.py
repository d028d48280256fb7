"""The company directory: which releases a company name or ticker in a question points to, and everything about
naming a company that goes into it: the names a release gives its issuer (metadata, its `Name (EXCHANGE:
TICKER)` tag, its own "(the Company)" definition, its headline's subject), the words a person would type for a
name (`company_key`), and the legal suffixes ("Inc.", "Corp", "plc") that are no part of a name: their lists
live here and nowhere else. Worked out per release while splitting it (`company_facts`), then for the whole
corpus (`build_companies`)."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain, filterfalse

from . import text as tx

# --- legal suffixes: the words after a name that are no part of it ---------------------------------------------

LEGAL_SUFFIXES = frozenset("""inc incorporated corp corporation co company ltd limited plc llc lp l.p sa s.a ag asa ab
oyj nv n.v se spa s.p.a bhd tbk pte pty group holdings holding the""".split())
# The same in a company's name as written: "Acme, Inc." (corpus.py's company_name keeps a comma before one).
LEGAL_SUFFIX = re.compile(r"(?:Inc|Corp|Co|Ltd|LLC|L\.?P|PLC|plc|S\.?A|AG|ASA|AB|N\.?V|SE|Limited|Incorporated|"
                          r"Corporation|Company|Holdings|Group)\.?,?")
# The suffix that ends a name as metadata gives it: "Acme Widgets, Inc." -> "Acme Widgets" (for questions about it).
TRAILING_SUFFIX = re.compile(r",?\s+(?:Inc|Corp|Corporation|Ltd|Limited|plc|PLC|LLC|Co|N\.V|S\.A|AG|SE)\.?$")

# Abbreviations whose period ends no sentence: "Acme Inc. Announces" (and "Jr.", "Sr." after a name).
ABBREVIATED = re.compile(r"\b(?:Inc|Corp|Co|Ltd|LLC|L\.?P|S\.?A|N\.?V|Jr|Sr)\.")
# "Target Corporation", "Acme Holdings Inc": a name the question gives as a company's, whether or not we know it.
NAMED_COMPANY = re.compile(r"\b((?:[A-Z][\w&'’\-]*\s+){1,4})(?:Inc|Corp|Corporation|Ltd|Limited|plc|PLC|LLC|"
                           r"Holdings|Group|Co)\b\.?")
# Words of a company's name that are not a person's: never the answer to a "who" question.
CORPORATE = frozenset("inc corp corporation llc lp ltd limited plc holdings group co company partners capital fund trust "
                      "bank".split())


def without_legal_suffix(name: str) -> str:
    """'Acme Widgets, Inc.' -> 'Acme Widgets': a company as a question would name it."""
    return TRAILING_SUFFIX.sub("", name)


# --- ticker tags: "Acme Corp. (NASDAQ: ACME)" ------------------------------------------------------------------

EXCHANGES = (
    r"NYSE\s+American|NYSE\s+Amex|NYSE\s+MKT|NYSE\s+Arca|NYSE|Nasdaq(?:\s+(?:GS|GM|CM|Global\s+Select|Capital"
    r"\s+Market|Global\s+Market|Stockholm|Helsinki|Copenhagen|First\s+North))?|NASDAQ|AMEX|TSXV?|TSX-V|TSX\s+Venture"
    r"|CSE|CBOE|Cboe(?:\s+Canada)?|OTCQX|OTCQB|OTC\s+Pink|OTC\s*Markets|OTC|ASX|AIM|LSE|FSE|SIX|TASE|Euronext"
    r"(?:\s+\w+)?|Oslo\s+B[øo]rs|OSE|XETRA|Frankfurt|HKEX|SGX|JSE|NEO|BMV"
)
TICKER_TAG = re.compile(r"\(\s*(?P<exchange>" + EXCHANGES + r")\s*:\s*(?P<ticker>[A-Z0-9][A-Z0-9.\-]{0,9})\s*[;),]",
                        re.IGNORECASE)
# "Fusion (NYSE Amex: FSN)" or "Mullen Automotive Inc. (NASDAQ: MULN)": the name stands right before the tag.
NAMED_TAG = re.compile(
    r"(?P<name>(?:[A-Z0-9&][\w&.'’\-]*,?\s+){0,6}?[A-Z0-9&][\w&.'’\-]*)\s*" + TICKER_TAG.pattern, re.IGNORECASE)

NAME_NOISE = re.compile(r"^(?:.*?\b(?:--|–|—)\s*|.*?\b(?:today|announced|that)\s+)", re.I)


_NAME_CHAR = re.compile(r"[\w&.'’\-,]")


def ticker_tags(text: str) -> list[tuple[str, str, str]]:
    """(name before the tag, exchange, ticker) for each `Name (EXCHANGE: TICKER)` in the text.

    The same matches as `NAMED_TAG.finditer(text)`, found a hundred times faster: NAMED_TAG is tried only just
    before each `(EXCHANGE: TICKER)` tag, from at most 8 words back (a name is at most 7 words, none of them
    holding a character outside `_NAME_CHAR`)."""
    found = []
    done = 0
    for tag in TICKER_TAG.finditer(text):
        q = tag.start()
        if q < done:
            continue
        i, chunks, in_chunk = q, 0, False
        while i > done:
            c = text[i - 1]
            if c.isspace():
                if in_chunk:
                    chunks += 1
                    in_chunk = False
                    if chunks >= 8:
                        break
            elif _NAME_CHAR.match(c):
                in_chunk = True
            else:
                break
            i -= 1
        m = NAMED_TAG.search(text, i, tag.end())
        if m is None:
            continue
        done = m.end()
        name = NAME_NOISE.sub("", m.group("name")).strip(" ,")
        found.append((name, normal_exchange(m.group("exchange")), m.group("ticker").upper().rstrip(".")))
    return found


def normal_exchange(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip()


def company_name(name: str) -> str:
    """The issuer's name in the words before its ticker tag: the run of capitalised words that ends there.
    'Grant Haywood, CEO of Horizon Minerals Ltd' -> 'Horizon Minerals Ltd'; 'Avista Corp.’s' -> 'Avista Corp.';
    'Raadr, Inc., now doing business as Telvantis' -> 'Telvantis'; 'SportsQuest, Inc.' stays whole."""
    words = re.sub(r"['’]s$", "", name.strip(" ,")).split()
    kept: list[str] = []
    for word in reversed(words):
        if not (word[:1].isupper() or word[:1].isdigit() or word[:1] in "&(" or any(c.isupper() for c in word)):
            break  # 'of', 'as', 'now': the name ended ('iCoreConnect' and 'eXp' are names)
        if word.endswith(",") and not (kept and LEGAL_SUFFIX.fullmatch(kept[-1])):
            break
        kept.append(word)
    return " ".join(reversed(kept)).strip(" ,") or name.strip(" ,")


def company_key(name: str) -> str:
    """'Mullen Automotive Inc.' -> 'mullen automotive': the words a person would type."""
    words = [w for w in tx.words(name.replace("®", "").replace("™", ""))]
    while words and (words[-1] in LEGAL_SUFFIXES or words[-1] in tx.STOP_WORDS):
        words.pop()
    while words and words[0] in ("the", "a", "an", "and", "of", "by", "from", "with"):
        words.pop(0)
    return " ".join(words)


def tag_name(name: str) -> str:
    """The capitalised run of words that ends a `Name (EXCHANGE: TICKER)` tag: 'today, Acme Corp' -> 'Acme Corp'."""
    words = name.split()
    while words and not words[0][:1].isupper() and not words[0][:1].isdigit():
        words.pop(0)
    return " ".join(words)


# --- the names a release gives its issuer ---------------------------------------------------------------------

# `Lucara Diamond Corp. (“Lucara” or the “Company”)`: a release defining its own short name.
DEFINED_AS = re.compile(r"([A-Z][\w&.,'’\- ]{1,80}?)\s*\((?:the\s+)?[“\"]([^”\"]{2,40})[”\"],?\s+(?:or|and)\s+the\s+"
                        r"[“\"](?:Company|Corporation|Issuer)[”\"]")
DEFINED_TAIL = re.compile(r"\((?:the\s+)?[“\"][^”\"]{2,40}[”\"],?\s+(?:or|and)\s+the\s+"
                          r"[“\"](?:Company|Corporation|Issuer)[”\"]")
# `Lucara Announces Historic Diamond Sale`: a headline's subject is its issuer.
TITLE_SUBJECT = re.compile(r"^((?:[A-Z0-9][\w&.'’\-]*\s+){0,4}?[A-Z][\w&.'’\-]*)\s+(?:Announces?|Reports?|Completes?|"
                           r"Declares?|Enters?|Signs?|Receives?|Launches|Appoints?|Provides?|Closes?|Files?|Secures?|"
                           r"Names?|Expands?|Acquires?|Updates?|Issues?|Achieves?|Reiterates?|Prices?|Begins?|Starts?|"
                           r"Confirms?|Releases?|Posts?|Unveils?|Introduces?|Partners|Awarded|Wins?|Raises?|Regains?|"
                           r"Strengthens|Celebrates|Notifies|Delivers?|Expects?|Plans?|Agrees?|Terminates?|Withdraws?|Increases?|"
                           r"Boosts?|Cuts?|Lowers?|Reaffirms?|Maintains?|Adopts?|Approves?|Authori[sz]es?|Extends?|"
                           r"Amends?|Sets?|Schedules?|Hosts?|Invites?|Joins?|Selects?|Opens?|Executes?|Publishes|"
                           r"Reveals?|Shares|Welcomes?|Elects?|Obtains?|Gains?|Surpasses|Doubles|Posts?|Provides?|"
                           r"Submits?|Resumes?|Retires?|Sells?|Buys?|Invests?|Commences?|Initiates?|Responds?|"
                           r"Comments?|Highlights?|Outlines?|Issues?|Names?|Files?|to\s)\b")


def issuer_names(release) -> set[str]:
    """Every name the release (a corpus.Release) gives its issuer: metadata, its ticker tag, its own definition, its headline."""
    return _issuer_names(release.title, release.company, release.text, ticker_tags(release.text[:1500]))


_NAME_CHARS = re.compile(r"[\w&.,'’\- ]")


def defined_as(head: str) -> re.Match | None:
    """DEFINED_AS.search(head), without trying the pattern at every capital letter: a match ends with a
    DEFINED_TAIL (a name holds no "(" or quote), and starts at the first capital of the run of name characters
    just before it; the first tail with such a run gives the first match."""
    at = head.find("(")
    while at >= 0:
        tail = DEFINED_TAIL.match(head, at)      # (tails can nest: a short name may hold a "(")
        at = head.find("(", at + 1)
        if tail is None:
            continue
        q = tail.start()
        while q > 0 and head[q - 1].isspace():
            q -= 1
        start = q
        while start > max(0, q - 81) and _NAME_CHARS.match(head, start - 1):
            start -= 1
        for p in range(start, q):
            if "A" <= head[p] <= "Z":
                m = DEFINED_AS.match(head, p)
                if m is not None and m.end() == tail.end():
                    return m
                return DEFINED_AS.search(head)   # an odd case: the pattern itself decides
    return None


def _issuer_names(title: str, company: str, text: str, tags: list[tuple[str, str, str]]) -> set[str]:
    names = {company} if company else set()
    if tags and tag_name(tags[0][0]):
        names.add(tag_name(tags[0][0]))
    m = defined_as(text[:2500])
    if m:
        names.add(tag_name(m.group(1).strip(" ,")))
        names.add(m.group(2))
    m = TITLE_SUBJECT.match(title)
    if m:
        names.add(m.group(1))
    return {n for n in names if n}


@dataclass(frozen=True)
class CompanyFacts:
    """What one release tells the company directory: worked out with its split, kept for the next build."""
    keys: tuple[str, ...]          # company_key of each name it gives its issuer
    tickers: tuple[str, ...]
    title_words: tuple[str, ...]
    words: str                     # its distinct words near the top (title and lead), space-separated


def _number_start(word: str) -> bool:
    return word[0].isdigit()     # (not r"\d": "¹", "²" are digits to isdigit, footnote marks in a lead)


def company_facts(title: str, company: str, ticker: str, text: str, lead_words: set[str]) -> CompanyFacts:
    tags = ticker_tags(text[:1500])
    keys = {company_key(n) for n in _issuer_names(title, company, text, tags)} - {""}
    tickers = ({ticker} if ticker else set()) | ({tags[0][2]} if tags else set())
    title_words = tx.words(title)
    lead = lead_words.union(title_words)      # (the directory asks only about names: no number, no stop word)
    return CompanyFacts(tuple(sorted(keys)), tuple(sorted(tickers)), tuple(title_words),
                        " ".join(filterfalse(_number_start, lead)))


def lead_word_counts(facts: Iterable[CompanyFacts]) -> Counter:
    """How many of the releases use each word near their top (a release's `words` are distinct)."""
    return Counter(chain.from_iterable(f.words.split() for f in facts))


# --- the directory ----------------------------------------------------------------------------------------------

@dataclass
class CompanyDirectory:
    """Which releases a company name or ticker in a question points to."""
    aliases: dict[str, set[int]] = field(default_factory=dict)   # 'mullen automotive' -> release indices
    tickers: dict[str, set[int]] = field(default_factory=dict)   # 'MULN' -> release indices
    max_words: int = 1

    def add_alias(self, alias: str, release: int) -> None:
        if alias and len(alias) >= 2 and not all(w in tx.STOP_WORDS for w in alias.split()):
            self.aliases.setdefault(alias, set()).add(release)
            self.max_words = max(self.max_words, alias.count(" ") + 1)

    def add_ticker(self, ticker: str, release: int) -> None:
        ticker = ticker.upper().strip()
        if re.fullmatch(r"[A-Z][A-Z0-9.\-]{0,9}", ticker):
            self.tickers.setdefault(ticker, set()).add(release)


REPORTING_WORDS = frozenset("""first second third fourth quarter quarterly full half year annual interim fiscal results
financial report update q1 q2 q3 q4 fy""".split())


def build_companies(facts: list[CompanyFacts], release_df) -> CompanyDirectory:
    """The directory from each release's facts. How many releases use a word near their top (`release_df`, the
    count of their `words`, anything with `.get(word, 0)`) tells a company's distinctive first word ("Oncolytics") from a common one ("New")."""
    directory = CompanyDirectory()

    def release_count(word: str) -> int:
        return release_df.get(word, 0)

    first_words: dict[str, set[int]] = defaultdict(set)
    for i, f in enumerate(facts):
        for key in f.keys:
            directory.add_alias(key, i)
            parts = key.split()
            if len(parts) > 2 and parts[1] not in tx.STOP_WORDS:
                directory.add_alias(" ".join(parts[:2]), i)
            if parts and not parts[0].isdigit() and len(parts[0]) >= 3:
                first_words[parts[0]].add(i)
        for t in f.tickers:
            directory.add_ticker(t, i)
    # A company's first word alone ("Oncolytics", "Sonoco") names it when the word is rare elsewhere.
    for word, own in first_words.items():
        if word in directory.aliases and directory.aliases[word] >= own:
            continue
        if word not in tx.STOP_WORDS and len(own) >= 0.4 * release_count(word):
            for i in own:
                directory.add_alias(word, i)
    # Releases whose title names a company are that company's releases too.
    for i, f in enumerate(facts):
        title = f.title_words
        for n in range(1, directory.max_words + 1):
            for k in range(len(title) - n + 1):
                owners = directory.aliases.get(" ".join(title[k:k + n]))
                if owners is not None and len(title[k]) >= 3:
                    owners.add(i)
    # A one-word name that much of the corpus uses ("New", "Mining", "Digital"), or a reporting phrase taken for
    # a headline's subject ("Fourth Quarter"), names nobody. Longer names are specific even of common words.
    common = max(20, 0.03 * len(facts))
    for alias in [a for a in directory.aliases
                  if (" " not in a and release_count(a) > common)
                  or all(w in tx.STOP_WORDS or w in REPORTING_WORDS for w in a.split())]:
        del directory.aliases[alias]
    return directory
