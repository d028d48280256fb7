"""Answering: a question (and the conversation so far) in, one quoted, cited sentence out, or an honest no.

The steps, each a plain function below:
1. read the question: what kind of answer it wants (a reason, a date, a place, a person, an amount ...),
   which companies it names, and which concepts it asks about (stems, with synonyms);
2. choose where to look: the named companies' releases; for a follow-up that names none, the release of the
   conversation's last answer, then that company's other releases;
3. rank passages with BM25, then the sentences inside the best passages by how much of the question they
   cover, whether they have the shape of the wanted answer, and whether they are boilerplate;
4. answer only when the evidence is strong enough; otherwise say so and offer related releases.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel

from . import text as tx
from .conversation import Context
from .index import ABOUT, BODY, BOILERPLATE, CONTACT, LEGAL, Index, company_key

NOT_FOUND = "I couldn't find that in the releases."


class Citation(BaseModel):
    id: str
    title: str
    company: str
    ticker: str
    exchange: str
    date: str | None
    publisher: str
    url: str


class Alternative(BaseModel):
    quote: str
    source: Citation
    score: float


class Answer(BaseModel):
    question: str
    answered: bool
    quote: str | None = None
    source: Citation | None = None
    score: float = 0.0
    context_before: list[str] = []
    context_after: list[str] = []
    alternatives: list[Alternative] = []
    related: list[Citation] = []
    message: str = ""
    context: Context = Context()


def cite(index: Index, release: int) -> Citation:
    r = index.releases[release]
    return Citation(id=r.id, title=r.title or r.text.strip().splitlines()[0][:120], company=r.company,
                    ticker=r.ticker, exchange=r.exchange, date=r.date.isoformat() if r.date else None,
                    publisher=r.publisher, url=r.source_url)


# --- 1. reading the question ----------------------------------------------------------------------------

QUESTION_KINDS = [
    ("about", re.compile(r"\bwhat (?:does|do|is)\b.*\b(?:do|business|company)\b\??$|\bwho (?:is|are)\b(?! (?:the|their|its|his|her)\b)"
                         r"[^?]*\?*$(?<!ceo)(?<!cfo)", re.I)),
    ("contact", re.compile(r"\b(?:contact|investor relations|ir (?:person|email|phone)|phone number|e-?mail)\b", re.I)),
    ("purpose", re.compile(r"\b(?:use|using|spend|spending|used|earmark\w*)\b.*\b(?:for|on)\b|\bproceeds\b.*\bfor\b|"
                           r"\bwhat (?:is|are) .* for\??$", re.I)),
    ("why", re.compile(r"\bwhy\b|\bhow come\b|\breasons?\b|\bwhat (?:caused|triggered|led to|prompted|drove|is behind)\b", re.I)),
    ("when", re.compile(r"\bwhen\b|\bwhat (?:date|time|day)\b|\bwhich (?:date|day)\b|\bhow soon\b|\bdeadline\b|"
                        r"\bdate\b|\btimeline\b|\bhow long\b|\btake effect\b", re.I)),
    ("where", re.compile(r"\bwhere\b|\bwhich (?:exchange|market|city|country)\b|\bwhat (?:exchange|market|city|country)\b", re.I)),
    ("who", re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (?:executive|person|firm|bank|underwriter|agent)\b", re.I)),
    ("amount", re.compile(r"\bhow (?:much|many|big|large)\b|\bwhat (?:price|ratio|percentage|amount|rate|size|"
                          r"multiple|valuation)\b|\b(?:price|ratio|proceeds|revenue|sales|eps|earnings|income|cash|"
                          r"dividend|margin|ebitda|cost|value|worth|percent|percentage)\b", re.I)),
    ("yesno", re.compile(r"^\s*(?:is|are|did|does|do|will|was|were|has|have|can|could|should)\b", re.I)),
]

MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
ANSWER_SHAPES = {
    "why": re.compile(r"\b(?:due to|because|as a result|in order to|intended to|intends to|primarily to|reasons?|so that|"
                      r"aim(?:s|ed)? to|designed to|to (?:bring|regain|maintain|comply|support|fund|reduce|improve|enhance|"
                      r"provide|focus|pursue|align|accelerate|strengthen|unlock|allow|enable|avoid|address)|given (?:the|that|its)|"
                      r"driven by|attributable to|owing to|in light of|follows|following|result(?:ed|s)? (?:in|from)|"
                      r"in the best interests?|believes?|stem(?:s|med) from|caused by|reflects?|objective|goal|purpose|"
                      r"will (?:provide|allow|enable|help)|doesn't align|does not align|not in compliance)\b", re.I),
    "when": re.compile(r"\b" + MONTH + r"\s+\d{1,2}\b|\b\d{1,2}\s+" + MONTH + r"|\bQ[1-4]\b|\b(?:first|second|third|fourth)"
                       r" quarter\b|\b(?:fiscal(?: year)?|FY)\s*\d{2,4}\b|\b(?:19|20)\d\d\b|\beffective\b|\bon or about\b|"
                       r"\b\d{1,2}:\d\d\b|\b[ap]\.m\.|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b|"
                       r"\bwithin \w+ (?:days|weeks|months)\b|\bsince\b|\b(?:days|weeks|months|years)\b|\bexpected to (?:close|ship|begin|start)", re.I),
    "where": re.compile(r"\b(?:located|headquartered|based in|at \d+|Street|Avenue|Road|Boulevard|Exchange|Nasdaq|NYSE|"
                        r"OTC\w*|TSX\w*|CSE|ASX|markets?|Bulletin Board|trade[sd]? (?:on|in)|quoted on|listed on|"
                        r"[Ii]n [A-Z][a-z]+|from (?:its|the) [A-Z])\b", re.I if False else 0),
    "who": re.compile(r"\b[A-Z][a-z]+(?: [A-Z]\.)? [A-Z][a-z]+\b.*\b(?:Chief|CEO|CFO|COO|President|Chair(?:man|woman)?|"
                      r"Director|Officer|Head|Founder|Partner|Manager)\b|\b(?:appointed|appointment|named|serv(?:e|es|ing|ed) as|"
                      r"join(?:s|ed)|led by|developed by|founded by)\b|\b(?:Inc|Corp|LLC|Ltd)\b", 0),
    "amount": re.compile(r"[$€£¥]\s?\d|\b(?:C|A|US|CA|NZ|HK)\$\s?\d|\d(?:[\d,.]*)\s?(?:%|percent|million|billion|thousand|"
                         r"shares?|units?|cents|per (?:share|unit)|carats?|tonnes?|ounces?|barrels?|MW|GW)\b|\b\d+-for-\d+\b|"
                         r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten)\b\s*\(\d+\)", re.I),
    "purpose": re.compile(r"\b(?:proceeds|will be used|to be used|use of|to fund|working capital|earmarked|intends to use|"
                          r"allocated|to support|to finance|to advance|for (?:the )?(?:development|expansion|general))\b", re.I),
}
ANSWER_SHAPES["yesno"] = re.compile(r"\b(?:no|not|none|other than|only|yes|will|did|has|have)\b", re.I)
ANSWER_SHAPES["about"] = re.compile(r"\b(?:is an?|is the|leading|provider|develops|company)\b", re.I)
ANSWER_SHAPES["contact"] = re.compile(r"@|\+?\d[\d\s().-]{8,}\d|\bcontact\b", re.I)

# Financial and everyday paraphrases, as groups of words or phrases that mean the same here. Each group is
# general vocabulary, not tied to any release.
SYNONYMS = [
    "delist | withdraw listing | delisting | removal from listing",
    "uplist | list on | listing on",
    "buyback | buy back | repurchase | share repurchase",
    "ceo | chief executive officer | chief executive",
    "cfo | chief financial officer",
    "coo | chief operating officer",
    "cto | chief technology officer",
    "chair | chairman | chairwoman | chair of the board",
    "revenue | revenues | sales | turnover",
    "profit | net income | earnings | net profit",
    "loss | net loss | deficit",
    "eps | earnings per share",
    "ipo | initial public offering",
    "reverse split | reverse stock split | consolidation | share consolidation",
    "ratio | basis",
    "split | consolidation",
    "dividend | distribution | payout",
    "acquire | acquisition | buy | purchase | takeover | merger",
    "late | delay | delayed | postpone | postponed | behind schedule",
    "resign | step down | depart | leave | retire | stepped down",
    "come back | return",
    "hire | appoint | name | appointment",
    "raise | proceeds | financing | offering | placement",
    "price | priced | pricing",
    "cash | cash equivalents | liquidity",
    "spend | use | allocate | earmark | used",
    "close | closing | completion | complete",
    "start | commence | begin | launch | kick off",
    "end | terminate | conclude | expire",
    "trade | quoted | listed | trading",
    "employees | staff | workforce | headcount | people",
    "pay | compensation | salary | paying",
    "debt | loan | notes | credit facility | borrowing",
    "guidance | outlook | forecast",
    "grow | increase | rise | growth | up",
    "drop | decrease | decline | fall | lower | compress",
    "bitcoin | btc",
    "ethereum | eth",
    "deal | agreement | contract | transaction",
    "lawsuit | litigation | suit | complaint | legal action",
    "approve | approval | clear | clearance | authorize",
    "shareholder | stockholder | holder | investor",
    "meeting | agm | annual general meeting | special meeting",
    "office | headquarters | facility | location",
    "mine | mining | miner",
    "plant | facility | site",
    "fda | food and drug administration",
    "sec | securities and exchange commission",
    "nda | new drug application",
    "r&d | research and development",
    "ebitda | adjusted ebitda",
    "q1 | first quarter",
    "q2 | second quarter",
    "q3 | third quarter",
    "q4 | fourth quarter",
    "fy | fiscal year",
    "spin off | spinoff | spin-off | separation | separate",
    "warrant | warrants",
    "notice | notification | letter",
    "deficiency | non-compliance | noncompliance | not in compliance",
    "running | operating | leading | managing",
    "produce | generate | mine | output",
    "ship | deliver | delivery | shipment",
]


def _stems(phrase: str) -> tuple[str, ...]:
    return tuple(tx.stem(w) for w in tx.words(phrase) if w not in tx.STOP_WORDS) or tuple(tx.stem(w) for w in tx.words(phrase))


SYNONYM_GROUPS: list[list[tuple[str, ...]]] = [[_stems(p) for p in g.split("|") if _stems(p)] for g in SYNONYMS]
_BY_STEM: dict[str, list[list[tuple[str, ...]]]] = {}
for _group in SYNONYM_GROUPS:
    for _alt in _group:
        if len(_alt) == 1:
            _BY_STEM.setdefault(_alt[0], []).append(_group)
_BY_PHRASE: dict[tuple[str, ...], list[list[tuple[str, ...]]]] = {}
for _group in SYNONYM_GROUPS:
    for _alt in _group:
        if len(_alt) > 1:
            _BY_PHRASE.setdefault(_alt, []).append(_group)

GENERIC = frozenset(tx.stem(w) for w in """company companies firm business corporation inc corp share shares stock
announce announced announcement new plan plans today year said release news""".split())
FOLLOW_UP_WORDS = re.compile(r"\b(?:it|its|it's|they|them|their|theirs|he|him|his|she|her|this|that|these|those|"
                             r"the company|the deal|the offering|the firm)\b|^\s*(?:and|so|also|what about|how about)\b", re.I)
RECENT = re.compile(r"\b(?:latest|most recent|newest|recent|last|current)\b", re.I)


@dataclass
class Concept:
    """One thing the question asks about: its stems, and the other ways a release may say it."""
    word: str
    alternatives: list[tuple[str, ...]]
    weight: float = 1.0

    def found_in(self, tokens: set[str]) -> bool:
        return any(all(s in tokens for s in alt) for alt in self.alternatives)


@dataclass
class Question:
    text: str
    kind: str
    concepts: list[Concept]
    releases: set[int] | None           # releases of the companies named; None when none is named
    company_words: set[str]
    wants_recent: bool
    follow_up_words: bool

    def query(self, index: Index) -> tuple[list[int], list[float]]:
        """BM25 query: every stem of every alternative, synonyms weighted below the question's own words."""
        ids, weights = [], []
        for c in self.concepts:
            for k, alt in enumerate(c.alternatives):
                for s in alt:
                    ids.append(index.vocabulary.get(s, -1))
                    weights.append(c.weight * (1.0 if k == 0 else 0.5 / len(alt)))
        return ids, weights


