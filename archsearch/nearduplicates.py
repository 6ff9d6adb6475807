"""Near-identical articles: wire stories republished by many sites with small edits.

Each body gets a MinHash sketch of its 5-word shingles, made with one-permutation hashing:
every shingle is hashed once (CRC-32) and falls into one of SKETCH_SIZE buckets, which keeps
its smallest hash. That costs one hash per shingle, where classic MinHash costs one per
shingle per permutation, so sketching stays a small part of indexing in pure Python (datasketch
would bring numpy and SciPy for the same estimate). The share of buckets two sketches agree
on estimates the Jaccard resemblance of their shingle sets. For finding candidates among many
articles, the sketch is cut into bands (locality-sensitive hashing): two articles that share a
band are candidates, checked with `resemblance`.  Copies are grouped at index time (CopyGroups,
below), so that a query looks each hit's group up instead of probing bands.

A body too short to compare (`-1`, `View Comments`, a caption) has no sketch: a few shingles
fill only a few buckets, and densifying copies them into the rest, so any two such bodies that
share a phrase would look like copies whatever their titles.
"""

import os
import re
import sys
import zlib
from array import array
from contextlib import contextmanager, suppress
from functools import cache
from collections.abc import Collection, Iterable, Iterator, Sequence
from itertools import chain


SKETCH_SIZE = 32
ROWS_PER_BAND = 4  # 8 bands: articles 80% alike share a band 99% of the time, 50% alike 40%
SHINGLE_WORDS = 5
# Articles whose estimated resemblance reaches this are copies of one another.
NEAR_DUPLICATE = 0.8
EMPTY = -1
# Buckets a body's shingles must fill for it to be compared at all: about 10 shingles, a body of
# 14 words or more.  Counted as distinct values, so sketches that indexes already hold (densified
# from however few buckets) are judged by the same rule.
MIN_FILLED_BUCKETS = 8

_WORD = re.compile(r"\w+")
# The bytes of a lowercased text's UTF-8 as word_utf8 splits it: \w of ASCII ([a-z0-9_]) kept,
# every other ASCII byte made a space, the bytes of other characters kept (those that are no \w
# are made spaces before).
_ASCII_NON_WORD_AS_SPACE = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() or byte == ord("_") else ord(" ") for byte in range(256)
)
_ASCII_BYTES = bytes(range(0x80))
# Above this many distinct characters beyond ASCII that are no \w, a text's words are found by re:
# each is a scan of the text.
_MOST_REPLACED = 32
# Above every 32-bit shingle hash: a bucket no shingle fell into.
_NO_SHINGLE = 1 << 32


def word_utf8(text: str) -> list[bytes]:
    """The UTF-8 of each word of the text, lowercased, in order: each \\w+ run, as re finds them.

    The characters that are no \\w are made spaces and the rest split, in C: re's findall was
    two thirds of a sketch.  A lone surrogate (no \\w) goes through UTF-8 as surrogatepass encodes it."""
    lowered = text.lower()
    data = lowered.encode("utf-8", "surrogatepass")
    if not lowered.isascii():
        beyond_ascii = data.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
        # Beyond ASCII, \w is what isalnum() is.
        non_word = [character for character in set(beyond_ascii) if not character.isalnum()]
        if len(non_word) > _MOST_REPLACED:
            return [word.encode() for word in _WORD.findall(lowered)]
        for character in non_word:
            data = data.replace(character.encode("utf-8", "surrogatepass"), b" ")
    return data.translate(_ASCII_NON_WORD_AS_SPACE).split()


# CPython's hash of a tuple (xxHash's round per item, Objects/tupleobject.c) where hashes are
# 64-bit: its primes, the rotation, what is added for the length of a shingle, and what it gives
# instead of -1 (tests check it against hash()).
_XXPRIME_1, _XXPRIME_2, _XXPRIME_5 = 11400714785074694791, 14029467366897019727, 2870177450012600261
_XXROTATE_BITS = 31
_SHINGLE_LENGTH_MIX = SHINGLE_WORDS ^ (_XXPRIME_5 ^ 3527539)
_HASH_INSTEAD_OF_MINUS_ONE = 1546275796
_TUPLE_HASH_IN_NUMPY = sys.hash_info.width == 64


