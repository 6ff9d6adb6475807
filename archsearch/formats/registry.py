"""Which reader reads a file: the content is sniffed first, the name's extension second.

Every reader has one shape, ``reader(source) -> Iterator[Article | BadRecord]``: a file of one
article yields one, a container (an export, a WARC crawl, an mbox) one per record, and a record
that gives no article yields a BadRecord so the others are still read.  A file that gives
nothing at all raises UnreadableFile with a one-line reason.

Readers are named here as ``module:function`` and imported on first use, so that the parser
libraries (trafilatura, warcio, pypdf) load only in a process that reads such a file.
"""

import importlib
import os
import re
from collections.abc import Callable, Iterator

from archsearch.formats.article import Article, BadRecord, UnreadableFile
from archsearch.formats.columns import USUAL_NAMES, name_keys
from archsearch.formats.source import READ_ERRORS, TRUNCATED_GZIP, Source, describe_read_error, open_file
from archsearch.records import Record, replace

Item = Article | BadRecord
Reader = Callable[[Source], Iterator[Item]]


class Format(Record, frozen=True):
    """A file format: its reader, and the file name extensions that choose it."""

    name: str
    reader: str  # "module:function"
    extensions: tuple[str, ...] = ()
    # The index stores the body when reading it again (for snippets and `show`) would take a
    # parser library or a scan of a container; plain text is cheap to read again.
    body_stored: bool = True

    def load(self) -> Reader:
        module, function = self.reader.split(":")
        return getattr(importlib.import_module(module), function)


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format("text", "archsearch.formats.text:read_text", ("txt", "text", "md", "markdown"), body_stored=False),
        Format("frontmatter", "archsearch.formats.frontmatter:read_front_matter", body_stored=False),
        Format("html", "archsearch.formats.html:read_html", ("html", "htm", "xhtml", "shtml")),
        Format("warc", "archsearch.formats.warc:read_warc", ("warc", "arc")),
        Format("jsonl", "archsearch.formats.exports:read_json_lines", ("jsonl", "ndjson")),
        Format("json", "archsearch.formats.exports:read_json_array", ("json",)),
        Format("csv", "archsearch.formats.exports:read_csv", ("csv",)),
        Format("tsv", "archsearch.formats.exports:read_tsv", ("tsv", "tab")),
        Format("email", "archsearch.formats.mail:read_email", ("eml",)),
        Format("mbox", "archsearch.formats.mail:read_mbox", ("mbox", "mbx")),
        Format("pdf", "archsearch.formats.pdf:read_pdf", ("pdf",)),
    )
}
_BY_EXTENSION = {extension: fmt.name for fmt in FORMATS.values() for extension in fmt.extensions}

# Known formats archsearch does not read: skipped by name, never indexed as bytes.
UNSUPPORTED_EXTENSIONS = frozenset(
    "doc docx docm dot dotx rtf odt ods odp odg xls xlsx xlsm ppt pptx pages numbers key epub mobi "
    "azw azw3 djvu zip 7z rar tar tgz bz2 xz "
    "jpg jpeg png gif bmp tif tiff webp heic heif avif svg ico psd raw cr2 nef "
    "mp3 m4a aac wav flac ogg oga opus wma aiff mid "
    "mp4 m4v mov avi mkv webm wmv flv mpg mpeg "
    "exe dll so dylib bin iso dmg sqlite db".split()
)
# (signature, offset, format): content that names its format whatever the file is called.
_BINARY_SIGNATURES = (
    (b"\x89PNG", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"GIF8", 0, "gif"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"WEBP", 8, "webp"),
    (b"WAVE", 8, "wav"),
    (b"AVI ", 8, "avi"),
    (b"ID3", 0, "mp3"),
    (b"fLaC", 0, "flac"),
    (b"OggS", 0, "ogg"),
    (b"ftypheic", 4, "heic"),
    (b"ftypM4A", 4, "m4a"),
    (b"ftyp", 4, "mp4"),
    (b"\x1aE\xdf\xa3", 0, "mkv"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "doc"),  # every pre-2007 Office file
    (b"{\\rtf", 0, "rtf"),
    (b"7z\xbc\xaf", 0, "7z"),
    (b"Rar!", 0, "rar"),
)
# offset -> the signatures there: which are sought in C, not one by one.
_SIGNATURES_AT = {
    offset: tuple(signature for signature, at, _ in _BINARY_SIGNATURES if at == offset)
    for offset in sorted({offset for _, offset, _ in _BINARY_SIGNATURES})
}
# What a zip file holds, from the names near its start.
_ZIP_KINDS = (
    (b"application/epub+zip", "epub"),
    (b"application/vnd.oasis.opendocument.text", "odt"),
    (b"application/vnd.oasis.opendocument.spreadsheet", "ods"),
    (b"application/vnd.oasis.opendocument.presentation", "odp"),
    (b"word/", "docx"),
    (b"xl/", "xlsx"),
    (b"ppt/", "pptx"),
)

