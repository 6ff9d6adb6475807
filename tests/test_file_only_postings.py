"""Segments whose postings of the searched fields (postings_arrays.EVERY_TERM_FIELDS) only their
postings file holds, without Whoosh's blocks (segments.FILE_ONLY_FIELDS): the index reads the same
as one written with the blocks (terms, statistics, postings, lengths, stored fields), every kind of
query answers the same, mixed indexes and merges of both kinds too (and of segments written as
session 21 wrote them, with `exact`'s and `lead`'s blocks, or as session 22 did, with `lead`'s,
whose postings files are not written again), and a lost postings file of such a segment is named as
damage, in one line, with the fix."""

import hashlib
import os
import random
import shutil
from pathlib import Path

import pytest

from archsearch.coverage import timeline
from archsearch.engines.whoosh import evaluation, postings_arrays, segments
from archsearch.engines.whoosh.store import article_body, open_index, read_roots
from archsearch.indexing import update_index
from archsearch.related import similar
from archsearch.searching import search

from test_arrays_sidecar import build, evaluated, overwrite_data, truncate

WITH_BLOCKS = frozenset()  # segments.FILE_ONLY_FIELDS as written before: every field's blocks written
# FILE_ONLY_FIELDS and postings_arrays.EVERY_TERM_FIELDS as session 21 wrote segments: `exact`'s and
# `lead`'s blocks written, and the postings file holding their frequent terms only (without their
# EVERY_TERM_KEY); as session 22 wrote them: `lead`'s so.
SESSION_21 = frozenset({"title", "derived_title", "body"})
SESSION_22 = SESSION_21 | {"exact"}
OLDER_KINDS = (SESSION_21, SESSION_22)
FILE_ONLY = segments.FILE_ONLY_FIELDS

QUERIES = [
    "minister", "peace talks", '"prime minister"', '"talks peace border"', "pri*", "ministr~", "harbor~",
    "peace OR storm", "peace -talks", "peace NOT storm", "title:peace", "title:\"oil price\"",
    "date:2022-03-01..2022-03-10 peace", "peace NEAR talks", "zebra", "fishing vote council",
    # `exact`'s rarer words (a day of the month is in about 10 of a segment's 300 articles): prefix,
    # wildcard, fuzzy, exact forms, smart case
    "1*", "2?", "27~", "=march", "=5 =march", "TASS peace",
    # `lead:`, its rarer words too (a day of the month, an agency: in 2-65 of 200 articles' leads)
    "lead:peace", 'lead:"prime minister"', "lead:27", "lead:tass peace", "lead:(afp OR ntb) -lead:storm",
    "lead:1*", "lead:2?", "lead:27~",
]


def written_as(patch, kind: frozenset) -> None:
    """Segments written from now on with segments.FILE_ONLY_FIELDS `kind` (OLDER_KINDS: as those
    sessions wrote them)."""
    patch.setattr(segments, "FILE_ONLY_FIELDS", kind)
    patch.setattr(postings_arrays, "EVERY_TERM_FIELDS", kind if kind in OLDER_KINDS else FILE_ONLY)


def indexed(index_dir: Path, corpus: Path, file_only: frozenset, seed: int = 20261203) -> Path:
    """The same corpus each time (the seed), in several commits: two large segments, four small
    ones merged into one, deletions; each segment written with or without the blocks."""
    rng = random.Random(seed)
    with pytest.MonkeyPatch.context() as patch:
        written_as(patch, file_only)
        build(index_dir, corpus, [range(0, 300), range(300, 600)], rng)
        build(index_dir, corpus, [range(600 + 10 * n, 610 + 10 * n) for n in range(4)], rng, removed=range(3, 600, 17))
    return index_dir


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """(an index written with the blocks, the same written without them), of one corpus folder
    (the hits name its files)."""
    base = tmp_path_factory.mktemp("base")
    corpus = tmp_path_factory.mktemp("corpus")
    with_blocks = indexed(base / "index", corpus, WITH_BLOCKS)
    shutil.rmtree(corpus)
    corpus.mkdir()
    return with_blocks, indexed(base / "file-only", corpus, segments.FILE_ONLY_FIELDS)


