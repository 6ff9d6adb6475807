"""A concordance (keyword in context): every occurrence of a query's words in the bodies of the
articles it matches, with the words around it, as Nexis's KWIC view shows them."""

import datetime
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from archsearch.proximity import WordPlaces
from archsearch.searching import article_matches

if TYPE_CHECKING:
    from archsearch.engines import Engine

DEFAULT_ARTICLES = 10
DEFAULT_WIDTH = 8  # words of context on each side

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Occurrence:
    """One matched word of an article's body, with `width` words of context on each side."""

    id: str
    path: str
    date: datetime.date | None
    source: str
    word: int  # how many words of the body come before it
    char: int  # where it starts in the body, in characters
    left: str  # the context, whitespace collapsed to single spaces: left + match + right reads as the body
    match: str
    right: str


@dataclass
class Concordance:
    query: str
    width: int
    occurrences: list[Occurrence] = field(default_factory=list)
    articles: int = 0  # articles whose occurrences are listed
    total: int = 0  # articles matching the query, not only those listed
    elapsed: float = 0.0
    index_empty: bool = False


def concordance(
    index: "Path | Engine",
    text: str,
    *,
    limit: int = DEFAULT_ARTICLES,
    width: int = DEFAULT_WIDTH,
    sort: str = "relevance",
    any_words: bool = False,
    since: str | None = None,
    until: str | None = None,
    include_undated: bool = False,
    ignore_case: bool = False,
    today=None,
) -> Concordance:
    """The occurrences in the first `limit` articles `search` ranks for `text` (0: all of them), in
    rank order, then in body order. Near-identical copies are not collapsed: a concordance counts
    what each article says. An article that matched only in its title or metadata lists nothing.
    `index` is an embedded index's folder, a cluster file or an engine open on either."""
    from archsearch.engines import as_engine

    started = time.perf_counter()
    engine = as_engine(index)
    filters = dict(any_words=any_words, since=since, until=until, include_undated=include_undated, ignore_case=ignore_case)
    result = engine.search(
        text, limit=limit, sort=sort, with_snippets=False, collapse_copies=False, today=today, **filters
    )
    found = Concordance(query=text, width=width, total=result.total, index_empty=result.index_empty)
    if result.hits:
        words = engine.query_words(text, today=today, **filters)
        bodies = engine.bodies([hit.reference for hit in result.hits])
        for hit, body in zip(result.hits, bodies):
            _, spans = article_matches("", body, hit.details.language, words)
            found.occurrences += [
                Occurrence(hit.id, hit.path, hit.date, hit.source, *context) for context in contexts(body, spans, width)
            ]
            found.articles += 1
        found.elapsed = time.perf_counter() - started
    return found


def contexts(body: str, spans: list[tuple[int, int]], width: int) -> list[tuple[int, int, str, str, str]]:
    """(word offset, character offset, left context, match, right context) of each span of `body`,
    the context `width` words each side (fewer at the ends of the body), with the punctuation
    between them and the space next to the match, if any, kept: "refugees, who" stays so.  Only
    the words near the spans are located: the rest are counted (see proximity.WordPlaces)."""
    places = WordPlaces(body)
    found = []
    for start, end in spans:
        first = places.first_ending_after(start)  # the word the span starts in
        after = places.first_starting_from(end)  # the first word after the span
        left_start = places.span(max(first - width, 0))[0] if width else start
        right_end = end
        if width:
            try:
                right_end = places.span(after + width - 1)[1]
            except IndexError:  # fewer than `width` words after it
                total = places.count()
                right_end = places.span(total - 1)[1] if after < total else end
        found.append(
            (first, start, _collapsed(body[left_start:start]).lstrip(), _collapsed(body[start:end]),
             _collapsed(body[end:right_end]).rstrip())
        )
    return found


def _collapsed(text: str) -> str:
    return _WHITESPACE.sub(" ", text)
