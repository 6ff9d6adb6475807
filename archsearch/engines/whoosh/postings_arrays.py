"""A segment's terms' postings as flat arrays, in a file beside the segment's own.

Whoosh keeps a term's postings in blocks of 128, each a pickled (gaps, weights, positions)
triple of Python lists, mostly compressed: reading `president` at 100k articles decompresses
and unpickles 460 of them, most of a query's time.  A segment never changes once written, so
the segment writer also writes the same postings as arrays a reader maps without copying
(arrays.SegmentArrays): document numbers (segment-relative), weights as the 32-bit floats Whoosh
stores (so scores are the same floats), and in a field with positions the positions, flattened,
with each posting's first one.  It does so for every term of the fields a query's words are
looked for in (EVERY_TERM_FIELDS: then a term the file lacks is in none of the segment's
documents, with no lookup in Whoosh's), and for the other fields' terms in SIDECAR_POSTINGS
documents or more of it: their rarer terms stay where they are.

For the fields of EVERY_TERM_FIELDS, a segment written since session 20 has its postings here only
(`exact`'s since session 22, `lead`'s since session 23: one written before has its blocks and the
file its frequent terms):
Whoosh's blocks of them are not written (FILE_ONLY_ATTRIBUTE), and Whoosh's reader reads them from
here (read_file_only_postings); a lost file of such a segment is damage: `archsearch index` drops
the segment and indexes its articles again (store.drop_lost_postings), a query names it.  For the
rest the file is redundant: a segment without one (written before it existed), or whose file is
damaged, is read from Whoosh's postings as before (and so is a term its file left out, as one
written before EVERY_TERM_FIELDS left out their rarer terms), and `archsearch index` writes the
missing ones, and those written before, again (segments.add_missing_sidecars; not for `exact`'s
or `lead`'s rarer terms alone: REWRITTEN_WITHOUT_KEY_FIELDS).  It is named after
the segment (`MAIN_<id>.postings`), so that Whoosh's clean-up removes it with its segment and
publishing a staged build moves it with the rest; it is written under a temporary name and renamed
when whole.

Layout (little-endian): a header (HEADER), then each term's data, then the directory.  A term's
data is its document numbers, its weights (float32; left out where they are the counts of
positions), and in a field with positions its postings' offsets into its positions (one more
than postings) and the positions;
each array of uint16 where all its numbers fit, else of uint32 (term_layout).  The directory is
the offsets of the keys (uint64, one more than terms), a record per term (int64: postings, start
of its data, positions, end of its data, flags), a CRC-32 per term (of its key and data, so that
a record pointing elsewhere fails it too), then the keys, field name, NUL, term, in byte order.

numpy is not imported here but by laid_out_terms, which the segment writer calls (it inverts its
tokens with numpy already): a query in a process of its own reads these files with the standard
library (ListedPostings); arrays.py reads them with numpy.
"""

import contextlib
import functools
import mmap
import os
import pickle
import re
import struct
import zlib
from array import array
from bisect import bisect_left
from itertools import accumulate, chain
from operator import attrgetter

from whoosh.formats import Positions
from whoosh.system import _INT_SIZE

# A term in fewer of a segment's documents is read from Whoosh's postings, but in the fields of
# EVERY_TERM_FIELDS.  Reading a term here costs 13-17 µs whatever its length (10k-document segment,
# 100k index), Whoosh's 6 µs at 1-8 documents, 16 at 16-32, 38 at 64-128, 65 at 128-256, 470 at
# 1,024-4,096 (bench/README.md, "Postings as arrays").
SIDECAR_POSTINGS = 128
# The fields whose every term goes in the postings file, however few documents it is in: those a
# query's words are looked for in (querying.DEFAULT_FIELDS and querying.WORD_FORM_FIELD).  A word
# is looked for in each field of every segment, and a segment without the term in
# its file was a Whoosh term lookup and a block unpickled (10-16 µs in a served request): most of
# what ten segments cost more than one (a title's words in 16-127 of a segment's documents went in
# from session 10 on, bench/README.md "Many segments at the cost of one"); knowing the file holds
# every term, a term it does not hold is in none of the segment's documents, with no lookup.
# `exact` (prefix, wildcard and fuzzy words, exact forms, smart case) joined them in session 22: its
# Whoosh blocks were a build's costliest postings to write (0.42 ms a file), its frequent terms
# written twice.  `lead` (`lead:` words) in session 23, for the same reason: its blocks were then
# the costliest left (0.108 ms a file), and its every term in the file spares `lead:` a Whoosh
# lookup in a segment without the word.
EVERY_TERM_FIELDS = frozenset({"title", "derived_title", "body", "exact", "lead"})
# The fields of EVERY_TERM_FIELDS whose EVERY_TERM_KEY a postings file must hold not to be written
# again (holds_current_keys).  Not `exact` nor `lead`: a file written before they joined holds their
# frequent terms only, and its segment has Whoosh's blocks of all of them, which its readers read the
# rarer ones from (the missing key tells them), as before; writing every such segment's file again
# would make the first `archsearch index` after an upgrade as costly as reading the whole index.
REWRITTEN_WITHOUT_KEY_FIELDS = frozenset({"title", "derived_title", "body"})
# The key, followed by the field's name, that says the file holds every term of that field of
# EVERY_TERM_FIELDS (no field is named "", so no term has it): a file written before them may leave
# a field's rarer terms out, which are then read from Whoosh's postings (missing_parts has the file
# written again).
EVERY_TERM_KEY = b"\0every term\0"

