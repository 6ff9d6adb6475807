"""Searching a cluster: the engine interface's operations, answered by Xapian.

Parsing is the embedded engine's (querying.parse_query, with the same schema and the
cluster's languages), so both engines read a query alike; translate.py turns the parsed
query into a Xapian query, and the results are the same dataclasses the output layer prints.
Ranking is Xapian's BM25 (title and body terms weighed against one document length, where
the embedded engine's BM25F has a length per field), so the order of hits may differ from
the embedded engine's; which articles match, and how many, do not.
"""

import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from archsearch.coverage import Facets, timeline_of
from archsearch.analysis.alternatives import index_languages
from archsearch.engines.xapian.clusterfile import load_cluster
from archsearch.engines.xapian.documents import (
    COPIES_SLOT, DATE_SLOT, FACET_SLOTS, ID_PREFIX, IDENTITY_PREFIX, IDENTITY_SLOT, OLDEST_SLOT, field_prefix, field_term,
    group_query, make_term,
    newest_stamp,
    stored_fields,
)
from archsearch.engines.xapian.shards import Shards
from archsearch.engines.xapian.translate import Translation, translate
from archsearch.errors import ArchsearchError
from archsearch.querying import UNDATED, parse_query
from archsearch.schema import build_schema, number_day
from archsearch.searching import (
    FEW_HITS, MARKED_FIELDS, MORE_HITS, ArticleDetails, ArticleRecord, EmptyIndexError, Hit, SearchResult, check_search,
    make_hit,
)

SCHEMA = build_schema()
# Up to this many hits (offset + limit), a search ranks by weight alone (see _ranked_by_weight):
# the matching members of that many groups are read in one more query.
FAST_RANKING_MAX = 100
# BM25's k1 and b as the embedded engine's BM25F has them (searching.BM25F_PARAMETERS).
BM25_K1, BM25_B = 1.2, 0.75


