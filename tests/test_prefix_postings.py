"""Short prefixes through each segment's prefix entries (prefix_postings.py, fuzzy.prefix_expansion):
the same documents, scores (to the bit), counts, hits and marked words as the word-by-word walk,
over segments with deletions, merged ones, damaged or missing files; entries read back as written;
an index without them gets them at its next change."""

import os
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsearch.engines.whoosh import arrays, fuzzy, prefix_postings
from archsearch.engines.whoosh.evaluation import Evaluator
from archsearch.engines.whoosh.store import open_index
from archsearch.indexing import update_index
from archsearch.querying import QuerySyntaxError, parse_query
from archsearch.searching import search, weighting

from conftest import wire
from test_arrays_sidecar import FakeSegment, overwrite_data, truncate

# Small enough that the small corpora's prefixes have entries, some of them too short a list to
# show the most frequent words (then the words are walked).
LISTED, TOP, SCORED = 3, 4, 3

SYLLABLES = "sa se si so ta te ti to ka ke ki ko sta ste tra kri".split()
ALPHABET = "stakeior"


def vocabulary(rng: random.Random, size: int) -> list[str]:
    return sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(1, 3))) for _ in range(size)})


def article(rng: random.Random, words: list[str], number: int) -> str:
    # Zipf-like: the first words are in most articles, a long tail in a few.
    weights = [1 / (rank + 1) for rank in range(len(words))]
    title = " ".join(rng.choices(words, weights, k=3)).capitalize()
    body = " ".join(rng.choices(words, weights, k=rng.randint(5, 40)))
    return f"{title}\n\n" + wire(f"2022-03-{number % 28 + 1:02}", "KABUL, March 1. /TASS/.", body.capitalize() + ".")


def build(index_dir: Path, corpus: Path, batches: list[range], rng: random.Random, words, removed=()) -> None:
    for batch in batches:
        for number in batch:
            (corpus / f"{number:04d}.txt").write_text(article(rng, words, number), encoding="utf-8")
        update_index(index_dir, [str(corpus)])
    for number in removed:
        (corpus / f"{number:04d}.txt").unlink()
    if removed:
        update_index(index_dir, [str(corpus)])


@pytest.fixture(autouse=True)
def small_lists(monkeypatch):
    monkeypatch.setattr(prefix_postings, "WORDS_LISTED", LISTED)
    monkeypatch.setattr(prefix_postings, "TOP_WORDS", TOP)
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", SCORED)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Segments merged from large and small commits, with deletions, and small ones."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prefix_postings, "WORDS_LISTED", LISTED)
        patch.setattr(prefix_postings, "TOP_WORDS", TOP)
        rng = random.Random(20261130)
        words = vocabulary(rng, 400)
        corpus = tmp_path_factory.mktemp("corpus")
        index_dir = tmp_path_factory.mktemp("index")
        build(index_dir, corpus, [range(0, 300), range(300, 600)], rng, words)
        build(index_dir, corpus, [range(600 + 10 * n, 610 + 10 * n) for n in range(4)], rng, words,
              removed=range(3, 640, 11))
        build(index_dir, corpus, [range(700, 703)], rng, words)
    return index_dir


def prefix_files(index_dir: Path) -> set[str]:
    return {name for name in os.listdir(index_dir) if name.endswith(prefix_postings.EXTENSION)}


def without_entries(patch) -> None:
    patch.setattr(fuzzy, "segment_prefixes", lambda leaf: None)


def evaluation_of(searcher, text: str, arrays: bool):
    query = parse_query(text, searcher.schema).query
    evaluation = Evaluator(searcher, arrays=arrays).evaluate(query)
    assert evaluation is not None
    return evaluation


def answers(searcher, text: str, arrays: bool):
    """Every document and its score, and the words marked in the best 20."""
    evaluation = evaluation_of(searcher, text, arrays)
    scores = dict(evaluation.scores.items())
    best = sorted(scores, key=lambda docnum: (-scores[docnum], docnum))[:20]
    return scores, {docnum: set(evaluation.matched_terms(docnum)) for docnum in best}


def assert_same_without_entries(searcher, text: str, arrays: bool):
    with_them = answers(searcher, text, arrays)
    with pytest.MonkeyPatch.context() as patch:
        without_entries(patch)
        without_them = answers(searcher, text, arrays)
    assert with_them[0] == without_them[0], text  # the same documents, and the same floats
    assert with_them[1] == without_them[1], text


