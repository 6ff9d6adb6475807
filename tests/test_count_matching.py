"""Evaluator.count_matching (the counts a search gives beside its hits: undated articles left out
by a date window, articles outside it, with some of the words, in any case) against the
documents the whole evaluation and Whoosh find, for generated queries: words, ORs, ANDs, NOTs,
date windows, every document, prefixes and phrases (left to the evaluation), deleted documents."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from archsearch.engines.whoosh.evaluation import DictOperations, Evaluator
from archsearch.querying import UNDATED, QuerySyntaxError, parse_query
from test_evaluation import index_dir, query_parts, searcher  # noqa: F401 (fixtures)


def counted(searcher, query) -> tuple[int, int, int, bool]:
    """(count_matching, the whole evaluation's count, Whoosh's, whether it was counted as sets)."""
    evaluator = Evaluator(searcher, arrays=False)
    sets = evaluator._documents_only(query) is not None
    whole = len(Evaluator(searcher, arrays=False).matching_documents(query))
    whoosh = len(set(searcher.search(query, limit=None, scored=False).docs()))
    return evaluator.count_matching(query), whole, whoosh, sets


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(query_parts, min_size=1, max_size=4), any_words=st.booleans(), undated=st.booleans(),
       window=st.sampled_from([None, ("2022-03-05", "2022-03-20"), ("2022-03-10", None)]))
def test_counts_are_those_of_the_whole_evaluation_and_whoosh(searcher, parts, any_words, undated, window):
    since, until = window or (None, None)
    try:
        parsed = parse_query(" ".join(parts), searcher.schema, any_words=any_words, since=since, until=until)
    except QuerySyntaxError:
        return
    query = wq.And([parsed.words, UNDATED]) if undated else parsed.query
    count, whole, whoosh, _ = counted(searcher, query)
    assert count == whole == whoosh, repr(query)


@pytest.mark.parametrize("text, options", [
    ("minister", {}),
    ("peace OR storm -oil", {}),
    ("talks vote", {"since": "2022-03-05", "until": "2022-03-20"}),
    ("NOT harbour", {}),
])
def test_words_windows_and_nots_are_counted_as_sets(searcher, text, options):
    parsed = parse_query(text, searcher.schema, **options)
    for query in (parsed.query, wq.And([parsed.words, UNDATED])):
        count, whole, whoosh, sets = counted(searcher, query)
        assert sets and count == whole == whoosh, repr(query)
    assert counted(searcher, parsed.query)[0] > 0


@pytest.mark.parametrize("text", ["peace", "peace talks", "peace OR storm"])
def test_a_dated_search_and_its_undated_count_are_found_segment_by_segment(searcher, monkeypatch, text):
    # Neither the ranking (its candidates within the window) nor the count of undated articles
    # it left out (the words' documents and `undated`'s: an AND of the words' AND) makes every
    # document of a word an index-wide number, nor unites them over the index.
    parsed = parse_query(text, searcher.schema, since="2022-03-05", until="2022-03-20")
    undated = wq.And([parsed.words, UNDATED])
    expected = [len(Evaluator(searcher, arrays=False).matching_documents(query)) for query in (parsed.query, undated)]
    evaluator = Evaluator(searcher, arrays=False)
    asked = []
    monkeypatch.setattr(DictOperations, "documents_of", lambda self, fieldname, text: asked.append(text))
    monkeypatch.setattr(DictOperations, "union_documents", staticmethod(lambda parts: asked.append(parts)))
    assert [len(evaluator.evaluate(parsed.query).scores), evaluator.count_matching(undated)] == expected
    assert all(expected) and not asked
