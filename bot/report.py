"""What investors asked that the releases did not answer, and the answers they marked 👎: `irbot report` (and
`/report` in Telegram), grouped by company, most asked first. It is what an IR team reads to learn what its
investors want to know and its releases do not say."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field

from .companies import company_key

NO_COMPANY = "(no company named)"


@dataclass
class CompanyReport:
    company: str
    unanswered: list[dict] = field(default_factory=list)   # {"question", "count", "last"}, most asked first
    disliked: list[dict] = field(default_factory=list)     # {"question", "quote", "release_id", "count", "last"}

    @property
    def total(self) -> int:
        return sum(u["count"] for u in self.unanswered) + sum(d["count"] for d in self.disliked)


def _same(question: str) -> str:
    """Questions that differ only in case, spacing or end punctuation count as one."""
    return re.sub(r"\s+", " ", question).strip().rstrip("?!. ").lower()


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def build(unanswered: list[tuple], disliked: list[tuple]) -> list[CompanyReport]:
    """The store's rows (SQLiteStore.feedback_since) grouped: by company (however its name was spelled, shown
    as most often spelled), then by question, counted."""
    groups: dict[str, CompanyReport] = {}
    counts, shown, last = Counter(), {}, {}
    spellings: dict[str, Counter] = {}

    def company_of(name: str | None) -> str:
        key = company_key(name) if name else ""
        if not key:
            return NO_COMPANY
        spellings.setdefault(key, Counter())[name.strip()] += 1
        return key
    rows = [(company_of(c), "u", q, None, when) for q, c, when in unanswered]
    rows += [(company_of(c), "d", q, (rid, quote), when) for q, c, rid, quote, when in disliked]
    for company, kind, question, answer, when in rows:
        key = (company, kind, _same(question), answer)
        counts[key] += 1
        shown.setdefault(key, question.strip())
        last[key] = max(last.get(key, 0.0), when)
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], -last[kv[0]])):
        company, kind, _, answer = key
        name = spellings[company].most_common(1)[0][0] if company in spellings else NO_COMPANY
        report = groups.setdefault(company, CompanyReport(name))
        if kind == "u":
            report.unanswered.append({"question": shown[key], "count": n, "last": _when(last[key])})
        else:
            report.disliked.append({"question": shown[key], "quote": answer[1], "release_id": answer[0], "count": n,
                                    "last": _when(last[key])})
    return sorted(groups.values(), key=lambda r: (-r.total, r.company == NO_COMPANY, r.company))


def as_text(reports: list[CompanyReport], since: dt.date) -> str:
    if not reports:
        return f"Since {since}: no question went unanswered and no answer was marked 👎."
    lines = [f"Since {since}: questions the releases did not answer, and answers marked 👎, most asked first."]
    for r in reports:
        parts = [f"{sum(u['count'] for u in r.unanswered)} unanswered"] if r.unanswered else []
        parts += [f"{sum(d['count'] for d in r.disliked)} marked 👎"] if r.disliked else []
        lines += ["", f"{r.company}: {', '.join(parts)}"]
        lines += [f"  {u['count']}× {u['question']}" for u in r.unanswered]
        lines += [f"  👎 {d['count']}× {d['question']} → “{_clip(d['quote'])}” ({d['release_id']})" for d in r.disliked]
    return "\n".join(lines)


def _clip(text: str | None, chars: int = 100) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + "…"


def as_json(reports: list[CompanyReport], since: dt.date) -> str:
    return json.dumps({"since": since.isoformat(), "companies": [asdict(r) for r in reports]}, ensure_ascii=False,
                      indent=2)


def as_csv(reports: list[CompanyReport]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["company", "kind", "question", "count", "last", "release_id", "quote"])
    for r in reports:
        for u in r.unanswered:
            w.writerow([r.company, "unanswered", u["question"], u["count"], u["last"], "", ""])
        for d in r.disliked:
            w.writerow([r.company, "disliked", d["question"], d["count"], d["last"], d["release_id"], d["quote"]])
    return out.getvalue()