@cache
def _tuple_hash_numbers() -> tuple:
    """The numbers of CPython's tuple hash as numpy's uint64 (made once: 13 of them a sketch took
    2 µs)."""
    import numpy as np

    return tuple(map(np.uint64, (
        _XXPRIME_1, _XXPRIME_2, _XXPRIME_5, _XXROTATE_BITS, 64 - _XXROTATE_BITS, _SHINGLE_LENGTH_MIX, (1 << 64) - 1,
    )))


def shingle_hashes(hashes):
    """The 32-bit hashes of the 5-word shingles of words with these CRCs (of word_utf8's words), as a numpy
    array of int64, in the shingles' order: hash(tuple of SHINGLE_WORDS CRCs) & 0xFFFFFFFF each,
    the whole words' hash where there are fewer.  Computed as CPython hashes a tuple, for all the
    shingles at once (27 numpy operations, 0.7x the CPU of hashing each tuple zip makes)."""
    import numpy as np

    hashes = np.asarray(hashes, np.uint64)
    if len(hashes) < SHINGLE_WORDS:
        return np.array([hash(tuple(hashes.tolist())) & 0xFFFFFFFF] if len(hashes) else [], np.int64)
    if not _TUPLE_HASH_IN_NUMPY:
        shingles = zip(*(hashes[offset:].tolist() for offset in range(SHINGLE_WORDS)))
        return np.fromiter(map(hash, shingles), np.int64, len(hashes) - SHINGLE_WORDS + 1) & 0xFFFFFFFF
    prime_1, prime_2, prime_5, left, right, length_mix, minus_one = _tuple_hash_numbers()
    # A CRC is its own hash (an int below sys.hash_info.modulus).
    lanes = hashes * prime_2
    count = len(hashes) - SHINGLE_WORDS + 1
    acc = lanes[:count] + prime_5
    rotated = np.empty_like(acc)
    for offset in range(SHINGLE_WORDS):
        if offset:
            acc += lanes[offset : offset + count]
        np.left_shift(acc, left, out=rotated)
        acc >>= right
        acc |= rotated
        acc *= prime_1
    acc += length_mix
    acc[acc == minus_one] = _HASH_INSTEAD_OF_MINUS_ONE
    acc &= 0xFFFFFFFF
    return acc.view(np.int64)


def sketch(text: str) -> tuple[int, ...]:
    """The sketch of one text (sketches: a batch of one costs more a text than a batch of many)."""
    return sketches([text])[0]


