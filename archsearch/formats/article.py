"""What every format reader produces: articles, bad records, or a one-line reason why a file has none."""

import datetime
from dataclasses import dataclass


class UnreadableFile(Exception):
    """A file that cannot be read as an article; ``str(exc)`` is a one-line reason."""


@dataclass(frozen=True)
class Article:
    title: str
    body: str
    date: datetime.date | None  # publication date, never a crawl or file date
    source: str  # "" when unknown
    place: str  # "" when unknown
    section: str  # "" when unknown
    language: str = ""  # as the file declares it (any tag: "en-US", "prs"); "" when it does not
    warnings: tuple[str, ...] = ()  # one-line, non-fatal problems
    url: str = ""
    author: str = ""
    language: str = ""  # as the file declares it ("en", "de-AT"), "" when unknown
    format: str = ""  # the reader's name: "text", "html", "warc", "jsonl", ...
    fetched: datetime.datetime | None = None  # when a crawler fetched the page (WARC only)
    # Which record of a container file (export, WARC, mbox) this is, stable while the file
    # is unchanged; "" for a file that is one article.
    key: str = ""


@dataclass(frozen=True)
class BadRecord:
    """A record of a container file that gives no article; the other records still do."""

    where: str  # "line 17", "record 3", "message 2 (line 40)"; "" for the file as a whole
    reason: str  # one line

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason
