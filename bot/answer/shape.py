"""Whether a sentence has the shape of the wanted answer: a date for "when", a person for "who", an amount with
its unit for "how much", a reason for "why"; and whether it says something the question did not."""
from __future__ import annotations

import re

from .. import text as tx
from .question import Question
from .vocabulary import ANSWER_SHAPES, CURRENCY_AMOUNT, MONTH, SHAPE_WEIGHT, STRONG_REASON, YEAR


NAME = re.compile(r"\b[A-Z][\w&'’.\-]*(?:\s+(?:[A-Z][\w&'’.\-]*|&|of|de|and))*")
NUMBER = re.compile(r"\d[\d.,]*")
DATE = re.compile(r"\b" + MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+(?:19|20)\d\d)?|\b\d{1,2}\s+" + MONTH +
                  r"(?:,?\s+(?:19|20)\d\d)?|\b(?:19|20)\d\d\b")
MULTIPLE = re.compile(r"\b(?:double|triple|quadruple|halve)[ds]?\b|\btwice\b", re.I)
NUMBER_WORD = re.compile(r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b(?=[^.]{0,40}\b"
                         r"(?:shares?|units?|for every|percent|million|billion)\b)", re.I)


def new_information(kind: str, sentence: str, question_words: set[str]) -> bool:
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


def graded_shape(q: "Question", body: str, known: set[str]) -> float:
    """The shape of the wanted answer, graded by how specific it is: a full date over a bare year for "when",
    money for "how much is it paying", a named person over a company suffix for "who", a count of the thing
    asked about for "how many"."""
    shape = shape_score(q.kind, body, known)
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


def shape_score(kind: str, body: str, question_words: set[str] = frozenset()) -> float:
    """How much a sentence looks like an answer of the wanted kind; `body` is the sentence without its
    dateline (a dateline's date is no answer)."""
    shape = ANSWER_SHAPES.get(kind)
    if shape is None:
        return 0.0
    sentence = body
    hit, miss = SHAPE_WEIGHT.get(kind, (0.1, 0.0))
    if not shape.search(sentence) or not new_information(kind, sentence, question_words):
        return miss
    if kind == "why" and not STRONG_REASON.search(sentence):
        return hit / 3
    return hit
