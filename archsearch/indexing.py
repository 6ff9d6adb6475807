"""Building the index and keeping it in step with the article files.

A run of update_index():

1. takes the index's run lock (one run at a time; the operating system releases it when the
   process ends, however it ends);
2. drops the segments whose one copy of some postings was lost (store.drop_lost_postings: their
   files are indexed again), refuses an index damaged otherwise (store.find_damage: only
   --rebuild repairs it), and removes the files no generation uses (left by a run that was
   killed, or failed on a full disk), unless the index's files are exactly as the last run left
   them (their names, sizes and modification times, kept in the record with the number of
   articles): then the index is not even opened, nor Whoosh imported, until the scan finds
   something changed;
3. remembers the folders given and forgets those asked;
4. checks that the record of indexed files (manifest.py) matches the index's generation, and
   rebuilds the record from the index if it does not (a run was killed between the two);
5. scans the folders, comparing each file's size and modification time with the record;
6. indexes the new and changed files in batches: worker processes (or this one) hash, read and
   analyse files and each writes a segment of its own; a batch's segments and deletions are
   committed as one new index generation, then recorded.

Queries read whole generations, so they see the index as of some commit, never half of one.
A run killed at any moment leaves the index at its last commit and the record at most one
commit behind, so the next run picks up exactly where it stopped.

A rebuild does steps 4-6 on a new index in a staging folder inside the index folder, then moves
its segments beside the old ones and publishes them in one new generation (segments.py's
publish_segments), so that queries go from the whole old index to the whole new one at once.
"""

import errno
import fcntl
import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import sqlite3
import stat
import sys
import threading
import time
import traceback
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import NamedTuple

# Whoosh, and the analysis and schema that build on it, are imported where files are read or
# the index opened: a run that finds nothing changed does neither (see _run).
from archsearch import __version__
from archsearch.errors import ArchsearchError
from archsearch.location import absolute_path
from archsearch.manifest import ArticleChanges, Entry, IndexState, Manifest
from archsearch.nearduplicates import comparable, pack, sketch, sketches
from archsearch.formats import FORMATS, Article, UnreadableFile, read_file
from archsearch.engines.whoosh.store import (
    INDEX_NAME,
    MANIFEST_FILE,
    REBUILD_HINT,
    ROOTS_TEMPORARY,
    SETTINGS_FILE,
    DamagedIndex,
    damage_reported,
    drop_lost_postings,
    find_damage,
    key_term,
    open_index,
    read_roots,
    unmapped_storage,
    write_roots,
)

# Held (flock) by the one `archsearch index` run allowed at a time; it holds that run's pid.
LOCK_FILE = "archsearch.lock"
# Inside the index folder: where `index --rebuild` builds the new index until it replaces the old.
REBUILD_FOLDER = "rebuild"
# Index folders are readable by their owner only.
PRIVATE_FOLDER = 0o700
DEFAULT_CORPUS = Path("seeds")

# Files read per worker between commits: a commit makes one segment per worker, and a killed
# run loses at most one batch of work.
FILES_PER_SEGMENT = 10_000
# Below this many files per worker, starting workers costs more than it saves.
MIN_FILES_PER_WORKER = 100
# Batches of at least this many files a worker have workers of their own (Run.RUNNERS_PER_BATCH):
# starting one (about 0.8 s of CPU) costs at most 4% of its share of such a batch.
MIN_FILES_PER_FRESH_WORKER = 5_000
DEFAULT_LOCK_WAIT = 60.0
# The next batch's workers start during a commit (Run.index) while this process's peak so far,
# which its commits' copy groups make and which grows with the index, is below this: beside a
# commit of a 1M index (707 MiB), two workers (120 MiB each at their start, more once reading)
# would take the process tree near 1 GiB; they start after such a commit.
OVERLAPPED_COMMITS_BELOW_PEAK = 640 * 2**20


@dataclass
class IndexReport:
    roots: list[str]
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    total: int = 0  # articles in the index afterwards
    interrupted: bool = False  # stopped on request, after committing what was done
    created: bool = False  # the index was made by this run
    # A first run that made no index after all: it failed, found nothing it could index, or was
    # stopped before it committed an article; it removed what it had made (discard_first_index).
    discarded: bool = False
    scanned: bool = True  # the run looked at the folders (not a compaction alone)
    # --compact: the index's segments before and after, and whether it merged them (or found
    # nothing to do)
    compacted: tuple[int, int, bool] | None = None

    @property
    def nothing_indexable(self) -> bool:
        """Files were found, but not one of them could be indexed."""
        return bool(self.skipped) and not (self.added or self.updated or self.unchanged)


@dataclass(frozen=True)
class Progress:
    """What a run is doing, for a progress display."""

    stage: str  # "waiting" (for another run), "scanning", "indexing" or "committing"
    done: int = 0  # files scanned, or files read of `total`
    total: int = 0
    path: str = ""  # indexing: the file just handled
    outcome: str = ""  # indexing: "added", "updated", "unchanged", "skipped" or "removed"
    holder: str = ""  # waiting: the process holding the index, as "pid N"


# --------------------------------------------------------------------------- folders


def choose_roots(folders: list[str], remembered: list[str], cwd: Path | None = None) -> list[str]:
    """The folders to index: those given, else those the index covers, else ./seeds (in `cwd`, else
    the folder the command runs in) for a new index."""
    if folders:
        chosen = []
        for folder in folders:
            path = absolute_path(folder)
            if not path.exists():
                raise ArchsearchError(f"no such folder: {folder}")
            if not path.is_dir():
                raise ArchsearchError(f"not a folder: {folder}")
            chosen.append(str(path.resolve()))
        return sorted(set(chosen))
    if remembered:
        return remembered
    default = (cwd or absolute_path(".")) / DEFAULT_CORPUS
    if default.is_dir():
        return [str(default.resolve())]
    raise ArchsearchError("no folder to index: pass one, as in 'archsearch index ~/articles'")


def forgotten_roots(forget: list[str], remembered: list[str], recorded: set[str] = frozenset()) -> list[str]:
    """The folders named by `forget`, which need not exist any more: remembered ones, and those
    whose articles are still `recorded` in the index."""
    chosen = []
    for folder in forget:
        path = str(absolute_path(folder).resolve())
        if path not in remembered and path not in recorded:
            covered = ", ".join(remembered) or "none"
            raise ArchsearchError(f"the index does not cover {folder} (it covers: {covered})")
        chosen.append(path)
    return chosen


def check_not_nested(roots: list[str]) -> None:
    """Refuse folders inside one another: each file must belong to exactly one indexed folder."""
    for outer in roots:
        for inner in roots:
            if inner != outer and Path(inner).is_relative_to(outer):
                raise ArchsearchError(
                    f"{inner} is inside {outer}: index one or the other (--forget removes a folder)"
                )


class Listing(NamedTuple):
    folder: str
    # The regular files in it, sorted by name, as three columns: compared at once with the record's.
    names: list[str]
    sizes: list[int]
    mtimes: list[int]  # st_mtime_ns
    problems: list[tuple[str, str]]  # (path, reason) for what in it cannot be indexed
    unreadable: str = ""  # why the folder itself could not be listed


