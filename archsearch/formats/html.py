"""HTML pages: the article's text and metadata, by trafilatura (which finds the date with htmldate).

trafilatura keeps the article and drops the page's furniture (navigation, cookie banners,
ads, related links, comments, footer), so none of their words match the page.  Metadata come
from the page's markup (meta tags, JSON-LD, ``<html lang>``, the canonical link): title,
author, site name as the source, URL, publication date and language.
"""

import datetime
from collections.abc import Iterator

from archsearch.formats.article import Article, UnreadableFile
from archsearch.formats.quiet import silence
from archsearch.formats.source import Source
from archsearch.formats.text import Draft, collapse_spaces, derive_title, take_dateline

# Pages past this are data dumps or inlined media, not articles; trafilatura gives up at 20 MB.
MAX_HTML_BYTES = 16 * 1024 * 1024
_NO_TEXT = "no article text found in the HTML page"
# htmldate (run by trafilatura) finds the date the page declares: meta tags, JSON-LD, <time>,
# a full date in the URL.  Its extensive search of the text is off: it guesses, and takes a
# footer's "Copyright 2021" for January 1, 2021.  A page that declares no date stays undated.
_DATE_PARAMETERS = {"original_date": True, "extensive_search": False}


def read_html(source: Source) -> Iterator[Article]:
    data = source.read(MAX_HTML_BYTES)
    if len(data) > MAX_HTML_BYTES:
        raise UnreadableFile(f"HTML page too large (over {MAX_HTML_BYTES // (1024 * 1024)} MiB)")
    yield extract_page(data)


def extract_page(html: bytes | str, url: str = "") -> Article:
    """The article of one HTML page, or UnreadableFile when the page holds none."""
    import trafilatura
    from trafilatura.utils import load_html

    silence("trafilatura", "htmldate", "courlan")
    tree = load_html(html)
    if tree is None:
        raise UnreadableFile("not an HTML page that can be parsed")
    language = _declared_language(tree)
    try:
        document = trafilatura.bare_extraction(
            tree,
            url=url or None,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            fast=True,
            date_extraction_params=_DATE_PARAMETERS,
        )
    except Exception as exc:  # lxml and trafilatura fail in many ways on broken markup
        raise UnreadableFile(f"cannot extract the page's text ({type(exc).__name__}: {exc})") from exc
    if document is None:
        raise UnreadableFile(_NO_TEXT)
    title = collapse_spaces(document.title or "")
    paragraphs = [line.strip() for line in (document.text or "").split("\n") if line.strip()]
    if paragraphs and title and collapse_spaces(paragraphs[0]).casefold() == title.casefold():
        paragraphs = paragraphs[1:]  # the page's heading, which is the title
    if not paragraphs:
        raise UnreadableFile(_NO_TEXT)
    body = "\n\n".join(paragraphs)
    date = _parse_iso(document.date)
    draft = take_dateline(Draft.from_text(body))
    return Article(
        title=title or derive_title(draft).title,
        title_derived=not title,
        body=body,
        date=date,
        source=collapse_spaces(document.sitename or document.hostname or ""),
        place=draft.place,
        section=collapse_spaces((document.categories or [""])[0]),
        url=url or document.url or "",
        author=collapse_spaces(document.author or ""),
        language=language or (document.language or ""),
        format="html",
    )


def _parse_iso(value: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _declared_language(tree) -> str:
    """``<html lang>``, else the Content-Language or og:locale meta tags."""
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not lang:
        metas = tree.xpath(
            '//meta[translate(@http-equiv, "CONTENT-LANGUAGE", "content-language")="content-language"]/@content'
            '|//meta[@property="og:locale"]/@content'
        )
        lang = metas[0] if metas else ""
    return lang.strip().replace("_", "-").split(",")[0].strip()
