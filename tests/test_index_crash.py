"""Killed or interrupted runs of the installed command: the index stays whole, the next run
finishes the job, and no worker process is left behind."""

import os
import re
import signal
import subprocess
import time

import pytest

from archsearch.indexing import update_index
from conftest import installed_command, write_corpus
from test_indexing import index_state, numbered_articles

ARTICLES = 300


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("crash") / "corpus", numbered_articles(ARTICLES))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, corpus):
    """What an uninterrupted run indexes."""
    index_dir = tmp_path_factory.mktemp("reference") / "index"
    update_index(index_dir, [str(corpus)])
    return index_state(index_dir)


def start_index(index_dir, *args, stderr=subprocess.DEVNULL):
    # A session of its own, so that the run and its workers can be found by process group.
    return subprocess.Popen(
        [installed_command(), "index", "--index", str(index_dir), *args],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )


def wait_for_group_to_end(process, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("processes of the killed run were left behind")


def read_until(stream, count: int, prefix: bytes) -> None:
    """Read stderr lines until `count` of them start with `prefix`."""
    seen = 0
    while seen < count:
        line = stream.readline()
        assert line, "the run ended first"
        seen += line.startswith(prefix)


def test_runs_killed_at_any_moment_end_with_the_articles_of_an_uninterrupted_run(tmp_path, corpus, reference):
    index_dir = tmp_path / "index"
    for delay in (0.3, 0.8, 1.3):
        run = start_index(index_dir, "--jobs", "2", "--commit-every", "15", str(corpus))
        time.sleep(delay)
        run.kill()
        run.wait()
        wait_for_group_to_end(run)
        if index_dir.joinpath("archsearch-files.sqlite").exists():
            assert set(index_state(index_dir, recorded=False)) <= set(reference)
    finished = subprocess.run(
        [installed_command(), "index", "--index", str(index_dir), str(corpus)], capture_output=True, timeout=60
    )
    assert finished.returncode == 0, finished.stderr
    assert index_state(index_dir) == reference


def test_ctrl_c_saves_what_was_indexed_and_exits_130(tmp_path, corpus, reference):
    index_dir = tmp_path / "index"
    run = start_index(index_dir, "--jobs", "2", "--commit-every", "20", "--verbose", str(corpus), stderr=subprocess.PIPE)
    read_until(run.stderr, 30, b"added ")
    run.send_signal(signal.SIGINT)
    rest = run.stderr.read().decode()
    assert run.wait(timeout=30) == 130
    assert "archsearch: stopping: saving what was indexed (Ctrl-C again to quit at once)" in rest
    assert rest.endswith("archsearch: interrupted; what was indexed is saved, run again to finish\n")
    saved = index_state(index_dir)
    assert 30 <= len(saved) < ARTICLES
    summary = next(line for line in rest.splitlines() if re.match(r"added \d", line))
    assert summary.endswith(f"; {len(saved)} articles in the index")
    wait_for_group_to_end(run)
    update_index(index_dir, [])
    assert index_state(index_dir) == reference


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == pid:
                found.append(int(entry))
    return found


def test_a_second_ctrl_c_quits_at_once(tmp_path, corpus, reference):
    index_dir = tmp_path / "index"
    run = start_index(index_dir, "--jobs", "2", "--verbose", str(corpus), stderr=subprocess.PIPE)
    read_until(run.stderr, 10, b"added ")
    # Stuck workers: saving what was done cannot finish, and the first Ctrl-C waits for it.
    workers = children(run.pid)
    for worker in workers:
        os.kill(worker, signal.SIGSTOP)
    try:
        run.send_signal(signal.SIGINT)
        read_until(run.stderr, 1, b"archsearch: stopping")
        time.sleep(0.5)
        assert run.poll() is None
        run.send_signal(signal.SIGINT)
        asked = time.monotonic()
        assert run.wait(timeout=10) == 130
        assert time.monotonic() - asked < 2
    finally:
        for worker in workers:
            os.kill(worker, signal.SIGCONT)
    assert run.stderr.read().decode().endswith("archsearch: interrupted\n")  # once the workers let go of it
    wait_for_group_to_end(run)
    update_index(index_dir, [])
    assert index_state(index_dir) == reference


# Where a run making a new index is killed: where the folders are written (the record was made
# before them), and where the index is made (the record was made just before it). Either left a
# record without an index, which the test above, killing at random, hit under load.
@pytest.mark.parametrize("killed_in", ["write_roots", "create_index"])
def test_a_run_killed_while_making_a_new_index_leaves_no_record_without_it(tmp_path, corpus, monkeypatch, killed_in):
    from archsearch import indexing

    def killed_there(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(indexing, killed_in, killed_there)
    with pytest.raises(KeyboardInterrupt):
        update_index(tmp_path / "index", [str(corpus)])
    assert not (tmp_path / "index" / "archsearch-files.sqlite").exists()


def test_workers_import_nothing_from_the_folder_the_user_is_in(tmp_path, corpus):
    """A worker starts as `python -c`, which searched the working folder first for the standard
    library: a re.py there ran in each worker, which died ('connection reset by peer')."""
    folder = tmp_path / "here"
    folder.mkdir()
    (folder / "re.py").write_text("raise SystemExit('a re.py of the user ran')\n")
    run = subprocess.run(
        [installed_command(), "index", "-q", "--jobs", "2", "--index", str(tmp_path / "index"), str(corpus)],
        cwd=folder, capture_output=True, timeout=120,
    )
    assert (run.returncode, run.stderr) == (0, b"")
    assert len(index_state(tmp_path / "index")) == ARTICLES
