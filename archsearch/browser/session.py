"""What `archsearch browse` shows, without the screen: a query's hits, facets and timeline, the
narrowing filters, one article with its matches, and the results written as CSV.

Plain functions over the library (searching, coverage, passages), so that the Textual app in
app.py only draws and reacts to keys, and this part is tested without a terminal.
"""

import csv
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from archsearch.analysis.alternatives import index_languages
from archsearch.coverage import Facets, Timeline, facets, timeline
from archsearch.passages import WordMatcher
from archsearch.querying import CAPITALS_FIELD, WORD_FORM_FIELD, parse_query
from archsearch.searching import ArticleRecord, Hit, SearchResult, find_article, search
from archsearch.store import index_searcher

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


@dataclass
class Preview:
    article: ArticleRecord
    title_matches: list[tuple[int, int]]
    body_matches: list[tuple[int, int]]


@dataclass
class Session:
    """The options `archsearch browse` was started with, applied to every query typed."""

    index_dir: Path
    any_words: bool = False
    since: str | None = None
    until: str | None = None
    include_undated: bool = False
    ignore_case: bool = False
    sort: str = "relevance"
    expand: Callable[[str], str] = lambda text: text  # saved queries (query:NAME) in typed text

    def query_text(self, text: str, filters=()) -> str:
        query = self.expand(text.strip())
        if filters:
            query = f"({query}) " + " ".join(item.query_text() for item in filters)
        return query

    def run(self, text: str, filters=(), limit: int = LISTED_HITS) -> Results:
        """The hits, facets and timeline of `text` narrowed by `filters`; ArchsearchError when the
        text is not a query yet (an open quote while typing, say)."""
        query = self.query_text(text, filters)
        found = search(self.index_dir, query, limit=limit, with_snippets=False, **self._search_options())
        counted = facets(self.index_dir, query, **self._filter_options())
        months = timeline(self.index_dir, query, by="month", **self._timeline_options())
        by_year = years_of(months)
        periods = months.periods if len(months.periods) <= MOST_MONTHS else by_year
        most_first = sorted((item for item in by_year if item[1]), key=lambda item: (-item[1], item[0]))
        return Results(
            text=text, query=query, search=found, facets=counted, timeline=periods, years=most_first,
            undated=months.undated, terms=self.matched_words(query),
        )

    def matched_words(self, query: str) -> dict[str, frozenset[str]]:
        """The indexed words the query looks for in titles and bodies, prefixes and fuzzy words
        expanded to those in the index: what a preview highlights."""
        words = {"title": set(), "body": set(), WORD_FORM_FIELD: set(), CAPITALS_FIELD: set()}
        with index_searcher(self.index_dir) as searcher:
            parsed = parse_query(
                query, searcher.schema, languages=index_languages(searcher), **self._filter_options()
            )
            reader = searcher.reader()
            for leaf in parsed.words.leaves():
                for fieldname, term in leaf.expanded_terms(reader, phrases=True):
                    if fieldname in words:
                        words[fieldname].add(term.decode("utf-8") if isinstance(term, bytes) else term)
        return {fieldname: frozenset(terms) for fieldname, terms in words.items()}

    def preview(self, hit: Hit, terms: dict[str, frozenset[str]]) -> Preview:
        article = find_article(self.index_dir, hit.reference)
        forms, language = terms.get(WORD_FORM_FIELD, frozenset()), hit.details.language
        capitals = terms.get(CAPITALS_FIELD, frozenset())
        return Preview(
            article=article,
            title_matches=WordMatcher(terms.get("title", frozenset()), forms, language, capitals).spans(article.title),
            body_matches=WordMatcher(terms.get("body", frozenset()), forms, language, capitals).spans(article.body),
        )

    def export_csv(self, results: Results, folder: Path, now: datetime.datetime | None = None) -> Path:
        """Every match of the results (not only those listed) as a CSV file in `folder`, named
        after the query; returns its path."""
        every = search(self.index_dir, results.query, limit=0, with_snippets=False, **self._search_options())
        path = unused_path(folder, export_name(results.text, now or datetime.datetime.now()))
        with path.open("x", encoding="utf-8", newline="") as out:
            write_csv(every.hits, out)
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


CSV_COLUMNS = ("rank", "date", "title", "source", "place", "section", "copies", "id", "path")


def write_csv(hits: list[Hit], out) -> None:
    """RFC 4180 CSV with a header line; copies are the ids of the near-identical articles a hit
    stands for, separated by spaces."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for hit in hits:
        writer.writerow([
            hit.rank, hit.date.isoformat() if hit.date else "", hit.title, hit.source, hit.place, hit.section,
            " ".join(hit.copies), hit.id, hit.path,
        ])


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
