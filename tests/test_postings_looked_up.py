"""Words read from the segments' postings without every posting made into lists (dicts):
an AND's words read as documents only (DictOperations.documents_of) or its candidates found
segment by segment (Evaluator._candidates_by_segment), their candidates' weights and positions
looked up one by one, and two-word phrases found segment by segment
(DictOperations.two_word_phrase).  The same floats, to the bit, in the same order, the same
documents, matched words and proximity as reading every posting of them, for generated queries
(words, ORs, ANDs, phrases, prefixes, date windows, NOTs) over segments with deleted documents,
and the same hits through search()."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from archsearch import searching
from archsearch.engines.whoosh import evaluation, postings_arrays
from archsearch.engines.whoosh.evaluation import DictOperations, Evaluator
from archsearch.querying import QuerySyntaxError, parse_query
from test_evaluation import WORDS, index_dir, query_parts, searcher  # noqa: F401 (fixtures)


def every_posting_read(self, fieldname, text):
    """documents_of as it was: every posting of the word read, weights and positions."""
    return self.postings(fieldname, text)[0]


def as_before(patched):
    """Every posting of a word read, an AND's candidates from them, and phrases found from them."""
    patched.setattr(DictOperations, "documents_of", every_posting_read)
    patched.setattr(Evaluator, "_candidates_by_segment", lambda self, others, date_filters=(): None)
    patched.setattr(DictOperations, "two_word_phrase", lambda self, fieldname, words, decode: None)


@pytest.fixture
def looked_up_always(monkeypatch):
    """Candidates looked up one by one however many they are (and no word ranked by top_ranked.py)."""
    monkeypatch.setattr(evaluation, "_LOOKED_UP", 0)
    monkeypatch.setattr(evaluation, "TOP_RANKED_POSTINGS", 10**9)


def evaluations(searcher, query, monkeypatch):
    """(evaluator, evaluation) with the candidates looked up, and with every posting read."""
    looked_up = Evaluator(searcher, arrays=False)
    found = looked_up.evaluate(query)
    with monkeypatch.context() as patched:
        as_before(patched)
        read_whole = Evaluator(searcher, arrays=False)
        return (looked_up, found), (read_whole, read_whole.evaluate(query))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(query_parts, min_size=2, max_size=4), any_words=st.booleans(),
       sidecar_postings=st.sampled_from([postings_arrays.SIDECAR_POSTINGS, 148, 150, 153, 10**9]),
       looked_up=st.sampled_from([0, 1, 3, 8]))
def test_the_same_floats_documents_and_matched_words(searcher, parts, any_words, sidecar_postings, looked_up, monkeypatch,
                                                     looked_up_always):
    # Read from the postings files only where a segment holds a word this often (the first
    # segment's bodies hold each word 147-154 times): in a segment, one word of a phrase may be
    # read from its file and the other from Whoosh's blocks.  Candidates looked up however many
    # they are (0), or where they are few beside the word's postings, and a segment's few
    # postings tested against its candidates.
    monkeypatch.setattr(postings_arrays, "SIDECAR_POSTINGS", sidecar_postings)
    monkeypatch.setattr(evaluation, "_LOOKED_UP", looked_up)
    try:
        query = parse_query(" ".join(parts), searcher.schema, any_words=any_words).query
    except QuerySyntaxError:
        return
    (looked_up_evaluator, looked_up), (read_whole_evaluator, read_whole) = evaluations(searcher, query, monkeypatch)
    assert (looked_up is None) == (read_whole is None)
    if looked_up is None:
        return
    assert list(looked_up.scores.items()) == list(read_whole.scores.items()), repr(query)
    documents = range(searcher.doc_count_all())
    assert [looked_up.matched_terms(docnum) for docnum in documents] == [read_whole.matched_terms(docnum) for docnum in documents]
    words = [sub for sub in query.subqueries if type(sub) is wq.Or] if type(query) is wq.And else []
    if len(words) >= 2:  # where its words stand in its best documents (proximity)
        best = set(looked_up.scores.best(30))
        assert looked_up_evaluator.closeness(words, best) == read_whole_evaluator.closeness(words, best)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(WORDS), min_size=2, max_size=3), since=st.sampled_from([None, "2022-03-08"]),
       phrase=st.booleans())
def test_search_gives_the_same_hits(index_dir, words, since, phrase, monkeypatch, looked_up_always):
    text = f'"{words[0]} {words[1]}" {" ".join(words[2:])}' if phrase else " ".join(words)

    def shown():
        result = searching.search(index_dir, text, since=since, limit=10)
        return result.total, result.undated_left_out, [(hit.id, hit.score, hit.title_matches, hit.snippets) for hit in result.hits]

    looked_up = shown()
    with monkeypatch.context() as patched:
        as_before(patched)
        assert looked_up == shown()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.lists(st.sampled_from(WORDS + ["nosuchword"]), min_size=1, max_size=3), min_size=1, max_size=4),
       fields=st.lists(st.sampled_from(["title", "body", "derived_title"]), min_size=1, max_size=3, unique=True),
       windows=st.lists(st.sampled_from(["date:2022-03-01..2022-03-14", "date:2022-03-10..", "date:..2022-03-03"]), max_size=2))
def test_an_ands_candidates_by_segment_are_its_words_documents_in_common(searcher, parts, fields, windows):
    # Each part an OR of its words in some fields: the parts' order by their counts of documents
    # (which orders the sums of their scores), and their documents in common within the date
    # windows (tested segment by segment; the third segment has no date column).
    def term(field, word):  # as the field indexes the word (its stem)
        return wq.Term(field, next(iter(searcher.schema[field].analyzer(word))).text)

    others = [wq.Or([term(field, word) for word in words for field in fields]) for words in parts]
    others = [node.subqueries[0] if len(node.subqueries) == 1 else node for node in others]
    date_filters = [parse_query(window, searcher.schema).query for window in windows]
    found = Evaluator(searcher, arrays=False)._candidates_by_segment(others, date_filters)
    whole = Evaluator(searcher, arrays=False)
    documents = [whole._documents(node) for node in others]
    counts = list(map(len, documents))
    order, candidates = found
    assert order == sorted(range(len(others)), key=counts.__getitem__)
    expected = DictOperations.common_documents(documents)
    for date_filter in date_filters:
        low, high = whole._column_range(date_filter)
        expected = [docnum for docnum in expected if low <= whole.sortable_values("date")[docnum] <= high]
    assert candidates == expected


def test_an_ands_parts_whose_counts_may_be_in_either_order_are_counted(searcher, monkeypatch):
    # `storm` in bodies, and in bodies or titles: the second's count lies between its largest
    # word's (the first's) and their sum, so its words' documents are united to count them;
    # not where the ranges tell the order.
    united = []
    monkeypatch.setattr(evaluation, "_united_count", lambda parts: united.append(parts) or 10**6)
    evaluator = Evaluator(searcher, arrays=False)
    storm = wq.Term("body", "storm")
    assert evaluator._candidates_by_segment([storm, wq.Term("title", "storm")])[0] == [1, 0]
    assert not united
    either = wq.Or([wq.Term("body", "storm"), wq.Term("title", "storm")])
    assert evaluator._candidates_by_segment([either, storm])[0] == [1, 0]
    assert len(united) == 1
