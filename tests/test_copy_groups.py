"""Groups of near-identical articles, made at index time and kept up to date as files come, change
and go: however the index got to hold its articles, it groups them as a fresh build would."""

import json
import os
import shutil
import sqlite3
import tempfile
from array import array
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from archsearch.indexing import update_index
from archsearch.engines.whoosh.store import MANIFEST_FILE
from archsearch.nearduplicates import (
    COPY_TABLES, NEAR_DUPLICATE, ROWS_PER_BAND, SKETCH_SIZE, _AGREEING_OF_A_COPY, _BANDS_OF_A_COPY, CopyGroups, band_keys,
    comparable, copies_of, copy_groups, pack, resemblance, uri_path,
)
from archsearch.searching import search
from archsearch.engines.whoosh.store import open_index
from conftest import build_index, wire, write_corpus

BASE = tuple(range(1000, 1000 + SKETCH_SIZE))


def edited(signature: tuple[int, ...], positions: range, mark: int) -> tuple[int, ...]:
    return tuple(mark + position if position in positions else value for position, value in enumerate(signature))


# A chain: A and B are copies, B and C are copies, A and C are not (each edit changes 5 of 32 buckets).
A = BASE
B = edited(A, range(0, 5), 5000)
C = edited(B, range(5, 10), 6000)


def groups_in(db) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for file, group in db.execute("SELECT file, grp FROM sketches"):
        groups.setdefault(group, set()).add(file.decode())
    return {frozenset(members) for members in groups.values()}


def memory_groups() -> tuple[sqlite3.Connection, CopyGroups]:
    db = sqlite3.connect(":memory:")
    db.executescript(COPY_TABLES)
    return db, CopyGroups(db)


def test_the_signatures_make_a_chain():
    assert resemblance(A, B) >= 0.8 and resemblance(B, C) >= 0.8 and resemblance(A, C) < 0.8


def test_a_copy_of_a_copy_is_in_the_group_whatever_the_order():
    for order in ([("a", A), ("b", B), ("c", C)], [("a", A), ("c", C), ("b", B)], [("c", C), ("a", A), ("b", B)]):
        db, groups = memory_groups()
        for name, signature in order:
            groups.update((), [(name, None, pack(signature))])
        assert groups_in(db) == {frozenset("abc")}


def test_an_added_article_is_compared_with_the_articles_sharing_a_band_not_they_with_each_other():
    """Groups that lost no article stay components: adding an article to an index whose articles
    share a band compares it with each of them, not every pair of them again (at 1M that made
    each commit slower as the index grew).  Seen here through two old copies left in groups of
    their own (a state no run makes): the new article, a copy of neither, must not join them."""
    db, groups = memory_groups()
    groups.update((), [("old1", None, pack(A))])
    groups.update((), [("old2", None, pack(B))])
    db.execute("UPDATE sketches SET grp = id")
    assert groups_in(db) == {frozenset(["old1"]), frozenset(["old2"])}
    # Shares A's and B's last band (4 buckets) and nothing else: a candidate, never a copy.
    groups.update((), [("new", None, pack(edited(A, range(0, SKETCH_SIZE - 4), 20_000)))])
    assert groups_in(db) == {frozenset(["old1"]), frozenset(["old2"]), frozenset(["new"])}


def test_copies_sharing_only_the_fewest_bands_a_copy_can_are_grouped():
    """Copies differing in as many buckets as copies can, each in a band of its own, share only
    _BANDS_OF_A_COPY bands: enough to be compared."""
    differing = SKETCH_SIZE - _AGREEING_OF_A_COPY
    copy = edited(A, range(0, differing * ROWS_PER_BAND, ROWS_PER_BAND), 50_000)
    assert resemblance(A, copy) >= NEAR_DUPLICATE
    assert len(set(band_keys(A)) & set(band_keys(copy))) == _BANDS_OF_A_COPY
    one_more = edited(copy, range(differing * ROWS_PER_BAND, differing * ROWS_PER_BAND + 1), 60_000)
    assert resemblance(A, one_more) < NEAR_DUPLICATE
    db, groups = memory_groups()
    groups.update((), [("a", None, pack(A))])
    groups.update((), [("copy", None, pack(copy)), ("one_more", None, pack(one_more))])
    assert groups_in(db) == {frozenset(["a", "copy", "one_more"])}  # one_more is copy's copy
    db, groups = memory_groups()
    groups.update((), [("a", None, pack(A))])
    groups.update((), [("one_more", None, pack(one_more))])
    assert groups_in(db) == {frozenset(["a"]), frozenset(["one_more"])}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, SKETCH_SIZE - 1), max_size=SKETCH_SIZE))
