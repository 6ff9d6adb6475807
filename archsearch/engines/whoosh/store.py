"""The index on disk, as queries use it: where its folders are recorded, and opening it to search.

Kept apart from indexing.py so that a query loads none of the machinery that builds an index.
Whoosh is imported where an index is opened or read, not here: a re-index that finds nothing
changed reads the list of folders and never opens the index.
"""

import contextlib
import errno
import functools
import marshal
import os
import pickle
import struct
import sys
import zlib
from contextlib import contextmanager
from pathlib import Path

from archsearch.errors import ArchsearchError

# Whoosh's name for the files of an index (whoosh.index._DEF_INDEX_NAME: tests check they agree).
INDEX_NAME = "MAIN"

# The folders an index covers, kept beside Whoosh's own files.
SETTINGS_FILE = "archsearch.json"
ROOTS_TEMPORARY = "archsearch.tmp"
# The record of indexed files and the groups of copies (manifest.py), read by queries too.
MANIFEST_FILE = "archsearch-files.sqlite"


# What "archsearch index --rebuild" is called to repair, at the end of every message about damage.
REBUILD_HINT = "'archsearch index --rebuild' makes it anew"


def read_roots(index_dir: Path) -> list[str]:
    import json  # here: a query never reads the folders (show and stats do), and json takes 1 ms to load

    try:
        settings = json.loads((index_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
        roots = settings["roots"]
        if not isinstance(roots, list) or not all(isinstance(root, str) for root in roots):
            raise ValueError("'roots' is not a list of folders")
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, KeyError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DamagedIndex(
            f"cannot read the list of indexed folders {index_dir / SETTINGS_FILE}: {reason}; "
            f"{REBUILD_HINT} (name the folders if it cannot tell them)"
        ) from None
    return list(roots)


def write_roots(index_dir: Path, roots: list[str]) -> None:
    import json

    # Written to a temporary file and renamed so a crash never leaves half a file.
    target = index_dir / SETTINGS_FILE
    temporary = index_dir / ROOTS_TEMPORARY
    temporary.write_text(json.dumps({"roots": sorted(roots)}, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, target)


class DamagedIndex(ArchsearchError):
    """The index's files are damaged (truncated, missing, overwritten): --rebuild repairs it."""


class FileOnlyPostingsLost(DamagedIndex):
    """A segment's postings file, the one copy of its postings of some fields
    (postings_arrays.FILE_ONLY_ATTRIBUTE), is missing or damaged: they cannot be read again from
    Whoosh's postings, as an older segment's can."""

    def __init__(self, filename: str):
        super().__init__(f"the index's postings file {filename} is missing or damaged; {REBUILD_HINT}")


def unmapped_storage(index_dir: Path):
    """The index folder's storage, read without mmap: Whoosh copies each memory-mapped segment's
    postings and terms whole into memory when it opens a reader (CompoundStorage), which cost a
    query 0.45 s and 1.1 GiB at 100k articles (read through files: 11 ms and 29 MiB), and made an
    indexing run's memory grow with the index (counting the articles at its end, merging)."""
    from whoosh.filedb.filestore import FileStorage

    return FileStorage(str(index_dir), supports_mmap=False)


def open_index(index_dir: Path, searching_only: bool = False):
    """Open an existing index for searching; `searching_only`: an index that only opens searchers
    (_index_class_reading_contents_once), not one to write to."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    from archsearch.engines import refuse_cluster
    from archsearch.engines.whoosh.postings_arrays import read_file_only_postings
    from archsearch.schema import is_current

    read_tables_whole()
    read_file_only_postings()
    refuse_cluster(index_dir, "this command")
    # Whether it has a table of contents, not whether that can be read (which is damage).
    if not os.path.isdir(index_dir) or TOC._latest_generation(FileStorage(str(index_dir)), INDEX_NAME) < 0:
        raise ArchsearchError(
            f"no index at {index_dir}: run 'archsearch index FOLDER' first (or pass --index DIR)"
        )
    storage = unmapped_storage(index_dir)
    index_class = _index_class_reading_contents_once() if searching_only else None
    try:
        ix = read_latest(index_dir, lambda: storage.open_index(INDEX_NAME, indexclass=index_class))
    except Exception as exc:  # Whoosh raises many kinds of errors on a damaged index
        raise DamagedIndex(f"cannot open the index at {index_dir}: {exc} ({REBUILD_HINT})") from None
    if not is_current(ix.schema):
        raise ArchsearchError(
            f"the index at {index_dir} was built by another version of archsearch: run 'archsearch index --rebuild'"
        )
    return ix


@functools.cache
def _index_class_reading_contents_once():
    """Whoosh's FileIndex, keeping the table of contents it read while that is still the latest
    generation's, the same file (device, inode, size, time): Whoosh's reads and unpickles it anew
    (the schema's every field and analyzer) each time it is asked for the index's existence, its
    schema and its reader, three times as a query opens its searcher (0.3 ms of a query's CPU). A
    newer generation, or a file put in its place, is read as Whoosh reads it. For searching only: a
    writer may change the schema it is given, which Whoosh's would read anew and this would keep."""
    from whoosh.index import TOC, FileIndex

    class FileIndexReadingContentsOnce(FileIndex):
        _kept = None  # (the identity of the file, the table of contents read from it)

        def __init__(self, storage, schema=None, indexname=INDEX_NAME):
            if schema is not None:
                raise ValueError("an index reading its contents once reads its own schema")
            self.storage, self._schema, self.indexname = storage, None, indexname
            self._read_toc()  # as Whoosh's: an index whose table of contents cannot be read does not open

        def _read_toc(self):
            generation = TOC._latest_generation(self.storage, self.indexname)
            try:
                info = os.stat(os.path.join(self.storage.folder, TOC._filename(self.indexname, generation)))
            except OSError:  # none (Whoosh's error), or replaced by a newer generation since listed
                return super()._read_toc()
            identity = (generation, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            if self._kept is None or self._kept[0] != identity:
                self._kept = identity, TOC.read(self.storage, self.indexname, gen=generation)
            return self._kept[1]

    return FileIndexReadingContentsOnce


# Whoosh's own methods that read_tables_whole() replaces, by name (empty until it has).
_whoosh_methods: dict = {}


def read_tables_whole() -> None:
    """Makes two of Whoosh's readers read a table in one call where Whoosh makes one per entry.

    Opening a segment, Whoosh reads its term file's directory of 256 hash tables one entry at a
    time (filetables.HashReader), and the first stored fields read from a segment derive each
    document's offset from the lengths in a loop of Python (columns.VarBytesColumn: Whoosh writes
    the offsets only past 32,768 documents a segment).  At 100k articles in 11 segments that was
    2,816 reads through three layers of Python file objects and 10,000 appends a segment read,
    ~2.6 ms of a query without the server.  What they read is the same (tests/test_store_reading.py)."""
    if _whoosh_methods:
        return
    from whoosh.columns import VarBytesColumn
    from whoosh.filedb.filetables import HashReader

    _whoosh_methods["HashReader.__init__"] = HashReader.__init__
    _whoosh_methods["VarBytesColumn.Reader._read_offsets_and_lengths"] = VarBytesColumn.Reader._read_offsets_and_lengths
    HashReader.__init__ = _open_hash_reader
    VarBytesColumn.Reader._read_offsets_and_lengths = _read_offsets_and_lengths


def _open_hash_reader(self, dbfile, length=None, magic=b"HSH3", startoffset=0):
    """whoosh.filedb.filetables.HashReader.__init__, its directory read in one piece."""
    from whoosh.filedb.filetables import FileFormatError, _dir_entry, _directory_size, _hash_functions
    from whoosh.system import _INT_SIZE

    self.dbfile = dbfile
    self.startoffset = startoffset
    self.is_closed = False
    if length is None:
        dbfile.seek(0, os.SEEK_END)
        length = dbfile.tell() - startoffset
    dbfile.seek(startoffset)
    filemagic = dbfile.read(4)
    if filemagic != magic:
        raise FileFormatError("Unknown file header %r" % filemagic)
    self.hashtype = dbfile.read_byte()
    self.hashfn = _hash_functions[self.hashtype]
    dbfile.read_int()  # two ints reserved for future use
    dbfile.read_int()
    self.startofdata = dbfile.tell()
    # The file ends with the extras' length; the extras follow the directory.
    extras_length_at = startoffset + length - _INT_SIZE
    extras_at = extras_length_at - dbfile.get_int(extras_length_at)
    dbfile.seek(extras_at)
    self._read_extras()
    directory = dbfile.get(extras_at - _directory_size, _directory_size)
    if len(directory) != _directory_size:  # a truncated file, which Whoosh's reads fail on too
        raise struct.error(f"the hash directory is {len(directory)} bytes, not {_directory_size}")
    self.tables = list(_dir_entry.iter_unpack(directory))  # (position, slots) of each hash table
    self.endofdata = self.tables[0][0]  # the first table starts where the keys and values end


def _read_offsets_and_lengths(self):
    """whoosh.columns.VarBytesColumn.Reader's, the offsets summed as they are asked for when
    they are not stored (SummedOffsets)."""
    dbfile = self._dbfile
    last_byte = self._basepos + self._length - 1
    lengths_code = chr(dbfile.get_byte(last_byte))
    if lengths_code == "X":  # offsets stored: Whoosh reads them as they are
        return _whoosh_methods["VarBytesColumn.Reader._read_offsets_and_lengths"](self)
    lengths_start = last_byte - struct.calcsize(lengths_code) * self._doccount
    self._lengths = dbfile.get_array(lengths_start, lengths_code, self._doccount)
    # A process keeping its searchers (the server) sums them all on its first read (see SummedOffsets).
    # The values lie end to end from the column's start up to the lengths (VarBytesColumn.Writer).
    self._offsets = SummedOffsets(
        self._lengths, all_at_once=_open_searchers is not None, total=lengths_start - self._basepos
    )


class SummedOffsets:
    """Where each document's value starts in a column, from the values' lengths: summed for each
    document asked for, from the nearer end (summed_bytewise), as a query asks for a few in each
    segment (1-3 of 10,000, each twice: 5-40 µs each, against 340 µs for all), and all at once
    from the SUMMED_ONE_AT_A_TIME+1th document on, as a process asking for many does.  With
    `all_at_once`, all from the first: the server reads a document's stored fields in each segment
    when it warms a generation, and the requests it forks inherit every offset, where each summed
    its own hits' one at a time and lost them (1.2-1.9 ms of CPU for a page of 10 hits at 100k).
    A request, which keeps its searchers too, sums all of a newer generation that it opens itself
    (~0.3 ms a segment it reads, beside the 10-35 ms of opening it): whether a process is the
    server or one it forked cannot be told from its pid (a server started in the background keeps
    its searchers, then forks itself away from the terminal)."""

    SUMMED_ONE_AT_A_TIME = 3

    def __init__(self, lengths, all_at_once: bool = False, total: int | None = None):
        """`total`: all the lengths summed (where the last value ends), if known: a document in
        the second half is then placed from the end, summing the lengths after it."""
        self._lengths = lengths
        self._total = total
        self._summed: dict[int, int] = {}  # document -> offset, until all are summed
        self._all = None
        self._one_at_a_time = 0 if all_at_once else self.SUMMED_ONE_AT_A_TIME

    def __getitem__(self, docnum: int) -> int:
        if self._all is None:
            offset = self._summed.get(docnum)
            if offset is not None:
                return offset
            lengths = self._lengths
            if len(self._summed) < self._one_at_a_time and 0 <= docnum < len(lengths):
                if self._total is not None and docnum > len(lengths) // 2:
                    offset = self._total - summed_bytewise(lengths[docnum:])
                else:
                    offset = summed_bytewise(lengths[:docnum])
                self._summed[docnum] = offset
                return offset
            from array import array
            from itertools import accumulate

            self._all = array("L", accumulate(self._lengths, initial=0))
            self._all.pop()  # where the last value ends
        return self._all[docnum]


def summed_bytewise(numbers) -> int:
    """The sum of an array of non-negative integers, byte lane by byte lane: a lane's bytes are
    numbers below 256, summed in C (byte_sum), where sum() over the array made an int of each
    (a stored-fields length of 500-5,000 bytes is one).  With the second half placed from the end,
    a page's 10 hits at 100k: 1.0 -> 0.2 ms; by byte_sum, not sum() over each lane's bytes, the
    first 5,000 of a segment's shorts 170 -> 60 us (a loaded machine)."""
    data = numbers.tobytes()
    width = numbers.itemsize
    lanes = range(width) if sys.byteorder == "little" else range(width - 1, -1, -1)
    return sum(byte_sum(data[lane::width]) << (8 * significance) for significance, lane in enumerate(lanes))


# Bytes summed by one adler32: 1 + their sum stays below its modulus (65,521) for 256 bytes of 255.
_ADLER_BYTES = 256


def byte_sum(data: bytes) -> int:
    """sum(data), in C: the low half of zlib.adler32 of each _ADLER_BYTES bytes is 1 + their sum."""
    starts = range(0, len(data), _ADLER_BYTES)
    return sum([zlib.adler32(data[start : start + _ADLER_BYTES]) & 0xFFFF for start in starts]) - len(starts)


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
        if path_identity(folder) != _open_searchers[folder][1]:
            _let_go(_open_searchers.pop(folder)[0])


def close_kept_searchers() -> None:
    for folder in list(_open_searchers or {}):
        _let_go(_open_searchers.pop(folder)[0])


def _let_go(searcher) -> None:
    """Close a kept searcher and its segments' postings arrays (postings_arrays.let_go): those are
    maps, which hold their files open, and evaluations' reference cycles would keep them until the
    cyclic collector runs, which an idle server may not do for long, while it forks."""
    from archsearch.engines.whoosh.postings_arrays import let_go

    for leaf, _ in searcher.reader().leaf_readers():
        let_go(leaf)
    searcher.close()


@contextmanager
def index_searcher(index_dir: Path, weighting=None):
    """A searcher on the index's latest generation, closed afterwards unless searchers are kept open;
    damage found opening or reading the index is an error naming it (DamagedIndex)."""
    with damage_reported(index_dir), _index_searcher(index_dir, weighting) as searcher:
        yield searcher


@contextmanager
def _index_searcher(index_dir: Path, weighting=None):
    options = {} if weighting is None else {"weighting": weighting}  # None would replace Whoosh's default
    if _open_searchers is None:
        with _opened_searcher(index_dir, options) as searcher:
            unrecorded = _recall_languages(index_dir, searcher)
            yield searcher
            if unrecorded is not None:
                _record_languages(unrecorded, searcher)
        return
    folder = Path(index_dir).resolve()
    searcher, identity = _open_searchers.pop(folder, (None, None))
    if searcher is not None and not (identity == path_identity(folder) and _up_to_date(searcher)):
        _let_go(searcher)
        searcher = None
    if searcher is None:
        identity = path_identity(folder)
        searcher = _opened_searcher(index_dir, options)
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
            _let_go(_open_searchers.pop(next(iter(_open_searchers)))[0])


# A commit deletes the files of the generation it replaces (the table of contents, merged
# segments): a reader that found that generation the latest just before may find its files gone,
# and must then read the generation that replaced it.
OPEN_ATTEMPTS = 5


def read_latest(index_dir: Path, read):
    """`read()` of the index's latest generation, again while a commit overtakes it."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    for attempt in range(OPEN_ATTEMPTS):
        generation = TOC._latest_generation(FileStorage(str(index_dir)), INDEX_NAME)
        try:
            return read()
        except FileNotFoundError:
            moved_on = TOC._latest_generation(FileStorage(str(index_dir)), INDEX_NAME) != generation
            if not moved_on or attempt == OPEN_ATTEMPTS - 1:
                raise


def _recall_languages(index_dir: Path, searcher):
    """Gives the searcher's reader the index's languages (analysis.alternatives.index_languages)
    as recorded for its generation, if they are; else returns where to record them, once read.

    Reading them walks the `language` terms of every segment (2-2.5 ms of a query at 100k
    articles, 11 segments), and they only change when the index does: each change commits a new
    generation, with a table of contents of its own.  The record, a small file in the user's state
    folder (beside the last hits, archsearch.lasthits), names the generation and the identity of
    its table of contents (device, inode, size, time), so an index rebuilt and swapped in, even at
    the same generation, is never taken for the one recorded.  A record that is missing, stale,
    unreadable or unwritable only means reading them again."""
    from archsearch.analysis.alternatives import _languages_read
    from archsearch.lasthits import state_file

    reader = searcher.reader()
    generation = reader.generation()
    if generation is None:  # no committed segment
        return None
    folder = os.path.abspath(index_dir)
    try:
        toc = os.stat(os.path.join(folder, f"_{INDEX_NAME}_{generation}.toc"))
    except OSError:
        return None
    identity = [folder, generation, toc.st_dev, toc.st_ino, toc.st_size, toc.st_mtime_ns]
    path = state_file(index_dir, kind="languages")
    try:
        record = marshal.loads(path.read_bytes())
        languages = record["languages"]
        if record["generation"] == identity and isinstance(languages, list) and all(
            isinstance(language, str) for language in languages
        ):
            _languages_read[reader] = tuple(languages)
            return None
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        pass
    return path, identity


def _record_languages(unrecorded: tuple, searcher) -> None:
    """Records the languages the query read (if it did), for _recall_languages."""
    from archsearch.analysis.alternatives import _languages_read
    from archsearch.lasthits import write_state

    languages = _languages_read.get(searcher.reader())
    if languages is not None:
        path, identity = unrecorded
        with contextlib.suppress(OSError):
            write_state(path, marshal.dumps({"generation": identity, "languages": list(languages)}))


def _opened_searcher(index_dir: Path, options: dict):
    return read_latest(index_dir, lambda: open_index(index_dir, searching_only=True).searcher(**options))


def path_identity(path: Path | str) -> tuple | None:
    """Tells a folder or file from another put in its place (an index rebuilt aside and swapped
    in, a record renamed over): its device and inode; None where there is none."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _up_to_date(searcher) -> bool:
    try:
        return searcher.up_to_date()
    except Exception:  # a damaged or vanishing index: opening it afresh says what is wrong
        return False


# What Whoosh raises when it reads damaged files: a truncated file ends early (EOFError,
# struct.error), overwritten bytes fail to unpickle or decompress, a file is missing.
DAMAGE_ERRORS = (EOFError, struct.error, zlib.error, pickle.UnpicklingError, FileNotFoundError)
# What it may also raise then, but that a bug of ours (or a reader of our output gone away) raises
# too: damage only if find_damage() finds it, or Whoosh raised it.  Not AttributeError: that is
# how code reaching into Whoosh fails on its empty readers (see the shared Whoosh notes).
POSSIBLE_DAMAGE_ERRORS = (OSError, IndexError, TypeError, KeyError, ValueError)
# What the system ran out of, never damage: too many open files (a merge holds each merged segment's
# file open), a full disk or quota, memory. Named as such, not as damage calling for a rebuild of a whole index.
_EXHAUSTION_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOSPC, errno.EDQUOT, errno.ENOMEM})


@contextmanager
def damage_reported(index_dir: Path):
    """Turns an error from reading a damaged index into one line naming the damage and --rebuild."""
    try:
        yield
    except DAMAGE_ERRORS + POSSIBLE_DAMAGE_ERRORS as exc:
        found = find_damage(Path(index_dir))
        if found is None and (
            isinstance(exc, OSError) and exc.errno in _EXHAUSTION_ERRNOS
            or not (isinstance(exc, DAMAGE_ERRORS) or _raised_by_whoosh(exc))
        ):
            raise
        what = found or f"{type(exc).__name__} reading it"
        raise DamagedIndex(f"the index at {index_dir} is damaged ({what}): {REBUILD_HINT}") from exc


def _raised_by_whoosh(exc: BaseException) -> bool:
    """Whether Whoosh's own code raised it: reading bytes overwritten with others, which
    find_damage cannot see, it fails in any way at all."""
    import whoosh

    traceback = exc.__traceback__
    while traceback.tb_next:
        traceback = traceback.tb_next
    return Path(traceback.tb_frame.f_code.co_filename).is_relative_to(Path(whoosh.__file__).parent)


def lost_postings(index_dir: Path, segments) -> list:
    """The segments whose postings file, the one copy of their postings of some fields
    (postings_arrays.FILE_ONLY_ATTRIBUTE), is missing or truncated: not written again from Whoosh's
    postings, as an older segment's is (segments.add_missing_sidecars)."""
    from archsearch.engines.whoosh import postings_arrays

    return [
        segment for segment in segments
        if postings_arrays.file_only_fields(segment) and not postings_arrays.sidecar_is_whole(
            os.path.join(index_dir, postings_arrays.sidecar_name(segment)), segment.doc_count_all())
    ]


def drop_lost_postings(index_dir: Path) -> int:
    """Repair what lost_postings finds: a new generation of the index without those segments, under
    the run lock the caller holds.  The record of indexed files is then out of step with the index,
    and made anew from its stored fields as after a run killed between a commit and its record
    (indexing._sync_record), so that the scan reads and indexes the dropped articles' files again,
    nothing else lost.  Returns the number of articles dropped (0: nothing lost, or damage of
    another kind, which find_damage names)."""
    from whoosh.index import TOC

    storage = unmapped_storage(index_dir)
    generation = TOC._latest_generation(storage, INDEX_NAME)
    if generation < 0:
        return 0
    try:
        toc = TOC.read(storage, INDEX_NAME, generation)
    except Exception:  # unpickling garbage raises anything at all
        return 0
    lost = {segment.segment_id() for segment in lost_postings(index_dir, toc.segments)}
    if not lost:
        return 0
    kept = [segment for segment in toc.segments if segment.segment_id() not in lost]
    TOC(toc.schema, kept, generation + 1).write(storage, INDEX_NAME)
    return sum(segment.doc_count() for segment in toc.segments if segment.segment_id() in lost)


def find_damage(index_dir: Path) -> str | None:
    """What is wrong with the index's files, or None when its latest generation looks whole.

    Cheap (no segment is read, only each one's directory of parts), so that every run of
    `archsearch index` checks it; damage inside a part shows when it is read (DAMAGE_ERRORS).
    """
    from whoosh.filedb.compound import CompoundStorage
    from whoosh.index import TOC

    from archsearch.engines.whoosh import postings_arrays

    storage = unmapped_storage(index_dir)
    generation = TOC._latest_generation(storage, INDEX_NAME)
    if generation < 0:
        return None
    toc_name = TOC._filename(INDEX_NAME, generation)
    try:
        segments = TOC.read(storage, INDEX_NAME, generation).segments
        names = [segment.make_filename(segment.COMPOUND_EXT) for segment in segments if segment.is_compound()]
    except Exception as exc:  # unpickling garbage raises anything at all
        return f"its table of contents {toc_name} is unreadable: {type(exc).__name__}"
    for segment in segments:
        if not segment.is_compound() and not segment.list_files(storage):
            return f"the files of segment {segment.segment_id()} are missing"
    for segment in lost_postings(index_dir, segments):
        return f"its postings file {postings_arrays.sidecar_name(segment)} is missing or truncated"
    for name in names:
        try:
            size = os.path.getsize(os.path.join(index_dir, name))
        except OSError:
            return f"segment file {name} is missing"
        try:
            compound = CompoundStorage(storage.open_file(name), use_mmap=False)
        except Exception:
            return f"segment file {name} is truncated or overwritten"
        try:
            if any(part["offset"] + part["length"] > size for part in compound._dir.values()):
                return f"segment file {name} is truncated"
        except Exception:
            return f"segment file {name} is overwritten"
        finally:
            compound.close()
    return None


def key_term(path: str) -> str:
    """A path as the index's terms hold it: bytes of the file name that are not UTF-8 as \\xNN.

    The stored fields keep the path as it is (with Python's surrogate escapes), to open the file.
    """
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def article_body(stored: dict, searcher=None, docnum: int | None = None) -> str:
    """An indexed article's body (`stored`: its stored fields): stored in the index, in its stored
    fields or, a long one, in a column of its own (long_bodies.py: looked for in document `docnum`
    of `searcher`, where they are given), or read again from its plain-text file."""
    if stored.get("text") is not None:
        return stored["text"]
    if searcher is not None:
        from archsearch.engines.whoosh import long_bodies

        if long_bodies.kept_apart(stored):
            return long_bodies.read_body(searcher, docnum)
    from archsearch.formats import read_body

    return read_body(stored["key"])
