"""A segment's term index and postings read with positioned reads, not through Whoosh's file layers.

The index is read through Python file objects (store.unmapped_storage: Whoosh would copy each
mapped segment's terms and postings whole into memory), so Whoosh looks a term's information up
in its on-disk hash table with four to six seeks and reads, each through three Python layers
(SubFile, StructFile, BufferedReader) and a system call or two: 9 µs warm, 20-70 µs in a request
process; a term's postings are one more.  A query reads tens of them (a word is looked for in
three fields of every segment; copy groups look keys up).  Here the same hash table is probed
with os.pread at the same offsets (the same slots in the same order, so the same term
information, or none, as Whoosh's OrderedHashReader gives): one read a slot, one for the key and
one for its value.  (A map of the file was measured too: as fast, but every page a request
touches first is a page fault in its process, 130 more for 90 lookups.)

The server makes one per segment when it warms a generation (server.warm: its request processes
inherit them, each holding a descriptor of the segment's file, duplicated), kept with the reader
and let go with it (postings_arrays.let_go); an evaluation makes one on its first lookup in a
segment that has none yet (evaluation.term_info: a query in a process of its own, a reader the
server did not warm), and a reader collected without being let go closes its descriptor.  Only a
compound segment (one `.seg` file: the index's writers make no other kind) whose term index and
postings are sub-files of it is read so; for any other `segment_terms` is None and the caller asks
Whoosh.
"""

import os

from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.filedb.compound import SubFile
from whoosh.filedb.filetables import _lengths, _pointer
from whoosh.system import pack_ushort

# Where a segment reader keeps its SegmentTerms (postings_arrays.let_go closes it).
READER_ATTRIBUTE = "_archsearch_segment_terms"

_POINTER_SIZE = _pointer.size
_LENGTHS_SIZE = _lengths.size


class SegmentTerms:
    """A segment's term information and postings bytes, read from its compound file."""

    def __init__(self, terms):
        """`terms`: the segment reader's W3TermsReader.  Raises ValueError where its term index
        or postings are not sub-files of one file with a descriptor."""
        self._fd = -1  # none yet: closed when collected (__del__) though making it fails
        index_file, postings_file = terms._dbfile.file, terms._postfile.file
        if not (isinstance(index_file, SubFile) and isinstance(postings_file, SubFile)
                and index_file._file is postings_file._file):
            raise ValueError("not a compound segment")
        try:
            # A descriptor of its own: Whoosh's file object closes its own with the reader.
            self._fd = os.dup(index_file._file.fileno())
        except (AttributeError, OSError) as exc:
            raise ValueError(f"cannot read the segment: {exc}") from None
        self._file = index_file._file
        table = terms._tindex
        self._index_start = index_file._offset
        self._index_end = index_file._offset + index_file._length
        self._postings_start = postings_file._offset
        self._postings_end = postings_file._offset + postings_file._length
        self._hash = table.hashfn
        self._tables = table.tables  # (start within the term index, slots) by a hash's last byte
        self._fields = terms._fieldmap

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # A reader that is not let go (a query in a process of its own closes its searcher, not each
    # segment's sidecars) closes its descriptor when collected.
    __del__ = close

    def term_info(self, fieldname: str, text: bytes):
        """The term's W3TermInfo in the segment, as W3TermsReader.term_info reads it; None where
        the segment has no such term."""
        key = pack_ushort(self._fields.get(fieldname, 65535)) + text
        data = self._value(key)
        return None if data is None else W3TermInfo.from_bytes(data)

    def _value(self, key: bytes) -> bytes | None:
        """HashReader.ranges_for_key's first value for the key."""
        keyhash = self._hash(key)
        table_start, slots = self._tables[keyhash & 255]
        if not slots:
            return None
        table_start += self._index_start
        fd, unpack_pointer, unpack_lengths = self._fd, _pointer.unpack, _lengths.unpack_from
        table_end = table_start + slots * _POINTER_SIZE
        slot = table_start + ((keyhash >> 8) % slots) * _POINTER_SIZE
        start, end = self._index_start, self._index_end
        for _ in range(slots):
            slot_hash, item = unpack_pointer(os.pread(fd, _POINTER_SIZE, slot))
            if not item:
                return None
            if slot_hash == keyhash:
                head = os.pread(fd, _LENGTHS_SIZE + len(key), start + item)
                key_length, data_length = unpack_lengths(head)
                if key_length == len(key) and head[_LENGTHS_SIZE:] == key:
                    data_start = start + item + _LENGTHS_SIZE + key_length
                    return os.pread(fd, max(min(data_length, end - data_start), 0), data_start)
            slot += _POINTER_SIZE
            if slot == table_end:
                slot = table_start
        return None

    def reads(self, structfile) -> bool:
        """Whether `structfile` (Whoosh's StructFile) reads the segment's file, as this does."""
        return getattr(structfile, "file", None) is self._file

    def read(self, position: int, length: int) -> bytes:
        """The segment's file's bytes at `position`, up to `length` of them."""
        return os.pread(self._fd, length, position)

    def get(self, position: int, length: int) -> bytes:
        """The postings file's bytes at `position` (StructFile.get of the segment's postings)."""
        start = self._postings_start + position
        return os.pread(self._fd, max(min(length, self._postings_end - start), 0), start)


def segment_terms(leaf) -> SegmentTerms | None:
    """The segment reader's SegmentTerms where read_segment_terms made one; else None (then
    Whoosh reads)."""
    return leaf.__dict__.get(READER_ATTRIBUTE)


def read_segment_terms(leaf) -> SegmentTerms | None:
    """The segment reader's SegmentTerms, made on the first call and kept with the reader
    (postings_arrays.let_go closes it): the server makes it when it warms a generation, for the
    requests it forks, and an evaluation on its first lookup.  None where it cannot be made (not
    a compound segment, an EmptyReader): then Whoosh reads."""
    found = leaf.__dict__.get(READER_ATTRIBUTE, False)
    if found is not False:
        return found
    terms = getattr(leaf, "_terms", None)
    if terms is None or not hasattr(terms, "_tindex"):
        return None
    try:
        made = SegmentTerms(terms)
    except ValueError:
        made = None  # asked once: Whoosh reads it
    leaf.__dict__[READER_ATTRIBUTE] = made
    return made