def question_kind(question: str) -> str:
    for kind, pattern in QUESTION_KINDS:
        if pattern.search(question):
            return kind
    return "fact"


def find_companies(index: Index, question: str) -> tuple[set[int] | None, set[str]]:
    """Releases of every company or ticker the question names, and the words that named them."""
    directory = index.companies
    found: set[int] = set()
    used: set[str] = set()
    raw_words = re.findall(r"[\w&.\-]+", question)
    for w in raw_words:
        w = w.strip(".-").removesuffix("'s")
        if len(w) >= 2 and (w.isupper() or len(w) >= 4 and w.lower() not in index.vocabulary) and w.upper() in directory.tickers:
            found |= directory.tickers[w.upper()]
            used.update(tx.words(w))
    words = tx.words(question)
    k = 0
    while k < len(words):
        for n in range(min(directory.max_words, len(words) - k), 0, -1):
            phrase = " ".join(words[k:k + n])
            owners = directory.aliases.get(phrase)
            if owners and not (n == 1 and (phrase in tx.STOP_WORDS or len(phrase) < 3)):
                found |= owners
                used.update(words[k:k + n])
                k += n
                break
        else:
            k += 1
    return (found or None), used


def concepts_of(words: list[str], index: Index) -> list[Concept]:
    stems = [tx.stem(w) for w in words]
    concepts: list[Concept] = []
    covered = [False] * len(stems)
    for n in (3, 2):  # phrases first: 'chief executive officer', 'reverse split'
        for k in range(len(stems) - n + 1):
            key = tuple(stems[k:k + n])
            if key in _BY_PHRASE and not any(covered[k:k + n]):
                alts = [key] + [a for g in _BY_PHRASE[key] for a in g if a != key]
                concepts.append(Concept(" ".join(words[k:k + n]), alts))
                covered[k:k + n] = [True] * n
    for k, s in enumerate(stems):
        if covered[k] or any(c.alternatives[0] == (s,) for c in concepts):
            continue
        alts = [(s,)] + [a for g in _BY_STEM.get(s, []) for a in g if a != (s,)]
        concepts.append(Concept(words[k], alts))
    n = index.bm25.corpus_size
    for c in concepts:
        dfs = [index.bm25.df_of(index.vocabulary.get(s, -1)) for s in c.alternatives[0]]
        df = max(dfs) if dfs else 0
        c.weight = math.log((n + 1) / (df + 0.5)) if df else math.log(n + 1)
        if c.alternatives[0][0] in GENERIC:
            c.weight *= 0.3
    return concepts


