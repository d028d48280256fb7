"""Step 1, reading the question: its kind, the companies it names, and the concepts it asks about (stems, with
synonyms), the first of which is its focus: the thing asked for."""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .. import spelling, text as tx
from ..index import Index, company_key
from .vocabulary import EXCHANGE_NAMES, FRAME, GENERIC, MEASURES, NAMED_COMPANY, QUESTION_KINDS, RECENT, VERBS, YEAR, BY_PHRASE, BY_STEM


class Bag:
    """The stems of some text, as a set and in order: a phrase counts as found only where its words stand together."""
    __slots__ = ("stems", "text")

    def __init__(self, stems: list[str] = ()):
        self.stems = frozenset(stems)
        self.text = " " + " ".join(stems) + " "

    @classmethod
    def of(cls, *bags: "Bag") -> "Bag":
        joined = cls()
        joined.stems = frozenset().union(*(b.stems for b in bags))
        joined.text = "|".join(b.text for b in bags)
        return joined

    def has(self, alternative: tuple[str, ...]) -> bool:
        if len(alternative) == 1:
            return alternative[0] in self.stems
        return all(s in self.stems for s in alternative) and bool(_phrase(alternative).search(self.text))


@lru_cache(maxsize=4096)
def _phrase(stems: tuple[str, ...]) -> re.Pattern:
    """The stems in order, with at most one other word between two of them ('special general meeting')."""
    return re.compile(" " + r"(?: [^ |]+)? ".join(re.escape(s) for s in stems) + " ")


@dataclass
class Concept:
    """One thing the question asks about: its stems, and the other ways a release may say it."""
    word: str
    alternatives: list[tuple[str, ...]]
    weight: float = 1.0

    def found_in(self, bag: Bag) -> bool:
        return any(bag.has(alt) for alt in self.alternatives)


@dataclass
class Question:
    text: str
    kind: str
    concepts: list[Concept]
    focus: Concept | None                # the thing asked for; an answer without it is no answer
    releases: set[int] | None           # releases of the companies named; None when none is named
    company_words: set[str]
    unknown_company: str | None         # a company the question names that no release is from
    wants_recent: bool
    years: list[str]
    wants_price: bool
    words: set[str]
    measure: Concept | None = None      # the figure it asks the amount of: net income, EPS, a cost, fees ...
    negated: bool = False               # "which director didn't stand?": the answer says what did not happen
    names: list[Concept] = field(default_factory=list)  # proper names the question gives (other than companies)
    agent_of: re.Pattern | None = None  # "who developed ...": the passive that names the doer ("developed by")
    carried_only: bool = False          # a follow-up with no words (or only verbs) of its own: it leans on the last answer
    carried: list[Concept] = field(default_factory=list)  # the last question's concepts: where to look, not what to quote
    known: set[str] = field(default_factory=set)  # people the conversation already speaks of
    follows: bool = False               # it names no company and leans on the conversation's last answer
    unmentioned: bool = False           # its unknown_company is a name no release mentions at all (unmentioned_name)

    def query(self, index: Index) -> tuple[list[int], list[float]]:
        """BM25 query: every stem of every alternative, synonyms weighted below the question's own words."""
        ids, weights = [], []
        for c in self.concepts + self.carried:
            for k, alt in enumerate(c.alternatives):
                for s in alt:
                    ids.append(index.vocabulary.get(s, -1))
                    weights.append(min(c.weight, 1.0) * (1.0 if k == 0 else 0.5 / len(alt)))
        return ids, weights


# "ryder dividend?", "coupon on the debentures?": a question that is only a measure asks for its amount.
MEASURE = re.compile(r"\b(?:price|ratio|proceeds|revenue|sales|eps|dividend|coupon|yield|premium|stake|valuation|target|"
                     r"margin|strike|consideration|income|earnings|profit)\b", re.I)


# What people put before and after the question itself ("hey,", "quick question:", "... thanks!"): its kind is
# read without them (a yes/no question is told by its first word, "what is it for?" by its last).
LEAD_IN = re.compile(r"^\s*(?:(?:hey|hi|hello|yo|ok|okay|so|and|also|but|btw|um+|hmm+|sorry|please|pls|"
                     r"quick question|one more question|question)\b[\s,:;.!\-–—]*)+", re.I)
SIGN_OFF = re.compile(r"[\s,.!]*\b(?:thanks|thank you|thx|ty|please|pls|cheers)\b[\s.!]*$", re.I)


