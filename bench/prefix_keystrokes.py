#!/usr/bin/env python3
"""Live search's keystrokes as the server runs them, with and without the prefix entries.

    python bench/prefix_keystrokes.py INDEX [--rounds N] [--text "syria ceasefire talk"]

Prepares as `archsearch serve` does (numpy loaded, the index opened and warmed), then, each
round, for each keystroke of the text (each the text so far, its last word a prefix, as
bench/run.py's live section types it) forks a process that runs `searching.search()` (ranking,
count, hits with snippets, copy groups) once with the segments' prefix entries
(prefix_postings.py) and once without them (the word-by-word walk), the order alternating, and
takes each forked process's CPU time (user + system, from its fork to its exit).  Prints the
median per keystroke of each, and checks that both found the same total, hits, scores and
marked words.  CPU time, so that the machine's load falls out; see bench/README.md, "Short
prefixes at 100k".
"""
import argparse
import hashlib
import os
import pickle
import statistics
import sys
from pathlib import Path


def keystrokes(text: str) -> list[str]:
    """What each keystroke asks, as bench/run.py's live_argv builds it."""
    typed = [text[:length] for length in range(1, len(text) + 1)]
    return [typed_text + "*" if not typed_text.endswith(" ") else typed_text.strip() for typed_text in typed]


def answer_digest(result) -> str:
    hits = [(hit.id, hit.score, hit.title_matches, hit.snippets) for hit in result.hits]
    return hashlib.sha256(pickle.dumps((result.total, hits))).hexdigest()[:12]


def forked(index: Path, query: str, with_entries: bool) -> tuple[float, str]:
    """(CPU seconds of a forked process searching `query`, digest of what it found)."""
    from archsearch import searching
    from archsearch.engines.whoosh import fuzzy

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            if not with_entries:
                fuzzy.segment_prefixes = lambda leaf: None
            digest = answer_digest(searching.search(index, query))
            os.write(write, digest.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as stream:
        digest = stream.read().decode()
    _, status, usage = os.wait4(pid, 0)
    if status:
        sys.exit(f"the process searching {query!r} ended with status {status}")
    return usage.ru_utime + usage.ru_stime, digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--text", default="syria ceasefire talk")
    args = parser.parse_args()

    import numpy  # noqa: F401  (the server loads it)

    from archsearch import server

    server.warm(args.index)  # what the server reads once per version of an index, before it forks
    queries = keystrokes(args.text)
    times = {(query, mode): [] for query in queries for mode in (True, False)}
    digests = {}
    for round_number in range(args.rounds):
        for query in queries:
            modes = (True, False) if round_number % 2 == 0 else (False, True)
            for with_entries in modes:
                seconds, digest = forked(args.index, query, with_entries)
                times[query, with_entries].append(seconds)
                digests.setdefault(query, set()).add(digest)
    print(f"CPU ms of a forked search() per keystroke, median of {args.rounds} rounds")
    print(f"{'keystroke':24} {'entries':>9} {'walk':>9} {'ratio':>7}  same answer")
    both = {True: [], False: []}
    for query in queries:
        medians = {mode: statistics.median(times[query, mode]) * 1000 for mode in (True, False)}
        for mode in (True, False):
            both[mode].append(medians[mode])
        print(f"{query:24} {medians[True]:9.1f} {medians[False]:9.1f} {medians[True] / medians[False]:7.2f}  "
              f"{'yes' if len(digests[query]) == 1 else 'NO'}")
    print(f"{'p50 per keystroke':24} {statistics.median(both[True]):9.1f} {statistics.median(both[False]):9.1f}")
    print(f"{'slowest keystroke':24} {max(both[True]):9.1f} {max(both[False]):9.1f}")


if __name__ == "__main__":
    main()
