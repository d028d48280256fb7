"""Answering: a question (and the conversation so far) in, one quoted, cited sentence out, or an honest no.

The steps, each a plain function below:
1. read the question: what kind of answer it wants (a reason, a date, a place, a person, an amount ...),
   which companies it names, and which concepts it asks about (stems, with synonyms), the first of which is
   its focus: the thing asked for;
2. choose where to look: the named companies' releases; for a follow-up that names none, the release of the
   conversation's last answer, then that company's other releases;
3. rank passages with BM25, then the sentences inside the best passages by how much of the question they
   cover (alone and with the sentence before them), whether they have the shape of the wanted answer, and
   whether they are boilerplate;
4. answer only when the focus is found and enough of the question is covered; otherwise say so, and offer
   related releases.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel

from . import spelling, text as tx
from .bm25 import top_k
from .conversation import Context
from .corpus import EXCHANGES
from .index import ABOUT, BOILERPLATE, CONTACT, LEGAL, Index, company_key, issuer_names

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
    read_as: dict[str, str] = {}    # words of the question read as another (a typing slip: bot/spelling.py)
    context: Context = Context()


def cite(index: Index, release: int) -> Citation:
    r = index.releases.meta[release]
    title = r.title or (index.text(release).strip().splitlines() or [""])[0][:120]
    return Citation(id=r.id, title=title, company=r.company,
                    ticker=r.ticker, exchange=r.exchange, date=r.date.isoformat() if r.date else None,
                    publisher=r.publisher, url=r.source_url)


# --- 1. reading the question ----------------------------------------------------------------------------

QUESTION_KINDS = [
    ("about", re.compile(r"^\s*what (?:does|do) .{2,60} do\??\s*$|^\s*(?:what|who) (?:is|are) [^ ?]+(?: [^ ?]+)?\s*\??\s*$|"
                         r"\bwhat (?:kind of |type of )?(?:business|company) is\b", re.I)),
    ("contact", re.compile(r"\b(?:contact|reach|ir (?:person|email|phone)|phone number|e-?mail)\b", re.I)),
    ("purpose", re.compile(r"\b(?:use|using|spend|spending|used|earmark\w*)\b.*\b(?:for|on)\b|\bproceeds\b.*\bfor\b|"
                           r"\bused in\b|\b(?:do|doing|done)(?: \w+)? with (?:the |that |this |its |their )?(?:money|proceeds|funds|cash|capital)\b|"
                           r"\bwhere(?:'s| is| are| will| does| do)? (?:the |that |this |its |their )?(?:money|proceeds|funds|cash|capital)\b.*\bgo|"
                           r"\bwhat(?:'s| is| are)\b.* for\??$", re.I)),
    ("time", re.compile(r"\bwhat time\b|\bat what time\b", re.I)),
    ("composition", re.compile(r"\bhow (?:is|are|was|were|will)\b.*\b(?:split(?:ting)?|divid(?:ed|ing)|broken down|breaking down|structured|made up|set up)\b|"
                               r"\bwhat (?:does|do|did) .* (?:consist|comprise|include)\b|\bbreakdown\b", re.I)),
    ("why", re.compile(r"\bwhy\b|\bhow come\b|\breasons?\b|\bwhat (?:caused|triggered|led to|prompted|drove|is behind)\b", re.I)),
    ("when", re.compile(r"\bwhen\b|\bwhat (?:date|time|day)\b|\bwhich (?:date|day)\b|\bhow soon\b|\bdeadline\b|"
                        r"\bdate\b|\btimeline\b|\bhow long\b|\bhow far out\b|\btake effect\b", re.I)),
    ("where", re.compile(r"\bwhere\b|\b(?:which|what) (?:exchanges?|markets?|city|cities|country|countries|states?|provinces?|"
                         r"regions?|territor(?:y|ies))\b(?! ratio| rate| price)", re.I)),
    ("who", re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (?:\w+ )?(?:executive|person|company|companies|firm|maker|"
                       r"manufacturer|bank|partner|customer|buyer|investor|fund|operator|developer|supplier|provider|"
                       r"insurer|automaker|producer|lender|agent|underwriter|acquirer|advisor|adviser|auditor)s?\b", re.I)),
    ("yesno", re.compile(r"^\s*(?:is|are|did|does|do|will|was|were|has|have|can|could|should)\b", re.I)),
    ("amount", re.compile(r"\bhow (?:much|many|big|large|close|far (?:away|from|apart))\b|\bwhat (?:%|percent)|"
                          r"\bwhat(?:'s| is| are| was| were| did| does| will)\b[^?]*\b(?:paying|pay|paid|charging)\b|\bwhat(?:'s| is| was| were| are)? (?:the )?"
                          r"(?:[\w'’\-]+ ){0,3}(?:price|ratio|percentage|amount|rate|size|multiple|valuation|proceeds|"
                          r"revenue|sales|eps|earnings|income|profit|loss|cash|dividend|margin|ebitda|cost|value|worth|"
                          r"premium|coupon|yield|stake|target)\b",
                          re.I)),
]

MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
# "$5", "C$2.10", "INR 9.94": an amount of money, by its currency (shared by the amount shape and MONEY).
CURRENCY_AMOUNT = (r"[$€£¥₹]\s?\d|\b(?:C|A|US|CA|NZ|HK)\$\s?\d|\b(?:USD|EUR|GBP|CAD|AUD|NZD|CHF|JPY|CNY|RMB|HKD|SGD|"
                   r"INR|SEK|NOK|DKK|ZAR|BRL|MXN|KRW|Rs\.?)\s?\d")
ANSWER_SHAPES = {
    "why": re.compile(r"\b(?:due to|because|as a result|in order to|intended to|intends to|primarily to|reasons?|so that|"
                      r"aim(?:s|ed)? to|designed to|to (?:bring|regain|maintain|comply|support|fund|reduce|improve|enhance|"
                      r"provide|focus|pursue|align|accelerate|strengthen|unlock|allow|enable|avoid|address)|given (?:the|that|its)|"
                      r"driven by|attributable to|owing to|in light of|follows|following|result(?:ed|s)? (?:in|from)|"
                      r"in the best interests?|believes?|stem(?:s|med) from|caused by|reflects?|objective|goal|purpose|"
                      r"will (?:provide|allow|enable|help)|doesn't align|does not align|not in compliance|in the wake of|"
                      r"(?:necessary|needed) (?:to|for)|to meet|intended for|purposes|as a condition (?:of|for|to))\b", re.I),
    "when": re.compile(r"\b" + MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?\b|\b(?:month|quarter|year)[- ]end\b|\bend of (?:the )?"
                       r"(?:month|quarter|year)\b|\bshortly\b|\b\d{1,2}\s+" + MONTH + r"|\bQ[1-4]\b|\b(?:first|second|third|fourth)"
                       r" quarter\b|\b(?:fiscal(?: year)?|FY)\s*\d{2,4}\b|\b(?:19|20)\d\d\b|\beffective\b|\bon or about\b|"
                       r"\b\d{1,2}:\d\d\b|\b[ap]\.m\.|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b|"
                       r"\bwithin (?:the )?(?:next )?(?:\w+ )?(?:days?|weeks?|months?|years?)\b|\b(?:in|over) the (?:next|coming) \w+|\bsince\b|\b(?:days|weeks|months|years)\b|\bexpected to (?:close|ship|begin|start)", re.I),
    "where": re.compile(r"\b(?:located|headquartered|based in|at \d+|Street|Avenue|Road|Boulevard|Exchange|Nasdaq|NYSE|"
                        r"OTC\w*|TSX\w*|CSE|ASX|markets?|Bulletin Board|trade[sd]? (?:on|in)|quoted on|listed on|"
                        r"[Ii]n [A-Z][a-z]+|from (?:its|the) [A-Z])\b"),  # case matters: "in Peru", not "in part"
    "who": re.compile(r"\b[A-Z][a-z]+(?: [A-Z]\.)? [A-Z][a-z]+\b.*\b(?:Chief|CEO|CFO|COO|President|Chair(?:man|woman)?|"
                      r"Director|Officer|Head|Founder|Partner|Manager)\b|\b(?:appointed|appointment|named|serv(?:e|es|ing|ed) as|"
                      r"join(?:s|ed)|led by|developed by|founded by)\b|\b(?:Inc|Corp|LLC|Ltd)\b", 0),
    "amount": re.compile(r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|half|a third|"
                         r"a quarter)\b(?=[^.]{0,40}\b(?:shares?|units?|for every|percent|million|billion|each|held)\b)|"
                         + CURRENCY_AMOUNT + r"|\d[\d,.]*\s+of an?\s+(?:[\w-]+\s+){0,4}?(?:shares?|units?)\b|"
                         r"\d(?:[\d,.]*)[\s-]?(?:%|(?:percent|million|billion|thousand|crores?|lakhs?|"
                         r"shares?|units?|cents|per (?:share|unit)|carats?|tonnes?|tons|ounces?|barrels?|gallons?|lit(?:er|re)s?|"
                         r"(?:standard )?cubic (?:feet|foot|met(?:er|re)s?)|[MB]?cf[dm]?|scfm|MMBtu|MW|GW|[MGKT]Wh|basis points|bps|"
                         r"square[\s-](?:feet|foot|met(?:er|re)s?|miles?)|sq\.? ?ft|acres?|hectares?|feet|foot|miles?|km|"
                         r"(?:kilo|mega|giga|tera)watt(?:-hours?|s)?|"
                         r"kilomet(?:er|re)s?|met(?:er|re)s?|m²)(?!\w))|\b\d+-for-\d+\b|\b(?:double|triple|halve)[ds]?\b|"
                         r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten)\b\s*\(\d+\)", re.I),
    "purpose": re.compile(r"\b(?:will be used|to be used|use of (?:the )?(?:net )?proceeds|to fund|working capital|earmarked|intends to use|"
                          r"allocated|to support|to finance|to advance|for (?:the )?(?:development|expansion|general)|will go (?:to|towards?)|"
                          r"go (?:to|towards?)|directed (?:to|towards?)|used (?:the |its |their )?(?:net )?proceeds|"
                          r"(?:proceeds|funds) (?:were|are|will be) (?:used|applied)|applied (?:to|towards?)|intended for|"
                          r"primarily for|to (?:repay|pay down|pay off|redeem|retire|refinance|close out)|used (?:in|for)|"
                          r"(?:integrated|incorporated|built|installed|deployed) (?:in|into)|for use in)\b", re.I),
}
ANSWER_SHAPES["composition"] = re.compile(r"\bconsists? of\b|\bcompris(?:ed|es|ing)\b|\bmade up of\b|"
                                          r"\bsplit (?:into|between|among)\b|\bincludes?\b|\bdivided\b|"
                                          r"\bstructured\b|\btranches?\b|\binstal+ments?\b", re.I)
ANSWER_SHAPES["time"] = re.compile(r"\b\d{1,2}(?::\d\d)?\s?(?:a\.?m\.?|p\.?m\.?)|\b\d{1,2}:\d\d\b", re.I)
ANSWER_SHAPES["yesno"] = re.compile(r"\b(?:no|not|none|other than|only|yes|will|did|has|have)\b", re.I)
ANSWER_SHAPES["about"] = re.compile(r"\b(?:is an?|is the|leading|provider|develops|company)\b", re.I)
ANSWER_SHAPES["contact"] = re.compile(r"@|\+?\d[\d\s().-]{8,}\d|\bcontact\b", re.I)


# How much the shape of a sentence says it answers each kind of question, when it has that shape, and when
# it has not: a "when" question wants a date, a "how much" question a number.
SHAPE_WEIGHT = {"time": (0.2, -0.1), "composition": (0.15, 0.0), "why": (0.18, 0.0), "when": (0.15, -0.12), "amount": (0.15, -0.12), "who": (0.1, 0.0),
                "where": (0.1, 0.0), "purpose": (0.18, 0.0), "yesno": (0.04, 0.0), "about": (0.05, 0.0),
                "contact": (0.15, 0.0)}
STRONG_REASON = re.compile(r"\b(?:due to|because|as a result of|in order to|intended to|primarily to|reasons?|so that|"
                           r"aim(?:s|ed)? to|designed to|in the best interests?|driven by|attributable to|owing to|"
                           r"in light of|follows|stem(?:s|med) from|caused by|will provide|doesn't align|does not align|"
                           r"reflects|view that|believes? that|to ensure|in an effort to|aimed at|with the goal|to regain|"
                           r"(?:objective|purpose|goal|rationale|aim) (?:of|for|is|was)|not in compliance|"
                           r"non-?compliance|failed to|fell below|did not meet|does not meet|in the wake of|(?:necessary|needed) to|"
                           r"intended for|as a condition (?:of|for|to))\b",
                           re.I)
HEADLINE = re.compile(r"^[^.!?]{0,50}$")
ABBREVIATED = re.compile(r"\b(?:Inc|Corp|Co|Ltd|LLC|L\.?P|S\.?A|N\.?V|Jr|Sr)\.")


def heading(sentence: str) -> bool:
    """A line that names rather than says ("Advisors", "About Splash Beverage Group, Inc."): no answer, however
    well it matches. A company's "Inc." is no sentence's end."""
    return bool(HEADLINE.match(ABBREVIATED.sub(lambda m: m.group(0)[:-1], sentence)))


PRICE = re.compile(r"(?:[$€£]|\b[A-Z]{1,2}\$)\s?\d[\d.,]*\s*(?:per|a|each)\s+(?:\w+\s+)?(?:share|unit|warrant)|"
                   r"\bprice of (?:[$€£]|[A-Z]{1,2}\$)|\bper (?:share|unit)\b", re.I)
TITLE_WORDS = (r"(?:Chief|CEO|CFO|COO|CTO|President|Chair(?:man|woman|person)?|Director|Founder|Partner|Vice|Head|"
               r"Executive|Managing|General Counsel|Treasurer|Secretary)")
PERSON = re.compile(r"\b(?:Mr|Ms|Mrs|Dr)\.\s+(?P<a>[A-Z][a-z]+)|"
                    r"\b[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+(?P<b>[A-Z][a-z]{2,})(?=,?\s+(?:the\s+|its\s+|our\s+)?" + TITLE_WORDS + r")|"
                    r"(?:appointed|named|appointment of|welcomes?|hired?|promoted)\s+[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+(?P<c>[A-Z][a-z]{2,})|"
                    r"\b" + TITLE_WORDS + r"[\w ,]{0,40}?\s[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+(?P<d>[A-Z][a-z]{2,})\b")
NOT_NAMES = frozenset("""officer officers executive president director directors chairman chair chairperson relations
investor investors development operations business financial board company group vice head chief founder partner
partners managing general counsel treasurer secretary manager technology marketing sales strategy""".split())
PERSON_PRONOUN = re.compile(r"\b(?:he|him|his|she|her)\b", re.I)
YEAR = re.compile(r"\b(?:19|20)\d\d\b")

# Financial and everyday paraphrases, as groups of words or phrases that mean the same here. Each group is
# general vocabulary, not tied to any release.
SYNONYMS = [
    "delist | withdraw listing | delisting | removal from listing",
    "uplist | list on | listing on",
    "buyback | buy back | bought back | buying back | repurchase | share repurchase | repurchased",
    "ceo | chief executive officer | chief executive | run company | lead company | head company | interim ceo",
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
    "acquire | acquisition | buy | purchase | takeover | merger | deal",
    "late | delay | delayed | postpone | postponed | behind schedule | push back | adjourn | reschedule",
    "replace | succeed | successor | replacement | take over",
    "wind up | wound up | wind down | dissolve | dissolution | liquidate | liquidation | terminate the fund",
    "shut down | shutting down | wind down | cease operations | discontinue | close",
    "strike | exercise price | strike price",
    "coupon | interest rate | bear interest | per annum",
    "win | won | winning bidder | successful bidder | awarded | prevail",
    "buy | bought | buying | buyer | purchaser | acquirer",
    "sell | sold | sale | seller | divest | divestiture | dispose",
    "pay | paid | paying | purchase price | consideration",
    "hold | held | holding",
    "advisor | adviser | counsel",
    "stake | interest | ownership | holding",
    "keep | retain",
    "wrong | defect | issue | problem",
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
    "book | booked | bookings | new orders | order intake | contract awards | new contracts",
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
    "file | filing | submit | submission",
    "sec | securities and exchange commission",
    "nda | new drug application",
    "r&d | research and development",
    "ebitda | adjusted ebitda",
    "q1 | first quarter | 1q",
    "q2 | second quarter | 2q",
    "q3 | third quarter | 3q",
    "q4 | fourth quarter | 4q",
    "fy | fiscal year",
    "spin off | spinoff | spin-off | spun off | spin | spun | separation | separate",
    "warrant | warrants",
    "notice | notification | letter",
    "deficiency | non-compliance | noncompliance | not in compliance",
    "running | operating | leading | managing",
    "work | working | serve | served | serving | employ | role | position",
    "before | previously | prior | most recently | formerly | former",
    "take effect | effective | become effective | go into effect",
    "valuation | values | valued | value",
    "stand for | short for | stands for | abbreviation",
    "push out | extend | extension | extending",
    "half | 50 | fifty percent",
    "money | funds | proceeds | capital",
    "in a row | consecutive | straight",
    "rest | remaining | remainder | balance",
    "come from | join from | joins from | previously",
    "swap | replace | replaced | change",
    "attach | attached | accompany | accompanying",
    "unsold | unsubscribed | remaining",
    "extra | additional | incremental",
    "make | produce | manufacture",
    "parts | components | component",
    "carat | carats | ct",
    "people | participants | patients | subjects | enrolled",
    "produce | generate | mine | output",
    "ship | deliver | delivery | shipment",
    "jv | joint venture",
    "merge | merger | merging | business combination | combine | combination",
    "capex | capital expenditures | capital expenditure | capital budget | capital spending | capital program",
    "spac | special purpose acquisition company | blank check company",
    "getting | receive | received | receiving | obtain",
    "max | maximum | ceiling | cap | capped",
    "hand over | transfer | assign | assignment",
    "earnings | financial results | quarterly results",
    "2 | two", "3 | three", "4 | four", "5 | five", "6 | six", "7 | seven", "8 | eight", "9 | nine", "10 | ten",
    "11 | eleven", "12 | twelve",
    "jan | january", "feb | february", "mar | march", "apr | april", "jun | june", "jul | july", "aug | august",
    "sep | sept | september", "oct | october", "nov | november", "dec | december",
]


def _stems(phrase: str) -> tuple[str, ...]:
    content = [w for w in tx.words(phrase) if w not in tx.STOP_WORDS]
    return tuple(tx.stem(w) for w in (content or tx.words(phrase)))


SYNONYM_GROUPS: list[list[tuple[str, ...]]] = [[_stems(p) for p in g.split("|") if _stems(p)] for g in SYNONYMS]
_BY_STEM: dict[str, list[list[tuple[str, ...]]]] = {}
_BY_PHRASE: dict[tuple[str, ...], list[list[tuple[str, ...]]]] = {}
for _group in SYNONYM_GROUPS:
    for _alt in _group:
        (_BY_STEM.setdefault(_alt[0], []) if len(_alt) == 1 else _BY_PHRASE.setdefault(_alt, [])).append(_group)

GENERIC = frozenset(tx.stem(w) for w in """company companies firm business corporation inc corp share shares stock
announce announced announcement new plan plans today year said release news update""".split())
# Words that frame a question ("what triggered ...", "how long ...", "go ahead with ...") rather than name the
# thing asked for: never its focus.
FRAME = frozenset(tx.stem(w) for w in """trigger triggered cause caused prompt prompted long ahead reason reasons mean
happen soon expect expected plan planned going use using used spend spending big wrong good bad large small
old back time date last latest recent current next far guy guys person someone somebody anyone thing things
happens""".split())
FIGURES = frozenset({"net income", "net loss", "revenue", "revenues", "sales", "eps", "earnings", "ebitda", "profit",
                     "margin", "gross margin", "guidance", "dividend", "cash", "salary", "compensation", "bonus",
                     "free cash flow"})
# What an amount can be the amount of: asked "how much will the split cost?", a number is the answer only where the
# release names the cost (the split's ratio is no cost).
# (Not "price": a price is told as "$17.50 per share" without the word.)
MEASURES = FIGURES | {"cost", "costs", "fee", "fees", "proceeds", "valuation"}
# Verbs are what investors paraphrase most ("shutting down" for "wind down", "buying" for "acquire"); the thing
# asked for is a noun. So a question's focus is its first content word that is not one of these common verbs.
VERBS = frozenset(tx.stem(w) for w in """accept acquire add agree aim allow announce appoint approve ask become begin
bought bring brought build built buy call cancel check choose chose pick picked select hand handle change choose chose close come complete consider continue cost cut
decide decline delay deliver depart drop earn end enter exit expand expect extend face fail fall fell file finish
focus form found gain get give go grow grew halt have help hire hold held hit improve include increase intend invest
issue join keep launch lead led leave left lend lift list lose lost make made merge miss move name need offer open
own pay paid plan post postpone present price produce provide pull purchase push put raise reach receive recall
record reduce regain register release remain remove replace report require resign restructure retire return rise
rose run ran said say sell sold send sent serve set settle ship shut shutting sign spin spun start step stop submit
suspend take took target terminate trade transfer try turn unveil update upgrade use vote want win won withdraw
work wound write agree allow announce arrange assume attract avoid back become believe borrow break cover create
decline deny describe develop drive enable ensure estimate explain finance fund generate give grant guide hope
identify implement increase involve keep know lay let look lower mean meet negotiate note obtain operate organize
outline pass perform plan pledge position prepare proceed progress propose protect prove qualify reach realize
recognize recover refinance reflect reject rely renew repay request resolve respond restate resume retain reveal
review roll save schedule secure see seek show shift sit speak spend split stand stay struggle suggest supply
support switch talk tell think transition treat undergo value waive watch widen""".split())
DATELINE = re.compile(r"^.{0,160}?(?:\b(?:19|20)\d\d\b|/PRNewswire[^/]*/|\((?:GLOBE NEWSWIRE|BUSINESS WIRE|ACCESS\w*)\))"
                      r".{0,80}?(?:--|—|–| - )\s*", re.S)
RECENT = re.compile(r"\b(?:latest|most recent|newest|recent|last|current)\b", re.I)
# "Target Corporation", "Acme Holdings Inc": a name the question gives as a company's, whether or not we know it.
NAMED_COMPANY = re.compile(r"\b((?:[A-Z][\w&'’\-]*\s+){1,4})(?:Inc|Corp|Corporation|Ltd|Limited|plc|PLC|LLC|"
                           r"Holdings|Group|Co)\b\.?")
EXCHANGE_NAMES = frozenset(company_key(m) for m in re.sub(r"\(\?:|\\s\+|\\s\*|[()?\[\]]", " ", EXCHANGES).split("|")
                           if company_key(m)) | {"nasdaq", "nyse", "otc", "otc markets", "tsx", "tsxv", "cse", "asx"}


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


def concepts_of(words: list[str], index: Index) -> list[Concept]:
    """Concepts in question order (the focus first); phrases with synonyms ('chief executive officer') whole."""
    stems = [tx.stem(w) for w in words]
    found: list[tuple[int, Concept]] = []
    covered = [False] * len(stems)
    for n in (3, 2):
        for k in range(len(stems) - n + 1):
            key = tuple(stems[k:k + n])
            if key in _BY_PHRASE and not any(covered[k:k + n]):
                alts = [key] + [a for g in _BY_PHRASE[key] for a in g if a != key]
                found.append((k, Concept(" ".join(words[k:k + n]), alts)))
                covered[k:k + n] = [True] * n
    seen = set()
    for k, s in enumerate(stems):
        if covered[k] or s in seen:
            continue
        seen.add(s)
        alts = [(s,)] + [a for g in _BY_STEM.get(s, []) for a in g if a != (s,)]
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


def _plain(question: str) -> str:
    """The question with "didn't" as "did not" (both stop words, never a concept) and "7th" as "7"."""
    question = CONTRACTION.sub(lambda m: {"ca": "can", "wo": "will"}.get(m.group(1).lower(), m.group(1)) + " not", question)
    return ORDINAL.sub(r"\1", question)


def read_question(index: Index, question: str) -> Question:
    question = the_question(question)
    releases, company_words = find_companies(index, question)
    content = [w for w in tx.words(_plain(question)) if w not in tx.STOP_WORDS and w not in company_words]
    concepts = concepts_of(content, index)
    kind = question_kind(question)
    focus = next((c for c in concepts if len(c.alternatives[0]) > 1 or c.alternatives[0][0] not in GENERIC | FRAME | VERBS
                  and not c.word.isdigit()), None)
    measure = next((c for c in concepts if c.word.lower() in MEASURES), None)
    capitalised = {w.lower() for w in re.findall(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]+\b", question.strip())}
    names = [c for c in concepts if c.word in capitalised and c.word not in company_words]
    return Question(text=question, kind=kind, concepts=concepts, focus=focus, measure=measure,
                    names=names, agent_of=_agent_pattern(question),
                    releases=releases, company_words=company_words,
                    unknown_company=unknown_company(index, question, company_words),
                    wants_recent=bool(RECENT.search(question)),
                    years=YEAR.findall(question), wants_price=bool(re.search(r"\bprice[ds]?\b", question, re.I)),
                    negated=bool(NEGATION.search(_plain(question))),
                    words=set(tx.words(question)))


# --- 2 and 3. where to look, and what to quote ------------------------------------------------------------

TOP_PASSAGES = 12
LEAD_DISCOUNT = 0.8
CONFIDENT_AMONG = 3
FOCUS_ESCAPE = 0.6  # a release that covers this much of the question may word its focus differently
RARE_WEIGHT = 6.0  # an idf this high: the term is in fewer than about 1 in 400 passages
MIN_COVERAGE = 0.25
MIN_SCORE = 0.2


@dataclass
class Candidate:
    sentence: int
    score: float
    coverage: float          # of the question's concepts, by the sentence alone
    window_coverage: float   # ... by the sentence and the one before it
    passage_coverage: float  # ... by its whole passage
    has_focus: bool          # the focus is in the sentence or its passage
    release: int
    informative: bool = True  # it says what was asked: a new number for "how much", a date for "when"
    shape: float = 0.0        # how much it has the shape of the wanted answer
    global_scope: bool = False  # found searching every release, no company named or in context
    rare_found: bool = False    # a rare concept of the question is in its passage
    rest_found: bool = True     # ... and something else it asks about is in the sentence or the one before it
    measure_near: bool = True   # the figure asked about is named in the sentence or the one before it
    carried_window: float = 0.0  # a follow-up's carried concepts, covered by the sentence and the one before it
    features: dict | None = None


def company_releases(index: Index, release: int) -> set[int]:
    r = index.releases.meta[release]
    found: set[int] = {release}
    key = company_key(r.company) if r.company else ""
    if key in index.companies.aliases:
        found |= index.companies.aliases[key]
    if r.ticker and r.ticker.upper() in index.companies.tickers:
        found |= index.companies.tickers[r.ticker.upper()]
    return found


def one_company(index: Index) -> bool:
    """Whether every release is of one company (a company's own bot): then a question that names none is
    about that company, not one that could be any company's."""
    cache = index.__dict__
    if "_one_company" not in cache:
        meta = index.releases.meta
        keys = {company_key(r.company) for r in meta if r.company} - {""}
        cache["_one_company"] = len(meta) > 0 and (
            len(keys) == 1 or any(len(owners) == len(meta) for owners in index.companies.tickers.values()))
    return cache["_one_company"]


def _release_words(index: Index, release: int) -> frozenset[str]:
    """Unstemmed words of a release's text (for matching company names said in a follow-up)."""
    cache = index.__dict__.setdefault("_release_words", {})
    words = cache.get(release)
    if words is None:   # (a local: another thread may clear the cache meanwhile)
        if len(cache) > 1024:
            cache.clear()
        words = cache[release] = frozenset(tx.words(index.text(release)))
    return words


def issuer_words(index: Index, release: int) -> frozenset[str]:
    """The words of the names a release gives its issuer: never news to a "who" question."""
    cache = index.__dict__.setdefault("_issuer_words", {})
    words = cache.get(release)
    if words is None:
        if len(cache) > 4096:
            cache.clear()
        words = cache[release] = frozenset(w for name in issuer_names(index.releases[release]) for w in tx.words(name))
    return words


def release_tokens(index: Index, release: int) -> Bag:
    """Every stem of a release: where a question's focus must be found for an answer to exist. Cached on the
    index it belongs to, so a reloaded index never sees another's tokens."""
    cache = index.__dict__.setdefault("_release_tokens", {})
    tokens = cache.get(release)
    if tokens is None:
        if len(cache) > 4096:
            cache.clear()
        tokens = cache[release] = Bag(tx.analyze(index.releases.meta[release].title + "\n" + index.text(release)))
    return tokens


def _coverage(concepts: list[Concept], tokens: Bag) -> float:
    total = sum(c.weight for c in concepts)
    return sum(c.weight for c in concepts if c.found_in(tokens)) / total if total else 0.0


NAME = re.compile(r"\b[A-Z][\w&'’.\-]*(?:\s+(?:[A-Z][\w&'’.\-]*|&|of|de|and))*")
NUMBER = re.compile(r"\d[\d.,]*")
DATE = re.compile(r"\b" + MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+(?:19|20)\d\d)?|\b\d{1,2}\s+" + MONTH +
                  r"(?:,?\s+(?:19|20)\d\d)?|\b(?:19|20)\d\d\b")
