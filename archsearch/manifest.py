"""The record of what the index holds, file by file, in a small SQLite database beside it.

Telling which files changed needs every indexed file's size, modification time and content
hash.  Reading them back from Whoosh's stored fields takes seconds for 100,000 articles; from
here, a few milliseconds: one row per folder holds its files as columns in the order a scan
lists them (names, then sizes and modification times as arrays of integers), so that a folder
whose files are all as recorded is told by comparing three lists, with no Python work per file.

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

import json
import os
import pickle
import sqlite3
import sys
from array import array
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from archsearch.nearduplicates import COPY_TABLES, CopyGroups

# Changed whenever the tables change; a record in another format is rebuilt from the index, but
# for format 3 (one pickled dictionary per folder), which is converted.
FORMAT = "4"
PICKLED_FORMAT = "3"

# Paths are stored as bytes (os.fsencode): file names need not be UTF-8, which SQLite's text must be.
_TABLES = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS folder_files (
    folder BLOB PRIMARY KEY,
    root BLOB NOT NULL,          -- the indexed folder it is in
    indexed INTEGER NOT NULL,    -- how many of its files have an article in the index
    names BLOB NOT NULL,         -- its files' names, sorted, each followed by a NUL byte
    sizes BLOB NOT NULL,         -- their sizes, array('q') in little-endian order
    mtimes BLOB NOT NULL,        -- their st_mtime_ns, likewise
    hashes BLOB NOT NULL,        -- their sha256 (hex), each followed by a NUL byte
    skipped TEXT                 -- JSON {name: why it is not in the index}, NULL if all are
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS folder_files_by_root ON folder_files (root);
"""
# Format 3's table, converted and dropped when the record is opened.
_PICKLED_TABLE = "folders"


class Entry(NamedTuple):
    root: str
    size: int
    mtime_ns: int
    sha256: str
    skipped: str | None = None  # why the file is not in the index; None for an indexed article


class ArticleChanges(NamedTuple):
    """What one commit did to the articles, for the groups of copies."""

    removed_files: list[str]  # files whose articles left the index (deleted, or replaced by `added`)
    added: list[tuple[str, str | None, bytes]]  # (file key, record, packed sketch) of each article added


class IndexState(NamedTuple):
    """The index as a run left it, which the next run can trust without opening it if it finds it so."""

    generation: int
    files: str  # the name, size and mtime of each of the engine's files, as JSON
    articles: int  # how many the index holds
    version: str  # of archsearch, which checked that the index is whole and of its own schema


# What the record holds of each file: an Entry without the root.
FileRecord = tuple[int, int, str, str | None]