def walk(root: str, visited: set[tuple[int, int]], inside: list[str] = ()) -> Iterator[Listing]:
    """Every folder under root, with its files, in a stable order (by name, depth first).

    Hidden files and folders are left out.  Links to folders are followed, each real folder
    once: `visited` holds the (device, inode) of folders walked, and of those to avoid.  Links
    that lead out of the folders `inside` (default: root) are not followed: whoever can plant a
    link in a shared corpus would otherwise have any file the indexing user can read put in the index.
    """
    inside = [os.path.realpath(folder) for folder in inside or [root]]
    try:
        identity = _identity(os.stat(root))
    except OSError as exc:
        yield Listing(root, [], [], [], [], f"cannot read the folder: {_reason(exc, root)}")
        return
    if identity in visited:
        yield Listing(root, [], [], [], [], "the same folder as one indexed through a link")
        return
    visited.add(identity)
    stack = [(root, frozenset([identity]))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            yield Listing(folder, [], [], [], [], f"cannot read the folder: {_reason(exc, folder)}")
            continue
        try:
            listing, subfolders = _list_folder(folder, descriptor, ancestors, visited, inside)
        except OSError as exc:
            listing, subfolders = Listing(folder, [], [], [], [], f"cannot read the folder: {_reason(exc, folder)}"), []
        finally:
            os.close(descriptor)
        yield listing
        stack.extend(reversed(subfolders))


def _list_folder(folder: str, descriptor: int, ancestors: frozenset, visited: set[tuple[int, int]],
                 inside: list[str]) -> tuple[Listing, list[tuple[str, frozenset]]]:
    """The folder open at `descriptor`, and its subfolders to walk (with their ancestors).

    A no-change run spends most of its time here, in one status read per file: relative to the
    folder's descriptor (fstatat, not a lookup of the whole path), and not following links, so
    that a regular file, by far the most common entry, needs no other system call.
    """
    names, sizes, mtimes, problems, subfolders = [], [], [], [], []
    for name in sorted(name for name in os.listdir(descriptor) if not name.startswith(".")):
        try:
            status = os.stat(name, dir_fd=descriptor, follow_symlinks=False)
            if stat.S_ISLNK(status.st_mode):
                target = os.path.realpath(os.path.join(folder, name))
                if not any(target == top or target.startswith(top.rstrip(os.sep) + os.sep) for top in inside):
                    reason = f"link to {target}, outside the indexed folders (not followed)"
                    problems.append((os.path.join(folder, name), reason))
                    continue
                status = os.stat(name, dir_fd=descriptor)
        except OSError as exc:
            path = os.path.join(folder, name)
            problems.append((path, _reason(exc, path)))
            continue
        if stat.S_ISREG(status.st_mode):
            names.append(name)
            sizes.append(status.st_size)
            mtimes.append(status.st_mtime_ns)
        elif stat.S_ISDIR(status.st_mode):
            identity = _identity(status)
            path = os.path.join(folder, name)
            if identity in ancestors:
                problems.append((path, "symbolic link loop"))
            elif identity not in visited:
                visited.add(identity)
                subfolders.append((path, ancestors | {identity}))
        else:
            problems.append((os.path.join(folder, name), "not a regular file"))
    return Listing(folder, names, sizes, mtimes, problems), subfolders


def _identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_dev, status.st_ino


def _reason(exc: OSError, path: str) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return "broken symbolic link"
    return (exc.strerror or str(exc)).lower()


# --------------------------------------------------------------------------- one file


class Task(NamedTuple):
    key: str  # the file's absolute path
    root: str
    known: Entry | None  # what the record says of it, if anything


class Work:
    """The files a scan found to read, in order, made into Tasks a batch at a time.  Kept as each
    folder's names joined in one string: for 1M files a list of Tasks (a path each), held through the
    whole build, took 192 MiB of the indexing process (a fifth of its peak), a name each 73, this 26."""

    def __init__(self):
        self._folders: list[tuple[str, str, str]] = []  # (folder, root, its files' names joined by NUL)
        self._starts: list[int] = []  # the number of each folder's first file
        self._known: dict[int, Entry] = {}  # by file number: what the record says of files it holds
        self._count = 0
        # The last folder's names split (its number, the list): a folder of a million files, as a
        # scraper leaves them, is split once, not once for each batch it spans.
        self._split: tuple[int, list[str]] = (-1, [])

    def add_folder(self, folder: str, root: str, names: list[str], known: dict[int, Entry]) -> None:
        """Add the files `names` of `folder`, with what the record says of some (by their place in `names`)."""
        if not names:
            return
        self._starts.append(self._count)
        self._folders.append((folder, root, "\0".join(names)))  # no file name holds a NUL
        self._known.update((self._count + place, entry) for place, entry in known.items())
        self._count += len(names)

    def __len__(self) -> int:
        return self._count

    def tasks(self, start: int, stop: int) -> list[Task]:
        """The Tasks of files `start` to `stop` (a slice's bounds)."""
        tasks = []
        number = max(0, bisect_right(self._starts, start) - 1)
        while number < len(self._folders) and self._starts[number] < stop:
            folder, root, names = self._folders[number]
            first = self._starts[number]
            if self._split[0] != number:
                self._split = (number, names.split("\0"))
            for place, name in enumerate(self._split[1][max(0, start - first) : stop - first], max(start, first)):
                tasks.append(Task(os.path.join(folder, name), root, self._known.get(place)))
            number += 1
        return tasks


# What became of a file handed to a FileIndexer.
INDEXED = "indexed"  # its article was added to the segment
SAME = "same"  # its content is what was indexed (or skipped) before
SKIPPED = "skipped"
GONE = "gone"  # it went away since the scan


class FileOutcome(NamedTuple):
    key: str
    kind: str
    entry: Entry | None = None  # what to record of the file; None to record nothing
    messages: tuple[str, ...] = ()  # warnings when indexed, the reason when skipped
    # Indexed: (record, packed sketch) of each of its articles whose body can be compared, for the groups of copies.
    sketches: tuple[tuple[str | None, bytes], ...] = ()


# A file up to this size is read once, for its hash and its articles; a larger one is streamed twice.
READ_ONCE_BYTES = 16 * 1024 * 1024


# Files are read this many bytes at a time, or a whole number of times as many: as open()'s reader
# reads them, and as /proc/self/pagemap must be read (a multiple of 8 bytes, else EINVAL).
_READ_BLOCK = 8192
_STREAM_BYTES = 1 << 20


def file_sha256(path: str, size: int) -> tuple[str, bytes | None]:
    """The hash of what indexing reads of the file, and its bytes if it is small enough to keep
    for reading.

    Never more than the file claims to hold (a container is read whole), and never more than
    READ_ONCE_BYTES of a file that claims less: one that claims to be regular can be endless
    (a link to /proc/self/pagemap says it is empty).
    """
    # Read by os.read, without the file objects open() makes: they were half the CPU of hashing
    # a file of 2 KB.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        if size <= READ_ONCE_BYTES:
            # What it claims first (reading READ_ONCE_BYTES + 1 at once made a bytes object of that
            # size for each file, 16 MiB mapped and unmapped, 2.5x the CPU of the read); one byte
            # more tells that it grew, and then it is read as far as any small file.
            data = _read_at_most(descriptor, READ_ONCE_BYTES + 1, first=size + 1)
            return hashlib.sha256(data).hexdigest(), data
        digest = hashlib.sha256()
        # One byte more than claimed, so that a file growing while it is read counts as changed.
        limit = size + 1
        while limit > 0:
            chunk = os.read(descriptor, _STREAM_BYTES)
            if not chunk:
                break
            digest.update(chunk if len(chunk) <= limit else chunk[:limit])
            limit -= len(chunk)
        return digest.hexdigest(), None
    finally:
        os.close(descriptor)


def _read_at_most(descriptor: int, most: int, first: int) -> bytes:
    """The open file's first `most` bytes, fewer where it ends; `first` of them asked for at first."""
    chunks = []
    length, wanted = 0, first
    while length < most:
        chunk = os.read(descriptor, -(-wanted // _READ_BLOCK) * _READ_BLOCK)
        if not chunk:
            break
        chunks.append(chunk)
        length += len(chunk)
        wanted = most - length
    data = b"".join(chunks)
    return data if length <= most else data[:most]


def article_id(path: str, article: Article) -> str:
    """How users name an article: its file's path in the folder, and a container's record key."""
    return f"{path}#{article.key}" if article.key else path


def relative_path(key: str, root: str) -> str:
    """Path(key).relative_to(root).as_posix(), by cutting the root off where both are written as
    Path writes them (as the walk makes them): Path's parsing took 7x the CPU (6 µs an article)."""
    if key.startswith(root) and key[len(root) : len(root) + 1] == "/" and os.path.normpath(key) == key \
            and os.path.normpath(root) == root != "/":
        return key[len(root) + 1 :]
    return Path(key).relative_to(root).as_posix()


def article_document(key: str, root: str, article: Article, entry: Entry, long_bodies_apart: bool = False,
                     language: str | None = None, signature: tuple[int, ...] | None = None) -> dict:
    """The document of an article; `long_bodies_apart`: a long stored body goes to its own column
    (the index's schema has it: engines/whoosh/long_bodies.py), not to the stored fields;
    `language` and `signature` (its body's sketch): the article's, where the caller makes them
    (FileIndexer: many at once)."""
    from archsearch.analysis import article_language
    from archsearch.engines.whoosh import long_bodies
    from archsearch.schema import LONG_BODY_FIELD, UNDATED_MARK, capitals_text, day_number, exact_text

    path = relative_path(key, root)
    fmt = FORMATS.get(article.format)
    stored = fmt is None or fmt.body_stored
    # As long_bodies.kept_apart tells them: an article of a known reader that stores its bodies.
    apart = long_bodies_apart and fmt is not None and stored and long_bodies.is_long(article.body)
    return {
        # Every article of a file has the file's key: deleting the key deletes them all.
        "key": key_term(key),
        "_stored_key": key,
        "record": article.key or None,
        "path": key_term(path),
        "_stored_path": article_id(path, article),
        "root": key_term(root),
        "_stored_root": root,
        # A title made from the lead is shown as the title, indexed apart (see schema.py).
        "title": "" if article.title_derived else article.title,
        "_stored_title": article.title,
        "derived_title": article.title if article.title_derived else None,
        "lead": article.lead,
        "body": article.body,
        # Stored where reading the body again for snippets and `show` would cost a parser
        # library or a scan of a container; plain text is read again from its file.
        "text": article.body if stored and not apart else None,
        LONG_BODY_FIELD: long_bodies.encode(article.body) if apart else None,
        "exact": exact_text("" if article.title_derived else article.title, article.body),
        "capitals": capitals_text(article.title, article.body),
        "source": _valid_unicode(article.source),
        "place": _valid_unicode(article.place),
        "section": article.section,
        "url": _valid_unicode(article.url),
        "author": article.author,
        "language": article_language(article.language, article.title, article.body) if language is None else language,
        "format": article.format,
        "fetched": article.fetched.isoformat() if article.fetched else None,
        "sketch": sketch(article.body) if signature is None else signature,
        "date": day_number(article.date) if article.date else None,
        "undated": None if article.date else UNDATED_MARK,
        "mtime_ns": entry.mtime_ns,
        "size": entry.size,
        "sha256": entry.sha256,
    }


# A lone surrogate: what a JSON string's "\ud800" or an e-mail header's byte that is not UTF-8 leaves.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_unicode(name: str) -> str:
    """A name that both engines write whole, as a term or a sort key, in UTF-8 (source, place, URL):
    a lone surrogate, which UTF-8 cannot hold, as U+FFFD (as the terminal shows it anyway)."""
    return name if name.isascii() else _SURROGATE.sub("\ufffd", name)


# glibc's malloc maps a block this large or larger apart, and unmaps it when it is freed.
LARGE_BLOCK_BYTES = 256 * 1024


def stored_bytes_at_most(document: dict) -> int:
    """The most bytes a document's stored fields take in its segment's column: Whoosh writes them
    pickled, then compressed (PickleColumn of CompressedBytesColumn), which adds no more than a few
    bytes a block of deflate to incompressible text."""
    stored = {}
    for name, stored_as in _stored_fields():
        value = document[stored_as] if stored_as in document else document.get(name)
        if value is not None:
            stored[name] = value
    size = len(pickle.dumps(stored, pickle.HIGHEST_PROTOCOL))
    return size + size // 1000 + 64


@cache
def _stored_fields() -> tuple[tuple[str, str], ...]:
    """Each stored field's name, and the document's key of its value where it is stored apart
    from what is indexed (`_stored_<name>`)."""
    from archsearch.schema import build_schema

    return tuple((name, f"_stored_{name}") for name, field in build_schema().items() if field.stored)


def map_large_blocks_apart() -> None:
    """Fix glibc's threshold for mapping large blocks apart (LARGE_BLOCK_BYTES), which it otherwise
    raises to the size of each mapped block freed (up to 32 MiB): once raised, a segment's large
    arrays and tables come from the heap, between small objects that outlive them, and a process
    that writes segment after segment grows with each (20k articles with one job, two segments in
    one process: 403 MiB at its peak, 278 MiB so set).  Nothing where the C library is not glibc."""
    import ctypes

    from archsearch.glibc_malloc import M_MMAP_THRESHOLD

    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES)
    except (OSError, AttributeError):
        pass


# Articles whose languages are identified together (analysis.article_languages: numpy's cost per
# call, µs, paid once for them all), their documents waiting to be added until then.  Reading,
# identifying and adding 3,000 files took 0.91x the CPU with 16 at once as with one (more than
# identification alone saves), and 64 at once 0.94-0.99x that again; 256 no less.
LANGUAGES_AT_ONCE = 64
# ... or fewer, whose bodies hold this many characters: a crawl's articles are never all in memory.
WAITING_CHARS = 1 << 20


class FileIndexer:
    """Reads files and adds their articles to a new segment of the index, in one process."""

    def __init__(self, index_dir: Path):
        from archsearch.engines.whoosh.segments import new_segment_writer
        from archsearch.schema import LONG_BODY_FIELD

        map_large_blocks_apart()

        self._index_dir = index_dir
        self._ix = unmapped_storage(index_dir).open_index()
        # An index written before the column of long bodies keeps them all in the stored fields.
        self._long_bodies_apart = LONG_BODY_FIELD in self._ix.schema
        self._new_writer = new_segment_writer
        self._writer = None
        # Segments written out since the last finish() because the one being written was full
        # (long_bodies.SEGMENT_BYTES), in order: the writer's segment follows them.
        self._full_segments = []
        self._stamp = 0  # the `indexed` stamp of the segments being written (alerts.py)
        # Bytes of long bodies and, at most, of stored fields in the segment being written: it
        # holds long_bodies.SEGMENT_BYTES of each (segments.BOUNDED_COLUMNS).
        self._column_bytes = (0, 0)
        # Articles read but not yet added, in order: (document, bytes of its long body, what its
        # language is told from, its file's list of sketches), and the characters of their bodies.
        self._waiting: list[tuple[dict, int, tuple[str, str, str], list]] = []
        self._waiting_chars = 0
        # The outcomes of the files read since the last outcomes given, in order, each with the
        # (record, sketch) of its articles added so far that can be compared: the sketches are
        # made as the articles are added, many at once, and a file's outcome carries them.
        self._pending: list[tuple[FileOutcome, list]] = []

    def _segment_stamp(self) -> int:
        """The `indexed` stamp of the articles of a new segment (alerts.next_stamp)."""
        from archsearch.alerts import next_stamp

        return next_stamp(self._index_dir)

    def index(self, task: Task) -> list[FileOutcome]:
        """Read a file, its articles added or left waiting; the outcomes of the files read whose
        articles have all been added (none while some wait), in order."""
        file_sketches = []
        self._pending.append((self._read(task, file_sketches), file_sketches))
        return [] if self._waiting else self._completed()

    def _completed(self) -> list[FileOutcome]:
        pending, self._pending = self._pending, []
        return [outcome._replace(sketches=tuple(file_sketches)) for outcome, file_sketches in pending]

    def _read(self, task: Task, file_sketches: list) -> FileOutcome:
        """The outcome of reading a file, but for its sketches: its articles' go to `file_sketches`
        as they are added."""
        key = task.key
        try:
            # Fingerprinted before reading, so a change while reading shows at the next run.
            status = os.stat(key)
            if not stat.S_ISREG(status.st_mode):
                return FileOutcome(key, SKIPPED, messages=("not a regular file",))
            sha256, data = file_sha256(key, status.st_size)
            entry = Entry(task.root, status.st_size, status.st_mtime_ns, sha256)
        except FileNotFoundError:
            return FileOutcome(key, GONE)
        except OSError as exc:
            return FileOutcome(key, SKIPPED, messages=(_reason(exc, key),))
        if task.known and task.known.sha256 == entry.sha256:
            return FileOutcome(key, SAME, entry._replace(skipped=task.known.skipped))
        from archsearch.engines.whoosh import long_bodies
        from archsearch.schema import LONG_BODY_FIELD

        warnings = []
        left_out = []  # why articles too large for any segment were left out
        added = False
        try:
            # Added as they come, so a crawl's articles are never all in memory; a file that
            # raises UnreadableFile has yielded no article.
            for item in read_file(key, data):
                if isinstance(item, Article):
                    if self._writer is None:
                        self._writer = self._new_writer(self._ix)
                        self._stamp = self._segment_stamp()
                        self._column_bytes = (0, 0)
                    # Its language and sketch are set when it is added (_add_waiting).
                    document = article_document(key, task.root, item, entry, self._long_bodies_apart, language="",
                                                signature=())
                    long_body = len(document[LONG_BODY_FIELD] or b"")
                    if long_body > long_bodies.SEGMENT_BYTES:
                        left_out.append(long_bodies.past_segment_message(long_body))
                        warnings.append(f"{document['_stored_path']} left out: {left_out[-1]}")
                        continue
                    self._waiting.append((document, long_body, (item.language, item.title, item.body), file_sketches))
                    self._waiting_chars += len(item.body)
                    if len(self._waiting) == LANGUAGES_AT_ONCE or self._waiting_chars >= WAITING_CHARS:
                        self._add_waiting()
                    added = True
                    warnings += item.warnings
                else:
                    warnings.append(str(item))
        except UnreadableFile as exc:
            reason = str(exc)
            # What the file holds is recorded, so it is not read again until it changes; a
            # failure to read it is not.
            lasting = not isinstance(exc.__cause__, OSError)
            return FileOutcome(key, SKIPPED, entry._replace(skipped=reason) if lasting else None, (reason,))
        if left_out and not added:  # as a file that cannot be read: not read again until it changes
            return FileOutcome(key, SKIPPED, entry._replace(skipped=left_out[0]), (left_out[0],))
        return FileOutcome(key, INDEXED, entry, tuple(warnings))

    def _add_waiting(self) -> None:
        """Add the articles waiting, in order, their languages identified and their bodies sketched together."""
        from archsearch.analysis import article_languages
        from archsearch.engines.whoosh import long_bodies

        waiting, self._waiting, self._waiting_chars = self._waiting, [], 0
        languages = article_languages([texts for _, _, texts, _ in waiting])
        signatures = sketches([document["body"] for document, *_ in waiting])
        for (document, long_body, _, file_sketches), language, signature in zip(waiting, languages, signatures):
            document["language"] = language
            document["sketch"] = signature
            if comparable(signature):
                file_sketches.append((document["record"], pack(signature)))
            stored = stored_bytes_at_most(document)
            long_bytes, stored_bytes = self._column_bytes
            if stored_bytes and max(long_bytes + long_body, stored_bytes + stored) > long_bodies.SEGMENT_BYTES:
                # The segment is full: the articles go on in a new one.
                self._full_segments.append(self._writer.finish_segment())
                self._writer = self._new_writer(self._ix)
                long_bytes, stored_bytes = 0, 0
            self._writer.add_document(**document, indexed=self._stamp)
            self._column_bytes = long_bytes + long_body, stored_bytes + stored

    def finish(self) -> tuple[list[FileOutcome], list]:
        """The outcomes of the files read not given yet, and the segments of the articles added since
        the last finish(), in order (none if there were none)."""
        self._add_waiting()
        writer, self._writer = self._writer, None
        segments, self._full_segments = self._full_segments, []
        last = writer.finish_segment() if writer else None
        return self._completed(), segments + [last] if last else segments

    def discard(self) -> None:
        """Give up the segments of the articles added since the last finish(); their files are
        removed by the next commit."""
        writer, self._writer = self._writer, None
        self._full_segments = []
        self._waiting, self._waiting_chars = [], 0
        self._pending = []
        if writer:
            writer.discard()


# --------------------------------------------------------------------------- runners


class InProcess:
    """Indexes a batch of files in this process."""

    def __init__(self, index_dir: Path):
        self._indexer = FileIndexer(index_dir)

    def run_batch(self, tasks: list[Task], on_outcome, should_stop) -> tuple[list[FileOutcome], list]:
        outcomes = []
        for task in tasks:
            if should_stop():
                break
            completed = self._indexer.index(task)
            outcomes += completed
            for outcome in completed:
                on_outcome(outcome)
        completed, segments = self._indexer.finish()
        outcomes += completed
        for outcome in completed:
            on_outcome(outcome)
        return outcomes, segments

    def close(self) -> None:
        self._indexer.discard()


# How progress reports what became of a file.
OUTCOME_NAMES = {INDEXED: "added", SAME: "unchanged", SKIPPED: "skipped", GONE: "removed"}

# Messages between the indexing process and its workers.
FINISH = "finish"  # to a worker: write out your segments (None: end); else a chunk of tasks
# From a worker: FILES, the outcomes a chunk completed (FileIndexer.index); SEGMENTS, the last outcomes and the segments.
FILES, SEGMENTS, FAILED = "files", "segments", "failed"
# Files go to the workers in turn, this many at a time, so that where a file's article ends up
# depends only on the order of the files; a chunk is one message, and its outcomes one answer (a
# message a file cost the indexing process 1.4-1.5 s of CPU a batch of 20,000, 0.3 s so, taken
# from the workers' two cores).  A worker has at most CHUNKS_IN_FLIGHT chunks waiting, so that
# a stop request is quick to honour and a pipe never fills up.
TASK_CHUNK = 16
CHUNKS_IN_FLIGHT = 2


class WorkerPool:
    """Worker processes that each index files into a segment of their own."""

    def __init__(self, make_indexer: Callable[[], FileIndexer], count: int):
        # make_indexer is picklable (a class, or functools.partial of one) and called in each worker.
        # Spawned, not forked: a worker starts small instead of sharing (and, through reference
        # counts, copying) the memory of the scan.  Pipes, not queues: a queue's semaphores
        # outlive a killed run with a warning from multiprocessing's resource tracker.
        # Imported here: a run with few files to read, or none, starts no worker.
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._connections = []
        self._processes = []
        # A Ctrl-C is for this process to handle, not for the workers; and a worker, started as
        # `python -c`, is not to import the standard library from the folder the user is in (a
        # re.py there ran in each worker, which then died).
        with _interrupts_ignored(), _environment(PYTHONSAFEPATH="1"), _from_a_folder_that_exists():
            for number in range(count):
                ours, theirs = context.Pipe()
                process = context.Process(
                    target=work,
                    args=(make_indexer, theirs, os.getpid()),
                    name=f"archsearch index worker {number}",
                    daemon=True,
                )
                process.start()
                theirs.close()  # so that a worker's end shows here as end of file
                self._connections.append(ours)
                self._processes.append(process)

    def run_batch(self, tasks: list[Task], on_outcome, should_stop) -> tuple[list[FileOutcome], list]:
        import multiprocessing.connection

        count = len(self._connections)
        waiting = [deque() for _ in range(count)]
        for start in range(0, len(tasks), TASK_CHUNK):
            waiting[start // TASK_CHUNK % count].append(tasks[start : start + TASK_CHUNK])
        in_flight = [0] * count  # chunks
        finishing = [False] * count
        stopping = False

        def feed(number: int) -> None:
            connection = self._connections[number]
            while waiting[number] and in_flight[number] < CHUNKS_IN_FLIGHT and not stopping:
                connection.send(waiting[number].popleft())
                in_flight[number] += 1
            if (stopping or not waiting[number]) and not in_flight[number] and not finishing[number]:
                connection.send(FINISH)
                finishing[number] = True

        for number in range(count):
            feed(number)
        outcomes = []
        segments = {}
        while len(segments) < count:
            if not stopping and should_stop():
                stopping = True
                for number in range(count):
                    feed(number)
            ready = multiprocessing.connection.wait(self._connections, timeout=0.2)
            for connection in ready:
                number = self._connections.index(connection)
                try:
                    kind, payload = connection.recv()
                except EOFError:
                    raise ArchsearchError(self._death(number)) from None
                if kind == FILES:
                    in_flight[number] -= 1
                    completed = payload
                elif kind == SEGMENTS:
                    completed, segments[number] = payload
                else:
                    raise ArchsearchError(f"indexing failed in a worker process: {payload}")
                outcomes += completed
                for outcome in completed:
                    on_outcome(outcome)
                feed(number)
        return outcomes, [segment for number in sorted(segments) for segment in segments[number]]

    def _death(self, number: int) -> str:
        process = self._processes[number]
        process.join(timeout=1)
        return (
            f"a worker process ended unexpectedly (exit status {process.exitcode}); "
            "nothing of this batch was committed"
        )

    def close(self) -> None:
        for connection in self._connections:
            try:
                connection.send(None)
            except OSError:  # that worker is gone already
                pass
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
        for connection in self._connections:
            connection.close()


def work(make_indexer: Callable[[], FileIndexer], connection, parent: int) -> None:
    """A worker process: index the files it is sent until told to stop."""
    _exit_with(parent)
    try:
        # What takes most of a worker's start is done before its first message; the indexer,
        # which opens the index, after it: the indexing process may be committing meanwhile.
        load_indexing_code()
        indexer = None
        for message in iter(connection.recv, None):
            if indexer is None:
                indexer = make_indexer()
            if message == FINISH:
                connection.send((SEGMENTS, indexer.finish()))
            else:
                connection.send((FILES, [outcome for task in message for outcome in indexer.index(task)]))
    except (EOFError, BrokenPipeError):  # the indexing process is gone
        return
    except Exception as exc:
        # Reported by the indexing process, as one line unless debugging.
        lines = traceback.format_exception(exc) if os.environ.get("ARCHSEARCH_DEBUG") else None
        connection.send((FAILED, "".join(lines) if lines else traceback.format_exception_only(exc)[-1].strip()))


# Imported by a worker before its first files (load_indexing_code): what indexing any file uses.
# A format's own reader comes with the first file of that format.
WORKER_MODULES = (
    "archsearch.alerts",
    "archsearch.engines.whoosh.long_bodies",
    "archsearch.engines.whoosh.segments",
    "archsearch.schema",
    "whoosh.searching",
)


def load_indexing_code() -> None:
    """Import what indexing uses and load the language model, without reading the index."""
    import importlib

    from archsearch.analysis.language import identify_languages

    for name in WORKER_MODULES:
        importlib.import_module(name)
    identify_languages(["A sentence long enough to be identified loads the model."])


def _exit_with(parent: int) -> None:
    """End this process when its parent ends, however it ends (kill -9 included)."""

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


@contextmanager
def _environment(**settings: str):
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _from_a_folder_that_exists():
    """spawn starts each worker in this process's working folder, which it asks os.getcwd() for:
    once that folder was removed, in / (a worker is given absolute paths alone), and this process
    goes back where it was afterwards."""
    try:
        os.getcwd()
    except FileNotFoundError:
        here = os.open(".", os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.chdir("/")
            yield
        finally:
            os.fchdir(here)
            os.close(here)
        return
    yield


@contextmanager
def _interrupts_ignored():
    # Started with SIGINT ignored, a Python process keeps ignoring it; only the main thread may
    # change signal handlers.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------------------- the run


def _never() -> bool:
    return False


def _ignore(_progress: Progress) -> None:
    pass


@contextmanager
def run_lock(index_dir: Path, wait: float, progress: Callable[[Progress], None], should_stop=_never):
    """Hold the index's run lock, waiting at most `wait` seconds for another run to finish.

    A stop request while waiting, with nothing done yet, is a KeyboardInterrupt.
    """
    path = index_dir / LOCK_FILE
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _lock_holder(path)
                if deadline is None:
                    deadline = time.monotonic() + wait
                    progress(Progress("waiting", holder=holder))
                if should_stop():
                    raise KeyboardInterrupt
                if time.monotonic() >= deadline:
                    raise ArchsearchError(
                        f"another 'archsearch index' ({holder}) is still updating {index_dir} after "
                        f"{wait:g} s; try again later, or wait longer with --wait SECONDS"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)  # which releases the lock


def _lock_holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "pid unknown"


def create_index(index_dir: Path):
    from archsearch.schema import build_schema

    return unmapped_storage(index_dir).create_index(build_schema())


def has_index(index_dir: Path) -> bool:
    """Whether the folder holds an index (without reading it, which may fail)."""
    return index_dir.is_dir() and _latest_generation(os.listdir(index_dir)) >= 0


# Whoosh's names: a generation's table of contents, and every file of the index.
_TABLE_OF_CONTENTS = re.compile(rf"^_{INDEX_NAME}_([0-9]+)\.toc$")
_ENGINE_FILE_PREFIXES = (INDEX_NAME, f"_{INDEX_NAME}")


def _latest_generation(names: list[str]) -> int:
    """The latest generation whose table of contents is among the names of the index's files, -1 if none."""
    return max((int(found[1]) for found in map(_TABLE_OF_CONTENTS.match, names) if found), default=-1)


def index_state(index_dir: Path, articles: int) -> IndexState:
    """The index as it is now, holding `articles`: its generation, and the name, size and
    modification time of each of Whoosh's files, which any commit, and any damage short of
    bytes rewritten in place under the same size and time, changes."""
    files = []
    with os.scandir(index_dir) as listing:
        for entry in listing:
            if entry.name.startswith(_ENGINE_FILE_PREFIXES):
                with suppress(FileNotFoundError):  # removed by hand meanwhile: left out, so the state differs
                    status = entry.stat(follow_symlinks=False)
                    files.append((entry.name, status.st_size, status.st_mtime_ns))
    files.sort()
    return IndexState(_latest_generation([name for name, _, _ in files]), json.dumps(files), articles, __version__)


def prepare_index_folder(index_dir: Path) -> bool:
    """Make sure the index folder can be written; True if it was made now (a new index)."""
    if index_dir.exists() and not index_dir.is_dir():
        raise ArchsearchError(f"index location {index_dir} exists and is not a folder")
    if index_dir.is_dir() and not has_index(index_dir):
        # Never write an index into a folder of the user's own files.  A folder with the run
        # lock in it is an index being made (now, or by a run that was killed).
        names = os.listdir(index_dir)
        if names and LOCK_FILE not in names:
            raise ArchsearchError(f"index location {index_dir} is a folder that is not empty and holds no index")
    if index_dir.is_dir():
        return False
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    # Private: an index holds the text of every article, whoever may read the articles themselves.
    index_dir.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
    return True


def update_index(
    index_dir: Path,
    folders: list[str],
    cwd: Path | None = None,
    *,
    forget: list[str] = (),
    rebuild: bool = False,
    jobs: int = 1,
    commit_every: int | None = None,
    lock_wait: float = DEFAULT_LOCK_WAIT,
    progress: Callable[[Progress], None] = _ignore,
    should_stop: Callable[[], bool] = _never,
    compact: bool = False,
) -> IndexReport:
    """Bring the index in step with the files under the folders.

    Indexes new and changed files, drops the articles of files that are gone and of the
    folders in `forget`, and remembers the folders.  `rebuild` reads every file again into a new
    index beside the old one, which replaces it at the end, at once.  `jobs` worker processes
    read and analyse files; a commit follows every `commit_every` files read (default
    FILES_PER_SEGMENT per worker).  When `should_stop()` turns true the run commits what it has
    done and returns a report marked interrupted.

    `compact` then merges the index's segments into one (compact_index); with no folders, no
    `forget` and no `rebuild`, that is all the run does: it reads no folder.
    """
    index_dir = Path(index_dir)
    try:
        if compact and not (folders or forget or rebuild):
            return _compact_only(index_dir, lock_wait, progress, should_stop)
        report = _update(index_dir, folders, cwd, forget, rebuild, jobs, commit_every, lock_wait, progress, should_stop,
                         compact)
    except (OSError, sqlite3.Error) as exc:
        # Problems with the article files are reported file by file; these are the index's own.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        raise ArchsearchError(f"cannot update the index at {index_dir}: {reason.lower()}{where}") from None
    return report


def _update(index_dir, folders, cwd, forget, rebuild, jobs, commit_every, lock_wait, progress, should_stop, compact):
    made_folder = prepare_index_folder(index_dir)
    with run_lock(index_dir, lock_wait, progress, should_stop):
        # Looked at under the lock: another run may have made the index while this one waited.
        first = not has_index(index_dir)
        build_dir = index_dir / REBUILD_FOLDER if rebuild else index_dir
        try:
            report = _run(index_dir, build_dir, folders, cwd, forget, rebuild, jobs, commit_every, progress, should_stop)
        except Exception:  # (a kill runs no cleanup: KeyboardInterrupt included, as tests make one)
            if first:
                # Not a folder that later commands take for an index, nor whose folders a later
                # run would go on indexing: the next command says there is no index yet.
                discard_first_index(index_dir, made_folder)
            else:
                # What a failed commit left (on a full disk, say) takes room the next run needs.
                remove_unreferenced_files(str(build_dir))
            raise
        if first and (report.nothing_indexable or (report.interrupted and not report.total)):
            discard_first_index(index_dir, made_folder)
            report.discarded = True
            return report
        report.created = made_folder
        if compact and not report.interrupted and has_index(index_dir):
            compact_index(index_dir, report, progress, should_stop)
        return report


def discard_first_index(index_dir: Path, made_folder: bool) -> None:
    """Removes what a first run made in index_dir (under its run lock), and the folder itself when
    the run made it. Only archsearch's own files: a folder without an index that a run writes
    into was empty, or held what an earlier first run, killed, had left."""
    with suppress(FileNotFoundError):
        shutil.rmtree(index_dir / REBUILD_FOLDER)
    for name in os.listdir(index_dir):
        if name.startswith((*_ENGINE_FILE_PREFIXES, MANIFEST_FILE)) or name in (LOCK_FILE, SETTINGS_FILE, ROOTS_TEMPORARY):
            path = index_dir / name
            with suppress(FileNotFoundError):
                if path.is_dir() and not path.is_symlink():  # Whoosh's MAIN.tmp, where a segment is written
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
    if made_folder:
        with suppress(OSError):  # not when something else was put in it meanwhile
            index_dir.rmdir()


def _compact_only(index_dir: Path, lock_wait: float, progress, should_stop) -> IndexReport:
    """`index --compact` with nothing else asked: the index merged into one segment, no folder read."""
    if not has_index(index_dir):
        raise ArchsearchError(f"no index at {index_dir} to compact")
    with run_lock(index_dir, lock_wait, progress, should_stop):
        damage = find_damage(index_dir)
        if damage:
            raise DamagedIndex(f"the index at {index_dir} is damaged ({damage}): {REBUILD_HINT}")
        remove_unreferenced_files(str(index_dir))  # left by a run that was killed or failed
        report = IndexReport(roots=read_roots(index_dir), scanned=False)
        compact_index(index_dir, report, progress, should_stop)
        return report


def compact_index(index_dir: Path, report: IndexReport, progress, should_stop) -> None:
    """Merge the index's segments into one (segments.compact_segments), under the run lock the
    caller holds; the record of indexed files follows each new generation if it matched the old.
    Fills in the report's compacted and total; a stop request leaves the index as of the last
    pass committed (as it was, if there is one pass) and marks the report interrupted."""
    from archsearch.engines.whoosh.segments import CompactionStopped, compact_segments

    progress(Progress("committing"))
    record = Manifest(index_dir / MANIFEST_FILE)
    committed = []

    def follow(generation: int) -> None:
        committed.append(generation)
        if in_step:
            record.record(generation, {}, ())

    try:
        ix = open_index(index_dir)
        before = len(ix._segments())
        # Out of step (a run killed before its record), the record is made anew by the next run.
        in_step = record.generation == ix.latest_generation()
        try:
            with damage_reported(index_dir):  # merging reads every segment
                after = compact_segments(ix, should_stop, follow)
        except BaseException as exc:
            # The new segment's files, never committed, take as much room as the index.
            remove_unreferenced_files(str(index_dir))
            if not isinstance(exc, CompactionStopped):
                raise
            report.interrupted = True
            if not committed:
                return
            after = len(open_index(index_dir)._segments())
        report.compacted = before, after, bool(committed)
        report.total = open_index(index_dir).doc_count() if committed else ix.doc_count()
        if committed and in_step:
            record.keep_index_state(index_state(index_dir, report.total))
    finally:
        record.close()


def remove_unreferenced_files(index_dir: str) -> None:
    from archsearch.engines.whoosh.segments import remove_unreferenced_files as remove

    if os.path.isdir(index_dir):
        with suppress(OSError):
            remove(index_dir)


def _run(index_dir, build_dir, folders, cwd, forget, rebuild, jobs, commit_every, progress, should_stop):
    # Opened first only for an index that exists: a new index is made before its record, so that
    # a run killed at any moment never leaves a record without an index (an index without a record
    # is made one by the next run, as after a kill between a commit and its record).
    record = Manifest(index_dir / MANIFEST_FILE) if not rebuild and has_index(index_dir) else None
    try:
        left = _state_as_left(index_dir, record) if record else None
        dropped = 0
        if left is None:
            if record:
                dropped = drop_lost_postings(index_dir)  # their articles' files indexed again below
                damage = find_damage(index_dir)
                if damage:
                    raise DamagedIndex(f"the index at {index_dir} is damaged ({damage}): {REBUILD_HINT}")
            remove_unreferenced_files(str(index_dir))  # left by a run that was killed or failed
            if rebuild:  # its roots and recorded folders are read below
                record = Manifest(index_dir / MANIFEST_FILE)
        try:
            remembered = read_roots(index_dir)
        except DamagedIndex:
            if not rebuild:
                raise
            remembered = sorted(record.roots())
        # The folders of articles still recorded: a run that remembered the forgetting of a folder
        # may have been killed before it removed the folder's articles.
        forgotten = forgotten_roots(list(forget), remembered, record.roots() if record else [])
        kept = [root for root in remembered if root not in forgotten]
        given = choose_roots(folders, kept, cwd) if folders or not forget else []
        roots = sorted(set(kept) | set(given))
        check_not_nested(roots)
        write_roots(index_dir, roots)
        report = IndexReport(roots=roots)
        if dropped:
            report.warnings.append((str(index_dir), f"a postings file of the index was missing or truncated: its {dropped} articles are indexed again"))
        if rebuild:
            record.close()
            return _rebuild(index_dir, build_dir, report, jobs, commit_every, progress, should_stop)
        if record is None:
            ix = create_index(index_dir)
            record = Manifest(index_dir / MANIFEST_FILE)
            record.replace(ix.latest_generation(), [])
        else:  # opened only if something changed, when the index is as the last run left it
            ix = None if left else _open_for_update(index_dir, record, report)
        _check_staged_rebuild(index_dir / REBUILD_FOLDER, report)
        run = Run(index_dir, index_dir, ix, record, report, progress, should_stop)
        if left:
            run.articles = left.articles
        run.drop_outside(roots)
        work = run.scan(given or kept)
        if work:
            run.index(work, jobs, commit_every)
        report = run.finish()
        if record.generation is not None:
            record.keep_index_state(index_state(index_dir, report.total))
        return report
    finally:
        if record:
            record.close()


def _state_as_left(index_dir: Path, record: Manifest) -> IndexState | None:
    """The index's state as the last run left it, if it still is: found whole then, by this
    version, with the record at its generation, and none of its files changed since."""
    left = record.index_state()
    if left is not None and record.is_whole() and left == index_state(index_dir, left.articles):
        return left
    return None


def _rebuild(index_dir, staging, report, jobs, commit_every, progress, should_stop):
    """Build the index afresh in the staging folder, then put it in the index's place at once.

    Queries answer from the old index until the new one is whole.  A rebuild that was stopped or
    killed is resumed by the next, from its last commit: the staged index is updated like any other.
    """
    from archsearch.manifest import install
    from archsearch.engines.whoosh.segments import clean_files, publish_segments, INDEX_NAME
    from whoosh.filedb.filestore import FileStorage

    if not has_index(index_dir):  # a first build: meanwhile, queries find an empty index
        create_index(index_dir)
    ix = _open_staged(staging)
    record = Manifest(staging / MANIFEST_FILE)
    try:
        _sync_record(staging, ix, record)
        run = Run(staging, index_dir, ix, record, report, progress, should_stop)
        run.drop_outside(report.roots)
        work = run.scan(report.roots)
        if work:
            run.index(work, jobs, commit_every)
        report = run.finish()
    finally:
        record.close()
    if report.interrupted:
        return report
    generation, segments = publish_segments(str(staging), str(index_dir))
    install(staging / MANIFEST_FILE, index_dir / MANIFEST_FILE, generation)
    shutil.rmtree(staging)
    clean_files(FileStorage(str(index_dir)), INDEX_NAME, generation, segments)
    return report


def _open_staged(staging: Path):
    """The staged index of a rebuild: the one a stopped rebuild left, if it is whole, else a new one."""
    if has_index(staging) and find_damage(staging) is None:
        try:
            ix = open_index(staging)
        except ArchsearchError:  # made by another version
            pass
        else:
            remove_unreferenced_files(str(staging))
            return ix
    if staging.is_symlink() or staging.is_file():
        staging.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=PRIVATE_FOLDER)
    return create_index(staging)


def _check_staged_rebuild(staging: Path, report: IndexReport) -> None:
    """Say that a stopped rebuild waits to be finished; remove what a finished one left (killed
    after its segments went into the index, they are gone from it)."""
    if not staging.exists():
        return
    if has_index(staging) and find_damage(staging) is None:
        report.warnings.append((str(staging), "a rebuild was stopped part-way; 'archsearch index --rebuild' finishes it"))
    else:
        shutil.rmtree(staging, ignore_errors=True)


def _open_for_update(index_dir: Path, record: Manifest, report: IndexReport):
    """The index to update, with the record of its files made to match."""
    ix = open_index(index_dir)
    if _sync_record(index_dir, ix, record):
        report.warnings.append((str(record.path), "the record of indexed files was damaged: made anew from the index"))
    return ix


def _sync_record(index_dir: Path, ix, record: Manifest) -> bool:
    """Make the record of indexed files match the index (after a kill between a commit and its
    record, or when the record is damaged), from the index's stored fields; True if it was damaged."""
    generation = ix.latest_generation()
    whole = record.is_whole()
    if record.generation == generation and whole:
        return False
    with damage_reported(index_dir):
        try:
            if not whole:
                raise sqlite3.DatabaseError("damaged")
            record.replace(generation, *stored_record(ix))
            return record.damaged
        except sqlite3.DatabaseError:
            record.start_afresh()
            record.replace(generation, *stored_record(ix))
            return True


def stored_record(ix) -> tuple[list[tuple[str, Entry]], list[tuple[str, str | None, bytes]]]:
    """What the record should say of the indexed files, and their articles' sketches, from the
    index itself (slow)."""
    entries, articles = [], []
    with ix.searcher() as searcher:
        for stored in searcher.all_stored_fields():
            entries.append((stored["key"], Entry(stored["root"], stored["size"], stored["mtime_ns"], stored["sha256"])))
            if comparable(stored.get("sketch") or ()):
                articles.append((stored["key"], stored.get("record"), pack(stored["sketch"])))
    return entries, articles


class Run:
    """One update of an index: the changes found, committed batch by batch, and the report."""

    # Whether each batch (of MIN_FILES_PER_FRESH_WORKER files a worker or more) has runners
    # (workers) of its own, ended before its commit: a worker that has written its segment keeps
    # most of the memory it took (freed, but too scattered to go back to the system), and the
    # commit's copy groups are what takes the most of it at 1M (bench/README.md, "Peak memory of
    # indexing at 1M").  Starting a worker costs about 0.8 s of CPU (the language model), 2% of
    # a batch of FILES_PER_SEGMENT files: the next batch's start during the commit (Run.index),
    # 120 MiB each once started, and read while the commit's record is written (its copy groups).
    RUNNERS_PER_BATCH = True

    def __init__(self, build_dir: Path, index_dir: Path, ix, manifest: Manifest, report: IndexReport, progress,
                 should_stop):
        self.build_dir = build_dir  # where the index being updated is: index_dir, or a rebuild's staging folder
        self.index_dir = index_dir
        self._ix = ix  # None: opened when first used
        # How many articles the index holds, while that is known without opening it.
        self.articles: int | None = None
        self.manifest = manifest
        self.report = report
        self.progress = progress
        self.should_stop = should_stop
        # Articles of files found gone or no longer covered: removed with the next commit.
        self.gone: dict[str, Entry] = {}
        self.done = 0  # files read so far, of
        self.total = 0
        # The record of the last batch's files, when written while the next batch is read (_commit).
        self._recording = None  # a concurrent.futures.Future
        self._record_thread = None  # the ThreadPoolExecutor that writes it

    @property
    def ix(self):
        if self._ix is None:
            self._ix = open_index(self.build_dir)
        return self._ix

    def tell(self, stage: str, path: str = "", outcome: str = "") -> None:
        self.progress(Progress(stage, self.done, self.total, path, outcome))

    def drop_outside(self, roots: list[str]) -> None:
        """Remove the articles of folders no longer covered (forgotten ones)."""
        for root in self.manifest.roots() - set(roots):
            self.gone.update(self.manifest.entries(root))

    def scan(self, roots: list[str]) -> Work | None:
        """The files to read; unchanged and unreadable ones are counted.  None if stopped."""
        work = Work()
        report = self.report
        visited = {_identity(os.stat(self.index_dir))}  # never index the index
        for root in roots:
            recorded = self.manifest.folders(root)
            if not os.path.isdir(root):
                with self.ix.searcher() as searcher:  # articles, not files: a container holds many
                    kept = sum(1 for _ in searcher.document_numbers(root=key_term(root)))
                report.warnings.append((root, f"folder not found; its {kept:,} articles are kept (--forget drops them)"))
                continue
            unlisted = []
            for listing in walk(root, visited, report.roots):
                if self.should_stop():
                    report.interrupted = True
                    return None
                self.progress(Progress("scanning", done=len(work) + report.unchanged))
                folder = listing.folder
                if listing.unreadable:
                    report.skipped.append((folder, listing.unreadable))
                    unlisted.append(folder)
                    continue
                stored = recorded.pop(folder, None)
                report.skipped += listing.problems
                if stored is not None and stored.same_as(listing.names, listing.sizes, listing.mtimes):
                    report.unchanged += stored.indexed
                    report.skipped += [(os.path.join(folder, name), reason) for name, reason in stored.skipped.items()]
                    continue
                files = stored.files() if stored else {}
                for path, _ in listing.problems:
                    record = files.pop(os.path.basename(path), None)
                    if record:
                        self.gone[path] = Entry(root, *record)
                to_read, known = [], {}
                for name, size, mtime in zip(listing.names, listing.sizes, listing.mtimes):
                    record = files.pop(name, None)
                    if record and record[0] == size and record[1] == mtime:
                        if record[3] is None:
                            report.unchanged += 1
                        else:
                            report.skipped.append((os.path.join(folder, name), record[3]))
                    else:
                        if record:
                            known[len(to_read)] = Entry(root, *record)
                        to_read.append(name)
                work.add_folder(folder, root, to_read, known)
                for name, record in files.items():
                    self.gone[os.path.join(folder, name)] = Entry(root, *record)
            for folder, stored in recorded.items():
                # The articles under a folder that could not be listed are kept: their files may be there.
                if any(folder == top or folder.startswith(top + os.sep) for top in unlisted):
                    report.unchanged += stored.indexed
                    continue
                for name, record in stored.files().items():
                    self.gone[os.path.join(folder, name)] = Entry(root, *record)
        return work

    def index(self, work: Work, jobs: int, commit_every: int | None) -> None:
        workers = max(1, min(jobs, len(work) // MIN_FILES_PER_WORKER))
        batch_size = commit_every or FILES_PER_SEGMENT * workers
        fresh_runners = self.RUNNERS_PER_BATCH and batch_size >= MIN_FILES_PER_FRESH_WORKER * workers
        runner = None if fresh_runners else self.runner(workers)
        self.total = len(work)

        known = {}

        def on_outcome(outcome: FileOutcome) -> None:
            self.done += 1
            entry = known[outcome.key]
            if outcome.kind == INDEXED and entry is not None and entry.skipped is None:
                name = "updated"
            else:
                name = OUTCOME_NAMES[outcome.kind]
            self.tell("indexing", outcome.key, name)

        try:
            for start in range(0, len(work), batch_size):
                batch = work.tasks(start, start + batch_size)
                known = {task.key: task.known for task in batch}
                self.tell("indexing")
                if runner is None:
                    runner = self.runner(workers)
                outcomes, segments = runner.run_batch(batch, on_outcome, self.should_stop)
                if fresh_runners:
                    runner.close()
                    runner = None
                    if workers > 1 and start + batch_size < len(work) and not self.should_stop() \
                            and _peak_rss_bytes() < OVERLAPPED_COMMITS_BELOW_PEAK:
                        # The next batch's workers start (Python, the imports, the language
                        # model: most of a second of CPU each) while this one is committed, not
                        # after it, when the cores idled; they open the index once sent their
                        # first files, after the commit (which can change the schema), and read
                        # while its files are recorded.
                        runner = self.runner(workers)
                self._commit(batch, outcomes, segments, recorded_meanwhile=runner is not None and fresh_runners)
                if self.should_stop():
                    self.report.interrupted = True
                    return
        except BaseException:
            with suppress(Exception):  # what the last record raised, if anything, matters less
                self._wait_for_record()
            raise
        finally:
            if runner is not None:
                runner.close()
            self._wait_for_record()
            if self._record_thread is not None:
                self._record_thread.shutdown()
                self._record_thread = None

    def runner(self, workers: int):
        """What reads and analyses the files of a batch."""
        return WorkerPool(partial(FileIndexer, self.build_dir), workers) if workers > 1 else InProcess(self.build_dir)

    def commit(self, segments: list, deleted_keys: list[str]) -> int:
        """Publish a batch: its new segments, and the articles of `deleted_keys` removed; returns the
        new generation."""
        from archsearch.engines.whoosh.segments import commit_segments

        with damage_reported(self.build_dir):  # merging reads segments written before
            return commit_segments(self.ix, segments, deleted_keys)

    def _commit(self, batch: list[Task], outcomes: list[FileOutcome], segments: list,
                recorded_meanwhile: bool = False) -> None:
        """Commit a batch's segments and deletions, then record its files: if `recorded_meanwhile`,
        in a thread of its own while the next batch is read (its record, 85% of a commit's CPU at
        100k, was time the workers' cores idled), and waited for before the next commit."""
        self._wait_for_record()
        self.tell("committing")
        known = {task.key: task.known for task in batch}
        report = self.report
        changed: dict[str, Entry] = {}
        forgotten = set(self.gone)
        deleted = {key for key, entry in self.gone.items() if entry.skipped is None}
        report.removed += len(deleted)
        for key in sorted(deleted):
            self.tell("committing", key, "removed")
        self.gone = {}
        for outcome in outcomes:
            key, entry = outcome.key, known[outcome.key]
            was_indexed = entry is not None and entry.skipped is None
            if outcome.kind == INDEXED:
                if was_indexed:
                    report.updated += 1
                    deleted.add(key)
                else:
                    report.added += 1
                changed[key] = outcome.entry
                report.warnings += [(key, message) for message in outcome.messages]
            elif outcome.kind == SAME:
                if outcome.entry.skipped is None:
                    report.unchanged += 1
                else:
                    report.skipped.append((key, outcome.entry.skipped))
                changed[key] = outcome.entry
            elif outcome.kind == SKIPPED:
                report.skipped.append((key, outcome.messages[0]))
                if was_indexed:
                    deleted.add(key)
                if outcome.entry:
                    changed[key] = outcome.entry
                elif entry:
                    forgotten.add(key)
            elif outcome.kind == GONE and entry:
                if was_indexed:
                    report.removed += 1
                    deleted.add(key)
                forgotten.add(key)
        generation = self.manifest.generation
        committed = bool(segments or deleted)
        if committed:
            generation = self.commit(segments, sorted(map(key_term, deleted)))
            self.articles = None
        record = partial(self.manifest.record, generation, changed, forgotten, article_changes(deleted, outcomes))
        if committed and recorded_meanwhile:
            # The overdue merges first: commits, whose clean-up removes the files of segments not
            # in the index, as those the next batch's workers write would be.
            merged = list(self._overdue_merges())
            self._recording = self._recorder().submit(self._record_all, [record, *(
                partial(self.manifest.record, merged_generation, {}, ()) for merged_generation in merged)])
            return
        self._record_all([record])
        if committed:
            self.merge_overdue()

    def _recorder(self):
        """The thread that writes records while the next batch is read (made when first needed:
        concurrent.futures is 6 ms of every `archsearch index`'s start, a no-change run's too)."""
        if self._record_thread is None:
            from concurrent.futures import ThreadPoolExecutor

            self._record_thread = ThreadPoolExecutor(1, thread_name_prefix="archsearch record")
        return self._record_thread

    @staticmethod
    def _record_all(records: list[Callable[[], None]]) -> None:
        from archsearch.glibc_malloc import release_free_memory

        for record in records:
            record()
        # Before the workers' peak, late in the batch being read: at 1M, 38-60 MiB of this
        # process's memory were free pages malloc kept (the trim takes milliseconds).
        release_free_memory()

    def _wait_for_record(self) -> None:
        """Wait for the last batch's record, if it is being written; raise what it raised."""
        recording, self._recording = self._recording, None
        if recording is not None:
            recording.result()

    def merge_overdue(self) -> None:
        """Commit the merges the last commit left for want of file handles (segments.merge_overdue),
        each recorded as it is committed."""
        for generation in self._overdue_merges():
            self.manifest.record(generation, {}, ())

    def _overdue_merges(self) -> Iterator[int]:
        from archsearch.engines.whoosh.segments import merge_overdue

        with damage_reported(self.build_dir):
            yield from merge_overdue(self.ix, self.should_stop)

    def finish(self) -> IndexReport:
        if self.gone:
            self._commit([], [], [])
        report = self.report
        report.skipped.sort()
        report.warnings.sort()
        # Articles: a container file holds many.
        report.total = self.articles if self.articles is not None else self.ix.doc_count()
        return report


def _peak_rss_bytes() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def article_changes(deleted: set[str], outcomes: list[FileOutcome]) -> ArticleChanges:
    """What a commit does to the articles: the deleted files' go, the indexed files' come."""
    added = [(outcome.key, record, packed)
             for outcome in outcomes if outcome.kind == INDEXED for record, packed in outcome.sketches]
    return ArticleChanges(sorted(deleted), added)
