"""Answering a query: ranked hits with their metadata and highlighted passages."""

import datetime
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh.query import And, Not, Or, Prefix, Term
from whoosh.scoring import BM25F

from archsearch.errors import ArchsearchError
from archsearch.engines.whoosh import long_bodies
from archsearch.engines.whoosh.evaluation import Evaluation, Evaluator
from archsearch.engines.whoosh.store import article_body, damage_reported, index_searcher, key_term, read_roots
from archsearch.nearduplicates import copies_of, copy_groups
from archsearch.analysis.alternatives import index_languages
from archsearch.passages import PASSAGE_SEARCH_CHARS, Snippet, WordMatcher, lead_passage, passages, proximity_rule
from archsearch.querying import (
    CAPITALS_FIELD, DERIVED_TITLE_FIELD, LEAD_FIELD, UNDATED, WORD_FORM_FIELD, DateFilter, is_proximity_operand,
    parse_query,
)
from archsearch.formats import UnreadableFile
from archsearch.formats.article import LEAD_MAX_CHARS, lead_end
from archsearch.records import Factory, Record
from archsearch.schema import number_day

# Did you mean: offered when a query has fewer hits than FEW_HITS and a respelling has at least
# MORE_HITS times as many.
FEW_HITS = 5
MORE_HITS = 2

# BM25F's free parameters: K1 saturates term frequency; B normalises for length, per field.
# Whoosh's defaults: with the title unboosted, no K1 (0.9-2), B (0.4-0.9) or title_B (0-0.75) beat them
# beyond noise on held-out known items, MRR@10 0.7843 at best vs 0.7841 (bench/rank_eval.py --grid).
# title_B 0.3 since derived titles left the title field (issue 14): Whoosh averages a field's length
# over every article, those without a title too, so the average title fell from 14.5 words to 1.8
# and x0.75 cut a headline's weight to a third; web pages' typo questions lost (held-out 0/16, p <
# 0.001).  x0.3 is the best title_B on the tune half (x0 0.6929, x0.3 0.7034, x0.75 0.7078) with which
# no kind of question does worse on the held-out half than before (bench/README.md).
BM25F_PARAMETERS = {"K1": 1.2, "B": 0.75, "title_B": 0.3}


def weighting():
    return BM25F(**BM25F_PARAMETERS)


# Proximity: the best PROXIMITY_CANDIDATES articles of an all-words query of two words or more
# have their score multiplied by 1 + PROXIMITY_WEIGHT x closeness (proximity.closeness: 1 when
# the words stand side by side in the body, less the wider they are spread).  On the tune half of
# bench/rank_eval.py --kinds --proximity (with derived titles apart): 0 0.7034, 0.5 0.7666,
# 1 0.7696, 2 0.7707, 4 0.7694: 1 and 2 within noise of each other; 1 keeps topic+date questions
# level with plain BM25F on the held-out half (0.832 against 0.834; x2 0.826), passages 0.638 ->
# 0.933 (bench/README.md).
PROXIMITY_WEIGHT = 1.0
PROXIMITY_CANDIDATES = 100


class ArticleDetails(Record, frozen=True):
    """What the index knows of an article beyond title, date, source, place and section ("" when unknown)."""

    url: str = ""
    author: str = ""
    language: str = ""
    format: str = ""
    fetched: str = ""  # ISO 8601 time a crawler fetched the page (WARC only)

    @classmethod
    def from_stored(cls, stored: dict) -> "ArticleDetails":
        return cls(*(stored.get(name) or "" for name in ("url", "author", "language", "format", "fetched")))


class Hit(Record, frozen=True):
    """One article a query found, as its output shows it."""

    rank: int
    id: str  # the path relative to the indexed folder
    path: str  # the absolute path
    title: str
    date: datetime.date | None
    source: str
    place: str
    section: str
    score: float | None  # None when sorted by date, where relevance is not computed
    title_matches: tuple[tuple[int, int], ...]
    snippets: tuple[Snippet, ...]
    copies: tuple[str, ...] = ()  # ids of near-identical articles this hit stands for
    details: ArticleDetails = ArticleDetails()
    record: str = ""  # the article's key in its container file; "" for a file of its own

    @property
    def reference(self) -> str:
        """What names this article to find_article whatever folders share its id: the file's
        path, and the record's key for an article of a container."""
        return f"{self.path}#{self.record}" if self.record else self.path


class ArticleRecord(Record, frozen=True):
    """One article as `show` presents it: what the index knows, and the body read from its file."""

    id: str
    path: str
    title: str
    date: datetime.date | None
    source: str
    place: str
    section: str
    body: str
    details: ArticleDetails = ArticleDetails()