def read_question(index: Index, question: str) -> Question:
    releases, company_words = find_companies(index, question)
    content = [w for w in tx.words(question) if w not in tx.STOP_WORDS and w not in company_words]
    return Question(text=question, kind=question_kind(question), concepts=concepts_of(content, index),
                    releases=releases, company_words=company_words, wants_recent=bool(RECENT.search(question)),
                    follow_up_words=bool(FOLLOW_UP_WORDS.search(question)))


# --- 2 and 3. where to look, and what to quote ------------------------------------------------------------

TOP_PASSAGES = 12
MIN_COVERAGE = 0.45


@dataclass
class Candidate:
    sentence: int
    score: float
    coverage: float
    passage_coverage: float
    release: int


def company_releases(index: Index, release: int) -> set[int]:
    r = index.releases[release]
    found: set[int] = {release}
    key = company_key(r.company) if r.company else ""
    if key in index.companies.aliases:
        found |= index.companies.aliases[key]
    if r.ticker and r.ticker.upper() in index.companies.tickers:
        found |= index.companies.tickers[r.ticker.upper()]
    return found


def _sentence_tokens(index: Index, i: int) -> set[str]:
    return set(tx.analyze(index.sentence(i)))


def _coverage(concepts: list[Concept], tokens: set[str]) -> float:
    total = sum(c.weight for c in concepts)
    return sum(c.weight for c in concepts if c.found_in(tokens)) / total if total else 0.0


