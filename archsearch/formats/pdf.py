"""PDF reports and papers, with pypdf: the text layer, title and creation date from the metadata.

A PDF with no text layer (a scan) is skipped with that reason; archsearch does no OCR.
"""

import io
import re
import statistics
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
    body = "\n\n".join(filter(None, (join_paragraphs(paragraph_lines(page)) for page in pages)))
    if not re.search(r"\w", body):
        raise UnreadableFile(NO_TEXT_LAYER)
    yield Article(
        title=title or shorten(body.split("\n", 1)[0], TITLE_MAX_CHARS),
        title_derived=not title,
        body=body,
        date=created.date() if created else None,
        source="",
        place="",
        section="",
        author=author,
    )


# A text layer has no blank lines between paragraphs: a paragraph ends at a line that ends a
# sentence and falls this much short of the page's usual line (a justified or ragged paragraph's
# last line), so the first paragraph (the lead, see article.py) is one.
SHORT_LINE_SHARE = 0.8
_ENDS_SENTENCE = re.compile(r"[.!?:…\"'”’)]\s*$")


def paragraph_lines(page: str) -> list[str]:
    """A page's lines, with a blank line after each that ends a paragraph."""
    lines = [line.rstrip() for line in unify_newlines(page).split("\n")]
    lengths = [len(line) for line in lines if line.strip()]
    if not lengths:
        return []
    usual = statistics.median_high(lengths)
    out = []
    for line in lines:
        out.append(line)
        if line.strip() and _ENDS_SENTENCE.search(line) and len(line) < SHORT_LINE_SHARE * usual:
            out.append("")
    return out


def _creation_date(metadata):
    """The metadata's creation time; None when missing or malformed (the PDF is still read)."""
    try:
        return metadata.creation_date if metadata else None
    except (ValueError, TypeError):
        return None
