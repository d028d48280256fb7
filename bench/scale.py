#!/usr/bin/env python3
"""irbot at scale: build, load and answer on a synthetic corpus of N passages, beside rank-bm25.

    python bench/scale.py --passages 1000000

The corpus is made from the sentences of ../shared/corpus/releases.jsonl, recombined into new releases of
many distinct synthetic companies (seeded: the same arguments give the same corpus). The script then, each
step in a fresh process so that its memory is its own:
  1. builds the index from nothing (every release split) into an empty cache, with a progress bar;
  2. adds one release to the corpus and rebuilds (the previous index's releases are taken over unsplit);
  3. loads the saved index, asks a few hundred realistic questions through irbot's full answer path
     (bot.answer.answer) and through the BM25 search alone, then builds rank-bm25's BM25Okapi on the same
     passages and times its get_scores on the same questions (a sample where it is too slow), checking that
     the scores agree.
and prints one table. All numbers of a table come from one run. Without ../shared it says so and exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("IRBOT_SHARED") or ROOT.parent / "shared")
SOURCE = SHARED / "corpus" / "releases.jsonl"
DEV = SHARED / "eval" / "dev.jsonl"
CALIBRATION = 1000           # releases split exactly to learn how many characters a synthetic passage holds

sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    """Peak resident memory of this process and (separately) of its largest finished child, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return max(own, children)


def percentile(values: list[float], q: float) -> float:
    import numpy as np
    return float(np.percentile(values, q)) if values else float("nan")


# --- the synthetic corpus ----------------------------------------------------------------------------------

SYLLABLES = ("ar ba cor den el fal gra hal ion jas kel lum mar nor ost pel quin ros sol tar ul ven wes xan yor "
             "zen bri cal dor fen gal hem ir kor lan mer nev ol pra rid sen tov ur vil wyn").split()
SECTORS = ("Lithium Minerals Biotherapeutics Robotics Energy Pharmaceuticals Semiconductor Foods Logistics Gold "
           "Uranium Software Medical Aerospace Water Solar Capital Networks Diagnostics Materials Bancorp "
           "Hydrogen Therapeutics Copper Silver Cannabis Shipping Realty Batteries Analytics").split()
