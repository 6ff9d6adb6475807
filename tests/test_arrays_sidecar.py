"""Postings as arrays beside a segment's own (postings_arrays.py), read with numpy
(arrays.SegmentArrays) or with the standard library by the dicts' evaluation
(postings_arrays.ListedPostings): queries give the same documents, scores, phrases and counts
with them as without, whatever the segments (deletions, merges, a segment without the word);
damaged ones are ignored; the clean-up removes them with their segments; `archsearch index`
writes those an older index lacks."""

import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsearch.engines.whoosh import arrays, evaluation, postings_arrays, segments
from archsearch.engines.whoosh.evaluation import Evaluator
from archsearch.engines.whoosh.store import open_index
from archsearch.indexing import update_index
from archsearch.querying import QuerySyntaxError, parse_query
from archsearch.searching import search, weighting

from whoosh.query import Term
from whoosh.reading import TermNotFound

from test_evaluation import WORDS, article, query_parts, whoosh_scores

# Low enough that most words of the small corpora have arrays, and a rare one has none.
FEW_POSTINGS = 3
WRITERS_POSTINGS = postings_arrays.SIDECAR_POSTINGS  # the writer's own, which the tests patch
EVERY_TERM_FIELDS = postings_arrays.EVERY_TERM_FIELDS


@pytest.fixture(autouse=True)
def few_postings(monkeypatch):
    monkeypatch.setattr(postings_arrays, "SIDECAR_POSTINGS", FEW_POSTINGS)


def sidecars(index_dir: Path) -> set[str]:
    return {name for name in os.listdir(index_dir) if name.endswith(postings_arrays.EXTENSION)}


def segment_names(index_dir: Path) -> set[str]:
    ix = open_index(index_dir)
    return {postings_arrays.sidecar_name(segment) for segment in ix._segments()}


def build(index_dir: Path, corpus: Path, batches: list[range], rng: random.Random, removed=()) -> None:
    for batch in batches:
        for number in batch:
            (corpus / f"{number:04d}.txt").write_text(article(rng, number), encoding="utf-8")
        update_index(index_dir, [str(corpus)])
    for number in removed:
        (corpus / f"{number:04d}.txt").unlink()
    if removed:
        update_index(index_dir, [str(corpus)])