class SearchResult(Record):
    """What a query found: the hits shown, how many matched, and why the query may have been changed."""

    query: str
    hits: list[Hit]
    total: int  # articles matching the whole query (relaxed: some of its words), not only those shown
    elapsed: float
    offset: int = 0
    # When nothing matches all words: how many articles match at least one of them.
    partial_matches: int = 0
    # Nothing matched all words, so the hits are those matching some, most words first (relax_when_empty).
    relaxed: bool = False
    # --fix after a relaxed query: the corrected query's articles with all the words first, then
    # those with some of them, as the fallback ranks them.
    words_first: bool = False
    # When the date window alone left nothing: how many articles match the words in any date, and
    # the first and last day of the index's dated articles (None when none is dated).
    outside_window: int = 0
    date_span: tuple[datetime.date, datetime.date] | None = None
    # Smart case left nothing: the words it asked for in capitals, and how many articles match in any case.
    capitals: tuple[str, ...] = ()
    any_case_matches: int = 0
    # Undated articles that matched the words but not the date filter, which always excludes them.
    undated_left_out: int = 0
    # Did you mean: a respelt query with many more hits, and how many; or the query it replaced (--fix).
    suggestion: str | None = None
    suggestion_total: int = 0
    suggestion_relaxed: bool = False  # no article has all the suggestion's words: suggestion_total have some
    corrected_from: str | None = None
    explanation: list[str] = Factory(list)  # how the query was read, for --explain
    # --expand: the terms added to the query (as indexed, stems) and their weights.
    expansion: list[tuple[str, float]] = Factory(list)
    # The index holds no article at all: it is empty, or its first build has not committed yet.
    index_empty: bool = False
    # With `indexed_after`: the newest index stamp of the index as searched, which the next run
    # for new articles starts after (alerts.py).
    newest_indexed: int = 0


class EmptyIndexError(ArchsearchError):
    """An article was asked for by id in an index that holds none: not a mistake of the id."""

    def __init__(self):
        super().__init__("the index holds no articles")


def make_hit(rank: int, whoosh_hit, with_snippets: bool = True, copies=()) -> Hit:
    stored = whoosh_hit.fields()
    title = stored.get("title", "")
    title_matches, snippets = (), ()
    if with_snippets:
        language = stored.get("language", "")
        proximities = tuple(
            proximity_rule(node, language, whoosh_hit.searcher.reader()) for node in whoosh_hit.proximities()
        ) if isinstance(whoosh_hit, _EvaluatedHit) else ()
        for body, whole in _body_openings(stored, whoosh_hit):
            # An opening this long has the body's lead (lead_end) and is one passages can read.
            if not whole and len(body) <= PASSAGE_SEARCH_CHARS:
                continue
            # A listed prefix's words are those the opening holds: the passages found in it are
            # those the whole body's words give (a word the opening lacks marks nothing there),
            # and a huge body is not read whole for them.  Where the opening holds none of the
            # query's words, a prefix's may stand further on: evaluation reads the whole body for
            # them (None), and nothing for other words.
            matched = matched_words(whoosh_hit, language, made_from_lead(title, body), body)
            if not whole and matched["body"].finds_nothing:
                matched = matched_words(whoosh_hit, language, made_from_lead(title, body), None)
            found = passages(body, matched["body"], proximities=proximities, whole=whole)
            if found is not None:
                break
        title_matches = tuple(matched["title"].spans(title))
        snippets = tuple(found or ([lead_passage(body)] if body else []))
    return Hit(
        rank=rank,
        id=stored["path"],
        path=stored["key"],
        title=title,
        date=number_day(stored.get("date")),
        source=stored.get("source", ""),
        place=stored.get("place", ""),
        section=stored.get("section", ""),
        score=whoosh_hit.score if isinstance(whoosh_hit.score, float) else None,
        title_matches=title_matches,
        snippets=snippets,
        copies=tuple(copies),
        details=ArticleDetails.from_stored(stored),
        record=stored.get("record") or "",
    )


def matched_words(
    whoosh_hit, language: str = "", title_from_lead: bool = False, body: str | None = None,
) -> dict[str, WordMatcher]:
    """What to mark in the title and in the body: the query's indexed words this article contains
    there, the unstemmed forms it contains in either (from prefix, wildcard, fuzzy and `=` words)
    and its words in capitals the query asked for (smart case), the words analysed in the
    article's language.  `body`: the article's body, or the opening of it, as its passages read
    it, in which an evaluated hit's prefix words are found (its file is not read and parsed a
    second time)."""
    found = {fieldname: set() for fieldname in MARKED_FIELDS}
    terms = whoosh_hit.matched_terms(body) if isinstance(whoosh_hit, _EvaluatedHit) else whoosh_hit.matched_terms()
    for fieldname, term in terms:
        if fieldname in found:
            found[fieldname].add(term.decode("utf-8") if isinstance(term, bytes) else term)
    return text_matchers(found, language, title_from_lead)


# The fields whose matched words are marked in an article's title and body.
MARKED_FIELDS = ("title", "body", LEAD_FIELD, DERIVED_TITLE_FIELD, WORD_FORM_FIELD, CAPITALS_FIELD)


