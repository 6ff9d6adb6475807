"""Near-identical articles: bodies too short to compare are never copies (issue 14)."""

import json

from archsearch.nearduplicates import (
    EMPTY, MIN_FILLED_BUCKETS, SKETCH_SIZE, _densify, band_keys, comparable, resemblance, sketch,
)
from archsearch.searching import search
from conftest import build_index

STORY = (
    "Floods swept through the river valley on Monday, cutting roads to three villages and forcing"
    " hundreds of families to leave their homes, officials said, as rescue teams waited for the rain to ease."
)


def test_a_body_too_short_to_compare_has_no_sketch():
    for body in ("-1", "View Comments", "Share this article on social media now please"):
        assert not comparable(sketch(body))
        assert band_keys(sketch(body)) == []
        assert resemblance(sketch(body), sketch(body)) == 0.0


def test_a_story_is_compared():
    assert comparable(sketch(STORY))
    assert len(band_keys(sketch(STORY))) == SKETCH_SIZE // 4
    assert resemblance(sketch(STORY), sketch(STORY + " More later.")) >= 0.8


def test_short_sketches_already_indexed_are_not_compared_either():
    # Indexes built before the minimum hold short bodies' sketches densified from a few buckets.
    few = [EMPTY] * SKETCH_SIZE
    for bucket in range(MIN_FILLED_BUCKETS - 1):
        few[bucket * 3] = 1000 + bucket
    old = _densify(few)
    assert EMPTY not in old
    assert not comparable(old)
    assert band_keys(old) == []
    assert resemblance(old, old) == 0.0


def test_articles_with_short_bodies_are_hits_of_their_own(tmp_path):
    records = [
        {"title": "Minister resigns over budget", "body": "View Comments"},
        {"title": "Budget vote delayed again", "body": "View Comments"},
        {"title": "Budget talks collapse", "body": "-1"},
        {"title": "Budget figures", "body": "-1"},
    ]
    index = build_index(tmp_path, {"feed.jsonl": "".join(json.dumps(record) + "\n" for record in records)})
    result = search(index, "budget")
    assert result.total == 4
    assert len(result.hits) == 4
    assert all(hit.copies == () for hit in result.hits)
