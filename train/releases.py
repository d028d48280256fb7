"""Which releases of the shared corpus training may use, and the work lists handed to question writers.

Training never covers a release reserved for evaluation (`../shared/eval/reserved_releases.txt`), a release any
of the project's question sets asks about, or a copy of one of those (the corpus holds the same release under
several ids: same title and company, or the same opening text).

    python train/releases.py --parts 7 --per-part 180 --out /tmp/irbot-train   # writes partNN/ids.txt, releases.md
"""
import argparse
import glob
import hashlib
import json
import os
import random
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
CORPUS = os.path.join(SHARED, "corpus", "releases.jsonl")
RESERVED = os.path.join(SHARED, "eval", "reserved_releases.txt")


def evaluation_sets():
    """Every question set the project measures with: the shared dev set and bench/*.jsonl."""
    return sorted(glob.glob(os.path.join(ROOT, "bench", "*.jsonl"))) + [os.path.join(SHARED, "eval", "dev.jsonl")]


def load_corpus(path=CORPUS):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _keys(release):
    """What makes two ids the same release: its title with its company, and its opening text."""
    opening = re.sub(r"\W+", " ", release["text"][:600]).lower().strip()
    title = re.sub(r"\W+", " ", "%s %s" % (release.get("company") or "", release.get("title") or "")).lower()
    return {"t:" + title.strip(), "o:" + hashlib.sha1(opening.encode()).hexdigest()}


def excluded_ids(releases, sets=None):
    """Ids training may not touch: reserved, asked about by an evaluation set, or a copy of either."""
    ids = set()
    with open(RESERVED, encoding="utf-8") as f:
        ids |= {line.strip() for line in f if line.strip() and not line.startswith("#")}
    for path in sets if sets is not None else evaluation_sets():
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    ids |= {t["gold_release"] for t in json.loads(line)["turns"] if t.get("gold_release")}
    keys = set().union(*(_keys(r) for r in releases if r["id"] in ids))
    return ids | {r["id"] for r in releases if _keys(r) & keys}


def eligible(releases):
    """The releases training may use, one id per distinct release, in corpus order."""
    banned, seen, out = excluded_ids(releases), set(), []
    for r in releases:
        k = _keys(r)
        if r["id"] in banned or k & seen or len(r["text"]) < 400:
            continue
        seen |= k
        out.append(r)
    return out


def render(release, limit=9000):
    """A release as a question writer reads it: its metadata, then its text (long ones cut)."""
    text = release["text"] if len(release["text"]) <= limit else release["text"][:limit] + "\n[... cut ...]"
    head = " | ".join("%s: %s" % (k, release.get(k)) for k in ("id", "company", "ticker", "date", "title"))
    return "=" * 100 + "\n" + head + "\n" + "=" * 100 + "\n" + text + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, default=7)
    ap.add_argument("--per-part", type=int, default=180)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not os.path.exists(CORPUS):
        sys.exit("no shared corpus at %s" % CORPUS)
    pool = eligible(load_corpus())
    random.Random(args.seed).shuffle(pool)
    print("%d releases eligible for training" % len(pool))
    for p in range(args.parts):
        part = pool[p * args.per_part:(p + 1) * args.per_part]
        d = os.path.join(args.out, "part%02d" % (p + 1))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "ids.txt"), "w") as f:
            f.write("".join(r["id"] + "\n" for r in part))
        with open(os.path.join(d, "releases.md"), "w") as f:
            f.write("".join(render(r) for r in part))
        print(d, len(part))


if __name__ == "__main__":
    main()