# Stored fields that differ between two builds of one corpus: the time stamp, and the files' times
# (the corpus is written anew for each).
UNLIKE_STORED = {"indexed", "mtime_ns"}


def index_digest(index_dir: Path) -> dict:
    """What Whoosh's reader gives of the index, each part digested: every field's terms with their
    statistics and decoded postings (positions too), field lengths, stored fields (but UNLIKE_STORED)."""
    found = {}
    with open_index(index_dir).searcher() as searcher:
        reader = searcher.reader()
        for name in sorted(reader.indexed_field_names()):
            if name == "indexed":
                continue
            digest = hashlib.sha256()
            positional = reader.schema[name].format.supports("positions")
            for term in reader.lexicon(name):
                info = reader.term_info(name, term)
                digest.update(repr((term, info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                                    info.max_weight(), info.min_id(), info.max_id())).encode())
                matcher = reader.postings(name, term)
                while matcher.is_active():
                    value = matcher.value_as("positions") if positional else matcher.value()
                    digest.update(repr((matcher.id(), matcher.weight(), value)).encode())
                    matcher.next()
            found[name] = digest.hexdigest()
            found[f"{name} lengths"] = (reader.field_length(name),
                                        [reader.doc_field_length(docnum, name) for docnum in range(reader.doc_count_all())])
        found["stored"] = [
            sorted((key, value) for key, value in reader.stored_fields(docnum).items() if key not in UNLIKE_STORED)
            for docnum in range(reader.doc_count_all())
        ]
    return found


def segment_kinds(index_dir: Path) -> list[frozenset]:
    return [postings_arrays.file_only_fields(segment) for segment in open_index(index_dir)._segments()]


def answers(index_dir: Path, similar_to=("0010.txt", "0301.txt", "0605.txt")) -> list:
    """Every kind of query's output: hits (order, scores, snippets, matches) and counts, articles
    similar to those named, a timeline."""
    found = []
    for text in QUERIES:
        result = search(index_dir, text, limit=20)
        found.append((text, result.total, result.hits))
    found.append(search(index_dir, "peace", sort="newest", limit=20).hits)
    found.append(search(index_dir, "peace", since="2022-03-05", include_undated=True).hits)
    for reference in similar_to:
        found.append(similar(index_dir, reference).hits)
    found.append(timeline(index_dir, "peace OR storm", by="day").periods)
    return found


def test_new_segments_have_no_blocks_of_the_searched_fields(both):
    with_blocks, file_only = both
    assert segment_kinds(with_blocks) == [frozenset()] * 3
    assert segment_kinds(file_only) == [postings_arrays.EVERY_TERM_FIELDS] * 3

    def segment_bytes(index_dir):
        return sum(os.path.getsize(index_dir / name) for name in os.listdir(index_dir) if name.endswith(".seg"))

    assert segment_bytes(file_only) < segment_bytes(with_blocks)


def test_the_index_reads_the_same_without_the_blocks(both):
    with_blocks, file_only = both
    assert index_digest(file_only) == index_digest(with_blocks)


def test_every_kind_of_query_answers_the_same(both):
    with_blocks, file_only = both
    expected = answers(with_blocks)
    assert all(entry[1] for entry in expected[:4])  # words found
    assert answers(file_only) == expected


