"""A file handed to a reader: its name, the start of its content, and ways to read it.

A gzip-compressed file (``.gz``, or gzip content under any name) is read through
transparently: every reader sees the decompressed content and the name without ``.gz``.
"""

import io
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from archsearch.formats.article import UnreadableFile

TYPE_CHECKING = False  # typing's constant, by its name (as type checkers read it): a query loads no typing
if TYPE_CHECKING:
    from typing import BinaryIO

SNIFF_BYTES = 8 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# Enough compressed bytes for SNIFF_BYTES of content, however well it compresses.
_COMPRESSED_SNIFF_BYTES = 64 * 1024
_CHUNK = 256 * 1024
TRUNCATED_GZIP = "truncated gzip file"
# Errors of a gzip stream that is truncated or damaged, and of the file under it.
READ_ERRORS = (EOFError, zlib.error, OSError)


class Source:
    """One file to read: ``path`` on disk, optionally with its bytes already read (``data``)."""

    def __init__(self, path: os.PathLike | str, data: bytes | None = None):
        self.path = os.fspath(path)
        self._data = data
        self._gunzip_streams: list[GunzipStream] = []
        self.compressed = self._raw_head(2) == GZIP_MAGIC
        name = os.path.basename(self.path).lower()
        self.name = name.removesuffix(".gz") if self.compressed else name
        self.head = self._head()

    @property
    def extension(self) -> str:
        """The last extension of the name without ``.gz``: ``"html"`` for ``page.html.gz``."""
        stem, dot, extension = self.name.rpartition(".")
        return extension if dot and stem else ""

    def open_raw(self) -> "BinaryIO":
        """The file's bytes as stored (still compressed)."""
        if self._data is not None:
            return io.BytesIO(self._data)
        return open_file(self.path)

    def open(self) -> "BinaryIO":
        """The content, decompressed, as a stream: containers are read without loading them whole."""
        raw = self.open_raw()
        if not self.compressed:
            return raw
        stream = GunzipStream(raw)
        self._gunzip_streams.append(stream)
        return io.BufferedReader(stream)

    @property
    def truncated(self) -> bool:
        """Whether a read of the content met the end of a truncated gzip file."""
        return any(stream.truncated for stream in self._gunzip_streams)

    def read(self, max_bytes: int) -> bytes:
        """At most ``max_bytes + 1`` bytes of content (one more tells that there was more)."""
        if self._data is not None and not self.compressed:  # bytes read already: no stream made
            return self._data[: max_bytes + 1]
        with self.reading(), self.open() as stream:
            data = stream.read(max_bytes + 1)
        if self.truncated:
            raise UnreadableFile(TRUNCATED_GZIP)
        return data

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Turn a truncated or damaged file into one UnreadableFile reason."""
        try:
            yield
        except UnreadableFile:
            raise
        except READ_ERRORS as exc:
            raise UnreadableFile(describe_read_error(exc, self.compressed)) from exc

    def _raw_head(self, size: int) -> bytes:
        if self._data is not None:
            return self._data[:size]
        with self.reading(), self.open_raw() as stream:
            return stream.read(size)

    def _head(self) -> bytes:
        if not self.compressed:
            return self._raw_head(SNIFF_BYTES)
        # Decompressed piecewise, so that a truncated or damaged file still shows its start;
        # the reader reports the damage.
        decompressor = zlib.decompressobj(wbits=31)
        try:
            return decompressor.decompress(self._raw_head(_COMPRESSED_SNIFF_BYTES), SNIFF_BYTES)
        except zlib.error:
            return b""


class GunzipStream(io.RawIOBase):
    """gzip content decompressed as it is read, member after member.

    A file that ends inside a member reads as ending there, with ``truncated`` set: gzip's
    EOFError would lose the content before it, and some readers (warcio) take it for a clean
    end of file anyway.
    """

    def __init__(self, raw: "BinaryIO"):
        self._raw = raw
        self._decompressor = zlib.decompressobj(wbits=31)
        self._pending = b""
        self.truncated = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            if self._decompressor.eof:
                rest = self._decompressor.unused_data
                if not rest.strip(b"\x00"):  # some writers pad the last member with NULs
                    rest = self._raw.read(_CHUNK)
                    if not rest.strip(b"\x00"):
                        return 0
                self._decompressor = zlib.decompressobj(wbits=31)
            else:
                rest = self._decompressor.unconsumed_tail or self._raw.read(_CHUNK)
                if not rest:
                    self.truncated = True
                    return 0
            try:
                self._pending = self._decompressor.decompress(rest, _CHUNK)
            except zlib.error as exc:
                raise UnreadableFile(f"damaged gzip file ({exc})") from exc
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_file(path: os.PathLike | str, buffering: int = -1) -> "BinaryIO":
    """The file opened to read its bytes; UnreadableFile, saying why, when it cannot be."""
    try:
        return open(path, "rb", buffering=buffering)
    except OSError as exc:
        raise UnreadableFile((exc.strerror or str(exc)).lower()) from exc


def describe_read_error(exc: BaseException, compressed: bool) -> str:
    if isinstance(exc, EOFError) and compressed:
        return TRUNCATED_GZIP
    if isinstance(exc, zlib.error):
        return f"damaged gzip file ({exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"cannot read the file ({exc or type(exc).__name__})"