def text_matchers(words: dict, language: str, title_from_lead: bool = False) -> dict:
    """Matchers of the title and the body for the words matched in each field (`words`: field ->
    indexed words).  A word the lead matched is marked in the title and in the body's lead, not
    further on: `lead:kabul` marks the Kabul of the first paragraph only.  A title made from the
    lead is not indexed as a title: the words matched in the body are marked in it."""
    forms, capitals = frozenset(words.get(WORD_FORM_FIELD, ())), frozenset(words.get(CAPITALS_FIELD, ()))
    lead = frozenset(words.get(LEAD_FIELD, ()))
    title = lead.union(words.get("title", ()), words.get(DERIVED_TITLE_FIELD, ()))
    if title_from_lead:
        title = title.union(words.get("body", ()))

    def matcher(stems) -> WordMatcher:
        return WordMatcher(frozenset(stems), forms, language, capitals)

    body = matcher(words.get("body", ()))
    return {
        "title": matcher(title),
        "body": _BodyMatcher(body, WordMatcher(lead, language=language, capitals=capitals)) if lead else body,
    }


def made_from_lead(title: str, body: str) -> bool:
    """Whether a title reads as one made from the body's lead (formats.text.derive_title: the lead
    sentence, spaces collapsed, perhaps cut with "…")."""
    start = title.removesuffix("…").rstrip()
    return bool(start) and start in " ".join(body[: lead_end(body)].split())


class _BodyMatcher:
    """The body's words as `body` finds them, and those `lead` finds within the lead."""

    def __init__(self, body: WordMatcher, lead: WordMatcher):
        self.body, self.lead, self.language = body, lead, body.language

    @property
    def finds_nothing(self) -> bool:
        return self.body.finds_nothing and self.lead.finds_nothing

    def spans(self, text: str) -> list[tuple[int, int]]:
        return sorted(set(self.body.spans(text)).union(self.lead.spans(text[: lead_end(text)])))


# Bodies of article files kept by `archsearch serve` for the requests it forks (see keep_bodies):
# path -> (the file's identity when it was read, the body); used only while the file still has it.
_kept_bodies: dict[str, tuple[tuple, str]] = {}
KEPT_BODIES_CHARS = 16 << 20  # the most characters kept in all; the oldest go first
KEPT_BODY_CHARS = 1 << 20  # a longer body, or one from a file of more bytes, is read from its file each time
# A file changed less than this long ago is not kept: its time can stay the same through another
# change within the file system's clock tick (as git's "racy" entries).
SETTLED_NS = 2_000_000_000

# The files whose bodies this process read, kept by none: recorded in a request process of
# `archsearch serve` only (server._answer sets a list), for the server to keep.
bodies_read: list[str] | None = None


def _current_body(stored: dict) -> str:
    path = stored["key"] if stored.get("text") is None else None
    if path in _kept_bodies:
        identity, body = _kept_bodies[path]
        try:
            if _identity(path) == identity:
                return body
        except OSError:
            pass
    try:
        body = article_body(stored)
    except (UnreadableFile, OSError):
        return ""  # the file went away since indexing: the hit is shown without a passage
    if path is not None and bodies_read is not None:
        bodies_read.append(path)
    return body


def _body_openings(stored: dict, hit):
    """The body of a hit (`stored`: its fields) as (text, whole) pairs, as
    formats.registry.read_body_openings gives them: the whole body, or from a plain-text file too
    long to be kept (KEPT_BODY_CHARS) or a long body kept apart in the index (long_bodies.py), ever
    longer openings of it, so that a hit's passages cost what they read, not what the article weighs."""
    if long_bodies.kept_apart(stored):
        yield from long_bodies.body_openings(hit.searcher, hit.docnum, 2 * PASSAGE_SEARCH_CHARS)
        return
    path = stored["key"] if stored.get("text") is None else None
    try:
        long_file = path is not None and path not in _kept_bodies and os.stat(path).st_size > KEPT_BODY_CHARS
    except OSError:
        long_file = False
    if not long_file:
        yield _current_body(stored), True
        return
    from archsearch.formats.registry import read_body_openings

    try:
        yield from read_body_openings(path, 2 * PASSAGE_SEARCH_CHARS)
    except (UnreadableFile, OSError):
        yield "", True  # as _current_body: the hit is shown without a passage


def keep_bodies(paths) -> None:
    """Reads and keeps the bodies of the article files at paths (absolute) for the processes
    forked afterwards, which find them in _current_body as long as each file is as it was. Reading
    and parsing the files of a query's 10 hits was 3-4 ms of a served query at 100k articles;
    `archsearch serve` keeps those of the hits its requests showed. Large files are not read (the
    server would answer nothing meanwhile), bodies that would not fit are not kept, and the oldest
    kept go beyond KEPT_BODIES_CHARS."""
    for path in paths:
        if not os.path.isabs(path):
            continue
        # A request reads a kept file only once it has changed: what is kept of it is out of date.
        _kept_bodies.pop(path, None)
        try:
            identity = _identity(path)
            if identity[1] > KEPT_BODY_CHARS or time.time_ns() - max(identity[2:]) < SETTLED_NS:
                continue
            body = article_body({"key": path})
            if _identity(path) != identity:
                continue
        except Exception:  # whatever a file holds by now, the server that calls this serves on
            continue
        if len(body) <= KEPT_BODY_CHARS:
            _kept_bodies[path] = identity, body
    kept = sum(len(body) for _, body in _kept_bodies.values())
    while kept > KEPT_BODIES_CHARS:
        kept -= len(_kept_bodies.pop(next(iter(_kept_bodies)))[1])


