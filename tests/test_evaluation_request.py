"""What a request process's evaluation spares itself (issue 15, session 8), the results unchanged:
the title lengths proximity needs, from the `title` field's length bytes where they tell them,
else from the postings files, not from the stored titles."""

import os
import random
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.util.numeric import byte_to_length, length_to_byte

from whoosh.query import Term

from archsearch.analysis import normalise, words
from archsearch.engines.whoosh import arrays as arrays_module
from archsearch.engines.whoosh import evaluation, postings_arrays, segments
from archsearch.engines.whoosh.evaluation import Evaluator
from archsearch.engines.whoosh.postings_arrays import listed_postings
from archsearch.engines.whoosh.segments import add_missing_sidecars
from archsearch.engines.whoosh.store import open_index
from archsearch.indexing import update_index
from archsearch.searching import search, weighting

# Words with marks (a decomposed "Zürcher", Hindi) and unspaced scripts (pairs) among plain ones.
WORDS = "ceasefire talks syria border Zu\u0308rcher नमस्ते 北京大学 U.S 3.5 vote".split()


def title_of(rng: random.Random, length: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(length))


def write(corpus, rng: random.Random, numbers) -> None:
    for number in numbers:
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
        (corpus / f"{number:03d}.txt").write_text(f"{title_of(rng, 1 + number % 30)}\n\n{body}\n", encoding="utf-8")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """A segment of 90 articles (some deleted), and one merged from four commits of 10."""
    rng = random.Random(20261130)
    corpus = tmp_path_factory.mktemp("corpus")
    index_dir = tmp_path_factory.mktemp("index")
    write(corpus, rng, range(90))
    update_index(index_dir, [str(corpus)])
    for commit in range(4):
        write(corpus, rng, range(90 + 10 * commit, 100 + 10 * commit))
        if commit == 3:
            for number in range(0, 90, 7):
                (corpus / f"{number:03d}.txt").unlink()
        update_index(index_dir, [str(corpus)])
    return index_dir


@pytest.fixture(scope="module")
def searcher(index_dir):
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        assert len(list(searcher.reader().leaf_readers())) == 2
        yield searcher


def stored_title_length(searcher, docnum: int) -> int:
    """How proximity counted a title's words before postings files kept them."""
    if not searcher.reader().doc_field_length(docnum, "title", 0):
        return 0
    return len(words(normalise(searcher.stored_fields(docnum).get("title") or "")))


def evaluator_of(searcher, arrays: bool) -> Evaluator:
    evaluator = Evaluator(searcher, arrays=arrays)
    evaluator.evaluate(Term("body", "vote"))  # its operations made (numpy's with arrays)
    return evaluator


@given(st.integers(min_value=0, max_value=200_000))
def test_a_length_byte_tells_a_length_only_where_no_other_has_it(length):
    told = evaluation._LENGTH_OF_BYTE.get(length_to_byte(length))
    assert told == length or told is None
    assert told is not None or byte_to_length(length_to_byte(length)) != length or length > 10


@pytest.mark.parametrize("arrays", [True, False], ids=["arrays", "dicts"])
def test_title_lengths_are_the_stored_titles_words_without_reading_them(searcher, monkeypatch, arrays):
    """From the length bytes or the postings files' title lengths, whatever the segment (merged,
    with deletions): no stored title read (they were, for titles of more than 10 words)."""
    expected = [stored_title_length(searcher, docnum) for docnum in range(searcher.doc_count_all())]
    assert min(set(expected) - {0}) <= 10 < max(expected)  # from the length bytes, and from the files
    monkeypatch.setattr(searcher, "stored_fields", lambda docnum: pytest.fail("a stored title read"))
    evaluator = evaluator_of(searcher, arrays)
    assert [evaluator._title_length(docnum) for docnum in range(searcher.doc_count_all())] == expected


@pytest.mark.parametrize("arrays", [True, False], ids=["arrays", "dicts"])
def test_without_title_lengths_in_the_files_the_stored_titles_are_counted(searcher, monkeypatch, arrays):
    """A postings file written before it kept the title lengths (or damaged): counted as before."""
    monkeypatch.setattr(postings_arrays, "TITLE_WORDS_KEY", b"\0no such key")
    monkeypatch.setattr(arrays_module, "TITLE_WORDS_KEY", b"\0no such key")
    evaluator = evaluator_of(searcher, arrays)
    for docnum in range(searcher.doc_count_all()):
        assert evaluator._title_length(docnum) == stored_title_length(searcher, docnum)


def test_title_lengths_written_for_an_older_segment_are_the_same(tmp_path):
    """A segment's postings file written after it (segments.add_missing_sidecars, from the
    segment's own postings: a segment with Whoosh's blocks) keeps the same title lengths as the one
    written with it."""
    copy, corpus = tmp_path / "index", tmp_path / "corpus"
    corpus.mkdir()
    rng = random.Random(20261203)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "FILE_ONLY_FIELDS", frozenset())  # as written then: with Whoosh's blocks
        for commit in range(2):
            write(corpus, rng, range(40 * commit, 40 * commit + 40))
            update_index(copy, [str(corpus)])
    ix = open_index(copy)
    kept = ix._segments()
    assert len(kept) == 2 and not any(map(postings_arrays.file_only_fields, kept))
    before = [listed_postings(leaf).numbers(postings_arrays.TITLE_WORDS_KEY) for leaf, _ in ix.reader().leaf_readers()]
    for segment in kept:
        os.remove(copy / postings_arrays.sidecar_name(segment))
    add_missing_sidecars(ix, kept)
    after = [listed_postings(leaf).numbers(postings_arrays.TITLE_WORDS_KEY) for leaf, _ in open_index(copy).reader().leaf_readers()]
    assert all(before) and after == before