def built_index(tmp_path_factory, kind: str) -> Path:
    """An index of two large segments (deletions in both), a segment merged from four small ones,
    and a segment holding a word no other has, and none of the others'; its postings files holding
    every term of EVERY_TERM_FIELDS, or (written before them, kind "written before") only those
    in FEW_POSTINGS documents or more, the rarer ones read from Whoosh's postings. The `built`
    fixture (conftest.py) of this module and test_segment_terms, which only read it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(postings_arrays, "SIDECAR_POSTINGS", FEW_POSTINGS)
        # Whoosh's postings blocks written too, as before segments.FILE_ONLY_FIELDS: what the
        # postings files are compared with (test_file_only_postings tests segments without them).
        patch.setattr(segments, "FILE_ONLY_FIELDS", frozenset())
        if kind == "written before":
            patch.setattr(postings_arrays, "EVERY_TERM_FIELDS", frozenset())
        rng = random.Random(20261130)
        corpus = tmp_path_factory.mktemp("corpus")
        index_dir = tmp_path_factory.mktemp("index")
        build(index_dir, corpus, [range(0, 600), range(600, 1200)], rng)
        # Four small commits: tier 0 fills, and they are merged into one segment.
        build(index_dir, corpus, [range(1200 + 10 * n, 1210 + 10 * n) for n in range(4)], rng,
              removed=range(3, 1200, 13))
        for number in range(FEW_POSTINGS):
            (corpus / f"zebra{number}.txt").write_text(f"Zebra crossing {number}\n\nA zebra crossing, a zebra.\n", encoding="utf-8")
        update_index(index_dir, [str(corpus)])
    return index_dir


@pytest.fixture
def searcher(built):
    with open_index(built).searcher(weighting=weighting()) as searcher:
        yield searcher


def without_sidecars(monkeypatch):
    monkeypatch.setattr(arrays, "segment_arrays", lambda leaf: None)
    monkeypatch.setattr(evaluation, "listed_postings", lambda leaf: None)


# Evaluated with numpy's arrays, or with dicts (as a query in a process of its own).
BOTH_WAYS = pytest.mark.parametrize("with_arrays", [True, False], ids=["arrays", "dicts"])


def evaluated(searcher, text: str, with_arrays: bool = True, **options):
    query = parse_query(text, searcher.schema, **options).query
    found = Evaluator(searcher, arrays=with_arrays).evaluate(query)
    assert found is not None
    return dict(found.scores.items())


def assert_same_without_sidecars(searcher, monkeypatch, text, with_arrays: bool = True, **options):
    with_them = evaluated(searcher, text, with_arrays, **options)
    with monkeypatch.context() as patch:
        without_sidecars(patch)
        without_them = evaluated(searcher, text, with_arrays, **options)
    assert with_them.keys() == without_them.keys(), text
    if not with_arrays:  # the same floats, added in the same order: the same to the bit
        assert with_them == without_them, text
    for docnum, score in without_them.items():
        assert abs(with_them[docnum] - score) <= 1e-9 * abs(score), (text, docnum)
    return with_them


def test_each_segment_has_its_sidecar_and_the_merge_left_none_behind(built):
    ix = open_index(built)
    leaves = [leaf for leaf, _ in ix.reader().leaf_readers()]
    assert len(leaves) == 4 and sum(leaf.has_deletions() for leaf in leaves) >= 2
    assert sidecars(built) == segment_names(built)
    assert not [name for name in os.listdir(built) if postings_arrays.TEMPORARY.match(name)]


def test_the_sidecars_are_read_where_they_hold_a_word(searcher):
    found = [arrays.segment_arrays(leaf) for leaf, _ in searcher.reader().leaf_readers()]
    assert all(found)
    word = b"body\0peac"  # as stemmed
    assert [each.term(word) is not None for each in found] == [True, True, True, False]
    zebra = b"body\0zebra"
    assert [each.term(zebra) is not None for each in found] == [False, False, False, True]
    undated = found[0].term(b"undated\0yes")  # a field without positions: documents and weights only
    assert len(undated[0]) and undated[2] is None


@BOTH_WAYS
@pytest.mark.parametrize("text", [
    "minister", "peace talks", "peace talks border", "peace OR storm", "peace -talks",
    '"prime minister"', '"peace talks border"', '"talks peace"', '"zebra crossing"', "zebra",
    "zebra OR harbour", "title:peace", "date:2022-03-01..2022-03-10 peace", "pri*",
])
def test_same_documents_and_scores_with_and_without_sidecars(searcher, monkeypatch, text, with_arrays):
    found = assert_same_without_sidecars(searcher, monkeypatch, text, with_arrays)
    expected = whoosh_scores(searcher, parse_query(text, searcher.schema).query)
    assert found.keys() == expected.keys()
    assert all(found[docnum] == pytest.approx(score, rel=1e-12) for docnum, score in expected.items())


@BOTH_WAYS
def test_undated_articles_kept_alike_with_and_without_sidecars(searcher, monkeypatch, with_arrays):
    # `undated` has no positions: its sidecar holds documents and weights only.
    found = assert_same_without_sidecars(searcher, monkeypatch, "peace", with_arrays, since="2022-03-10",
                                         include_undated=True)
    assert any(searcher.stored_fields(docnum).get("date") is None for docnum in found)


@BOTH_WAYS
def test_deleted_documents_are_left_out(searcher, monkeypatch, with_arrays):
    deleted = {base + docnum for leaf, base in searcher.reader().leaf_readers() for docnum in leaf.deleted_docs_set or ()}
    assert deleted
    for text in ("minister", '"prime minister"', '"prime minister" NEAR peace'):
        assert not deleted & assert_same_without_sidecars(searcher, monkeypatch, text, with_arrays).keys()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(query_parts, min_size=1, max_size=4), any_words=st.booleans(), with_arrays=st.booleans())
def test_generated_queries_alike_with_and_without_sidecars(searcher, parts, any_words, with_arrays):
    text = " ".join(parts)
    try:
        parse_query(text, searcher.schema)
    except QuerySyntaxError:
        return
    with pytest.MonkeyPatch.context() as patch:
        assert_same_without_sidecars(searcher, patch, text, with_arrays, any_words=any_words)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=3),
       phrase=st.lists(st.sampled_from(WORDS), min_size=2, max_size=3),
       every_term=st.lists(st.booleans(), min_size=4, max_size=4))
def test_random_small_corpora_alike_with_and_without_sidecars(tmp_path_factory, seed, sizes, phrase, every_term):
    """`every_term`: whether each commit's writer puts every term of EVERY_TERM_FIELDS in the
    postings files (else as written before them, which a later such commit writes again)."""
    rng = random.Random(seed)
    corpus = tmp_path_factory.mktemp("corpus")
    index_dir = tmp_path_factory.mktemp("index")
    start = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(postings_arrays, "SIDECAR_POSTINGS", rng.randint(1, 6))
        for size, every in zip(sizes, every_term):
            patch.setattr(postings_arrays, "EVERY_TERM_FIELDS", EVERY_TERM_FIELDS if every else frozenset())
            build(index_dir, corpus, [range(start := start + size, start + 2 * size)], rng)
        patch.setattr(postings_arrays, "EVERY_TERM_FIELDS", EVERY_TERM_FIELDS if every_term[-1] else frozenset())
        build(index_dir, corpus, [], rng, removed=[start] if rng.random() < 0.5 else ())
        patch.setattr(postings_arrays, "EVERY_TERM_FIELDS", EVERY_TERM_FIELDS)
        assert sidecars(index_dir) == segment_names(index_dir)
        texts = [phrase[0], " ".join(phrase), '"' + " ".join(phrase) + '"', f"{phrase[0]} OR {phrase[-1]}"]
        with open_index(index_dir).searcher(weighting=weighting()) as searcher:
            for text in texts:
                for with_arrays in (True, False):
                    assert_same_without_sidecars(searcher, patch, text, with_arrays)


@BOTH_WAYS
def test_counts_and_ranking_alike_with_and_without_sidecars(built, monkeypatch, with_arrays):
    def answers():
        return [
            (result.total, [hit.path for hit in result.hits])
            for result in (
                search(built, text, with_snippets=False, collapse_copies=False)
                for text in ("minister", '"prime minister"', "peace OR storm", "zebra", "peace NEAR talks")
            )
        ]

    monkeypatch.setattr(Evaluator, "arrays_pay", lambda self, query: with_arrays)
    with_them = answers()
    without_sidecars(monkeypatch)
    assert answers() == with_them


@pytest.fixture(scope="module")
def titled(tmp_path_factory):
    """One segment of 90 articles with the sidecars' own thresholds: the corpus's title words are
    each in 12-24 titles (most titles derived from the lead), its body words in most bodies
    (fewer than SIDECAR_POSTINGS)."""
    rng = random.Random(20261201)
    corpus = tmp_path_factory.mktemp("corpus")
    index_dir = tmp_path_factory.mktemp("index")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(postings_arrays, "SIDECAR_POSTINGS", WRITERS_POSTINGS)
        build(index_dir, corpus, [range(90)], rng)
    return index_dir


def test_every_term_of_the_searched_fields_is_held(titled, monkeypatch):
    """Every term of EVERY_TERM_FIELDS goes in the postings file, each in however few documents,
    and the file says so (a key a field); the other fields' from SIDECAR_POSTINGS on, as before."""
    monkeypatch.setattr(postings_arrays, "SIDECAR_POSTINGS", WRITERS_POSTINGS)
    with open_index(titled).searcher() as searcher:
        (leaf, _), = searcher.reader().leaf_readers()
        held = arrays.segment_arrays(leaf)
        frequencies = {
            (fieldname, term): leaf.doc_frequency(fieldname, term)
            for fieldname in leaf.indexed_field_names() for term in leaf.lexicon(fieldname)
        }
        listed = postings_arrays.listed_postings(leaf)
        assert all(held.holds_every_term(fieldname) and listed.holds_every_term(fieldname)
                   for fieldname in postings_arrays.EVERY_TERM_FIELDS)
        assert not held.holds_every_term("capitals") and not listed.holds_every_term("capitals")
    rare = dict.fromkeys(postings_arrays.EVERY_TERM_FIELDS, 0)  # terms in fewer than 16 documents
    for (fieldname, term), frequency in frequencies.items():
        every = fieldname in postings_arrays.EVERY_TERM_FIELDS
        in_file = held.term(fieldname.encode() + b"\0" + term) is not None
        assert in_file == (every or frequency >= WRITERS_POSTINGS), (fieldname, term, frequency)
        if every:
            rare[fieldname] += frequency < 16
    assert all(rare.values()), rare
    assert {fieldname for fieldname, _ in frequencies} - postings_arrays.EVERY_TERM_FIELDS  # other fields seen


