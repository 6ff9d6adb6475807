"""Searchers kept open between queries (the resident server's mode) never serve a stale index, and
the languages recorded for a generation of the index are never those of another."""

import marshal

import pytest

from archsearch.engines.whoosh import store
from archsearch.indexing import update_index
from archsearch.records import replace
from archsearch.searching import search, weighting


@pytest.fixture
def searchers_kept_open(monkeypatch):
    monkeypatch.setattr(store, "_open_searchers", None)
    store.keep_searchers_open()
    yield
    for searcher in store.kept_searchers().values():
        searcher.close()


def test_a_kept_searcher_is_reused_until_the_index_changes(seeded_index, seeds_copy, searchers_kept_open):
    with store.index_searcher(seeded_index, weighting()) as first:
        pass
    with store.index_searcher(seeded_index, weighting()) as second:
        assert second is first
    assert search(seeded_index, "zebrafish").total == 0

    (seeds_copy / "new.txt").write_text(
        " date 2023-05-01 OSLO, May 1. /NTB/. Zebrafish escape from the aquarium.\n", encoding="utf-8"
    )
    update_index(seeded_index, [str(seeds_copy)])
    assert search(seeded_index, "zebrafish").total == 1
    with store.index_searcher(seeded_index, weighting()) as third:
        assert third is not first


def test_a_searcher_with_other_weighting_is_not_reused(seeded_index, searchers_kept_open):
    from whoosh.scoring import BM25F

    with store.index_searcher(seeded_index, weighting()) as first:
        pass
    with store.index_searcher(seeded_index, BM25F(K1=2.0)) as other:
        assert other is not first and other.weighting.K1 == 2.0


def test_searchers_are_closed_after_use_unless_kept(seeded_index):
    assert store._open_searchers is None
    with store.index_searcher(seeded_index) as searcher:
        pass
    assert searcher.is_closed


def answer(index, text):
    """What a search finds, its time left out."""
    return replace(search(index, text), elapsed=0.0)


@pytest.fixture
def languages_read(monkeypatch):
    """The index's languages each time they were read from its segments."""
    from archsearch.analysis import alternatives

    reads = []
    read = alternatives._read_languages
    monkeypatch.setattr(alternatives, "_read_languages", lambda reader: reads.append(read(reader)) or reads[-1])
    return reads


def test_the_languages_are_read_once_per_generation_of_the_index(seeded_index, seeds_copy, languages_read):
    from archsearch.analysis.alternatives import index_languages

    first = answer(seeded_index, "fighting")
    assert answer(seeded_index, "fighting") == first and first.total
    assert len(languages_read) == 1

    (seeds_copy / "new.txt").write_text(
        " date 2023-05-01 OSLO, May 1. /NTB/. Zebrafish escape from the aquarium.\n", encoding="utf-8"
    )
    update_index(seeded_index, [str(seeds_copy)])
    search(seeded_index, "zebrafish")
    search(seeded_index, "zebrafish")
    assert len(languages_read) == 2
    with store.index_searcher(seeded_index) as searcher:
        recorded = index_languages(searcher)
    assert recorded == languages_read[-1] and len(languages_read) == 2


def test_an_index_swapped_in_at_the_same_generation_has_its_languages_read(tmp_path, languages_read):
    from conftest import build_index, wire

    index = build_index(tmp_path / "first", {"a.txt": wire("2021-01-01", "OSLO, May 1. /NTB/.", "Fjords and harbours.")})
    search(index, "fjord")
    other = build_index(tmp_path / "second", {"b.txt": wire("2021-01-02", "OSLO, May 2. /NTB/.", "Harbours only.")})
    index.rename(tmp_path / "first-old")
    other.rename(index)
    assert search(index, "harbour").total == 1
    assert len(languages_read) == 2


@pytest.mark.parametrize("record", ["garbage", "unwritable"])
def test_a_damaged_or_unwritable_record_of_languages_only_means_reading_them(
    seeded_index, languages_read, monkeypatch, tmp_path, record
):
    first = answer(seeded_index, "fighting")
    if record == "garbage":
        for path in (tmp_path / "state" / "archsearch").glob("languages-*.marshal"):
            recorded = marshal.loads(path.read_bytes())
            path.write_bytes(marshal.dumps({"generation": recorded["generation"], "languages": "en"}))
    else:
        (tmp_path / "not a folder").write_text("")
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "not a folder"))
    assert answer(seeded_index, "fighting") == first
    assert answer(seeded_index, "fighting") == first
    assert len(languages_read) == (2 if record == "garbage" else 3)