# The attribute of a segment (Whoosh's Segment, pickled in the table of contents) naming the fields
# of EVERY_TERM_FIELDS whose postings its postings file alone holds: a segment written with one has
# no Whoosh postings blocks of them (its term index keeps their terms and statistics), which were a
# second copy costing a ninth of a build's CPU and most of the index's size.  A segment without the
# attribute (written before it) has both.  Its readers read those fields from the file
# (file_postings, and Whoosh's reader through read_file_only_postings); damage to it cannot be
# repaired from Whoosh's postings (see store.FileOnlyPostingsLost).
FILE_ONLY_ATTRIBUTE = "archsearch_file_only_fields"

EXTENSION = ".postings"
MAGIC = b"ASPOST01"
# magic, documents in the segment, terms, directory's start, file length
HEADER = struct.Struct("<8sQQQQ")
RECORD_FIELDS = 5  # postings, start, positions, end, flags
# A term's flags: which of its arrays hold 16-bit numbers (each is 32-bit unless all its numbers
# fit), and whether its weights are stored: they are not where each is its posting's count of
# positions, as Whoosh weighs the words of a field without a boost.
# A field without positions has neither offsets nor positions.
NARROW_IDS, NARROW_OFFSETS, NARROW_POSITIONS, WEIGHTS_STORED, NO_POSITIONS = 1, 2, 4, 8, 16
_NARROW_MAX = 0xFFFF
# A sidecar being written (postings, or prefix_postings.py's prefixes): not named after its
# segment, so that assembling a compound segment leaves it alone; remove_unreferenced_files
# removes those a crash left.
TEMPORARY = re.compile(r"^(postings|prefixes)-.*\.tmp$")

# The arrays are written by the array module, in the machine's byte order: swapped where that is not little-endian.
_BIG_ENDIAN = struct.pack("=I", 1) != struct.pack("<I", 1)

# A posting's values in FastSegmentWriter's flat lists of a term's postings: docnum, weight,
# encoded positions, field length.
_POSTING_SLOTS = 4


def sidecar_postings(fieldname: str) -> int:
    """How many of a segment's documents a term of the field is in, at least, for the postings
    file to hold it."""
    return 1 if fieldname in EVERY_TERM_FIELDS else SIDECAR_POSTINGS


def every_term_key(fieldname: str) -> bytes:
    """The key that says a postings file holds every term of the field (EVERY_TERM_KEY)."""
    return EVERY_TERM_KEY + fieldname.encode("utf-8")


def sidecar_name(segment) -> str:
    return segment.make_filename(EXTENSION)


def has_positions(field) -> bool:
    return type(field.format) is Positions


def decode_positions(value: bytes) -> list[int]:
    """Positions.decode_positions(), with the gaps summed in C."""
    if value[-1:] != b".":
        value += b"."  # minified values may lose pickle's final STOP
    return list(accumulate(pickle.loads(value[_INT_SIZE:])))


# Postings whose positions SidecarWriter.add decodes at a time.
DECODED_POSTINGS = 4096

# The files of a segment's sidecar, as SidecarWriter's `parts` names them.
PARTS = frozenset({"postings", "prefixes"})

# Each document's title length in words, kept in the postings file as if it were the document
# numbers of a term under this key (no field is named "", so no term has it): the sum of the
# weights of the document's `title` terms, which is its count of words (one term per word,
# analysis.chain.TextAnalyzer; the field has no boost).  Proximity needs it to tell a title's
# words in `exact` from the body's (evaluation.Evaluator._title_length), and Whoosh's field
# length, one byte, tells it only up to 10 words: else the stored title was read and split.
# A file written before it has no such key: the title is read as before.
TITLE_WORDS_KEY = b"\0title words"
_TITLE_FIELD = "title"


