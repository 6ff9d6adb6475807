"""The hits of the last query, remembered so that `show @3`, `open @3` and `similar @3` can name them.

Kept in the user's state folder ($XDG_STATE_HOME/archsearch, else ~/.local/state/archsearch), one
small file per index keyed by the index's path: beside the index it would be shared by every user
of a shared index, and need write access to it. Remembering never makes a query fail: the caller
gets a warning to show instead.
"""

import contextlib
import fcntl
import marshal
import os
import re
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from archsearch.errors import ArchsearchError
from archsearch.records import Record

# `@3`: a hit's rank; saved queries (`@name`) start with a letter, so the two never meet.
HIT_NUMBER = re.compile(r"@(\d+)")


class RememberedHit(Record, frozen=True):
    """An article named by `@N`, with the query that found it."""

    reference: str  # what names the article to searching.find_article
    query: str  # the query text that found it, for highlighting its words


def state_dir(environ=os.environ) -> Path:
    state_home = environ.get("XDG_STATE_HOME") or ""
    # As for the data folder: the XDG spec says a relative value is invalid and must be ignored.
    base = Path(state_home) if os.path.isabs(state_home) else Path(environ.get("HOME") or Path.home()) / ".local" / "state"
    return base / "archsearch"


def state_file(index_dir: Path, environ=os.environ, kind: str = "last-query") -> Path:
    """The index's file of `kind` in the state folder (its last hits by default), named by a
    checksum of its absolute path: zlib's CRC-32, which the index has loaded already, where hashlib
    would load OpenSSL (2.5 ms of every query).  The file holds the path too, so two indexes whose
    checksums meet never take each other's records.  Its record is marshalled: archsearch alone
    reads it, and json would cost every query 1 ms of CPU to import."""
    return state_dir(environ) / f"{kind}-{zlib.crc32(_absolute(index_dir)):08x}.marshal"


def _earlier_state_files(index_dir: Path, environ=os.environ) -> Iterator[Path]:
    """Where the last hits were kept before, in JSON: named by CRC-32, and before that by SHA-256
    (hashlib, 2 ms to load, only once the other is not found).  `show @3` after an upgrade still
    finds the hits of the query run before it."""
    folder = state_dir(environ)
    yield folder / f"last-query-{zlib.crc32(_absolute(index_dir)):08x}.json"
    import hashlib

    yield folder / f"last-query-{hashlib.sha256(_absolute(index_dir)).hexdigest()[:16]}.json"


def _absolute(index_dir: Path) -> bytes:
    return os.fsencode(str(Path(index_dir).absolute()))


# Set to a list by the server in a request's process: remember() then leaves the hits to be written
# after the command's answer has gone to the client (write_deferred: 0.3-0.4 ms of a served query).
# From just before the answer goes (lock_deferred) until they are written, the state folder's lock
# is held, which recall() waits for: a `show @1` run the moment the query has answered still finds
# its hits. (Not while the command writes its output: a reader of that output could be waiting.)
deferred: list | None = None


