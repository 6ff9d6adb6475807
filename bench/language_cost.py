"""What per-language analysis costs: indexing speed, stemmers, language identification.

    .venv/bin/python bench/language_cost.py bench/corpora/4k              # this checkout
    PYTHONPATH=/tmp/before .venv/bin/python bench/language_cost.py bench/corpora/4k --index-only

The second line runs the indexing part on another version of archsearch (an exported tree of
an earlier commit), on the same corpus, for the before/after figures in bench/README.md.
Indexing is timed with one worker and with two (the machine's two cores), on a fresh index.
"""

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path


def index_speed(corpus: Path, jobs: int) -> float:
    from archsearch.indexing import update_index

    work = Path(tempfile.mkdtemp(prefix="language-cost-"))
    try:
        started = time.perf_counter()
        report = update_index(work / "index", [str(corpus)], jobs=jobs)
        elapsed = time.perf_counter() - started
        return report.total / elapsed
    finally:
        shutil.rmtree(work)


def distinct_words(corpus: Path) -> list[str]:
    words = set()
    for path in corpus.rglob("*.txt"):
        words.update(re.findall(r"[^\W\d_]+", path.read_text(encoding="utf-8").lower()))
    return sorted(words)


def stemmer_speed(words: list[str]) -> None:
    from whoosh.lang.porter import stem as porter

    from archsearch.analysis import stemmer_for

    snowball = stemmer_for("en")
    for name, stem in (("Whoosh Porter (Python)", porter), ("PyStemmer English (C)", snowball)):
        started = time.perf_counter()
        for word in words:
            stem(word)
        elapsed = time.perf_counter() - started
        print(f"{name}: {len(words) / elapsed:,.0f} words/s ({len(words):,} distinct words)")


def identification_speed(corpus: Path) -> None:
    from archsearch.analysis import identify_language
    from archsearch.formats import read_article

    articles = [read_article(path) for path in sorted(corpus.rglob("*.txt"))[:1000]]
    identify_language("warm up: the model is loaded once per process")
    started = time.perf_counter()
    found = [identify_language(f"{article.title}\n{article.body}") for article in articles]
    elapsed = time.perf_counter() - started
    english = found.count("en")
    print(f"identification: {elapsed / len(articles) * 1000:.2f} ms per article; {english}/{len(articles)} named English")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--index-only", action="store_true", help="only the indexing speed (for another version)")
    options = parser.parse_args()
    for jobs in (1, 2):
        print(f"indexing, {jobs} worker(s): {index_speed(options.corpus, jobs):,.0f} files/s")
    if not options.index_only:
        stemmer_speed(distinct_words(options.corpus))
        identification_speed(options.corpus)


if __name__ == "__main__":
    main()