@BOTH_WAYS
@pytest.mark.parametrize("text", ["peace talks border", "peace OR storm", '"prime minister"', "title:peace", "pri*"])
def test_titles_held_from_fewer_documents_answer_alike(titled, monkeypatch, text, with_arrays):
    """Read from the postings file, a title's terms score as read from Whoosh's postings."""
    monkeypatch.setattr(postings_arrays, "SIDECAR_POSTINGS", WRITERS_POSTINGS)
    with open_index(titled).searcher(weighting=weighting()) as searcher:
        found = assert_same_without_sidecars(searcher, monkeypatch, text, with_arrays)
        expected = whoosh_scores(searcher, parse_query(text, searcher.schema).query)
    assert found.keys() == expected.keys()
    assert all(found[docnum] == pytest.approx(score, rel=1e-12) for docnum, score in expected.items())


def damaged_copy(built, tmp_path, damage) -> Path:
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    damage(copy / sorted(sidecars(copy))[0])
    return copy


def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def overwrite_data(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(postings_arrays.HEADER.size, len(data) // 2, 7):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@BOTH_WAYS
@pytest.mark.parametrize("damage", [truncate, overwrite_data], ids=["truncated", "overwritten"])
def test_a_damaged_sidecar_is_ignored(built, tmp_path, damage, with_arrays):
    """Chosen: the sidecar holds nothing Whoosh's postings lack, so a damaged one (its length is
    not the one it records, or a word's checksum fails) is read around, never reported."""
    copy = damaged_copy(built, tmp_path, damage)
    for text in ("minister", '"prime minister"', "peace OR storm"):
        assert search(copy, text, with_snippets=False, collapse_copies=False).total == (
            search(built, text, with_snippets=False, collapse_copies=False).total
        )
    ix = open_index(copy)
    with ix.searcher(weighting=weighting()) as searcher:
        for text in ("minister", '"prime minister"'):
            found = evaluated(searcher, text, with_arrays)
            assert found == pytest.approx(dict(evaluated_in(built, text, with_arrays)), rel=1e-12)


def evaluated_in(index_dir, text, with_arrays: bool = True):
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        return evaluated(searcher, text, with_arrays)


def test_a_damaged_sidecar_is_quiet_on_the_command_line(built, tmp_path):
    from click.testing import CliRunner

    from archsearch.cli import cli

    copy = damaged_copy(built, tmp_path, truncate)
    result = CliRunner().invoke(cli, ["query", "--index", str(copy), '"prime minister"', "--count"])
    assert result.exit_code == 0, result.output
    assert result.output == CliRunner().invoke(cli, ["query", "--index", str(built), '"prime minister"', "--count"]).output


def test_an_index_without_sidecars_gets_them_at_the_next_change(tmp_path, monkeypatch):
    rng = random.Random(7)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    with monkeypatch.context() as patch:
        patch.setattr(segments, "FILE_ONLY_FIELDS", frozenset())  # written before: with Whoosh's blocks
        build(index_dir, corpus, [range(0, 40), range(40, 80)], rng)
    for name in sidecars(index_dir):
        os.remove(index_dir / name)
    (index_dir / postings_arrays.sidecar_name(open_index(index_dir)._segments()[0])).write_bytes(b"ASPOST01 torn")
    update_index(index_dir, [str(corpus)])  # nothing changed: nothing written
    assert not sidecars(index_dir) - {postings_arrays.sidecar_name(open_index(index_dir)._segments()[0])}
    (corpus / "0001.txt").unlink()
    update_index(index_dir, [str(corpus)])
    assert sidecars(index_dir) == segment_names(index_dir)
    for segment in open_index(index_dir)._segments():
        assert postings_arrays.sidecar_is_whole(str(index_dir / postings_arrays.sidecar_name(segment)), segment.doc_count_all())
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        assert all(arrays.segment_arrays(leaf) for leaf, _ in searcher.reader().leaf_readers())
        assert_same_without_sidecars(searcher, monkeypatch, '"prime minister" OR peace')


def test_postings_files_written_before_they_held_every_term_are_written_again_at_the_next_change(tmp_path, monkeypatch):
    """An index whose postings files leave a searched field's rarer terms out (written before
    EVERY_TERM_FIELDS) reads them from Whoosh's postings, and gets files holding every term at its
    next `index` run that changes something, once; it answers as Whoosh's postings do before and after."""
    rng = random.Random(11)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    with monkeypatch.context() as patch:
        patch.setattr(postings_arrays, "EVERY_TERM_FIELDS", frozenset())
        build(index_dir, corpus, [range(0, 40), range(40, 80)], rng)

    def held() -> list[bool]:
        with open_index(index_dir).searcher() as searcher:
            return [all(arrays.segment_arrays(leaf).holds_every_term(fieldname) for fieldname in EVERY_TERM_FIELDS)
                    for leaf, _ in searcher.reader().leaf_readers()]

    def answers() -> list:
        with open_index(index_dir).searcher(weighting=weighting()) as searcher:
            return [assert_same_without_sidecars(searcher, monkeypatch, text, with_arrays)
                    for text in ("zebra", '"prime minister" OR peace', "harbour storm") for with_arrays in (True, False)]

    assert any(answers())
    assert held() == [False, False]
    update_index(index_dir, [str(corpus)])  # nothing changed: nothing written
    assert held() == [False, False]
    build(index_dir, corpus, [range(80, 81)], rng)
    assert held() == [True, True, True]
    assert any(answers())


def test_a_sidecar_left_half_written_is_removed(built, tmp_path):
    import shutil

    from archsearch.engines.whoosh.segments import remove_unreferenced_files

    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    (copy / "postings-MAIN_abc.tmp").write_bytes(b"ASPOST01")
    (copy / "MAIN_gone0123.postings").write_bytes(b"ASPOST01")  # of a segment the index no longer has
    remove_unreferenced_files(str(copy))
    assert sidecars(copy) == segment_names(copy)
    assert not (copy / "postings-MAIN_abc.tmp").exists()



class FakeSegment:
    def segment_id(self):
        return "MAIN_fake"

    def make_filename(self, extension):
        return self.segment_id() + extension


@pytest.mark.parametrize("wide", [False, True], ids=["16-bit", "32-bit"])
@pytest.mark.parametrize("weighted", [False, True], ids=["counts", "weights"])
@pytest.mark.parametrize("decoded", [postings_arrays.DECODED_POSTINGS, 3], ids=["one slice", "slices"])
def test_a_term_reads_back_as_written(tmp_path, monkeypatch, wide, weighted, decoded):
    from archsearch.engines.whoosh.segments import encode_positions
    from archsearch.schema import build_schema

    monkeypatch.setattr(postings_arrays, "DECODED_POSTINGS", decoded)

    far = 70_000 if wide else 0
    docnums = [0, 5, 9 + far, 12 + far]
    positions = [[3], [1, 4, 8], [far + 2], [0, far + 7]]
    weights = [len(each) * (1.5 if weighted else 1.0) for each in positions]
    writer = postings_arrays.SidecarWriter(str(tmp_path), FakeSegment(), build_schema())
    writer.add("body", b"word", docnums, weights, [encode_positions(each) for each in positions])
    writer.add("body", b"other", [1], [1.0], [encode_positions([2])])
    writer.finish(far + 20)
    read = arrays.SegmentArrays(str(tmp_path / "MAIN_fake.postings"), far + 20)
    ids, read_weights, offsets, flat = read.term(b"body\0word")
    assert ids.tolist() == docnums and read_weights.astype(float).tolist() == weights
    assert [flat[offsets[n]:offsets[n + 1]].tolist() for n in range(len(docnums))] == positions
    assert read.term(b"body\0other")[0].tolist() == [1]
    assert read.term(b"body\0missing") is None
    with pytest.raises(ValueError):  # the file of a segment of another size
        arrays.SegmentArrays(str(tmp_path / "MAIN_fake.postings"), far + 21)


def test_a_frequent_term_s_positions_are_decoded_a_slice_at_a_time(tmp_path):
    """A term in many documents goes to the file without a list of positions per posting held for
    all of them at once: traced, 1,200 bytes a posting of 20 positions past 256 when they were, 300 now."""
    import tracemalloc

    from archsearch.engines.whoosh.segments import encode_positions
    from archsearch.schema import build_schema

    # Eight slices of DECODED_POSTINGS (its peak two thirds of the bound; decoded all at once, twice
    # the bound), where 50,000 postings took 1.5x the CPU for the same finding.
    count = 8 * postings_arrays.DECODED_POSTINGS
    value = encode_positions(list(range(1000, 1020)))
    writer = postings_arrays.SidecarWriter(str(tmp_path), FakeSegment(), build_schema())
    tracemalloc.start()
    try:
        writer.add("body", b"the", list(range(count)), [20.0] * count, [value] * count)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    writer.finish(count)
    assert peak < 600 * count
    ids, _, offsets, flat = arrays.SegmentArrays(str(tmp_path / "MAIN_fake.postings"), count).term(b"body\0the")
    assert len(ids) == count and flat[offsets[-2]:offsets[-1]].tolist() == list(range(1000, 1020))


def test_a_sidecar_that_cannot_be_written_waits_for_the_next_change(tmp_path, monkeypatch):
    import errno

    rng = random.Random(8)
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    with monkeypatch.context() as patch:
        patch.setattr(segments, "FILE_ONLY_FIELDS", frozenset())  # written before: with Whoosh's blocks
        build(index_dir, corpus, [range(0, 30)], rng)
    for name in sidecars(index_dir):
        os.remove(index_dir / name)
    whole_finish = postings_arrays.SidecarWriter.finish

    def full_disk(self, document_count):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(postings_arrays.SidecarWriter, "finish", full_disk)
        (corpus / "0001.txt").unlink()
        update_index(index_dir, [str(corpus)])  # committed all the same
    assert not sidecars(index_dir) and not [name for name in os.listdir(index_dir) if postings_arrays.TEMPORARY.match(name)]
    assert postings_arrays.SidecarWriter.finish is whole_finish
    (corpus / "0002.txt").unlink()
    update_index(index_dir, [str(corpus)])
    assert sidecars(index_dir) == segment_names(index_dir)


@BOTH_WAYS
def test_a_kept_searcher_let_go_lets_its_sidecars_go(built, tmp_path, monkeypatch, with_arrays):
    """The server keeps searchers open; an index deleted under it must not stay open through the
    sidecars' maps, which evaluations' reference cycles hold until the cyclic collector runs."""
    import gc
    import shutil

    from archsearch.engines.whoosh import store

    def open_under(folder):
        prefix = str(folder.resolve()) + os.sep
        targets = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                targets.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # the listing's own, closed since
                pass
        return [target for target in targets if target.startswith(prefix)]

    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    monkeypatch.setattr(store, "_open_searchers", {})
    monkeypatch.setattr(Evaluator, "arrays_pay", lambda self, query: with_arrays)
    gc.disable()
    try:
        search(copy, '"prime minister"', with_snippets=False, collapse_copies=False)
        assert any(name.endswith(postings_arrays.EXTENSION) for name in open_under(copy))
        shutil.rmtree(copy)
        store.drop_gone_indexes()
        assert not open_under(copy)
    finally:
        gc.enable()


def whoosh_block_reads(monkeypatch) -> list[tuple[bytes, int]]:
    """(term, postings) of each segment's postings the evaluation reads from Whoosh's blocks, from now on."""
    read = []
    whole_leaf_postings = Evaluator.leaf_postings

    def counted(self, fieldname, text, *args, **kwargs):
        found = whole_leaf_postings(self, fieldname, text, *args, **kwargs)
        read.extend((text, len(ids)) for _, _, ids, _, _ in found)
        return found

    monkeypatch.setattr(Evaluator, "leaf_postings", counted)
    return read


def test_the_dicts_read_a_frequent_word_from_the_sidecars_not_from_whoosh(searcher, monkeypatch):
    """The sidecars spare a process of its own Whoosh's blocks (unpickled a block at a time)
    without numpy's import: only where a segment holds a word in too few documents for its
    sidecar are its blocks read (as in a file written before it held every term)."""
    read = whoosh_block_reads(monkeypatch)
    for text in ("minister", '"prime minister"', "zebra", "peace"):
        evaluated(searcher, text, with_arrays=False)
    assert all(postings < FEW_POSTINGS for _, postings in read), read
    with monkeypatch.context() as patch:
        patch.setattr(postings_arrays, "SIDECAR_POSTINGS", 10**9)  # every word rarer than a sidecar's
        evaluated(searcher, "peace", with_arrays=False)
    # The count sees block reads: those of the same word in each field it is looked for in.
    frequent = [term for term, postings in read if postings >= FEW_POSTINGS]
    assert len(frequent) >= 3 and set(frequent) == {b"peac"}


def test_a_term_reads_back_alike_with_the_standard_library(built):
    """ListedPostings (no numpy) reads each term as SegmentArrays does: ids, weights, positions."""
    key_words = [b"body\0peac", b"body\0minist", b"title\0peac", b"undated\0yes", b"body\0zebra", b"body\0missing"]
    with open_index(built).searcher(weighting=weighting()) as searcher:
        for leaf, _ in searcher.reader().leaf_readers():
            mapped, listed = arrays.segment_arrays(leaf), postings_arrays.listed_postings(leaf)
            for key in key_words:
                expected, found = mapped.term(key), listed.term(key)
                assert (expected is None) == (found is None), key
                if found is None:
                    continue
                ids, weights, runs = found
                assert ids == expected[0].tolist() and weights == expected[1].astype(float).tolist()
                assert all(type(weight) is float for weight in weights)
                if runs is None:
                    assert expected[2] is None
                    continue
                offsets, flat = expected[2].tolist(), expected[3].tolist()
                assert list(runs) == [flat[offsets[n]:offsets[n + 1]] for n in range(len(ids))]
                kept = list(range(0, len(ids), 3))
                assert list(runs.kept(kept)) == [runs[n] for n in kept]
                assert runs.of(kept) == [runs[n] for n in kept]
                assert runs.kept(kept).of(list(range(len(kept)))) == [runs[n] for n in kept]


def test_a_term_s_layout_is_worked_out_once_and_each_array_read_alone_alike(built, monkeypatch):
    """SegmentArrays reads a term's record and works out its layout once per file opened (when
    find() checks it), not for every view; documents, weights, weights_into (all of them or
    some) and positions, each made alone, are arrays()'s, and postings_count their number."""
    laid_out = []
    real = arrays.term_layout
    monkeypatch.setattr(arrays, "term_layout", lambda *args: laid_out.append(args) or real(*args))
    keys = [b"body\0peac", b"body\0minist", b"title\0peac", b"undated\0yes", b"body\0zebra"]
    found = 0
    with open_index(built).searcher() as searcher:
        for leaf, _ in searcher.reader().leaf_readers():
            mapped = arrays.segment_arrays(leaf)
            for key in keys:
                index = mapped.find(key)
                if index is None:
                    continue
                found += 1
                laid_out.clear()
                ids, weights, offsets, flat = mapped.arrays(index)
                assert mapped.documents(index).tolist() == ids.tolist()
                assert mapped.weights(index).tolist() == weights.tolist()
                assert mapped.postings_count(index) == len(ids)
                floats = np.empty(len(ids))
                mapped.weights_into(index, floats)
                assert floats.tolist() == weights.tolist()
                chosen = np.arange(0, len(ids), 2)
                floats = np.empty(len(chosen))
                mapped.weights_into(index, floats, chosen)
                assert floats.tolist() == weights[chosen].tolist()
                if offsets is not None:
                    assert [part.tolist() for part in mapped.positions(index)] == [offsets.tolist(), flat.tolist()]
                assert mapped.term(key)[0].tolist() == ids.tolist()
                assert laid_out == [], key
    assert found >= 8


def partial_and_repeated_reads(monkeypatch) -> list[tuple[str, bytes, bool]]:
    """(field, term, whether for given documents only) of each call asking for a term's postings
    from Whoosh's blocks, from now on."""
    reads = []
    whole_leaf_postings = Evaluator.leaf_postings

    def counted(self, fieldname, text, wanted=None, skipped=frozenset()):
        reads.append((fieldname, text, wanted is not None))
        return whole_leaf_postings(self, fieldname, text, wanted, skipped)

    monkeypatch.setattr(Evaluator, "leaf_postings", counted)
    return reads


@pytest.mark.parametrize("text", ["peace talks", '"prime minister" minister', '"prime minister" talks'])
def test_arrays_read_a_term_once_for_its_scores_phrases_and_closeness(built, monkeypatch, text):
    """Proximity's closeness and phrases take a term's positions from the postings read for its
    scores, instead of reading them again (in a request process, every read faults its pages in)."""
    monkeypatch.setattr(Evaluator, "arrays_pay", lambda self, query: True)
    reads = partial_and_repeated_reads(monkeypatch)
    search(built, text, with_snippets=False, collapse_copies=False)
    assert reads and not any(partial for *_, partial in reads), reads
    assert len(reads) == len(set(reads)), reads


def test_arrays_answer_alike_with_postings_read_again(built, monkeypatch):
    """The postings kept for a term's later reads give what reading them again gives."""
    texts = ("peace talks", '"prime minister" minister', '"prime minister" talks', "peace NEAR talks", "zebra crossing")

    def answers():
        return [
            (result.total, [(hit.path, hit.score) for hit in result.hits])
            for result in (search(built, text, with_snippets=False, collapse_copies=False) for text in texts)
        ]

    monkeypatch.setattr(Evaluator, "arrays_pay", lambda self, query: True)
    kept = answers()
    original = arrays.ArrayOperations.postings

    def read_again(self, *args, **kwargs):
        self._postings.clear()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(arrays.ArrayOperations, "postings", read_again)
    assert answers() == kept


def test_length_parts_and_lengths_are_kept_with_the_reader(built):
    """A query's searcher is new on a kept reader (store.index_searcher): what does not change
    while the reader lasts is kept with the reader, where the server's warm-up leaves it for the
    request processes it forks."""
    from whoosh.searching import Searcher

    with open_index(built).searcher(weighting=weighting()) as searcher:
        with Searcher(searcher.ixreader, weighting(), closereader=False, fromindex=searcher._ix) as other:
            first, second = Evaluator(searcher), Evaluator(other)
            assert first.bm25_constants("body", b"peac")[1] is second.bm25_constants("body", b"minist")[1]
            assert first.field_lengths("body") is second.field_lengths("body")
            assert first.bm25_constants("title", b"peac")[1] != first.bm25_constants("body", b"peac")[1]


@given(st.lists(st.integers(0, 200), unique=True), st.lists(st.integers(0, 200), unique=True))
def test_common_keys_are_the_intersection(first, second):
    import numpy as np

    first, second = np.array(sorted(first), np.int64), np.array(sorted(second), np.int64)
    assert arrays.common_keys(first, second).tolist() == np.intersect1d(first, second).tolist()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(["prime", "minister", "peace", "talks", "council"]), min_size=2, max_size=3),
       with_arrays=st.booleans())
