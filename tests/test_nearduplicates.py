"""Near-identical articles: bodies too short to compare are never copies (issue 14)."""

import json
import sys

import numpy as np

from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.nearduplicates import (
    EMPTY, MIN_FILLED_BUCKETS, SKETCH_SIZE, _densify, band_keys, comparable, resemblance, sketch, sketches,
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


def sketch_one_shingle_at_a_time(text: str) -> tuple[int, ...]:
    """sketch() as it was computed before numpy: a set of hash(tuple) per shingle, sorted, each
    bucket's first value its minimum."""
    import re
    import zlib

    hashes = list(map(zlib.crc32, map(str.encode, re.findall(r"\w+", text.lower()))))
    if len(hashes) < 5:
        values = {hash(tuple(hashes)) & 0xFFFFFFFF} if hashes else set()
    else:
        values = {value & 0xFFFFFFFF for value in map(hash, zip(*(hashes[offset:] for offset in range(5))))}
    minima = [EMPTY] * SKETCH_SIZE
    for value in sorted(values):
        if minima[value % SKETCH_SIZE] == EMPTY:
            minima[value % SKETCH_SIZE] = value // SKETCH_SIZE
    if sum(value != EMPTY for value in minima) < MIN_FILLED_BUCKETS:
        return (EMPTY,) * SKETCH_SIZE
    return _densify(minima)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), max_size=40), st.booleans())
def test_shingle_hashes_are_pythons_tuple_hashes(hashes, in_numpy):
    """Computed in numpy where hashes are 64-bit (here), by hash() of each tuple elsewhere."""
    from unittest import mock

    from archsearch import nearduplicates

    expected = [hash(tuple(hashes[start : start + 5])) & 0xFFFFFFFF for start in range(max(len(hashes) - 4, 1 if hashes else 0))]
    with mock.patch.object(nearduplicates, "_TUPLE_HASH_IN_NUMPY", in_numpy):
        assert nearduplicates.shingle_hashes(hashes).tolist() == expected
        assert nearduplicates.shingle_hashes(np.array(hashes, np.uint64)).tolist() == expected


def test_a_shingle_whose_tuple_hash_would_be_minus_one_hashes_as_python_hashes_it():
    """CPython's tuple hash gives 1546275796 where its sum comes to -1 (which means an error in C):
    a shingle made so, by undoing the last round of the hash for a chosen sum."""
    from archsearch.nearduplicates import (
        _SHINGLE_LENGTH_MIX, _XXPRIME_1, _XXPRIME_2, _XXPRIME_5, _XXROTATE_BITS, shingle_hashes,
    )

    mask = (1 << 64) - 1

    def rounds(lanes):
        acc = _XXPRIME_5
        for lane in lanes:
            acc = (acc + lane * _XXPRIME_2) & mask
            acc = ((acc << _XXROTATE_BITS) | (acc >> (64 - _XXROTATE_BITS))) & mask
            acc = (acc * _XXPRIME_1) & mask
        return acc

    # The last lane that brings the sum to -1: rotated back, less what the first four made.
    before_rotation = ((mask - _SHINGLE_LENGTH_MIX) * pow(_XXPRIME_1, -1, 1 << 64)) & mask
    before_rotation = ((before_rotation >> _XXROTATE_BITS) | (before_rotation << (64 - _XXROTATE_BITS))) & mask
    for first in range(1000):
        lanes = [first, 2, 3, 4]
        last = ((before_rotation - rounds(lanes)) * pow(_XXPRIME_2, -1, 1 << 64)) & mask
        if last < sys.hash_info.modulus:  # an int below the modulus is its own hash
            break
    shingle = (*lanes, last)
    assert hash(shingle) == 1546275796
    assert shingle_hashes(list(shingle)).tolist() == [1546275796]


shingle_words = st.sampled_from(["the", "The", "minister", "said", "Zürich", "США", "K", "Ⅻ", "naïve", "_", "3.5", "北京"])