def _identity(path: str) -> tuple:
    info = os.stat(path)
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


class _EvaluatedHit:
    """A document of an Evaluation, with the parts of Whoosh's Hit that make_hit() reads."""

    def __init__(self, searcher, evaluation: Evaluation, docnum: int):
        self.docnum = docnum
        self.score = evaluation.scores[docnum]
        self._searcher = searcher
        self._evaluation = evaluation
        self._fields = None

    def fields(self) -> dict:
        # Read once (as Whoosh's Hit does): copy groups read a hit's fields, and make_hit again.
        if self._fields is None:
            self._fields = self._searcher.stored_fields(self.docnum)
        return self._fields

    def matched_terms(self, body: str | None = None) -> list[tuple[str, bytes]]:
        return self._evaluation.matched_terms(self.docnum, body)

    @property
    def searcher(self):
        return self._searcher

    def proximities(self) -> list:
        """The query's NEAR and SENTENCE parts that this document matched."""
        return self._evaluation.matched_proximities(self.docnum)


class _Ranking:
    """The documents matching a query, and its hits in order, read as far down as asked.

    From one evaluation of the whole query when evaluation.py can do it, from Whoosh's search
    otherwise."""

    def __init__(self, evaluator: Evaluator, query, sort: str, words_matched: dict[int, int] | None = None):
        """`words_matched`, for a relaxed query: how many of the user's words each document has;
        by relevance, more words rank first, then the score."""
        self._evaluator = evaluator
        self._query = query
        self._sort = sort
        self._words_matched = words_matched
        self._evaluation = evaluator.evaluate(query)
        if self._evaluation is not None:
            if sort == "relevance" and words_matched is None:
                self._evaluation.scores = _with_proximity(evaluator, query, self._evaluation.scores)
            self.matching = self._evaluation.scores.keys()
        else:
            self.matching = evaluator.documents_whoosh_matches(query)  # evaluate() could not: no second try

    def hits(self, limit: int | None) -> list:
        searcher = self._evaluator.searcher
        if self._evaluation is None and self._words_matched is not None and self._sort == "relevance":
            found = searcher.search(self._query, limit=None, terms=True)
            return sorted(found, key=lambda hit: self._words_first(hit.docnum, hit.score))[:limit]
        if self._evaluation is None:
            sortedby = None if self._sort == "relevance" else _date_sort_key(searcher.schema["date"], self._sort)
            return list(searcher.search(self._query, limit=limit, sortedby=sortedby, terms=True))
        scores = self._evaluation.scores
        if self._sort == "relevance" and self._words_matched is not None:
            best = [docnum for docnum, _ in sorted(scores.items(), key=lambda item: self._words_first(*item))[:limit]]
        elif self._sort == "relevance":
            best = scores.best(limit)
        else:
            # As _date_sort_key orders them: by date, undated articles last, then by relevance.
            days = self._evaluator.sortable_values("date")
            best = scores.by_value(days, searcher.schema["date"].default, self._sort == "newest", limit)
        return [_EvaluatedHit(searcher, self._evaluation, docnum) for docnum in best]

    def _words_first(self, docnum: int, score: float) -> tuple:
        return -self._words_matched[docnum], -score, docnum


def _with_proximity(evaluator: Evaluator, query, scores):
    """`scores` with the best candidates' raised where the query's words stand close together
    (see PROXIMITY_WEIGHT); unchanged for a query of one word or with another shape."""
    if not PROXIMITY_WEIGHT or not scores:
        return scores
    words = [word for word in _words_and_filters(query)[0] if is_proximity_operand(word)]
    if len(words) < 2:
        return scores
    if any(isinstance(word, Prefix) for word in words):  # its node is fuzzy.py's, which made it
        from archsearch.engines.whoosh.fuzzy import weighed_part

        words = [weighed_part(word, evaluator.searcher.reader()) for word in words]
    raised = evaluator.closeness(words, set(scores.best(PROXIMITY_CANDIDATES)))
    if not raised:
        return scores
    return scores.raised({docnum: 1 + PROXIMITY_WEIGHT * value for docnum, value in raised.items()})


SORT_ORDERS = ("relevance", "newest", "oldest")


def check_search(text: str, sort: str) -> None:
    """The one-line error of a search no engine can run."""
    if not text.strip():
        raise ArchsearchError("empty query: give at least one word")
    if sort not in SORT_ORDERS:
        raise ArchsearchError(f"unknown sort order '{sort}' (choose from {', '.join(SORT_ORDERS)})")


def _date_sort_key(date_field, sort: str):
    """Whoosh's sort for "newest" or "oldest": by date, undated articles last either way, ties by relevance."""
    newest_first = sort == "newest"
    from whoosh import sorting

    # The sort column holds encoded numbers, in the same order as the dates; undated articles get
    # the column's default.
    def key(encoded):
        undated = encoded == date_field.default
        return (undated, -encoded if newest_first else encoded)

    return sorting.MultiFacet([sorting.TranslateFacet(key, sorting.FieldFacet("date")), sorting.ScoreFacet()])