class SidecarWriter:
    """Collects a segment's frequent terms as its writer writes them, and writes the file; and
    gives every term to the prefixes' writer (prefix_postings.py).  `parts`: the files to write,
    of PARTS (an older segment's missing ones, see missing_parts)."""

    def __init__(self, folder: str, segment, schema, parts=PARTS):
        from archsearch.engines.whoosh.prefix_postings import PrefixWriter

        self._folder = folder
        self._segment = segment
        self._positional = {name for name, field in schema.items() if has_positions(field)}
        self._out = None
        if "postings" in parts:
            self._temporary = os.path.join(folder, f"postings-{segment.segment_id()}.tmp")
            self._out = open(self._temporary, "wb")
            self._out.write(b"\0" * HEADER.size)
        self._prefixes = PrefixWriter(folder, segment) if "prefixes" in parts else None
        self._keys: list[bytes] = []
        self._records: list[int] = []
        self._crcs: list[int] = []
        self._decoded: dict[bytes, list[int]] = {}
        self._title_words: dict[int, float] = {}  # per document, see TITLE_WORDS_KEY

    def holds(self, name: str, postings: int) -> bool:
        """Whether a term of the field in that many documents goes in the files, or is counted
        for the title lengths (TITLE_WORDS_KEY)."""
        return (
            self._holds_postings(name, postings)
            or (self._prefixes is not None and self._prefixes.takes(name))
            or (self._out is not None and name == _TITLE_FIELD)
        )

    def _holds_postings(self, name: str, postings: int) -> bool:
        return self._out is not None and postings >= sidecar_postings(name)

    def listed(self, name: str, items):
        """The field's terms as they come, (term, postings) pairs (FastSegmentWriter's flat lists) or
        slices of terms encoded (segments.EncodedTerms), each term added on the way where it goes in
        the files."""
        prefixes = self._prefixes if self._prefixes is not None and self._prefixes.takes(name) else None
        titles = self._out is not None and name == _TITLE_FIELD
        # _holds_postings: terms in at least this many documents (inf: none, there is no postings file)
        least = float("inf") if self._out is None else sidecar_postings(name)
        for item in items:
            if type(item) is not tuple:
                self._take_encoded(name, item, prefixes, titles)
                yield item
                continue
            term, postings = item
            if prefixes is not None:
                prefixes.add(name, term, postings[0::_POSTING_SLOTS])
            if titles:
                self._count_title_words(postings[0::_POSTING_SLOTS], postings[1::_POSTING_SLOTS])
            if len(postings) // _POSTING_SLOTS >= least:
                laid_out = getattr(postings, "laid_out", None)
                if laid_out is not None:
                    self.add_laid_out(name, term, laid_out)
                else:
                    self.add(name, term, postings[0::_POSTING_SLOTS], postings[1::_POSTING_SLOTS],
                             postings[2::_POSTING_SLOTS])
            yield item

    def _take_encoded(self, name: str, encoded, prefixes, titles: bool) -> None:
        """listed() of a slice of terms encoded (segments.EncodedTerms): the terms it lists (those
        of the sidecar_postings it holds) come with their data laid out."""
        if prefixes is not None:
            prefixes.add_term_arrays(name, encoded.terms, encoded.docnums, encoded.firsts, encoded.counts)
        if titles:
            self._count_title_words(encoded.docnums.tolist(), encoded.weights.tolist())
        if self._out is not None and encoded.listed:
            self._append_laid_out(name, encoded.listed, encoded.laid_out)

    def take(self, name: str, term: bytes, docnums, weights, values) -> None:
        """A term of those it holds (terms in order), as add() takes it, into the files it goes in."""
        if self._prefixes is not None:
            self._prefixes.add(name, term, docnums)
        if self._out is not None and name == _TITLE_FIELD:
            self._count_title_words(docnums, weights)
        if self._holds_postings(name, len(docnums)):
            self.add(name, term, docnums, weights, values)

    def _count_title_words(self, docnums, weights) -> None:
        counted = self._title_words
        for docnum, weight in zip(docnums, weights):
            counted[docnum] = counted.get(docnum, 0.0) + weight

    def add(self, name: str, term: bytes, docnums, weights, values) -> None:
        """A term's postings into the postings file: segment-relative document numbers
        (increasing), weights, and the encoded positions of each (as Positions encodes them)."""
        positional = name in self._positional
        if positional:
            counts = array("I")
            flat = array("I")
            # A slice of the postings at a time: their positions as lists take about 40 bytes each,
            # and a merged segment's most frequent term has tens of millions.
            for low in range(0, len(values), DECODED_POSTINGS):
                positions = self._decoded_positions(values[low:low + DECODED_POSTINGS])
                counts.extend(map(len, positions))
                flat.extend(chain.from_iterable(positions))
        else:
            counts = flat = array("I")
        stored_weights = array("f", weights)
        flags = WEIGHTS_STORED if not positional or stored_weights != array("f", counts) else 0
        flags |= 0 if positional else NO_POSITIONS
        narrow = {
            NARROW_IDS: docnums[-1] <= _NARROW_MAX,
            NARROW_OFFSETS: len(flat) <= _NARROW_MAX,
            NARROW_POSITIONS: not flat or max(flat) <= _NARROW_MAX,
        }
        for flag, fits in narrow.items():
            flags |= flag if fits else 0
        (ids_code, _, _), (weights_code, _, _), (offsets_code, _, _), (positions_code, _, _), _ = term_layout(
            len(docnums), len(flat), flags
        )
        parts = [array(ids_code, docnums)]
        if flags & WEIGHTS_STORED:
            parts.append(stored_weights)
        if positional:
            parts += (array(offsets_code, accumulate(counts, initial=0)), array(positions_code, flat))
        self._append(name.encode("utf-8") + b"\0" + term, parts, len(docnums), len(flat), flags)

    def _decoded_positions(self, values: list[bytes]) -> list[list[int]]:
        """The positions of each encoded value."""
        # Most words occur once in an article: the same few thousand values come back, looked up
        # in one pass of C.
        decoded = self._decoded
        positions = list(map(decoded.get, values))
        for index in [index for index, found in enumerate(positions) if found is None]:
            value = values[index]
            positions[index] = places = decode_positions(value)
            # Only single positions are kept: the others seldom recur, and a segment's
            # frequent terms hold over a million of them (70 MiB at 10,000 articles).
            if len(places) == 1:
                decoded[value] = places
        return positions

    def _add_title_words(self, document_count: int) -> None:
        """Each document's title length in words, as the document numbers of TITLE_WORDS_KEY."""
        counted = self._title_words
        lengths = array("I", (round(counted.get(docnum, 0.0)) for docnum in range(document_count)))
        flags = NO_POSITIONS | (NARROW_IDS if max(lengths, default=0) <= _NARROW_MAX else 0)
        if flags & NARROW_IDS:
            lengths = array("H", lengths)
        self._append(TITLE_WORDS_KEY, [lengths], document_count, 0, flags)

    def add_laid_out(self, name: str, term: bytes, laid_out: "LaidOutTerm") -> None:
        """A term of a field with positions whose data the writer laid out already (laid_out_terms)."""
        self._append_laid_out(name, [term], [laid_out])

    def _append_laid_out(self, name: str, terms: list[bytes], laid_out: list["LaidOutTerm"]) -> None:
        """add_laid_out of each term, in one write."""
        key_start = name.encode("utf-8") + b"\0"
        self._append_all(list(map(key_start.__add__, terms)), *(
            list(map(attrgetter(part), laid_out)) for part in ("data", "postings", "positions", "flags")
        ))

    def _append(self, key: bytes, parts: list, postings: int, positions: int, flags: int) -> None:
        """A key's arrays, laid out as term_layout says, into the postings file, with its record
        and checksum."""
        if _BIG_ENDIAN:
            for part in parts:
                part.byteswap()
        data = b"".join(part.tobytes() + b"\0" * (-len(part) * part.itemsize % 4) for part in parts)
        self._append_data(key, data, postings, positions, flags)

    def _append_data(self, key: bytes, data: bytes, postings: int, positions: int, flags: int) -> None:
        self._append_all([key], [data], [postings], [positions], [flags])

    def _append_all(self, keys: list[bytes], data: list[bytes], postings: list[int], positions: list[int],
                    flags: list[int]) -> None:
        """Each key's data, counts and flags (lists alike) into the postings file, with its record and
        checksum, in one write."""
        starts = list(accumulate(map(len, data), initial=self._out.tell()))
        self._out.write(b"".join(data))
        records = [0] * (RECORD_FIELDS * len(keys))
        for field, values in enumerate((postings, starts[:-1], positions, starts[1:], flags)):
            records[field::RECORD_FIELDS] = values
        self._records += records
        self._keys += keys
        self._crcs += map(zlib.crc32, data, map(zlib.crc32, keys))

    def finish(self, document_count: int) -> None:
        """Write the directories and headers, and give the files their segment's names."""
        if self._prefixes is not None:
            self._prefixes.finish(document_count)
        out = self._out
        if out is None:
            return
        try:
            self._add_title_words(document_count)
            for fieldname in EVERY_TERM_FIELDS:
                self._append(every_term_key(fieldname), [], 0, 0, NO_POSITIONS)
            order = sorted(range(len(self._keys)), key=self._keys.__getitem__)
            keys = [self._keys[index] for index in order]
            records = array("q", chain.from_iterable(
                self._records[index * RECORD_FIELDS:(index + 1) * RECORD_FIELDS] for index in order
            ))
            crcs = array("I", map(self._crcs.__getitem__, order))
            write_directory(out, MAGIC, document_count, keys, records, crcs)
        finally:
            out.close()
        os.replace(self._temporary, os.path.join(self._folder, sidecar_name(self._segment)))

    def discard(self) -> None:
        if self._prefixes is not None:
            self._prefixes.discard()
        if self._out is not None:
            self._out.close()
            with contextlib.suppress(OSError):
                os.remove(self._temporary)


