#!/usr/bin/env python3
"""Time and memory of finding a hit's passages, in a huge article and in ordinary ones.

    python bench/passages.py [CORPUS_DIR] [--huge-mb 7.4]

The huge article is made of the corpus's paragraphs, repeated up to --huge-mb megabytes of
text (issue 11: a 7.4 MB article took 2-4 s and 134 MB per query when every word was analysed).
The ordinary articles are the corpus's first 2,000 files.  Each is searched for a few query
shapes: a rare word, two common stems, a very common word, a word it lacks, five words.
Prints seconds (untraced) and peak traced memory (tracemalloc, a second run) per shape.
"""

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archsearch.formats import UnreadableFile, read_article  # noqa: E402
from archsearch.passages import WordMatcher, indexed_form, passages  # noqa: E402

QUERIES = {
    "rare word": ["Taliban"],
    "two stems": ["president", "election"],
    "very common": ["the"],
    "absent": ["zzyzx"],
    "five words": ["Afghanistan", "Kabul", "Taliban", "elections", "presidential"],
}


def measure(bodies: list[str], words: list[str]) -> tuple[float, float]:
    terms = WordMatcher(frozenset(indexed_form(word, "en") for word in words), language="en")
    passages(bodies[0], terms)  # compiled expressions and caches warm, as in a running server
    started = time.perf_counter()
    for body in bodies:
        passages(body, terms)
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # apart: tracing slows every allocation
    for body in bodies:
        passages(body, terms)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", default=str(Path(__file__).parent / "corpora" / "4k"))
    parser.add_argument("--huge-mb", type=float, default=7.4)
    options = parser.parse_args()
    bodies = []
    for path in sorted(Path(options.corpus).rglob("*.txt"))[:2000]:
        try:
            bodies.append(read_article(path).body)
        except UnreadableFile:
            continue
    if not bodies:
        sys.exit(f"no articles under {options.corpus}: make one with bench/make_corpus.py")
    paragraphs = [paragraph for body in bodies for paragraph in body.split("\n\n") if len(paragraph) > 100]
    rng = random.Random(11)
    huge, size = [], 0
    while size < options.huge_mb * 1e6:
        huge.append(rng.choice(paragraphs))
        size += len(huge[-1]) + 2
    huge_body = "\n\n".join(huge)
    print(f"huge article: {len(huge_body) / 1e6:.1f} M characters; ordinary: {len(bodies)} articles")
    print(f"{'query':<12} {'huge s':>8} {'huge MiB':>9} {'ordinary ms/article':>20} {'MiB':>6}")
    for name, words in QUERIES.items():
        huge_time, huge_peak = measure([huge_body], words)
        ordinary_time, ordinary_peak = measure(bodies, words)
        print(
            f"{name:<12} {huge_time:8.3f} {huge_peak:9.1f} {ordinary_time / len(bodies) * 1000:20.3f}"
            f" {ordinary_peak:6.1f}"
        )


if __name__ == "__main__":
    main()