def search(
    index_dir: Path,
    text: str,
    *,
    any_words: bool = False,
    limit: int = 10,
    offset: int = 0,
    sort: str = "relevance",
    since: str | None = None,
    until: str | None = None,
    include_undated: bool = False,
    with_snippets: bool = True,
    collapse_copies: bool = True,
    fix: bool = False,
    ignore_case: bool = False,
    relax_when_empty: bool = False,
    indexed_after: int | None = None,
    words_first: bool = False,
    expand: bool = False,
    today=None,
) -> SearchResult:
    """Rank the articles matching `text`; `limit` 0 means all of them.

    With `collapse_copies`, near-identical articles make one hit: the best ranked stands for
    them all and lists the others as its copies; limit and offset then count such groups.
    With `relax_when_empty`, when no article has all the words (in any date), the articles with
    some of them are the hits, those with more of the words first (`relaxed` says so); with
    `words_first`, so they are whether or not some article has all the words.

    With `fix`, a query whose rare words have a respelling that finds more articles (see
    _suggest_spelling) runs respelt; if the query as typed found only articles with some of its
    words, the respelt one keeps that ranking, its articles with all the words first: a page with
    only one or two of those may well miss the article sought.

    With `expand`, the key terms of the best hits join the query (relevance feedback, see
    expansion.py), within its filters; `expansion` lists them.

    With `indexed_after`, only the articles indexed after that stamp count (alerts.py)."""
    started = time.perf_counter()
    check_search(text, sort)
    search_options = dict(
        any_words=any_words, limit=limit, offset=offset, sort=sort, since=since, until=until,
        include_undated=include_undated, with_snippets=with_snippets, collapse_copies=collapse_copies,
        ignore_case=ignore_case, relax_when_empty=relax_when_empty, indexed_after=indexed_after, expand=expand,
        today=today,
    )
    with index_searcher(index_dir, weighting()) as searcher:
        schema = searcher.schema
        parse_options = dict(
            any_words=any_words, since=since, until=until, include_undated=include_undated, today=today,
            languages=index_languages(searcher), ignore_case=ignore_case, indexed_after=indexed_after,
        )
        parsed = parse_query(text, schema, **parse_options)
        newest_indexed = 0
        if indexed_after is not None:  # --new's saved search (alerts.py, which a plain query never loads)
            from archsearch.alerts import newest_stamp

            newest_indexed = newest_stamp(searcher)
        if searcher.doc_count() == 0:
            return SearchResult(
                query=text, hits=[], total=0, elapsed=time.perf_counter() - started, offset=offset,
                explanation=parsed.explain(), index_empty=True, newest_indexed=newest_indexed,
            )
        evaluator = Evaluator(searcher)
        ranking = _Ranking(evaluator, parsed.query, sort)
        total = len(ranking.matching)
        outside_window = 0
        if total == 0 and parsed.has_date_filter:
            outside_window = evaluator.count_matching(parsed.words)
        relaxed = None
        if (words_first or total == 0 and relax_when_empty) and not any_words and not outside_window:
            relaxed = _relaxed_ranking(evaluator, parsed.query, sort)
        wanted = offset + limit if limit else None
        shown = relaxed or ranking
        expansion = []
        if expand and shown.matching:
            shown, expansion = _expanded_ranking(evaluator, shown, sort)
        if collapse_copies:
            leaders = _group_copies(searcher, index_dir, shown, wanted)
        else:
            leaders = [(hit, []) for hit in shown.hits(wanted)]
        hits = [
            make_hit(rank, hit, with_snippets, copies=[searcher.stored_fields(n)["path"] for n in copies])
            for rank, (hit, copies) in enumerate(leaders[offset:], start=offset + 1)
        ]
        result = SearchResult(
            query=text, hits=hits, total=len(shown.matching), elapsed=0.0, offset=offset,
            explanation=parsed.explain(), relaxed=relaxed is not None and total == 0,
            words_first=relaxed is not None and total > 0, outside_window=outside_window,
            newest_indexed=newest_indexed,
        )
        if result.relaxed:
            result.explanation.append("no article has all the words: articles with some of them, most words first")
        if result.words_first:
            result.explanation.append("articles with all the words first, then those with some of them")
        if expansion:
            result.expansion = [(found.term, found.weight) for found in expansion]
            result.explanation += [
                "expanded (--expand) with the key terms of the best hits: "
                + ", ".join(f"{found.term} {found.weight:.3f}" for found in expansion),
                f"expanded: {shown._query}",
            ]
        if sort != "relevance":
            result.explanation.append(f"sort: {sort}, undated articles last")
        if outside_window:
            span = evaluator.value_span("date")
            result.date_span = span and (number_day(span[0]), number_day(span[1]))
        if total == 0 and not any_words and not outside_window:
            words_only = parse_query(
                text, schema, any_words=True, today=today, languages=parse_options["languages"],
                ignore_case=ignore_case, indexed_after=indexed_after,
            ).words
            result.partial_matches = evaluator.count_matching(words_only)
        if total == 0 and parsed.capitals:
            any_case = parse_query(text, schema, **dict(parse_options, ignore_case=True)).query
            result.capitals = parsed.capitals
            result.any_case_matches = evaluator.count_matching(any_case)
        if parsed.has_date_filter and not include_undated:
            result.undated_left_out = evaluator.count_matching(And([parsed.words, UNDATED]))
        if total < FEW_HITS:
            _suggest_spelling(evaluator, result, total, parse_options)
    if fix and result.suggestion:
        fixed = search(index_dir, result.suggestion, **search_options, words_first=result.relaxed)
        fixed.corrected_from = text
        return fixed
    result.elapsed = time.perf_counter() - started
    return result


