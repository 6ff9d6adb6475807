"""What `archsearch browse` shows, without the screen: a query's hits, facets and timeline, the
narrowing filters, one article with its matches, and the results written as CSV.

Plain functions over the engine interface (archsearch.engines: an embedded index or a cluster)
and the library (passages), so that the Textual app in app.py only draws and reacts to keys, and
this part is tested without a terminal.
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from archsearch.coverage import Facets, Timeline
from archsearch.engines import Engine, open_engine
from archsearch.rendering import DETAIL_COLUMNS, write_hits_csv
from archsearch.searching import ArticleRecord, Hit, SearchResult, article_matches

# Hits listed at a time; the count shown and the CSV cover every match.
LISTED_HITS = 200
# Beyond this many months the timeline counts years, so that it stays readable in a pane.
MOST_MONTHS = 36

FACET_KINDS = ("source", "place", "year")
UNKNOWN = "(unknown)"  # what coverage.facets calls a missing source or place: nothing to filter on


@dataclass(frozen=True)
class Filter:
    """One facet value the results are narrowed to."""

    kind: str  # source, place or year
    value: str

    def query_text(self) -> str:
        if self.kind == "year":
            return f"date:{self.value}"
        return f'{self.kind}:"{self.value}"'

    def label(self) -> str:
        return f"{self.kind} {self.value}"


@dataclass
class Results:
    text: str  # what was typed
    query: str  # what ran: the text with the filters
    search: SearchResult
    facets: Facets
    timeline: list[tuple[str, int]]  # (period, count), months or years
    years: list[tuple[str, int]]  # most articles first, as the other facets
    undated: int
    terms: dict[str, frozenset[str]] = field(default_factory=dict)  # indexed words per field, to highlight
    warnings: list[str] = field(default_factory=list)  # a cluster's shards left out (--allow-partial)


@dataclass
class Preview:
    article: ArticleRecord
    title_matches: list[tuple[int, int]]
    body_matches: list[tuple[int, int]]


@dataclass
class Session:
    """The options `archsearch browse` was started with, applied to every query typed; the index's
    engine is opened with the session (a cluster's shards are reached then)."""

    index_dir: Path
    any_words: bool = False
    since: str | None = None
    until: str | None = None
    include_undated: bool = False
    ignore_case: bool = False
    sort: str = "relevance"
    expand: Callable[[str], str] = lambda text: text  # saved queries (query:NAME) in typed text
    allow_partial: bool = False  # on a cluster, answer without the shards that are down
    engine: Engine = field(init=False, repr=False)

    def __post_init__(self):
        self.engine = open_engine(self.index_dir, allow_partial=self.allow_partial)

    def query_text(self, text: str, filters=()) -> str:
        query = self.expand(text.strip())
        if filters:
            query = f"({query}) " + " ".join(item.query_text() for item in filters)
        return query

    def run(self, text: str, filters=(), limit: int = LISTED_HITS) -> Results:
        """The hits, facets and timeline of `text` narrowed by `filters`; ArchsearchError when the
        text is not a query yet (an open quote while typing, say)."""
        query = self.query_text(text, filters)
        found = self.engine.search(query, limit=limit, with_snippets=False, **self._search_options())
        counted = self.engine.facets(query, **self._filter_options())
        months = self.engine.timeline(query, by="month", **self._timeline_options())
        by_year = years_of(months)
        periods = months.periods if len(months.periods) <= MOST_MONTHS else by_year
        most_first = sorted((item for item in by_year if item[1]), key=lambda item: (-item[1], item[0]))
        return Results(
            text=text, query=query, search=found, facets=counted, timeline=periods, years=most_first,
            undated=months.undated, terms=self.matched_words(query), warnings=list(self.engine.warnings),
        )

    def matched_words(self, query: str) -> dict[str, frozenset[str]]:
        """What a preview highlights: the engine's query_words with the session's options."""
        return self.engine.query_words(query, **self._filter_options())

    def preview(self, hit: Hit, terms: dict[str, frozenset[str]]) -> Preview:
        article = self.engine.find_article(hit.reference)
        title_matches, body_matches = article_matches(article.title, article.body, hit.details.language, terms)
        return Preview(article=article, title_matches=title_matches, body_matches=body_matches)

    def export_csv(self, results: Results, folder: Path, now: datetime.datetime | None = None) -> Path:
        """Every match of the results (not only those listed) as a CSV file in `folder`, named
        after the query; returns its path."""
        every = self.engine.search(results.query, limit=0, with_snippets=False, **self._search_options())
        path = unused_path(folder, export_name(results.text, now or datetime.datetime.now()))
        with path.open("x", encoding="utf-8", newline="") as out:
            write_hits_csv(every.hits, out, columns=CSV_COLUMNS)
        return path

    def _filter_options(self) -> dict:
        return dict(
            any_words=self.any_words, since=self.since, until=self.until, include_undated=self.include_undated,
            ignore_case=self.ignore_case,
        )

    def _search_options(self) -> dict:
        return dict(self._filter_options(), sort=self.sort)

    def _timeline_options(self) -> dict:
        return dict(any_words=self.any_words, since=self.since, until=self.until, ignore_case=self.ignore_case)


def years_of(months: Timeline) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for period, count in months.periods:
        counts[period[:4]] = counts.get(period[:4], 0) + count
    return list(counts.items())


def facet_choices(results: Results) -> list[tuple[str, str, int]]:
    """(kind, value, count) of every facet of the results, by kind, most articles first."""
    choices = [("source", name, count) for name, count in results.facets.sources]
    choices += [("place", name, count) for name, count in results.facets.places]
    choices += [("year", name, count) for name, count in results.years]
    return choices


# copies: the ids of the near-identical articles a hit stands for, separated by spaces.
CSV_COLUMNS = ("rank", "date", "title", "source", "place", "section", "copies", "id", "path", *DETAIL_COLUMNS)


def export_name(text: str, now: datetime.datetime) -> str:
    words = re.sub(r"[^\w]+", "-", text.lower()).strip("-")[:40].strip("-") or "results"
    return f"archsearch-{words}-{now:%Y%m%d-%H%M%S}.csv"


def unused_path(folder: Path, name: str) -> Path:
    path = folder / name
    number = 2
    while path.exists():
        path = folder / f"{Path(name).stem}-{number}.csv"
        number += 1
    return path
