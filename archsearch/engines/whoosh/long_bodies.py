"""Long stored bodies, kept apart from the stored fields, in pieces compressed one by one.

Whoosh keeps all of a document's stored fields as one compressed pickle and decompresses and
unpickles all of it to give any one field: a hit's title, date or source read so cost a 12 MB
HTML page 90 ms, which an ordinary hit's fields cost 0.1.  A body stored in the index (readers
other than plain text) of more than LONG_BODY_CHARS characters is therefore written to a column of
its own (schema.LONG_BODY_FIELD; Whoosh writes a column per document in each segment and carries it
through merges, as it does the stored fields, and a deleted document's value goes with its
segment's next merge), and its stored `text` is left empty (None), as a plain-text article's is.

The column's value is a table of pieces, then the pieces, each PIECE_CHARS characters of the
body in UTF-8 (as pickle writes text: lone surrogates kept), compressed on its own: a hit's
passages read the pieces of an opening of the body, not the whole (body_openings), as a long
plain-text file is read (formats.text.body_openings).  Then, where the count of pieces says so
(COUNTED), the body's words counted (proximity.WordPlaces.counted: where each stretch of about
1,000 characters ends and how many words come before that, uint32 each), compressed: `kwic` finds
the number of a word without counting those before it (a 12 MB page: 2 million words, ~0.3 s a
query; 67 kB kept beside its 5.4 MB of pieces, 0.27 s to count when it is indexed).  A value
written before has none, and one whose count is damaged is read as if it had none: its words are
counted as they are read.  Only a concordance decodes the count: the body's text is whole without it.

An index written before this column has no such field: its long bodies are in `text`, and read as
before.  Its next commit adds the field (segments.commit_segments), and the runs after that keep
their long bodies here.
"""

import operator
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator
from itertools import islice

from archsearch.formats.registry import FORMATS

# A stored body longer than this is kept in the column; shorter ones stay in the stored fields,
# where reading them costs what reading the title does.  The size from which a plain-text file
# is read by openings too (searching.KEPT_BODY_CHARS).
LONG_BODY_CHARS = 1 << 20
# Characters of the body in each piece: the first opening a hit reads (searching._body_openings,
# 200,000 characters) takes two.
PIECE_CHARS = 1 << 17
# Whoosh's stored fields are compressed at this level (columns.CompressedBytesColumn).
COMPRESSION = 3
# The table: how many pieces, where the body's trailing whitespace starts (so an opening can tell
# whether more than whitespace follows it), then each piece's compressed length and characters.
_HEADER = struct.Struct("<II")
_PIECE = struct.Struct("<II")
ENCODING, ERRORS = "utf-8", "surrogatepass"
# Set in the count of pieces of a value whose words are counted after its pieces.
COUNTED = 1 << 31
# The most bytes of long bodies a segment's column holds: Whoosh's writer keeps where each value
# starts as uint32 (VarBytesColumn: a GrowableArray without longs), and past them raised
# OverflowError once the value was written.  The same bounds the segment's stored fields, kept in
# such a column too (segments.BOUNDED_COLUMNS).
SEGMENT_BYTES = (1 << 32) - 1


def is_long(body: str) -> bool:
    return len(body) > LONG_BODY_CHARS


def encode(body: str) -> bytes:
    """The column's value for `body`."""
    texts = [body[start : start + PIECE_CHARS] for start in range(0, len(body), PIECE_CHARS)]
    pieces = [zlib.compress(text.encode(ENCODING, ERRORS), COMPRESSION) for text in texts]
    table = b"".join(_PIECE.pack(len(piece), len(text)) for piece, text in zip(pieces, texts))
    return _HEADER.pack(len(pieces) | COUNTED, len(body.rstrip())) + table + b"".join(pieces) + _words_counted(body)


def _words_counted(body: str) -> bytes:
    from archsearch.proximity import WordPlaces

    ends, words_before = WordPlaces(body).counted()
    numbers = array("I", [*ends, *words_before])
    if sys.byteorder == "big":
        numbers.byteswap()
    return zlib.compress(numbers.tobytes(), COMPRESSION)


def past_segment_message(size: int) -> str:
    """Why a body whose value is `size` bytes, more than SEGMENT_BYTES, is not indexed."""
    return f"its body ({size / 2**20:,.1f} MiB compressed) is larger than an index segment can hold ({segment_limit()} of long bodies)"


def segment_limit() -> str:
    """SEGMENT_BYTES, as users read it."""
    return f"{SEGMENT_BYTES / 2**30:,.0f} GiB" if SEGMENT_BYTES >= 2**30 else f"{SEGMENT_BYTES:,} bytes"


def decode(value: bytes) -> str:
    """The body that encode() gave `value` for (with its count of words, where it has one)."""
    return _whole_body(Value(lambda start, length: value[start : start + length], len(value)))


def kept_apart(stored: dict) -> bool:
    """Whether an article's body is in the column: the index stores its reader's bodies, and its
    stored `text` is empty (indexing.article_document)."""
    fmt = FORMATS.get(stored.get("format"))
    return stored.get("text") is None and fmt is not None and fmt.body_stored


def read_body(searcher, docnum: int) -> str:
    """The whole body of a document whose body is kept apart: a proximity.CountedText where its
    words were counted when it was written."""
    return _whole_body(_value_of(searcher, docnum))


def _whole_body(value: "Value") -> str:
    """The body of `value`, whole: a CountedText, with its UTF-8, where its words were counted."""
    if not value.counted:
        return value.text()
    # The pieces' UTF-8 is kept beside the text: a long text is searched in it (passages.py), which
    # would otherwise encode the text again (14 ms for a 12 MB page; joining the pieces', 3).
    encoded = list(_decompressed_bytes(*value._compressed(None)))
    text = "".join([piece.decode(ENCODING, ERRORS) for piece in encoded])
    return value.counted_text(text, b"".join(encoded))


def body_parts(searcher, docnum: int, first_chars: int) -> Iterator[str]:
    """The body of a document whose body is kept apart, in parts that make it whole: its first
    pieces, about `first_chars` characters, then a piece at a time.  Its bytes are read now (the
    searcher may close), each piece decompressed as it is asked for: `show` prints a 12 MB page's
    opening without decompressing all of it first."""
    return _value_of(searcher, docnum).parts(first_chars)


def body_openings(searcher, docnum: int, first_chars: int) -> Iterator[tuple[str, bool]]:
    """The body of a document whose body is kept apart as ever longer openings (text, whole), as
    formats.text.body_openings gives a long file's: the first about `first_chars` characters, each
    next four times as many, the last the whole body; one that is not whole has more than
    whitespace after it."""
    return openings(_value_of(searcher, docnum), first_chars)


class Value:
    """A column value of `length` bytes read a part at a time (`read(start, length)`: its bytes
    there)."""

    def __init__(self, read, length: int):
        self._read = read
        count, self.content_end = _HEADER.unpack(read(0, _HEADER.size))
        counted, count = bool(count & COUNTED), count & ~COUNTED
        table = read(_HEADER.size, _PIECE.size * count)
        if len(table) != _PIECE.size * count:
            raise EOFError("a long body's table of pieces is cut short")
        self.pieces = list(_PIECE.iter_unpack(table))  # (compressed length, characters)
        self._start = _HEADER.size + len(table)
        self._words_start = self._start + sum(length for length, _ in self.pieces)
        self._length = length
        # A body kept apart has a piece at least, and its pieces fill the value but for its
        # words, counted or not: a count or a length overwritten (a count of 0 read as an empty
        # body) is damage, not a shorter body.  Its count of words may be missing: it is only kwic's
        # shortcut (counted_text).
        if not count or self._words_start > length or (not counted and self._words_start != length):
            raise EOFError("a long body's table of pieces does not match its value")
        self._counted = counted and self._words_start < length

    @property
    def counted(self) -> bool:
        """Whether the body's words were counted when it was written (counted_text)."""
        return self._counted

    def counted_text(self, text: str, encoded: bytes | None = None) -> str:
        """The whole body `text` read from this value, as a CountedText where its words were counted.
        Their count's bytes are read now (the searcher may close), and decoded where a concordance
        asks for them (_stretches)."""
        if not self._counted:
            return text
        from archsearch.proximity import CountedText

        data = self._read(self._words_start, self._length - self._words_start)
        return CountedText.of(text, lambda: _stretches(data, len(text)), encoded)

    def text(self, pieces: int | None = None) -> str:
        """The body's first `pieces` pieces (all of them if None)."""
        return "".join(_decompressed(*self._compressed(pieces)))

    def parts(self, first_chars: int) -> Iterator[str]:
        """parts of the body (see body_parts), its compressed pieces read before this returns."""
        first = _pieces_of(first_chars)
        data, lengths = self._compressed(None)
        texts = _decompressed(data, lengths)

        def parts():
            yield "".join(islice(texts, first))
            yield from texts

        return parts()

    def _compressed(self, pieces: int | None) -> tuple[bytes, list[int]]:
        """The first `pieces` compressed pieces (all if None), and the length of each."""
        lengths = [length for length, _ in self.pieces[:pieces]]
        data = self._read(self._start, sum(lengths))
        if len(data) != sum(lengths):
            raise EOFError("a long body's pieces are cut short")
        return data, lengths


