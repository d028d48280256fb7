"""What the bot would choose among, for every turn of a question file: the training examples of the reader and the
ranker.

For each turn, the question is read in its conversation as the bot reads it (bot.answer.read_in_context, the
context being what a right answer to the previous turn leaves), the rules shortlist sentences
(bot.answer.shortlist), and each is written with its rule features, whether it holds a gold span, and, as the bot
quotes a list's lead-in with its items, those items and whether the whole quote holds one. Gold
sentences the shortlist missed are written too (the reader learns from them; the ranker never sees them).

    python train/candidates.py train/questions/*.jsonl --out /tmp/irbot-train/candidates.jsonl
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bot import spelling  # noqa: E402
from bot.answer import NAMED_COMPANY, asked, confident, people_in, read_in_context, shortlist, whole_quote  # noqa: E402
from bot.cli import load  # noqa: E402
from bot.conversation import Context  # noqa: E402
from bot.ranker import pair_text, rule_features  # noqa: E402
from check import norm  # noqa: E402
from releases import CORPUS  # noqa: E402


def holds(sentence: str, spans: list[str]) -> bool:
    s = norm(sentence)
    return any(norm(g) in s for g in spans)


def row_of(index, q, c, spans) -> dict:
    """A candidate: what the reader reads of it ("b", and "more": its list's items, which its quote shows too),
    the rules' features, whether the sentence holds a gold span ("label", what the reader learns) and whether
    its quote does ("quote_label", what the ranker learns)."""
    quote, last = whole_quote(index, c.sentence)
    return {"b": pair_text(index, c.release, c.sentence),
            "more": [pair_text(index, c.release, i) for i in range(c.sentence + 1, last + 1)],
            "f": rule_features(q, c, confident), "label": int(bool(spans) and holds(index.sentence(c.sentence), spans)),
            "quote_label": int(bool(spans) and holds(quote, spans))}


def turns_of(index, conv):
    """Each turn's question as read, and the candidates the bot would weigh, with their labels."""
    context = Context()
    for n, t in enumerate(conv["turns"]):
        question, _ = spelling.correct(index, t["q"], keep=[m.span() for m in NAMED_COMPANY.finditer(t["q"])])
        q, scopes = read_in_context(index, question, context)
        candidates = shortlist(index, q, scopes) if scopes else []
        spans = t.get("gold_spans") or []
        rows = [row_of(index, q, c, spans) for c in candidates]
        gold = index.by_id.get(t.get("gold_release")) if t.get("answerable") else None
        missed, gold_sentence = [], None
        if gold is not None:
            shown = {c.sentence for c in candidates}
            for i in index.release_sentences(gold):
                if holds(index.sentence(i), spans):
                    gold_sentence = gold_sentence if gold_sentence is not None else i
                    if i not in shown:
                        missed.append(pair_text(index, gold, i))
        yield {"conv": conv["id"], "turn": n, "answerable": bool(t.get("answerable")), "a": asked(q, context),
               "cands": rows, "missed": missed, "kind": conv.get("kind")}
        terms = [c.word for c in sorted(q.concepts, key=lambda c: -c.weight)][:5]
        if gold is not None and gold_sentence is not None:   # what a right answer leaves for the next turn
            meta = index.releases.meta[gold]
            context = Context(release_id=meta.id, company=meta.company, terms=terms,
                              people=people_in(index.sentence(gold_sentence)), question=asked(q, context))
        elif q.releases:
            anchor = next(iter(q.releases))
            meta = index.releases.meta[anchor]
            context = Context(release_id=meta.id, company=meta.company, terms=terms, question=asked(q, context))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--corpus", default=CORPUS)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    index = load(args.corpus).index
    started, count = time.time(), 0
    with open(args.out, "w", encoding="utf-8") as out:
        for path in args.files:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        for row in turns_of(index, json.loads(line)):
                            out.write(json.dumps(row, ensure_ascii=False) + "\n")
                            count += 1
                            if count % 500 == 0:
                                print(f"{count} turns, {time.time() - started:.0f} s", file=sys.stderr)
    print(f"{count} turns written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
