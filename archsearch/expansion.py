"""Relevance feedback (`query --expand`): the query widened with the key terms of its best hits.

Terms are chosen as Terrier's default query expansion chooses them, by Amati's Bo1 (divergence
from randomness, Bose-Einstein): in the FEEDBACK_DOCUMENTS best hits, a term weighs

    w(t) = tf_x * log2((1 + P_n) / P_n) + log2(1 + P_n),  P_n = F / N

with tf_x its occurrences in those articles' bodies, F its occurrences in the whole archive and
N the number of articles: a term far more frequent in the best hits than the archive would
predict weighs most, and a term common everywhere ("the", "said") next to nothing. The
FEEDBACK_TERMS heaviest (found in at least two of the articles, not already words of the query)
join the query as RM3 interpolates: the user's words keep ORIGINAL_WEIGHT of the weight, shared
equally, the new terms share the rest in proportion to w(t). Articles with any of the words or
terms match, within the query's filters (dates, fields, NOT words, languages), which are kept.
"""

import math
from collections import Counter

from whoosh.query import And, Or, Term

from archsearch.formats import UnreadableFile
from archsearch.engines.whoosh.store import article_body
from archsearch.records import Record

FEEDBACK_DOCUMENTS = 10
FEEDBACK_TERMS = 10
ORIGINAL_WEIGHT = 0.5
# A term of one feedback article alone says more about that article than about the topic.
MIN_FEEDBACK_DOCUMENTS = 2
# The fields an expansion term is looked for in, as the user's plain words are.
_FIELDS = ("title", "body")


class ExpansionTerm(Record, frozen=True):
    term: str  # as the body field indexes it (a stem)
    weight: float  # its share of the expanded query's weight


def widened(searcher, docnums, query) -> tuple[object, list[ExpansionTerm]]:
    """(`query` widened with the key terms of the articles `docnums`, its best hits; those terms),
    or (None, []) when they have none.  For both engines: `searcher` is Whoosh's, or what reads a
    cluster as one (stored_fields, doc_count, frequency and the schema's body analyzer)."""
    from archsearch.searching import _words_and_filters

    words, filters = _words_and_filters(query)
    own_terms = {
        term.decode("utf-8") if isinstance(term, bytes) else term
        for word in words for fieldname, term in word.iter_all_terms() if fieldname in _FIELDS
    }
    terms = expansion_terms(searcher, docnums, own_terms)
    if not terms:
        return None, []
    return expanded_query(words, filters, terms), terms


def expansion_terms(searcher, docnums, query_terms) -> list[ExpansionTerm]:
    """The FEEDBACK_TERMS key terms of the articles `docnums` (the best hits), by Bo1, leaving out
    `query_terms` (the query's own indexed words)."""
    occurrences = Counter()
    documents = Counter()
    analyzer = searcher.schema["body"].analyzer
    for docnum in docnums:
        stored = searcher.stored_fields(docnum)
        try:
            body = article_body(stored, searcher, docnum)
        except (UnreadableFile, OSError):
            continue  # the file went away since indexing
        terms = Counter(token.text for token in analyzer(body, language=stored.get("language", "")))
        occurrences.update(terms)
        documents.update(terms.keys())
    articles = max(searcher.doc_count(), 1)
    weights = {}
    for term, in_feedback in occurrences.items():
        if documents[term] < MIN_FEEDBACK_DOCUMENTS or term in query_terms or not any(c.isalnum() for c in term):
            continue
        expected = max(searcher.frequency("body", term), in_feedback) / articles
        weights[term] = in_feedback * math.log2((1 + expected) / expected) + math.log2(1 + expected)
    best = sorted(weights, key=lambda term: (-weights[term], term))[:FEEDBACK_TERMS]
    total = sum(weights[term] for term in best)
    return [ExpansionTerm(term, (1 - ORIGINAL_WEIGHT) * weights[term] / total) for term in best]


def expanded_query(words: list, filters: list, terms: list[ExpansionTerm]):
    """The user's `words` (each a query part) sharing ORIGINAL_WEIGHT, and the expansion terms
    their weights, any of them matching, within every one of `filters`."""
    parts = [word.with_boost(word.boost * ORIGINAL_WEIGHT / len(words)) for word in words]
    parts += [Or([Term(field, found.term) for field in _FIELDS], boost=found.weight) for found in terms]
    widened = Or(parts)
    return And([widened, *filters]) if filters else widened