def write_directory(out, kind: bytes, document_count: int, keys: list[bytes], records: array, crcs: array) -> None:
    """Write a sidecar's directory (the offsets of its keys, its records, their CRCs and the keys,
    in key order) after its data, then its header (magic `kind`), and make it durable."""
    key_offsets = array("Q", accumulate(map(len, keys), initial=0))
    out.write(b"\0" * (-out.tell() % 8))
    directory = out.tell()
    parts = [key_offsets, records, crcs]
    if _BIG_ENDIAN:
        for part in parts:
            part.byteswap()
    out.write(b"".join(parts) + b"".join(keys))
    length = out.tell()
    out.seek(0)
    out.write(HEADER.pack(kind, document_count, len(keys), directory, length))
    out.flush()
    os.fsync(out.fileno())


def term_layout(postings: int, positions: int, flags: int) -> tuple:
    """Where a term's arrays are in its data: (typecode, length, offset) of its document numbers,
    weights (length 0 when not stored), offsets into its positions and positions, then the data's
    size.  Each array starts at a multiple of 4 bytes."""
    layout = []
    offset = 0
    for typecode, length in (
        ("H" if flags & NARROW_IDS else "I", postings),
        ("f", postings if flags & WEIGHTS_STORED else 0),
        ("H" if flags & NARROW_OFFSETS else "I", 0 if flags & NO_POSITIONS else postings + 1),
        ("H" if flags & NARROW_POSITIONS else "I", positions),
    ):
        layout.append((typecode, length, offset))
        size = length * (2 if typecode == "H" else 4)
        offset += size + (-size % 4)
    return (*layout, offset)


class LaidOutTerm:
    """A term's data in the postings file as SidecarWriter.add lays it out (term_layout), its
    postings and positions counted and its flags, made by laid_out_terms."""

    __slots__ = ("data", "postings", "positions", "flags")

    def __init__(self, data: bytes, postings: int, positions: int, flags: int):
        self.data = data
        self.postings = postings
        self.positions = positions
        self.flags = flags


