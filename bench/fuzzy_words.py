"""Fuzzy words: Whoosh's expansion against the word lists (archsearch/engines/whoosh/fuzzy.py), and plain words.

    python bench/fuzzy_words.py INDEX_DIR [--repeat 3]

For each query, in this process: the median CPU time of search() with the fuzzy words expanded
Whoosh's way (over every term of the field, one distance at a time in Python), with the word
lists, and the same words without `~`; and whether the two expansions matched the same articles.
CPU time, not wall time: the machine is shared.
"""

import argparse
import statistics
import time
from pathlib import Path
from unittest import mock

from whoosh import query as wq

from archsearch import querying
from archsearch.searching import search

QUERIES = (
    "refugees~ germany~ merkel~",
    "presidnt~ goverment~ ministr~",
    "talibn~ afganistan~2 kabul~",
    "goverment~",
    "goverment~2",
    "presidnt~2/3",
)


def whoosh_fuzzy_terms(query):
    """The parsed query with Whoosh's own FuzzyTerm, as before the word lists."""

    def back(node):
        if isinstance(node, wq.FuzzyTerm) and type(node) is not wq.FuzzyTerm:
            return wq.FuzzyTerm(
                node.fieldname, node.text, boost=node.boost, maxdist=node.maxdist,
                prefixlength=node.prefixlength, constantscore=node.constantscore,
            )
        return node

    return query.accept(back)


def timed(index_dir: Path, text: str, repeat: int) -> tuple[float, set]:
    times, matched = [], set()
    for _ in range(repeat):
        started = time.process_time()
        result = search(index_dir, text, limit=10, collapse_copies=False)
        times.append(time.process_time() - started)
        matched = {hit.id for hit in result.hits}, result.total
    return statistics.median(times), matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| query | Whoosh's expansion | word lists | same hits | plain words |")
    print("| --- | ---: | ---: | --- | ---: |")
    for text in QUERIES:
        with mock.patch.object(querying, "listed_fuzzy_terms", whoosh_fuzzy_terms):
            before, old = timed(args.index, text, args.repeat)
        after, new = timed(args.index, text, args.repeat)
        plain, _ = timed(args.index, " ".join(word.split("~")[0] for word in text.split()), args.repeat)
        print(
            f"| `{text}` | {before * 1000:,.0f} ms | {after * 1000:,.1f} ms | "
            f"{'yes' if old == new else 'NO'} ({new[1]}) | {plain * 1000:,.1f} ms |"
        )


if __name__ == "__main__":
    main()
