"""What the rules know of investors' words: the kinds of question, the shapes of their answers, synonyms, and the
patterns that tell a dateline, a person, a price or a named company. Data more than code, hence its length."""
from __future__ import annotations

import re

from .. import text as tx
from ..companies import ABBREVIATED, EXCHANGES, NAMED_COMPANY, company_key  # (NAMED_COMPANY: question.py takes it from here)


QUESTION_KINDS = [
    ("about", re.compile(r"^\s*what (?:does|do) .{2,60} do\??\s*$|^\s*(?:what|who) (?:is|are) [^ ?]+(?: [^ ?]+)?\s*\??\s*$|"
                         r"\bwhat (?:kind of |type of )?(?:business|company) is\b", re.I)),
    ("contact", re.compile(r"\b(?:contact|reach|ir (?:person|email|phone)|phone number|e-?mail)\b", re.I)),
    ("purpose", re.compile(r"\b(?:use|using|spend|spending|used|earmark\w*)\b.*\b(?:for|on)\b|\bproceeds\b.*\bfor\b|"
                           r"\b(?:do|doing|done)(?: \w+)? with (?:the |that |this |its |their )?(?:money|proceeds|funds|cash|capital)\b|"
                           r"\bwhere(?:'s| is| are| will| does| do)? (?:the |that |this |its |their )?(?:money|proceeds|funds|cash|capital)\b.*\bgo|"
                           r"\bwhat(?:'s| is| are)\b.* for\??$", re.I)),
    ("time", re.compile(r"\bwhat time\b|\bat what time\b", re.I)),
    ("composition", re.compile(r"\bhow (?:is|are|was|were|will)\b.*\b(?:split(?:ting)?|divid(?:ed|ing)|broken down|breaking down|structured|made up|set up)\b|"
                               r"\bwhat (?:does|do|did) .* (?:consist|comprise|include)\b|\bbreakdown\b", re.I)),
    ("why", re.compile(r"\bwhy\b|\bhow come\b|\breasons?\b|\bwhat (?:caused|triggered|led to|prompted|drove|is behind)\b", re.I)),
    ("when", re.compile(r"\bwhen\b|\bwhat (?:date|time|day)\b|\bwhich (?:date|day)\b|\bhow soon\b|\bdeadline\b|"
                        r"\bdate\b|\btimeline\b|\bhow long\b|\btake effect\b", re.I)),
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
    "ceo | chief executive officer | chief executive | interim ceo",
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
    "people | participants | patients | subjects | enrolled",
    "produce | generate | mine | output",
    "ship | deliver | delivery | shipment",
    "jv | joint venture",
    "merge | merger | merging | business combination | combine | combination",
    "capex | capital expenditures | capital expenditure | capital budget | capital spending | capital program",
    "spac | special purpose acquisition company | blank check company",
    "getting | receive | received | receiving | obtain",
    "max | maximum | ceiling | cap | capped",
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
BY_STEM: dict[str, list[list[tuple[str, ...]]]] = {}
BY_PHRASE: dict[tuple[str, ...], list[list[tuple[str, ...]]]] = {}
for _group in SYNONYM_GROUPS:
    for _alt in _group:
        (BY_STEM.setdefault(_alt[0], []) if len(_alt) == 1 else BY_PHRASE.setdefault(_alt, [])).append(_group)

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
EXCHANGE_NAMES = frozenset(company_key(m) for m in re.sub(r"\(\?:|\\s\+|\\s\*|[()?\[\]]", " ", EXCHANGES).split("|")
                           if company_key(m)) | {"nasdaq", "nyse", "otc", "otc markets", "tsx", "tsxv", "cse", "asx"}