class XapianEngine:
    def __init__(self, cluster_file: Path, allow_partial: bool = False):
        self.location = Path(cluster_file)
        self.cluster = load_cluster(self.location)
        self.shards = Shards(self.cluster, allow_partial)
        self.xapian = self.shards.xapian
        # One operation at a time: Xapian's objects are not for concurrent threads (the browser
        # searches and reads articles in threads of their own).
        self._lock = threading.RLock()

    @property
    def warnings(self) -> list[str]:
        return self.shards.warnings

    # ------------------------------------------------------------------ helpers

    def _run(self, operation):
        with self._lock:
            return self.shards.run(operation)

    def _languages(self, database) -> tuple[str, ...]:
        return index_languages(_IndexView(self.xapian, database))

    def _parse(self, database, text, **options):
        return parse_query(text, SCHEMA, languages=self._languages(database), **options)

    def _enquire(self, database, query, sort: str | None = "relevance"):
        """An Enquire for `query`, ordered by `sort`; None: by weight alone, equal weights in
        whatever order the shards give them."""
        xapian = self.xapian
        enquire = xapian.Enquire(database)
        enquire.set_query(query)
        enquire.set_weighting_scheme(xapian.BM25Weight(BM25_K1, 0, 1, BM25_B, 0.5))
        if sort == "relevance":
            # Equal scores in the order of the articles' identities: docids depend on the shards.
            enquire.set_sort_by_relevance_then_value(IDENTITY_SLOT, False)
        elif sort == "newest":
            enquire.set_sort_by_value_then_relevance(DATE_SLOT, True)
        elif sort == "oldest":
            enquire.set_sort_by_value_then_relevance(OLDEST_SLOT, False)
        return enquire

    def _count(self, database, query) -> int:
        mset = self._enquire(database, query).get_mset(0, 0, database.get_doccount())
        return mset.get_matches_estimated()

    # ------------------------------------------------------------------ the interface

    def search(
        self, text: str, *, any_words=False, limit=10, offset=0, sort="relevance", since=None, until=None,
        include_undated=False, with_snippets=True, collapse_copies=True, fix=False, ignore_case=False,
        relax_when_empty=False, expand=False, indexed_after=None, today=None,
    ) -> SearchResult:
        """As searching.search."""
        started = time.perf_counter()
        check_search(text, sort)
        options = dict(
            any_words=any_words, since=since, until=until, include_undated=include_undated, today=today,
            indexed_after=indexed_after,
        )
        shown = _Shown(limit, offset, sort, with_snippets, collapse_copies)

        def run(query_text):
            return self._run(lambda database: self._search(
                database, query_text, options, ignore_case, shown, relax_when_empty, expand, started,
            ))

        result = run(text)
        if fix and result.suggestion:
            fixed = run(result.suggestion)
            fixed.corrected_from = text
            return fixed
        return result

    def _search(self, database, text, options, ignore_case, shown, relax, expand, started):
        xapian = self.xapian
        parsed = self._parse(database, text, ignore_case=ignore_case, **options)
        # Read from the same database as the matches, so an indexing run meanwhile loses nothing.
        newest_indexed = 0 if options["indexed_after"] is None else newest_stamp(database)
        if database.get_doccount() == 0:
            return SearchResult(
                query=text, hits=[], total=0, elapsed=time.perf_counter() - started, offset=shown.offset,
                explanation=parsed.explain(), index_empty=True, newest_indexed=newest_indexed,
            )
        translation = Translation(xapian, database)
        query = translation.query(parsed.query)
        hits, total = self._ranked(database, query, shown)
        result = SearchResult(
            query=text, hits=hits, total=total, elapsed=0.0, offset=shown.offset,
            explanation=[*parsed.explain(), f"xapian: {translation.described(query)}"], newest_indexed=newest_indexed,
        )
        if total == 0 and parsed.has_date_filter:
            result.outside_window = self._count(database, translate(xapian, database, parsed.words)[0])
            if result.outside_window:
                result.date_span = self._date_span(database)
        relaxed = None
        if total == 0 and not options["any_words"] and not result.outside_window:
            some_words = self._parse(database, text, ignore_case=ignore_case, **dict(options, any_words=True)).words
            result.partial_matches = self._count(database, translate(xapian, database, some_words)[0])
            if relax:
                relaxed = self._relaxed(database, parsed.query)
                if relaxed is not None:
                    self._show_relaxed(database, relaxed, shown, result)
        if expand and result.total:
            self._expand(database, relaxed or _Matching(parsed.query, query, None), shown, result)
        if shown.sort != "relevance":
            result.explanation.append(f"sort: {shown.sort}, undated articles last")
        if total < FEW_HITS:
            self._suggest_spelling(database, text, total, dict(options, ignore_case=ignore_case), result)
        if total == 0 and parsed.capitals:
            any_case = self._parse(database, text, ignore_case=True, **options).query
            result.capitals = parsed.capitals
            result.any_case_matches = self._count(database, translate(xapian, database, any_case)[0])
        if parsed.has_date_filter and not options["include_undated"]:
            from whoosh.query import And

            undated = translate(xapian, database, And([parsed.words, UNDATED]))[0]
            result.undated_left_out = self._count(database, undated)
        result.elapsed = time.perf_counter() - started
        return result

    def _ranked(self, database, query, shown: "_Shown") -> tuple[list[Hit], int]:
        """The hits of `query` as `shown` asks, and how many articles match it."""
        if shown.collapse and shown.sort == "relevance" and 0 < shown.offset + shown.limit <= FAST_RANKING_MAX:
            hits = self._ranked_by_weight(database, query, shown)
            if hits is not None:
                return hits, self._count(database, query)
        doccount = database.get_doccount()
        enquire = self._enquire(database, query, shown.sort)
        if shown.collapse:
            enquire.set_collapse_key(COPIES_SLOT)
        mset = enquire.get_mset(shown.offset, shown.limit or doccount, doccount)
        # Counted apart: with collapsing, Xapian's counts of what it collapsed are estimates.
        total = self._count(database, query) if shown.collapse else mset.get_matches_estimated()
        copies = self._copies(database, query, mset) if shown.collapse else {}
        hits = [
            self._hit(enquire, rank, item, shown.with_snippets, copies.get(item.docid, ()))
            for rank, item in enumerate(mset, start=shown.offset + 1)
        ]
        return hits, total

    def _suggest_spelling(self, database, text: str, total: int, options: dict, result: SearchResult) -> None:
        """Did you mean: spelling.corrected_query over the cluster's words, offered as the embedded
        engine offers it (searching._suggest_spelling)."""
        from archsearch.spelling import corrected_query

        def judge(candidate: str) -> tuple[int, float]:
            query, _ = translate(self.xapian, database, self._parse(database, candidate, **options).query)
            mset = self._enquire(database, query).get_mset(0, 1, database.get_doccount())
            return mset.get_matches_estimated(), max((item.weight for item in mset), default=0.0)

        correction = corrected_query(_IndexView(self.xapian, database), text, judge)
        if correction is None:
            return
        if correction.matches > total and correction.matches >= MORE_HITS * total:
            result.suggestion, result.suggestion_total = correction.text, correction.matches

    def _relaxed(self, database, query) -> "_Matching | None":
        """No article has all the words: those with some of them, in the query's filters (as
        searching._relaxed_ranking), with how many of the words each has; None when there is
        nothing to relax (one word) or nothing found."""
        from whoosh.query import And, Or

        from archsearch.searching import _words_and_filters

        words, filters = _words_and_filters(query)
        if len(words) < 2:
            return None
        relaxed_words = And([Or(words), *filters]) if filters else Or(words)
        relaxed, _ = translate(self.xapian, database, relaxed_words)
        if not self._count(database, relaxed):
            return None
        Query = self.xapian.Query
        doccount = database.get_doccount()
        words_matched = Counter()
        for word in words:
            has_word = self._enquire(database, Query(Query.OP_FILTER, relaxed, translate(self.xapian, database, word)[0]))
            words_matched.update(item.docid for item in has_word.get_mset(0, doccount))
        return _Matching(relaxed_words, relaxed, words_matched)

    def _ordered(self, database, relaxed: "_Matching", sort: str, first: int = 0) -> tuple[object, list]:
        """(the Enquire, the query's `first` matches in `sort` order, all of them with 0): by
        relevance, a relaxed query's with most words first, then by score."""
        doccount = database.get_doccount()
        enquire = self._enquire(database, relaxed.query, sort)
        by_words = sort == "relevance" and relaxed.words_matched is not None
        matching = list(enquire.get_mset(0, doccount if by_words else first or doccount))
        if by_words:
            matching.sort(key=lambda item: -relaxed.words_matched[item.docid])  # stable: by score within
        return enquire, matching[: first or None]

    def _show_relaxed(self, database, relaxed: "_Matching", shown: "_Shown", result: SearchResult) -> None:
        """The articles with some of the words become the hits, most words first (as
        searching._relaxed_ranking), the first of near-identical ones standing for the others."""
        enquire, matching = self._ordered(database, relaxed, shown.sort)
        leaders, copies = [], {}
        group_of = {}
        for item in matching:
            group = item.document.get_value(COPIES_SLOT) if shown.collapse else item.docid
            if group in group_of:
                copies.setdefault(group_of[group], []).append(stored_fields(item.document)["path"])
            else:
                group_of[group] = item.docid
                leaders.append(item)
        listed = leaders[shown.offset : shown.offset + shown.limit] if shown.limit else leaders[shown.offset:]
        result.hits = [
            self._hit(enquire, rank, item, shown.with_snippets, copies.get(item.docid, ()))
            for rank, item in enumerate(listed, start=shown.offset + 1)
        ]
        result.total, result.relaxed = len(matching), True
        result.explanation.append("no article has all the words: articles with some of them, most words first")

    def _expand(self, database, matching: "_Matching", shown: "_Shown", result: SearchResult) -> None:
        """--expand (as searching._expanded_ranking): the key terms of the FEEDBACK_DOCUMENTS best
        hits by relevance (Bo1, expansion.py, over their stored text and the cluster's term
        statistics) join the query that found them; the widened query's hits replace them."""
        from archsearch.expansion import FEEDBACK_DOCUMENTS, widened

        _, best = self._ordered(database, matching, "relevance", FEEDBACK_DOCUMENTS)
        expanded, terms = widened(_IndexView(self.xapian, database), [item.docid for item in best], matching.parsed)
        if not terms:
            return
        query, _ = translate(self.xapian, database, expanded)
        result.hits, result.total = self._ranked(database, query, shown)
        result.expansion = [(found.term, found.weight) for found in terms]
        result.explanation += [
            "expanded (--expand) with the key terms of the best hits: "
            + ", ".join(f"{found.term} {found.weight:.3f}" for found in terms),
            f"expanded: {expanded}",
            f"xapian (expanded): {query}",
        ]

    def _date_span(self, database):
        lower, upper = database.get_value_lower_bound(DATE_SLOT), database.get_value_upper_bound(DATE_SLOT)
        if not lower:
            return None
        return (
            number_day(int(self.xapian.sortable_unserialise(lower))),
            number_day(int(self.xapian.sortable_unserialise(upper))),
        )

    def _ranked_by_weight(self, database, query, shown: "_Shown") -> list[Hit] | None:
        """The hits _ranked gives, found without ordering every match: Xapian ranks by weight
        alone, so it may stop early (at 1M articles, "president": 0.05 s where ordering its
        457,000 matches by weight then identity, for the collapse, takes 7 s); then the first
        groups' matching members, read at once, give each group its leader (the heaviest, then
        the first identity, which is what the full ordering keeps) and order equal weights by it.
        Groups as heavy as the last one wanted are all read, as equal weights may order any of them
        before it; None when they are more than FAST_RANKING_MAX."""
        wanted = shown.offset + shown.limit
        enquire = self._enquire(database, query, sort=None)
        enquire.set_collapse_key(COPIES_SLOT)
        asked = wanted + 1
        while True:
            first = list(enquire.get_mset(0, asked))
            if len(first) < asked or first[-1].weight != first[wanted - 1].weight:
                break
            if asked > FAST_RANKING_MAX:
                return None
            asked *= 2
        if len(first) >= wanted:
            first = [item for item in first if item.weight >= first[wanted - 1].weight]
        member_enquire, groups = self._group_members(database, query, [item.collapse_key for item in first])
        leaders = sorted((min(group, key=_weight_then_identity) for group in groups.values()), key=_weight_then_identity)
        return [
            self._hit(member_enquire, rank, leader, shown.with_snippets, [
                stored_fields(item.document)["path"]
                for item in groups[leader.document.get_value(COPIES_SLOT)] if item.docid != leader.docid
            ])
            for rank, leader in enumerate(leaders[shown.offset:wanted], start=shown.offset + 1)
        ]

    def _group_members(self, database, query, keys) -> tuple[object, dict[bytes, list]]:
        """(the Enquire, group key -> its articles matching `query`, as MSet items weighed as by `query`)."""
        Query = self.xapian.Query
        enquire = self._enquire(database, Query(Query.OP_FILTER, query, group_query(self.xapian, database, keys)))
        members: dict[bytes, list] = {}
        for item in enquire.get_mset(0, database.get_doccount()):
            members.setdefault(item.document.get_value(COPIES_SLOT), []).append(item)
        return enquire, members

    def _copies(self, database, query, mset) -> dict[int, list[str]]:
        """The ids of the matching articles each hit stands for (its near-identical copies), by
        docid: the matches in the hits' groups, read in one query rather than from Xapian's
        collapse counts, which the remote backend does not keep exact."""
        leaders = {item.collapse_key: item.docid for item in mset}
        if not leaders:
            return {}
        copies: dict[int, list[str]] = {}
        for key, members in self._group_members(database, query, list(leaders))[1].items():
            for item in members:
                if item.docid != leaders[key]:
                    copies.setdefault(leaders[key], []).append(stored_fields(item.document)["path"])
        return copies

    def _hit(self, enquire, rank, item, with_snippets, copies) -> Hit:
        return make_hit(rank, _MatchedDocument(enquire, item), with_snippets, copies)

    def query_words(self, text: str, **parse_options) -> dict[str, frozenset[str]]:
        """As searching.query_words: what showing an article highlights."""

        def words(database):
            parsed = self._parse(database, text, **parse_options)
            _, terms = translate(self.xapian, database, parsed.words)
            return {field: terms.get(field, frozenset()) for field in MARKED_FIELDS}

        return self._run(words)

    def find_article(self, reference: str) -> ArticleRecord:
        return self._run(lambda database: self._article(*self._locate(database, reference)))

    def find_article_parts(self, reference: str):
        """find_article: the body whole in the record, no part after it."""
        return self.find_article(reference), iter(())

    def similar(self, reference: str, *, limit: int = 10) -> SearchResult:
        """As related.similar: the article's most distinctive words (Xapian's relevance-feedback
        expand set over its title and body terms) as a query, the article and its copies left out."""
        return self._run(lambda database: self._similar(database, reference, limit))

    def _similar(self, database, reference: str, limit: int) -> SearchResult:
        from archsearch.related import BODY_TERMS, TITLE_TERMS

        xapian = self.xapian
        Query = xapian.Query
        started = time.perf_counter()
        if database.get_doccount() == 0:
            return SearchResult(query=f"similar to {reference}", hits=[], total=0, elapsed=0.0, index_empty=True)
        docid, stored = self._locate(database, reference)
        relevant = xapian.RSet()
        relevant.add_document(docid)
        prefixes = tuple(field_prefix(field).encode() for field in ("title", "body"))

        class WordsOfTitleAndBody(xapian.ExpandDecider):
            def __call__(self, term):
                return term.startswith(prefixes)

        expander = xapian.Enquire(database)
        expander.set_query(Query.MatchAll)
        words = [(item.term.decode("utf-8", "surrogateescape"), item.weight) for item in expander.get_eset(
            BODY_TERMS + TITLE_TERMS, relevant, WordsOfTitleAndBody()
        )]
        group = database.get_document(docid).get_value(COPIES_SLOT)
        query = Query(
            Query.OP_AND_NOT,
            Query(Query.OP_OR, [Query(Query.OP_SCALE_WEIGHT, Query(term), weight) for term, weight in words]),
            group_query(self.xapian, database, [group]),
        )
        enquire = self._enquire(database, query)
        mset = enquire.get_mset(0, limit or database.get_doccount(), database.get_doccount())
        hits = [self._hit(enquire, rank, item, True, ()) for rank, item in enumerate(mset, start=1)]
        left_out = self._count(database, group_query(self.xapian, database, [group])) - 1
        return SearchResult(
            query=f"similar to {stored['path']}", hits=hits, total=mset.get_matches_estimated(),
            elapsed=time.perf_counter() - started,
            explanation=[f"similar to {stored['path']}: {query}", f"left out as copies: {left_out}"],
        )

    def _locate(self, database, reference: str) -> tuple[int, dict]:
        """The docid and stored fields of the article named by its id or its file's path."""
        if database.get_doccount() == 0:
            raise EmptyIndexError()
        terms = [make_term(ID_PREFIX, reference), make_term(IDENTITY_PREFIX, str(Path(reference).expanduser().absolute()))]
        found = {}
        for term in terms:
            for posting in database.postlist(term):
                found[posting.docid] = stored_fields(database.get_document(posting.docid))
        if not found:
            raise ArchsearchError(f"no article with id or path '{reference}' in the cluster")
        if len(found) > 1:
            named = sorted(stored["key"] + (f"#{stored['record']}" if stored.get("record") else "") for stored in found.values())
            raise ArchsearchError(f"'{reference}' names {len(found)} articles; name one by its path: {', '.join(named)}")
        return next(iter(found.items()))

    def bodies(self, references: list[str]) -> list[str]:
        """The bodies of the articles named, in order, read from the shards' stored text."""
        return self._run(lambda database: [
            self._article(*self._locate(database, reference)).body for reference in references
        ])

    def read_result_set(self, text: str, reading, **parse_options):
        """reading(result set): what reading the articles matching `text` gives, as the embedded
        engine's read_result_set (engines/whoosh.py)."""
        return self._run(lambda database: reading(_ResultSet(self, database, text, parse_options)))

    @staticmethod
    def _article(docid: int, stored: dict) -> ArticleRecord:
        return ArticleRecord(
            id=stored["path"], path=stored["key"], title=stored.get("title") or "", date=number_day(stored.get("date")),
            source=stored.get("source") or "", place=stored.get("place") or "", section=stored.get("section") or "",
            body=stored.get("text") or "", details=ArticleDetails.from_stored(stored),
        )

    def timeline(
        self, text: str, *, by="month", since=None, until=None, any_words=False, ignore_case=False,
        with_share=False, today=None,
    ):
        """As coverage.timeline: the matches counted per day by a match spy on the date value."""
        from archsearch.coverage import PERIODS

        if by not in PERIODS:
            raise ArchsearchError(f"unknown period '{by}' (choose from {', '.join(PERIODS)})")

        def count(database):
            parsed = self._parse(
                database, text, any_words=any_words, since=since, until=until, include_undated=True,
                today=today, ignore_case=ignore_case,
            )
            query, _ = translate(self.xapian, database, parsed.query)
            days = self._spied(database, query, {"date": DATE_SLOT})["date"]
            volumes = self._spied(database, self.xapian.Query.MatchAll, {"date": DATE_SLOT})["date"] if with_share else None
            return timeline_of(text, by, parsed.window, days, volumes, index_empty=database.get_doccount() == 0)

        return self._run(count)

    def _spied(self, database, query, slots: dict[str, int]) -> dict[str, Counter]:
        """Per slot, how many matching articles hold each value (None: how many hold none)."""
        xapian = self.xapian
        spies = {name: xapian.ValueCountMatchSpy(slot) for name, slot in slots.items()}
        enquire = self._enquire(database, query)
        for spy in spies.values():
            enquire.add_matchspy(spy)
        total = enquire.get_mset(0, 0, database.get_doccount()).get_matches_estimated()
        counted = {}
        for name, spy in spies.items():
            values = Counter()
            for item in spy.values():
                value = item.term
                values[number_day(int(xapian.sortable_unserialise(value))) if name == "date" else value.decode("utf-8", "surrogateescape")] += item.termfreq
            values[None] = total - sum(values.values())
            counted[name] = +values if values[None] == 0 else values
        return counted

    def stats(self):
        """As stats.index_stats, counted by match spies over every article; the shards are listed
        with their articles in place of a size on disk, which xapian-tcpsrv does not tell."""
        import datetime
        import json

        from archsearch.engines.xapian.indexer import ROOTS_KEY
        from archsearch.stats import IndexStats, language_counts

        def gather(database):
            counted = self._spied(database, self.xapian.Query.MatchAll, {"date": DATE_SLOT, **FACET_SLOTS})
            days = {day: count for day, count in counted["date"].items() if day is not None}
            roots = database.get_metadata(ROOTS_KEY)
            stamp = newest_stamp(database)
            shards = tuple(
                (str(shard.read), None if shard in self.shards.left_out else self.shards.open_shard(shard).get_doccount())
                for shard in self.cluster.shards
            )
            return IndexStats(
                location=str(self.location),
                folders=json.loads(roots) if roots else [],
                articles=database.get_doccount(),
                dated=sum(days.values()),
                first_date=min(days, default=None),
                last_date=max(days, default=None),
                sources=len(set(counted["source"]) - {None}),
                places=len(set(counted["place"]) - {None}),
                languages=language_counts(counted["language"]),
                size_bytes=None,
                last_indexed=datetime.datetime.fromtimestamp(stamp / 1e9) if stamp else None,
                shards=shards,
            )

        return self._run(gather)

    def facets(
        self, text: str, *, since=None, until=None, include_undated=False, any_words=False, ignore_case=False,
        with_share=False, today=None,
    ) -> Facets:
        """As coverage.facets: sources, places and languages counted by match spies on their values."""
        from archsearch.coverage import _most_first

        def count(database):
            options = dict(since=since, until=until, include_undated=include_undated, today=today, ignore_case=ignore_case)
            parsed = self._parse(database, text, any_words=any_words, **options)
            if database.get_doccount() == 0:
                volumes = {kind: Counter() for kind in FACET_SLOTS} if with_share else None
                return Facets(query=text, total=0, index_empty=True, volumes=volumes)
            query, _ = translate(self.xapian, database, parsed.query)
            counts = _named(self._spied(database, query, FACET_SLOTS))
            volumes, volume = None, 0
            if with_share:
                window, _ = translate(self.xapian, database, self._parse(database, "", **options).query)
                volumes = _named(self._spied(database, window, FACET_SLOTS))
                volume = self._count(database, window)
                for kind, counted in volumes.items():
                    counts[kind].update(dict.fromkeys(counted, 0))
            total = self._count(database, query)
            return Facets(
                query=text, total=total, sources=_most_first(counts["source"]), places=_most_first(counts["place"]),
                languages=_most_first(counts["language"]), volumes=volumes, volume=volume,
            )

        return self._run(count)


