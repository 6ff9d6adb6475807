import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archsearch.errors import ArchsearchError
from archsearch.indexing import update_index
from archsearch.engines.whoosh.store import open_index, read_roots
from archsearch.manifest import Manifest
from archsearch.engines.whoosh.store import MANIFEST_FILE
from conftest import WEB_SEED, WIRE_SEED, wire, write_corpus


def stored_documents(index_dir):
    with open_index(index_dir).searcher() as searcher:
        return {fields["path"]: fields for fields in searcher.all_stored_fields()}


def numbered_articles(count: int, start: int = 0) -> dict[str, str]:
    """Small wire articles, each with words of its own, 40 to a folder."""
    return {
        f"{number // 40:03d}/article{number:05d}.txt": wire(
            f"2021-{number % 12 + 1:02d}-{number % 28 + 1:02d}",
            "OSLO, March 1. /NTB/.",
            f"Report number {number} on topic{number % 7} mentions zebra{number}. "
            + " ".join(f"Sentence {part} of report {number} talks about harbour{part} and fjord{number % 13}."
                       for part in range(20)),
        )
        for number in range(start, start + count)
    }


def index_state(index_dir, recorded: bool = True) -> dict[str, tuple]:
    """What the index holds, checked for consistency: key -> (title, date, root), one per file.

    `recorded`: also check that the record of indexed files agrees (not so after a kill, until
    the next run).
    """
    with open_index(index_dir).searcher() as searcher:
        documents = [(fields["key"], (fields["title"], fields.get("date"), fields["root"]))
                     for fields in searcher.all_stored_fields()]
    state = dict(documents)
    assert len(state) == len(documents), "a file is indexed more than once"
    if recorded:
        manifest = Manifest(Path(index_dir) / MANIFEST_FILE)
        try:
            assert manifest.indexed_count() == len(state), "the record of indexed files disagrees with the index"
        finally:
            manifest.close()
    return state


def test_seed_corpus_is_indexed_with_clean_metadata(seeds_copy, index_dir):
    report = update_index(index_dir, [str(seeds_copy)])
    assert (report.added, report.total, report.skipped) == (2, 2, [])
    documents = stored_documents(index_dir)
    assert set(documents) == {WIRE_SEED, WEB_SEED}
    wire, web = documents[WIRE_SEED], documents[WEB_SEED]
    assert (wire["date"], wire["source"], wire["place"]) == (20211210, "TASS", "Kabul")
    assert wire["title"].startswith("The Taliban radical militant group")
    assert web["title"] == "ISIS loyalists as active as ever in Afghanistan: Russian Foreign Ministry"
    assert (web["source"], web["place"], web["section"]) == ("Pashtun Times", "Kabul", "Afghanistan")
    assert "date" not in web  # undated, never invented
    assert web["key"] == str(seeds_copy.resolve() / WEB_SEED)


def test_second_run_reads_nothing_again(seeded_index, seeds_copy):
    report = update_index(seeded_index, [])
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 2)


def test_changed_file_is_updated_not_duplicated(seeded_index, seeds_copy):
    wire = seeds_copy / WIRE_SEED
    wire.write_text(wire.read_text(encoding="utf-8") + "\n\nA new paragraph about zebras.", encoding="utf-8")
    report = update_index(seeded_index, [])
    assert (report.added, report.updated, report.total) == (0, 1, 2)