def _suggest_spelling(evaluator: Evaluator, result: SearchResult, total: int, parse_options: dict) -> None:
    """`total`: the articles matching all the query's words, whether or not the result was relaxed.

    A respelling is offered when it finds at least MORE_HITS times as many articles; and when
    neither the query nor its respelling has an article with all the words, if the respelling has
    more articles with some of them, which the zero-results fallback then shows
    (`suggestion_relaxed`)."""

    def judge(text: str) -> tuple[int, float]:
        query = parse_query(text, evaluator.schema, **parse_options).query
        evaluation = evaluator.evaluate(query)
        if evaluation is None:
            return len(evaluator.documents_whoosh_matches(query)), 0.0
        return len(evaluation.scores), max(evaluation.scores.values(), default=0.0)

    from archsearch.spelling import corrected_query  # a query with FEW_HITS or more never needs it

    correction = corrected_query(evaluator.searcher, result.query, judge)
    if correction is None:
        return
    if correction.matches > total and correction.matches >= MORE_HITS * total:
        result.suggestion, result.suggestion_total = correction.text, correction.matches
    elif correction.matches == total == 0 and not parse_options["any_words"]:
        some_words = dict(parse_options, any_words=True)
        before, after = (
            evaluator.count_matching(parse_query(text, evaluator.schema, **some_words).query)
            for text in (result.query, correction.text)
        )
        if after > before:
            result.suggestion, result.suggestion_total, result.suggestion_relaxed = correction.text, after, True


def _expanded_ranking(evaluator: Evaluator, shown: _Ranking, sort: str) -> tuple[_Ranking, list]:
    """`shown`'s query with the key terms of its best hits by relevance, and those terms."""
    from archsearch.expansion import FEEDBACK_DOCUMENTS, widened

    query = shown._query
    by_relevance = shown if sort == "relevance" else _Ranking(evaluator, query, "relevance", shown._words_matched)
    best = [hit.docnum for hit in by_relevance.hits(FEEDBACK_DOCUMENTS)]
    expanded, terms = widened(evaluator.searcher, best, query)
    if not terms:
        return shown, []
    return _Ranking(evaluator, expanded, sort), terms


def _relaxed_ranking(evaluator: Evaluator, query, sort: str) -> _Ranking | None:
    """The articles with at least one of the query's words, within its filters (dates, NOT words,
    fields such as source:), and how many of the words each has; None when there is nothing to
    relax (one word) or nothing found."""
    words, filters = _words_and_filters(query)
    if len(words) < 2:
        return None
    relaxed = And([Or(words), *filters]) if filters else Or(words)
    matching = evaluator.matching_documents(relaxed)
    if not matching:
        return None
    words_matched = dict.fromkeys(matching, 0)
    for word in words:
        for docnum in evaluator.matching_documents(word):
            if docnum in words_matched:
                words_matched[docnum] += 1
    return _Ranking(evaluator, relaxed, sort, words_matched)


# Fields a word of the query is looked for in; a part naming none of them (source:, lang:) is a filter.
_WORD_FIELDS = frozenset({"title", "body", LEAD_FIELD, DERIVED_TITLE_FIELD, WORD_FORM_FIELD, CAPITALS_FIELD})


def _words_and_filters(query) -> tuple[list, list]:
    """The parts of an all-words query that are the user's words, and those that filter: date
    windows, NOT words and other fields.  A word's smart-case test (a capitals term next to it)
    stays with its word."""
    conjuncts, pending = [], [query]
    while pending:
        node = pending.pop(0)
        if isinstance(node, And) and node.boost == 1.0:
            pending[:0] = node.subqueries
        else:
            conjuncts.append(node)
    words, filters = [], []
    for node in conjuncts:
        fields = {leaf.field() for leaf in node.leaves()} if not node.is_leaf() else {node.field()}
        if isinstance(node, Term) and node.field() == CAPITALS_FIELD and words:
            words[-1] = And([words[-1], node])
        elif isinstance(node, (Not, DateFilter)) or not fields & _WORD_FIELDS:
            filters.append(node)
        else:
            words.append(node)
    return words, filters


