"""What a request process's evaluation spares itself (issue 15, session 8), the results unchanged:
the title lengths proximity needs read from the `title` field's length bytes where they tell them."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh.util.numeric import byte_to_length, length_to_byte

from archsearch.analysis import normalise, words
from archsearch.engines.whoosh import evaluation
from archsearch.engines.whoosh.evaluation import Evaluator
from archsearch.engines.whoosh.store import open_index
from archsearch.indexing import update_index
from archsearch.searching import search, weighting

# Words with marks (a decomposed "Zürcher", Hindi) and unspaced scripts (pairs) among plain ones.
WORDS = "ceasefire talks syria border Zu\u0308rcher नमस्ते 北京大学 U.S 3.5 vote".split()


def title_of(rng: random.Random, length: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(length))


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    rng = random.Random(20261130)
    corpus = tmp_path_factory.mktemp("corpus")
    for number in range(90):
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
        (corpus / f"{number:03d}.txt").write_text(f"{title_of(rng, 1 + number % 30)}\n\n{body}\n", encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("index")
    update_index(index_dir, [str(corpus)])
    return index_dir


@pytest.fixture(scope="module")
def searcher(index_dir):
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        yield searcher


@given(st.integers(min_value=0, max_value=200_000))
def test_a_length_byte_tells_a_length_only_where_no_other_has_it(length):
    told = evaluation._LENGTH_OF_BYTE.get(length_to_byte(length))
    assert told == length or told is None
    assert told is not None or byte_to_length(length_to_byte(length)) != length or length > 10


def test_title_lengths_are_the_stored_titles_words(searcher):
    evaluator = Evaluator(searcher)
    lengths = set()
    for docnum in range(searcher.doc_count_all()):
        title = searcher.stored_fields(docnum).get("title") or ""
        expected = len(words(normalise(title))) if searcher.reader().doc_field_length(docnum, "title", 0) else 0
        assert evaluator._title_length(docnum) == expected
        lengths.add(expected)
    assert min(lengths - {0}) <= 10 < max(lengths)  # from the length bytes, and counted


def test_titles_of_up_to_ten_words_are_not_read(searcher, monkeypatch):
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
        if not self.searcher.reader().doc_field_length(docnum, "title", 0):
            return 0
        return len(words(normalise(self.searcher.stored_fields(docnum).get("title") or "")))

    monkeypatch.setattr(evaluation.Evaluator, "_title_length", from_stored)
    again = search(index_dir, text, limit=50, with_snippets=False, collapse_copies=False)
    assert counted is not from_stored
    assert found.total == again.total and found.total > 0
    assert [(hit.path, hit.score) for hit in found.hits] == [(hit.path, hit.score) for hit in again.hits]
