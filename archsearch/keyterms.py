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

import heapq
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from archsearch.analysis import word_spans
from archsearch.errors import ArchsearchError
from archsearch.formats import UnreadableFile
from archsearch.passages import folded_form, indexed_form
from archsearch.querying import WORD_FORM_FIELD
from archsearch.engines.whoosh.store import article_body

if TYPE_CHECKING:
    from archsearch.engines import Engine

DEFAULT_TERMS = 20
# A word held by fewer matching articles than this is no key term, however rare elsewhere: one
# article's names would fill the list.
MIN_ARTICLES = 2
# A two-word phrase is no key phrase when one of its words is used by more than this share of all
# articles: the, in, and, was make phrases of every key word ("the Afghan", "in Kabul") and would
# crowd out the others (and counting them in the archive reads most of its positions).
MAX_PHRASE_WORD_SHARE = 0.25


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
    index: "Path | Engine",
    text: str,
    *,
    limit: int = DEFAULT_TERMS,
    phrases: bool = False,
    any_words: bool = False,
    since: str | None = None,
    until: str | None = None,
    include_undated: bool = False,
    ignore_case: bool = False,
    today=None,
) -> KeyTerms:
    """The `limit` words (0: all) most characteristic of the bodies of the articles matching
    `text`, best first, the query's own words left out; with `phrases`, the two-word phrases
    (two words with only a space between them) instead. Reads every matching article's body.
    `index` is an embedded index's folder, a cluster file or an engine open on either."""
    from archsearch.engines import as_engine

    started = time.perf_counter()
    if not text.strip():
        raise ArchsearchError("empty query: give at least one word")
    engine = as_engine(index)
    filters = dict(any_words=any_words, since=since, until=until, include_undated=include_undated, ignore_case=ignore_case)
    own = engine.query_words(text, today=today, **filters)

    def reading(result_set) -> KeyTerms:
        return _key_terms_of(result_set, text, own, limit, phrases)

    result = engine.read_result_set(text, reading, today=today, **filters)
    if not result.index_empty:
        result.elapsed = time.perf_counter() - started
    return result


def _key_terms_of(result_set, text: str, own: dict, limit: int, phrases: bool) -> KeyTerms:
    """key_terms over a result set: any engine's matching articles (`matching()`: their count and
    stored fields) and the whole archive's document frequencies of body terms and phrases."""
    own_terms, own_forms = own["body"] | own["title"], own[WORD_FORM_FIELD]
    result = KeyTerms(query=text)
    holding: Counter = Counter()  # index term -> matching articles holding it
    written: dict[str, Counter] = defaultdict(Counter)  # index term -> its written forms
    result.all = result_set.doc_count()
    if result.all == 0:
        result.index_empty = True
        return result
    most = MAX_PHRASE_WORD_SHARE * result.all

    @lru_cache(maxsize=None)
    def common(term: str) -> bool:
        return result_set.doc_frequency(term) > most

    def counted(word: str, language: str) -> str | None:
        """The word's index term, or None for a word left out."""
        term = indexed_form(word, language)
        if not _countable(term) or term in own_terms or folded_form(word) in own_forms:
            return None
        return None if phrases and common(term) else term

    result.matching, articles = result_set.matching()
    for stored in articles:
        try:
            body = article_body(stored)
        except (UnreadableFile, OSError):
            continue  # the file went away since indexing; the index's counts still hold it
        language = stored.get("language", "")
        words = [(start, end, word, counted(word, language)) for start, end, word in word_spans(body)]
        found = _phrases(body, words) if phrases else [(term, word) for _, _, word, term in words if term]
        for term, form in found:
            written[term][form] += 1
        holding.update({term for term, _ in found})
    if phrases:

        def all_holding(term: str) -> int:
            return result_set.phrase_frequency(term.split(" "))

    else:
        all_holding = result_set.doc_frequency
    result.terms = _best(holding, written, all_holding, result.matching, result.all, limit)
    return result


def _phrases(body: str, words: list[tuple]) -> list[tuple[str, str]]:
    """(index terms, as written) of each two countable words in a row with only spaces between them."""
    return [
        (f"{first} {second}", f"{first_word} {second_word}")
        for (_, end, first_word, first), (start, _, second_word, second) in zip(words, words[1:])
        if first and second and body[end:start].isspace()
    ]


def _best(holding: Counter, written: dict, all_holding, matching: int, total: int, limit: int) -> list[KeyTerm]:
    """The `limit` best scored terms (0: all). Candidates go most held first: G² falls as the
    archive's count `b` rises from `a`, so G²(a, n, a, N) bounds the score of a term held by `a`,
    and once that is below the limit-th score found, the rest cannot enter (which spares counting
    phrases in the whole archive)."""
    least = min(MIN_ARTICLES, matching)
    best: list[tuple] = []  # a heap of (score, a, term, b) of the best so far, the worst first
    for term, a in sorted(holding.items(), key=lambda item: (-item[1], item[0])):
        if a < least:
            break
        if limit and len(best) == limit and log_likelihood(a, matching, a, total) < best[0][0]:
            break
        # The index's count may still hold deleted articles until its segments merge.
        b = min(max(all_holding(term), a), total)
        if b == total or a / matching <= (b - a) / (total - matching or 1):
            continue  # as common outside the result set: not characteristic
        entry = (log_likelihood(a, matching, b, total), a, _Reversed(term), b)
        if not limit or len(best) < limit:
            heapq.heappush(best, entry)
        elif entry[:3] > best[0][:3]:
            heapq.heapreplace(best, entry)
    ranked = sorted(best, reverse=True)
    return [KeyTerm(_most_written(written[key.text]), key.text, score, a, b) for score, a, key, b in ranked]


class _Reversed:
    """A term that sorts backwards, so that among equal scores the heap drops the alphabetically last."""

    def __init__(self, text: str):
        self.text = text

    def __lt__(self, other):
        return self.text > other.text

    def __eq__(self, other):
        return self.text == other.text


def _countable(term: str) -> bool:
    """Words of two letters or more, and not numbers (years, counts): what reads as a topic."""
    return len(term) > 1 and not term.isdigit()


def _most_written(forms: Counter) -> str:
    return max(forms.items(), key=lambda item: (item[1], item[0].islower(), item[0]))[0]