def test_touched_but_identical_file_counts_as_unchanged(seeded_index, seeds_copy):
    wire = seeds_copy / WIRE_SEED
    stat = wire.stat()
    os.utime(wire, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    report = update_index(seeded_index, [])
    assert (report.updated, report.unchanged) == (0, 2)


def test_deleted_file_is_removed(seeded_index, seeds_copy):
    (seeds_copy / WEB_SEED).unlink()
    report = update_index(seeded_index, [])
    assert (report.removed, report.total) == (1, 1)
    assert set(stored_documents(seeded_index)) == {WIRE_SEED}


def test_unreadable_files_are_skipped_and_the_rest_indexed(seeds_copy, index_dir):
    (seeds_copy / "empty.txt").write_bytes(b"")
    (seeds_copy / "image.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" * 50)
    report = update_index(index_dir, [str(seeds_copy)])
    assert report.added == 2
    assert sorted(Path(path).name for path, _ in report.skipped) == ["empty.txt", "image.jpg"]
    assert all(reason for _, reason in report.skipped)


def test_files_in_subfolders_are_found_and_hidden_ones_ignored(tmp_path, index_dir, seeds_copy):
    nested = seeds_copy / "2021" / "december"
    nested.mkdir(parents=True)
    (seeds_copy / WIRE_SEED).rename(nested / WIRE_SEED)
    (seeds_copy / ".hidden").mkdir()
    (seeds_copy / ".hidden" / "x.txt").write_text("date 2021-01-01 hidden article", encoding="utf-8")
    update_index(index_dir, [str(seeds_copy)])
    assert set(stored_documents(index_dir)) == {f"2021/december/{WIRE_SEED}", WEB_SEED}


def test_index_remembers_its_folders(tmp_path, index_dir, seeds_copy):
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text(" date 2020-05-01 PARIS, May 1. /AFP/. Paris news.", encoding="utf-8")
    update_index(index_dir, [str(seeds_copy)])
    update_index(index_dir, [str(other)])
    assert read_roots(index_dir) == sorted([str(seeds_copy.resolve()), str(other.resolve())])
    report = update_index(index_dir, [])
    assert (report.unchanged, report.total) == (3, 3)


def test_new_index_without_folder_uses_seeds_in_current_folder(tmp_path, index_dir, seeds_copy):
    report = update_index(index_dir, [], cwd=seeds_copy.parent)
    assert report.roots == [str(seeds_copy.resolve())]
    assert report.total == 2


def test_new_index_without_folder_or_seeds_is_a_clear_error(tmp_path, index_dir):
    with pytest.raises(ArchsearchError, match="no folder to index"):
        update_index(index_dir, [], cwd=tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path, index_dir):
    with pytest.raises(ArchsearchError, match="no such folder"):
        update_index(index_dir, [str(tmp_path / "nope")])


def test_refuses_to_create_an_index_in_a_folder_of_other_files(tmp_path, seeds_copy):
    with pytest.raises(ArchsearchError, match="not empty"):
        update_index(seeds_copy, [str(seeds_copy)])
    assert sorted(p.name for p in seeds_copy.iterdir()) == [WIRE_SEED, WEB_SEED]


def test_searching_without_an_index_is_a_clear_error(tmp_path):
    with pytest.raises(ArchsearchError, match="no index at"):
        open_index(tmp_path / "missing")


def test_renamed_file_is_indexed_once_under_its_new_name(seeded_index, seeds_copy):
    (seeds_copy / WEB_SEED).rename(seeds_copy / "renamed.txt")
    report = update_index(seeded_index, [])
    assert (report.added, report.removed, report.total) == (1, 1, 2)
    assert set(stored_documents(seeded_index)) == {WIRE_SEED, "renamed.txt"}


def test_rebuild_reads_every_file_again(seeded_index, seeds_copy):
    report = update_index(seeded_index, [], rebuild=True)
    assert (report.added, report.unchanged, report.total) == (2, 0, 2)
    assert set(index_state(seeded_index)) == {str(seeds_copy.resolve() / name) for name in (WIRE_SEED, WEB_SEED)}


def test_rebuild_replaces_an_index_of_another_version(seeded_index, seeds_copy):
    from whoosh.fields import ID, Schema
    from whoosh.index import create_in

    shutil.rmtree(seeded_index)
    seeded_index.mkdir()
    writer = create_in(str(seeded_index), Schema(name=ID(stored=True))).writer()
    writer.add_document(name="old")
    writer.commit()
    with pytest.raises(ArchsearchError, match="--rebuild"):
        update_index(seeded_index, [str(seeds_copy)])
    report = update_index(seeded_index, [str(seeds_copy)], rebuild=True)
    assert report.total == 2 and len(index_state(seeded_index)) == 2


def test_forget_removes_one_folder_and_keeps_the_others(tmp_path, index_dir, seeds_copy):
    other = write_corpus(tmp_path / "other", numbered_articles(3))
    update_index(index_dir, [str(seeds_copy), str(other)])
    report = update_index(index_dir, [], forget=[str(other)])
    assert (report.removed, report.unchanged, report.total) == (3, 2, 2)
    assert read_roots(index_dir) == [str(seeds_copy.resolve())]
    assert all(Path(key).parent == seeds_copy.resolve() for key in index_state(index_dir))


def test_forget_works_for_a_folder_that_is_gone(tmp_path, index_dir):
    other = write_corpus(tmp_path / "other", numbered_articles(3))
    update_index(index_dir, [str(other)])
    shutil.rmtree(other)
    assert update_index(index_dir, [], forget=[str(other)]).total == 0
    assert read_roots(index_dir) == []


def test_forgetting_a_folder_the_index_does_not_cover_is_a_clear_error(index_dir, seeded_index, tmp_path):
    with pytest.raises(ArchsearchError, match="does not cover"):
        update_index(seeded_index, [], forget=[str(tmp_path / "elsewhere")])


def test_forgetting_again_after_a_kill_before_the_articles_were_removed_finishes_the_job(tmp_path, index_dir,
                                                                                        seeds_copy, monkeypatch):
    other = write_corpus(tmp_path / "other", numbered_articles(3))
    update_index(index_dir, [str(seeds_copy), str(other)])

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as patch:  # killed once the folders were written, before the commit
        patch.setattr("archsearch.engines.whoosh.segments.commit_segments", killed)
        with pytest.raises(Killed):
            update_index(index_dir, [], forget=[str(other)])
    assert read_roots(index_dir) == [str(seeds_copy.resolve())]
    assert len(index_state(index_dir)) == 5
    report = update_index(index_dir, [], forget=[str(other)])
    assert (report.removed, report.total) == (3, 2)
    assert all(Path(key).parent == seeds_copy.resolve() for key in index_state(index_dir))


def test_folders_inside_one_another_are_refused(tmp_path, index_dir, seeds_copy):
    update_index(index_dir, [str(seeds_copy)])
    (seeds_copy / "inner").mkdir()
    with pytest.raises(ArchsearchError, match="inside"):
        update_index(index_dir, [str(seeds_copy / "inner")])
    with pytest.raises(ArchsearchError, match="inside"):
        update_index(index_dir, [str(tmp_path)])


def test_a_missing_folder_keeps_its_articles_with_a_warning(tmp_path, index_dir):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(3))
    update_index(index_dir, [str(corpus)])
    corpus.rename(tmp_path / "unmounted")
    report = update_index(index_dir, [])
    assert (report.removed, report.total) == (0, 3)
    assert [message for _, message in report.warnings] == ["folder not found; its 3 articles are kept (--forget drops them)"]


