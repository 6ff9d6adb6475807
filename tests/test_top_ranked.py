"""top_ranked.py (MaxScore for a frequent word, without numpy) against the whole evaluation it
stands for: the same documents, the same best ones in the same order, the same floats, the same
total and matched words; and through search(), the same hits, copies, totals and passages, with
date windows, sorting, offsets and limits.  Each check fails where a bound is too low."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from archsearch import searching
from archsearch.engines.whoosh import evaluation, top_ranked
from archsearch.engines.whoosh.evaluation import Evaluator
from archsearch.engines.whoosh.store import open_index
from archsearch.indexing import update_index
from archsearch.querying import parse_query
from test_evaluation import WORDS, index_dir, searcher  # noqa: F401 (fixtures: three segments, deletions in two)

LIMITS = [1, 2, 3, 7, 10, 50, 1000]


@pytest.fixture(autouse=True)
def every_word_ranked(monkeypatch):
    """top_ranked.py takes every query of its shape, and never gives up on scoring lazily."""
    monkeypatch.setattr(evaluation, "TOP_RANKED_POSTINGS", 0)
    monkeypatch.setattr(top_ranked, "FIRST_TERM_SHARE", 1)
    monkeypatch.setattr(top_ranked, "SCORED_SHARE", 1)


def both(searcher, query):
    """The evaluation top_ranked.py gives, and the whole one (every posting scored)."""
    ranked = Evaluator(searcher, arrays=False).evaluate(query)
    whole_evaluator = Evaluator(searcher, arrays=False)
    whole_evaluator._top_ranked = lambda query: None
    return ranked, whole_evaluator.evaluate(query)


def ranked_differently(searcher, ranked, whole) -> list[str]:
    """How two evaluations' best documents, their scores, totals and documents differ."""
    found = []
    for limit in LIMITS:
        best = ranked.scores.best(limit)
        if best != whole.scores.best(limit):
            found.append(f"best({limit}): {best} against {whole.scores.best(limit)}")
        elif [ranked.scores[docnum] for docnum in best] != [whole.scores[docnum] for docnum in best]:
            found.append(f"scores of best({limit})")
    if len(ranked.scores) != len(whole.scores):
        found.append(f"{len(ranked.scores)} documents against {len(whole.scores)}")
    documents = range(searcher.doc_count_all() + 2)
    if [docnum in ranked.scores for docnum in documents] != [docnum in whole.scores for docnum in documents]:
        found.append("documents held")
    return found


def differences(searcher, query) -> list[str]:
    """How the two evaluations of `query` differ (nothing, as they should)."""
    ranked, whole = both(searcher, query)
    assert isinstance(ranked.scores, top_ranked.TopRankedScores), repr(query)
    found = ranked_differently(searcher, ranked, whole)
    documents = range(searcher.doc_count_all() + 2)
    if [term for term, _ in ranked.term_documents] != [term for term, _ in whole.term_documents]:
        found.append("matched terms")
    for (term, ranked_documents), (_, whole_documents) in zip(ranked.term_documents, whole.term_documents):
        if [docnum in ranked_documents for docnum in documents] != [docnum in whole_documents for docnum in documents]:
            found.append(f"documents of {term}")
    return found


def stems(searcher, words: list[str]) -> list[str]:
    return [parse_query(word, searcher.schema).query.subqueries[1].text for word in words]


queries = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(lambda words: ("text", " OR ".join(words))),
    st.tuples(
        st.lists(st.tuples(st.sampled_from(["title", "body", "derived_title", "lead"]), st.sampled_from(WORDS),
                           st.sampled_from([1.0, 0.25, 2.0, 0.6])), min_size=1, max_size=4),
        st.sampled_from([1.0, 1.5, 0.3]),
    ).map(lambda terms_boost: ("terms", terms_boost)),
)


def made(searcher, drawn):
    kind, value = drawn
    if kind == "text":
        return parse_query(value, searcher.schema).query
    terms, boost = value
    made_terms = [wq.Term(field, stem, boost=term_boost)
                  for (field, _, term_boost), stem in zip(terms, stems(searcher, [word for _, word, _ in terms]))]
    return made_terms[0] if len(made_terms) == 1 and boost == 1.0 else wq.Or(made_terms, boost=boost)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=queries)
def test_the_best_documents_scores_and_totals_are_those_of_the_whole_evaluation(searcher, drawn):
    query = made(searcher, drawn)
    assert differences(searcher, query) == [], repr(query)


def test_a_bound_too_low_loses_documents_and_is_caught(searcher, monkeypatch):
    """The comparison above fails where a term's bound is not one: taken as half of BM25F's."""
    bound = top_ranked.TermPostings.bound
    monkeypatch.setattr(top_ranked.TermPostings, "bound", lambda term: bound(term) / 2)
    texts = ["minister", "council", "harbour", "peace OR oil", "talks OR vote"]
    assert any(differences(searcher, parse_query(text, searcher.schema).query) for text in texts)


def test_a_word_in_few_titles_is_ranked_from_its_titles(tmp_path, monkeypatch):
    """A word in every body and in a fifth of the titles: its best ten are found among the
    documents of its titles, the bodies' bound being below their scores; the others are not scored."""
    monkeypatch.setattr(top_ranked, "SCORED_SHARE", 1 / 4)
    rng = random.Random(5)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(300):
        title = " ".join(rng.choice(WORDS) for _ in range(4)) + (" president" if number % 5 == 0 else "")
        body = " ".join(rng.choice(WORDS) for _ in range(40)) + " the president spoke."
        (corpus / f"{number:03d}.txt").write_text(f"{title.capitalize()}\n\n{body.capitalize()}\n", encoding="utf-8")
    update_index(tmp_path / "index", [str(corpus)])
    scored = []
    made = top_ranked.TopRankedScores.__init__

    def counted(self, terms, boost, bases, whole, scored_within):
        made(self, terms, boost, bases, whole, lambda docnums: scored.extend(docnums) or scored_within(docnums))

    monkeypatch.setattr(top_ranked.TopRankedScores, "__init__", counted)
    with open_index(tmp_path / "index").searcher(weighting=searching.weighting()) as searcher:
        query = parse_query("president", searcher.schema).query
        assert differences(searcher, query) == []
        scored.clear()
        ranked, _ = both(searcher, query)
        assert len(ranked.scores.best(10)) == 10 and len(ranked.scores) == 300
        assert 10 <= len(scored) <= 60


searches = st.fixed_dictionaries({
    "text": st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(" OR ".join),
    "limit": st.sampled_from([0, 1, 3, 10]),
    "offset": st.sampled_from([0, 2, 9]),
    "sort": st.sampled_from(["relevance", "relevance", "newest", "oldest"]),
    "since": st.sampled_from([None, None, "2022-03-05"]),
    "collapse_copies": st.booleans(),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=searches)
def test_search_shows_the_same_hits_copies_and_totals(index_dir, options, monkeypatch):
    def shown():
        result = searching.search(index_dir, **options)
        return result.total, result.undated_left_out, [
            (hit.id, hit.score, hit.copies, hit.title_matches, hit.snippets) for hit in result.hits
        ]

    ranked = shown()
    with monkeypatch.context() as whole:
        whole.setattr(Evaluator, "_top_ranked", lambda self, query: None)
        assert ranked == shown()