def laid_out_terms(docnums, weights, counts, positions, term_starts) -> list[LaidOutTerm]:
    """The data in the postings file of terms of a field with positions, the bytes SidecarWriter.add
    lays out for each from its flat lists (a dozen steps of Python and several conversions a term, a
    fifth of writing a segment's terms): each array's bytes, widths and flags made by numpy for all
    the terms at once, then each term's data joined from slices of them.

    Given (numpy arrays) each posting's document number, weight (as a float64, before it is stored as
    a float32) and count of positions, the positions of every posting in order, and where each term's
    postings start; the terms' postings follow one another, each term's in document order.  Each
    array of a term is narrow (uint16) where all its numbers fit, else uint32, padded to 4 bytes."""
    import numpy as np

    terms = len(term_starts)
    postings = len(docnums)
    sizes = np.diff(term_starts, append=postings)
    term_ends = term_starts + sizes
    firsts = np.cumsum(counts) - counts  # each posting's first position among all
    token_starts = firsts[term_starts]
    token_sizes = np.diff(token_starts, append=len(positions))
    weights32 = weights.astype("<f4")
    # Stored unless each weight is its count of positions (a field without a boost).
    stored = np.logical_or.reduceat(weights32 != counts.astype("<f4"), term_starts)
    narrow_ids = docnums[term_ends - 1] <= _NARROW_MAX
    narrow_offsets = token_sizes <= _NARROW_MAX
    narrow_positions = np.maximum.reduceat(positions, token_starts) <= _NARROW_MAX
    flags = (np.where(stored, WEIGHTS_STORED, 0) | np.where(narrow_ids, NARROW_IDS, 0)
             | np.where(narrow_offsets, NARROW_OFFSETS, 0) | np.where(narrow_positions, NARROW_POSITIONS, 0))
    # A term's offsets into its positions: each posting's first, then the term's count of positions.
    offsets = np.insert(firsts - np.repeat(token_starts, sizes), term_ends, token_sizes)
    # Each array's bytes, narrow and wide where a term takes that width: a term's data is then a slice
    # of each, joined (numpy laying out all of the data at once took 12 MiB more at the writer's peak).
    ids = _narrow_and_wide(docnums, narrow_ids)
    offsets = _narrow_and_wide(offsets, narrow_offsets)
    positions = _narrow_and_wide(positions, narrow_positions)
    weights = weights32.tobytes()
    id_widths = np.where(narrow_ids, 2, 4)
    offset_widths = np.where(narrow_offsets, 2, 4)
    position_widths = np.where(narrow_positions, 2, 4)
    offset_starts = term_starts + np.arange(terms)
    return [
        LaidOutTerm(
            b"".join((
                ids[id_width == 4][id_width * first:id_width * end], _PADDING[id_width * count % 4],
                weights[4 * first:4 * end] if is_stored else b"",
                offsets[offset_width == 4][offset_width * offset_start:offset_width * (offset_start + count + 1)],
                _PADDING[offset_width * (count + 1) % 4],
                positions[position_width == 4][position_width * token_start:position_width * (token_start + token_count)],
                _PADDING[position_width * token_count % 4],
            )),
            count, token_count, flag,
        )
        for first, end, count, token_start, token_count, offset_start, id_width, offset_width, position_width,
        is_stored, flag in zip(
            term_starts.tolist(), term_ends.tolist(), sizes.tolist(), token_starts.tolist(), token_sizes.tolist(),
            offset_starts.tolist(), id_widths.tolist(), offset_widths.tolist(), position_widths.tolist(),
            stored.tolist(), flags.tolist(),
        )
    ]


# What follows an array of a given length in bytes, to the next multiple of 4 (arrays are of 2 or 4 bytes).
_PADDING = {0: b"", 2: b"\0\0"}


def _narrow_and_wide(numbers, narrow) -> tuple[bytes, bytes]:
    """(uint16 bytes, uint32 bytes) of all of `numbers` (little-endian), each b"" where no term takes
    that width (`narrow`: whether each term's numbers are narrow).  A wide term's numbers are not
    read from the narrow bytes, where they are cut to 16 bits."""
    return (numbers.astype("<u2").tobytes() if narrow.any() else b"",
            b"" if narrow.all() else numbers.astype("<u4").tobytes())


# Where arrays.segment_arrays keeps a segment reader's mapped file (an arrays.SegmentArrays).
READER_ATTRIBUTE = "_archsearch_arrays"


def let_go(leaf) -> None:
    """Unmap the files of a segment reader that is let go: a map holds its file open, and the
    reader may live on in reference cycles (and in processes forked meanwhile) until collected."""
    from archsearch.engines.whoosh.segment_terms import READER_ATTRIBUTE as TERMS_ATTRIBUTE
    from archsearch.engines.whoosh.prefix_postings import READER_ATTRIBUTE as PREFIXES_ATTRIBUTE

    for attribute in (READER_ATTRIBUTE, LISTS_ATTRIBUTE, PREFIXES_ATTRIBUTE, TERMS_ATTRIBUTE):
        mapped = leaf.__dict__.pop(attribute, None)
        if mapped is not None:
            mapped.close()


def missing_parts(folder: str, segment) -> frozenset:
    """The files of PARTS that the segment lacks whole in the folder."""
    from archsearch.engines.whoosh import prefix_postings

    count = segment.doc_count_all()
    postings = os.path.join(folder, sidecar_name(segment))
    whole = {
        "postings": sidecar_is_whole(postings, count) and holds_current_keys(postings, count),
        "prefixes": sidecar_is_whole(os.path.join(folder, prefix_postings.prefixes_name(segment)), count,
                                     prefix_postings.MAGIC, prefix_postings.RECORD_FIELDS),
    }
    return frozenset(part for part, is_whole in whole.items() if not is_whole)