def test_copies_share_at_least_bands_of_a_copy(changed):
    """Whichever buckets a copy differs in, it shares _BANDS_OF_A_COPY bands or more with the
    original, so that comparing only the articles sharing that many loses no copy."""
    copy = tuple(70_000 + position if position in changed else value for position, value in enumerate(A))
    if resemblance(A, copy) >= NEAR_DUPLICATE:
        assert len(set(band_keys(A)) & set(band_keys(copy))) >= _BANDS_OF_A_COPY


def test_candidates_are_compared_a_slice_at_a_time(monkeypatch):
    """Candidate pairs are compared _PAIRS_AT_ONCE at a time, with the same groups however many."""
    from archsearch import nearduplicates

    added = [(f"copy{number}", None, pack(edited(A, range(number % 5, number % 5 + 1), 30_000 + number))) for number in range(12)]
    added += [(f"other{number}", None, pack(edited(A, range(4, SKETCH_SIZE), 40_000 * (number + 1)))) for number in range(6)]
    expected = {frozenset(f"copy{number}" for number in range(12))} | {frozenset([f"other{number}"]) for number in range(6)}
    for pairs_at_once in (1 << 15, 7, 1):
        monkeypatch.setattr(nearduplicates, "_PAIRS_AT_ONCE", pairs_at_once)
        db, groups = memory_groups()
        groups.update((), added[:6])
        groups.update((), added[6:])
        assert groups_in(db) == expected


# A sketch: A with some buckets changed, each to one of a few values (so that sketches made apart
# share bands, and pairs fall on both sides of NEAR_DUPLICATE).
sketches = st.builds(
    lambda changes: tuple(5000 * changes[position] + position if position in changes else value
                          for position, value in enumerate(A)),
    st.dictionaries(st.integers(0, SKETCH_SIZE - 1), st.integers(1, 3), max_size=14),
)


def leaders_are_first(db) -> bool:
    """Whether each group is named after its first article by file."""
    first = dict(db.execute("SELECT grp, MIN(file) FROM sketches GROUP BY grp"))
    return all(first[group] == file for group, file in db.execute("SELECT s.grp, g.file FROM sketches s JOIN sketches g ON g.id = s.grp"))


def components(signatures: dict[str, tuple[int, ...]]) -> set[frozenset[str]]:
    """The groups by their definition: components of the relation of articles sharing a band and
    resembling each other, every pair compared."""
    group_of = {name: frozenset([name]) for name in signatures}
    for first, second in combinations(sorted(signatures), 2):
        if (set(band_keys(signatures[first])) & set(band_keys(signatures[second]))
                and resemblance(signatures[first], signatures[second]) >= NEAR_DUPLICATE):
            joined = group_of[first] | group_of[second]
            group_of.update(dict.fromkeys(joined, joined))
    return {group for name, group in group_of.items() if comparable(signatures[name])}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.none() | sketches), max_size=14), st.sampled_from([1, 3, 1 << 15]))
def test_groups_after_any_changes_are_those_of_the_articles_added_at_once(changes, pairs_at_once):
    """Articles added, changed and removed one update at a time end up grouped as when the last
    of them are added together, and as every pair compared groups them, however many candidate
    pairs are compared at once."""
    from archsearch import nearduplicates

    kept = nearduplicates._PAIRS_AT_ONCE
    nearduplicates._PAIRS_AT_ONCE = pairs_at_once
    try:
        db, groups = memory_groups()
        current = {}
        for name, signature in changes:
            removed = [name] if name in current else []
            current.pop(name, None)
            if signature is not None:
                current[name] = signature
            groups.update(removed, [(name, None, pack(signature))] if signature is not None else [])
        fresh_db, fresh = memory_groups()
        fresh.update((), [(name, None, pack(signature)) for name, signature in sorted(current.items())])
    finally:
        nearduplicates._PAIRS_AT_ONCE = kept
    assert groups_in(db) == groups_in(fresh_db) == components(current)
    assert leaders_are_first(db)


def test_removing_the_link_of_a_chain_splits_the_group():
    db, groups = memory_groups()
    groups.update((), [("a", None, pack(A)), ("b", None, pack(B)), ("c", None, pack(C))])
    groups.update(["b"], [])
    assert groups_in(db) == {frozenset("a"), frozenset("c")}


def test_removing_the_first_article_of_a_group_leaves_the_others_grouped_under_one_still_there():
    db, groups = memory_groups()
    groups.update((), [("a", None, pack(A)), ("b", None, pack(B)), ("b2", None, pack(B))])
    [(first,)] = db.execute("SELECT DISTINCT grp FROM sketches").fetchall()
    assert db.execute("SELECT file FROM sketches WHERE id = ?", (first,)).fetchone() == (b"a",)
    groups.update(["a"], [])
    assert groups_in(db) == {frozenset({"b", "b2"})}
    [(group,)] = db.execute("SELECT DISTINCT grp FROM sketches").fetchall()
    assert db.execute("SELECT file FROM sketches WHERE id = ?", (group,)).fetchone() == (b"b",)


