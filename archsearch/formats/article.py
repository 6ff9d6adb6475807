"""What every format reader produces: articles, or a one-line reason why a file has none."""

import datetime
from dataclasses import dataclass


class UnreadableFile(Exception):
    """A file that cannot be read as an article; ``str(exc)`` is a one-line reason."""


@dataclass(frozen=True)
class Article:
    title: str
    body: str
    date: datetime.date | None
    source: str  # "" when unknown
    place: str  # "" when unknown
    section: str  # "" when unknown
    language: str = ""  # as the file declares it (any tag: "en-US", "prs"); "" when it does not
    warnings: tuple[str, ...] = ()  # one-line, non-fatal problems