def test_unchanged_junk_is_reported_again_without_being_read(seeds_copy, index_dir, monkeypatch):
    (seeds_copy / "empty.txt").write_bytes(b"")
    update_index(index_dir, [str(seeds_copy)])
    monkeypatch.setattr("archsearch.indexing.read_file", lambda path, data=None: pytest.fail(f"{path} read again"))
    report = update_index(index_dir, [])
    assert [(Path(path).name, reason) for path, reason in report.skipped] == [("empty.txt", "empty file")]
    assert report.unchanged == 2


def test_a_file_that_became_junk_loses_its_article(seeded_index, seeds_copy):
    (seeds_copy / WIRE_SEED).write_bytes(b"\x00\x01binary" * 100)
    report = update_index(seeded_index, [])
    assert [Path(path).name for path, _ in report.skipped] == [WIRE_SEED]
    assert report.total == 1 and set(stored_documents(seeded_index)) == {WEB_SEED}


def test_a_lost_record_of_indexed_files_is_rebuilt_from_the_index(seeded_index, monkeypatch):
    for name in os.listdir(seeded_index):
        if name.startswith(MANIFEST_FILE):
            os.remove(seeded_index / name)
    monkeypatch.setattr("archsearch.indexing.read_file", lambda path, data=None: pytest.fail(f"{path} read again"))
    report = update_index(seeded_index, [])
    assert (report.unchanged, report.total) == (2, 2)