_MAIL_HEADER = re.compile(r"([A-Za-z][A-Za-z0-9-]*):[ \t]")
_MAIL_HEADERS = frozenset(
    "from to cc subject date message-id received return-path mime-version delivered-to "
    "content-type reply-to x-mailer user-agent dkim-signature".split()
)
_SENDER_HEADERS = frozenset("from received return-path delivered-to message-id".split())
_MBOX_FROM_LINE = re.compile(r"From \S+")
_HTML_START = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|title)[\s>/]", re.I)
_HTML_ANYWHERE = re.compile(r"<html[\s>]", re.I)
_FRONT_MATTER = re.compile(r"---[ \t]*\n(?:.*\n)*?(?:---|\.\.\.)[ \t]*(?:\n|$)")
# The start of an array of objects, or of an object: "[Reuters] KABUL ..." is text.
_JSON_ARRAY_START = re.compile(r"\[\s*[{\]]")
_JSON_OBJECT_START = re.compile(r"\{\s*[\"}]")
_FRONT_MATTER_KEY = re.compile(r"^[A-Za-z_][\w-]*[ \t]*:", re.M)


def sniff(source: Source) -> Format:
    """The format of a file, or UnreadableFile naming a known format that is not read."""
    head = source.head
    if any(head.startswith(signatures, offset) for offset, signatures in _SIGNATURES_AT.items()):
        for signature, offset, name in _BINARY_SIGNATURES:
            if head[offset : offset + len(signature)] == signature:
                raise _unsupported(source, name)
    if head.startswith(b"%PDF-"):
        return FORMATS["pdf"]
    if head.startswith(b"PK\x03\x04"):
        kind = next((kind for marker, kind in _ZIP_KINDS if marker in head[:2048]), "zip")
        raise _unsupported(source, kind)
    if head.startswith((b"WARC/", b"filedesc://")):
        return FORMATS["warc"]
    by_content = _sniff_text(head.decode("utf-8", "replace").removeprefix("\ufeff"), source.extension)
    if by_content:
        return FORMATS[by_content]
    if source.extension in UNSUPPORTED_EXTENSIONS:
        raise _unsupported(source, source.extension)
    return FORMATS[_BY_EXTENSION.get(source.extension, "text")]


def _unsupported(source: Source, name: str) -> UnreadableFile:
    # The extension names the format more precisely than a shared signature ("docx", not "zip").
    named = source.extension if source.extension in UNSUPPORTED_EXTENSIONS else name
    return UnreadableFile(f"unsupported format: {named}")


def _sniff_text(text: str, extension: str) -> str | None:
    start = text.lstrip()
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if _MBOX_FROM_LINE.match(first_line) and _is_mail_header_block(text.split("\n", 1)[-1]):
        return "mbox"
    if _is_mail_header_block(text):
        return "email"
    # Only a text opening with the marker can (unified, the head is a copy of the text to match).
    front_matter = text.startswith("---") and _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if front_matter and _FRONT_MATTER_KEY.search(front_matter.group()):
        return "frontmatter"
    if _HTML_START.match(start) or (start.startswith("<") and _HTML_ANYWHERE.search(start)):
        return "html"
    if _JSON_ARRAY_START.match(start):
        return "json"
    if _JSON_OBJECT_START.match(start):
        return "json" if extension == "json" else "jsonl"
    if extension not in ("csv", "tsv", "tab") and _is_export_header(first_line):
        return "tsv" if "\t" in first_line else "csv"
    return None


_USUAL_KEYS = {field: frozenset(usual.split()) for field, usual in USUAL_NAMES.items()}


def _is_export_header(line: str) -> bool:
    """A header line naming a text column and at least one other usual column."""
    names = set(name_keys(line, "\t" if "\t" in line else ","))
    known = {field for field, usual in _USUAL_KEYS.items() if not usual.isdisjoint(names)}
    return "body" in known and len(known) >= 2