def rank_sentences(index: Index, q: Question, releases: set[int] | None, scores: np.ndarray) -> list[Candidate]:
    if releases is not None:
        passages = index.passages_of(sorted(releases))
        if not len(passages):
            return []
        local = scores[passages]
    else:
        passages = np.arange(len(scores))
        local = scores
    if not len(local) or local.max() <= 0:
        return []
    top = passages[np.argsort(-local, kind="stable")[:TOP_PASSAGES]]
    best = float(scores[top[0]])
    newest = {}
    if q.wants_recent:
        dated = sorted({int(index.passage_release[p]) for p in top if index.releases[int(index.passage_release[p])].date},
                       key=lambda r: index.releases[r].date, reverse=True)
        newest = {r: 1.0 - k / max(len(dated), 1) for k, r in enumerate(dated)}
    shape = ANSWER_SHAPES.get(q.kind)
    wants_kind = {"about": ABOUT, "contact": CONTACT}.get(q.kind)
    candidates = []
    for p in top:
        p = int(p)
        if scores[p] <= 0:
            continue
        first, stop = int(index.passage_first[p]), int(index.passage_stop[p])
        sent_tokens = [_sentence_tokens(index, i) for i in range(first, stop)]
        passage_tokens = set().union(*sent_tokens)
        passage_cov = _coverage(q.concepts, passage_tokens)
        rank = scores[p] / best
        for i, tokens in zip(range(first, stop), sent_tokens):
            sentence = index.sentence(i)
            cov = _coverage(q.concepts, tokens)
            kind = int(index.sent_kind[i])
            score = 0.45 * cov + 0.25 * rank + 0.15 * passage_cov
            if shape is not None and shape.search(sentence):
                score += 0.12
            if wants_kind is not None:
                score += 0.25 if kind == wants_kind else 0.0
            elif kind in (BOILERPLATE, LEGAL, CONTACT):
                score -= 0.35
            elif kind == ABOUT:
                score -= 0.2
            if len(sentence) < 25 or len(tokens) < 3:
                score -= 0.2
            if q.wants_recent:
                score += 0.15 * newest.get(int(index.sent_release[i]), 0.0)
            candidates.append(Candidate(i, score, cov, passage_cov, int(index.sent_release[i])))
    candidates.sort(key=lambda c: -c.score)
    return candidates