# Asked for advice or for where the price goes ("should I sell?", "is it a good investment?", "will the stock go
# up?"), any sentence quoted would pass for an answer that no release gives: the bot says what it does instead.
ADVICE = re.compile(r"\bshould (?:i|we)(?: \w+)? (?:buy|sell|hold|invest|exit|dump|get (?:in|out)|"
                    r"keep (?:my|our|the|it|them|holding))\b|"
                    r"\b(?:good|bad|smart|safe|wise|great) (?:investment|buy|stock to|time to (?:buy|sell|invest))\b|"
                    r"\bworth (?:buying|investing|holding)\b|\b(?:buy|sell|hold),? or (?:buy|sell|hold)\b|"
                    r"\bwill (?:the |its |their )?(?:stock|shares?|share price|price)\b.*\b(?:go up|go down|rise|fall|drop|"
                    r"recover|rebound|climb|crash|tank)\b|\bdo you (?:recommend|think)\b|\byour (?:opinion|view|advice)\b",
                    re.I)
ADVICE_MESSAGE = ("I can't give investment advice or say where the price will go: I only quote what the releases "
                  "say. Ask me what a release says (why, when, how much, who ...).")


# Markup pasted or typed around words ("<b>why</b> is FSN delisting?", "**why** is FSN delisting?", a Markdown
# link): the question is the words it surrounds.
HTML_TAG = re.compile(r"</?[a-z][a-z0-9-]*(?:\s[^<>]*)?/?>", re.I)
MD_LINK = re.compile(r"\[([^\[\]]+)\]\([^()\s]+\)")
MD_MARK = re.compile(r"\*\*|__|~~|`+|(?<![\w*])[*_](?=[^\s*_])|(?<=[^\s*_])[*_](?![\w*])")


def unmarked(text: str) -> str:
    """The words of a question without HTML or Markdown markup, its entities read ("&amp;" is "&")."""
    text = MD_LINK.sub(r"\1", HTML_TAG.sub(" ", text))
    return re.sub(r"\s+", " ", html.unescape(MD_MARK.sub("", text))).strip()


def says_nothing(text: str) -> bool:
    """No letter or digit at all: an emoji, punctuation, an empty message. No release can answer it."""
    return not any(ch.isalnum() for ch in text)


def the_question(text: str) -> str:
    """`text` without its greeting and sign-off (all of it when that is all there is)."""
    return SIGN_OFF.sub("", LEAD_IN.sub("", text)) or text


def question_kind(question: str) -> str:
    """What kind of answer `question` (without greeting or sign-off: read_question's) wants."""
    for kind, pattern in QUESTION_KINDS:
        if pattern.search(question):
            return kind
    if MEASURE.search(question) and not re.search(r"\b(?:which|who|how)\b", question, re.I):
        return "amount"
    return "fact"


def find_companies(index: Index, question: str) -> tuple[set[int] | None, set[str]]:
    """Releases of every company or ticker the question names, and the words that named them.

    An exchange's name ("Nasdaq", "OTC") counts as a company only when the question names no other."""
    directory = index.companies
    matches: list[tuple[str, set[int], list[str]]] = []
    for w in re.findall(r"[\w&.\-]+", question):
        w = w.strip(".-").removesuffix("'s")
        if len(w) >= 2 and w.upper() in directory.tickers and (w.isupper() or _typed_ticker(w)):
            matches.append((w.lower(), directory.tickers[w.upper()], tx.words(w)))
    words = tx.words(question)
    k = 0
    while k < len(words):
        for n in range(min(directory.max_words, len(words) - k), 0, -1):
            phrase = " ".join(words[k:k + n])
            owners = directory.aliases.get(phrase)
            if owners and not (n == 1 and len(phrase) < 3):
                matches.append((phrase, owners, words[k:k + n]))
                k += n
                break
        else:
            k += 1
    if any(m[0] not in EXCHANGE_NAMES for m in matches):
        matches = [m for m in matches if m[0] not in EXCHANGE_NAMES]
    found: set[int] = set()
    used: set[str] = set()
    for _, owners, ws in matches:
        found |= owners
        used.update(ws)
    return (found or None), used


def _typed_ticker(word: str) -> bool:
    """A ticker typed in lower case ("why is fsn delisting?", as on a phone): a word of three letters or more
    that is no English word ("gold", "key" and "now" are tickers too) is the ticker it spells."""
    low = word.lower()
    return len(low) >= 3 and low not in tx.STOP_WORDS and low not in spelling.english()


def unknown_company(index: Index, question: str, company_words: set[str]) -> str | None:
    for m in NAMED_COMPANY.finditer(question):
        name = company_key(m.group(0))
        if name and not set(name.split()) & company_words and name not in index.companies.aliases:
            return m.group(0).strip()
    return None


CAPITALISED_RUN = re.compile(r"[A-Z][\w&'’\-]*(?:\s+[A-Z][\w&'’\-]*)*")


MONTH_SHORT = frozenset("jan feb mar apr jun jul aug sep sept oct nov dec".split())