def test_a_phrase_scores_as_the_and_of_its_words_to_the_bit(searcher, words, with_arrays):
    """Only the phrases' documents are scored; each with the sum, to the bit, of its words' whole
    scores in the order the AND of them adds them: from the first word's, then the others' by
    their documents, fewest first."""
    found = evaluated(searcher, 'body:"' + " ".join(words) + '"', with_arrays)
    each = [evaluated(searcher, f"body:{word}", with_arrays) for word in words]
    order = [0, *sorted(range(1, len(words)), key=lambda number: len(each[number]))]
    for docnum, score in found.items():
        expected = each[0][docnum]
        for number in order[1:]:
            expected += each[number][docnum]
        assert score == expected, (words, docnum)


@BOTH_WAYS
def test_a_phrase_scores_only_its_documents(searcher, monkeypatch, with_arrays):
    """Its words' postings are scored only where the phrase stands, not wherever they occur."""
    scored = []
    operations = arrays.ArrayOperations if with_arrays else evaluation.DictOperations
    original = operations.scored

    def counted(self, fieldname, text, ids, weights):
        scored.append(len(ids))
        return original(self, fieldname, text, ids, weights)

    monkeypatch.setattr(operations, "scored", counted)
    if not with_arrays:  # dicts score a two-word phrase's words in one pass: one call for both
        together = operations.scored_together

        def counted_together(self, fieldname, words, ids, word_weights):
            scored.extend([len(ids)] * len(words))
            return together(self, fieldname, words, ids, word_weights)

        monkeypatch.setattr(operations, "scored_together", counted_together)
    found = evaluated(searcher, 'body:"prime minister"', with_arrays)
    assert found and scored == [len(found), len(found)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(query_parts, min_size=2, max_size=4), any_words=st.booleans())
def test_an_and_scored_where_all_match_scores_to_the_bit(searcher, parts, any_words):
    """With dicts, an AND of words (or ORs of them) intersects its parts' documents before it
    scores them: the same documents and, to the bit, the same scores as scoring them all."""
    text = " ".join(parts)
    try:
        where_all_match = evaluated(searcher, text, with_arrays=False, any_words=any_words)
    except QuerySyntaxError:
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Evaluator, "_scored_where_all_match", lambda self, *args: None)
        everywhere = evaluated(searcher, text, with_arrays=False, any_words=any_words)
    assert where_all_match == everywhere, text


@pytest.mark.parametrize("text", ["peace talks", "peace talks council", "date:2022-03-01..2022-03-14 peace", "title:peace talks"])
def test_an_and_of_words_scores_only_where_all_match(searcher, monkeypatch, text):
    """With dicts, a word's postings are scored only where the AND's other words are too."""
    scored = []
    original = evaluation.DictOperations.scored

    def counted(self, fieldname, word, ids, weights):
        scored.append(len(ids))
        return original(self, fieldname, word, ids, weights)

    monkeypatch.setattr(evaluation.DictOperations, "scored", counted)
    found = evaluated(searcher, text, with_arrays=False)
    assert found and scored and max(scored) <= len(found), (scored, len(found))



class CountedChecksums:
    """zlib for arrays.py, counting the checksums computed over a term's data (a memoryview)."""

    def __init__(self):
        import zlib

        self.over_data = 0
        self._crc32 = zlib.crc32

    def crc32(self, data, *start):
        self.over_data += isinstance(data, memoryview)
        return self._crc32(data, *start)


def keys_largest_first(found: "arrays.SegmentArrays") -> list[bytes]:
    """The file's term keys, the largest data first (ties in the file's order), and their sizes."""
    sizes = [end - start for _, start, _, end, _ in found._records.tolist()]
    order = sorted(range(len(sizes)), key=lambda index: -sizes[index])
    return [found._key(index) for index in order], [sizes[index] for index in order]


def largest_segment(searcher):
    return max((leaf for leaf, _ in searcher.reader().leaf_readers()), key=lambda leaf: leaf.doc_count_all())


def test_the_largest_terms_are_checked_once_within_the_budget(built, monkeypatch):
    """check_largest checks the checksums of the largest terms that its budget holds, so that a
    request forked afterwards finds them checked; the others are checked when first read."""
    counted = CountedChecksums()
    monkeypatch.setattr(arrays, "zlib", counted)
    with open_index(built).searcher(weighting=weighting()) as searcher:
        found = arrays.segment_arrays(largest_segment(searcher))
        keys, sizes = keys_largest_first(found)
        assert len(keys) > 3
        found.check_largest(sum(sizes[:3]) + sizes[3] - 1)
        assert counted.over_data == 3
        assert all(found.find(key) is not None for key in keys[:3])
        assert counted.over_data == 3
        assert found.find(keys[3]) is not None
        assert counted.over_data == 4


def test_terms_checked_ahead_are_refused_alike_when_damaged(built, tmp_path):
    copy = damaged_copy(built, tmp_path, overwrite_data)
    refused = 0
    with open_index(copy).searcher(weighting=weighting()) as ahead, open_index(copy).searcher(weighting=weighting()) as lazily:
        for (leaf, _), (other, _) in zip(ahead.reader().leaf_readers(), lazily.reader().leaf_readers()):
            checked, unchecked = arrays.segment_arrays(leaf), arrays.segment_arrays(other)
            if checked is None:
                continue
            checked.check_largest(1 << 40)
            keys, _ = keys_largest_first(unchecked)
            assert [checked.find(key) for key in keys] == [unchecked.find(key) for key in keys]
            refused += sum(unchecked.find(key) is None for key in keys)
    assert refused


def test_a_request_checks_again_a_file_changed_in_place_after_the_server_checked_it(built, tmp_path, monkeypatch):
    """The server checks the largest terms for the requests it forks, which trusted those checks:
    a sidecar written into in place after (a restore with rsync --inplace, another program) gave a
    served query "internal error: IndexError" (or ValueError) where one run by itself read around
    the damage."""
    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    texts = ("minister", '"prime minister"', "peace OR storm")
    with open_index(copy).searcher(weighting=weighting()) as searcher:
        files = [arrays.segment_arrays(leaf) for leaf, _ in searcher.reader().leaf_readers()]
        for found in files:
            if found is not None:
                found.check_largest(1 << 40)
        for path in sidecars(copy):
            overwrite_data(copy / path)
        pid = os.getpid()
        monkeypatch.setattr(os, "getpid", lambda: pid + 1)  # as in a request forked from the server
        for text in texts:
            assert evaluated(searcher, text, True) == pytest.approx(dict(evaluated_in(built, text)), rel=1e-12)


def test_the_server_checks_the_largest_terms_when_it_warms_an_index(built, monkeypatch):
    from archsearch import server
    from archsearch.engines.whoosh import store

    monkeypatch.setattr(store, "_open_searchers", None)
    store.keep_searchers_open()
    try:
        server.warm(built.resolve())
        counted = CountedChecksums()
        monkeypatch.setattr(arrays, "zlib", counted)  # what a request forked now inherits
        with store.index_searcher(built.resolve()) as searcher:
            files = [found for leaf, _ in searcher.reader().leaf_readers() if (found := arrays.segment_arrays(leaf))]
            assert files and all(found.find(keys_largest_first(found)[0][0]) is not None for found in files)
        assert counted.over_data == 0
    finally:
        store.close_kept_searchers()


def lexicon(searcher, fieldname: str) -> list[bytes]:
    return sorted(set(searcher.reader().lexicon(fieldname)))


@BOTH_WAYS
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), read_first=st.booleans())
def test_idf_is_whooshs_from_the_counts_reading_found(built, with_arrays, data, read_first):
    """BM25F's idf from the documents the postings arrays and term information counted in each
    segment, equal (==) to Whoosh's, for words every, some or no segment's arrays hold."""
    with open_index(built).searcher(weighting=weighting()) as searcher, \
            open_index(built).searcher(weighting=weighting()) as theirs:
        fieldname = data.draw(st.sampled_from(["body", "title", "exact"]))
        text = data.draw(st.sampled_from(lexicon(searcher, fieldname) + [b"zzznowhere"]))
        evaluator = Evaluator(searcher, arrays=with_arrays)
        evaluator.evaluate(parse_query("peace", searcher.schema).query)  # the operations made
        if read_first:
            evaluator._ops.postings(fieldname, text)
        assert evaluator._idf(searcher, fieldname, text) == theirs.idf(fieldname, text)


def test_segments_whose_arrays_hold_a_word_are_not_asked_its_term_information(searcher, monkeypatch):
    """A word is scored without a lookup of its term information (Whoosh's hash table) in the
    segments whose postings arrays hold it, for its idf too: only in the others."""
    from whoosh.codec.whoosh3 import W3TermsReader

    looked_up = []
    for name in ("term_info", "doc_frequency", "frequency"):
        original = getattr(W3TermsReader, name)
        monkeypatch.setattr(W3TermsReader, name, lambda self, fieldname, text, original=original:
                            looked_up.append((id(self), fieldname, text)) or original(self, fieldname, text))
    leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
    evaluator = Evaluator(searcher, arrays=True)
    evaluator.evaluate(parse_query("zebra", searcher.schema).query)  # numpy's operations made
    checked = 0
    for word in lexicon(searcher, "body"):
        held = [arrays.segment_arrays(leaf).term(b"body\0" + word) is not None for leaf in leaves]
        looked_up.clear()
        evaluator._ops.term_scores("body", word)
        asked = {terms for terms, fieldname, text in looked_up if (fieldname, text) == ("body", word)}
        assert asked <= {id(leaf._terms) for leaf, holds in zip(leaves, held) if not holds}, word
        checked += any(held)
    assert checked > 10


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_terms_postings_within_documents_are_those_of_its_whole_postings(searcher, data):
    """ArrayOperations.term_postings_within takes each segment's weights for the documents asked
    for only: the same documents and weights (==) as postings_within of the term's whole postings,
    whether its segments' arrays hold it, Whoosh's postings do, or deletions leave some out."""
    fieldname = data.draw(st.sampled_from(["body", "title", "exact", "undated"]))
    text = data.draw(st.sampled_from(lexicon(searcher, fieldname) + [b"zzznowhere"]))
    count = searcher.doc_count_all()
    docnums = sorted(data.draw(st.sets(st.integers(0, count - 1), max_size=count)))
    evaluator = Evaluator(searcher, arrays=True)
    evaluator.evaluate(parse_query("zebra", searcher.schema).query)  # numpy's operations made
    ops = evaluator._ops
    ids, weights, _ = ops.postings(fieldname, text)
    expected = ops.postings_within(ids, weights, docnums)
    found = ops.term_postings_within(fieldname, text, docnums)
    assert found[0].tolist() == expected[0].tolist()
    assert found[1].dtype == expected[1].dtype and found[1].tolist() == expected[1].tolist()