def sketches(texts: Sequence[str]) -> list[tuple[int, ...]]:
    """The sketch of each text, made for them all at once: numpy's cost per call (µs, some forty
    calls a sketch) is paid once for the lot.  The words' CRCs (of the UTF-8 of each \\w+ run,
    lowercased) are hashed as one sequence, and the shingles that run from one text into the next dropped."""
    import numpy as np

    words = [word_utf8(text) for text in texts]
    counts = np.fromiter(map(len, words), np.int64, len(words))
    total = int(counts.sum())
    if total < SHINGLE_WORDS:  # no text has a shingle of SHINGLE_WORDS words: none can be compared
        return [(EMPTY,) * SKETCH_SIZE] * len(texts)
    hashes = np.fromiter(map(zlib.crc32, chain.from_iterable(words)), np.uint64, total)
    text_of_word = np.repeat(np.arange(len(texts)), counts)
    text_of_shingle = text_of_word[: 1 - SHINGLE_WORDS]
    # A shingle is a text's where its first and last words are.
    whole = text_of_shingle == text_of_word[SHINGLE_WORDS - 1 :]
    values = shingle_hashes(hashes)[whole]
    smallest = np.full(len(texts) * SKETCH_SIZE, _NO_SHINGLE, np.int64)
    np.minimum.at(smallest, text_of_shingle[whole] * SKETCH_SIZE + values % SKETCH_SIZE, values)
    smallest = smallest.reshape(len(texts), SKETCH_SIZE)
    filled = smallest < _NO_SHINGLE
    comparable_texts = np.count_nonzero(filled, axis=1) >= MIN_FILLED_BUCKETS
    minima = np.where(filled, smallest // SKETCH_SIZE, EMPTY).tolist()
    return [_densify(row) if enough else (EMPTY,) * SKETCH_SIZE for row, enough in zip(minima, comparable_texts.tolist())]


def _densify(minima: list[int]) -> tuple[int, ...]:
    """Fill empty buckets from the next full one, so short texts still compare (Shrivastava's rotation)."""
    if EMPTY not in minima or all(value == EMPTY for value in minima):
        return tuple(minima)
    filled = list(minima)
    for bucket, value in enumerate(minima):
        offset = 1
        while value == EMPTY:
            value = minima[(bucket + offset) % SKETCH_SIZE]
            offset += 1
        filled[bucket] = value
    return tuple(filled)


def comparable(signature: tuple[int, ...]) -> bool:
    """Whether the body behind `signature` is long enough to be compared (see MIN_FILLED_BUCKETS)."""
    return bool(signature) and signature[0] != EMPTY and len(set(signature)) >= MIN_FILLED_BUCKETS


def resemblance(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    if not comparable(first) or not comparable(second):
        return 0.0
    return sum(a == b for a, b in zip(first, second)) / SKETCH_SIZE


def band_keys(signature: tuple[int, ...]) -> list[int]:
    """The sketch's bands as 64-bit numbers (band number and values hashed together: hashes of
    tuples of ints are the same in every process); two articles sharing one are candidates."""
    if not comparable(signature):
        return []
    return [
        hash((band, *signature[start : start + ROWS_PER_BAND]))
        for band, start in enumerate(range(0, SKETCH_SIZE, ROWS_PER_BAND))
    ]


# --------------------------------------------------------------------------- groups of copies
#
# Articles are grouped at index time: two articles are copies when they share a band and their
# sketches agree on NEAR_DUPLICATE of their buckets, and a group is a connected component of
# that relation (a copy of a copy is in the group, however the edits add up along the chain).
# Components depend only on which articles are indexed, never on the order they came in, so
# however the index got to hold them it groups them as a fresh build would.  The groups live in
# the record of indexed files (manifest.py), updated in the same transaction as the files, and
# so stay in step with the index as the record does: at most one commit behind after a kill,
# until the next run.

COPY_TABLES = """
CREATE TABLE IF NOT EXISTS sketches (
    id INTEGER PRIMARY KEY,
    file BLOB NOT NULL,       -- the article's file, as its key (os.fsencode)
    record TEXT,              -- the article's key in its file (a container's record), else NULL
    sketch BLOB NOT NULL,     -- array('I') of the SKETCH_SIZE values
    grp INTEGER NOT NULL      -- the id of the group's first article, by file then record
);
CREATE INDEX IF NOT EXISTS sketches_by_file ON sketches (file, record);
CREATE INDEX IF NOT EXISTS sketches_by_group ON sketches (grp);
CREATE TABLE IF NOT EXISTS bands (band INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (band, id)) WITHOUT ROWID;
"""
# Copies agree on at least this many buckets (the least count `resemblance` finds NEAR_DUPLICATE).
_AGREEING_OF_A_COPY = next(agreeing for agreeing in range(SKETCH_SIZE + 1) if agreeing / SKETCH_SIZE >= NEAR_DUPLICATE)
# The bands two copies have in common at least: their sketches differ in at most SKETCH_SIZE -
# _AGREEING_OF_A_COPY buckets (6), each in one band, so that the other bands (2 of 8) are equal.
# An article sharing fewer with a new one is no copy of it, and is never read: at 1M, 3 in 4 of
# the articles sharing a band with a new one share that band alone (a phrase common to many
# articles of the generated corpus), and 1 in 14 of those sharing two or more is a copy.
_BANDS_OF_A_COPY = max(1, SKETCH_SIZE // ROWS_PER_BAND - (SKETCH_SIZE - _AGREEING_OF_A_COPY))
# The bands of the articles an update groups afresh, in the connection's temporary database (never
# the record's), so that SQLite pairs them with the other holders of each band and counts the bands
# each pair shares: in Python, each holder of a band cost a commit ~2 us, and at 1M a commit's new
# articles had 540,000 (a build's commits grew linearly).
_FRESH_BANDS_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS fresh_bands"
    " (band INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (band, id)) WITHOUT ROWID"
)
# Each fresh article and each other one sharing `?` of its bands or more, with that one's group and sketch.
_CANDIDATES_QUERY = (
    "SELECT pair.fresh, pair.other, s.grp, s.sketch FROM"
    " (SELECT f.id AS fresh, b.id AS other FROM fresh_bands f JOIN bands b ON b.band = f.band"
    " WHERE b.id != f.id GROUP BY f.id, b.id HAVING COUNT(*) >= ?) pair"
    " JOIN sketches s ON s.id = pair.other"
)
# Values per `IN (...)` list, well under SQLite's limit on parameters.
_CHUNK = 500
# Candidate pairs compared in one numpy operation (both sides' sketches gathered: 4 MiB each).
_PAIRS_AT_ONCE = 1 << 15


class CopyGroups:
    """The groups of copies among indexed articles, kept in tables of an SQLite database.

    Only articles whose body can be compared (see `comparable`) are kept; any other article is
    a group of its own.
    """

    def __init__(self, db):
        self._db = db

    def clear(self) -> None:
        self._db.execute("DELETE FROM sketches")
        self._db.execute("DELETE FROM bands")

    def update(self, removed_files: Iterable[str], added: Iterable[tuple[str, str | None, bytes]]) -> None:
        """Remove the articles of `removed_files` (file keys), add the `added` articles (file key,
        record, sketch as `pack` makes it), and group again the articles whose group this can change: the groups that
        lost an article, and the new articles with every group holding a copy of one."""
        db = self._db
        lost: set[int] = set()  # groups that lost an article: made again from their members
        for chunk in _chunks(sorted({os.fsencode(key) for key in removed_files})):
            rows = db.execute(f"SELECT id, sketch, grp FROM sketches WHERE file IN ({_marks(chunk)})", chunk).fetchall()
            lost.update(group for _, _, group in rows)
            db.executemany(
                "DELETE FROM bands WHERE band = ? AND id = ?",
                [(band, row_id) for row_id, packed, _ in rows for band in band_keys(_unpack(packed))],
            )
            db.executemany("DELETE FROM sketches WHERE id = ?", [(row_id,) for row_id, _, _ in rows])
        new_bands = []
        new_rows = []
        # Ids given here, as SQLite would (the largest plus one), so that the rows go in by one executemany.
        (row_id,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM sketches").fetchone()
        for key, record, packed in added:
            signature = _unpack(packed)
            if not comparable(signature):
                continue
            row_id += 1
            new_rows.append((row_id, os.fsencode(key), record, packed))
            new_bands += [(band, row_id) for band in band_keys(signature)]
        db.executemany("INSERT INTO sketches (id, file, record, sketch, grp) VALUES (?, ?, ?, ?, -1)", new_rows)
        # In the table's order: SQLite then fills its B-tree's pages one after another, where bands
        # in the order made (hashes: random) each went to a page of their own.
        new_bands.sort()
        db.executemany("INSERT INTO bands VALUES (?, ?)", new_bands)
        regrouped = self._sketches(self._members(lost))
        fresh = {row_id: packed for row_id, _, _, packed in new_rows} | regrouped
        if fresh:
            regrouped_bands = [(band, row_id) for row_id, packed in regrouped.items() for band in band_keys(_unpack(packed))]
            self._group(fresh, sorted(new_bands + regrouped_bands) if regrouped_bands else new_bands)

    def _members(self, groups: set[int]) -> set[int]:
        return {row_id for (row_id,) in _select_in(self._db, "SELECT id FROM sketches WHERE grp IN ({})", groups)}

    def _group(self, fresh: dict[int, bytes], fresh_bands: list[tuple[int, int]]) -> None:
        """Group the `fresh` articles (id: sketch; new ones, and the members of groups that lost
        one) afresh, with the groups they join; `fresh_bands`: their bands (band, id), sorted
        (SQLite then fills its B-tree's pages one after another).  A group that lost none is still
        a component, and no two such are copies (they would be one group), so it is one node here:
        of its members only those sharing _BANDS_OF_A_COPY bands with a fresh article are read, and
        compared with it.  A member of such a group sharing bands with a member of a group that
        lost one was never its copy: compared in vain (removals are rare)."""
        import numpy as np

        db = self._db
        db.execute(_FRESH_BANDS_TABLE)
        db.executemany("INSERT INTO fresh_bands VALUES (?, ?)", fresh_bands)
        place = {row_id: row for row, row_id in enumerate(fresh)}
        fresh_sketches = np.frombuffer(b"".join(fresh.values()), np.uint32).reshape(len(fresh), SKETCH_SIZE)
        parent: dict[int, int] = {row_id: row_id for row_id in fresh}  # a group's node: minus its id

        def root(at: int) -> int:
            while parent[at] != at:
                parent[at] = parent[parent[at]]
                at = parent[at]
            return at

        pairs = db.execute(_CANDIDATES_QUERY, (_BANDS_OF_A_COPY,))
        while some := pairs.fetchmany(_PAIRS_AT_ONCE):
            firsts, others, groups, sketches = zip(*some)
            agreeing = (fresh_sketches[[place[row_id] for row_id in firsts]]
                        == np.frombuffer(b"".join(sketches), np.uint32).reshape(len(some), SKETCH_SIZE)).sum(axis=1)
            for pair in np.flatnonzero(agreeing >= _AGREEING_OF_A_COPY).tolist():
                second = others[pair] if others[pair] in fresh else -groups[pair]
                parent.setdefault(second, second)
                first, second = root(firsts[pair]), root(second)
                if first != second:
                    parent[first] = second
        db.execute("DELETE FROM fresh_bands")
        order: dict[int, tuple] = {}  # node -> the file and record of its first article, which order a group
        query = "SELECT id, file, record FROM sketches WHERE id IN ({})"
        for row_id, key, record in _select_in(db, query, {abs(node) for node in parent}):
            order[row_id if row_id in fresh else -row_id] = (key, record or "")
        leaders: dict[int, int] = {}  # component root -> the id of its first article
        for first in sorted(order, key=order.__getitem__):
            leaders.setdefault(root(first), abs(first))
        # The fresh articles, and the groups joined to another (their members by the index on groups).
        db.executemany("UPDATE sketches SET grp = ? WHERE id = ?",
                       [(leaders[root(row_id)], row_id) for row_id in sorted(fresh)])
        db.executemany("UPDATE sketches SET grp = ? WHERE grp = ?",
                       [(leaders[root(group)], -group) for group in sorted(order) if group < 0 and leaders[root(group)] != -group])

    def _sketches(self, ids: set[int]) -> dict[int, bytes]:
        return dict(_select_in(self._db, "SELECT id, sketch FROM sketches WHERE id IN ({})", ids))


def pack(signature: tuple[int, ...]) -> bytes:
    """A sketch as the record keeps it: 128 bytes, where the tuple of Python ints takes 1.3 KiB (an
    indexing process holds those of two batches of articles)."""
    return array("I", signature).tobytes()


def _unpack(packed: bytes) -> tuple[int, ...]:
    return tuple(array("I", packed))


def _chunks(values: list) -> Iterator[list]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _select_in(db, query: str, values) -> Iterator[tuple]:
    """The rows of `query`, whose `{}` is a list of values, run over the values chunk by chunk."""
    for chunk in _chunks(sorted(values)):
        yield from db.execute(query.format(_marks(chunk)), chunk)


def _marks(values: list) -> str:
    return ", ".join("?" * len(values))


# The lookup copies_of runs for each hit (prepare_copy_groups runs it once ahead).
_COPIES_QUERY = (
    "SELECT other.file, other.record FROM sketches this JOIN sketches other ON other.grp = this.grp"
    " WHERE this.file = ? AND this.record IS ? AND other.id != this.id"
)

# Index folder -> (the record's file identity when it was opened, the connection): a connection
# opened ahead of the request that will use it (prepare_copy_groups), in a server's spare process.
_prepared: dict[str, tuple[tuple, object]] = {}


@contextmanager
def copy_groups(index_dir):
    """The groups of copies of the index at `index_dir` (an SQLite connection, read-only), or None
    when its record holds none (no run of this version has updated the index).  A connection
    prepared ahead (prepare_copy_groups) is used when the record is still the file it opened."""
    path = _record_path(index_dir)
    prepared = _prepared.get(path)
    if prepared is not None and prepared[0] == _file_identity(path):
        yield prepared[1]
        return
    db = _open_copy_groups(path)
    try:
        yield db
    finally:
        if db is not None:
            db.close()


def prepare_copy_groups(index_dir) -> None:
    """Opens the index's record of copies, and looks a copy up once, for a later copy_groups in this
    process, which a server's spare calls before its request comes: a request's first SQLite
    connection, the query's compilation and the record's first pages cost it 1-1.5 ms of CPU.
    Indexing replaces the record by renaming a new file over it: a connection of the file replaced
    is not used then (it stays open: its file cannot be another's while it does, so its identity
    is not taken by a newer record's)."""
    path = _record_path(index_dir)
    identity = _file_identity(path)  # before opening: a record renamed in between is not taken for this one
    db = _open_copy_groups(path)
    if db is not None:
        import sqlite3

        with suppress(sqlite3.Error):
            db.execute(_COPIES_QUERY, (b"", None)).fetchall()
            _prepared[path] = identity, db


def _record_path(index_dir) -> str:
    from archsearch.engines.whoosh.store import MANIFEST_FILE

    return os.path.join(os.path.abspath(index_dir), MANIFEST_FILE)


def _file_identity(path: str) -> tuple | None:
    from archsearch.engines.whoosh.store import path_identity  # Whoosh's store: imported only once needed

    return path_identity(path)


def _open_copy_groups(path: str):
    import sqlite3

    if not os.path.exists(path):
        return None
    db = None
    try:
        db = sqlite3.connect(f"file:{uri_path(path)}?mode=ro", uri=True)
        db.execute("SELECT grp FROM sketches LIMIT 1").fetchall()
    except sqlite3.Error:
        if db is not None:
            db.close()
        return None
    return db


# The bytes a path keeps as they are in a URI (urllib.parse.quote's: RFC 3986's unreserved, and '/').
_URI_PATH_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")


def uri_path(path: str) -> str:
    """path percent-encoded for a file: URI, byte by byte (a name that is no UTF-8 too), as
    urllib.parse.quote encodes it: importing urllib.parse costs a query 0.8 ms of CPU."""
    return "".join(chr(byte) if byte in _URI_PATH_BYTES else f"%{byte:02X}" for byte in os.fsencode(path))


def copies_of(searcher, groups, docnum: int, stored: dict, matching: Collection[int] | None) -> list[int]:
    """The other documents in the group of `docnum` (whose stored fields are `stored`), among
    `matching` (None: the whole index), from `groups` (copy_groups; None: no groups known)."""
    if groups is None:
        return []
    rows = groups.execute(_COPIES_QUERY, (os.fsencode(stored["key"]), stored.get("record"))).fetchall()
    if not rows:  # an article in no group, as most are: the lookups' module is not loaded for it (0.13 ms)
        return []
    from archsearch.engines.whoosh.keys import documents_of
    from archsearch.engines.whoosh.store import key_term

    reader = searcher.reader()
    copies = set()
    for key, record in rows:
        # Term lookups (the file, and the record in it) in the segments whose keys span the
        # file's, where finding candidates by bands took eight per segment.  A copy removed from
        # the index after the record was written is simply not found.
        candidates = documents_of(reader, "key", key_term(os.fsdecode(key)), None if record is None else ("record", record))
        copies.update(
            candidate
            for candidate in candidates
            if (matching is None or candidate in matching) and not reader.is_deleted(candidate)
        )
    copies.discard(docnum)
    return sorted(copies)
