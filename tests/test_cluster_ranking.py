"""A cluster's hits found without ordering every match (engine._ranked_by_weight), and copy
groups found by their terms (documents.group_query): the same hits, scores and copies as the full
ordering by weight then identity, and as value ranges, on a corpus made of equal weights."""

import random

import pytest

from conftest import wire, write_corpus
from test_cluster import cluster_file, engine, require_xapian, start_shards

FILLER = [f"word{number}" for number in range(400)]


def tied_articles() -> dict[str, str]:
    """Articles of one length, each with the query's word once, so that most weigh the same, and
    exact copies of some of them (groups whose members weigh the same)."""
    chooser = random.Random(5)
    articles = {}
    for number in range(40):
        words = chooser.sample(FILLER, 20)
        words[chooser.randrange(20)] = "refugees"
        if number % 3 == 0:
            words[chooser.randrange(20)] = "border"
        articles[f"wire/{number:03}.txt"] = wire("2020-01-01", "KABUL, Jan 1. /TASS/.", "The " + " ".join(words) + ".")
    for number in range(0, 40, 7):
        articles[f"copies/{number:03}a.txt"] = articles[f"wire/{number:03}.txt"]
        articles[f"copies/{number:03}b.txt"] = articles[f"wire/{number:03}.txt"]
    return articles


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    from archsearch.engines.xapian.indexer import update_cluster

    require_xapian()
    folder = tmp_path_factory.mktemp("tied")
    shards = start_shards(folder / "shards", 3)
    location = cluster_file(folder, shards)
    update_cluster(location, [str(write_corpus(folder / "corpus", tied_articles()))])
    yield location
    for shard in shards:
        shard.stop()


def shown(result):
    return [(hit.id, round(hit.score, 9), sorted(hit.copies)) for hit in result.hits], result.total


@pytest.mark.parametrize("text", ["refugees", "refugees border", "refugees OR border", "word7 OR refugees"])
@pytest.mark.parametrize("offset, limit", [(0, 10), (0, 1), (3, 4), (10, 10), (30, 20), (0, 60)])
def test_hits_are_those_of_the_full_ordering(tied, monkeypatch, text, offset, limit):
    from archsearch.engines.xapian import engine as engine_module

    fast = engine(tied).search(text, offset=offset, limit=limit)
    monkeypatch.setattr(engine_module, "FAST_RANKING_MAX", 0)
    ordered = engine(tied).search(text, offset=offset, limit=limit)
    assert shown(fast) == shown(ordered)
    assert fast.hits or offset >= fast.total


def test_the_corpus_ties_across_a_page_s_end_and_within_copy_groups(tied):
    """What the test above relies on: equal weights straddle the tenth hit, and some groups'
    members weigh the same."""
    every = engine(tied).search("refugees", limit=0, collapse_copies=False)
    weights = [round(hit.score, 9) for hit in every.hits]
    assert weights[9] == weights[10]
    collapsed = engine(tied).search("refugees", limit=0)
    assert any(hit.copies for hit in collapsed.hits)


@pytest.mark.parametrize("text", ["refugees", "refugees OR border"])
def test_groups_found_by_their_terms_are_those_found_by_value_ranges(tied, monkeypatch, text):
    from archsearch.engines.xapian import documents

    by_terms = engine(tied).search(text, limit=30)
    similar_by_terms = engine(tied).similar("wire/000.txt")
    monkeypatch.setattr(documents, "GROUP_TERM_MARK", "XNOARTICLEHASTHIS")  # a cluster from before group terms
    by_values = engine(tied).search(text, limit=30)
    assert shown(by_terms) == shown(by_values)
    assert any(hit.copies for hit in by_terms.hits)
    similar_by_values = engine(tied).similar("wire/000.txt")
    assert shown(similar_by_values) == shown(similar_by_terms) and similar_by_terms.hits
    assert similar_by_values.explanation[-1] == similar_by_terms.explanation[-1] == "left out as copies: 2"


def test_every_article_has_its_group_term(tied):
    from archsearch.engines.xapian.documents import GROUP_TERM_MARK

    database = engine(tied).shards.database
    assert database.get_termfreq(GROUP_TERM_MARK) == database.get_doccount() == len(tied_articles())