def test_a_short_body_is_never_grouped():
    db, groups = memory_groups()
    one_word_over_and_over = (7,) * SKETCH_SIZE
    groups.update((), [("a", None, pack(A)), ("s", None, pack(one_word_over_and_over))])
    assert groups_in(db) == {frozenset("a")}


# --------------------------------------------------------------------------- on real files

STORIES = [
    " ".join(f"river{n} flood{n * 7 % 13} valley{n % 5}" for n in range(40)),
    " ".join(f"summit{n} talks{n * 3 % 11} minister{n % 7}" for n in range(40)),
]


def story_text(story: int, edits: frozenset[int], short: bool) -> str:
    """A story with some of its words changed: versions one edit apart are copies, two apart may
    not be, so chains form and break as files change."""
    words = STORIES[story].split()
    for edit in edits:
        words[edit * 12 + 3] = words[edit * 12 + 8] = f"edit{edit}"
    body = " ".join(words[:6] if short else words)
    return wire("2021-03-01", "OSLO, March 1. /NTB/.", body)


texts = st.builds(story_text, st.integers(0, 1), st.frozensets(st.integers(0, 3), max_size=2), st.booleans())


def copy_partition(index_dir: Path) -> set[frozenset[str]]:
    """Each article's group (itself and its copies) by article id, as queries see them."""
    with open_index(index_dir).searcher() as searcher, copy_groups(index_dir) as groups:
        documents = dict(searcher.iter_docs())
        return {frozenset(documents[member]["path"] for member in [docnum, *copies_of(searcher, groups, docnum, fields, None)])
                for docnum, fields in documents.items()}


