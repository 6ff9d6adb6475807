"""A concordance (keyword in context): every occurrence of a query's words in the bodies of the
articles it matches, with the words around it, as Nexis's KWIC view shows them."""

import bisect
import datetime
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from archsearch.analysis.tokens import word_expression
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
    the words of a window around each span are located, the words before it counted in C (see
    proximity.WordPlaces): a 12 MB page listing 772 occurrences tokenised a stretch of about 1,000
    characters for each, 130,000 words where its lines show 13,000."""
    places = WordPlaces(body)
    found = []
    for start, end in spans:
        located = _located_in_window(body, places, start, end, width)
        if located is None:
            located = _located_by_stretches(places, start, end, width)
        first, left_start, right_end = located
        found.append(
            (first, start, _collapsed(body[left_start:start]).lstrip(), _collapsed(body[start:end]),
             _collapsed(body[end:right_end]).rstrip())
        )
    return found


def _located_by_stretches(places: WordPlaces, start: int, end: int, width: int) -> tuple[int, int, int]:
    """(the number of the word the span starts in, where its left context starts, where its right
    one ends), read from the words of the stretches around the span."""
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
    return first, left_start, right_end


# Characters of the window first tokenised on each side of a span, per word of context: it is
# widened fourfold until it holds the context's words.
_WINDOW_CHARS_PER_WORD = 10


def _located_in_window(body: str, places: WordPlaces, start: int, end: int, width: int) -> tuple[int, int, int] | None:
    """_located_by_stretches' answer from the words of a window around the span alone, cut at
    whitespace (no word holds it, so the window's words are the body's there), the words before
    the window counted; None where the window holds an unspaced script (words cut into
    overlapping pairs): the stretches' words are read then."""
    reach = _WINDOW_CHARS_PER_WORD * (width + 1)
    left_reach = right_reach = reach
    while True:
        window_start = _whitespace_from(body, max(start - left_reach, 0), start)
        if window_start is None:  # no whitespace there: a longer reach
            left_reach *= 4
            continue
        window_end = _whitespace_from(body, min(end + right_reach, len(body)), len(body))
        window_end = len(body) if window_end is None else window_end
        window = body[window_start:window_end]
        expression = word_expression(window)
        if expression is None:
            return None
        spans = [match.span() for match in expression.finditer(window)]
        before = places.words_before(window_start)
        # The span's first word ends after `start`, the first word after it starts at `end` or later.
        first_here = bisect.bisect_right([last for _, last in spans], start - window_start)
        after_here = bisect.bisect_left([first for first, _ in spans], end - window_start)
        left_here = max(before + first_here - width, 0) - before
        right_here = after_here + width - 1
        left_short = width and left_here < 0  # the window does not reach back to the context's first word
        right_short = width and right_here >= len(spans) and window_end < len(body)
        if not (left_short or right_short):
            break
        left_reach *= 4 if left_short else 1
        right_reach *= 4 if right_short else 1
    if not width:
        return before + first_here, start, end
    left_start = window_start + spans[left_here][0]
    if right_here < len(spans):
        right_end = window_start + spans[right_here][1]
    else:  # the window reaches the end of the body: fewer than `width` words after the span
        right_end = window_start + spans[-1][1] if after_here < len(spans) else end
    return before + first_here, left_start, right_end


def _whitespace_from(text: str, position: int, before: int) -> int | None:
    """Where the first whitespace at `position` or after, and before `before`, starts (None if
    there is none; 0 for `position` 0): a place no word holds."""
    if position == 0:
        return 0
    found = _WHITESPACE.search(text, position, before)
    return found.start() if found else None


def _collapsed(text: str) -> str:
    return _WHITESPACE.sub(" ", text)
