"""Web crawls in WARC and ARC files (Common Crawl, Webrecorder, the Internet Archive), with warcio.

One article per successful HTML response record, read as an HTML page: the record's target
URI is the article's URL, the record id its key.  The crawl time is kept apart as ``fetched``:
it is not when the page was published.  Redirects, errors, robots.txt, requests and metadata
records give no article and no warning.  The file is read record by record, so a crawl of
any size is never in memory whole.
"""

import datetime
from collections.abc import Iterator

from archsearch.formats.article import Article, BadRecord, UnreadableFile
from archsearch.formats.html import MAX_HTML_BYTES, extract_page
from archsearch.formats.quiet import silence
from archsearch.formats.source import Source
from archsearch.records import replace


def read_warc(source: Source) -> Iterator[Article | BadRecord]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    silence("warcio")
    number = 0
    # ARC records are read as WARC ones; only for ARC files, as it makes warcio take any junk for a record.
    is_arc = source.head.startswith(b"filedesc://")
    # Decompressed here rather than by warcio, which refuses a crawl gzipped as a whole.
    with source.reading(), source.open() as stream:
        try:
            for number, record in enumerate(ArchiveIterator(stream, arc2warc=is_arc), start=1):
                if not _is_html_page(record):
                    continue
                headers = record.rec_headers
                url = headers.get_header("WARC-Target-URI") or ""
                key = (headers.get_header("WARC-Record-ID") or "").strip("<>") or f"record-{number}"
                where = f"record {number} ({url})" if url else f"record {number}"
                html = record.content_stream().read(MAX_HTML_BYTES + 1)
                if len(html) > MAX_HTML_BYTES:
                    yield BadRecord(where, f"HTML page too large (over {MAX_HTML_BYTES // (1024 * 1024)} MiB)")
                    continue
                if record.raw_stream.limit:  # warcio stops short of the record's length silently
                    raise UnreadableFile(f"truncated WARC file: the file ends inside {where}")
                try:
                    article = extract_page(html, url)
                except UnreadableFile as exc:
                    yield BadRecord(where, str(exc))
                    continue
                fetched = _crawl_time(headers.get_header("WARC-Date"))
                yield replace(article, format="warc", key=key, fetched=fetched)
        except ArchiveLoadFailed as exc:
            reason = " ".join(str(exc).split()) or "not a WARC record"
            raise UnreadableFile(f"damaged WARC file after record {number}: {reason}") from exc


def _is_html_page(record) -> bool:
    if record.rec_type != "response" or record.http_headers is None:
        return False
    status = record.http_headers.get_statuscode() or ""
    content_type = (record.http_headers.get_header("Content-Type") or "").lower()
    return status.startswith("2") and ("html" in content_type)


def _crawl_time(value: str | None) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
