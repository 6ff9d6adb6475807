"""Runs of the installed command at the same time as other runs and as queries."""

import os
import signal
import subprocess
import threading
import time

from archsearch.indexing import Progress, run_lock, update_index
from archsearch.searching import search
from conftest import installed_command, write_corpus
from test_indexing import index_state, numbered_articles


def index_command(index_dir, *args):
    return [installed_command(), "index", "--index", str(index_dir), *args]


def test_a_run_waits_for_the_one_holding_the_index_or_gives_up_clearly(tmp_path, seeded_index):
    waits = []
    with run_lock(seeded_index, 0, waits.append):
        refused = subprocess.run(index_command(seeded_index, "--wait", "0.5"), capture_output=True, timeout=30)
        waiting = subprocess.Popen(index_command(seeded_index, "--wait", "30"), stderr=subprocess.PIPE)
        time.sleep(1.5)
        assert waiting.poll() is None
    assert waiting.wait(timeout=30) == 0
    pid = f"pid {os.getpid()}"
    assert refused.returncode == 2
    assert refused.stderr.decode().splitlines() == [
        f"archsearch: waiting for another 'archsearch index' ({pid}) to finish",
        f"archsearch: error: another 'archsearch index' ({pid}) is still updating {seeded_index} after 0.5 s; "
        "try again later, or wait longer with --wait SECONDS",
    ]
    lines = waiting.stderr.read().decode().splitlines()
    assert lines[0] == f"archsearch: waiting for another 'archsearch index' ({pid}) to finish"
    assert lines[-1] == "added 0, updated 0, removed 0, unchanged 2, skipped 0; 2 articles in the index"
    assert waits == []


def test_two_runs_at_once_leave_every_article_indexed_once(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(150))
    index_dir = tmp_path / "index"
    runs = [
        subprocess.Popen(index_command(index_dir, "--commit-every", "20", str(corpus)), stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    errors = [run.communicate(timeout=60)[1].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    assert sum("waiting for another 'archsearch index'" in error for error in errors) == 1
    summaries = sorted(error.splitlines()[-1] for error in errors)
    assert summaries == [
        "added 0, updated 0, removed 0, unchanged 150, skipped 0; 150 articles in the index",
        "added 150, updated 0, removed 0, unchanged 0, skipped 0; 150 articles in the index",
    ]
    assert len(index_state(index_dir)) == 150


def test_queries_see_a_whole_index_while_it_is_being_updated(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(120))
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)], commit_every=10)
    for path in corpus.rglob("*.txt"):  # every article changes: each commit replaces some
        path.write_text(path.read_text(encoding="utf-8") + " Walruses too.", encoding="utf-8")
    totals, failures, result = queries_while(
        index_command(index_dir, "--commit-every", "4", "--jobs", "1"),
        lambda: (search(index_dir, "harbour3", limit=0, with_snippets=False).total,
                 search(index_dir, "walruses", limit=0, with_snippets=False).total),
    )
    assert result.returncode == 0, result.stderr
    assert failures == []
    # Every state seen has each article once, old or new; the new ones only grow in number.
    assert all(every == 120 for every, _ in totals)
    updated = [walruses for _, walruses in totals]
    assert updated == sorted(updated) and any(0 < walruses < 120 for walruses in updated)
    assert search(index_dir, "walruses", limit=0).total == 120


def queries_while(command, query):
    """Run `query()` over and over while the command runs: what it returned, how it failed, and
    how the command ended."""
    results, failures = [], []
    running = threading.Event()
    running.set()

    def loop():
        while running.is_set():
            try:
                results.append(query())
            except Exception as exc:  # any failure at all is the finding
                failures.append(exc)

    querying = threading.Thread(target=loop)
    querying.start()
    try:
        finished = subprocess.run(command, capture_output=True, timeout=120)
    finally:
        running.clear()
        querying.join()
    return results, failures, finished


def test_the_waiting_message_is_a_progress_event(tmp_path, seeded_index):
    events = []
    with run_lock(seeded_index, 0, events.append):
        thread = threading.Thread(target=lambda: update_index(seeded_index, [], lock_wait=10, progress=events.append))
        thread.start()
        time.sleep(0.5)
    thread.join()
    assert events[0].stage == "waiting" and events[0].holder.startswith("pid ")
    assert isinstance(events[0], Progress)


def test_ctrl_c_while_waiting_stops_at_once(seeded_index):
    with run_lock(seeded_index, 0, lambda event: None):
        waiting = subprocess.Popen(index_command(seeded_index, "--wait", "30"), stderr=subprocess.PIPE)
        assert waiting.stderr.readline().startswith(b"archsearch: waiting for another 'archsearch index'")
        waiting.send_signal(signal.SIGINT)
        assert waiting.wait(timeout=5) == 130
    assert waiting.stderr.read().decode().splitlines()[-1] == "archsearch: interrupted"


def overtaken_on_first_open(tmp_path):
    """An index of three articles, and what a first open does when a commit lands just before it:
    the commit replaces article 0 by article 7, then the open finds its file gone."""
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(3))
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)])
    overtaken = []

    def overtake(missing: str) -> None:
        if not overtaken:
            overtaken.append(True)
            (corpus / "000" / "article00000.txt").write_text(numbered_articles(1, start=7)["000/article00007.txt"])
            update_index(index_dir, [str(corpus)])
            raise FileNotFoundError(2, "No such file or directory", missing)

    return index_dir, overtake


def test_a_reader_overtaken_by_a_commit_reads_the_new_generation(tmp_path, monkeypatch):
    import archsearch.engines.whoosh.store as store
    from archsearch.engines.whoosh.store import DamagedIndex

    index_dir, overtake = overtaken_on_first_open(tmp_path)
    opened = store.open_index

    def open_as_a_commit_lands(folder, **options):
        overtake("gone.seg")  # the merged segments' files are deleted after this reader read the TOC
        return opened(folder, **options)

    monkeypatch.setattr(store, "open_index", open_as_a_commit_lands)
    assert search(index_dir, "zebra7", limit=0).total == 1

    # With no commit in between, a missing file is damage, said as such.
    monkeypatch.setattr(store, "open_index", lambda folder, **options: (_ for _ in ()).throw(FileNotFoundError(2, "gone", "x.seg")))
    try:
        search(index_dir, "zebra7")
    except DamagedIndex as exc:
        assert "FileNotFoundError" in str(exc)
    else:
        raise AssertionError("a missing segment file with no newer generation was not reported as damage")


def test_a_table_of_contents_deleted_by_a_commit_is_read_in_its_new_generation(tmp_path, monkeypatch):
    from whoosh.filedb.filestore import FileStorage

    index_dir, overtake = overtaken_on_first_open(tmp_path)
    opened = FileStorage.open_index

    def open_as_a_commit_lands(storage, *args, **kwargs):
        overtake("_MAIN_1.toc")  # the TOC this reader found the latest is deleted by the next commit
        return opened(storage, *args, **kwargs)

    monkeypatch.setattr(FileStorage, "open_index", open_as_a_commit_lands)
    assert search(index_dir, "zebra7", limit=0).total == 1