def confident(q: Question, c: Candidate) -> bool:
    """The calibrated rule for answering rather than abstaining."""
    if not q.concepts:
        return c.score >= 0.3
    return max(c.coverage, 0.5 * (c.coverage + c.passage_coverage)) >= MIN_COVERAGE and c.score >= 0.35


def _search(index: Index, q: Question, scopes: list[set[int] | None]) -> tuple[list[Candidate], bool]:
    ids, weights = q.query(index)
    scores = index.bm25.get_scores(ids, weights)
    first: list[Candidate] = []
    for scope in scopes:
        candidates = rank_sentences(index, q, scope, scores)
        if not first:
            first = candidates
        if candidates and confident(q, candidates[0]):
            return candidates, True
    return first, False


def answer(index: Index, question: str, context: Context | None = None) -> Answer:
    """Answer one question, in the context of the conversation's last answer."""
    context = context or Context()
    q = read_question(index, question)
    last = index.by_id.get(context.release_id) if context.release_id else None
    if q.releases is None and last is not None and len(q.concepts) < 2 and context.terms:
        extra = concepts_of(context.terms, index)
        for c in extra:
            c.weight *= 0.4
        q.concepts += [c for c in extra if c.word not in {k.word for k in q.concepts}]

    if q.releases is not None:
        scopes: list[set[int] | None] = [q.releases]
        if last is not None and last in q.releases:
            scopes.insert(0, {last})
    elif last is not None:
        scopes = [{last}, company_releases(index, last)]
        if not q.follow_up_words:
            scopes.append(None)
    else:
        scopes = [None]

    candidates, ok = _search(index, q, scopes)
    terms = [c.word for c in q.concepts if c.weight >= 0.5 * max((k.weight for k in q.concepts), default=0)][:6]
    if not candidates or not ok:
        related: list = []
        for c in candidates:
            if c.release not in related:
                related.append(c.release)
        company = (index.releases[next(iter(q.releases))].company if q.releases else context.company)
        new_context = context if q.releases is None else Context(company=company, terms=terms)
        return Answer(question=question, answered=False, message=NOT_FOUND,
                      score=round(candidates[0].score, 4) if candidates else 0.0,
                      related=[cite(index, r) for r in related[:3]], context=new_context)

    best = candidates[0]
    r = best.release
    seen_text = {index.sentence(best.sentence)}
    alternatives = []
    for c in candidates[1:]:
        quote = index.sentence(c.sentence)
        if quote in seen_text or not confident(q, c):
            continue
        seen_text.add(quote)
        alternatives.append(Alternative(quote=quote, source=cite(index, c.release), score=round(c.score, 4)))
        if len(alternatives) == 3:
            break
    first_of_release = int(index.passage_first[index.release_first_passage[r]])
    last_of_release = int(index.passage_stop[index.release_stop_passage[r] - 1])
    before = [index.sentence(i) for i in range(max(first_of_release, best.sentence - 2), best.sentence)]
    after = [index.sentence(i) for i in range(best.sentence + 1, min(last_of_release, best.sentence + 3))]
    release = index.releases[r]
    return Answer(question=question, answered=True, quote=index.sentence(best.sentence), source=cite(index, r),
                  score=round(best.score, 4), context_before=before, context_after=after,
                  alternatives=alternatives,
                  context=Context(release_id=release.id, company=release.company, terms=terms))


class Answerer:
    """The answering core with memory: one context per conversation id, in the given store."""

    def __init__(self, index: Index, store=None):
        from .conversation import MemoryStore
        self.index = index
        self.store = store if store is not None else MemoryStore()

    def ask(self, conv: str, question: str) -> Answer:
        result = answer(self.index, question, self.store.get(conv))
        self.store.put(conv, result.context)
        return result

    def forget(self, conv: str) -> None:
        self.store.forget(conv)


def citation_line(c: Citation) -> str:
    """'Fusion (NYSE Amex: FSN), "Title", 2009-05-29, PR Newswire, http://...' with what is known."""
    who = c.company or "Unknown company"
    if c.ticker:
        who += f" ({c.exchange + ': ' if c.exchange else ''}{c.ticker})"
    parts = [who, f'"{c.title}"'] + [p for p in (c.date, c.publisher, c.url) if p]
    return ", ".join(parts)
