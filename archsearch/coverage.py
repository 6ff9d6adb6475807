"""Coverage of a topic: matching articles counted per period of time, per source and per place."""

import datetime
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.query import Every

from archsearch.errors import ArchsearchError
from archsearch.engines.whoosh.evaluation import Evaluator, matching_documents
from archsearch.engines.whoosh.store import index_searcher
from archsearch.analysis.alternatives import index_languages
from archsearch.querying import parse_query
from archsearch.schema import number_day

PERIODS = ("day", "week", "month", "year")


@dataclass
class Timeline:
    query: str
    by: str
    periods: list[tuple[str, int]]  # every period from the first to the last, empty ones included
    undated: int  # matching articles with no date, which no period can hold
    total: int
    index_empty: bool = False  # the index holds no article at all (empty, or still being built)
    # With share: all articles of each period, in the order of `periods`, and all undated ones.
    volumes: list[int] | None = None
    undated_volume: int = 0


@dataclass
class Facets:
    query: str
    total: int
    sources: list[tuple[str, int]] = field(default_factory=list)  # most articles first
    places: list[tuple[str, int]] = field(default_factory=list)
    languages: list[tuple[str, int]] = field(default_factory=list)  # ISO 639-1 codes
    index_empty: bool = False  # the index holds no article at all (empty, or still being built)
    # With share: all articles in the date window per "source", "place" and "language" name, and
    # their number.
    volumes: dict[str, Counter] | None = None
    volume: int = 0


def share(count: int, volume: int) -> float | None:
    """count as a percentage of volume; None for a volume of nothing."""
    return 100 * count / volume if volume else None


def period_of(day: datetime.date, by: str) -> str:
    """ISO 8601 names, with four-digit years also before 1000: 0001-W01, 0001-01, 0001."""
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year:04}-W{week:02}"
    if by == "month":
        return f"{day.year:04}-{day.month:02}"
    return f"{day.year:04}"


def period_label(period: str, by: str) -> str:
    """A period as a person reads it: a week is its Monday and its ISO number, `2017-02-06 (W06)`
    (the machine formats keep period_of's `2017-W06`); other periods read as they are named."""
    if by != "week":
        return period
    year, week = period.split("-W")
    monday = datetime.date.fromisocalendar(int(year), int(week), 1)
    return f"{monday.isoformat()} (W{week})"


def period_start(day: datetime.date, by: str) -> datetime.date:
    if by == "week":
        return day - datetime.timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    if by == "year":
        return day.replace(month=1, day=1)
    return day


def next_period(start: datetime.date, by: str) -> datetime.date:
    if by == "day":
        return start + datetime.timedelta(days=1)
    if by == "week":
        return start + datetime.timedelta(days=7)
    if by == "month":
        return (start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def every_period(first: datetime.date, last: datetime.date, by: str) -> list[str]:
    periods = []
    current, final = period_start(first, by), period_start(last, by)
    while current <= final:
        periods.append(period_of(current, by))
        if current == final:
            break  # the period after the last one may start after 9999-12-31, which no date can hold
        current = next_period(current, by)
    return periods


def timeline(
    index_dir: Path,
    text: str,
    *,
    by: str = "month",
    since: str | None = None,
    until: str | None = None,
    any_words: bool = False,
    ignore_case: bool = False,
    with_share: bool = False,
    today: datetime.date | None = None,
) -> Timeline:
    """With `with_share`, also all articles of each period, matching or not (the archive's volume)."""
    if by not in PERIODS:
        raise ArchsearchError(f"unknown period '{by}' (choose from {', '.join(PERIODS)})")
    with index_searcher(index_dir) as searcher:
        # Undated articles are counted apart, so the date window must not drop them before counting.
        parsed = parse_query(
            text, searcher.schema, any_words=any_words, since=since, until=until, include_undated=True, today=today,
            languages=index_languages(searcher), ignore_case=ignore_case,
        )
        # Not Whoosh's column reader, which misplaces the documents of a segment without dates.
        evaluator = Evaluator(searcher)
        days = list(map(number_day, evaluator.field_values("date", evaluator.matching_documents(parsed.query))))
        every_day = (
            list(map(number_day, evaluator.field_values("date", evaluator.matching_documents(Every()))))
            if with_share else []
        )
        index_empty = searcher.doc_count() == 0
    return timeline_of(
        text, by, parsed.window, Counter(days), Counter(every_day) if with_share else None, index_empty=index_empty,
    )


def timeline_of(
    text: str, by: str, window, days: Counter, day_volumes: Counter | None, index_empty: bool = False,
) -> Timeline:
    """The timeline of matches counted per day (`days`, None for undated ones), the volumes likewise
    (`day_volumes`, with share); `window` is the query's --since/--until window, or None."""
    counts, volumes = Counter(), Counter()
    for day, count in days.items():
        counts[period_of(day, by) if day else None] += count
    for day, count in (day_volumes or {}).items():
        volumes[period_of(day, by) if day else None] += count
    dated = [day for day in days if day]
    first = window.start if window and window.start else min(dated, default=None)
    last = window.end if window and window.end else max(dated, default=None)
    periods = every_period(first, last, by) if first and last else []
    return Timeline(
        query=text,
        by=by,
        periods=[(period, counts.get(period, 0)) for period in periods],
        undated=counts.get(None, 0),
        total=sum(days.values()),
        index_empty=index_empty,
        volumes=[volumes.get(period, 0) for period in periods] if day_volumes is not None else None,
        undated_volume=volumes.get(None, 0),
    )


def facets(
    index_dir: Path,
    text: str,
    *,
    since: str | None = None,
    until: str | None = None,
    include_undated: bool = False,
    any_words: bool = False,
    ignore_case: bool = False,
    with_share: bool = False,
    today: datetime.date | None = None,
) -> Facets:
    """With `with_share`, also all articles in the date window per source, place and language."""
    with index_searcher(index_dir) as searcher:
        options = dict(
            since=since, until=until, include_undated=include_undated, today=today,
            languages=index_languages(searcher), ignore_case=ignore_case,
        )
        parsed = parse_query(text, searcher.schema, any_words=any_words, **options)
        if searcher.doc_count() == 0:  # no committed segment: no columns to read
            volumes = {kind: Counter() for kind in ("source", "place", "language")} if with_share else None
            return Facets(query=text, total=0, index_empty=True, volumes=volumes)
        reader = searcher.reader()
        sources, places = reader.column_reader("source"), reader.column_reader("place")
        languages = reader.column_reader("language")
        docnums = matching_documents(searcher, parsed.query)
        columns = {"source": sources, "place": places, "language": languages}

        def per_name(docnums) -> dict[str, Counter]:
            return {kind: Counter(column[docnum] or "(unknown)" for docnum in docnums) for kind, column in columns.items()}

        counts = per_name(docnums)
        # The volume: every article the date window keeps, whatever its words (an empty query).
        window = matching_documents(searcher, parse_query("", searcher.schema, **options).query) if with_share else ()
        volumes = per_name(window) if with_share else None
        for kind, volume in (volumes or {}).items():
            counts[kind].update(dict.fromkeys(volume, 0))  # a share of 0 is an answer too
    return Facets(
        query=text,
        total=len(docnums),
        sources=_most_first(counts["source"]),
        places=_most_first(counts["place"]),
        languages=_most_first(counts["language"]),
        volumes=volumes,
        volume=len(window),
    )


def _most_first(counts: Counter) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].lower()))