def _group_copies(searcher, index_dir: Path, ranking: _Ranking, wanted: int | None) -> list[tuple]:
    """The first `wanted` groups of near-identical hits in ranked order, as (leader, copy docnums):
    the groups made at index time (see nearduplicates.py), looked up for the hits read."""
    with copy_groups(index_dir) as groups:
        return _first_groups(searcher, groups, ranking, wanted)


def _first_groups(searcher, groups, ranking: _Ranking, wanted: int | None) -> list[tuple]:
    leaders = []
    grouped: set[int] = set()
    # Copies fall out of the ranked list, so read further down it than the groups wanted.
    window = None if wanted is None else wanted * 3 + 20
    while True:
        hits = ranking.hits(window)
        for hit in hits:
            if hit.docnum in grouped:
                continue
            copies = copies_of(searcher, groups, hit.docnum, hit.fields(), ranking.matching)
            grouped.update(copies)
            grouped.add(hit.docnum)
            leaders.append((hit, copies))
            if wanted is not None and len(leaders) == wanted:
                return leaders
        if window is None or len(hits) < window:
            return leaders
        leaders.clear()
        grouped.clear()
        window *= 4


def query_words(index_dir: Path, query: str, **parse_options) -> dict[str, frozenset[str]]:
    """The indexed words `query` looks for in titles and bodies, and the unstemmed forms, prefixes
    and fuzzy words expanded to those in the index, and the words it asks for in capitals (smart
    case): what showing an article highlights."""
    words = {fieldname: set() for fieldname in MARKED_FIELDS}
    with index_searcher(index_dir) as searcher:
        parsed = parse_query(query, searcher.schema, languages=index_languages(searcher), **parse_options)
        reader = searcher.reader()
        for leaf in parsed.words.leaves():
            for fieldname, term in leaf.expanded_terms(reader, phrases=True):
                if fieldname in words:
                    words[fieldname].add(term.decode("utf-8") if isinstance(term, bytes) else term)
    return {fieldname: frozenset(terms) for fieldname, terms in words.items()}


def article_matches(title: str, body: str, language: str, words: dict[str, frozenset[str]]) -> tuple[list, list]:
    """(start, end) spans of query_words' words in an article's title and body, read in its language."""
    matchers = text_matchers(words, language, made_from_lead(title, body))
    return matchers["title"].spans(title), matchers["body"].spans(body)


def article_matches_by_chunks(
    title: str, parts: Iterable[str], language: str, words: dict[str, frozenset[str]],
) -> tuple[list, Iterator[tuple[str, list]]]:
    """article_matches of a body given in parts (find_article_parts), matched as it is read: the
    title's spans, and the body in chunks, each with its spans (from the chunk's start).  Each
    chunk but the last ends with a paragraph break as body.split("\n\n") finds it, which no word
    crosses, and the first holds the lead whole: the spans are those of the whole body."""
    chunks = paragraph_chunks(parts, LEAD_MAX_CHARS + 2)  # lead_end() is at most LEAD_MAX_CHARS
    first = next(chunks)
    matchers = text_matchers(words, language, made_from_lead(title, first))
    body = matchers["body"]
    after_lead = body.body if isinstance(body, _BodyMatcher) else body

    def marked():
        yield first, body.spans(first)
        for chunk in chunks:
            yield chunk, after_lead.spans(chunk)

    return matchers["title"].spans(title), marked()


def paragraph_chunks(parts: Iterable[str], first_chars: int = 0) -> Iterator[str]:
    """The text of `parts` again, in chunks that each end with a paragraph break ("\n\n" where
    text.split("\n\n") cuts), but the last; the first of at least `first_chars` characters."""
    pending, least = "", first_chars
    for part in parts:
        # A break found before this part was too early to cut at; one that ends in it starts at
        # pending's last character or after.
        searched = max(len(pending) - 1, 0)
        pending += part
        cut = _last_break_end(pending, searched)
        if cut >= max(least, 1):
            yield pending[:cut]
            pending, least = pending[cut:], 0
    yield pending


def _last_break_end(text: str, searched: int) -> int:
    """Where the last paragraph break of `text` that text.split("\n\n") cuts at ends (0: none, or
    none starts at `searched` or after). split() pairs the newlines of a run from its start, and the
    text's runs of newlines are those of the body from a paragraph's start: a run cut short by the
    text's end pairs alike."""
    at = text.rfind("\n\n", searched)
    if at < 0:
        return 0
    start = at
    while start > 0 and text[start - 1] == "\n":
        start -= 1
    return start + (at + 2 - start) // 2 * 2


def find_article(index_dir: Path, reference: str) -> ArticleRecord:
    """The article a user names by its id (as `query` prints it) or by its file's path."""
    with index_searcher(index_dir) as searcher:
        return locate_article(searcher, index_dir, reference)[1]


# The opening of a long body that `show` prints before it reads the rest (find_article_parts).
SHOWN_FIRST_CHARS = 2 * PASSAGE_SEARCH_CHARS