def _is_mail_header_block(text: str) -> bool:
    """RFC 5322 headers, ending at a blank line, among them one that only mail has."""
    names = set()
    # A line at a time, as far as the block goes: cutting the whole head into lines was most of
    # the time of telling that a text is no mail.
    start = 0
    while True:
        end = text.find("\n", start)
        line = (text[start:] if end < 0 else text[start:end]).rstrip("\r")
        if not line:
            break
        if line[0] not in " \t":  # a folded header goes on
            header = _MAIL_HEADER.match(line)
            if header is None:
                return False
            names.add(header[1].lower())
        if end < 0:
            return False  # the block did not end within the sniffed head
        start = end + 1
    return len(names & _MAIL_HEADERS) >= 2 and bool(names & _SENDER_HEADERS)


def read_file(path: os.PathLike | str, data: bytes | None = None) -> Iterator[Item]:
    """Every article of a file (and a BadRecord for each record that gives none).

    ``data`` is the file's bytes when the caller has read them already.  Raises
    UnreadableFile when the file gives nothing at all; damage found after some articles
    (a truncated gzip or WARC) ends the file with one BadRecord instead.
    """
    source = Source(path, data)
    fmt = sniff(source)
    articles = bad_records = 0
    try:
        for item in fmt.load()(source):
            if isinstance(item, Article):
                articles += 1
                if not item.format:
                    item = replace(item, format=fmt.name)
            else:
                bad_records += 1
            yield item
        if source.truncated:
            raise UnreadableFile(TRUNCATED_GZIP)
    except (UnreadableFile, *READ_ERRORS) as exc:
        reason = str(exc) if isinstance(exc, UnreadableFile) else describe_read_error(exc, source.compressed)
        if not articles:
            raise UnreadableFile(reason) from exc
        yield BadRecord("", f"{reason}; read {articles:,} articles before it")
        return
    if not articles:
        raise UnreadableFile(f"no article among {bad_records:,} records" if bad_records else f"no article in the {fmt.name} file")


def read_article(path: os.PathLike | str, key: str = "", data: bytes | None = None) -> Article:
    """One article of a file: the one with this record key, or a one-article file's article.
    ``data``: the file's bytes, where the caller has read them already."""
    for item in read_file(path, data):
        if isinstance(item, Article) and item.key == key:
            return item
    raise UnreadableFile(f"no record {key!r} in the file" if key else "no article in the file")


# A file of at most this many bytes is read whole once by read_body; a larger one as read_file reads it.
_READ_ONCE_BYTES = 1 << 20


def read_body(path: os.PathLike | str) -> str:
    """A one-article file's body, as read_article(path).body gives it, for less: the file is read
    from disk once (not three times: its first bytes, the head sniffed, the content), and a
    plain-text file's body, or one with front matter, is parsed by the steps that shape it alone
    (text.parse_body)."""
    data = _bytes_if_small(path)
    source = Source(path, data)
    fmt = sniff(source)
    if fmt is FORMATS["text"]:
        from archsearch.formats.text import read_text_body

        return read_text_body(source)
    if fmt is FORMATS["frontmatter"]:
        from archsearch.formats.frontmatter import read_front_matter_body

        return read_front_matter_body(source)
    return read_article(path, data=data).body


def _bytes_if_small(path: os.PathLike | str) -> bytes | None:
    """The file's bytes if there are at most _READ_ONCE_BYTES, else None; a file that cannot be
    opened or read raises the UnreadableFile that Source raises for it."""
    with open_file(path, buffering=0) as file:
        try:
            # readall() sizes its buffer by the file's size: one allocation, where a read of
            # MAX_TEXT_BYTES + 1 set aside 8 MiB for a file of 3 KB.
            return file.readall() if os.fstat(file.fileno()).st_size <= _READ_ONCE_BYTES else None
        except OSError as exc:
            raise UnreadableFile(describe_read_error(exc, False)) from exc


def read_body_openings(path: os.PathLike | str, first_bytes: int, growth: int = 4) -> Iterator[tuple[str, bool]]:
    """A one-article file's body as (text, whole) pairs: the whole body, or for a plain-text file
    ever longer openings of it from about `first_bytes` bytes on, each `growth` times the one
    before (text.body_openings)."""
    source = Source(path)
    fmt = sniff(source)
    if fmt is not FORMATS["text"]:
        yield read_article(path).body, True
        return
    from archsearch.formats.text import body_openings

    yield from body_openings(source, first_bytes, growth=growth)