def holds_current_keys(path: str, document_count: int) -> bool:
    """Whether a whole postings file holds the title lengths (TITLE_WORDS_KEY) and every term of
    REWRITTEN_WITHOUT_KEY_FIELDS (their EVERY_TERM_KEY): one written before them is written again,
    once, as a missing one is (an index written before reads as before until then).  Not known on a
    big-endian machine (ListedPostings): taken as held."""
    if _BIG_ENDIAN:
        return True
    try:
        listed = ListedPostings(path, document_count)
    except (OSError, ValueError):
        return False
    try:
        return listed.numbers(TITLE_WORDS_KEY) is not None and all(map(listed.holds_every_term, REWRITTEN_WITHOUT_KEY_FIELDS))
    finally:
        listed.close()


def sidecar_is_whole(path: str, document_count: int, kind: bytes = MAGIC, record_fields: int = RECORD_FIELDS) -> bool:
    """Whether the file's header is one of ours (postings, or of `kind` with records of
    `record_fields`), for this many documents, and its length the one it records (not truncated)."""
    try:
        with open(path, "rb") as stream:
            header = stream.read(HEADER.size)
            size = os.fstat(stream.fileno()).st_size
    except OSError:
        return False
    return header_fits(header, size, document_count, kind, record_fields) is not None


def header_fits(header: bytes, size: int, document_count: int, kind: bytes = MAGIC,
                record_fields: int = RECORD_FIELDS) -> tuple[int, int] | None:
    """(terms, directory's start) from a sidecar's header (postings, or with their `kind` of magic
    and records prefixes), or None if it is not one for a segment of this many documents, or the
    file is not its recorded length."""
    if len(header) < HEADER.size:
        return None
    magic, documents, terms, directory, length = HEADER.unpack(header[:HEADER.size])
    if magic != kind or documents != document_count or length != size or not HEADER.size <= directory <= size:
        return None
    if directory + 8 * (terms + 1) + (8 * record_fields + 4) * terms > size:
        return None
    return terms, directory



# Where listed_postings keeps a segment reader's mapped file read with the standard library (a ListedPostings).
LISTS_ATTRIBUTE = "_archsearch_listed_postings"


def mapped_whole(path: str, document_count: int, kind: bytes = MAGIC, record_fields: int = RECORD_FIELDS) -> tuple:
    """(the file mapped, its entries, its directory's start) of a sidecar of `kind` (a postings
    file by default); raises ValueError if it is not a whole one for a segment of that many
    documents."""
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        found = header_fits(stream.read(HEADER.size), size, document_count, kind, record_fields)
        if found is None:
            raise ValueError(f"{path} is not a whole {os.path.splitext(path)[1][1:]} file")
        return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ), *found


class PositionRuns:
    """Each posting's positions of a term read from a sidecar (ListedPostings.term), as a list of
    its posting's positions when asked for one: slicing every posting's up front would cost more
    than a phrase's few candidates need."""

    __slots__ = ("_offsets", "_flat", "_kept", "_listed")

    def __init__(self, offsets: array, flat: array, kept: list[int] | None = None):
        self._offsets, self._flat, self._kept = offsets, flat, kept
        self._listed = None  # the flat positions as a list, once many postings' are asked for

    def __len__(self) -> int:
        return len(self._kept) if self._kept is not None else len(self._offsets) - 1

    def __getitem__(self, index: int) -> list[int]:
        if self._kept is not None:
            index = self._kept[index]
        return self._flat[self._offsets[index]:self._offsets[index + 1]].tolist()

    def __iter__(self):
        return map(self.__getitem__, range(len(self)))

    def of(self, indexes: list[int]) -> list[list[int]]:
        """The positions of each of these postings (a phrase's candidates): list slices of the
        positions made a list once, cheaper than an array's slice made a list each."""
        if self._kept is not None:
            indexes = list(map(self._kept.__getitem__, indexes))
        if self._listed is None:
            self._listed = self._flat.tolist()
        listed, offsets = self._listed, self._offsets
        return [listed[offsets[index]:offsets[index + 1]] for index in indexes]

    def kept(self, indexes: list[int]) -> "PositionRuns":
        """The runs of these postings only (increasing indexes into this one's)."""
        if self._kept is not None:
            indexes = [self._kept[index] for index in indexes]
        return PositionRuns(self._offsets, self._flat, indexes)