def listed_prefixes(searcher, text: str) -> list:
    query = parse_query(text, searcher.schema).query
    return [leaf for leaf in query.leaves() if isinstance(leaf, fuzzy.ListedPrefix)]


def test_each_segment_has_its_prefixes_and_short_prefixes_use_them(built):
    ix = open_index(built)
    assert prefix_files(built) == {prefix_postings.prefixes_name(segment) for segment in ix._segments()}
    with ix.searcher(weighting=weighting()) as searcher:
        leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
        assert len(leaves) >= 3 and sum(leaf.has_deletions() for leaf in leaves) >= 2
        reader = searcher.reader()
        used = [fuzzy.prefix_expansion(node, reader) is not None for text in ALPHABET for node in listed_prefixes(searcher, text + "*")]
        assert any(used)
        # A prefix longer than the entries' is walked; and one their lists cannot settle is too.
        (long,) = listed_prefixes(searcher, "stas*")
        assert fuzzy.prefix_expansion(long, reader) is None


@pytest.mark.parametrize("arrays", [False, True], ids=["dicts", "arrays"])
@pytest.mark.parametrize("text", ["s*", "t*", "k*", "st*", "sa*", "tra*", "s* OR k*", "s* -ta", "kosa s*", "title:s*", "o*"])
def test_same_answers_with_and_without_entries(built, text, arrays):
    with open_index(built).searcher(weighting=weighting()) as searcher:
        assert_same_without_entries(searcher, text, arrays)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.text(ALPHABET, min_size=1, max_size=3), other=st.sampled_from(["", "sa", "-ta", "OR ki*", "te*"]),
       scored=st.integers(1, 6), arrays=st.booleans())
def test_generated_prefixes_alike_with_and_without_entries(built, prefix, other, scored, arrays):
    text = f"{prefix}* {other}".strip()
    try:
        parse_query(text, open_index(built).schema)
    except QuerySyntaxError:
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fuzzy, "SCORED_EXPANSIONS", scored)
        with open_index(built).searcher(weighting=weighting()) as searcher:
            assert_same_without_entries(searcher, text, arrays)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), sizes=st.lists(st.integers(1, 30), min_size=1, max_size=3),
       listed=st.integers(0, 4), top=st.integers(1, 5), removed=st.booleans())
def test_random_small_corpora_alike_with_and_without_entries(tmp_path_factory, seed, sizes, listed, top, removed):
    rng = random.Random(seed)
    words = vocabulary(rng, rng.randint(5, 80))
    corpus = tmp_path_factory.mktemp("corpus")
    index_dir = tmp_path_factory.mktemp("index")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prefix_postings, "WORDS_LISTED", listed)
        patch.setattr(prefix_postings, "TOP_WORDS", top)
        batches, start = [], 0
        for size in sizes:
            batches.append(range(start, start + size))
            start += size
        build(index_dir, corpus, batches, rng, words, removed=[0] if removed else ())
        with open_index(index_dir).searcher(weighting=weighting()) as searcher:
            for text in ["s*", "t*", "k*", "sa*", "st*", "ko*", "sa s*"]:
                for arrays in (False, True):
                    assert_same_without_entries(searcher, text, arrays)


def test_hits_counts_and_snippets_alike_with_and_without_entries(built, monkeypatch):
    def results():
        found = []
        for text in ("s*", "t* OR k*", "kosa s*", "tr*"):
            result = search(built, text, limit=15)
            found.append((result.total, [(hit.path, hit.score, hit.title_matches, hit.snippets, hit.copies) for hit in result.hits]))
        return found

    monkeypatch.setattr(Evaluator, "arrays_pay", lambda self, query: True)
    with_them = results()
    without_entries(monkeypatch)
    assert results() == with_them


def damaged_copy(built, tmp_path, damage) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    for name in prefix_files(copy):
        damage(copy / name)
    return copy


@pytest.mark.parametrize("damage", [truncate, overwrite_data], ids=["truncated", "overwritten"])
def test_damaged_prefixes_are_ignored(built, tmp_path, damage):
    copy = damaged_copy(built, tmp_path, damage)
    with open_index(copy).searcher(weighting=weighting()) as searcher, open_index(built).searcher(weighting=weighting()) as whole:
        for text in ("s*", "t*", "sa*"):
            for arrays in (False, True):
                assert answers(searcher, text, arrays) == answers(whole, text, arrays)
        if damage is truncate:
            assert not any(prefix_postings.segment_prefixes(leaf) for leaf, _ in searcher.reader().leaf_readers())