def unmentioned_name(index: Index, question: str, names: list[Concept]) -> str | None:
    """A name the question gives that no release mentions in any form ("Acme Rockets", "John Smith"): whatever
    it asks about that name, the releases cannot say, and a sentence about something else would pass for an
    answer. A name of several words counts when none of them is in any release; a single word only when it is
    no English word or abbreviation either ("Board", "Sept", "Mars" are words, not names)."""
    absent = {c.word for c in names
              if all(any(index.bm25.df_of(index.vocabulary.get(s, -1)) == 0 for s in alt) for alt in c.alternatives)}
    if not absent:
        return None
    for m in CAPITALISED_RUN.finditer(question):
        words = [w for w in tx.words(m.group(0)) if w not in tx.STOP_WORDS]
        if len(words) >= 2 and all(w in absent for w in words) or len(words) == 1 and words[0] in absent and \
                len(words[0]) >= 4 and words[0] not in MONTH_SHORT and words[0] not in spelling.english():
            return re.sub(r"['’]s?$", "", m.group(0))
    return None


def concepts_of(words: list[str], index: Index) -> list[Concept]:
    """Concepts in question order (the focus first); phrases with synonyms ('chief executive officer') whole."""
    stems = [tx.stem(w) for w in words]
    found: list[tuple[int, Concept]] = []
    covered = [False] * len(stems)
    for n in (3, 2):
        for k in range(len(stems) - n + 1):
            key = tuple(stems[k:k + n])
            if key in BY_PHRASE and not any(covered[k:k + n]):
                alts = [key] + [a for g in BY_PHRASE[key] for a in g if a != key]
                found.append((k, Concept(" ".join(words[k:k + n]), alts)))
                covered[k:k + n] = [True] * n
    seen = set()
    for k, s in enumerate(stems):
        if covered[k] or s in seen:
            continue
        seen.add(s)
        alts = [(s,)] + [a for g in BY_STEM.get(s, []) for a in g if a != (s,)]
        found.append((k, Concept(words[k], alts)))
    concepts = [c for _, c in sorted(found, key=lambda kc: kc[0])]
    n = index.bm25.corpus_size
    for c in concepts:
        dfs = [index.bm25.df_of(index.vocabulary.get(s, -1)) for s in c.alternatives[0]]
        df = min(dfs) if dfs else 0
        c.weight = math.log((n + 1) / (df + 0.5)) if df else math.log(n + 1)
        if c.alternatives[0][0] in GENERIC:
            c.weight *= 0.3
        elif c.alternatives[0][0] in FRAME:
            c.weight *= 0.2
    return concepts


def _agent_pattern(question: str) -> re.Pattern | None:
    m = re.match(r"\s*who(?:'s| is| are| was| were)?\s+(\w+)", question, re.I)
    if not m or m.group(1).lower() in tx.STOP_WORDS | {"the", "a", "an"}:
        return None
    verb = m.group(1).lower()
    stem = re.escape(verb[:-3] if verb.endswith("ing") else verb[:-2] if verb.endswith("ed") else verb.rstrip("s"))
    return re.compile(r"\b" + stem + r"\w*\s+(?:\w+\s+)?by\b", re.I)


NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without)\b", re.I)
CONTRACTION = re.compile(r"\b(ca|wo|\w+)n['’]t\b", re.I)
ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.I)


def plain_question(question: str) -> str:
    """The question with "didn't" as "did not" (both stop words, never a concept) and "7th" as "7"."""
    question = CONTRACTION.sub(lambda m: {"ca": "can", "wo": "will"}.get(m.group(1).lower(), m.group(1)) + " not", question)
    return ORDINAL.sub(r"\1", question)


def read_question(index: Index, question: str) -> Question:
    question = the_question(question)
    releases, company_words = find_companies(index, question)
    content = [w for w in tx.words(plain_question(question)) if w not in tx.STOP_WORDS and w not in company_words]
    concepts = concepts_of(content, index)
    kind = question_kind(question)
    focus = next((c for c in concepts if len(c.alternatives[0]) > 1 or c.alternatives[0][0] not in GENERIC | FRAME | VERBS
                  and not c.word.isdigit()), None)
    measure = next((c for c in concepts if c.word.lower() in MEASURES), None)
    capitalised = {w.lower() for w in re.findall(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]+\b", question.strip())}
    names = [c for c in concepts if c.word in capitalised and c.word not in company_words]
    unknown = unknown_company(index, question, company_words)
    unmentioned = None if unknown or releases else unmentioned_name(index, question, names)
    return Question(text=question, kind=kind, concepts=concepts, focus=focus, measure=measure,
                    names=names, agent_of=_agent_pattern(question),
                    releases=releases, company_words=company_words,
                    unknown_company=unknown or unmentioned, unmentioned=unmentioned is not None,
                    wants_recent=bool(RECENT.search(question)),
                    years=YEAR.findall(question), wants_price=bool(re.search(r"\bprice[ds]?\b", question, re.I)),
                    negated=bool(NEGATION.search(plain_question(question))),
                    words=set(tx.words(question)))
