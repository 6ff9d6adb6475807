"""A segment's term index and postings read through a map of its file, not seeks and reads.

The index is read without Whoosh's mmap (store.unmapped_storage: Whoosh would copy each mapped
segment's terms and postings whole into memory), so a term's information is a lookup in Whoosh's
on-disk hash table through a Python file object: four to six seeks and reads, each a system call
and a Python layer or three (SubFile, StructFile, BufferedReader), 9 µs warm and 20-70 µs in a
request process, and a term's postings one more.  A query reads tens of them (a word is looked
for in three fields of every segment; a prefix's hits' words, copy groups' keys many more).
Here the segment's file is mapped once per reader, by the server when it warms a generation
(server.warm: its request processes inherit the maps; a query in a process of its own reads as
before), kept with the reader and let go with it (postings_arrays.let_go), and the same hash table
is probed with struct over the map: the same slots in the same order, so the same term
information, or none, as Whoosh's OrderedHashReader gives.

Only a compound segment (one `.seg` file: the index's writers make no other kind) whose term
index and postings are sub-files of it is mapped; for any other, and any reader the server did
not warm, `mapped_terms` is None and the caller asks Whoosh.
"""

import mmap
import os

from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.filedb.compound import SubFile
from whoosh.filedb.filetables import _dir_entry, _lengths, _pointer
from whoosh.system import pack_ushort

# Where a segment reader keeps its MappedTerms (postings_arrays.let_go unmaps it).
READER_ATTRIBUTE = "_archsearch_mapped_terms"

_POINTER_SIZE = _pointer.size
_LENGTHS_SIZE = _lengths.size


class MappedTerms:
    """A segment's term information and postings bytes, read from a map of its compound file."""

    def __init__(self, terms):
        """`terms`: the segment reader's W3TermsReader.  Raises ValueError where its term index
        or postings are not sub-files of one file that can be mapped."""
        index_file, postings_file = terms._dbfile.file, terms._postfile.file
        if not (isinstance(index_file, SubFile) and isinstance(postings_file, SubFile)
                and index_file._file is postings_file._file):
            raise ValueError("not a compound segment")
        try:
            self._map = mmap.mmap(index_file._file.fileno(), 0, access=mmap.ACCESS_READ)
        except (AttributeError, OSError, mmap.error) as exc:
            raise ValueError(f"cannot map the segment: {exc}") from None
        table = terms._tindex
        self._index_start = index_file._offset
        self._index_end = index_file._offset + index_file._length
        self._postings_start = postings_file._offset
        self._postings_end = postings_file._offset + postings_file._length
        self._hash = table.hashfn
        self._tables = [(self._index_start + start, slots) for start, slots in table.tables]
        self._fields = terms._fieldmap

    def close(self) -> None:
        try:
            self._map.close()
        except BufferError:  # bytes of it still in use: unmapped when they go
            pass

    def term_info(self, fieldname: str, text: bytes):
        """The term's W3TermInfo in the segment, as W3TermsReader.term_info reads it; None where
        the segment has no such term."""
        key = pack_ushort(self._fields.get(fieldname, 65535)) + text
        data = self._value(key)
        return None if data is None else W3TermInfo.from_bytes(data)

    def _value(self, key: bytes) -> bytes | None:
        """HashReader.ranges_for_key's first value for the key, through the map."""
        keyhash = self._hash(key)
        table_start, slots = self._tables[keyhash & 255]
        if not slots:
            return None
        table, unpack_pointer, unpack_lengths = self._map, _pointer.unpack_from, _lengths.unpack_from
        table_end = table_start + slots * _POINTER_SIZE
        slot = table_start + ((keyhash >> 8) % slots) * _POINTER_SIZE
        start, end = self._index_start, self._index_end
        for _ in range(slots):
            slot_hash, item = unpack_pointer(table, slot)
            if not item:
                return None
            if slot_hash == keyhash:
                key_length, data_length = unpack_lengths(table, start + item)
                if key_length == len(key):
                    key_start = start + item + _LENGTHS_SIZE
                    if table[key_start:key_start + key_length] == key:
                        data_start = key_start + key_length
                        return table[data_start:min(data_start + data_length, end)]
            slot += _POINTER_SIZE
            if slot == table_end:
                slot = table_start
        return None

    def get(self, position: int, length: int) -> bytes:
        """The postings file's bytes at `position` (StructFile.get of the segment's postings)."""
        start = self._postings_start + position
        return self._map[start:min(start + length, self._postings_end)]


def mapped_terms(leaf) -> MappedTerms | None:
    """The segment reader's MappedTerms where map_segment made one; else None (then Whoosh reads:
    a query in a process of its own looks up a few tens of terms, less than importing mmap and
    mapping every segment would cost it)."""
    return leaf.__dict__.get(READER_ATTRIBUTE)


def map_segment(leaf) -> None:
    """Maps the segment reader's file for mapped_terms, kept with the reader (postings_arrays.let_go
    unmaps it): the server does so when it warms a generation, for the requests it forks.  Nothing
    where it cannot (not a compound segment, an EmptyReader)."""
    if READER_ATTRIBUTE in leaf.__dict__:
        return
    terms = getattr(leaf, "_terms", None)
    if terms is None or not hasattr(terms, "_tindex"):
        return
    try:
        leaf.__dict__[READER_ATTRIBUTE] = MappedTerms(terms)
    except ValueError:
        pass
