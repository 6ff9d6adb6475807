#!/usr/bin/env python3
"""Query time with one huge article in the index, for every kind of query (issue 15's target:
no query kind more than 3x slower than the median because of one huge article).

    python bench/huge_article.py [CORPUS_DIR] [--sizes 5,20] [--html-mb 12] [--repeat 5] [--workdir DIR]

The corpus (default /work/corpora/4k) is indexed once; then, per size, a copy of that index
takes one more article, made of the corpus's own paragraphs drawn at random up to SIZE
megabytes of text, in one of two shapes:

* matching: a wire article whose lead sentence (its title) holds every query's words (so it ranks among the shown
  hits, where its passages are made) and whose body has the corpus's paragraphs as they are;
* not matching: only paragraphs holding none of the queries' words, so it is in the index but
  never among the hits.

With --html-mb the matching article is also written as one HTML page (<p> per paragraph).
Readers cap what they read: a text file's first 8 MiB, an HTML page up to 16 MiB (see README).
Adding it is timed (wall, CPU, peak RSS of the `archsearch index` process, from wait4).  Then
each kind is timed in this one process, through the library as the CLI calls it (CPU time, the
kinds and indexes interleaved, one warm-up): per kind the p50 on each index, its ratio to the
plain index's, and its ratio to the median of the kinds on the same index.
"""

import argparse
import io
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import chain
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archsearch.concordance import concordance  # noqa: E402
from archsearch.formats import UnreadableFile, read_article  # noqa: E402
from archsearch.records import replace  # noqa: E402
from archsearch.rendering import print_article  # noqa: E402
from archsearch.searching import article_matches_by_chunks, find_article_parts, query_words, search  # noqa: E402

ARCHSEARCH = str(Path(sys.executable).with_name("archsearch"))

# bench/run.py's kinds, and those that read an article's positions or text.
KINDS = [
    ("rare word", "search", "Zakharova", {}),
    ("common word", "search", "president", {}),
    ("3-word AND", "search", "syria ceasefire talks", {}),
    ("phrase", "search", '"prime minister"', {}),
    ("OR", "search", "refugees OR migrants", {}),
    ("date-ranged", "search", "election", {"since": "2017-01", "until": "2017-02"}),
    ("NEAR", "search", "president NEAR/5 election", {}),
    ("SENTENCE", "search", "SENTENCE(president said)", {}),
    ("lead:", "search", "lead:president", {}),
    ("prefix", "search", "ref*", {}),
    ("kwic", "kwic", "refugees", {}),
    # `show --format plain --query president`: what it writes before it reads the rest of a long
    # body (its first chunk), and all of it (as into a file); on a terminal (coloured), its first
    # screen of 60 lines (into a pager, which reads the rest as it is scrolled to)
    ("show", "show", "president", {}),
    ("show whole", "show", "president", {"whole": True}),
    ("show screen", "show", "president", {"screen": True}),
]
SCREEN_LINES = 60


class _ScreenFull(Exception):
    pass


class _Screen(io.StringIO):
    """A terminal's screen that is full after SCREEN_LINES lines."""

    def write(self, text: str) -> int:
        super().write(text)
        if self.getvalue().count("\n") >= SCREEN_LINES:
            raise _ScreenFull
        return len(text)
# The stems of every query's words: a paragraph holding none can make an article no query matches.
QUERY_STEMS = re.compile(
    r"zakharov|presid|syria|ceasefir|talk|prime|minist|refuge|migra|elect|said", re.IGNORECASE
)
HUGE_TITLE = "Zakharova, president, Syria ceasefire talks, prime minister, refugees and migrants: the election"


def paragraphs_of(corpus: Path) -> list[str]:
    found = []
    for path in sorted(corpus.rglob("*.txt")):
        try:
            body = read_article(path).body
        except UnreadableFile:
            continue
        found += [paragraph for paragraph in body.split("\n\n") if len(paragraph) > 100]
    return found


def huge_body(paragraphs: list[str], megabytes: float, seed: int) -> str:
    rng = random.Random(seed)
    chosen, size = [], 0
    while size < megabytes * 1e6:
        chosen.append(rng.choice(paragraphs))
        size += len(chosen[-1]) + 2
    return "\n\n".join(chosen)


def write_huge(folder: Path, name: str, megabytes: float, paragraphs: list[str], matching: bool, html: bool) -> Path:
    body = huge_body(paragraphs, megabytes, seed=int(megabytes * 10))
    folder.mkdir(parents=True)
    if html:
        path = folder / f"{name}.html"
        paragraphs_html = "\n".join(f"<p>{paragraph}</p>" for paragraph in body.split("\n\n"))
        path.write_text(
            f"<html><head><title>{HUGE_TITLE}</title><meta name='date' content='2017-02-15'></head>"
            f"<body><article><h1>{HUGE_TITLE}</h1>\n{paragraphs_html}\n</article></body></html>",
            encoding="utf-8",
        )
    else:
        path = folder / f"{name}.txt"
        # Wire copy, dated inside the date-ranged kind's window; its lead sentence is its title.
        lead = HUGE_TITLE if matching else "A long record of the proceedings"
        path.write_text(f" date 2017-02-15 MOSCOW, February 15. /TASS/. {lead}.\n\n{body}", encoding="utf-8")
    return path