def test_a_record_one_commit_behind_the_index_is_caught_up(tmp_path, index_dir, seeds_copy):
    # As if the run was killed between committing to the index and recording the commit.
    update_index(index_dir, [str(seeds_copy)])
    saved = tmp_path / "saved-record"
    saved.mkdir()
    for name in os.listdir(index_dir):
        if name.startswith(MANIFEST_FILE):
            shutil.copy(index_dir / name, saved / name)
    (seeds_copy / WEB_SEED).unlink()
    write_corpus(seeds_copy, numbered_articles(2))
    update_index(index_dir, [])
    for name in os.listdir(saved):
        shutil.copy(saved / name, index_dir / name)
    report = update_index(index_dir, [])
    assert (report.added, report.removed, report.unchanged) == (0, 0, 3)
    assert len(index_state(index_dir)) == 3


def test_commits_in_batches_hold_every_article_once(tmp_path, index_dir):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(25))
    report = update_index(index_dir, [str(corpus)], commit_every=4)
    assert report.total == 25 and len(index_state(index_dir)) == 25
    for path in sorted(corpus.rglob("*.txt"))[::3]:
        path.write_text(path.read_text(encoding="utf-8") + " More about walruses.", encoding="utf-8")
    report = update_index(index_dir, [], commit_every=4)
    assert (report.updated, report.unchanged, report.total) == (9, 16, 25)
    assert len(index_state(index_dir)) == 25


def test_worker_processes_index_the_same_articles_as_one_process(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(240))
    one, two = tmp_path / "one", tmp_path / "two"
    update_index(one, [str(corpus)], jobs=1)
    report = update_index(two, [str(corpus)], jobs=2)
    assert report.added == 240
    assert index_state(two) == index_state(one)
    assert len(open_index(two)._segments()) == 2  # one per worker
    from archsearch.searching import search

    assert search(two, "zebra17", limit=0).total == search(one, "zebra17", limit=0).total == 1
    assert search(two, "harbour3", limit=0).total == 240


def test_many_small_updates_leave_a_bounded_number_of_segments(tmp_path, index_dir, monkeypatch):
    import random

    from archsearch.engines.whoosh import segments

    # Small tiers, so that a few dozen small updates go through every one of them.
    monkeypatch.setattr(segments, "SMALLEST_TIER_DOCS", 2)
    monkeypatch.setattr(segments, "MERGE_FACTOR", 3)
    monkeypatch.setattr(segments, "MERGED_SEGMENT_DOCS", 30)
    tiers = segments.segment_tier(29) + 1
    corpus = tmp_path / "corpus"
    chosen = random.Random(5)
    added = 0
    most_small = 0
    for _ in range(40):
        count = chosen.choice([1, 1, 2, 3, 8])
        write_corpus(corpus, numbered_articles(count, start=added))
        added += count
        for path in chosen.sample(sorted(corpus.rglob("*.txt")), 2):  # changed: deletions in old segments
            path.write_text(path.read_text(encoding="utf-8") + " Walruses.", encoding="utf-8")
        update_index(index_dir, [str(corpus)])
        live = [segment.doc_count() for segment in open_index(index_dir)._segments()]
        small = sum(1 for docs in live if docs < 30)
        most_small = max(most_small, small)
        # Below MERGED_SEGMENT_DOCS, fewer than MERGE_FACTOR per tier, besides this commit's own two
        # (the new articles, and the merged ones).
        assert small <= (3 - 1) * tiers + 2, live
        assert 0 not in live
    assert len(index_state(index_dir)) == added
    assert most_small > 3  # the tiers did fill up, and were merged