@settings(max_examples=300, deadline=None)
@given(st.lists(shingle_words, max_size=80).map(" ".join) | st.text(max_size=300))
def test_sketches_are_what_one_shingle_at_a_time_made(text):
    assert sketch(text) == sketch_one_shingle_at_a_time(text)


def test_real_bodies_sketch_as_one_shingle_at_a_time_made():
    from conftest import SEEDS
    from test_indexing import numbered_articles

    bodies = [path.read_text(errors="replace") for path in sorted(SEEDS.rglob("*")) if path.is_file()]
    bodies += numbered_articles(60).values()
    assert len(bodies) == 62
    for body in bodies:
        assert sketch(body) == sketch_one_shingle_at_a_time(body)


def words_as_re_finds_them(text: str) -> list[bytes]:
    import re

    return [word.encode() for word in re.findall(r"\w+", text.lower())]


def test_beyond_ascii_a_word_character_is_an_alphanumeric_one():
    # What word_utf8 relies on to find the characters it makes spaces of.
    import re

    every = "".join(map(chr, range(0x80, 0x110000)))
    assert re.findall(r"\w", every) == [character for character in every if character.isalnum()]


# Characters around which words are split or not: punctuation, spaces and marks beyond ASCII, a
# lone surrogate, letters whose lowercase is longer ("İ"), digits of other scripts.
word_edge_characters = st.sampled_from(
    list("aZ_9 .,-'\t\n") + ["\u00a0", "\u2019", "\u201c", "\u2014", "\u0301", "\u0915\u093c", "\ud800", "\udfff",
                             "\u0130", "\u0663", "\u00b2", "\u2167", "\U0001d400", "\U0001f600", "\u3002", "\u5317"]
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(word_edge_characters, max_size=200).map("".join)
    | st.text(st.characters(exclude_categories=()), max_size=300)
    | st.text(st.characters(exclude_categories=(), max_codepoint=0x7F), max_size=300)
)
def test_words_are_those_re_finds(text):
    from archsearch.nearduplicates import word_utf8

    assert word_utf8(text) == words_as_re_finds_them(text)


def test_words_of_a_text_of_many_symbols_are_those_re_finds():
    from archsearch.nearduplicates import _MOST_REPLACED, word_utf8

    symbols = "".join(chr(0x2600 + offset) for offset in range(_MOST_REPLACED + 1))
    for text in (f"a{symbols}b c", f"a{symbols[:-1]}b c", "naïve " * 10_000 + symbols + "Zürich" * 3):
        assert word_utf8(text) == words_as_re_finds_them(text)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=()), max_size=300) | st.lists(shingle_words, max_size=80).map("\u2014".join))
def test_sketches_of_any_text_are_what_one_shingle_at_a_time_made(text):
    assert sketch(text) == sketch_one_shingle_at_a_time(text)


# Texts of which a batch is made: shingles of a few words (copies among them), any text, and the
# texts too short for a shingle or a sketch.
batch_texts = (
    st.lists(shingle_words, max_size=80).map(" ".join)
    | st.text(st.characters(exclude_categories=()), max_size=300)
    | st.sampled_from(["", "word", "Zürich", " -1 ", "a b c d", "a b c d e", STORY])
)


@settings(max_examples=300, deadline=None)
@given(st.lists(batch_texts, max_size=12))
def test_the_sketches_of_texts_together_are_each_texts_own(texts):
    """The shingles running from one text into the next are no text's."""
    assert sketches(texts) == [sketch_one_shingle_at_a_time(text) for text in texts]


def test_real_bodies_sketched_together_are_sketched_as_each_alone():
    from conftest import SEEDS
    from test_indexing import numbered_articles

    bodies = [path.read_text(errors="replace") for path in sorted(SEEDS.rglob("*")) if path.is_file()]
    bodies += [*numbered_articles(60).values(), "", "one", STORY]
    assert sketches(bodies) == [sketch_one_shingle_at_a_time(body) for body in bodies]
