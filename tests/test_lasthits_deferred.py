"""The hits of a served query, written after its answer has gone (lasthits.deferred): `show @N`
run at once, served or not, still finds them, and nothing names the hits of an earlier query."""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archsearch import lasthits
from archsearch.errors import ArchsearchError
from test_server import BOUND, corpus, local, no_click, outcome, served, server, until  # noqa: F401 (fixtures)


@pytest.fixture
def deferring(monkeypatch):
    monkeypatch.setattr(lasthits, "deferred", [])
    yield
    lasthits.write_deferred()  # a test that failed half-way leaves no lock held


def test_deferred_hits_are_written_when_told(tmp_path, deferring):
    assert lasthits.remember(tmp_path, "first", [(1, "a.txt")]) is None
    assert not lasthits.state_file(tmp_path).exists()  # (recall here would wait for this process's own lock)
    lasthits.write_deferred()
    assert lasthits.recall(tmp_path, 1) == lasthits.RememberedHit("a.txt", "first")


def waiting_for_a_lock(pid: int) -> bool:
    """Whether the process waits for a file lock (/proc/locks lists its request after '->')."""
    return any(line.split()[1] == "->" and line.split()[5] == str(pid) for line in Path("/proc/locks").read_text().splitlines())


def test_a_reader_waits_for_the_hits_being_written(tmp_path, monkeypatch):
    lasthits.remember(tmp_path, "earlier", [(1, "earlier.txt")])
    monkeypatch.setattr(lasthits, "deferred", [])
    lasthits.remember(tmp_path, "latest", [(1, "latest.txt")])
    lasthits.lock_deferred()  # the answer is about to go
    reader = subprocess.Popen(
        [sys.executable, "-c", f"from archsearch.lasthits import recall; print(recall({str(tmp_path)!r}, 1).reference)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        until(lambda: waiting_for_a_lock(reader.pid), "the reader does not wait for the lock")
        lasthits.write_deferred()
        assert reader.communicate(timeout=BOUND)[0] == "latest.txt\n"
    finally:
        lasthits.write_deferred()
        reader.kill()


def test_no_lock_is_held_while_the_command_writes_its_output(tmp_path, deferring):
    """A reader of the query's output may be the one waiting for its hits (`... | archsearch show @1`):
    a lock held while the command writes to a full pipe would hold both up for good."""
    lasthits.remember(tmp_path, "latest", [(1, "latest.txt")])
    folder = os.open(lasthits.state_dir(), os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_SH | fcntl.LOCK_NB)  # BlockingIOError if a lock were held
    finally:
        os.close(folder)


def test_what_cannot_be_made_is_told_before_the_answer(tmp_path, deferring):
    (tmp_path / "state").write_text("a file where the state folder goes")
    warning = lasthits.remember(tmp_path, "first", [(1, "a.txt")], {"XDG_STATE_HOME": str(tmp_path / "state")})
    assert warning.startswith("could not remember the hits for @N in ")
    assert lasthits.deferred == []


def test_hits_that_could_not_be_written_leave_no_earlier_hits_to_name(tmp_path, deferring, monkeypatch):
    lasthits.remember(tmp_path, "earlier", [(1, "earlier.txt")])
    lasthits.write_deferred()
    lasthits.remember(tmp_path, "latest", [(1, "latest.txt")])
    lasthits.lock_deferred()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    lasthits.write_deferred()
    with pytest.raises(ArchsearchError, match="no query to take @1 from"):
        lasthits.recall(tmp_path, 1)
    assert [path.name for path in lasthits.state_dir().iterdir()] == []  # no half-written file left


def test_show_right_after_a_served_query_shows_its_first_hit(served, local):
    for words in ("Taliban", "pandemic"):  # two queries: the second's hits replace the first's
        first = served("query", "-l", words).stdout.splitlines()[0]
        for show in (served, local):
            shown = show("show", "@1")
            assert shown.returncode == 0 and b"\npath: " + first + b"\n" in shown.stdout
            assert f"**{words}**".encode() in shown.stdout  # the query's words highlighted


def test_hits_are_remembered_where_the_state_folder_cannot_be_locked(tmp_path, monkeypatch):
    def no_locks(descriptor, operation):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(lasthits.fcntl, "flock", no_locks)
    assert lasthits.remember(tmp_path, "first", [(1, "a.txt")]) is None
    assert lasthits.recall(tmp_path, 1) == lasthits.RememberedHit("a.txt", "first")