def _named(spied: dict[str, Counter]) -> dict[str, Counter]:
    """Counts with articles of no value under "(unknown)", as coverage.facets names them."""
    named = {}
    for kind, counts in spied.items():
        named[kind] = Counter({name if name is not None else "(unknown)": count for name, count in counts.items() if count})
    return named


@dataclass(frozen=True)
class _Shown:
    """Which of a query's hits a search shows, and how."""

    limit: int  # 0: all of them
    offset: int
    sort: str
    with_snippets: bool
    collapse: bool  # near-identical articles make one hit


@dataclass(frozen=True)
class _Matching:
    """The query whose hits are shown: parsed (Whoosh's tree), its Xapian translation, and for a
    query relaxed to some of its words, how many of them each article matching it has (else None)."""

    parsed: object
    query: object
    words_matched: Counter | None


class _ResultSet:
    """The articles a query matches and the whole cluster's document frequencies, as keyterms reads them."""

    def __init__(self, engine: XapianEngine, database, text: str, parse_options: dict):
        self._engine = engine
        self._database = database
        self._text = text
        self._parse_options = parse_options

    def doc_count(self) -> int:
        return self._database.get_doccount()

    def matching(self):
        """(how many articles match, an iterator of their stored fields)."""
        engine, database = self._engine, self._database
        query, _ = translate(engine.xapian, database, engine._parse(database, self._text, **self._parse_options).query)
        mset = engine._enquire(database, query).get_mset(0, database.get_doccount())
        return mset.size(), (stored_fields(item.document) for item in mset)

    def doc_frequency(self, term: str) -> int:
        """Articles whose bodies hold the index term: Xapian's term frequency."""
        return self._database.get_termfreq(field_term("body", term))

    def phrase_frequency(self, terms: list[str]) -> int:
        """Articles whose bodies hold the index terms in a row."""
        from whoosh.query import Phrase

        query, _ = translate(self._engine.xapian, self._database, Phrase("body", terms))
        return self._engine._count(self._database, query)