LEGAL = ["Inc.", "Corp.", "Ltd.", "Holdings Inc.", "plc", "Corporation", "Group Ltd."]
EXCHANGES = ["NASDAQ", "NYSE", "NYSE American", "TSX", "TSXV", "CSE", "OTCQB", "ASX"]
WIRES = ["/PRNewswire/", "/GLOBE NEWSWIRE/", "(BUSINESS WIRE)", "/CNW/", "(ACCESSWIRE)"]
CITIES = ["NEW YORK", "VANCOUVER, BC", "TORONTO", "HOUSTON", "SAN DIEGO", "BOSTON", "PERTH, Australia",
          "LONDON", "DENVER", "AUSTIN, Texas"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
ACTIONS = ["Announces Reverse Stock Split", "Reports First Quarter Results", "Declares Quarterly Dividend",
           "Appoints New Chief Executive Officer", "Announces Delisting From", "Closes Private Placement",
           "Provides Corporate Update", "Completes Acquisition", "Announces Share Repurchase Program",
           "Receives Nasdaq Deficiency Notice", "Prices Public Offering", "Reports Drilling Results"]


def companies(rng: random.Random, n: int) -> list[dict]:
    out, names, tickers = [], set(), set()
    while len(out) < n:
        stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))).capitalize()
        name = f"{stem} {rng.choice(SECTORS)}"
        ticker = (stem[:2] + rng.choice(SECTORS)[0] + rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")).upper()[:rng.choice((3, 4, 4))]
        if name in names or ticker in tickers:
            continue
        names.add(name)
        tickers.add(ticker)
        out.append({"name": name, "legal": f"{name} {rng.choice(LEGAL)}", "ticker": ticker,
                    "exchange": rng.choice(EXCHANGES)})
    return out


def sentence_pool() -> list[str]:
    """Sentences of the shared corpus (a quick split: recombining them only needs plausible sentences)."""
    pool = []
    split = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"(])")
    with open(SOURCE, encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            for paragraph in re.split(r"\n\s*\n", text):
                for s in split.split(paragraph.strip()):
                    s = " ".join(s.split())
                    if 30 <= len(s) <= 400:
                        pool.append(s)
    return pool


def synthetic_release(rng: random.Random, k: int, company: dict, pool: list[str]) -> tuple[dict, int]:
    year, month, day = rng.randint(2015, 2025), rng.randint(1, 12), rng.randint(1, 28)
    action = rng.choice(ACTIONS)
    title = f"{company['name']} {action}"
    lead = (f"{rng.choice(CITIES)}, {MONTHS[month - 1]} {day}, {year} {rng.choice(WIRES)} -- {company['legal']} "
            f"({company['exchange']}: {company['ticker']}) (\"{company['name']}\" or the \"Company\") today announced "
            f"that it {action.split(' ', 1)[1].lower()}.")
    paragraphs = [title, lead]
    for _ in range(rng.randint(3, 14)):
        paragraphs.append(" ".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
    paragraphs.append(f"About {company['name']}")
    paragraphs.append(f"{company['legal']} is a {company['name'].split()[-1].lower()} company listed on the "
                      f"{company['exchange']} under the symbol {company['ticker']}. " + rng.choice(pool))
    text = "\n\n".join(paragraphs)
    record = {"id": f"syn-{k:07d}", "title": title, "company": company["legal"], "ticker": company["ticker"],
              "exchange": company["exchange"], "date": f"{year}-{month:02d}-{day:02d}", "publisher": "Synthetic Wire",
              "source_url": f"https://example.com/releases/{k}", "text": text}
    return record, len(text)


def make_corpus(path: Path, passages: int, seed: int) -> dict:
    """Releases until they hold about `passages` passages as irbot splits them: the first CALIBRATION are split
    and counted, the rest are counted at those releases' characters per passage (within about 1%)."""
    from bot.index import split_release
    rng = random.Random(seed)
    pool = sentence_pool()
    n_companies = max(20, passages // 150)
    firms = companies(rng, n_companies)
    made, chars, k = 0.0, 0, 0
    counted_chars = counted_passages = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        while made < passages:
            record, n = synthetic_release(rng, k, rng.choice(firms), pool)
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            if k < CALIBRATION:
                split = len(split_release(record["text"]).passages)
                counted_chars, counted_passages, made = counted_chars + n, counted_passages + split, made + split
            else:
                made += n * counted_passages / counted_chars
            chars += n
            k += 1
    os.replace(tmp, path)
    meta = {"releases": k, "companies": n_companies, "characters": chars, "seed": seed, "pool": len(pool),
            "sized": "by passages"}
    Path(str(path) + ".meta.json").write_text(json.dumps(meta))
    return meta


def questions(rng: random.Random, corpus: Path, n: int) -> list[str]:
    """Half name a company of the corpus (answered within its releases), half name none (the whole corpus)."""
    firms = []
    with open(corpus, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 97 == 0:
                r = json.loads(line)
                firms.append((r["company"].rsplit(" ", 1)[0] if " " in r["company"] else r["company"], r["ticker"]))
    named = ["why is {name} doing a reverse split?", "when does the {ticker} reverse split take effect?",
             "how much revenue did {name} report?", "who is the new CEO of {name}?",
             "what dividend did {name} declare?", "why is {ticker} delisting?", "where is {name} listed?",
             "how much did {name} raise in the private placement?", "what did {name} acquire?",
             "when will {name} pay the dividend?", "what were {ticker}'s drilling results?",
             "how many shares will {name} buy back?"]
    general = ["why is the company delisting from the exchange?", "when does the reverse split take effect?",
               "how much revenue was reported in the first quarter?", "who was appointed chief executive officer?",
               "what is the dividend per share?", "how much gold was produced?", "what are the proceeds used for?",
               "when will the acquisition close?", "why did the shares fall?", "what is the exercise price of the warrants?"]
    if DEV.exists():
        for line in open(DEV, encoding="utf-8"):
            general += [t["q"] for t in json.loads(line)["turns"]][:1]
    out = []
    for i in range(n):
        if i % 2 == 0:
            name, ticker = rng.choice(firms)
            out.append(rng.choice(named).format(name=name, ticker=ticker))
        else:
            out.append(rng.choice(general))
    return out


# --- the steps, each run in its own process ---------------------------------------------------------------

def step_build(args) -> dict:
    from bot.index import open_index
    started = time.perf_counter()
    loaded = open_index(args.corpus, args.cache, progress=True)
    seconds = time.perf_counter() - started
    stats = loaded.index.stats()
    return {"seconds": seconds, "build_seconds": loaded.index.build_seconds, "reused": loaded.index.reused,
            "from_cache": loaded.from_cache, "peak_mb": peak_rss_mb(), "stats": stats,
            "size_mb": sum(p.stat().st_size for p in Path(args.cache).glob("index-*.idx")) / 2**20}


def step_serve(args) -> dict:
    import numpy as np
    from rank_bm25 import BM25Okapi

    from bot import text as tx
    from bot.answer import answer, read_question
    from bot.index import open_index
    from bot.reader import shipped_reader

    reader = shipped_reader()  # the answer as the bot gives it: with the trained reader when it ships
    started = time.perf_counter()
    loaded = open_index(args.corpus, args.cache)
    load_seconds = time.perf_counter() - started
    assert loaded.from_cache, "the serve step expects the saved index"
    index = loaded.index
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    asked = questions(random.Random(args.seed + 1), Path(args.corpus), args.questions)

    answer_ms, search_ms, plain_ms, answered = [], [], [], 0
    for q in asked[:5]:  # warm-up: first touches of the memory-mapped arrays, stemmer caches
        answer(index, q, None, reader)
    for q in asked:
        t = time.perf_counter()
        a = answer(index, q, None, reader)
        answer_ms.append((time.perf_counter() - t) * 1e3)
        answered += a.answered
        if a.answered:
            r = index.releases[index.by_id[a.source.id]]
            assert a.quote in r.text  # verbatim, at scale too
    for q in asked:
        ids, weights = read_question(index, q).query(index)
        t = time.perf_counter()
        index.bm25.search(ids, weights, k=12)
        search_ms.append((time.perf_counter() - t) * 1e3)
    plain = [tx.analyze(q) for q in asked]
    for tokens in plain:
        t = time.perf_counter()
        index.bm25.get_scores(index.term_ids(tokens))
        plain_ms.append((time.perf_counter() - t) * 1e3)
    serve_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # rank-bm25 on the same passages: each passage's tokens (its terms, each as often as it occurs).
    t = time.perf_counter()
    words = [""] * len(index.vocabulary)
    for w, i in index.vocabulary.items():
        words[i] = w
    words_a = np.array(words, dtype=object)
    indptr, terms, counts = index.doc_indptr, index.doc_terms, index.doc_counts
    documents = [list(np.repeat(words_a[terms[indptr[p]:indptr[p + 1]]], counts[indptr[p]:indptr[p + 1]]))
                 for p in range(len(indptr) - 1)]
    reference = BM25Okapi(documents)
    del documents
    reference_build = time.perf_counter() - t
    sample = list(range(len(asked)))
    random.Random(args.seed + 2).shuffle(sample)
    sample = sorted(sample[:args.reference_sample])
    reference_ms, ours_ms, worst = [], [], 0.0
    for i in sample:
        tokens = plain[i]
        t = time.perf_counter()
        expected = reference.get_scores(tokens)
        reference_ms.append((time.perf_counter() - t) * 1e3)
        ours_ms.append(plain_ms[i])
        got = index.bm25.get_scores(index.term_ids(tokens))
        worst = max(worst, float(np.max(np.abs(got - expected), initial=0.0)))
    return {"load_seconds": load_seconds, "rss_loaded_mb": rss_loaded, "serve_peak_mb": serve_peak,
            "questions": len(asked), "answered": answered,
            "answer_p50": percentile(answer_ms, 50), "answer_p95": percentile(answer_ms, 95),
            "search_p50": percentile(search_ms, 50), "search_p95": percentile(search_ms, 95),
            "plain_p50": percentile(plain_ms, 50), "plain_p95": percentile(plain_ms, 95),
            "sample": len(sample), "sample_ours_p50": percentile(ours_ms, 50), "sample_ours_p95": percentile(ours_ms, 95),
            "reference_p50": percentile(reference_ms, 50), "reference_p95": percentile(reference_ms, 95),
            "reference_build_seconds": reference_build, "parity": worst,
            "reference_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_step(step: str, args, corpus: Path, cache: Path) -> dict:
    cmd = [sys.executable, __file__, "--step", step, "--corpus", str(corpus), "--cache", str(cache),
           "--seed", str(args.seed), "--questions", str(args.questions), "--reference-sample", str(args.reference_sample)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_ms(x: float) -> str:
    return f"{x:.2f} ms" if x < 100 else f"{x:.0f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--reference-sample", type=int, default=None,
                    help="questions timed on rank-bm25 (default: all at 10k passages, fewer as it gets slower)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", default=os.environ.get("IRBOT_BENCH_DIR") or str(Path(tempfile.gettempdir()) / "irbot-bench"),
                    help="where the synthetic corpus (kept for the next run) and the index go")
    ap.add_argument("--keep", action="store_true", help="keep the index (and the grown corpus) in --workdir")
    ap.add_argument("--step", choices=["build", "serve"], help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        result = step_build(args) if args.step == "build" else step_serve(args)
        print(json.dumps(result))
        return 0
    if not SOURCE.exists():
        print(f"skipped: {SOURCE} is absent (the benchmark builds its corpus from the shared releases)")
        return 0
    if args.reference_sample is None:
        args.reference_sample = max(10, min(args.questions, int(3e6 / args.passages)))

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / f"corpus-{args.passages}-seed{args.seed}.jsonl"
    meta_file = Path(str(corpus) + ".meta.json")
    if not corpus.exists() or not meta_file.exists() or json.loads(meta_file.read_text()).get("sized") != "by passages":
        t = time.perf_counter()
        print(f"making a synthetic corpus of ~{args.passages:,} passages in {corpus} ...", file=sys.stderr)
        make_corpus(corpus, args.passages, args.seed)
        print(f"  done in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    meta = json.loads(meta_file.read_text())
    cache = work / f"cache-{args.passages}-seed{args.seed}"
    shutil.rmtree(cache, ignore_errors=True)

    live = work / f"live-{args.passages}-seed{args.seed}.jsonl"   # a copy the benchmark may grow
    shutil.copy(corpus, live)
    print("1/3 building the index from nothing ...", file=sys.stderr)
    cold = run_step("build", args, live, cache)
    rng = random.Random(args.seed + 3)
    record, _ = synthetic_release(rng, 9_999_999, companies(rng, 1)[0], sentence_pool()[:2000])
    with open(live, "a", encoding="utf-8") as f:                  # one release arrives
        f.write(json.dumps(record) + "\n")
    time.sleep(3.5)  # files older than a few seconds need no re-reading at the next start (index.settled)
    print("2/3 rebuilding after one release was added ...", file=sys.stderr)
    incremental = run_step("build", args, live, cache)
    print("3/3 loading, asking, and the same with rank-bm25 ...", file=sys.stderr)
    serve = run_step("serve", args, live, cache)

    s = cold["stats"]
    rows = [
        ("corpus", f"{s['releases']:,} releases, {s['passages']:,} passages, {s['sentences']:,} sentences, "
                   f"{meta['companies']:,} companies, vocabulary {s['vocabulary']:,} (seed {args.seed})"),
        ("build, from nothing", f"{cold['seconds']:.1f} s (index {cold['build_seconds']:.1f} s of it), "
                                f"peak RSS {cold['peak_mb']:.0f} MiB"),
        ("rebuild, 1 release added", f"{incremental['seconds']:.1f} s ({incremental['reused']:,} releases reused), "
                                     f"peak RSS {incremental['peak_mb']:.0f} MiB"),
        ("index on disk", f"{incremental['size_mb']:.0f} MiB"),
        ("load saved index (restart)", f"{serve['load_seconds']:.2f} s, RSS after load {serve['rss_loaded_mb']:.0f} MiB, "
                             f"peak while answering {serve['serve_peak_mb']:.0f} MiB"),
        ("answer (bot.answer.answer)", f"p50 {fmt_ms(serve['answer_p50'])}, p95 {fmt_ms(serve['answer_p95'])} "
                                       f"over {serve['questions']} questions ({serve['answered']} answered)"),
        ("BM25 search (answer's query, top 12)", f"p50 {fmt_ms(serve['search_p50'])}, p95 {fmt_ms(serve['search_p95'])}"),
        ("irbot get_scores, question stems", f"p50 {fmt_ms(serve['plain_p50'])}, p95 {fmt_ms(serve['plain_p95'])}"),
        (f"rank-bm25 get_scores, same ({serve['sample']} sampled)",
         f"p50 {fmt_ms(serve['reference_p50'])}, p95 {fmt_ms(serve['reference_p95'])}; irbot on the same sample "
         f"p50 {fmt_ms(serve['sample_ours_p50'])}: {serve['reference_p50'] / max(serve['sample_ours_p50'], 1e-9):.0f}x faster"),
        ("rank-bm25 build / peak RSS", f"{serve['reference_build_seconds']:.1f} s / {serve['reference_peak_mb']:.0f} MiB "
                                       f"(irbot: {cold['build_seconds']:.0f} s / {max(cold['peak_mb'], serve['serve_peak_mb']):.0f} MiB)"),
        ("ranking parity", f"max |irbot - rank-bm25| = {serve['parity']:.1e} over {serve['sample']} queries x "
                           f"{s['passages']:,} passages"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"\nirbot at {args.passages:,} passages ({os.cpu_count()} cores, python {sys.version.split()[0]})")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    if not args.keep:
        live.unlink(missing_ok=True)
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
