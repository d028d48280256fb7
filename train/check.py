"""Check a file of written questions before anything trains on it or measures with it.

    python train/check.py FILE.jsonl [FILE.jsonl ...] [--allow-reserved]

Each line is a conversation in the evaluation format ({"id", "kind", "turns": [{"q", "answerable",
"gold_release", "gold_spans"}]}). A line fails when it is not that shape, when a gold span is not verbatim in its
gold release (compared as the scorer compares: NFKC, straight quotes, whitespace collapsed, case folded), or when
its release is one training may not use (reserved, asked about by an evaluation set, or a copy of one); question
sets written for evaluation pass --allow-reserved. Prints what failed and a summary: conversations and turns by
kind, releases covered, and the share of answerable turns worded unlike their answer. Exits 1 if any line failed.
"""
import argparse
import collections
import json
import re
import sys
import unicodedata

from releases import excluded_ids, load_corpus

KINDS = {"fact", "followup", "disambiguation", "unanswerable"}
QMAP = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2032": "'", "\u00a0": " "})
STOP = set("""a an the of to in on for and or is are was were be been do does did what whats what's who whos
why how when where which will would can could should it its it's this that these those they them their there
with by at from as about any so did has have had i me my we our you your just now then than than up out
much many more most""".split())


def norm(s):
    s = unicodedata.normalize("NFKC", s).translate(QMAP)
    return re.sub(r"\s+", " ", s).strip().lower()


def words(s):
    return {w for w in re.findall(r"[a-z0-9]+", norm(s)) if w not in STOP and len(w) > 2}


def worded_unlike(question, spans, company):
    """True when under half the question's own words (its company's aside) appear in any gold span."""
    q = words(question) - words(company or "")
    if not q:
        return True
    return max(len(q & words(s)) for s in spans) / len(q) < 0.5


def check_line(conv, texts, banned, seen):
    errors = []
    if not isinstance(conv, dict) or not isinstance(conv.get("turns"), list) or not conv["turns"]:
        return ["not a conversation with turns"]
    if conv.get("id") in seen:
        errors.append("id %r used twice" % conv.get("id"))
    seen.add(conv.get("id"))
    if conv.get("kind") not in KINDS:
        errors.append("kind %r is none of %s" % (conv.get("kind"), sorted(KINDS)))
    for i, t in enumerate(conv["turns"]):
        where = "turn %d" % i
        if not isinstance(t.get("q"), str) or not t["q"].strip():
            errors.append(where + ": no question")
        if t.get("answerable") is False:
            if t.get("gold_release") or t.get("gold_spans"):
                errors.append(where + ": unanswerable but has a gold release or spans")
            continue
        if t.get("answerable") is not True:
            errors.append(where + ": answerable must be true or false")
            continue
        rid, spans = t.get("gold_release"), t.get("gold_spans")
        if rid not in texts:
            errors.append(where + ": release %r is not in the corpus" % rid)
            continue
        if rid in banned:
            errors.append(where + ": release %s is reserved for evaluation" % rid)
        if not isinstance(spans, list) or not spans or not all(isinstance(s, str) and s.strip() for s in spans):
            errors.append(where + ": gold_spans must be a non-empty list of strings")
            continue
        for s in spans:
            if norm(s) not in texts[rid]:
                errors.append(where + ": span not verbatim in %s: %r" % (rid, s[:120]))
            elif len(norm(s)) < 8:
                errors.append(where + ": span too short to tell sentences apart: %r" % s)
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--allow-reserved", action="store_true")
    args = ap.parse_args()
    corpus = load_corpus()
    texts = {r["id"]: norm(r["text"]) for r in corpus}
    company = {r["id"]: r.get("company") for r in corpus}
    banned = set() if args.allow_reserved else excluded_ids(corpus)
    seen, bad, kinds, turns, releases, unlike, answerable = set(), 0, collections.Counter(), 0, set(), 0, 0
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    conv = json.loads(line)
                except json.JSONDecodeError as e:
                    print("%s:%d: bad JSON (%s)" % (path, n, e))
                    bad += 1
                    continue
                errors = check_line(conv, texts, banned, seen)
                for e in errors:
                    print("%s:%d (%s): %s" % (path, n, conv.get("id") if isinstance(conv, dict) else "?", e))
                if errors:
                    bad += 1
                    continue
                kinds[conv["kind"]] += 1
                for t in conv["turns"]:
                    turns += 1
                    if t["answerable"]:
                        answerable += 1
                        releases.add(t["gold_release"])
                        unlike += worded_unlike(t["q"], t["gold_spans"], company[t["gold_release"]])
    print("%d conversations (%s), %d turns, %d answerable over %d releases; %d lines failed"
          % (sum(kinds.values()), ", ".join("%s %d" % kv for kv in sorted(kinds.items())), turns, answerable,
             len(releases), bad))
    if answerable:
        print("worded unlike their answer: %.0f%% of answerable turns" % (100.0 * unlike / answerable))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