class _MatchedDocument:
    """A document of an MSet, with the parts of Whoosh's Hit that searching.make_hit reads."""

    def __init__(self, enquire, item):
        self._enquire = enquire
        self._item = item
        # Sorted by date, Xapian still weighs each match (equal dates go by it), as the embedded
        # engine still scores them.
        self.score = item.weight
        self._stored = stored_fields(item.document)

    def fields(self) -> dict:
        return self._stored

    def matched_terms(self) -> list[tuple[str, str]]:
        """(field, term) for the query's terms the document holds, as Xapian says it matched them."""
        matched = []
        for term in self._enquire.matching_terms(self._item):
            text = term.decode("utf-8", "surrogateescape")
            for field in MARKED_FIELDS:
                if text.startswith(field_prefix(field)):
                    matched.append((field, text[len(field_prefix(field)):]))
        return matched


class _IndexView:
    """The cluster as code written for the embedded index reads it (index_languages,
    spelling.corrected_query, expansion.widened): the few calls they make of Whoosh's searcher and
    reader (term frequencies, close words, a few articles holding a word, stored fields)."""

    def __init__(self, xapian, database):
        self._xapian = xapian
        self._database = database
        self.schema = SCHEMA

    def reader(self):
        return self

    def doc_count(self) -> int:
        return self._database.get_doccount()

    def iter_field(self, fieldname: str):
        """(term, its document frequency) for the languages, as index_languages reads them."""
        prefix = field_prefix(fieldname)
        for item in self._database.allterms(prefix):
            yield item.term.decode("utf-8")[len(prefix):], _Frequency(item.termfreq)

    def doc_frequency(self, fieldname: str, text: str) -> int:
        return self._database.get_termfreq(field_term(fieldname, text))

    def frequency(self, fieldname: str, text: str) -> int:
        """The word's occurrences in the field over the whole cluster."""
        return self._database.get_collection_freq(field_term(fieldname, text))

    def stored_fields(self, docid: int) -> dict:
        return stored_fields(self._database.get_document(docid))

    def expand_prefix(self, fieldname: str, prefix: str):
        """The field's words that start with `prefix`, as bytes (Whoosh's reader.expand_prefix)."""
        start = field_prefix(fieldname).encode("utf-8")
        for item in self._database.allterms(start + prefix.encode("utf-8")):
            yield item.term[len(start):]

    def search(self, query, limit: int):
        """The first `limit` articles holding the term `query` (a Whoosh Term)."""
        enquire = self._xapian.Enquire(self._database)
        enquire.set_query(self._xapian.Query(field_term(query.fieldname, query.text)))
        return [_Stored(stored_fields(item.document)) for item in enquire.get_mset(0, limit)]


class _Frequency:
    def __init__(self, count: int):
        self._count = count

    def doc_frequency(self) -> int:
        return self._count


class _Stored:
    def __init__(self, stored: dict):
        self._stored = stored

    def fields(self) -> dict:
        return self._stored


def _weight_then_identity(item) -> tuple:
    """The order of relevance: heaviest first, equal weights by the article's identity, which does
    not depend on the shards."""
    return -item.weight, item.document.get_value(IDENTITY_SLOT)
