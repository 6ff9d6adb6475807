"""What every format reader produces: articles, bad records, or a one-line reason why a file has none."""

import datetime
import re

from archsearch.records import Record

# The lead ("At the Start", as Nexis calls it) is the body's first paragraph.  Shorter paragraphs
# before it (a byline, a dateline on a line of its own, "Updated 10:32") are read as part of it.
LEAD_MIN_WORDS = 6
LEAD_MIN_CHARS = 60  # or this many characters, for scripts written without spaces
# A body with no paragraph breaks (a PDF's text layer, an export's one-line text) has no first
# paragraph to speak of: its lead stops at the last space before this many characters.
LEAD_MAX_CHARS = 600
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def lead_end(body: str) -> int:
    """Where the lead of ``body`` ends: the end of its first paragraph of LEAD_MIN_WORDS words (or
    LEAD_MIN_CHARS characters), with the short ones before it, and at most LEAD_MAX_CHARS on."""
    start = 0
    end = len(body)
    for brk in _PARAGRAPH_BREAK.finditer(body):
        paragraph = body[start : brk.start()]
        if paragraph.strip() and (len(paragraph.split()) >= LEAD_MIN_WORDS or len(paragraph.strip()) >= LEAD_MIN_CHARS):
            end = brk.start()
            break
        start = brk.end()
    if end <= LEAD_MAX_CHARS:
        return end
    cut = body.rfind(" ", 0, LEAD_MAX_CHARS + 1)
    return cut if cut > 0 else LEAD_MAX_CHARS


class UnreadableFile(Exception):
    """A file that cannot be read as an article; ``str(exc)`` is a one-line reason."""


class Article(Record, frozen=True):
    """One article as a reader found it in a file."""

    title: str
    body: str  # paragraphs separated by a blank line
    date: datetime.date | None  # publication date, never a crawl or file date
    source: str  # "" when unknown
    place: str  # "" when unknown
    section: str  # "" when unknown
    language: str = ""  # as the file declares it (any tag: "en-US", "prs"); "" when it does not
    warnings: tuple[str, ...] = ()  # one-line, non-fatal problems
    url: str = ""
    author: str = ""
    format: str = ""  # the reader's name: "text", "html", "warc", "jsonl", ...
    fetched: datetime.datetime | None = None  # when a crawler fetched the page (WARC only)
    # Which record of a container file (export, WARC, mbox) this is, stable while the file
    # is unchanged; "" for a file that is one article.
    key: str = ""
    # The title was made from the article's own lead (wire copy, a mail without a subject...), not
    # given by the file: its words are the lead's, which the `lead` field holds, so the title is
    # shown but not indexed as a title (a headline's words would count twice in ranking).
    title_derived: bool = False

    @property
    def lead(self) -> str:
        """The first paragraph of the body (see lead_end): what `lead:` finds besides the title."""
        return self.body[: lead_end(self.body)]


class BadRecord(Record, frozen=True):
    """A record of a container file that gives no article; the other records still do."""

    where: str  # "line 17", "record 3", "message 2 (line 40)"; "" for the file as a whole
    reason: str  # one line

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason
