"""The server's spare: a request process forked ahead (server._fork_spare), which takes the next
connection, rehearses a command once the server has had no request for a moment, and is let go
when what the server keeps open changes.

Waits here are bounds for failure only: a test passes as soon as what it waits for happens."""

import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from archsearch import server as server_module
from archsearch.engines.whoosh import store
from archsearch.indexing import update_index
from conftest import SEEDS, installed_command
from test_server import (  # noqa: F401 (fixtures)
    BIG,
    BOUND,
    archsearch,
    corpus,
    environment,
    is_spare,
    no_click,
    request_processes,
    running_server,
    socket_folder,
    until,
)


def spares(server) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    # is_spare takes a process that has ended for a spare: not here.
    return [int(pid) for pid in children if Path(f"/proc/{pid}").exists() and is_spare(pid, server_module.SPARE_NAME)]


def the_spare(server, *conditions, what: str = "no spare") -> int:
    """The server's spare once it meets every condition (waited for): the children are read once
    each time, as the spare can be replaced (and end) between two reads."""
    met = [None]

    def meets() -> int | None:
        found = spares(server)
        try:
            met[0] = found[0] if found and all(condition(found[0]) for condition in conditions) else None
        except OSError:  # ended meanwhile
            met[0] = None
        return met[0]

    until(meets, what)
    return met[0]


def waits(pid: int) -> bool:
    """Whether the process sleeps (a spare that sleeps has said it waits for a connection)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "S"
    except OSError:
        return False


def files_under(pid: int, folder: Path) -> list[str]:
    prefix = str(folder.resolve()) + os.sep
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:  # closed meanwhile
            pass
    return [target for target in targets if target.startswith(prefix)]


@pytest.fixture
def server(socket_folder):
    # No rehearsal: a request that came while the spare rehearses would get a process of its own.
    with running_server(socket_folder / "s.sock", "server.REHEARSAL_PAUSE_SECONDS = 3600") as started:
        yield started


def test_the_next_request_is_answered_by_the_spare_forked_ahead(server, corpus, no_click):
    env = environment(server.socket, corpus / "index", no_click)
    assert archsearch("query", "Taliban", env=env, cwd=corpus).returncode == 0
    spare = the_spare(
        server, lambda pid: files_under(pid, corpus / "index"), waits, what="no spare with the index open waits"
    )
    # A command whose output nobody reads stays in the process that answers it.
    blocked = subprocess.Popen(
        [installed_command(), "show", BIG], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=corpus
    )
    try:
        assert blocked.stdout.read(1) == b"t"
        assert request_processes(server) == [spare]
    finally:
        blocked.kill()
        blocked.communicate(timeout=60)
    until(lambda: spares(server) and spares(server) != [spare], "no new spare after the request")


def test_a_spare_lets_go_of_an_index_deleted(socket_folder, tmp_path, no_click):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    env = environment(socket_folder / "s.sock", tmp_path / "index", no_click)
    # No rehearsal: it would find the index gone, and close it itself.
    with running_server(socket_folder / "s.sock", "server.REHEARSAL_PAUSE_SECONDS = 3600") as server:
        assert archsearch("query", "Taliban", env=env).returncode == 0
        the_spare(server, lambda pid: files_under(pid, tmp_path / "index"), what="no spare with the index open")
        shutil.rmtree(tmp_path / "index")
        os.kill(server.pid, signal.SIGCHLD)  # wakes the server, as a request's end does, leaving the spare be
        until(
            lambda: not any(files_under(pid, tmp_path / "index") for pid in [server.pid, *spares(server)]),
            "a spare holds the deleted index's files open",
        )


@pytest.fixture
def warmed(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "_open_searchers", None)
    store.keep_searchers_open()
    shutil.copytree(SEEDS, tmp_path / "seeds")
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    with store.index_searcher(tmp_path / "index"):
        pass
    server_module.warm((tmp_path / "index").resolve())
    yield tmp_path / "index"
    store.close_kept_searchers()


def test_a_rehearsal_counts_the_warming_word_and_leaves_no_trace(warmed, monkeypatch, capfd):
    ran = []
    real_run = server_module.query_line.run_loaded  # as a request runs a plain query
    monkeypatch.setattr(server_module.query_line, "run_loaded", lambda args: ran.append(args) or real_run(args))
    monkeypatch.setattr(server_module, "run", lambda args, name: ran.append(("click", args)))
    state = Path(os.environ["XDG_STATE_HOME"])
    streams = sys.stdout, sys.stderr
    server_module.rehearse()
    word = server_module._warming_words[warmed.resolve()]
    assert ran == [["query", "--index", str(warmed.resolve()), "--count", word]]
    assert capfd.readouterr() == ("", "")
    assert not state.exists() or not any(state.rglob("*"))  # nothing remembered
    assert (sys.stdout, sys.stderr) == streams


def test_a_spare_that_ends_by_itself_fails_no_request(server, corpus, no_click):
    os.kill(the_spare(server, waits), signal.SIGKILL)
    env = environment(server.socket, corpus / "index", no_click)
    assert archsearch("query", "Taliban", env=env, cwd=corpus).returncode == 0
    until(lambda: spares(server), "no spare after the request")


def test_a_spare_s_watcher_thread_waits_ahead_and_passes_ctrl_c_on(server, corpus, no_click):
    """Started before the request comes (server._start_watcher_ahead), it still interrupts the
    command the spare runs when the client is interrupted."""
    spare = the_spare(server, waits)
    assert len(os.listdir(f"/proc/{spare}/task")) == 2
    env = environment(server.socket, corpus / "index", no_click)
    blocked = subprocess.Popen(
        [installed_command(), "show", BIG], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=corpus,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a shell starts it
    )
    try:
        assert blocked.stdout.read(1) == b"t"
        assert request_processes(server) == [spare]
        blocked.send_signal(signal.SIGINT)
        # Nobody reads until the command has said it was interrupted: reading at once could let
        # it write its whole output and finish before the Ctrl-C reached it.
        select.select([blocked.stderr], [], [], BOUND)
        _, err = blocked.communicate(timeout=60)
    finally:
        blocked.kill()
    assert (blocked.returncode, err.lstrip()) == (130, b"archsearch: interrupted\n")


def test_a_spare_runs_the_request_s_checks_ahead_and_leaves_its_environment_as_it_was(monkeypatch):
    """What a request runs before its command (server._answer) runs once in the spare when it
    rehearses, for the request to find its code run once already."""
    ran = []
    monkeypatch.setattr(server_module, "credentials", lambda process: ran.append(("credentials", process)))
    monkeypatch.setattr(server_module, "code_changed", lambda fingerprint: ran.append(("code", fingerprint)))
    set_environ = server_module._set_environ
    monkeypatch.setattr(server_module, "_set_environ", lambda environ: ran.append(("environment",)) or set_environ(environ))
    before = dict(os.environ)
    fingerprint = {"/some/module.py": (1, 2, 3, 4)}
    server_module._rehearse_checks(fingerprint)
    assert ran == [("credentials", str(os.getpid())), ("code", fingerprint), ("environment",), ("environment",)]
    assert dict(os.environ) == before
