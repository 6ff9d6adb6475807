"""The record of what the index holds, file by file, in a small SQLite database beside it.

Telling which files changed needs every indexed file's size, modification time and content
hash.  Reading them back from Whoosh's stored fields takes seconds for 100,000 articles; from
here, tens of milliseconds: one row per folder, holding its files as one pickled dictionary,
is read as fast as the folders are walked.

The record must agree with the index, so each commit of the index is followed by one
transaction here that records the changes together with the number of the index generation
they lead to.  A crash between the two leaves the record one generation behind the index; the
next run sees that and rebuilds the record from the stored fields.

Files that could not be indexed because of what they contain (empty, binary) are recorded too,
with the reason, so that an unchanged one is reported again without being read again.

The groups of near-identical articles (nearduplicates.py's CopyGroups) are kept here too, and
changed in the same transactions, so that they stay in step with the files.

Being only a copy of what the index holds, a damaged record is never an error: it is made anew
from the index.
"""

import os
import pickle
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from archsearch.nearduplicates import COPY_TABLES, CopyGroups

# Changed whenever the tables change; a record in another format is rebuilt from the index.
FORMAT = "3"

# Paths are stored as bytes (os.fsencode): file names need not be UTF-8, which SQLite's text must be.
_TABLES = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS folders (
    folder BLOB PRIMARY KEY,
    root BLOB NOT NULL,          -- the indexed folder it is in
    indexed INTEGER NOT NULL,    -- how many of its files have an article in the index
    files BLOB NOT NULL          -- pickled {name: (size, mtime_ns, sha256, skipped)}
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS folders_by_root ON folders (root);
"""


class Entry(NamedTuple):
    root: str
    size: int
    mtime_ns: int
    sha256: str
    skipped: str | None = None  # why the file is not in the index; None for an indexed article


class ArticleChanges(NamedTuple):
    """What one commit did to the articles, for the groups of copies."""

    removed_files: list[str]  # files whose articles left the index (deleted, or replaced by `added`)
    added: list[tuple[str, str | None, tuple[int, ...]]]  # (file key, record, sketch) of each article added


# What a folder's row holds for each file: an Entry without the root.
FileRecord = tuple[int, int, str, str | None]


class Manifest:
    def __init__(self, path: Path):
        self.path = path
        self._db, self.damaged = _connect(path)  # damaged: it could not be opened, and was started afresh

    def close(self) -> None:
        self._db.close()

    @property
    def generation(self) -> int | None:
        """The index generation the record matches; None if unknown (new, another format, or damaged)."""
        try:
            values = dict(self._db.execute("SELECT name, value FROM settings"))
            if values.get("format") != FORMAT or "generation" not in values:
                return None
            return int(values["generation"])
        except (sqlite3.DatabaseError, ValueError):
            return None

    def is_whole(self) -> bool:
        """Whether every row of the record can be read (reading them all takes about as long as a scan)."""
        try:
            for (files,) in self._db.execute("SELECT files FROM folders"):
                if not isinstance(pickle.loads(files), dict):
                    return False
        except Exception:  # unpickling garbage raises anything at all
            return False
        return True

    def start_afresh(self) -> None:
        """Throw the record away (it is damaged), for an empty one."""
        self._db.close()
        _remove(self.path)
        self._db = _open(self.path)

    def folders(self, root: str) -> dict[str, dict[str, FileRecord]]:
        """The files recorded under root: {folder: {file name: (size, mtime_ns, sha256, skipped)}}."""
        rows = self._db.execute("SELECT folder, files FROM folders WHERE root = ?", (os.fsencode(root),))
        return {os.fsdecode(folder): pickle.loads(files) for folder, files in rows}

    def entries(self, root: str) -> dict[str, Entry]:
        return {
            os.path.join(folder, name): Entry(root, *record)
            for folder, files in self.folders(root).items()
            for name, record in files.items()
        }

    def roots(self) -> set[str]:
        """The indexed folders with files recorded; none if the record is damaged."""
        try:
            return {os.fsdecode(root) for (root,) in self._db.execute("SELECT DISTINCT root FROM folders")}
        except sqlite3.DatabaseError:
            return set()

    def indexed_count(self) -> int:
        return self._db.execute("SELECT coalesce(sum(indexed), 0) FROM folders").fetchone()[0]

    def record(self, generation: int, changed: dict[str, Entry], removed: Iterable[str],
               articles: ArticleChanges | None = None) -> None:
        """Apply the changes of one index commit, which led to `generation`."""
        by_folder: dict[str, dict[str, Entry | None]] = defaultdict(dict)
        for key in removed:
            folder, name = os.path.split(key)
            by_folder[folder][name] = None
        for key, entry in changed.items():
            folder, name = os.path.split(key)
            by_folder[folder][name] = entry
        with self._db:
            for folder, changes in by_folder.items():
                row = self._db.execute("SELECT files FROM folders WHERE folder = ?", (os.fsencode(folder),)).fetchone()
                files = pickle.loads(row[0]) if row else {}
                root = None
                for name, entry in changes.items():
                    if entry is None:
                        files.pop(name, None)
                    else:
                        files[name] = tuple(entry[1:])
                        root = entry.root
                self._write_folder(folder, root, files)
            if articles:
                CopyGroups(self._db).update(articles.removed_files, articles.added)
            self._set_generation(generation)

    def replace(self, generation: int, entries: Iterable[tuple[str, Entry]],
                articles: Iterable[tuple[str, str | None, tuple[int, ...]]] = ()) -> None:
        """Start the record afresh, for an index at `generation` holding the files `entries` and
        the `articles` (file key, record, sketch)."""
        folders: dict[str, dict[str, FileRecord]] = defaultdict(dict)
        roots = {}
        for key, entry in entries:
            folder, name = os.path.split(key)
            folders[folder][name] = tuple(entry[1:])
            roots[folder] = entry.root
        with self._db:
            self._db.execute("DELETE FROM folders")
            for folder, files in folders.items():
                self._write_folder(folder, roots[folder], files)
            groups = CopyGroups(self._db)
            groups.clear()
            groups.update((), articles)
            self._set_generation(generation)

    def _write_folder(self, folder: str, root: str | None, files: dict[str, FileRecord]) -> None:
        if not files:
            self._db.execute("DELETE FROM folders WHERE folder = ?", (os.fsencode(folder),))
            return
        indexed = sum(1 for record in files.values() if record[3] is None)
        blob = pickle.dumps(files, pickle.HIGHEST_PROTOCOL)
        if root is None:  # only files removed: the row is there, with its root
            self._db.execute(
                "UPDATE folders SET indexed = ?, files = ? WHERE folder = ?", (indexed, blob, os.fsencode(folder))
            )
        else:
            self._db.execute(
                "INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?)",
                (os.fsencode(folder), os.fsencode(root), indexed, blob),
            )

    def _set_generation(self, generation: int) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO settings VALUES (?, ?)",
            (("format", FORMAT), ("generation", str(generation))),
        )


def install(source: Path, target: Path, generation: int) -> None:
    """Make the record at `source` the record at `target`, for the index generation `generation`.

    By renaming, whatever the size of either: a record of a million files is in place at once.
    """
    manifest = Manifest(source)
    with manifest._db:
        manifest._set_generation(generation)
    # Out of WAL mode, so that the database is the one file renamed, with all its transactions.
    manifest._db.execute("PRAGMA journal_mode = DELETE")
    manifest.close()
    # The old record's log first: a log left beside the new database would be applied to it.
    # Killed between the two, the old database alone stays consistent (as of its last
    # checkpoint), behind the index: the next run rebuilds it from the index.
    _remove(target, database=False)
    os.replace(source, target)


def _remove(path: Path, database: bool = True) -> None:
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")) + ((path,) if database else ()):
        leftover.unlink(missing_ok=True)


def _connect(path: Path) -> tuple[sqlite3.Connection, bool]:
    try:
        return _open(path), False
    except sqlite3.DatabaseError:
        # Only a record of what the index holds: a damaged one is rebuilt from the index.
        _remove(path)
        return _open(path), True


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    # WAL with NORMAL sync survives the process being killed at any point, which is what
    # crash safety asks of this record (the index itself is not synced to disk either).
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(_TABLES + COPY_TABLES)
    return db