def test_titles_of_up_to_ten_words_are_not_read_without_title_lengths_in_the_files(searcher, monkeypatch):
    monkeypatch.setattr(Evaluator, "_segment_title_words", lambda self, number: None)
    evaluator = Evaluator(searcher)
    read = []
    stored_fields = searcher.stored_fields
    monkeypatch.setattr(searcher, "stored_fields", lambda docnum: read.append(docnum) or stored_fields(docnum))
    short = [docnum for docnum in range(searcher.doc_count_all())
             if 0 < (searcher.reader().doc_field_length(docnum, "title", 0) or 0) <= 10]
    assert len(short) >= 20
    for docnum in short:
        evaluator._title_length(docnum)
    assert read == []


@pytest.mark.parametrize("text", ["syria cease*", "border talk*", "ceasefire zu\u0308rch*", "北京 vote*"])
def test_proximity_of_prefix_words_ranks_as_the_stored_titles_say(index_dir, monkeypatch, text):
    """search() with the title lengths from the length bytes, and with every title counted."""
    found = search(index_dir, text, limit=50, with_snippets=False, collapse_copies=False)
    counted = evaluation.Evaluator._title_length

    def from_stored(self, docnum):
        return stored_title_length(self.searcher, docnum)

    monkeypatch.setattr(evaluation.Evaluator, "_title_length", from_stored)
    again = search(index_dir, text, limit=50, with_snippets=False, collapse_copies=False)
    assert counted is not from_stored
    assert found.total == again.total and found.total > 0
    assert [(hit.path, hit.score) for hit in found.hits] == [(hit.path, hit.score) for hit in again.hits]


def test_a_warmed_index_s_requests_read_no_field_lengths(index_dir, monkeypatch):
    """server.warm keeps every scored field's length bytes and BM25F length parts with the reader
    its requests inherit (the warming search read only its word's fields'): a search of words in
    titles, bodies and derived titles then reads no lengths column."""
    from whoosh.codec import whoosh3

    from archsearch import server
    from archsearch.engines.whoosh import store

    monkeypatch.setattr(store, "_open_searchers", None)
    store.keep_searchers_open()
    try:
        server.warm(index_dir.resolve())
        read = []
        cached_reader = whoosh3.W3PerDocReader._cached_reader
        monkeypatch.setattr(whoosh3.W3PerDocReader, "_cached_reader", lambda self, key, column:
                            read.append(key) or cached_reader(self, key, column))
        kept = search(index_dir.resolve(), "border vote*", with_snippets=False, collapse_copies=False)
        assert kept.total and not [key for key in read if key.startswith("_") and key.endswith("_len")]
    finally:
        store.close_kept_searchers()
    assert search(index_dir, "border vote*", with_snippets=False, collapse_copies=False).hits == kept.hits


def test_postings_files_without_title_lengths_are_written_again_at_the_next_change(tmp_path, monkeypatch):
    """An index whose postings files were written before they kept the title lengths gets them
    at its next `index` run that changes something (as it got the files themselves), once."""
    rng = random.Random(7)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    write(corpus, rng, range(40))
    with monkeypatch.context() as patch:
        patch.setattr(postings_arrays.SidecarWriter, "_add_title_words", lambda self, count: None)
        patch.setattr(segments, "FILE_ONLY_FIELDS", frozenset())  # as written then: with Whoosh's blocks
        update_index(index_dir, [str(corpus)])

    def title_words():
        with open_index(index_dir).searcher() as searcher:
            return [listed_postings(leaf).numbers(postings_arrays.TITLE_WORDS_KEY) for leaf, _ in searcher.reader().leaf_readers()]

    assert title_words() == [None]
    update_index(index_dir, [str(corpus)])  # nothing changed: nothing written
    assert title_words() == [None]
    write(corpus, rng, range(40, 41))
    update_index(index_dir, [str(corpus)])
    found = title_words()
    assert len(found) == 2 and all(found)
    with open_index(index_dir).searcher() as searcher:
        first = list(searcher.reader().leaf_readers())[0][0]
        assert list(found[0]) == [stored_title_length(searcher, docnum) for docnum in range(first.doc_count_all())]



WHOLE_OCCURRENCES = evaluation.Evaluator._occurrences


def occurrences_of_every_field(self, node, candidates, wanted=None):
    """Evaluator._occurrences as closeness read them before: the title's too, whatever is wanted."""
    return WHOLE_OCCURRENCES(self, node, candidates)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(["ceasefire", "talks", "syria", "border", "vote", "talk*", "syr*", "b*",
                                       '"ceasefire talks"', '"syria border"', "zu\u0308rch*"]), min_size=2, max_size=4))
def test_closeness_reads_no_title_positions_and_ranks_alike(index_dir, words):
    """Proximity's closeness measures the body alone: the operands' title and derived-title words'
    positions are not read (fails where they are), and the ranking is the same as when they were."""
    text = " ".join(words)
    read = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation.Evaluator, "_occurrences", occurrences_of_every_field)
        expected = search(index_dir, text, limit=30, with_snippets=False, collapse_copies=False)
    whole = arrays_module.ArrayOperations.word_positions
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(arrays_module.ArrayOperations, "word_positions",
                      lambda self, fieldname, *args: read.append(fieldname) or whole(self, fieldname, *args))
        found = search(index_dir, text, limit=30, with_snippets=False, collapse_copies=False)
    assert found.total == expected.total
    assert [(hit.path, hit.score) for hit in found.hits] == [(hit.path, hit.score) for hit in expected.hits]
    assert not {"title", "derived_title"} & set(read), read
