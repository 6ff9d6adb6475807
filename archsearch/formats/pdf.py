"""PDF reports and papers, with pypdf: the text layer, title and creation date from the metadata.

A PDF with no text layer (a scan) is skipped with that reason; archsearch does no OCR.
"""

import io
import re
from collections.abc import Iterator

from archsearch.formats.article import Article, UnreadableFile
from archsearch.formats.quiet import silence
from archsearch.formats.source import Source
from archsearch.formats.text import TITLE_MAX_CHARS, collapse_spaces, join_paragraphs, shorten, unify_newlines

# Read whole (pypdf needs to seek); a larger PDF is mostly images, not text.
MAX_PDF_BYTES = 256 * 1024 * 1024
NO_TEXT_LAYER = "no text layer (scanned image?)"


def read_pdf(source: Source) -> Iterator[Article]:
    import pypdf

    silence("pypdf")
    data = source.read(MAX_PDF_BYTES)
    if len(data) > MAX_PDF_BYTES:
        raise UnreadableFile(f"PDF too large (over {MAX_PDF_BYTES // (1024 * 1024)} MiB)")
    # pypdf raises many kinds of exceptions on damaged files; each becomes one line.
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        title = collapse_spaces(metadata.title or "") if metadata else ""
        author = collapse_spaces(metadata.author or "") if metadata else ""
        created = _creation_date(metadata)
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"cannot read the PDF ({type(exc).__name__}: {' '.join(str(exc).split())})") from exc
    body = join_paragraphs(unify_newlines("\n\n".join(pages)).split("\n"))
    if not re.search(r"\w", body):
        raise UnreadableFile(NO_TEXT_LAYER)
    yield Article(
        title=title or shorten(body.split("\n", 1)[0], TITLE_MAX_CHARS),
        body=body,
        date=created.date() if created else None,
        source="",
        place="",
        section="",
        author=author,
    )


def _creation_date(metadata):
    """The metadata's creation time; None when missing or malformed (the PDF is still read)."""
    try:
        return metadata.creation_date if metadata else None
    except (ValueError, TypeError):
        return None