def test_an_index_without_prefixes_gets_them_at_the_next_change(tmp_path):
    rng = random.Random(7)
    words = vocabulary(rng, 60)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    build(index_dir, corpus, [range(0, 40), range(40, 80)], rng, words)
    postings = {name: (index_dir / name).stat().st_mtime_ns for name in os.listdir(index_dir) if name.endswith(".postings")}
    for name in prefix_files(index_dir):
        os.remove(index_dir / name)
    update_index(index_dir, [str(corpus)])  # nothing changed: nothing written
    assert not prefix_files(index_dir)
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        before = answers(searcher, "s*", True)
    (corpus / "0001.txt").unlink()
    update_index(index_dir, [str(corpus)])
    ix = open_index(index_dir)
    assert prefix_files(index_dir) == {prefix_postings.prefixes_name(segment) for segment in ix._segments()}
    kept = {name: stamp for name, stamp in postings.items() if (index_dir / name).exists()}
    assert kept and all((index_dir / name).stat().st_mtime_ns == stamp for name, stamp in kept.items())  # not rewritten
    with ix.searcher(weighting=weighting()) as searcher:
        assert any(fuzzy.prefix_expansion(node, searcher.reader()) for node in listed_prefixes(searcher, "s*"))
        after = answers(searcher, "s*", True)
    assert set(after[0]) == set(before[0]) - {docnum for docnum in before[0] if docnum not in after[0]}
    with ix.searcher(weighting=weighting()) as searcher, pytest.MonkeyPatch.context() as patch:
        without_entries(patch)
        assert answers(searcher, "s*", True) == after


def test_prefixes_left_half_written_or_of_a_gone_segment_are_removed(built, tmp_path):
    from archsearch.engines.whoosh.segments import remove_unreferenced_files

    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    (copy / "prefixes-MAIN_abc.tmp").write_bytes(prefix_postings.MAGIC)
    (copy / "MAIN_gone0123.prefixes").write_bytes(prefix_postings.MAGIC)  # of a segment the index no longer has
    remove_unreferenced_files(str(copy))
    assert not (copy / "prefixes-MAIN_abc.tmp").exists()
    assert prefix_files(copy) == prefix_files(built)


@pytest.mark.parametrize("wide", [False, True], ids=["16-bit", "32-bit"])
@pytest.mark.parametrize("set_limit", [prefix_postings.DOCUMENT_SET_LIMIT, 0, 2], ids=["sets", "marks", "both"])
def test_entries_read_back_as_written(tmp_path, wide, monkeypatch, set_limit):
    monkeypatch.setattr(prefix_postings, "DOCUMENT_SET_LIMIT", set_limit)
    monkeypatch.setattr(prefix_postings, "WORDS_LISTED", 2)
    monkeypatch.setattr(prefix_postings, "TOP_WORDS", 2)
    far = 70_000 if wide else 0
    terms = {  # in term order, as a segment's writer gives them
        ("exact", b"a"): [1],
        ("exact", b"sa"): [0, 4],
        ("exact", b"sab"): [2, far + 9],
        ("exact", b"sabre"): [3],
        ("exact", b"salt"): [4, 5, 6],
        ("exact", b"t\xc3\xa9a"): [7],
        ("title", b"sa"): [0],
        ("title", b"se"): [1],
        ("title", b"si"): [2],
    }
    writer = prefix_postings.PrefixWriter(str(tmp_path), FakeSegment())
    for (fieldname, term), docnums in terms.items():
        writer.add(fieldname, term, docnums)
    writer.finish(far + 20)
    read = prefix_postings.SegmentPrefixes(str(tmp_path / "MAIN_fake.prefixes"), far + 20)
    s = read.entry("exact", "s")
    assert s.local_documents().tolist() == [0, 2, 3, 4, 5, 6, far + 9]
    assert (s.word_count, s.top, s.bound) == (4, {b"salt": 3, b"sa": 2}, 2)  # sab: 2 as well, after sa
    assert read.entry("exact", "sa").local_documents().tolist() == [0, 2, 3, 4, 5, 6, far + 9]
    assert read.entry("exact", "sab") is None  # two words: walked
    assert read.entry("exact", "t") is None and read.entry("exact", "x") is None
    assert read.entry("title", "s") is None  # not a field of prefix entries
    with pytest.raises(ValueError):
        prefix_postings.SegmentPrefixes(str(tmp_path / "MAIN_fake.prefixes"), far + 21)  # another segment's