class FolderRecord:
    """The recorded files of one folder, as columns sorted by name (the order walk() lists them)."""

    __slots__ = ("names", "sizes", "mtimes", "_hashes", "skipped")

    def __init__(self, names: list[str], sizes: list[int], mtimes: list[int], hashes: list[str] | str,
                 skipped: dict[str, str]):
        self.names = names
        self.sizes = sizes
        self.mtimes = mtimes
        self._hashes = hashes  # or, as read, NUL-separated: split only if the folder changed
        self.skipped = skipped  # {name: why it is not in the index}

    @classmethod
    def from_files(cls, files: dict[str, FileRecord]) -> "FolderRecord":
        names = sorted(files)
        records = [files[name] for name in names]
        skipped = {name: record[3] for name, record in zip(names, records) if record[3] is not None}
        return cls(names, [record[0] for record in records], [record[1] for record in records],
                   [record[2] for record in records], skipped)

    def same_as(self, names: list[str], sizes: list[int], mtimes: list[int]) -> bool:
        """Whether the folder lists exactly these files, each with the size and mtime recorded."""
        return self.names == names and self.sizes == sizes and self.mtimes == mtimes

    @property
    def indexed(self) -> int:
        """How many of the files have their articles in the index."""
        return len(self.names) - len(self.skipped)

    def files(self) -> dict[str, FileRecord]:
        """{file name: (size, mtime_ns, sha256, skipped)}"""
        hashes = self._hashes.split("\0")[:-1] if isinstance(self._hashes, str) else self._hashes
        skipped = self.skipped
        return {name: (size, mtime, sha256, skipped.get(name))
                for name, size, mtime, sha256 in zip(self.names, self.sizes, self.mtimes, hashes)}

    def encode(self) -> tuple[bytes, bytes, bytes, bytes, str | None]:
        """The columns of its row: names, sizes, mtimes, hashes, skipped."""
        hashes = self._hashes if isinstance(self._hashes, str) else "".join(sha256 + "\0" for sha256 in self._hashes)
        return (
            "".join(name + "\0" for name in self.names).encode(_FS_ENCODING, _FS_ERRORS),
            _integers_blob(self.sizes),
            _integers_blob(self.mtimes),
            hashes.encode("ascii"),
            json.dumps(self.skipped) if self.skipped else None,
        )

    @classmethod
    def decode(cls, names: bytes, sizes: bytes, mtimes: bytes, hashes: bytes, skipped: str | None) -> "FolderRecord":
        """The record of a row; raises ValueError (or another error) on one that is damaged."""
        record = cls(names.decode(_FS_ENCODING, _FS_ERRORS).split("\0")[:-1], _integers(sizes), _integers(mtimes),
                     hashes.decode("ascii"), json.loads(skipped) if skipped else {})
        if not (len(record.names) == len(record.sizes) == len(record.mtimes) and isinstance(record.skipped, dict)):
            raise ValueError("columns of different lengths")
        return record


# File names as the operating system gives them (os.fsencode and os.fsdecode, for many at once).
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _integers_blob(values: list[int]) -> bytes:
    numbers = array("q", values)
    if sys.byteorder == "big":  # the record stays readable when the index is moved to another machine
        numbers.byteswap()
    return numbers.tobytes()


def _integers(blob: bytes) -> list[int]:
    numbers = array("q")
    numbers.frombytes(blob)
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers.tolist()