def find_article_parts(index_dir: Path, reference: str) -> tuple[ArticleRecord, Iterator[str]]:
    """find_article, its record's body the opening of a long body kept apart in the index (about
    SHOWN_FIRST_CHARS characters) and the rest of it in parts, read as they are asked for: a 12 MB
    page is shown as it is read.  Any other body is whole in the record, and no part follows."""
    with index_searcher(index_dir) as searcher:
        docnum, stored = _located(searcher, index_dir, reference)
        with _body_read(stored):
            parts = _body_parts(stored, searcher, docnum)
            return _article_record(stored, next(parts)), _reported(index_dir, stored, parts)


def _body_parts(stored: dict, searcher, docnum: int) -> Iterator[str]:
    """The body of an article in parts that make it whole (see find_article_parts): a long body
    kept apart a piece at a time after its opening (long_bodies.body_parts), the body of a
    plain-text file too long to be kept (KEPT_BODY_CHARS) its opening, then the rest once the whole
    file is parsed (formats.text.body_openings: the body starts with each opening); any other whole."""
    if long_bodies.kept_apart(stored):
        return long_bodies.body_parts(searcher, docnum, SHOWN_FIRST_CHARS)
    path = stored["key"] if stored.get("text") is None else None
    try:
        long_file = path is not None and os.stat(path).st_size > KEPT_BODY_CHARS
    except OSError:  # gone or unreadable: article_body reads it, and says so as it says it of any file
        long_file = False
    if not long_file:
        return iter([article_body(stored, searcher, docnum)])
    from archsearch.formats.registry import read_body_openings

    # No opening between the first and the whole: each would be parsed for nothing.
    return _rest_after_opening(read_body_openings(path, SHOWN_FIRST_CHARS, growth=KEPT_BODY_CHARS))


def _rest_after_opening(openings: Iterator[tuple[str, bool]]) -> Iterator[str]:
    """The first opening, then what the whole body has after it."""
    first, whole = next(openings)
    yield first
    if not whole:
        *_, (body, _) = openings
        yield body[len(first) :]


def _reported(index_dir: Path, stored: dict, parts: Iterator[str]) -> Iterator[str]:
    """The parts, read after the searcher closed, their damage or the file's failure named as
    find_article names them."""
    with damage_reported(index_dir), _body_read(stored):
        yield from parts


def locate_article(searcher, index_dir: Path, reference: str) -> tuple[int, ArticleRecord]:
    """The document number and record of the article named by id or path, read through `searcher`."""
    docnum, stored = _located(searcher, index_dir, reference)
    with _body_read(stored):
        body = article_body(stored, searcher, docnum)
    return docnum, _article_record(stored, body)


def _located(searcher, index_dir: Path, reference: str) -> tuple[int, dict]:
    """The document number and stored fields of the article named by id or path."""
    if searcher.doc_count() == 0:
        raise EmptyIndexError()
    record = ""
    found = _documents_named(searcher, index_dir, reference)
    if not found and "#" in reference:
        # A record of a container file: "exports/feed.jsonl#17".
        file_reference, record = reference.rsplit("#", 1)
        found = _documents_named(searcher, index_dir, file_reference, record)
    if not found:
        raise ArchsearchError(f"no article with id or path '{reference}' in the index")
    if len(found) > 1:
        raise ArchsearchError(
            f"'{reference}' is the id of {len(found)} articles; name one by its path: {', '.join(sorted(found.values()))}"
        )
    docnum = next(iter(found))
    stored = searcher.stored_fields(docnum)
    if stored.get("record") and not record:
        raise ArchsearchError(
            f"'{reference}' holds many articles: name one by its id, as in '{stored['path']}'"
        )
    return docnum, stored


@contextmanager
def _body_read(stored: dict):
    """Where an article's body is read from its file: a file gone or unreadable since it was
    indexed is an error naming it."""
    try:
        yield
    except (UnreadableFile, OSError) as exc:
        raise ArchsearchError(
            f"cannot read {stored['key']}: {exc} (run 'archsearch index' to bring the index up to date)"
        ) from None


def _article_record(stored: dict, body: str) -> ArticleRecord:
    return ArticleRecord(
        id=stored["path"],
        path=stored["key"],
        title=stored.get("title", ""),
        date=number_day(stored.get("date")),
        source=stored.get("source", ""),
        place=stored.get("place", ""),
        section=stored.get("section", ""),
        body=body,
        details=ArticleDetails.from_stored(stored),
    )


def _documents_named(searcher, index_dir: Path, reference: str, record: str = "") -> dict[int, str]:
    """The documents of the file named by id or path (and of its record, for a container), with
    the file's path: more than one when indexed folders hold the same id."""
    as_path = Path(reference).expanduser()
    candidates = [str(as_path.resolve())]
    if not as_path.is_absolute():
        # Ids are relative to the folder indexed, so two folders can hold the same id.
        candidates += [str(Path(root) / reference) for root in read_roots(index_dir)]
    found = {}
    for key in candidates:
        terms = {"key": key_term(key), "record": record} if record else {"key": key_term(key)}
        docnum = searcher.document_number(**terms)
        if docnum is not None:
            found[docnum] = key
    return found
