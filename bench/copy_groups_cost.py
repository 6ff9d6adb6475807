#!/usr/bin/env python3
"""CPU of recording copy groups (nearduplicates.CopyGroups.update), apart from the rest of a build.

    python bench/copy_groups_cost.py INDEX [--batch 20000] [--from N | --record FILE] [--articles N] [--save FILE] [--code DIR]

Reads the sketches an index's record holds (in the order they were added) and adds them to an
empty record in updates of --batch articles, as a build's commits do, timing each update's CPU;
prints one JSON line: each update's CPU, their sum, the peak RSS of the process by the last update
(the articles read included), the number of groups and a SHA-256 of every article's group leader
(file and record), equal for code that groups alike.  `--from N` adds the first N articles in one
update, untimed, before the timed ones (groups do not depend on the order articles came in), so
that a late commit of a large index is timed or profiled without replaying those before it (at 1M
that one update takes minutes); `--record FILE` starts from a copy of a record that `--save FILE`
wrote after replaying the first articles (`--articles N`: only the first N), and times the updates
of the articles after those it holds, in seconds.  `--code DIR` uses the `archsearch` package found in DIR
(e.g. `git archive <commit> archsearch | tar -x -C DIR`): run it in turn with the installed code
to compare.
"""

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index")
    parser.add_argument("--batch", type=int, default=20_000)
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--from", dest="start", type=int, default=0, metavar="N",
                       help="add the first N articles in one untimed update before the timed ones")
    start.add_argument("--record", help="start from a copy of this record, saved by --save, holding the first articles")
    parser.add_argument("--save", help="copy the record to this file after the updates")
    parser.add_argument("--articles", type=int, help="replay only the first N articles")
    parser.add_argument("--code", help="a folder holding the archsearch package to time instead of the installed one")
    options = parser.parse_args()
    if options.code:
        sys.path.insert(0, os.path.abspath(options.code))
    from archsearch.engines.whoosh.store import MANIFEST_FILE
    from archsearch.nearduplicates import COPY_TABLES, CopyGroups

    with sqlite3.connect(f"file:{os.path.join(os.path.abspath(options.index), MANIFEST_FILE)}?mode=ro", uri=True) as source:
        articles = [(os.fsdecode(file), record, sketch)
                    for file, record, sketch in source.execute("SELECT file, record, sketch FROM sketches ORDER BY id LIMIT ?",
                                                                  (-1 if options.articles is None else options.articles,))]
    with tempfile.TemporaryDirectory() as work:
        db = sqlite3.connect(os.path.join(work, "record.sqlite"))
        if options.record:
            with sqlite3.connect(options.record) as saved:
                saved.backup(db)
            (options.start,) = db.execute("SELECT COUNT(*) FROM sketches").fetchone()
        # As manifest._open opens the record.
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.executescript(COPY_TABLES)
        if options.start and not options.record:
            with db:
                CopyGroups(db).update([], articles[: options.start])
        spent = []
        for start in range(options.start, len(articles), options.batch):
            started = time.process_time()
            with db:
                CopyGroups(db).update([], articles[start : start + options.batch])
            spent.append(round(time.process_time() - started, 3))
        # Before the digest's rows are read: those of a 1M record take 300 MiB more.
        peak_rss_mib = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        if options.save:
            with sqlite3.connect(options.save) as saved:
                db.backup(saved)
        leaders = db.execute("SELECT s.file, s.record, g.file, g.record FROM sketches s JOIN sketches g ON g.id = s.grp"
                             " ORDER BY s.file, s.record").fetchall()
        (groups,) = db.execute("SELECT COUNT(DISTINCT grp) FROM sketches").fetchone()
        db.close()
    print(json.dumps({"code": options.code or "installed", "articles": len(articles), "from": options.start,
                      "cpu_s": spent, "total_cpu_s": round(sum(spent), 3),
                      "peak_rss_mib": peak_rss_mib,
                      "groups": groups, "leaders_sha256": hashlib.sha256(repr(leaders).encode()).hexdigest()}))


if __name__ == "__main__":
    main()
