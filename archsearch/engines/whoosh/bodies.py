"""Stored bodies (the `text` field of every format but plain text): a long one in pieces.

Whoosh keeps an article's stored fields as one compressed pickle, and decompresses all of it to
read any field: the 12 MB body of an HTML page cost every query showing the page 90 ms before its
title could be read.  A body over LONG_BODY_CHARS is stored as the UTF-8 of its pieces, each
compressed on its own (Whoosh then stores them as they are, compressing them again for nothing
much), so a hit's passages decompress the pieces they read, and `show` all of them.  An index made
before holds every body whole; both are read here.
"""

import re
import zlib
from collections.abc import Iterator

LONG_BODY_CHARS = 1 << 20
BODY_PIECE_CHARS = 1 << 18
# Whoosh's own level for stored fields (whoosh.columns.CompressedBytesColumn): the same size on disk.
_COMPRESSION_LEVEL = 3
_NOT_WHITESPACE = re.compile(r"\S")


def stored_text(body: str) -> str | tuple[bytes, ...]:
    """The `text` field's value for a body: the body, or a long body's compressed pieces.  Each
    piece but the first starts with a character that is not whitespace, so the pieces before it
    are an opening of the body with more than whitespace after it (passages' `whole`)."""
    if len(body) <= LONG_BODY_CHARS:
        return body
    pieces, start = [], 0
    while start < len(body):
        found = _NOT_WHITESPACE.search(body, start + BODY_PIECE_CHARS)
        end = found.start() if found else len(body)
        pieces.append(zlib.compress(body[start:end].encode("utf-8", "surrogatepass"), _COMPRESSION_LEVEL))
        start = end
    return tuple(pieces)


def stored_body(value: str | tuple[bytes, ...]) -> str:
    """The body a `text` field's value holds."""
    return value if isinstance(value, str) else "".join(map(_piece_text, value))


def stored_openings(value: str | tuple[bytes, ...]) -> Iterator[tuple[str, bool]]:
    """The body a `text` field's value holds as (text, whole) pairs, as
    formats.registry.read_body_openings gives them: its first piece, then twice as many pieces
    each time, up to all of them."""
    if isinstance(value, str):
        yield value, True
        return
    texts, wanted = [], 1
    for piece in value:
        texts.append(_piece_text(piece))
        if len(texts) == wanted or len(texts) == len(value):
            yield "".join(texts), len(texts) == len(value)
            wanted *= 2


def _piece_text(piece: bytes) -> str:
    return zlib.decompress(piece).decode("utf-8", "surrogatepass")
