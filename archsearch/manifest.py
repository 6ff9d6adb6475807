"""The record of what the index holds, file by file, in a small SQLite database beside it.

Telling which files changed needs every indexed file's size, modification time and content
hash.  Reading them back from Whoosh's stored fields takes seconds for 100,000 articles; from
this table, tens of milliseconds.  The record must agree with the index, so each commit of the
index is followed by one transaction here that records the changes together with the number of
the index generation they lead to.  A crash between the two leaves the record one generation
behind the index; the next run sees that and rebuilds the record from the stored fields.

Files that could not be indexed because of what they contain (empty, binary) are recorded too,
with the reason, so that an unchanged one is reported again without being read again.
"""

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

MANIFEST_FILE = "archsearch-files.sqlite"
# Changed whenever the tables change; a record in another format is rebuilt from the index.
FORMAT = "1"

_TABLES = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    key BLOB PRIMARY KEY,      -- the file's absolute path (os.fsencode), as the stored "key" field
    root BLOB NOT NULL,        -- the indexed folder it was found under
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    skipped TEXT               -- why the file is not in the index; NULL for an indexed article
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_by_root ON files (root);
"""


class Entry(NamedTuple):
    root: str
    size: int
    mtime_ns: int
    sha256: str
    skipped: str | None = None


class Manifest:
    def __init__(self, path: Path):
        self.path = path
        self._db = _connect(path)

    def close(self) -> None:
        self._db.close()

    @property
    def generation(self) -> int | None:
        """The index generation the record matches; None if unknown (new or another format)."""
        values = dict(self._db.execute("SELECT name, value FROM settings"))
        if values.get("format") != FORMAT or "generation" not in values:
            return None
        return int(values["generation"])

    def entries(self, root: str) -> dict[str, Entry]:
        rows = self._db.execute(
            "SELECT key, size, mtime_ns, sha256, skipped FROM files WHERE root = ?", (os.fsencode(root),)
        )
        return {os.fsdecode(key): Entry(root, *rest) for key, *rest in rows}

    def roots(self) -> set[str]:
        return {os.fsdecode(root) for (root,) in self._db.execute("SELECT DISTINCT root FROM files")}

    def indexed_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM files WHERE skipped IS NULL").fetchone()[0]

    def record(self, generation: int, changed: dict[str, Entry], removed: Iterable[str]) -> None:
        """Apply the changes of one index commit, which led to `generation`."""
        with self._db:
            self._db.executemany("DELETE FROM files WHERE key = ?", ((os.fsencode(key),) for key in removed))
            self._insert(changed.items())
            self._set_generation(generation)

    def replace(self, generation: int, entries: Iterable[tuple[str, Entry]]) -> None:
        """Start the record afresh, for an index at `generation` holding `entries`."""
        with self._db:
            self._db.execute("DELETE FROM files")
            self._insert(entries)
            self._set_generation(generation)

    def _insert(self, entries: Iterable[tuple[str, Entry]]) -> None:
        # Paths as bytes: file names need not be UTF-8, which SQLite's text must be.
        self._db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
            ((os.fsencode(key), os.fsencode(entry.root), *entry[1:]) for key, entry in entries),
        )

    def _set_generation(self, generation: int) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO settings VALUES (?, ?)",
            (("format", FORMAT), ("generation", str(generation))),
        )


def _connect(path: Path) -> sqlite3.Connection:
    try:
        return _open(path)
    except sqlite3.DatabaseError:
        # Only a record of what the index holds: a damaged one is rebuilt from the index.
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        return _open(path)


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    # WAL with NORMAL sync survives the process being killed at any point, which is what
    # crash safety asks of this record (the index itself is not synced to disk either).
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(_TABLES)
    return db