class Manifest:
    def __init__(self, path: Path):
        self.path = path
        self._db, self.damaged = _connect(path)  # damaged: it could not be opened, and was started afresh
        # {root: {folder: FolderRecord}}, read once (scanning needs every row), or None if a row is damaged.
        self._folders: dict[str, dict[str, FolderRecord]] | None = None

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

    def index_state(self) -> IndexState | None:
        """The state of the index the last run left, if it left the record at the same generation."""
        try:
            values = dict(self._db.execute("SELECT name, value FROM settings"))
            state = IndexState(*json.loads(values["index"]))
        except (sqlite3.DatabaseError, KeyError, TypeError, ValueError):
            return None
        return state if state.generation == self.generation else None

    def keep_index_state(self, state: IndexState) -> None:
        if state != self.index_state():
            with self._db:
                self._db.execute("INSERT OR REPLACE INTO settings VALUES ('index', ?)", (json.dumps(state),))

    def is_whole(self) -> bool:
        """Whether every row of the record can be read (they are read now, for the scan)."""
        return self._all_folders() is not None

    def start_afresh(self) -> None:
        """Throw the record away (it is damaged), for an empty one."""
        self._db.close()
        _remove(self.path)
        self._db = _open(self.path)
        self._folders = None

    def folders(self, root: str) -> dict[str, FolderRecord]:
        """The files recorded under root, by folder."""
        folders = self._all_folders()
        if folders is None:
            raise sqlite3.DatabaseError(f"the record of indexed files {self.path} is damaged")
        return dict(folders.get(root, {}))

    def entries(self, root: str) -> dict[str, Entry]:
        return {
            os.path.join(folder, name): Entry(root, *record)
            for folder, files in self.folders(root).items()
            for name, record in files.files().items()
        }

    def roots(self) -> set[str]:
        """The indexed folders with files recorded; none if the record is damaged."""
        try:
            return {os.fsdecode(root) for (root,) in self._db.execute("SELECT DISTINCT root FROM folder_files")}
        except sqlite3.DatabaseError:
            return set()

    def indexed_count(self) -> int:
        return self._db.execute("SELECT coalesce(sum(indexed), 0) FROM folder_files").fetchone()[0]

    def _all_folders(self) -> dict[str, dict[str, FolderRecord]] | None:
        if self._folders is None:
            folders: dict[str, dict[str, FolderRecord]] = defaultdict(dict)
            try:
                rows = self._db.execute("SELECT folder, root, names, sizes, mtimes, hashes, skipped FROM folder_files")
                for folder, root, *columns in rows:
                    folders[os.fsdecode(root)][os.fsdecode(folder)] = FolderRecord.decode(*columns)
            except Exception:  # garbage in a row raises anything at all
                return None
            self._folders = folders
        return self._folders

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
        self._folders = None
        with self._db:
            for folder, changes in by_folder.items():
                row = self._db.execute(
                    "SELECT names, sizes, mtimes, hashes, skipped FROM folder_files WHERE folder = ?",
                    (os.fsencode(folder),),
                ).fetchone()
                files = FolderRecord.decode(*row).files() if row else {}
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
                articles: Iterable[tuple[str, str | None, bytes]] = ()) -> None:
        """Start the record afresh, for an index at `generation` holding the files `entries` and
        the `articles` (file key, record, sketch)."""
        folders: dict[str, dict[str, FileRecord]] = defaultdict(dict)
        roots = {}
        for key, entry in entries:
            folder, name = os.path.split(key)
            folders[folder][name] = tuple(entry[1:])
            roots[folder] = entry.root
        self._folders = None
        with self._db:
            self._db.execute("DELETE FROM folder_files")
            for folder, files in folders.items():
                self._write_folder(folder, roots[folder], files)
            groups = CopyGroups(self._db)
            groups.clear()
            groups.update((), articles)
            self._set_generation(generation)

    def _write_folder(self, folder: str, root: str | None, files: dict[str, FileRecord]) -> None:
        if not files:
            self._db.execute("DELETE FROM folder_files WHERE folder = ?", (os.fsencode(folder),))
            return
        record = FolderRecord.from_files(files)
        if root is None:  # only files removed: the row is there, with its root
            self._db.execute(
                "UPDATE folder_files SET indexed = ?, names = ?, sizes = ?, mtimes = ?, hashes = ?, skipped = ? "
                "WHERE folder = ?",
                (record.indexed, *record.encode(), os.fsencode(folder)),
            )
        else:
            self._db.execute(
                "INSERT OR REPLACE INTO folder_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (os.fsencode(folder), os.fsencode(root), record.indexed, *record.encode()),
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
    # Used by another thread than the one that opened it: indexing.Run records a batch in a thread
    # of its own while the next is read, and waits for it before using the record again.
    db = sqlite3.connect(path, check_same_thread=False)
    # WAL with NORMAL sync survives the process being killed at any point, which is what
    # crash safety asks of this record (the index itself is not synced to disk either).
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(_TABLES + COPY_TABLES)
    _convert_pickled(db)
    return db


def _convert_pickled(db: sqlite3.Connection) -> None:
    """Turn a record of format 3 into one of this format, which saves rebuilding it from the index."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (_PICKLED_TABLE,)).fetchone():
        return
    try:
        with db:
            converted = db.execute("SELECT 1 FROM settings WHERE name = 'format' AND value = ?", (PICKLED_FORMAT,))
            if converted.fetchone():
                db.execute("DELETE FROM folder_files")
                for folder, root, files in db.execute(f"SELECT folder, root, files FROM {_PICKLED_TABLE}"):
                    record = FolderRecord.from_files(pickle.loads(files))
                    db.execute("INSERT INTO folder_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (folder, root, record.indexed, *record.encode()))
                db.execute("UPDATE settings SET value = ? WHERE name = 'format'", (FORMAT,))
            db.execute(f"DROP TABLE {_PICKLED_TABLE}")
    except Exception:  # garbage in a row raises anything at all: the record is made anew from the index
        with db:
            db.execute(f"DROP TABLE {_PICKLED_TABLE}")