def test_whoosh_s_own_matchers_read_the_postings_file(both):
    """Whoosh's searcher (its collector, block qualities, highlighting) over postings read from the file."""
    from whoosh.qparser import QueryParser

    with_blocks, file_only = both
    results = []
    for index_dir in both:
        with open_index(index_dir).searcher() as searcher:
            query = QueryParser("body", searcher.schema).parse("minister OR peace OR storm")
            hits = searcher.search(query, limit=15)
            results.append([(hit.docnum, hit.score, hit.highlights("body", text=article_body(hit.fields(), searcher, hit.docnum)))
                            for hit in hits])
            leaf = searcher.reader().leaf_readers()[0][0]
            term = next(iter(leaf.lexicon("body")))
            if index_dir == file_only:
                matcher = leaf.postings("body", term)
                matcher = getattr(matcher, "child", matcher)
                assert type(matcher) is postings_arrays.file_postings_matcher()
                assert matcher.copy().block_min_length() == matcher.block_min_length()
    assert results[0] == results[1]


def test_the_file_s_matcher_answers_qualities_as_whoosh_s(both):
    """Its largest quality the scorer's, as Whoosh's block matchers answer (not scored again each time
    asked: a union of many terms, as `similar` makes, asks at every document), its one block's that
    of ListMatcher, its copy's the same."""
    from whoosh.matching import ListMatcher

    largest = []
    for index_dir in both:
        with open_index(index_dir).searcher() as searcher:
            leaf = searcher.reader().leaf_readers()[0][0]
            found = []
            for term in leaf.lexicon("body"):
                scorer = searcher.weighting.scorer(searcher, "body", term)
                matcher = leaf.postings("body", term, scorer=scorer)
                matcher = getattr(matcher, "child", matcher)
                found.append(matcher.max_quality())
                if index_dir == both[1]:
                    assert matcher.block_quality() == ListMatcher.block_quality(matcher) == matcher.copy().block_quality()
            largest.append(found)
    assert largest[0] == largest[1] and len(largest[0]) > 40


def test_a_word_is_looked_up_in_a_document_as_in_whoosh_s_blocks(both):
    """Whether a document holds a word (evaluation._holds: a hit's words of a listed prefix, without
    arrays), in segments without the blocks: the term's document numbers alone read from the file."""
    found = []
    for index_dir in both:
        with open_index(index_dir).searcher() as searcher:
            found.append([
                (fieldname, word, docnum, evaluation._holds(leaf, fieldname, word, docnum))
                for leaf, _ in searcher.reader().leaf_readers() for fieldname in ("exact", "body", "lead")
                for word in list(leaf.lexicon(fieldname))[::5] for docnum in range(0, leaf.doc_count_all(), 11)
            ])
    assert found[0] == found[1]
    assert {held for *_, held in found[0]} == {True, False}


def history(index_dir: Path, corpus: Path, first: frozenset, then: frozenset) -> Path:
    """An index of one segment of 200 articles written with segments.FILE_ONLY_FIELDS `first`, then
    of four small ones written with `then` (merged into one, deletions in the first); the corpus
    folder written anew, the same each time."""
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir()
    rng = random.Random(5)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "SMALLEST_TIER_DOCS", 100)  # the first segment is left out of the small ones' merge
        written_as(patch, first)
        build(index_dir, corpus, [range(0, 200)], rng)
        written_as(patch, then)
        build(index_dir, corpus, [range(200 + 10 * n, 210 + 10 * n) for n in range(4)], rng, removed=range(1, 200, 23))
    return index_dir


@pytest.mark.parametrize("kinds", [(WITH_BLOCKS, FILE_ONLY), (FILE_ONLY, WITH_BLOCKS), (SESSION_21, FILE_ONLY),
                                   (SESSION_22, FILE_ONLY)],
                         ids=["old then new", "new then old", "session 21 then new", "session 22 then new"])