class ListedPostings:
    """A segment's postings file read with the standard library, for a process where numpy's
    import would cost more than it saves (arrays.SegmentArrays reads the same file with numpy):
    a term's arrays are copied out of the mapped file, checked against their CRC, as Python lists."""

    def __init__(self, path: str, document_count: int):
        """Raises ValueError if the file is not a whole one for a segment of that many documents,
        or the machine is not little-endian (the file is)."""
        if _BIG_ENDIAN:
            raise ValueError("postings files are read with the standard library on little-endian machines only")
        self._map, terms, directory = mapped_whole(path, document_count)
        self._directory = directory
        view = memoryview(self._map)
        records_start = directory + 8 * (terms + 1)
        crcs_start = records_start + 8 * RECORD_FIELDS * terms
        self._key_offsets = view[directory:records_start].cast("Q")
        self._records = view[records_start:crcs_start].cast("q")
        self._crcs = view[crcs_start:crcs_start + 4 * terms].cast("I")
        self._keys_start = crcs_start + 4 * terms
        self._views = (view, self._key_offsets, self._records, self._crcs)

    def close(self) -> None:
        for view in reversed(self._views):
            view.release()
        self._map.close()

    def _key(self, index: int) -> bytes:
        start = self._keys_start
        return self._map[start + self._key_offsets[index]:start + self._key_offsets[index + 1]]

    def term(self, key: bytes) -> tuple[list[int], list[float], PositionRuns | None] | None:
        """(segment-relative document numbers, weights, positions: None in a field without) of a
        term (key: field name, NUL, term); None if the file does not hold it, or holds it damaged."""
        found = self._arrays(key)
        if found is None:
            return None
        (ids, weights, offsets, flat), flags = found
        if flags & NO_POSITIONS:
            return ids.tolist(), weights.tolist(), None
        if flags & WEIGHTS_STORED:
            weights = weights.tolist()
        else:  # each posting's count of positions, as the float Whoosh reads
            weights = list(map(_COUNT_FLOATS.__getitem__, map(int.__sub__, offsets[1:], offsets)))
        return ids.tolist(), weights, PositionRuns(offsets, flat)

    def numbers(self, key: bytes) -> array | None:
        """The document numbers of a term as the file holds them (TITLE_WORDS_KEY's: the title
        lengths); None as term() gives it."""
        found = self._arrays(key)
        return None if found is None else found[0][0]

    def holds_every_term(self, fieldname: str) -> bool:
        """Whether the file holds every term of the field the segment has (EVERY_TERM_FIELDS)."""
        return fieldname in EVERY_TERM_FIELDS and self._arrays(every_term_key(fieldname)) is not None

    def _arrays(self, key: bytes) -> tuple[tuple[array, ...], int] | None:
        """(the term's arrays as term_layout lays them out, its flags); None as term() gives it."""
        count = len(self._crcs)
        index = bisect_left(range(count), key, key=self._key)
        if index == count or self._key(index) != key:
            return None
        postings, start, positions, end, flags = self._records[index * RECORD_FIELDS:(index + 1) * RECORD_FIELDS]
        *layout, size = term_layout(postings, positions, flags)
        if not (HEADER.size <= start and start + size == end <= self._directory):
            return None
        data = self._map[start:end]
        if zlib.crc32(data, zlib.crc32(key)) != self._crcs[index]:
            return None
        return tuple(
            array(typecode, data[offset:offset + length * array(typecode).itemsize]) for typecode, length, offset in layout
        ), flags


class _CountFloats(dict):
    """Counts as floats: the same few counts, looked up in C where float() would be called."""

    def __missing__(self, count: int) -> float:
        value = self[count] = float(count)
        return value


_COUNT_FLOATS = _CountFloats()


def listed_postings(leaf) -> ListedPostings | None:
    """The postings file of a segment reader's segment read with the standard library; None if it
    has none, or none whole."""
    return kept_with_reader(leaf, LISTS_ATTRIBUTE, ListedPostings)


def segment_folder(storage) -> str | None:
    """The folder of a segment's files: a compound segment's storage is an overlay on it."""
    return getattr(getattr(storage, "b", storage), "folder", None)


def kept_with_reader(leaf, attribute: str, opened, name=sidecar_name):
    """The segment reader's sidecar `name(segment)` opened by `opened` (path, documents in the
    segment: raises OSError or ValueError where there is none whole); None if it has none, or none
    whole, or the reader has no segment (an EmptyReader).  Kept with the reader (the server keeps
    readers open between queries), under `attribute`, so that it is let go with it (let_go): a map
    holds its file open."""
    found = getattr(leaf, attribute, None)
    if found is not None:
        return found
    segment = getattr(leaf, "_segment", None)
    folder = segment_folder(getattr(leaf, "_storage", None))
    if segment is None or folder is None:
        return None
    try:
        found = opened(os.path.join(folder, name(segment)), leaf.doc_count_all())
    except (OSError, ValueError):  # none (yet: see segments.add_missing_sidecars), or not whole
        return None
    setattr(leaf, attribute, found)
    return found


def file_only_fields(segment) -> frozenset:
    """The fields whose postings only the segment's postings file holds (FILE_ONLY_ATTRIBUTE); none
    for a segment written before, or no segment (an EmptyReader's None)."""
    return getattr(segment, FILE_ONLY_ATTRIBUTE, frozenset())


def file_postings(leaf, fieldname: str, text: bytes) -> tuple[list[int], list[float], PositionRuns | None]:
    """ListedPostings.term of a term the segment reader's term index has, in a field of
    file_only_fields: raises store.FileOnlyPostingsLost if the file is missing, damaged, or lacks it."""
    listed = listed_postings(leaf)
    found = None if listed is None else listed.term(fieldname.encode("utf-8") + b"\0" + text)
    if found is None:
        raise _file_only_postings_lost(leaf)
    return found


def file_postings_hold(leaf, fieldname: str, text: bytes, docnum: int) -> bool:
    """Whether a term of file_only_fields (as file_postings reads it) is in the segment-relative
    document: its document numbers alone looked in, where file_postings makes lists of all of its
    postings (a hit's words of a listed prefix are asked this one by one, and some are in
    thousands of a segment's documents)."""
    listed = listed_postings(leaf)
    ids = None if listed is None else listed.numbers(fieldname.encode("utf-8") + b"\0" + text)
    if ids is None:
        raise _file_only_postings_lost(leaf)
    index = bisect_left(ids, docnum)
    return index < len(ids) and ids[index] == docnum