def test_a_warmed_index_s_requests_read_no_date_column(built, monkeypatch):
    """server.warm keeps the dates (a numeric column) with the reader its requests inherit: a date
    window and a sort by date then read no column (they read every segment's, 1.2 ms a request at
    100k); the same hits as an index searched without the server."""
    from archsearch import server
    from archsearch.engines.whoosh import store

    def searched():
        return [(found.total, [(hit.path, hit.score) for hit in found.hits]) for found in (
            search(built.resolve(), "minister", since="2022-03-05", until="2022-03-20", with_snippets=False, collapse_copies=False),
            search(built.resolve(), "minister", sort="newest", with_snippets=False, collapse_copies=False),
        )]

    expected = searched()
    monkeypatch.setattr(store, "_open_searchers", None)
    store.keep_searchers_open()
    try:
        server.warm(built.resolve())
        with monkeypatch.context() as patch:
            patch.setattr(Evaluator, "_read_sortable_values", refused)
            assert searched() == expected
    finally:
        store.close_kept_searchers()
    assert expected[0][0] and expected[1][0]


def test_a_numeric_column_is_read_once_per_reader(searcher, monkeypatch):
    from whoosh.searching import Searcher

    read = []
    whole = Evaluator._read_sortable_values
    monkeypatch.setattr(Evaluator, "_read_sortable_values", lambda self, name: read.append(name) or whole(self, name))
    with Searcher(searcher.ixreader, closereader=False, fromindex=searcher._ix) as other:
        assert Evaluator(searcher).sortable_values("date") is Evaluator(other).sortable_values("date")
    assert read == ["date"]


def refused(*args):
    raise AssertionError("a numeric column read in a request")


def array_operations(searcher):
    return arrays.ArrayOperations(Evaluator(searcher, arrays=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_terms_documents_are_looked_up_segment_by_segment_as_in_its_joined_numbers(searcher, data):
    """A term's postings read are kept segment by segment (TermPostings), their numbers as the
    segments hold them: looking documents up there finds what a lookup in the joined index-wide
    numbers finds, for the postings' weights (term_postings_within) and positions (word_positions),
    without joining them (fails where they are joined first)."""
    fieldname = data.draw(st.sampled_from(["body", "title", "exact", "undated"]))
    text = data.draw(st.sampled_from(lexicon(searcher, fieldname) + [b"zzznowhere"]))
    count = searcher.doc_count_all()
    docnums = sorted(data.draw(st.sets(st.integers(0, count - 1), max_size=count)))
    joined = array_operations(searcher)
    ids, weights, _ = joined.postings(fieldname, text)
    expected = joined.postings_within(ids, weights, docnums)
    positional = searcher.schema[fieldname].format.supports("positions")
    ops = array_operations(searcher)
    found = ops.term_postings_within(fieldname, text, docnums)
    assert found[0].tolist() == expected[0].tolist()
    assert found[1].dtype == expected[1].dtype and found[1].tolist() == expected[1].tolist()
    if positional:
        decode = evaluation._PositionsDecoder(searcher.schema[fieldname].format)
        assert ops.word_positions(fieldname, text, docnums, decode) == joined.word_positions(fieldname, text, docnums, decode)
    assert ops._postings[fieldname, text]._ids is None  # nothing joined
    assert ops.documents_of(fieldname, text).tolist() == ids.tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_terms_joined_numbers_and_weights_are_each_segments_in_a_row(searcher, data):
    """The index-wide numbers and float64 weights of a term, written segment by segment into one
    array each, are each segment's postings (deletions left out) offset and converted one by one,
    in the segments' order, whether the postings file holds the term there (weights stored, or
    counted from its positions) or Whoosh's postings do."""
    fieldname = data.draw(st.sampled_from(["body", "title", "exact", "undated", "date"]))
    text = data.draw(st.sampled_from(lexicon(searcher, fieldname) + [b"zzznowhere"]))
    ids, weights, _ = array_operations(searcher).postings(fieldname, text)
    expected_ids, expected_weights = [], []
    for leaf, base in searcher.reader().leaf_readers():
        try:
            matcher = leaf.postings(fieldname, text)
        except TermNotFound:
            continue
        deleted = leaf.deleted_docs_set or frozenset()
        while matcher.is_active():
            if matcher.id() not in deleted:
                expected_ids.append(base + matcher.id())
                expected_weights.append(matcher.weight())
            matcher.next()
    assert ids.dtype == np.int64 and ids.tolist() == expected_ids
    assert weights.dtype == np.float64 and weights.tolist() == expected_weights


@pytest.mark.parametrize("fewer", [True, False], ids=["fewer than 16", "16 or more"])
def test_the_dicts_read_a_title_term_from_the_file_from_16_documents_on(titled, monkeypatch, fewer):  # noqa: F811
    """The standard-library reader (Evaluator.listed_postings: a query in its own process) reads a
    title's term in 16 documents or more from the postings file, and one in fewer from Whoosh's
    blocks, though the file holds every term of the field (a block costs less than the file's
    opening and search)."""
    monkeypatch.setattr(postings_arrays, "SIDECAR_POSTINGS", WRITERS_POSTINGS)
    with open_index(titled).searcher() as searcher:
        (leaf, _), = searcher.reader().leaf_readers()
        held = arrays.segment_arrays(leaf)
        fieldname, term = next(
            (fieldname, term) for fieldname in ("derived_title", "title") for term in leaf.lexicon(fieldname)
            if (leaf.doc_frequency(fieldname, term) < 16) == fewer and held.term(fieldname.encode() + b"\0" + term) is not None
        )
        from_blocks = []
        whole_leaf_postings = Evaluator.leaf_postings

        def counted(self, asked, text, wanted=None, skipped=frozenset()):
            if (asked, text) == (fieldname, term) and 0 not in skipped:
                from_blocks.append(text)
            return whole_leaf_postings(self, asked, text, wanted, skipped)

        monkeypatch.setattr(Evaluator, "leaf_postings", counted)
        assert Evaluator(searcher, arrays=False).evaluate(Term(fieldname, term.decode("utf-8"))) is not None
    assert from_blocks == ([term] if fewer else [])
