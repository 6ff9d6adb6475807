"""What a query reads for the hits it shows: each hit's file once, its stored fields once, the
groups of copies (searching.make_hit, _group_copies; nearduplicates.copies_of)."""

import pytest

import archsearch.formats
from archsearch.engines.whoosh import evaluation, fuzzy, prefix_postings
from archsearch.searching import search

from conftest import build_index, wire

WORDS = "talks tall tango taxes tea tiger timber tonic tower trade".split()


@pytest.fixture
def prefix_index(tmp_path, monkeypatch):
    """Articles holding many words of `t`, the first words in more of them, with prefix entries
    for it (as test_prefix_postings)."""
    monkeypatch.setattr(prefix_postings, "WORDS_LISTED", 3)
    monkeypatch.setattr(prefix_postings, "TOP_WORDS", 4)
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", 3)
    articles = {
        f"{number}.txt": wire(f"2022-03-{number + 1:02}", "KABUL, March 1. /AP/.", " ".join(WORDS[: 10 - number]) + ".")
        for number in range(8)
    }
    return build_index(tmp_path, articles)


def test_a_prefix_hit_s_file_is_read_once(prefix_index, monkeypatch):
    """A listed prefix's words in a hit are found in the body its passages read, not in a second
    reading of its file."""
    read = []
    real_read_body = archsearch.formats.read_body
    monkeypatch.setattr(archsearch.formats, "read_body", lambda path: read.append(path) or real_read_body(path))
    words_found = []
    real_words_in = evaluation._PrefixWords.words_in
    monkeypatch.setattr(evaluation._PrefixWords, "words_in", lambda *args: words_found.append(args) or real_words_in(*args))
    result = search(prefix_index, "t*", collapse_copies=False)
    assert len(result.hits) == 8 and words_found  # the prefix was evaluated from its entries
    assert sorted(read) == sorted(hit.path for hit in result.hits)
    for hit in result.hits:
        marked = {snippet.text[a:b].lower() for snippet in hit.snippets for a, b in snippet.matches}
        assert marked == set(WORDS[: 10 - int(hit.id.removesuffix(".txt"))])