# Words (in `exact`) and their documents, for a writer of prefixes.
prefix_words = st.dictionaries(
    st.text("abc", min_size=1, max_size=4),
    st.lists(st.integers(0, 70_010), min_size=1, max_size=30, unique=True).map(sorted),
    max_size=40,
)


def prefixes_written(folder: Path, set_limit: int, give) -> bytes:
    """The file a PrefixWriter writes (an entry for every prefix of two words or more, documents
    gathered in a set up to `set_limit`) of the terms `give(writer)` gives it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prefix_postings, "WORDS_LISTED", 1)
        patch.setattr(prefix_postings, "DOCUMENT_SET_LIMIT", set_limit)
        writer = prefix_postings.PrefixWriter(str(folder), FakeSegment())
        give(writer)
        writer.finish(70_011)
    return (folder / "MAIN_fake.prefixes").read_bytes()


def given_one_by_one(words: dict[str, list[int]]):
    def give(writer):
        for word in sorted(words):
            writer.add("exact", word.encode(), words[word])

    return give


@settings(max_examples=60, deadline=None)
@given(words=prefix_words, set_limit=st.integers(0, 40))
def test_documents_gathered_as_marks_write_what_sets_write(tmp_path_factory, words, set_limit):
    assert prefixes_written(tmp_path_factory.mktemp("prefixes"), prefix_postings.DOCUMENT_SET_LIMIT,
                            given_one_by_one(words)) == prefixes_written(tmp_path_factory.mktemp("prefixes"), set_limit,
                                                                         given_one_by_one(words))


@settings(max_examples=60, deadline=None)
@given(words=prefix_words, cuts=st.lists(st.integers(0, 40), max_size=4), listed_from=st.integers(0, 40),
       set_limit=st.integers(0, 40))
def test_terms_given_as_arrays_write_what_terms_given_one_by_one_write(tmp_path_factory, words, cuts, listed_from,
                                                                        set_limit):
    """A segment written from memory gives its terms' documents as a slice's numpy array
    (add_term_arrays), cut anywhere between slices, after terms given as lists or not (a prefix may
    hold both, some gathered as marks): the same file as term by term."""
    import numpy as np

    terms = sorted(words)
    listed = min(listed_from, len(terms))

    def give_arrays(writer):
        writer.add_terms("exact", [word.encode() for word in terms[:listed]], [words[word] for word in terms[:listed]])
        bounds = sorted({listed, len(terms), *(cut for cut in cuts if listed < cut < len(terms))})
        for low, high in zip(bounds, bounds[1:]):
            sliced = terms[low:high]
            counts = np.array([len(words[word]) for word in sliced], np.int64)
            docnums = np.array([docnum for word in sliced for docnum in words[word]], np.int64)
            writer.add_term_arrays("exact", [word.encode() for word in sliced], docnums, np.cumsum(counts) - counts, counts)

    assert prefixes_written(tmp_path_factory.mktemp("prefixes"), set_limit, give_arrays) == prefixes_written(
        tmp_path_factory.mktemp("prefixes"), set_limit, given_one_by_one(words))


def test_a_prefix_in_most_documents_gathers_them_in_a_byte_each(tmp_path):
    """A one-letter prefix is in most of a segment's documents (a million in a compacted archive's):
    a set of them took about 70 bytes each."""
    import tracemalloc

    documents = 300_000
    writer = prefix_postings.PrefixWriter(str(tmp_path), FakeSegment())
    tracemalloc.start()
    try:
        for number in range(20):
            writer.add("exact", b"ta%02d" % number, list(range(number * 15_000, (number + 1) * 15_000)))
        writer.finish(documents)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * documents
    read = prefix_postings.SegmentPrefixes(str(tmp_path / "MAIN_fake.prefixes"), documents)
    assert read.entry("exact", "t").local_documents().tolist() == list(range(documents))


def test_arrays_pay_for_a_prefix_whose_scored_words_are_frequent(built, monkeypatch):
    import sys

    from archsearch.engines.whoosh import evaluation

    monkeypatch.delitem(sys.modules, "numpy", raising=False)  # as in a process of its own
    with open_index(built).searcher(weighting=weighting()) as searcher:
        reader = searcher.reader()
        text, expansion = next(
            (text, expansion) for text in (letter + "*" for letter in ALPHABET)
            if (expansion := fuzzy.prefix_expansion(listed_prefixes(searcher, text)[0], reader)) is not None
        )
        query = parse_query(text, searcher.schema).query
        postings = expansion.scored_postings
        evaluator = Evaluator(searcher)
        monkeypatch.setattr(evaluation, "ARRAY_POSTINGS", postings)
        assert evaluator.arrays_pay(query)
        monkeypatch.setattr(evaluation, "ARRAY_POSTINGS", postings + 1)
        assert not evaluator.arrays_pay(query)


def test_a_query_looks_its_prefix_words_up_once(built, monkeypatch):
    """A prefix's words are asked for to evaluate it, to weigh it for proximity and to find where
    it stands: looked up in the segments' term files or word lists once, kept with the reader."""
    looked_up = []
    original = fuzzy._words_starting
    monkeypatch.setattr(fuzzy, "_words_starting", lambda reader, fieldname, text: looked_up.append(text) or original(reader, fieldname, text))
    # Prefixes longer than the entries', walked: the built corpus's words (the same vocabulary).
    long_words = [word for word in vocabulary(random.Random(20261130), 400) if len(word) >= 6][:3]
    for text in ["kosa stas*"] + [f"kosa {word[:4]}*" for word in long_words]:
        before = len(looked_up)
        search(built, text, with_snippets=False, collapse_copies=False)
        assert looked_up[before:] == [text.split()[-1].rstrip("*")], text


