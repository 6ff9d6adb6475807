"""The index on disk, as queries use it: where its folders are recorded, and opening it to search.

Kept apart from indexing.py so that a query loads none of the machinery that builds an index.
"""

import json
import os
from contextlib import contextmanager
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from archsearch.errors import ArchsearchError
from archsearch.schema import is_current

# The folders an index covers, kept beside Whoosh's own files.
SETTINGS_FILE = "archsearch.json"


def read_roots(index_dir: Path) -> list[str]:
    try:
        settings = json.loads((index_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise ArchsearchError(f"cannot read {index_dir / SETTINGS_FILE}: {exc}") from None
    return list(settings.get("roots", []))


def write_roots(index_dir: Path, roots: list[str]) -> None:
    # Written to a temporary file and renamed so a crash never leaves half a file.
    target = index_dir / SETTINGS_FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps({"roots": sorted(roots)}, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, target)


def open_index(index_dir: Path):
    """Open an existing index for searching."""
    if not whoosh_index.exists_in(str(index_dir)):
        raise ArchsearchError(
            f"no index at {index_dir}: run 'archsearch index FOLDER' first (or pass --index DIR)"
        )
    try:
        # Without mmap: Whoosh copies every memory-mapped segment into a BytesIO when it opens
        # an index (CompoundStorage), which cost 0.45 s and 1.1 GiB per query at 100k articles;
        # plain file reads open it in 11 ms and 29 MiB.
        ix = FileStorage(str(index_dir), supports_mmap=False).open_index()
    except Exception as exc:  # Whoosh raises many kinds of errors on a damaged index
        raise ArchsearchError(
            f"cannot open the index at {index_dir}: {exc} ('archsearch index --rebuild' makes it anew)"
        ) from None
    if not is_current(ix.schema):
        raise ArchsearchError(
            f"the index at {index_dir} was built by another version of archsearch: run 'archsearch index --rebuild'"
        )
    return ix


# Index folder -> (searcher, the folder's identity when it was opened), least recently used first,
# for searchers kept open between queries; None: they are not kept.
_open_searchers: dict[Path, tuple] | None = None

# How many indexes keep a searcher open: each holds file descriptors, memory, and the disk space of
# files an update has deleted since.
KEPT_SEARCHERS = 4


def keep_searchers_open() -> None:
    """For the resident server: a searcher stays open between queries until its index changes.

    Opening one costs a query 10-35 ms at 100k articles, and the segment readers it keeps (their
    stored-field offsets, term indexes) make the next query's reads cheaper too."""
    global _open_searchers
    _open_searchers = {}


def kept_searchers() -> dict:
    """Index folder -> the searcher kept open on it (empty when searchers are not kept)."""
    return {folder: searcher for folder, (searcher, _) in (_open_searchers or {}).items()}


def drop_gone_indexes() -> None:
    """Closes the kept searchers of indexes whose folder is gone or replaced, which frees their
    descriptors and the disk space of their deleted files."""
    for folder in list(_open_searchers or {}):
        if _folder_identity(folder) != _open_searchers[folder][1]:
            _open_searchers.pop(folder)[0].close()


def close_kept_searchers() -> None:
    for folder in list(_open_searchers or {}):
        _open_searchers.pop(folder)[0].close()


@contextmanager
def index_searcher(index_dir: Path, weighting=None):
    """A searcher on the index's latest generation, closed afterwards unless searchers are kept open."""
    options = {} if weighting is None else {"weighting": weighting}  # None would replace Whoosh's default
    if _open_searchers is None:
        with open_index(index_dir).searcher(**options) as searcher:
            yield searcher
        return
    folder = Path(index_dir).resolve()
    searcher, identity = _open_searchers.pop(folder, (None, None))
    if searcher is not None and not (identity == _folder_identity(folder) and _up_to_date(searcher)):
        searcher.close()
        searcher = None
    if searcher is None:
        identity = _folder_identity(folder)
        searcher = open_index(index_dir).searcher(**options)
    try:
        if weighting is None or (type(weighting), vars(weighting)) == (
            type(searcher.weighting), vars(searcher.weighting)
        ):
            yield searcher
        else:
            # Another weighting shares the kept reader: the reader is what is costly to open.
            from whoosh.searching import Searcher

            with Searcher(searcher.ixreader, weighting, closereader=False, fromindex=searcher._ix) as weighted:
                yield weighted
    finally:
        _open_searchers[folder] = searcher, identity
        while len(_open_searchers) > KEPT_SEARCHERS:
            _open_searchers.pop(next(iter(_open_searchers)))[0].close()


def _folder_identity(folder: Path) -> tuple | None:
    """Tells a folder from another put in its place (an index rebuilt aside and swapped in)."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _up_to_date(searcher) -> bool:
    try:
        return searcher.up_to_date()
    except Exception:  # a damaged or vanishing index: opening it afresh says what is wrong
        return False


def key_term(path: str) -> str:
    """A path as the index's terms hold it: bytes of the file name that are not UTF-8 as \\xNN.

    The stored fields keep the path as it is (with Python's surrogate escapes), to open the file.
    """
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def article_body(stored: dict) -> str:
    """An indexed article's body: stored in the index, or read again from its plain-text file."""
    if stored.get("text") is not None:
        return stored["text"]
    from archsearch.formats import read_article

    return read_article(stored["key"]).body
