"""Searchers kept open between queries (the resident server's mode) never serve a stale index."""

import pytest

from archsearch.engines.whoosh import store
from archsearch.indexing import update_index
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