def _file_only_postings_lost(leaf) -> Exception:
    from archsearch.engines.whoosh.store import FileOnlyPostingsLost

    return FileOnlyPostingsLost(sidecar_name(leaf._segment))


# Whoosh's SegmentReader.postings, once read_file_only_postings has replaced it.
_whoosh_postings = []


def read_file_only_postings() -> None:
    """Make Whoosh's segment reader give the postings of a segment's file_only_fields from its
    postings file (FilePostingsMatcher): every reader of postings through Whoosh (searchers,
    highlighting, keys, spelling) reads those segments as it reads others."""
    from whoosh.reading import SegmentReader

    if not _whoosh_postings:
        _whoosh_postings.append(SegmentReader.postings)
        SegmentReader.postings = _segment_postings
        whoosh_init = SegmentReader.__init__

        def opened_with_its_postings(self, *args, **kwargs):
            whoosh_init(self, *args, **kwargs)
            _open_file_only_postings(self)

        SegmentReader.__init__ = opened_with_its_postings


def _open_file_only_postings(reader) -> None:
    """Map a segment's postings file with its reader, where the file alone holds some fields'
    postings: a commit deletes the files of the segments it merges away, and a reader opened
    before it (a query while `archsearch index` runs) must still read them, as it reads Whoosh's
    files it opened.  Raises FileNotFoundError if the file is gone already (store.read_latest
    then reads the newer generation); a damaged one is said so where its postings are read."""
    segment = reader._segment
    folder = segment_folder(reader._storage)
    if not file_only_fields(segment) or folder is None or getattr(reader, LISTS_ATTRIBUTE, None) is not None:
        return
    try:
        setattr(reader, LISTS_ATTRIBUTE, ListedPostings(os.path.join(folder, sidecar_name(segment)), reader.doc_count_all()))
    except ValueError:
        pass


def _segment_postings(self, fieldname, text, scorer=None):
    """SegmentReader.postings, from the postings file in a field of file_only_fields."""
    if fieldname not in file_only_fields(self._segment):
        return _whoosh_postings[0](self, fieldname, text, scorer)
    from whoosh.matching.wrappers import FilterMatcher
    from whoosh.reading import ReaderClosed

    if self.is_closed:
        raise ReaderClosed
    text = self._text_to_bytes(fieldname, text)
    terminfo = self._terms.term_info(fieldname, text)  # TermNotFound, as Whoosh's
    ids, weights, runs = file_postings(self, fieldname, text)
    field_format = self.schema[fieldname].format
    values = None if runs is None else EncodedPositions(runs)
    matcher = file_postings_matcher()(ids, weights, values, field_format, scorer, term=(fieldname, text), terminfo=terminfo)
    deleted = self.deleted_docs_set
    if deleted:
        matcher = FilterMatcher(matcher, deleted, exclude=True)
    return matcher


class EncodedPositions:
    """A term's postings' positions as Positions encodes each, encoded when asked: only phrases,
    proximity and highlighting ask, and an OR of many terms (`similar`) would encode them all."""

    __slots__ = ("runs",)

    def __init__(self, runs: PositionRuns):
        self.runs = runs

    def __len__(self) -> int:
        return len(self.runs)

    def __getitem__(self, index: int) -> bytes:
        return encode_positions(self.runs[index])

    def __iter__(self):
        return map(encode_positions, self.runs)


def encode_positions(places: list[int]) -> bytes:
    """Positions.encode(places)'s value (the gaps pickled, after their count)."""
    from whoosh.system import pack_uint

    return pack_uint(len(places)) + pickle.dumps([places[0], *map(int.__sub__, places[1:], places)], 2)


@functools.cache
def file_postings_matcher():
    """FilePostingsMatcher, made on first use: a query reading postings files with the standard
    library does not import whoosh.matching."""
    from whoosh.matching import ListMatcher

    class FilePostingsMatcher(ListMatcher):
        """Whoosh's ListMatcher of a term's postings read whole from a postings file (file_postings),
        as one block: its largest weight from the term's information, where ListMatcher takes the
        max of every weight each time a quality is asked (skip_to_quality asks it a posting at a
        time), and its copies keeping the term and its information."""

        _block_quality = None

        def __init__(self, ids, weights, values, format, scorer, position=0, all_weights=None, term=None,
                     terminfo=None):
            super().__init__(ids, weights, values, format, scorer, position, all_weights, term, terminfo)
            # A union of many terms (`similar`) asks each of its matchers whether it is active and its
            # largest quality at every document it collects: answered without a call each here, where
            # ListMatcher's scored the block again each time (similar took 1.4x the CPU with blocks).
            self._count = len(ids)
            # The scorer's, from the term's statistics, as Whoosh's block matchers answer.
            self._max_quality = scorer.max_quality() if scorer else terminfo.max_weight()

        def is_active(self):
            return self._i < self._count

        def max_quality(self):
            return self._max_quality

        def block_max_weight(self):
            return self._terminfo.max_weight()

        def block_quality(self):
            if self._block_quality is None:  # one block: its quality never changes
                self._block_quality = self._scorer.block_quality(self)
            return self._block_quality

        def skip_to_quality(self, minquality):
            if self.block_quality() <= minquality:  # the same for every posting: skip them all
                self._i = self._count
            return 0

        def copy(self):
            return type(self)(self._ids, self._weights, self._values, self._format, self._scorer, self._i,
                              self._all_weights, self._term, self._terminfo)

    return FilePostingsMatcher