def remember(index_dir: Path, query: str, ranked_references, environ=os.environ) -> str | None:
    """Replaces the remembered hits of `index_dir` by (rank, reference) pairs; returns a warning
    when they could not be written, None when they were (or, deferred, when they will be: what
    can fail is tried before, the state folder and the new file made)."""
    path = state_file(index_dir, environ)
    record = {"index": str(Path(index_dir).absolute()), "query": query, "hits": [list(pair) for pair in ranked_references]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Two writers at once keep their order.
        folder = _locked_folder(path.parent, fcntl.LOCK_EX) if deferred is None else None
        try:
            temporary, descriptor = _new_file(path)
        except OSError:
            _unlock(folder)
            raise
    except OSError as exc:
        return f"could not remember the hits for @N in {path.parent}: {exc.strerror or exc}"
    if deferred is None:
        _write_remembered(folder, temporary, descriptor, path, record)
    else:
        deferred.append((temporary, descriptor, path, record))
    return None


_deferred_lock: int | None = None


def lock_deferred() -> None:
    """Before the answer goes: takes the state folder's lock, once, for the hits remember() deferred
    (a second flock of the folder from this process would wait for the first for good)."""
    global _deferred_lock
    if deferred:
        _deferred_lock = _locked_folder(deferred[0][0].parent, fcntl.LOCK_EX)


def write_deferred() -> None:
    """Writes the hits that remember() deferred, and lets their lock go."""
    global _deferred_lock
    try:
        while deferred:
            _write_remembered(None, *deferred.pop(0))
    finally:
        _unlock(_deferred_lock)
        _deferred_lock = None


def _write_remembered(folder: int | None, temporary: Path, descriptor: int, path: Path, record: dict) -> None:
    try:
        _fill(temporary, descriptor, path, marshal.dumps(record))
        # The JSON file of a version before: gone, so that no version ever reads hits older than these.
        with contextlib.suppress(OSError):
            os.unlink(path.with_suffix(".json"))
    except OSError:
        # Told to nobody when deferred: `@N` must not name the hits of the query before.
        with contextlib.suppress(OSError):
            os.unlink(path)
    finally:
        _unlock(folder)


def _locked_folder(folder: Path, operation: int) -> int | None:
    """The state folder, open and locked (flock: shared to read the hits, exclusive to write them);
    None when it cannot be (no such folder, or a file system without locks): the hits are read
    and written all the same, as they were before a served query deferred them."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, operation)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


def _unlock(folder: int | None) -> None:
    if folder is not None:
        os.close(folder)  # the lock goes with it


def write_state(path: Path, payload: bytes) -> None:
    """Writes `payload` to a file of the state folder, readable by the user alone (0600), in a new
    file renamed over the old one: a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _fill(*_new_file(path), path, payload)


def _new_file(path: Path) -> tuple[Path, int]:
    """A new file beside path, readable by the user alone, and its descriptor, open to write."""
    # A name of this process's own rather than tempfile.mkstemp: tempfile costs a query 3 ms to import.
    temporary = path.parent / f".{path.stem}-{os.getpid()}-{time.monotonic_ns()}"
    return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)


def _fill(temporary: Path, descriptor: int, path: Path, payload: bytes) -> None:
    """Writes payload to the new file, which then replaces path."""
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(payload)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def resolve(index_dir: Path, reference: str, environ=os.environ) -> RememberedHit:
    """`@N` as the remembered hit it names; an id or path as itself, with no query."""
    match = HIT_NUMBER.fullmatch(reference)
    return recall(index_dir, int(match.group(1)), environ) if match else RememberedHit(reference, "")


def recall(index_dir: Path, number: int, environ=os.environ) -> RememberedHit:
    """The hit ranked `number` by the last query against `index_dir`; ArchsearchError when there is none."""
    path = state_file(index_dir, environ)
    folder = _locked_folder(path.parent, fcntl.LOCK_SH)  # waits for hits a served query is still writing
    try:
        if not path.exists():
            path = next((earlier for earlier in _earlier_state_files(index_dir, environ) if earlier.exists()), path)
        record = _read_record(path)
        query, hits = record["query"], {int(rank): str(reference) for rank, reference in record["hits"]}
        if record["index"] != str(Path(index_dir).absolute()):
            raise FileNotFoundError  # another index's, whose name's checksum is this one's
    except FileNotFoundError:
        raise ArchsearchError(f"no query to take @{number} from: run `archsearch query` against this index first")
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise ArchsearchError(f"cannot read the remembered hits in {path} ({exc}): run the query again")
    finally:
        _unlock(folder)
    if number not in hits:
        listed = f"hits {min(hits)}-{max(hits)}" if hits else "no hits"
        raise ArchsearchError(f"@{number}: the last query, '{query}', listed {listed}")
    return RememberedHit(hits[number], query)


def _read_record(path: Path) -> dict:
    """The record of hits at path: marshalled, or JSON as versions before wrote it."""
    if path.suffix == ".json":
        import json

        return json.loads(path.read_text(encoding="utf-8"))
    record = marshal.loads(path.read_bytes())
    if not isinstance(record, dict):
        raise ValueError("not a record of hits")
    return record
