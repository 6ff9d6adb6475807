"""`index --rebuild` builds the new index beside the old one and swaps it in at the end: queries
answer from the old index all along, and a rebuild that is stopped leaves it whole."""

import os
import re
import subprocess
import time
import pytest

from archsearch import indexing
from archsearch.indexing import REBUILD_FOLDER, update_index
from archsearch.searching import search
from conftest import write_corpus
from test_index_concurrency import index_command, queries_while
from test_indexing import index_state, numbered_articles


class Stop(Exception):
    """Raised from inside a run, where a kill could have stopped it."""


def corpus_and_index(tmp_path, count=60):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(count))
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)])
    return corpus, index_dir


def add_walruses(corpus):
    """Every article changes, so that the rebuilt index differs from the old one."""
    for path in corpus.rglob("*.txt"):
        path.write_text(path.read_text(encoding="utf-8") + " Walruses too.", encoding="utf-8")


def test_queries_answer_from_the_old_index_until_the_rebuild_is_done(tmp_path):
    corpus, index_dir = corpus_and_index(tmp_path)
    add_walruses(corpus)
    seen = []

    def query(progress):
        if progress.stage == "committing":
            seen.append((search(index_dir, "harbour3", limit=0).total, search(index_dir, "walruses", limit=0).total))

    update_index(index_dir, [], rebuild=True, commit_every=7, progress=query)
    assert len(seen) > 5
    assert set(seen) == {(60, 0)}  # the old index, whole, at every commit of the new one
    assert search(index_dir, "walruses", limit=0).total == 60
    assert not (index_dir / REBUILD_FOLDER).exists()
    assert len(index_state(index_dir)) == 60


def test_a_stopped_rebuild_leaves_the_old_index_and_the_next_one_resumes(tmp_path, monkeypatch):
    corpus, index_dir = corpus_and_index(tmp_path)
    old = index_state(index_dir)
    add_walruses(corpus)
    commits = []

    def stop_at_third_commit(progress):
        if progress.stage == "committing":
            commits.append(progress)
            if len(commits) == 3:
                raise Stop

    with pytest.raises(Stop):
        update_index(index_dir, [], rebuild=True, commit_every=10, progress=stop_at_third_commit)
    assert index_state(index_dir) == old
    assert search(index_dir, "walruses", limit=0).total == 0
    # A plain run updates the old index, and says a rebuild waits to be finished.
    report = update_index(index_dir, [])
    assert report.updated == 60
    assert [message for _, message in report.warnings] == [
        "a rebuild was stopped part-way; 'archsearch index --rebuild' finishes it"
    ]

    read = []
    real_read = indexing.read_file
    monkeypatch.setattr(indexing, "read_file", lambda path, *args: read.append(path) or real_read(path, *args))
    report = update_index(index_dir, [], rebuild=True, commit_every=10)
    assert len(read) == 40  # the 20 of the two commits made before the stop are not read again
    assert (report.added, report.total) == (40, 60)
    assert index_state(index_dir) == index_state(fresh_build(tmp_path, corpus))
    assert file_kinds(index_dir) == file_kinds(fresh_build(tmp_path, corpus, "again"))


def file_kinds(index_dir):
    """The index folder's files, segments' names (random) left out: nothing left over beside them."""
    return {re.sub(r"^MAIN_[0-9a-z]+\.", "MAIN_*.", re.sub(r"^_MAIN_[0-9]+\.toc$", "_MAIN_*.toc", name))
            for name in os.listdir(index_dir)}


def fresh_build(tmp_path, corpus, name="fresh"):
    index_dir = tmp_path / name
    update_index(index_dir, [str(corpus)])
    return index_dir


def test_a_rebuild_killed_between_its_steps_always_leaves_a_whole_index(tmp_path, monkeypatch):
    """Stopped at each step of the swap: every state answers, and the next run ends right."""
    from archsearch import manifest
    from archsearch.engines.whoosh import segments

    corpus, index_dir = corpus_and_index(tmp_path, 30)
    add_walruses(corpus)
    steps = [(segments, "publish_segments"), (manifest, "install"), (indexing.shutil, "rmtree")]
    for module, name in steps:
        real = getattr(module, name)

        def stopped(*args, real=real, **kwargs):
            real(*args, **kwargs)
            raise Stop

        with monkeypatch.context() as patch:
            patch.setattr(module, name, stopped)
            with pytest.raises(Stop):
                update_index(index_dir, [], rebuild=True)
        assert len(index_state(index_dir, recorded=False)) == 30
        assert search(index_dir, "harbour3", limit=0).total == 30
        report = update_index(index_dir, [])
        assert (report.added, report.updated, report.warnings) == (0, 0, [])  # the new index is the one in use
        assert not (index_dir / REBUILD_FOLDER).exists()
        assert len(index_state(index_dir)) == 30
        assert search(index_dir, "walruses", limit=0).total == 30


def test_a_query_loop_sees_no_failure_during_a_rebuild(tmp_path):
    corpus, index_dir = corpus_and_index(tmp_path, 150)
    add_walruses(corpus)
    totals, failures, result = queries_while(
        index_command(index_dir, "--rebuild", "--commit-every", "10", "--jobs", "2"),
        lambda: search(index_dir, "harbour3", limit=3).total,
    )
    assert result.returncode == 0, result.stderr
    assert failures == []
    assert len(totals) > 10 and set(totals) == {150}
    assert search(index_dir, "walruses", limit=0).total == 150


def test_an_interrupted_rebuild_says_the_old_index_is_still_used(tmp_path, run_cli, index_dir):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(20))
    run_cli("index", str(corpus))
    result = run_cli("index", "--rebuild", "--commit-every", "5")
    assert result.exit_code == 0
    # Stopped as by Ctrl-C, after the first commit.
    stopping = iter([False] * 6 + [True] * 1000)
    from archsearch.cli import index as index_command

    class StopSoon(index_command.Interruption):
        def requested(self):
            return next(stopping)

    original = index_command.Interruption
    index_command.Interruption = StopSoon
    try:
        result = run_cli("index", "--rebuild", "--commit-every", "5")
    finally:
        index_command.Interruption = original
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == (
        "archsearch: interrupted; queries still use the old index, and "
        "'archsearch index --rebuild' finishes the new one from where it stopped"
    )
    assert (index_dir / REBUILD_FOLDER).is_dir()
    assert len(index_state(index_dir)) == 20


def test_rebuilds_killed_at_any_moment_leave_the_old_index_answering(tmp_path):
    from test_index_crash import start_index, wait_for_group_to_end

    corpus, index_dir = corpus_and_index(tmp_path, 200)
    old = index_state(index_dir)
    add_walruses(corpus)
    for delay in (0.4, 0.9):
        run = start_index(index_dir, "--rebuild", "--jobs", "2", "--commit-every", "20")
        time.sleep(delay)
        run.kill()
        run.wait()
        wait_for_group_to_end(run)
        assert index_state(index_dir, recorded=False).keys() == old.keys()
        assert search(index_dir, "harbour3", limit=0).total == 200
        # The old index, or (killed after the swap) the new one: never part of each.
        assert search(index_dir, "walruses", limit=0).total in (0, 200)
    finished = subprocess.run(index_command(index_dir, "--rebuild"), capture_output=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert index_state(index_dir) == index_state(fresh_build(tmp_path, corpus))
    assert search(index_dir, "walruses", limit=0).total == 200