def test_mixed_indexes_and_their_merges_read_the_same(tmp_path, kinds):
    """Segments of two kinds in one index, merged (a tier merge, then --compact) into one of the
    new kind, answer as the same history written with the blocks."""
    corpus = tmp_path / "corpus"
    with_blocks = history(tmp_path / "with blocks", corpus, WITH_BLOCKS, WITH_BLOCKS)
    similar_to = ("0010.txt", "0205.txt")
    expected = answers(with_blocks, similar_to)
    mixed = history(tmp_path / "mixed", corpus, *kinds)
    assert segment_kinds(mixed) == list(kinds)
    assert answers(mixed, similar_to) == expected
    for index_dir in (with_blocks, mixed):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(segments, "FILE_ONLY_FIELDS", WITH_BLOCKS if index_dir is with_blocks else FILE_ONLY)
            update_index(index_dir, [], compact=True)
    assert segment_kinds(mixed) == [FILE_ONLY]
    assert answers(mixed, similar_to) == answers(with_blocks, similar_to)
    assert index_digest(mixed) == index_digest(with_blocks)


@pytest.mark.parametrize("older", OLDER_KINDS, ids=["session 21", "session 22"])
def test_an_older_index_is_updated_without_writing_its_postings_files_again(tmp_path, older):
    """Segments written before `exact`'s or `lead`'s postings went to the postings file alone keep
    their files as they are (those fields' rarer terms read from Whoosh's blocks) when `archsearch
    index` adds segments of the new kind; both kinds answer as the same history written with the
    blocks."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    index_dir = tmp_path / "index"
    rng = random.Random(5)
    with pytest.MonkeyPatch.context() as patch:
        written_as(patch, older)
        build(index_dir, corpus, [range(0, 200)], rng)
    (old,) = open_index(index_dir)._segments()
    path = index_dir / postings_arrays.sidecar_name(old)
    before = (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes())
    listed = postings_arrays.ListedPostings(str(path), old.doc_count_all())
    assert all(map(listed.holds_every_term, older)) and not any(map(listed.holds_every_term, FILE_ONLY - older))
    listed.close()
    assert postings_arrays.missing_parts(str(index_dir), old) == frozenset()
    build(index_dir, corpus, [range(200, 210), range(210, 220)], rng)
    assert segment_kinds(index_dir) == [older, FILE_ONLY, FILE_ONLY]
    assert (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes()) == before
    with_blocks = tmp_path / "with blocks"
    shutil.rmtree(corpus)
    corpus.mkdir()
    rng = random.Random(5)  # the same articles, written anew
    with pytest.MonkeyPatch.context() as patch:
        written_as(patch, WITH_BLOCKS)
        build(with_blocks, corpus, [range(0, 200)], rng)
        build(with_blocks, corpus, [range(200, 210), range(210, 220)], rng)
    similar_to = ("0010.txt", "0205.txt")
    assert answers(index_dir, similar_to) == answers(with_blocks, similar_to)
    assert index_digest(index_dir) == index_digest(with_blocks)


def prefix_corpus(corpus: Path, words: list[str]) -> None:
    corpus.mkdir(exist_ok=True)
    for word in words:
        (corpus / f"{len(os.listdir(corpus)):04d}.txt").write_text(f"Zq {word}\n\nPeace talks and {word} near the border.\n",
                                                               encoding="utf-8")


def test_a_prefix_walked_in_a_segment_without_its_entry_reads_the_postings_file(tmp_path):
    """A prefix of many words (a segment's prefix entry lists them) whose words are few in another
    segment (no entry there: its words' postings walked, evaluation.walked_documents) reads that
    segment's `exact` postings from the postings file, and matches as with Whoosh's blocks."""
    many = [f"zqx{letter}{other}" for letter in "abcdefgh" for other in "abc"]
    corpus = tmp_path / "corpus"
    found = []
    for kind in (WITH_BLOCKS, FILE_ONLY):
        shutil.rmtree(corpus, ignore_errors=True)
        index_dir = tmp_path / f"index {sorted(kind)}"
        with pytest.MonkeyPatch.context() as patch:
            written_as(patch, kind)
            prefix_corpus(corpus, many)
            update_index(index_dir, [str(corpus)])
            prefix_corpus(corpus, many[:2])
            update_index(index_dir, [str(corpus)])
        assert segment_kinds(index_dir) == [kind, kind]
        with open_index(index_dir).searcher() as searcher:
            found.append([(search(index_dir, text, limit=50).hits, evaluated(searcher, text, False),
                           evaluated(searcher, text, True)) for text in ("zqx*", "zqx* peace")])
        assert len(found[-1][0][1]) == len(many) + 2
    assert found[0] == found[1]


def file_only_copy(both, tmp_path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(both[1], copy)
    return copy


def a_postings_file(index_dir: Path) -> Path:
    return index_dir / postings_arrays.sidecar_name(open_index(index_dir)._segments()[0])


def remove(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize("damage", [remove, truncate, overwrite_data], ids=["missing", "truncated", "overwritten"])
def test_a_lost_postings_file_is_named_in_one_line_with_the_fix(both, tmp_path, run_cli, monkeypatch, damage):
    copy = file_only_copy(both, tmp_path)
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(copy))
    damage(a_postings_file(copy))
    commands = [("query", "minister"), ("query", '"prime minister"'), ("timeline", "peace"), ("kwic", "peace")]
    if damage is overwrite_data:  # seen only where the file is read: a merge reads every segment's
        commands.append(("index", "--compact"))
    for command in commands:
        result = run_cli(*command)
        assert result.exit_code == 2, (command, result.output)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and "'archsearch index --rebuild'" in lines[0] and "postings file" in lines[0], lines
    assert run_cli("index", "--rebuild").exit_code == 0
    assert run_cli("query", "minister").exit_code == 0
    assert set(segment_kinds(copy)) == {postings_arrays.EVERY_TERM_FIELDS}


@pytest.mark.parametrize("damage", [remove, truncate], ids=["missing", "truncated"])
def test_index_indexes_again_the_articles_of_a_lost_postings_file(both, tmp_path, run_cli, monkeypatch, damage):
    """`archsearch index` drops the segment whose postings file is missing or truncated, and reads
    its articles' files again, nothing else: the same articles match every query, and once the
    deleted documents are merged away (they count in Whoosh's statistics), with the same scores
    as a fresh build."""
    copy = file_only_copy(both, tmp_path)
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(copy))
    lost = open_index(copy)._segments()[0]
    damage(a_postings_file(copy))
    result = run_cli("index")
    assert result.exit_code == 0, result.output
    assert f"its {lost.doc_count()} articles are indexed again" in result.stderr
    assert f"added {lost.doc_count()}," in result.output + result.stderr
    assert lost.segment_id() not in {segment.segment_id() for segment in open_index(copy)._segments()}
    assert matching(copy) == matching(both[1])
    assert "added 0," in (again := run_cli("index")).output + again.stderr
    fresh = tmp_path / "fresh"
    update_index(fresh, read_roots(copy))
    for index_dir in (copy, fresh):
        update_index(index_dir, [], compact=True)
    assert scored(copy) == scored(fresh)


def matching(index_dir: Path) -> list:
    return [(text, sorted(hit.id for hit in search(index_dir, text, limit=0).hits)) for text in QUERIES]


def scored(index_dir: Path) -> list:
    return [(text, sorted((hit.id, round(hit.score, 9)) for hit in search(index_dir, text, limit=0).hits)) for text in QUERIES]


def test_a_reader_opened_before_a_commit_removed_its_files_still_reads_them(both, tmp_path):
    """A query while `archsearch index` runs: a commit deletes the files of the segments it merges
    away, the postings file too, and a searcher opened before reads them still (as it reads
    Whoosh's own files it opened), never "missing or damaged"."""
    from whoosh.qparser import QueryParser

    copy = tmp_path / "index"
    shutil.copytree(both[1], copy)
    with open_index(copy).searcher() as searcher:
        query = QueryParser("body", searcher.schema).parse("minister OR peace OR storm")
        before = [(hit.docnum, hit.score) for hit in searcher.search(query, limit=15)]
    with open_index(copy).searcher() as searcher:
        for path in copy.glob("*.postings"):
            path.unlink()
        assert before and [(hit.docnum, hit.score) for hit in searcher.search(query, limit=15)] == before