def timed_index(folders: list[Path], index_dir: Path) -> dict:
    """Wall and CPU seconds and peak RSS of one `archsearch index` run, from its own rusage."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [ARCHSEARCH, "index", *map(str, folders), "--index", str(index_dir), "-q", "-j", "1"],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        sys.exit(f"archsearch index failed ({process.returncode}) on {index_dir}")
    return {
        "wall": time.perf_counter() - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
    }


def run_kind(index_dir: Path, kind: tuple, huge_id: str | None) -> str:
    """Ask one kind; what it showed of the huge article ("" if nothing)."""
    name, how, text, options = kind
    if how == "search":
        result = search(index_dir, text, **options)
        return "shown" if any(hit.path == huge_id for hit in result.hits) else ""
    if how == "kwic":
        found = concordance(index_dir, text)
        return "shown" if any(occurrence.path == huge_id for occurrence in found.occurrences) else ""
    # show: the huge article where there is one matching, else the query's first hit, highlighted.
    reference = huge_id or search(index_dir, text, limit=1, with_snippets=False).hits[0].path
    article, rest = find_article_parts(index_dir, reference)
    title_matches, chunks = article_matches_by_chunks(
        article.title, chain([article.body], rest), article.details.language, query_words(index_dir, text)
    )
    first, first_matches = next(chunks)
    if options.get("screen"):
        try:
            print_article(replace(article, body=first), _Screen(), "human", title_matches, first_matches, chunks)
        except _ScreenFull:
            pass
    else:
        print_article(replace(article, body=first), io.StringIO(), "plain", title_matches, first_matches,
                      chunks if options.get("whole") else ())
    return "shown" if huge_id else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", default="/work/corpora/4k")
    parser.add_argument("--sizes", default="5,20", help="megabytes of text of the huge article, comma-separated")
    parser.add_argument("--html-mb", type=float, default=0,
                        help="also a matching HTML page of this many megabytes of text (pages over 16 MiB are not read)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", help="keep the corpus copy and indexes here (default: a temporary folder)")
    parser.add_argument("--kinds", help="only these kinds, comma-separated")
    options = parser.parse_args()
    kinds = [kind for kind in KINDS if not options.kinds or kind[0] in options.kinds.split(",")]
    work = Path(options.workdir or tempfile.mkdtemp(prefix="huge_article."))
    corpus = work / "corpus"
    if not corpus.exists():
        shutil.copytree(options.corpus, corpus)
    paragraphs = paragraphs_of(corpus)
    plain_paragraphs = [paragraph for paragraph in paragraphs if not QUERY_STEMS.search(paragraph)]

    indexes = {"plain": work / "ix-plain"}
    if not indexes["plain"].exists():
        built = timed_index([corpus], indexes["plain"])
        print(f"plain index: {built['wall']:.0f} s wall, {built['cpu']:.0f} s CPU, {built['rss_mib']:.0f} MiB peak RSS")
    shapes = [(size, matching, False) for size in map(float, options.sizes.split(",")) for matching in (True, False)]
    if options.html_mb:
        shapes.append((options.html_mb, True, True))
    huge_ids = {"plain": None}  # the matching huge article's path
    print(f"{'huge article':<28} {'chars':>11} {'add s wall':>10} {'add s CPU':>9} {'peak RSS MiB':>12}")
    for size, matching, html in shapes:
        label = f"{size:g} MB {'html' if html else 'text'} {'matching' if matching else 'not matching'}"
        name = label.replace(" ", "_")
        folder = work / f"huge-{name}"
        index_dir = work / f"ix-{name}"
        if not index_dir.exists():
            path = write_huge(folder, name, size, paragraphs if matching else plain_paragraphs, matching, html)
            shutil.copytree(indexes["plain"], index_dir)
            added = timed_index([corpus, folder], index_dir)
            characters = len(read_article(path).body)
            print(f"{label:<28} {characters:>11,} {added['wall']:10.1f} {added['cpu']:9.1f} {added['rss_mib']:12.0f}")
        indexes[label] = index_dir
        huge_ids[label] = str(next(folder.iterdir()).resolve()) if matching else None

    seconds = {(label, kind[0]): [] for label in indexes for kind in kinds}
    shown = {}
    for repetition in range(options.repeat + 1):  # the first is a warm-up
        for kind in kinds:
            for label, index_dir in indexes.items():
                started = time.process_time()
                shown[label, kind[0]] = run_kind(index_dir, kind, huge_ids[label])
                if repetition:
                    seconds[label, kind[0]].append(time.process_time() - started)

    p50 = {key: statistics.median(values) for key, values in seconds.items()}
    print(f"\nCPU ms per query, p50 of {options.repeat}; x plain: against the plain index; x median: against"
          " the median kind on the same index")
    for label in indexes:
        median = statistics.median(p50[label, kind[0]] for kind in kinds)
        print(f"\n{label}  (median kind {median * 1000:.0f} ms)")
        print(f"  {'kind':<12} {'p50 ms':>8} {'x plain':>8} {'x median':>9}  huge article")
        for kind in kinds:
            value = p50[label, kind[0]]
            print(
                f"  {kind[0]:<12} {value * 1000:8.0f} {value / p50['plain', kind[0]]:8.2f} {value / median:9.2f}"
                f"  {shown[label, kind[0]]}"
            )
    if not options.workdir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