def _stretches(data: bytes, characters: int) -> tuple[array, array] | None:
    """The count of words (where each stretch ends, words before that) of a body of `characters`
    characters from its compressed bytes (_words_counted); None where they are cut short or
    overwritten: the words are then counted as the body is read, as a value written without them is."""
    try:
        data = zlib.decompress(data)
    except zlib.error:
        return None
    if len(data) % 8:  # two numbers a stretch
        return None
    numbers = array("I", data)
    if sys.byteorder == "big":
        numbers.byteswap()
    half = len(numbers) // 2
    ends, words_before = numbers[:half], numbers[half:]
    if not ends or ends[-1] != characters or any(map(operator.gt, words_before, words_before[1:])):
        return None
    return ends, words_before


def _decompressed(data: bytes, lengths: list[int]) -> Iterator[str]:
    """The text of each of the pieces of `data`, one after the other, decompressed as it is asked for."""
    for piece in _decompressed_bytes(data, lengths):
        yield piece.decode(ENCODING, ERRORS)


def _decompressed_bytes(data: bytes, lengths: list[int]) -> Iterator[bytes]:
    """The UTF-8 of each of the pieces of `data`, one after the other."""
    at = 0
    for length in lengths:
        yield zlib.decompress(data[at : at + length])
        at += length


def _pieces_of(chars: int) -> int:
    """How many pieces hold about `chars` characters (at least one)."""
    return max((chars + PIECE_CHARS - 1) // PIECE_CHARS, 1)


def openings(value: Value, first_chars: int) -> Iterator[tuple[str, bool]]:
    """body_openings of a column value: its first pieces, then the whole. Not openings growing
    fourfold as a text file's do (where each step saves decoding and parsing the rest): passages
    search each opening from its start, and reading pieces costs little next to searching them,
    so a word far into a 10 MB page cost 1.5-1.7x a read of the whole."""
    pieces = _pieces_of(first_chars)
    if pieces < len(value.pieces):
        text = value.text(pieces)
        if len(text) < value.content_end:  # more than whitespace follows
            yield text, False
    yield value.text(), True


def _value_of(searcher, docnum: int) -> Value:
    """The document's column value, in its segment's column file, read as it is asked for."""
    from archsearch.schema import LONG_BODY_FIELD

    leaf, base = _segment_of(searcher.reader(), docnum)
    if LONG_BODY_FIELD not in leaf.schema or not leaf.has_column(LONG_BODY_FIELD):
        raise EOFError(f"the column of long bodies is missing where document {docnum} needs it")
    column = leaf.column_reader(LONG_BODY_FIELD, translate=False)
    length, offset = column._lengths[docnum - base], column._offsets[docnum - base]
    if not length:
        raise EOFError(f"the body of document {docnum} is missing from the column of long bodies")
    start, dbfile = column._basepos + offset, column._dbfile

    def read(at: int, size: int) -> bytes:
        return dbfile.get(start + at, min(size, length - at)) if at < length else b""

    return Value(read, length)


def _segment_of(reader, docnum: int):
    """The segment reader holding a document of `reader`, and the segment's first document."""
    found = None
    for leaf, base in reader.leaf_readers():
        if base > docnum:
            break
        found = leaf, base
    return found