# The built corpus's most frequent words (its vocabulary's first: see article()).
FREQUENT = vocabulary(random.Random(20261130), 400)[:4]


@pytest.mark.parametrize("scored", [1, 2])
@pytest.mark.parametrize("prefix", ["s", "k"])
@pytest.mark.parametrize("words", [
    f"{FREQUENT[0]} {FREQUENT[1]}", FREQUENT[2],
    f"({FREQUENT[0]} OR {FREQUENT[1]}) {FREQUENT[2]}", f"{FREQUENT[0]} {FREQUENT[1]} {FREQUENT[3]}",
])
def test_an_and_with_a_prefix_scored_where_all_match_scores_to_the_bit(built, prefix, words, scored):
    """With arrays, an AND of words and a prefix read from its entries scores the prefix's words
    only where the other parts match: the same documents and, to the bit, the same scores (and
    marked words)."""
    text = f"{words} {prefix}*"
    taken = []
    original = Evaluator._scored_where_all_match

    def counted(self, *args):
        found = original(self, *args)
        taken.append(found is not None)
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fuzzy, "SCORED_EXPANSIONS", scored)
        with open_index(built).searcher(weighting=weighting()) as searcher:
            patch.setattr(Evaluator, "_scored_where_all_match", counted)
            where_all_match = answers(searcher, text, arrays=True)
            patch.setattr(Evaluator, "_scored_where_all_match", lambda self, *args: None)
            everywhere = answers(searcher, text, arrays=True)
    assert any(taken) and where_all_match[0], text
    assert where_all_match == everywhere, text


def test_an_and_with_a_prefix_makes_the_prefix_documents_once(built, monkeypatch):
    """With arrays, an AND holding a prefix read from its entries asks for the prefix's documents
    to intersect them with the other parts', then to match them: made once, then kept."""
    made = []
    original = arrays.ArrayOperations.prefix_documents
    monkeypatch.setattr(arrays.ArrayOperations, "prefix_documents",
                        lambda self, expansion: made.append(original(self, expansion)) or made[-1])
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", 1)  # so that s* has the most frequent words of its entries
    with open_index(built).searcher(weighting=weighting()) as searcher:
        evaluation_of(searcher, f"{FREQUENT[0]} s*", arrays=True)
    assert len(made) == 2
    assert made[0] is made[1]


@given(st.dictionaries(st.binary(max_size=6), st.integers(1, 5), max_size=60))
def test_a_prefix_s_words_rank_by_count_then_word(counts):
    words = [(count, word) for word, count in counts.items()]
    random.Random(len(words)).shuffle(words)
    assert prefix_postings.ranked_words(words) == sorted(words, key=lambda pair: (-pair[0], pair[1]))