class Grouping(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.base = Path(tempfile.mkdtemp(prefix="archsearch-copies-"))
        self.corpus = self.base / "corpus"
        self.corpus.mkdir()
        self.index_dir = self.base / "index"

    def teardown(self):
        shutil.rmtree(self.base, ignore_errors=True)

    @rule(name=st.sampled_from(["a.txt", "b.txt", "c.txt", "d.txt", "sub/e.txt"]), text=texts)
    def write(self, name, text):
        (self.corpus / name).parent.mkdir(exist_ok=True)
        (self.corpus / name).write_text(text, encoding="utf-8")

    @rule(records=st.lists(texts, max_size=3))
    def write_container(self, records):
        lines = "".join(json.dumps({"title": f"record {n}", "text": text}) + "\n" for n, text in enumerate(records))
        (self.corpus / "feed.jsonl").write_text(lines, encoding="utf-8")

    @rule(name=st.sampled_from(["a.txt", "b.txt", "c.txt", "feed.jsonl"]))
    def delete(self, name):
        (self.corpus / name).unlink(missing_ok=True)

    @rule(commit_every=st.integers(1, 3))
    def run_index(self, commit_every):
        update_index(self.index_dir, [str(self.corpus)], commit_every=commit_every)

    @invariant()
    def the_groups_are_those_of_a_fresh_build(self):
        if not (self.index_dir / MANIFEST_FILE).exists():
            return
        update_index(self.index_dir, [str(self.corpus)])
        fresh = self.base / "fresh"
        shutil.rmtree(fresh, ignore_errors=True)
        update_index(fresh, [str(self.corpus)])
        # A first build that finds nothing it can index makes no index: no groups.
        assert copy_partition(self.index_dir) == (copy_partition(fresh) if fresh.exists() else set())


Grouping.TestCase.settings = settings(
    max_examples=25, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_grouping = Grouping.TestCase


def test_a_copy_added_later_joins_the_group_in_queries(tmp_path):
    first = story_text(0, frozenset(), False)
    index = build_index(tmp_path, {"one.txt": first, "other.txt": story_text(1, frozenset(), False)})
    assert [hit.copies for hit in search(index, "river0").hits] == [()]
    (tmp_path / "corpus" / "two.txt").write_text(story_text(0, frozenset({1}), False), encoding="utf-8")
    update_index(index, [str(tmp_path / "corpus")])
    [hit] = search(index, "river0").hits
    assert sorted([hit.id, *hit.copies]) == ["one.txt", "two.txt"]
    (tmp_path / "corpus" / "one.txt").unlink()
    update_index(index, [str(tmp_path / "corpus")])
    assert [(hit.id, hit.copies) for hit in search(index, "river0").hits] == [("two.txt", ())]


def test_a_run_killed_before_recording_its_commit_leaves_groups_the_next_run_completes(tmp_path, monkeypatch):
    from archsearch.manifest import Manifest

    index = build_index(tmp_path, {"one.txt": story_text(0, frozenset(), False)})
    (tmp_path / "corpus" / "two.txt").write_text(story_text(0, frozenset({1}), False), encoding="utf-8")

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(Manifest, "record", killed)
        try:
            update_index(index, [str(tmp_path / "corpus")])
        except Killed:
            pass
    assert copy_partition(index) == {frozenset({"one.txt"}), frozenset({"two.txt"})}  # one commit behind
    update_index(index, [str(tmp_path / "corpus")])
    assert copy_partition(index) == {frozenset({"one.txt", "two.txt"})}


def test_an_index_updated_by_an_older_version_is_grouped_by_the_next_run(tmp_path):
    index = build_index(tmp_path, {"one.txt": story_text(0, frozenset(), False),
                                   "two.txt": story_text(0, frozenset({1}), False)})
    with sqlite3.connect(index / MANIFEST_FILE) as db:  # a record as the version before groups made it
        db.executescript("DROP TABLE sketches; DROP TABLE bands; UPDATE settings SET value = '2' WHERE name = 'format';")
    assert [hit.copies for hit in search(index, "river0", collapse_copies=True).hits] == [(), ()]
    update_index(index, [])
    [hit] = search(index, "river0").hits
    assert sorted([hit.id, *hit.copies]) == ["one.txt", "two.txt"]


def recorded_and_stored_sketches(index_dir: Path) -> tuple[set, dict]:
    """The record's (file, record, sketch) of each article compared, and each article's stored sketch."""
    with sqlite3.connect(index_dir / MANIFEST_FILE) as db:
        recorded = {(os.fsdecode(file), record, tuple(array("I", packed)))
                    for file, record, packed in db.execute("SELECT file, record, sketch FROM sketches")}
    with open_index(index_dir).searcher() as searcher:
        stored = {(fields["key"], fields.get("record")): fields["sketch"] for fields in searcher.all_stored_fields()}
    return recorded, stored


@pytest.mark.parametrize("jobs, at_once, waiting_chars", [(1, 3, 1 << 20), (1, 64, 1 << 20), (1, 64, 2000), (2, 3, 1 << 20)])
def test_each_article_has_its_sketch_whichever_articles_were_sketched_together(
    tmp_path, monkeypatch, jobs, at_once, waiting_chars
):
    """Articles are sketched as they are added, a few at a time (indexing.LANGUAGES_AT_ONCE, or
    fewer holding WAITING_CHARS; a worker's as it has them), and a file's outcome waits for its
    articles' sketches: the index and the record hold each article's own, a container's by record,
    as when each is sketched alone."""
    from archsearch import indexing

    texts = {f"{story}-{edit}-{short}.txt": story_text(story, frozenset({edit}), short)
             for story in (0, 1) for edit in range(4) for short in (False, True)}
    feed = [story_text(1, frozenset({edit, 3}), short) for edit in range(3) for short in (False, True)]
    texts["feed.jsonl"] = "".join(json.dumps({"title": f"record {n}", "text": text}) + "\n" for n, text in enumerate(feed))
    corpus = write_corpus(tmp_path / "corpus", texts)
    monkeypatch.setattr(indexing, "MIN_FILES_PER_WORKER", 1)
    monkeypatch.setattr(indexing, "LANGUAGES_AT_ONCE", 1)
    update_index(tmp_path / "alone", [str(corpus)])
    monkeypatch.setattr(indexing, "LANGUAGES_AT_ONCE", at_once)
    monkeypatch.setattr(indexing, "WAITING_CHARS", waiting_chars)
    update_index(tmp_path / "together", [str(corpus)], jobs=jobs)
    recorded, stored = recorded_and_stored_sketches(tmp_path / "alone")
    assert 0 < len(recorded) < len(stored) == 16 + 6  # the short files too short to compare
    assert recorded_and_stored_sketches(tmp_path / "together") == (recorded, stored)


@pytest.mark.parametrize("folder", ["with space %41 ?x #y", "ünïcödé", os.fsdecode(b"not utf-8 \xff")])
def test_copies_are_found_in_an_index_whatever_its_folder_is_named(tmp_path, folder):
    """Its record of copies is opened read-only by a file: URI, whose path the name is encoded in."""
    index = build_index(tmp_path / folder, {
        "one.txt": story_text(0, frozenset(), False), "two.txt": story_text(0, frozenset({1}), False),
    })
    [hit] = search(index, "river0").hits
    assert sorted([hit.id, *hit.copies]) == ["one.txt", "two.txt"]


@given(st.text())
def test_a_path_in_a_uri_is_encoded_as_urllib_encodes_it(path):
    from urllib.parse import quote

    try:
        expected = quote(path)
    except UnicodeEncodeError:  # a name that is no UTF-8: its bytes, as the file system has them
        expected = quote(os.fsencode(path))
    assert uri_path(path) == expected
