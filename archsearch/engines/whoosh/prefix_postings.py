"""The documents of each short prefix, written at index time: a typed `s*` without a walk of its words.

A prefix word matches every article holding any word that starts with it, and ranks by its most
frequent words (fuzzy.SCORED_EXPANSIONS of them).  A one-letter prefix stands for about 5,100
words in each segment of a 100k index: finding them, reading their term information to choose
the frequent ones and OR-ing their postings took 1.6-2 s a keystroke.  As Lucene's
`index_prefixes` and edge n-grams do, each segment now also holds, for every prefix of 1 to
PREFIX_LETTERS letters of the words of PREFIX_FIELDS that more than WORDS_LISTED words share in
it: the sorted documents (segment-relative, deleted ones included, as in the postings) holding
one of those words, how many words share it, its TOP_WORDS most frequent words with their
documents counts (term information's doc_frequency(), ties by word), and the largest count of
the words left out (`bound`).  Prefixes of fewer words are cheap to walk and are left out.

It is a file beside the segment's own, `MAIN_<segment>.prefixes`, written with the postings
arrays (postings_arrays.SidecarWriter feeds it every term) and like them redundant: a segment
without one (written before it existed) or whose entry is damaged is walked word by word as
before, and `archsearch index` writes the missing ones at its next commit.

Layout (little-endian): HEADER (as postings_arrays', with its own magic), each entry's data,
then the directory: the offsets of the keys (uint64, one more than entries), a record per entry
(int64: documents, start of its data, whether the documents are 16-bit, start of its words,
end of its data), a CRC-32 per entry (of its key and data), then the keys (field name, NUL,
prefix, in byte order).  An entry's data is its documents (uint16 where all fit, else uint32,
padded to 4 bytes), then its words: a pickled (word count, bound, words, counts).

Neither numpy nor anything else heavy is imported here: the writers need none, and the words of
an entry are read without it (arrays.py reads the documents).
"""

import contextlib
import os
import pickle
import struct
import zlib
from array import array
from bisect import bisect_left
from collections import deque
from itertools import chain, compress, count, groupby, repeat
from operator import itemgetter

from archsearch.engines.whoosh.postings_arrays import (
    _BIG_ENDIAN, _NARROW_MAX, HEADER, kept_with_reader, mapped_whole, write_directory,
)

PREFIX_FIELDS = frozenset({"exact"})  # where a prefix word without a field looks (querying.py)
PREFIX_LETTERS = 3
# A prefix of this many words or fewer in a segment has no entry: its words are walked (fuzzy.py).
WORDS_LISTED = 16
# The most frequent words an entry lists: twice those scored, so that the words scored over all
# segments are almost always among those listed in each (see fuzzy.prefix_expansion).
TOP_WORDS = 32

EXTENSION = ".prefixes"
MAGIC = b"ASPREF01"
RECORD_FIELDS = 5  # documents, start, narrow, words' start, end
# A prefix's documents are gathered in a set until they are this many, then as a byte per document
# (a set takes about 60 bytes a document with its ints: a one-letter prefix is in most of them).
DOCUMENT_SET_LIMIT = 1 << 16
_RECORD = struct.Struct("<5q")
_OFFSET = struct.Struct("<Q")
_CRC = struct.Struct("<I")


def prefixes_name(segment) -> str:
    return segment.make_filename(EXTENSION)


class _Documents:
    """The documents of a prefix's words gathered so far: a set of their numbers, or past
    DOCUMENT_SET_LIMIT of them a byte per document up to the last found (1 where found); and those
    given as numpy arrays (a slice of a segment's terms, PrefixWriter.add_term_arrays), kept as they
    come (`arrays`), made one set of numbers only for an entry that is written."""

    __slots__ = ("found", "marks", "arrays")

    def __init__(self):
        self.found: set[int] | None = set()
        self.marks: bytearray | None = None
        self.arrays: list = []

    def update(self, docnums) -> None:
        if hasattr(docnums, "dtype"):  # a numpy array (PrefixWriter.add_term_arrays)
            self.arrays.append(docnums)
            return
        if self.marks is not None:
            self._mark(docnums)
            return
        self.found.update(docnums)
        if len(self.found) > DOCUMENT_SET_LIMIT:
            self.marks = bytearray()
            self._mark(self.found)
            self.found = None

    def _mark(self, docnums) -> None:
        if not docnums:
            return
        marks = self.marks
        last = max(docnums)
        if last >= len(marks):
            marks.extend(bytes(last + 1 - len(marks)))
        deque(map(marks.__setitem__, docnums, repeat(1)), maxlen=0)  # each marked in one pass of C

    def add(self, other: "_Documents") -> None:
        """Add another prefix's documents."""
        self.arrays += other.arrays
        if other.marks is None:
            self.update(other.found)
            return
        if self.marks is None:
            self.marks = bytearray(other.marks)  # a copy: the other's entry may be written after
            self._mark(self.found)
            self.found = None
            return
        shorter, longer = sorted((self.marks, other.marks), key=len)
        either = int.from_bytes(shorter, "little") | int.from_bytes(longer[:len(shorter)], "little")
        self.marks = bytearray(either.to_bytes(len(shorter), "little")) + longer[len(shorter):]

    def numbers(self) -> array:
        """The documents in order, as uint16 where all fit, else uint32."""
        if self.arrays:
            return self._numbers_with_arrays()
        if self.marks is None:
            ordered = sorted(self.found)
            last = ordered[-1]
        else:
            ordered = compress(count(), self.marks)
            last = len(self.marks) - 1
        return array("H" if last <= _NARROW_MAX else "I", ordered)

    def _numbers_with_arrays(self) -> array:
        """numbers() of documents some of which came as arrays: all of them marked in an array of a
        flag per document at once (a one-letter prefix has most of a segment's postings of its field),
        where a set took a step of Python per posting, and a step of numpy an array was most of it
        (such a prefix's documents come as thousands of its words' arrays)."""
        import numpy as np

        found = self.arrays
        if self.marks is not None:
            found = [*found, np.flatnonzero(np.frombuffer(self.marks, np.uint8))]
        elif self.found:
            found = [*found, np.fromiter(self.found, np.int64, len(self.found))]
        every = np.concatenate(found)
        marks = np.zeros(int(every.max()) + 1, bool)
        marks[every] = True
        ordered = np.flatnonzero(marks)
        narrow = ordered[-1] <= _NARROW_MAX
        return array("H" if narrow else "I", ordered.astype(np.uint16 if narrow else np.uint32).tobytes())


class _Gathering:
    """What one prefix's words hold so far: their documents and (count, word) pairs."""

    __slots__ = ("prefix", "documents", "words")

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.documents = _Documents()
        self.words: list[tuple[int, bytes]] = []


class PrefixWriter:
    """Gathers the prefixes of a segment's terms as its writer writes them (in term order), and
    writes the file.  A field's terms sharing a prefix follow each other, so each length of prefix
    gathers one prefix at a time and hands what it gathered to the next shorter when done."""

    def __init__(self, folder: str, segment):
        self._folder = folder
        self._segment = segment
        self._temporary = os.path.join(folder, f"prefixes-{segment.segment_id()}.tmp")
        self._out = open(self._temporary, "wb")
        self._out.write(b"\0" * HEADER.size)
        self._entries: list[tuple[bytes, int, int, int, int, int, int]] = []
        self._field = None
        self._open: list[_Gathering | None] = [None] * (PREFIX_LETTERS + 1)  # by length in letters

    @staticmethod
    def takes(fieldname: str) -> bool:
        return fieldname in PREFIX_FIELDS

    def add(self, fieldname: str, term: bytes, docnums) -> None:
        """A term of the field (terms in order) and its documents."""
        self.add_terms(fieldname, [term], [docnums])

    def add_terms(self, fieldname: str, terms: list[bytes], docnums: list) -> None:
        """Terms of the field (in order) and the documents of each: the terms sharing their first
        PREFIX_LETTERS letters (most follow another that does) gathered at once."""
        for head, low, high in self._heads(fieldname, terms):
            alike = docnums[low:high]
            self._add_alike(head, terms[low:high], list(map(len, alike)),
                            alike[0] if len(alike) == 1 else list(chain.from_iterable(alike)))

    def add_term_arrays(self, fieldname: str, terms: list[bytes], docnums, firsts, counts) -> None:
        """add_terms() of terms whose documents are a numpy array (`docnums`), each term's from its
        first (`firsts`, consecutive) for its count (`counts`): the documents of terms sharing their
        first letters are kept as a slice of it (_Documents), not made lists."""
        import numpy as np

        ends = (firsts + counts).tolist()
        firsts = firsts.tolist()
        counts = counts.tolist()
        for head, low, high in self._heads(fieldname, terms):
            self._add_alike(head, terms[low:high], counts[low:high],
                            docnums[firsts[low]:ends[high - 1]].astype(np.uint32))

    def _heads(self, fieldname: str, terms: list[bytes]):
        """(first PREFIX_LETTERS letters, first, end) of each run of the terms that share them; none
        in a field without prefixes."""
        if fieldname not in PREFIX_FIELDS:
            return
        if fieldname != self._field:
            self._close_from(1)
            self._field = fieldname
        heads = map(itemgetter(slice(PREFIX_LETTERS)), map(bytes.decode, terms))
        low = 0
        for head, alike in groupby(heads):
            high = low + sum(1 for _ in alike)
            yield head, low, high
            low = high

    def _add_alike(self, head: str, terms: list[bytes], counts: list[int], docnums) -> None:
        """Terms whose words start with `head` (their first PREFIX_LETTERS letters, or all of them),
        how many documents each is in, and the documents of them all (a list, or a numpy array)."""
        letters = len(head)
        for length in range(PREFIX_LETTERS, 0, -1):
            gathering = self._open[length]
            if gathering is not None and (length > letters or gathering.prefix != head[:length]):
                self._close(length)
        if not letters:  # an empty word (`exact` keeps a lone combining mark as one) has no prefix
            return
        for length in range(1, letters + 1):
            if self._open[length] is None:
                self._open[length] = _Gathering(head[:length])
        gathering = self._open[letters]
        gathering.documents.update(docnums)
        gathering.words += zip(counts, terms)

    def _close_from(self, length: int) -> None:
        for each in range(PREFIX_LETTERS, length - 1, -1):
            if self._open[each] is not None:
                self._close(each)

    def _close(self, length: int) -> None:
        gathering = self._open[length]
        self._open[length] = None
        shorter = self._open[length - 1] if length > 1 else None
        if shorter is not None:
            shorter.documents.add(gathering.documents)
            shorter.words += gathering.words
        if len(gathering.words) > WORDS_LISTED:
            self._write_entry(gathering)

    def _write_entry(self, gathering: _Gathering) -> None:
        ids = gathering.documents.numbers()
        narrow = ids.typecode == "H"
        if _BIG_ENDIAN:
            ids.byteswap()
        ranked = ranked_words(gathering.words)
        listed, left = ranked[:TOP_WORDS], ranked[TOP_WORDS:]
        words = pickle.dumps(
            (len(ranked), left[0][0] if left else 0, [word for _, word in listed], [count for count, _ in listed]),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        data = ids.tobytes()
        data += b"\0" * (-len(data) % 4)
        key = self._field.encode("utf-8") + b"\0" + gathering.prefix.encode("utf-8")
        start = self._out.tell()
        self._out.write(data + words)
        end = self._out.tell()
        self._entries.append((key, len(ids), start, int(narrow), start + len(data), end,
                              zlib.crc32(data + words, zlib.crc32(key))))

    def finish(self, document_count: int) -> None:
        """Write the directory and header, and give the file its segment's name."""
        self._close_from(1)
        out = self._out
        try:
            entries = sorted(self._entries)
            records = array("q", chain.from_iterable(entry[1:6] for entry in entries))
            crcs = array("I", [entry[6] for entry in entries])
            write_directory(out, MAGIC, document_count, [entry[0] for entry in entries], records, crcs)
        finally:
            out.close()
        os.replace(self._temporary, os.path.join(self._folder, prefixes_name(self._segment)))

    def discard(self) -> None:
        self._out.close()
        with contextlib.suppress(OSError):
            os.remove(self._temporary)


def ranked_words(words: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """(count, word) pairs of distinct words, most frequent first, then in word order: two sorts by
    keys in C, where one by a Python function's key (-count, word) took a third of writing the prefixes."""
    ranked = sorted(words, key=itemgetter(1))
    ranked.sort(key=itemgetter(0), reverse=True)  # stable, even reversed
    return ranked


class PrefixEntry:
    """One prefix of a segment: its documents' bytes (read as an array by arrays.py) and words."""

    __slots__ = ("documents", "narrow", "word_count", "bound", "top")

    def __init__(self, documents: memoryview, narrow: bool, words: bytes):
        self.documents, self.narrow = documents, narrow
        self.word_count, self.bound, listed, counts = pickle.loads(words)
        self.top: dict[bytes, int] = dict(zip(listed, counts))  # most frequent first

    def local_documents(self) -> array:
        """The documents, segment-relative, as an array (a copy)."""
        documents = array("H" if self.narrow else "I")
        documents.frombytes(self.documents)
        if _BIG_ENDIAN:
            documents.byteswap()
        return documents


class SegmentPrefixes:
    """A segment's prefix file, mapped; an entry's bytes are read when asked for."""

    def __init__(self, path: str, document_count: int):
        """Raises ValueError if the file is not a whole one for a segment of that many documents."""
        self._map, self._count, self._directory = mapped_whole(path, document_count, MAGIC, RECORD_FIELDS)
        self._records = self._directory + _OFFSET.size * (self._count + 1)
        self._crcs = self._records + _RECORD.size * self._count
        self._keys = self._crcs + _CRC.size * self._count
        self._read: dict[bytes, PrefixEntry | None] = {}

    def close(self) -> None:
        self._read.clear()
        with contextlib.suppress(BufferError):
            self._map.close()

    def _key(self, index: int) -> bytes:
        start, end = struct.unpack_from("<2Q", self._map, self._directory + _OFFSET.size * index)
        return self._map[self._keys + start:self._keys + end]

    def entry(self, fieldname: str, prefix: str) -> PrefixEntry | None:
        """The prefix's entry; None if the file has none for it (it has WORDS_LISTED words or
        fewer in the segment, or none) or holds it damaged."""
        key = fieldname.encode("utf-8") + b"\0" + prefix.encode("utf-8")
        if key in self._read:
            return self._read[key]
        found = None
        index = bisect_left(range(self._count), key, key=self._key)
        if index < self._count and self._key(index) == key:
            documents, start, narrow, words, end = _RECORD.unpack_from(self._map, self._records + _RECORD.size * index)
            (crc,) = _CRC.unpack_from(self._map, self._crcs + _CRC.size * index)
            size = documents * (2 if narrow else 4)
            data = memoryview(self._map)[start:end] if HEADER.size <= start <= words <= end <= self._directory else None
            if data is not None and start + size <= words and zlib.crc32(data, zlib.crc32(key)) == crc:
                try:
                    found = PrefixEntry(data[:size], bool(narrow), bytes(data[words - start:]))
                except Exception:  # unpickling damaged bytes raises anything at all
                    found = None
        self._read[key] = found
        return found


# Where segment_prefixes keeps a segment reader's mapped file.
READER_ATTRIBUTE = "_archsearch_prefixes"


def segment_prefixes(leaf) -> SegmentPrefixes | None:
    """The prefix file of a segment reader's segment; None if it has none whole.  Kept with the
    reader, and let go with it (postings_arrays.let_go)."""
    return kept_with_reader(leaf, READER_ATTRIBUTE, SegmentPrefixes, prefixes_name)
