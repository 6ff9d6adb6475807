"""Facts about an index: how many articles, over which dates, from which sources, where and how big."""

import datetime
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from archsearch.engines.whoosh.evaluation import Evaluator
from archsearch.engines.whoosh.segments import latest_generation
from archsearch.engines.whoosh.store import INDEX_NAME, index_searcher, read_roots
from archsearch.schema import number_day


@dataclass(frozen=True)
class IndexStats:
    location: str
    folders: list[str]
    articles: int
    dated: int
    first_date: datetime.date | None
    last_date: datetime.date | None
    sources: int  # distinct sources
    places: int  # distinct places
    languages: list[tuple[str, int]]  # articles per language (ISO 639-1, "unknown"), most first
    size_bytes: int | None  # None for a cluster: a shard's server does not tell its size on disk
    last_indexed: datetime.datetime | None  # when the index last changed, in local time
    # A cluster's shards in its file's order: (address, articles), articles None for a shard left out.
    shards: tuple[tuple[str, int | None], ...] = ()


def language_counts(counts: Counter) -> list[tuple[str, int]]:
    """Articles per language, "unknown" for those of none, most first."""
    named = Counter()
    for language, count in counts.items():
        named[language or "unknown"] += count
    return sorted(named.items(), key=lambda item: (-item[1], item[0]))


def index_stats(index_dir: Path) -> IndexStats:
    with index_searcher(index_dir) as searcher:
        reader = searcher.reader()
        live = [docnum for docnum in range(reader.doc_count_all()) if not reader.is_deleted(docnum)]
        # Read through the Evaluator: Whoosh's own reader of a column across segments misplaces the
        # documents of a segment without that column (one of undated articles only, say).
        days = sorted(day for number in Evaluator(searcher).field_values("date", live) if (day := number_day(number)))
        distinct_sources, distinct_places = set(), set()
        per_language = Counter()
        if live:  # an index without a committed segment has no columns to read
            sources = reader.column_reader("source")
            places = reader.column_reader("place")
            distinct_sources = {sources[docnum] for docnum in live} - {""}
            distinct_places = {places[docnum] for docnum in live} - {""}
            languages = reader.column_reader("language")  # every article has a value ("" unknown)
            per_language = Counter(languages[docnum] for docnum in live)
    # SQLite's -shm file (the write-ahead log's shared-memory index) is there only while some
    # process has the record open: counted, the size would change with who is reading.
    files = [path for path in Path(index_dir).iterdir() if path.is_file() and not path.name.endswith("-shm")]
    # The latest commit's table of contents, not the newest file: a query's copy-group lookup
    # touches SQLite's shared-memory file, and reading must not move "last indexed".
    generation = latest_generation(str(index_dir))
    newest = (Path(index_dir) / f"_{INDEX_NAME}_{generation}.toc").stat().st_mtime if generation >= 0 else None
    return IndexStats(
        location=str(index_dir),
        folders=read_roots(index_dir),
        articles=len(live),
        dated=len(days),
        first_date=days[0] if days else None,
        last_date=days[-1] if days else None,
        sources=len(distinct_sources),
        places=len(distinct_places),
        languages=language_counts(per_language),
        size_bytes=sum(path.stat().st_size for path in files),
        last_indexed=datetime.datetime.fromtimestamp(newest) if newest else None,
    )