MULTIPLE = re.compile(r"\b(?:double|triple|quadruple|halve)[ds]?\b|\btwice\b", re.I)
NUMBER_WORD = re.compile(r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b(?=[^.]{0,40}\b"
                         r"(?:shares?|units?|for every|percent|million|billion)\b)", re.I)


def _new_information(kind: str, sentence: str, question_words: set[str]) -> bool:
    """An answer says something the question did not: a name, a number or a date it did not give."""
    if kind == "who":
        names = [m.group(0) for m in NAME.finditer(sentence) if m.start() > 0 or len(m.group(0).split()) > 1]
        return any(set(tx.words(n)) - question_words - tx.STOP_WORDS for n in names)
    if kind == "amount":
        numbers = [n.strip(".,").replace(",", "") for n in NUMBER.findall(DATE.sub(" ", sentence))]
        return any(n not in question_words and not YEAR.fullmatch(n) for n in numbers) or \
            bool(NUMBER_WORD.search(sentence)) or bool(MULTIPLE.search(sentence))
    if kind in ("when", "time"):
        return any(n.strip(".,").replace(",", "") not in question_words for n in NUMBER.findall(sentence)) or \
            bool(re.search(r"\b(?:next|coming|within|immediately|upon|later this|early|mid|end of|shortly|thereafter|"
                           r"(?:month|quarter|year)[- ]end)\b|\b" + MONTH + r"(?!\w)",
                           sentence, re.I))
    return True


FULL_DATE = re.compile(r"\b" + MONTH + r"\s*\d{1,2}(?:st|nd|rd|th)?\b|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?" + MONTH +
                       r"|\b\d{1,2}/\d{1,2}/(?:19|20)?\d\d\b|\b(?:19|20)\d\d-\d\d-\d\d\b", re.I)
PERIOD = re.compile(r"\b" + MONTH + r"(?:\s+of)?\s+(?:19|20)\d\d\b|\bQ[1-4]\b|\b(?:first|second|third|fourth)\s+quarter\b|"
                    r"\b(?:first|second)\s+half\b|\b(?:fiscal(?: year)?|FY)\s*\d{2,4}\b|"
                    r"\b(?:in|by|during|until|before)\s+(?:calendar\s+)?(?:19|20)\d\d\b|\b[1-4]H\b|\bH[12]\b|\b(?:early|mid|late|end of)[- ](?:19|20)\d\d\b|"
                    r"\b(?:month|quarter|year)[- ]end\b|\bend of (?:the )?(?:month|quarter|year)\b|\bon or about\b|"
                    r"\b\d{1,2}:\d\d\b|\b[ap]\.m\.|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b|"
                    r"\b(?:in|over|within) the (?:next|coming)\b|\bshortly\b|\bimmediately\b", re.I)
MONEY = re.compile(CURRENCY_AMOUNT + r"|\d[\d,.]*\s?(?:cents|dollars|euros|pounds|crores?|lakhs?|(?:USD|EUR|GBP|"
                   r"CAD|AUD|NOK|SEK|DKK|CHF|INR)\b)", re.I)
# "how much is X paying?", "what did it cost?": the amount asked for is money.
MONEY_QUESTION = re.compile(r"\b(?:pay|pays|paying|paid|cost|costs|price|priced|worth|spend|spending|spent|raise|raised|"
                            r"raising|proceeds|revenue|sales|income|profit|loss|valuation|fee|fees|salary|compensation|"
                            r"dividend|funding|financing|cash|consideration|premium)\b", re.I)
RATE_QUESTION = re.compile(r"\b(?:premium|discount|rate|ratio|yield|margin|stake|percent\w*|share of|multiple|%)", re.I)
HOW_MANY = re.compile(r"\bhow many\b", re.I)
HOW_LONG = re.compile(r"\bhow long\b|\bhow many (?:years|months|weeks|days)\b", re.I)
DURATION = re.compile(r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|forty|"
                      r"fifty|several|many)[\s-]+(?:\w+[\s-]+)?(?:years?|months?|weeks?|days?|decades?)\b", re.I)
# "who is the new CEO?", "who replaced him?": a person is asked for, so a company's name alone is a weak answer.
PERSON_QUESTION = re.compile(r"\b(?:ceo|cfo|coo|cto|chief|president|chair\w*|director|officer|executive|head|lead|run|"
                             r"running|replac\w*|succeed\w*|hire[sd]?|hiring|appoint\w*|he|she|him|her|person|manager|"
                             r"founder|board)\b", re.I)
STRONG_WHO = re.compile(r"\b[A-Z][a-z]+(?: [A-Z]\.)? [A-Z][a-z]+\b.*\b(?:Chief|CEO|CFO|COO|President|Chair(?:man|woman)?|"
                        r"Director|Officer|Head|Founder|Partner|Manager)\b|\b(?:appointed|appointment|named|hired|"
                        r"serv(?:e|es|ing|ed) as|developed by|founded by)\b")
NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve dozen hundred hundreds thousands".split())


def _counts(body: str, stems: set[str]) -> bool:
    """A number followed closely by a thing the question counts: "250 small business owners" for "how many
    small businesses"."""
    words = tx.words(body)
    for k, w in enumerate(words):
        if (w.isdigit() and not YEAR.fullmatch(w)) or w in NUMBER_WORDS:
            if any(tx.stem(v) in stems for v in words[k + 1:k + 5] if v not in tx.STOP_WORDS):
                return True
    return False


def _graded_shape(q: "Question", body: str, known: set[str]) -> float:
    """The shape of the wanted answer, graded by how specific it is: a full date over a bare year for "when",
    money for "how much is it paying", a named person over a company suffix for "who", a count of the thing
    asked about for "how many"."""
    shape = _shape_score(q.kind, body, known)
    hit = SHAPE_WEIGHT.get(q.kind, (0.1, 0.0))[0]
    if q.kind == "when" and HOW_LONG.search(q.text):
        if DURATION.search(body):
            shape = hit
    elif q.kind == "when" and shape > 0:
        shape = hit if FULL_DATE.search(body) or PERIOD.search(body) else 0.5 * hit
    elif q.kind == "who" and shape > 0 and PERSON_QUESTION.search(q.text) and not STRONG_WHO.search(body):
        shape = 0.5 * hit
    elif q.kind == "amount":
        if MONEY_QUESTION.search(q.text) and not RATE_QUESTION.search(q.text) and shape > 0 and not MONEY.search(body):
            shape = 0.5 * hit
        if HOW_MANY.search(q.text) and _counts(body, {s for c in q.concepts for alt in c.alternatives for s in alt}):
            shape = hit
    return shape


def _shape_score(kind: str, body: str, question_words: set[str] = frozenset()) -> float:
    """How much a sentence looks like an answer of the wanted kind; `body` is the sentence without its
    dateline (a dateline's date is no answer)."""
    shape = ANSWER_SHAPES.get(kind)
    if shape is None:
        return 0.0
    sentence = body
    hit, miss = SHAPE_WEIGHT.get(kind, (0.1, 0.0))
    if not shape.search(sentence) or not _new_information(kind, sentence, question_words):
        return miss
    if kind == "why" and not STRONG_REASON.search(sentence):
        return hit / 3
    return hit


# How much each feature of a sentence counts towards quoting it. Coverage is of the question's concepts, by
# the sentence, by it and the sentence before it ("window"), and by its whole passage; "rank" is its passage's
# BM25 score relative to the best. A reason or a use of proceeds rarely repeats the question's words (the
# sentence before it does), so for those questions the window and passage count for more ("reason_*").
WEIGHTS = {
    "coverage": 0.15, "window": 0.15, "rank": 0.2, "passage": 0.15,
    "reason_coverage": -0.15, "reason_window": 0.05, "reason_passage": 0.05,
    "shape": 2.0, "lead": 0.1, "reason_lead": -0.15, "price_missing": -0.1, "negation": 0.1, "table": -0.25,
    "focus_near": 0.08, "wanted_section": 0.25, "boilerplate": -0.35, "about": -0.2, "short": -0.15, "recent": 0.15,
}


class PassageScores:
    """The BM25 scores of a question's passages, computed only for the scopes that are searched: a company's
    passages alone, or (once, when a search reaches every release) all of them."""

    def __init__(self, index: Index, q: Question):
        self.index = index
        self.ids, self.weights = q.query(index)
        self._all: np.ndarray | None = None

    def of(self, releases: set[int] | None) -> tuple[np.ndarray | None, np.ndarray]:
        """(passage numbers, their scores); passage numbers None means every passage, in order."""
        if releases is None:
            if self._all is None:
                self._all = self.index.bm25.get_scores(self.ids, self.weights)
            return None, self._all
        passages = self.index.passages_of(sorted(releases))
        if self._all is not None:
            return passages, self._all[passages]
        return passages, self.index.bm25.get_batch_scores(self.ids, passages, self.weights)


def rank_sentences(index: Index, q: Question, releases: set[int] | None, scores: PassageScores) -> list[Candidate]:
    passages, local = scores.of(releases)
    section_question = q.kind in ("about", "contact") and releases is not None  # "what does Fusion do?"
    single_release = releases is not None and len(releases) == 1
    # A follow-up with nothing of its own ("why are they moving there?") reads its settled release whole, even
    # when none of the words it carries is in it: the answer's shape decides (see `confident`).
    settled = q.carried_only and single_release
    if not len(local) or (local.max() <= 0 and not section_question and not settled):
        return []
    k = len(local) if single_release or section_question else min(TOP_PASSAGES, len(local))
    top_local = top_k(local, k)
    top = top_local if passages is None else passages[top_local]
    score_of = dict(zip(top.tolist(), local[top_local].tolist()))
    best = max(score_of[int(top[0])], 1e-9)
    newest = {}
    if q.wants_recent:
        dated = sorted({int(index.passage_release[p]) for p in top if index.releases.meta[int(index.passage_release[p])].date},
                       key=lambda r: index.releases.meta[r].date, reverse=True)
        newest = {r: 1.0 - k / max(len(dated), 1) for k, r in enumerate(dated)}
    wants_kind = {"about": ABOUT, "contact": CONTACT}.get(q.kind)
    rare = min(RARE_WEIGHT, 0.6 * math.log(index.bm25.corpus_size + 1))  # in a small corpus, fewer terms are rare
    coverage_of: dict[int, float] = {}

    def release_coverage(r: int) -> float:
        if r not in coverage_of:
            coverage_of[r] = _coverage(q.concepts, release_tokens(index, r))
        return coverage_of[r]
    titles: dict[int, set[str]] = {}
    candidates = []
    for p in top:
        p = int(p)
        if score_of[p] <= 0 and not (single_release or section_question):
            continue
        first, stop = int(index.passage_first[p]), int(index.passage_stop[p])
        release_start = int(index.passage_first[index.release_first_passage[index.passage_release[p]]])
        before = max(first - 1, release_start)
        sentences = [index.sentence(i) for i in range(before, stop)]
        sent_tokens = [Bag(tx.analyze(s)) for s in sentences]
        previous_tokens = sent_tokens[0] if before < first else Bag()
        if before < first:
            sentences, sent_tokens = sentences[1:], sent_tokens[1:]
        release = int(index.passage_release[p])
        if release not in titles:
            titles[release] = Bag(tx.analyze(index.releases.meta[release].title))
        passage_tokens = Bag.of(titles[release], *sent_tokens)
        passage_cov = _coverage(q.concepts, passage_tokens)
        rank = max(score_of[p], 0.0) / best
        r = index.releases.meta[release]
        years_ok = all(passage_tokens.has((y,)) or (r.date and str(r.date.year) == y) or
                       release_tokens(index, release).has((y,)) for y in q.years)
        known = q.words | issuer_words(index, release)  # names a "who" answer must go beyond
        for j, (i, sentence, tokens) in enumerate(zip(range(first, stop), sentences, sent_tokens)):
            cov = _coverage(q.concepts, tokens)
            if i == release_start:
                cov *= LEAD_DISCOUNT  # an opening sentence names everything the release is about
            window = Bag.of(sent_tokens[j - 1] if j else previous_tokens, tokens)
            window_cov = _coverage(q.concepts, window)
            kind = int(index.sent_kind[i])
            body = DATELINE.sub("", sentence, count=1)
            shape = _graded_shape(q, body, known)
            if q.agent_of and shape > 0 and q.agent_of.search(sentence):
                shape += SHAPE_WEIGHT["who"][0]  # "who developed X?" - "X, developed by Ameresco"
            informative = _new_information(q.kind, body, q.words)
            if q.focus is None:
                has_focus = True
            else:  # the focus, in other words: the rest of the question well covered by the release
                has_focus = q.focus.found_in(passage_tokens) or q.focus.found_in(release_tokens(index, release)) \
                    or release_coverage(release) >= FOCUS_ESCAPE
            if not has_focus and q.kind in SHAPE_WEIGHT and shape >= SHAPE_WEIGHT[q.kind][0]:
                # The focus paraphrased ("strike" for "exercisable at", "room" for "availability"): the sentence
                # has the full shape of the wanted answer and, beside it, everything else the question names.
                others = [c for c in q.concepts if c is not q.focus and not c.word.isdigit()
                          and c.alternatives[0][0] not in GENERIC | FRAME | VERBS]
                if not others and single_release:  # a follow-up: what it carries is what "the buyer" is of
                    others = [c for c in q.carried if not c.word.isdigit()
                              and c.alternatives[0][0] not in GENERIC | FRAME | VERBS]
                has_focus = bool(others) and all(c.found_in(window) for c in others)
            has_focus = has_focus and years_ok and all(n.found_in(passage_tokens) for n in q.names)
            reason = q.kind in ("why", "purpose")
            f = {
                "coverage": cov, "window": window_cov, "rank": rank, "passage": passage_cov,
                "reason_coverage": cov * reason, "reason_window": window_cov * reason,
                "reason_passage": passage_cov * reason,
                "shape": shape,
                "lead": float(i == release_start), "reason_lead": float(reason and i == release_start),
                "price_missing": float(q.wants_price and not PRICE.search(sentence)),
                "negation": float(q.negated and bool(NEGATION.search(_plain(sentence)))),
                "table": float(sentence.count("|") >= 3),
                "focus_near": float(q.focus is not None and q.focus.found_in(window)),
                "wanted_section": float(wants_kind is not None and kind == wants_kind),
                "boilerplate": float(wants_kind is None and kind in (BOILERPLATE, LEGAL, CONTACT)),
                "about": float(wants_kind is None and kind == ABOUT),
                "short": float(len(tokens.stems) < 3 or heading(sentence)),
                "recent": newest.get(int(index.sent_release[i]), 0.0),
            }
            score = sum(WEIGHTS[k] * v for k, v in f.items())
            candidates.append(Candidate(
                sentence=i, score=score, coverage=cov, window_coverage=window_cov, passage_coverage=passage_cov,
                has_focus=has_focus, release=int(index.sent_release[i]), informative=informative, shape=shape,
                features=f, global_scope=releases is None,
                rare_found=any(c.weight >= rare and c.found_in(passage_tokens) for c in q.concepts),
                measure_near=q.measure is None or q.measure.found_in(window),
                carried_window=_coverage(q.carried, window) if q.carried and single_release else 0.0,
                rest_found=all(c.weight >= rare for c in q.concepts) or
                any(c.weight < rare and c.found_in(window) for c in q.concepts)))
    candidates.sort(key=lambda c: -c.score)
    return opening_or_body(index, q, candidates)


# The opening (headline block and dateline sentence) restates what a release is about, so it covers a question's
# words as well as the body sentence that answers it, or better; and the reverse. Between the two, within this
# margin of score among a release's best few, the one that names what is asked decides: the person for "who",
# the date for "when".
OPENING_AMONG = 6
OPENING_MARGIN = 0.4


def dateline_sentence(index: Index, release: int) -> int:
    """The release's dateline sentence ("CITY, Feb. 7, 2025 /PRNewswire/ -- X today announced ..."), after any
    headline block; the first sentence when none is found."""
    cache = index.__dict__.setdefault("_dateline_sentence", {})
    found = cache.get(release)
    if found is None:
        if len(cache) > 4096:
            cache.clear()
        start = int(index.passage_first[index.release_first_passage[release]])
        stop = int(index.passage_stop[index.release_stop_passage[release] - 1])
        found = start
        for i in range(start, min(stop, start + 12)):
            sentence = index.sentence(i)
            m = DATELINE.match(sentence)
            if m:  # a bare dateline line: the sentence after it is the summary
                found = i if len(sentence) - m.end() >= 40 or i + 1 >= stop else i + 1
                break
        cache[release] = found
    return found


# "Thomas Ottawa", "Matthew (Matt) Walker", "Eric R. Ball", "Katherine McCabe": a person's first and last name,
# not the end of a longer name ("Retail Opportunity Investments Corp.").
FULL_NAME = re.compile(r"(?<![\w&\-])\b([A-Z][a-z]+)(?:\s+\([A-Z][a-z]+\))?(?:\s+[A-Z]\.)?\s+"
                       r"((?:Ma?c|[DO]['’])?[A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b"
                       r"(?!\s+[A-Z&])(?!-)")
NAME_BEFORE = re.compile(r"([A-Z][\w&'’\-]*)\s+$")
# '..., said Mike McMullen, CFO': who speaks is not who is asked about.
SPEAKER = re.compile(r"[,”\"]\s*(?:said|says|added|noted|commented|stated|explained)\s+[A-Z][\w.\- ]{0,40}|"
                     r"\b[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+\s+(?:said|says|added|noted)\b")
MONTHS = frozenset("january february march april may june july august september october november december".split())
CORPORATE = frozenset("inc corp corporation llc lp ltd limited plc holdings group co company partners capital fund trust "
                      "bank".split())
HONORIFICS = frozenset("ceo cfo coo cto mr ms mrs dr".split())


def answer_elements(index: Index, q: Question, c: Candidate) -> set[str] | None:
    """What a sentence could answer with, for the question's kind: the people it names (by surname) for "who",
    its dates for "when"; never what the question, the conversation or the dateline already says. None for
    other kinds."""
    body = DATELINE.sub("", index.sentence(c.sentence), count=1)
    if q.kind == "who":
        body = SPEAKER.sub(" ", body)
        not_names = NOT_NAMES | tx.STOP_WORDS | MONTHS | CORPORATE | EXCHANGE_NAMES | q.known | \
            issuer_words(index, c.release)
        found = set()
        for m in FULL_NAME.finditer(body):
            first, last = m.group(1).lower(), m.group(2).lower()
            before = NAME_BEFORE.search(body, 0, m.start())
            if before and before.group(1).lower() not in NOT_NAMES | HONORIFICS:
                continue  # the end of a longer name: a company's, a place's
            if not {first, last} & not_names:
                found.add(last)
        return found - q.words
    if q.kind in ("when", "time"):
        if HOW_LONG.search(q.text):
            got = [m.group(0) for m in DURATION.finditer(body)] + [m.group(0) for m in FULL_DATE.finditer(body)] + \
                YEAR.findall(body)
        else:
            got = [m.group(0) for m in FULL_DATE.finditer(body)] + [m.group(0) for m in PERIOD.finditer(body)]
        return {re.sub(r"\W+", " ", g.lower()).strip() for g in got} - q.words
    return None


def opening_or_body(index: Index, q: Question, candidates: list[Candidate]) -> list[Candidate]:
    """Between the release's opening and its body, the sentence that names something asked for (a person, a
    date) that the other does not, when the other names nothing the first does not: the best candidate stays
    unless one of the other part of its release, close behind and with as much of the wanted shape, does."""
    if len(candidates) < 2 or q.kind not in ("who", "when", "time"):
        return candidates
    top = candidates[0]
    dateline = dateline_sentence(index, top.release)
    top_opens = top.sentence <= dateline
    top_names = None
    for k, c in enumerate(candidates[1:OPENING_AMONG], start=1):
        if top.score - c.score > OPENING_MARGIN:
            break
        if c.release != top.release or (c.sentence <= dateline) == top_opens or c.shape < top.shape:
            continue
        if top_names is None:
            top_names = answer_elements(index, q, top)
        names = answer_elements(index, q, c)
        if names - top_names and not top_names - names:
            return [c] + candidates[:k] + candidates[k + 1:]
    return candidates


def confident(q: Question, c: Candidate) -> bool:
    """The calibrated rule for answering rather than abstaining."""
    if not q.concepts:
        return c.score >= MIN_SCORE
    if q.carried_only:  # "why are they doing it?": the release is settled; the answer needs only the right shape
        return c.score >= MIN_SCORE and c.informative and (q.kind not in ANSWER_SHAPES or c.shape > 0)
    if (c.features or {}).get("boilerplate") and c.coverage < 0.5:
        return False  # a disclaimer, a contact block, a wire's footer: an answer only if it says what was asked itself
    if c.global_scope and not (c.rare_found and c.rest_found):
        return False  # across all companies, only something specific (a name, a rare term) picks one release,
        # and the sentence must say something else asked about: a name alone ("palantir") is no answer
    support = max(c.window_coverage, 0.5 * (c.coverage + c.passage_coverage))
    if q.kind in SHAPE_WEIGHT and c.shape >= SHAPE_WEIGHT[q.kind][0] and not (c.features or {}).get("lead"):
        # a follow-up in the release it follows ("who's the buyer?"): an answer of the full wanted shape beside
        # what the conversation was about is supported by it
        support = max(support, c.carried_window)
    if q.kind == "amount" and q.measure is not None and not c.measure_near:
        return False  # "what was X's net income?", "what will the split cost?": a number is the answer only
        # next to what it measures ("net income", "cost")
    if q.kind in ("amount", "when", "time") and not c.informative:
        return False  # "how much?" needs a number, "when?" a date, where the question's subject is
    if q.kind == "amount" and c.shape <= 0:
        return False  # ... and the shape of an amount (a number with its unit or currency), not any number, e.g. a time
    if q.kind == "why" and c.shape <= 0:
        return False  # "why?" needs a reason ("due to", "in order to", "as a condition of"): a sentence that only
        # restates what happened ("the new dividend is payable on ...") is no reason
    return c.has_focus and support >= MIN_COVERAGE and c.score >= MIN_SCORE


def _search(index: Index, q: Question, scopes: list[set[int] | None]) -> tuple[list[Candidate], bool]:
    """The candidates of the first scope that has a confident answer among its best few, that answer first."""
    scores = PassageScores(index, q)
    first: list[Candidate] = []
    for scope in scopes:
        candidates = rank_sentences(index, q, scope, scores)
        if not first:
            first = candidates
        for k, c in enumerate(candidates[:CONFIDENT_AMONG]):
            if confident(q, c):
                return [c] + candidates[:k] + candidates[k + 1:], True
    return first, False


def people_in(sentence: str) -> list[str]:
    """Surnames of the people a sentence names: what "he" or "she" in the next question refers to."""
    names = []
    for m in PERSON.finditer(sentence):
        last = next(g for g in m.groups() if g).lower()
        if last not in tx.STOP_WORDS and last not in NOT_NAMES and last not in names:
            names.append(last)
    return names[:3]


def answer(index: Index, question: str, context: Context | None = None) -> Answer:
    """Answer one question, in the context of the conversation's last answer."""
    context = context or Context()
    typed = question
    question, read_as = spelling.correct(index, question, keep=[m.span() for m in NAMED_COMPANY.finditer(question)])
    if ADVICE.search(the_question(question)):  # as read: "shuold I sell?" asks for advice too
        return Answer(question=typed, answered=False, message=ADVICE_MESSAGE, read_as=read_as, context=context)
    q = read_question(index, question)
    last = index.by_id.get(context.release_id) if context.release_id else None
    if q.releases is None and last is not None:
        # "why are they doing it?", "when does she start?": nothing, or only verbs, of its own to go on
        leans = not q.concepts or q.focus is None
        # a term may be a phrase ("special meeting"): its words, so that concepts_of finds the phrase again
        carried = concepts_of([w for t in context.terms for w in tx.words(t) if w not in tx.STOP_WORDS], index)
        for c in carried:
            c.weight *= 0.4 if not q.concepts else 0.15  # its own words, even verbs, say more than carried ones
        if PERSON_PRONOUN.search(question):  # "he", "she": the person the last answer was about
            people = concepts_of([w for w in context.people if w not in tx.STOP_WORDS], index)
            for c in people:
                c.weight *= 0.15
            carried += people
            q.known = set(context.people)
        q.carried_only = leans and bool(carried)
        own = {k.word for k in q.concepts}
        carried = [c for c in carried if c.word not in own]
        if not q.concepts:
            q.concepts = carried  # nothing of its own: what it carries is all it asks about
        else:
            q.carried = carried  # where to look, not what to quote

    if q.unknown_company and q.releases is None:
        scopes: list[set[int] | None] = []
    elif q.releases is not None:
        scopes = [q.releases]
        if last is not None and (last in q.releases or all(w in _release_words(index, last) for w in q.company_words)):
            scopes.insert(0, {last})  # the company is the last answer's, or one its release speaks of
    elif last is not None:
        scopes = [{last}, company_releases(index, last)]  # a follow-up stays with the company it follows
    elif one_company(index):
        scopes = [set(range(len(index.releases)))]
    else:
        scopes = [None]

    candidates, ok = _search(index, q, scopes) if scopes else ([], False)
    terms = [c.word for c in sorted(q.concepts, key=lambda c: -c.weight)][:5]
    if not candidates or not ok:
        related: list[int] = []
        for c in candidates:
            if c.release not in related:
                related.append(c.release)
        if q.releases and len(related) < 3:  # the company's own releases, newest first
            for r in sorted(q.releases - set(related), key=lambda r: index.releases.meta[r].date or dt.date.min,
                            reverse=True)[:3 - len(related)]:
                related.append(r)
        new_context = context
        if q.releases is not None:
            # the question switched company; its best release is what a follow-up most likely means
            likely = next((c.release for c in candidates if c.release in q.releases), None)
            anchor = likely if likely is not None else next(iter(q.releases))
            new_context = Context(release_id=index.releases.meta[anchor].id, company=index.releases.meta[anchor].company,
                                  terms=terms)
        message = NOT_FOUND
        if q.unknown_company and q.releases is None:
            message = f"I have no releases from {q.unknown_company}, so I couldn't find that in the releases."
        return Answer(question=typed, answered=False, message=message, read_as=read_as,
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
    release = index.releases.meta[r]
    return Answer(question=typed, answered=True, quote=index.sentence(best.sentence), source=cite(index, r),
                  score=round(best.score, 4), read_as=read_as, context_before=before, context_after=after,
                  alternatives=alternatives,
                  context=Context(release_id=release.id, company=release.company, terms=terms,
                                  people=people_in(index.sentence(best.sentence))))


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
