"""Key terms of a result set: the words the matching articles use far more often than the rest of
the archive does (Media Cloud's "top words", the keyword lists of corpus linguistics).

Each word is scored by Dunning's log-likelihood ratio G² on document frequencies: of the `n`
matching articles, `a` hold the word; of the `N - n` others, `b - a` do, where `b` is the
number of articles in the archive holding it. G² = 2 Σ O ln(O / E) over the four cells of that
table, each E the count expected if the word were as common in both. Only words more common in
the result set than in the rest count (G² alone does not tell the direction). Document
frequencies, not counts of occurrences, so that one long article repeating a word does not
make it a key term.
"""

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from archsearch.analysis import word_spans
from archsearch.analysis.alternatives import index_languages
from archsearch.errors import ArchsearchError
from archsearch.evaluation import Evaluator
from archsearch.formats import UnreadableFile
from archsearch.passages import folded_form, indexed_form
from archsearch.querying import WORD_FORM_FIELD, parse_query
from archsearch.searching import query_words
from archsearch.store import article_body, index_searcher

DEFAULT_TERMS = 20
# A word held by fewer matching articles than this is no key term, however rare elsewhere: one
# article's names would fill the list.
MIN_ARTICLES = 2


@dataclass(frozen=True)
class KeyTerm:
    term: str  # the word as the matching articles most often write it
    index_term: str  # the word as the index holds it (stemmed in the article's language)
    score: float  # G²
    matching: int  # matching articles holding it
    all: int  # articles of the archive holding it, matching or not


@dataclass
class KeyTerms:
    query: str
    terms: list[KeyTerm] = field(default_factory=list)
    matching: int = 0  # articles matching the query, those the terms were counted in
    all: int = 0  # articles in the archive
    elapsed: float = 0.0
    index_empty: bool = False


def log_likelihood(a: int, n: int, b: int, total: int) -> float:
    """G² of a word held by `a` of `n` matching articles and `b` of all `total` articles."""
    observed = (a, n - a, b - a, total - n - (b - a))
    rows, columns = (n, total - n), (b, total - b)
    expected = (rows[0] * columns[0], rows[0] * columns[1], rows[1] * columns[0], rows[1] * columns[1])
    return 2 * sum(o * math.log(o * total / e) for o, e in zip(observed, expected) if o)


def key_terms(
    index_dir: Path,
    text: str,
    *,
    limit: int = DEFAULT_TERMS,
    any_words: bool = False,
    since: str | None = None,
    until: str | None = None,
    include_undated: bool = False,
    ignore_case: bool = False,
    today=None,
) -> KeyTerms:
    """The `limit` words (0: all) most characteristic of the bodies of the articles matching
    `text`, best first, the query's own words left out. Reads every matching article's body."""
    started = time.perf_counter()
    if not text.strip():
        raise ArchsearchError("empty query: give at least one word")
    filters = dict(any_words=any_words, since=since, until=until, include_undated=include_undated, ignore_case=ignore_case)
    own = query_words(index_dir, text, today=today, **filters)
    own_terms = own["body"] | own["title"]
    result = KeyTerms(query=text)
    holding: Counter = Counter()  # index term -> matching articles holding it
    written: dict[str, Counter] = defaultdict(Counter)  # index term -> its written forms
    with index_searcher(index_dir) as searcher:
        result.all = searcher.doc_count()
        if result.all == 0:
            result.index_empty = True
            return result
        parsed = parse_query(text, searcher.schema, languages=index_languages(searcher), today=today, **filters)
        docnums = Evaluator(searcher).matching_documents(parsed.query)
        result.matching = len(docnums)
        for docnum in docnums:
            stored = searcher.stored_fields(docnum)
            try:
                body = article_body(stored)
            except (UnreadableFile, OSError):
                continue  # the file went away since indexing; the index's counts still hold it
            language = stored.get("language", "")
            terms = set()
            for _, _, word in word_spans(body):
                term = indexed_form(word, language)
                if _countable(term) and term not in own_terms and folded_form(word) not in own[WORD_FORM_FIELD]:
                    terms.add(term)
                    written[term][word] += 1
            holding.update(terms)
        reader = searcher.reader()
        least = min(MIN_ARTICLES, result.matching)
        scored = []
        for term, a in holding.items():
            if a < least:
                continue
            # The index's count may still hold deleted articles until its segments merge.
            b = min(max(reader.doc_frequency("body", term), a), result.all)
            if b == result.all or a / result.matching <= (b - a) / (result.all - result.matching or 1):
                continue  # as common outside the result set: not characteristic
            score = log_likelihood(a, result.matching, b, result.all)
            scored.append(KeyTerm(_most_written(written[term]), term, score, a, b))
    scored.sort(key=lambda key: (-key.score, -key.matching, key.term))
    result.terms = scored[:limit] if limit else scored
    result.elapsed = time.perf_counter() - started
    return result


def _countable(term: str) -> bool:
    """Words of two letters or more, and not numbers (years, counts): what reads as a topic."""
    return len(term) > 1 and not term.isdigit()


def _most_written(forms: Counter) -> str:
    return max(forms.items(), key=lambda item: (item[1], item[0].islower(), item[0]))[0]
