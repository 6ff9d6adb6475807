"""Alerts: `archsearch query @name --new` shows the articles indexed since that saved search last
ran with --new, so that a daily `archsearch index && archsearch query @name --new --json` is a feed.

"Indexed since" is read from the index itself: every article carries the stamp of the segment that
added it (schema's `indexed` field), a nanosecond clock reading made larger than every stamp the
index held before, so stamps grow with the commits whatever the clock does.  A run --new records
the newest stamp of the index it searched (the same snapshot, so an indexing run committing
meanwhile loses nothing: its articles are stamped later); the next run shows the matches stamped
after it.  An article whose file changed is indexed anew, with a new stamp, so it is new again; an
article whose file went away leaves the index and the feed with it.

What each saved search has seen is kept per user and per index, in the user's state folder (as
lasthits.py keeps the hits of the last query), one small private file per index and saved search.
"""

import json
import os
import re
import time
from pathlib import Path

from archsearch.errors import ArchsearchError
from archsearch.lasthits import state_dir, write_state
from archsearch.schema import INDEXED_FIELD


def newest_stamp(searcher) -> int:
    """The largest `indexed` stamp the searcher's index holds (0 when it holds none).

    Read from the field's terms, one per stamp rather than one per article; a stamp whose articles
    were all deleted may still be among them until a merge, which only errs on the safe side."""
    field = searcher.schema[INDEXED_FIELD]
    newest = 0
    for term in field.sortable_terms(searcher.reader(), INDEXED_FIELD):
        newest = field.from_bytes(term)  # sorted: the last is the largest
    return newest


def next_stamp(index_dir: Path) -> int:
    """The stamp for a new segment of the index: now, and larger than any it holds, so that a
    clock set back never stamps new articles as older than those a saved search has seen."""
    from archsearch.engines.whoosh.store import open_index

    with open_index(index_dir).searcher() as searcher:
        return max(time.time_ns(), newest_stamp(searcher) + 1)


def saved_search_name(context, words: list[str]) -> str:
    """The name of the saved search that `--new` runs: the query must be one `@name` and no other
    word (typed, or `-word`), since what it has seen is kept under that name."""
    from archsearch.config import QUERY_NAME, saved_words, typed_words

    typed = typed_words(context)
    name = typed[0][1:] if len(typed) == 1 and re.fullmatch("@" + QUERY_NAME, typed[0]) else None
    if name is None or words != saved_words(name, context.command):
        raise ArchsearchError(
            "--new runs one saved search and no other words, as in 'archsearch query @kabul --new': "
            "save the whole query under [queries] in the config file (see 'archsearch config')"
        )
    return name


def state_file(index_dir: Path, name: str, environ=os.environ) -> Path:
    import hashlib  # here: a query without --new never needs it, and OpenSSL takes 2 ms to load

    index = str(Path(index_dir).absolute())
    key = hashlib.sha256(os.fsencode(index) + b"\0" + name.encode()).hexdigest()[:16]
    return state_dir(environ) / f"new-{name[:40]}-{key}.json"  # the name for people, the hash for the key


def last_seen(index_dir: Path, name: str, environ=os.environ) -> int:
    """The newest stamp the last run of `name --new` against the index saw; 0 when it never ran."""
    path = state_file(index_dir, name, environ)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        seen = record["seen"]
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArchsearchError(
            f"cannot read what @{name} has seen, in {path} ({exc}): remove that file to see every match as new"
        ) from None
    if not isinstance(seen, int) or isinstance(seen, bool) or seen < 0:
        raise ArchsearchError(f"{path} is damaged: remove it to see every match of @{name} as new")
    return seen


def record_seen(index_dir: Path, name: str, stamp: int, environ=os.environ) -> None:
    """Records that `name --new` has seen the index up to `stamp`; ArchsearchError when it cannot,
    since the next run would then show the same articles again."""
    path = state_file(index_dir, name, environ)
    record = {
        "index": str(Path(index_dir).absolute()),
        "search": name,
        "seen": stamp,
        "ran": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        write_state(path, json.dumps(record).encode())  # ASCII: a path's undecodable bytes escaped
    except OSError as exc:
        raise ArchsearchError(
            f"could not record this run of @{name} --new in {path.parent}: {exc.strerror or exc} "
            "(the next run shows these articles again)"
        ) from None