def test_a_no_change_run_merges_nothing(tmp_path, index_dir, monkeypatch):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(3))
    update_index(index_dir, [str(corpus)], commit_every=1)
    before = {segment.segment_id() for segment in open_index(index_dir)._segments()}
    update_index(index_dir, [])
    assert {segment.segment_id() for segment in open_index(index_dir)._segments()} == before


@pytest.mark.parametrize("rebuild", [False, True])
def test_indexing_never_copies_a_segment_into_memory(tmp_path, index_dir, monkeypatch, rebuild):
    """Whoosh copies a memory-mapped segment's postings and terms whole into memory when it opens
    a reader: counting the articles at the end of a run, or merging segments, took memory in
    proportion to the index."""
    import whoosh.filedb.compound as compound

    copied = []
    copy = compound.BufferFile

    def recorded_copy(*args, **kwargs):
        copied.append(kwargs.get("name"))
        return copy(*args, **kwargs)

    monkeypatch.setattr(compound, "BufferFile", recorded_copy)
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(12))
    update_index(index_dir, [str(corpus)], commit_every=1)  # segments merged on the way
    for path in sorted(corpus.rglob("*.txt"))[::2]:
        path.write_text(path.read_text(encoding="utf-8") + " Walruses.", encoding="utf-8")
    report = update_index(index_dir, [], commit_every=1, rebuild=rebuild)
    assert report.total == 12
    assert copied == []


def test_a_change_of_the_same_size_within_the_same_second_is_seen(seeded_index, seeds_copy):
    wire = seeds_copy / WIRE_SEED
    before = wire.stat()
    text = wire.read_text(encoding="utf-8")
    wire.write_text(text.replace("Taliban", "Talibas", 1), encoding="utf-8")
    # Same size, and a modification time in the same second: only the nanoseconds tell.
    os.utime(wire, ns=(before.st_atime_ns, before.st_mtime_ns // 10**9 * 10**9 + (before.st_mtime_ns + 1) % 10**9))
    assert wire.stat().st_size == before.st_size and wire.stat().st_mtime_ns // 10**9 == before.st_mtime_ns // 10**9
    report = update_index(seeded_index, [])
    assert (report.updated, report.unchanged) == (1, 1)
    assert stored_documents(seeded_index)[WIRE_SEED]["title"].startswith("The Talibas")


def test_a_record_of_the_previous_format_is_converted_without_reading_the_index(seeded_index, seeds_copy, monkeypatch):
    import pickle
    import sqlite3

    from archsearch import indexing

    record = Path(seeded_index) / MANIFEST_FILE
    manifest = Manifest(record)
    folders = {root: manifest.folders(root) for root in manifest.roots()}
    manifest.close()
    with sqlite3.connect(record) as db:  # as format 3 kept it: one pickled dictionary per folder
        db.executescript("DROP TABLE folder_files; UPDATE settings SET value = '3' WHERE name = 'format';"
                         "CREATE TABLE folders (folder BLOB PRIMARY KEY, root BLOB NOT NULL, "
                         "indexed INTEGER NOT NULL, files BLOB NOT NULL) WITHOUT ROWID;")
        for root, by_folder in folders.items():
            for folder, files in by_folder.items():
                db.execute("INSERT INTO folders VALUES (?, ?, ?, ?)", (os.fsencode(folder), os.fsencode(root),
                           files.indexed, pickle.dumps(files.files())))
    monkeypatch.setattr(indexing, "stored_record", lambda ix: pytest.fail("the record was rebuilt from the index"))
    (seeds_copy / WEB_SEED).unlink()
    report = update_index(seeded_index, [])
    assert (report.removed, report.unchanged, report.total) == (1, 1, 1)
    manifest = Manifest(record)
    try:
        assert manifest.generation is not None and manifest.indexed_count() == 1
    finally:
        manifest.close()


MAPPED_APART_PROBE = """
import sys
from archsearch.indexing import map_large_blocks_apart
if sys.argv[1] == "fixed":
    map_large_blocks_apart()
freed = bytearray(8 << 20)
del freed  # a mapped block freed: glibc raises its threshold for mapping to its size, unless fixed
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
def touched(size):
    block = bytearray(size)
    block[::4096] = b"x" * len(block[::4096])
    return block
before = resident()
blocks = [touched(1 << 20) for _ in range(64)]
pin = touched(2 << 20)  # after them in the heap, larger than any hole: the heap cannot shrink below it
del blocks
print((resident() - before) >> 20)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")
def test_an_indexing_process_gives_back_large_blocks_freed_between_small_ones():
    """map_large_blocks_apart (each FileIndexer's process): 64 MiB of 1 MiB blocks freed below a
    block still in use go back to the system, where glibc's own rule keeps them."""
    def kept_mib(mode: str) -> int:
        probe = subprocess.run([sys.executable, "-c", MAPPED_APART_PROBE, mode], capture_output=True, text=True,
                               check=True)
        return int(probe.stdout)

    assert kept_mib("fixed") < 16
    assert kept_mib("glibc") > 48  # what the test tells apart


def test_each_file_indexer_s_process_maps_large_blocks_apart(seeded_index, monkeypatch):
    """What the test above measures is set wherever articles are read and added (each worker's FileIndexer)."""
    from archsearch import indexing

    calls = []
    monkeypatch.setattr(indexing, "map_large_blocks_apart", lambda: calls.append("fixed"))
    indexing.FileIndexer(seeded_index)
    assert calls == ["fixed"]


def test_a_lone_surrogate_in_a_source_place_or_url_is_indexed_as_u_fffd(tmp_path):
    """A JSON string's "\\ud800": Whoosh writes a source's and a place's sort key, and a URL's
    terms, in UTF-8, which cannot hold it."""
    from archsearch.engines import open_engine

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "odd.jsonl").write_text(
        '{"title": "Zucchini", "text": "Zucchini crossed.", "source": "Ag\\ud800ency", "place": "Her\\udcf6at", '
        '"url": "https://example.com/\\ud800"}\n'
    )
    report = update_index(tmp_path / "index", [str(corpus)])
    assert (report.added, report.skipped, report.total) == (1, [], 1)
    hit = open_engine(tmp_path / "index").search("zucchini", limit=1).hits[0]
    assert (hit.source, hit.place, hit.details.url) == ("Ag\ufffdency", "Her\ufffdat", "https://example.com/\ufffd")


def test_a_worker_opens_the_index_only_once_sent_files(monkeypatch):
    # A run's next workers start while the last batch is committed, which can change the index's
    # schema: they open it when sent their first files, after the commit.
    from archsearch import indexing
    from archsearch.indexing import FINISH

    events = []
    loaded = indexing.load_indexing_code

    class Connection:
        def recv(self):
            events.append("received")
            return FINISH

        def send(self, message):
            raise BrokenPipeError  # the indexing process gone: the worker ends

    class Indexer:
        def __init__(self):
            events.append("opened")

        def finish(self):
            return []

    monkeypatch.setattr(indexing, "_exit_with", lambda parent: None)
    monkeypatch.setattr(indexing, "load_indexing_code", lambda: events.append("loaded") or loaded())
    indexing.work(Indexer, Connection(), os.getpid())
    assert events == ["loaded", "received", "opened"]


def test_a_worker_answers_a_chunk_of_files_at_once(monkeypatch):
    # A message a file cost the indexing process 1.5 s of CPU a batch of 20,000 files, taken from
    # the workers' cores.
    from archsearch import indexing
    from archsearch.indexing import FILES, FINISH, SAME, SEGMENTS, FileOutcome, Task

    events = []
    tasks = [Task(f"/corpus/{name}.txt", "/corpus", None) for name in "abc"]

    class Connection:
        messages = [tasks, FINISH, None]

        def recv(self):
            events.append("received")
            return self.messages.pop(0)

        def send(self, message):
            events.append(message)

    class Indexer:
        def __init__(self):
            events.append("opened")

        def index(self, task):
            # The last file's outcome waits for its articles (FileIndexer.index): given at the finish.
            return [] if task is tasks[-1] else [FileOutcome(task.key, SAME)]

        def finish(self):
            return [FileOutcome(tasks[-1].key, SAME)], ["segment"]

    monkeypatch.setattr(indexing, "_exit_with", lambda parent: None)
    indexing.work(Indexer, Connection(), os.getpid())
    outcomes = [FileOutcome(task.key, SAME) for task in tasks]
    assert events == [
        "received", "opened", (FILES, outcomes[:-1]), "received", (SEGMENTS, (outcomes[-1:], ["segment"])), "received",
    ]


def test_a_batch_is_recorded_while_the_next_is_read_and_the_record_ends_whole(tmp_path, index_dir, monkeypatch):
    # The record of a batch's files (its copy groups most) was time the workers' cores idled.
    import threading

    from archsearch import indexing

    corpus = write_corpus(tmp_path / "corpus", numbered_articles(300))
    recorded_by = []
    record = Manifest.record

    def noted(manifest, *args, **options):
        recorded_by.append(threading.current_thread() is threading.main_thread())
        return record(manifest, *args, **options)

    monkeypatch.setattr(Manifest, "record", noted)
    monkeypatch.setattr(indexing, "MIN_FILES_PER_FRESH_WORKER", 50)
    monkeypatch.setattr(indexing, "OVERLAPPED_COMMITS_BELOW_PEAK", 2**62)  # whatever this process took before
    report = update_index(index_dir, [str(corpus)], jobs=2, commit_every=100)  # 50 files a worker
    assert (report.added, report.total) == (300, 300)
    assert recorded_by == [False, False, True]  # the last batch has no next one to read meanwhile
    assert len(index_state(index_dir)) == 300
    assert update_index(index_dir, [str(corpus)], jobs=2).unchanged == 300


def test_a_record_failing_while_the_next_batch_is_read_stops_the_run_in_one_line(tmp_path, index_dir, monkeypatch):
    import sqlite3

    from archsearch import indexing

    corpus = write_corpus(tmp_path / "corpus", numbered_articles(300))
    first = write_corpus(tmp_path / "first", numbered_articles(5, start=300))
    update_index(index_dir, [str(first)])  # an index to fail on, not a first one, which a failure removes
    record = Manifest.record

    def failing(manifest, *args, **options):
        if args[2] or args[3]:  # a batch's (not the merges' record of no change)
            raise sqlite3.OperationalError("database or disk is full")
        return record(manifest, *args, **options)

    monkeypatch.setattr(Manifest, "record", failing)
    monkeypatch.setattr(indexing, "MIN_FILES_PER_FRESH_WORKER", 50)
    monkeypatch.setattr(indexing, "OVERLAPPED_COMMITS_BELOW_PEAK", 2**62)
    with pytest.raises(ArchsearchError, match="^cannot update the index at .*: database or disk is full$"):
        update_index(index_dir, [str(first), str(corpus)], jobs=2, commit_every=100)
    monkeypatch.setattr(Manifest, "record", record)
    # The index has the first batch, its record not: the next run makes the record again.
    report = update_index(index_dir, [str(first), str(corpus)], jobs=2)
    assert report.total == 305 and (report.added, report.unchanged) == (200, 105)
    assert len(index_state(index_dir)) == 305
