"""A process of `archsearch serve` that answered a plain query cleanly answers the next request
too (server._request_process), as it was before its first: nothing of one request reaches the next.

Waits here are bounds for failure only: a test passes as soon as what it waits for happens."""

import io
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from archsearch import server as server_module
from archsearch.engines.whoosh.store import kept_searchers
from archsearch.indexing import update_index
from conftest import SEEDS, installed_command, wire
from test_server import BIG, BOUND, archsearch, environment, outcome, running_server, spare_waits, until
from test_server import corpus, no_click, socket_folder  # noqa: F401 (fixtures)
from test_server_spare import files_under, warmed  # noqa: F401 (warmed: a fixture)

# Each request's process writes its pid to the file named by ANSWERED_BY as it starts to answer.
ANSWERED_BY = """
import os
answer = server._answer
def answer_logged(*args):
    with open(os.environ["ANSWERED_BY"], "a") as log:
        log.write(f"{os.getpid()}\\n")
    return answer(*args)
server._answer = answer_logged
"""


@pytest.fixture
def serving(socket_folder, tmp_path, corpus, no_click):
    """Starts a server (with patch, Python run on archsearch.server first) that logs which process
    answers each request; returns it, with `run` (a command, served, from the corpus folder, once
    no request runs and a process waits for the next) and `answered_by` (the pids in order)."""
    started = []

    def start(patch: str = ""):
        log = tmp_path / "answered_by"
        context = running_server(socket_folder / "s.sock", ANSWERED_BY + patch, ANSWERED_BY=str(log))
        server = context.__enter__()
        started.append(context)

        def run(*args, cwd=corpus, **extra):
            until(lambda: spare_waits(server), "no process waits for a request")
            env = environment(server.socket, corpus / "index", no_click, **extra)
            return archsearch(*args, env=env, cwd=cwd)

        server.run = run
        server.answered_by = lambda: [int(pid) for pid in log.read_text().split()]
        # The first request on an index opens it, which the server then keeps open: the processes
        # forked before inherited none, and answer no other request.
        assert run("query", "-c", "Taliban").returncode == 0
        log.unlink()
        return server

    yield start
    for context in started:
        context.__exit__(None, None, None)


def local(corpus, *args, **extra):
    env = environment(corpus / "nosocket", corpus / "index", ARCHSEARCH_SERVER="off", **extra)
    return archsearch(*args, env=env, cwd=corpus)


def test_a_plain_query_is_answered_by_the_process_that_answered_one_before(serving, corpus):
    server = serving()
    first, second = server.run("query", "Taliban"), server.run("query", "--json", "Pasta")
    assert outcome(first) == outcome(local(corpus, "query", "Taliban"))
    assert outcome(second) == outcome(local(corpus, "query", "--json", "Pasta"))
    assert first.returncode == 0 and second.returncode == 0
    assert len(set(server.answered_by())) == 1


def test_a_plain_query_with_a_configuration_file_is_answered_by_a_warm_process(serving, corpus, tmp_path):
    """The file's defaults and saved queries keep a query plain (query_line.file_defaults,
    saved_expanded): read without click, and answered by the process that answered one before,
    which the file's reading leaves as it was."""
    config = tmp_path / "config.toml"
    config.write_text('[query]\nlimit = 1\nsort = "newest"\n\n[queries]\nsaved = "Pasta"\n')
    server = serving()
    for args in (("query", "Taliban"), ("query", "@saved", "-n", "2"), ("query", "--json", "Pasta", "OR", "Taliban")):
        answered = server.run(*args, ARCHSEARCH_CONFIG=str(config))
        assert answered.returncode == 0
        assert outcome(answered) == outcome(local(corpus, *args, ARCHSEARCH_CONFIG=str(config)))
    assert len(set(server.answered_by())) == 1


ODD_QUERIES = (
    ("--color", "always", "-n", "1", "Taliban"),
    ("--format", "csv", "--bom", "--since", "2001-01-01", "--undated", "taliban~"),
    ("--json", "--explain", "--expand", "-i", "Tali*"),
    ("-l", "-0", "--sort", "oldest", "--all-copies", "--any", "Pasta", "Taliban", "nowordlikethis"),
)


def test_queries_after_ones_with_odd_settings_answer_as_they_would_alone(serving, corpus, tmp_path):
    server = serving()
    for odd in ODD_QUERIES:
        answered = server.run(
            "query", "--index", os.path.relpath(corpus / "index", tmp_path), *odd, cwd=tmp_path, NO_COLOR="1",
            COLUMNS="31", TZ="Pacific/Kiritimati", LANG="C", XDG_STATE_HOME=str(tmp_path),
        )
        assert answered.returncode == 0, answered.stderr
    for args in (("query", "Taliban"), ("query", "--sort", "newest", "Pasta OR Taliban"), ("show", "@1")):
        assert outcome(server.run(*args)) == outcome(local(corpus, *args))
    assert len(set(server.answered_by())) == 1


def test_a_process_that_ran_anything_but_a_plain_query_cleanly_answers_no_other(serving):
    server = serving()
    for args in (("stats",), ("query", 'Taliban "peace'), ("query", "Taliban")):
        server.run(*args)
    answered_by = server.answered_by()
    assert len(set(answered_by)) == 3, answered_by


def test_a_process_answers_at_most_so_many_requests(serving):
    server = serving("server.REQUESTS_PER_PROCESS = 2")
    for _ in range(3):
        assert server.run("query", "Taliban").returncode == 0
    first, second, third = server.answered_by()
    assert first == second != third


def test_a_query_finds_what_was_indexed_since_the_one_before(serving, corpus, tmp_path):
    server = serving()
    assert server.run("query", "--index", str(tmp_path / "index"), "Taliban").returncode == 2  # no index yet
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text(wire("2020-01-01", "ROME, Jan 1. /ANSA/.", "Gnocchi at noon."))
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    assert server.run("query", "--index", str(tmp_path / "index"), "Gnocchi").returncode == 0
    (tmp_path / "seeds" / "b.txt").write_text(wire("2020-01-02", "ROME, Jan 2. /ANSA/.", "Gnocchi at night."))
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    found = server.run("query", "--index", str(tmp_path / "index"), "-l", "Gnocchi")
    assert sorted(found.stdout.split()) == [str(tmp_path / "seeds" / name).encode() for name in ("a.txt", "b.txt")]


def test_ctrl_c_interrupts_a_command_answered_after_a_plain_query(serving, corpus, no_click):
    server = serving()
    assert server.run("query", "Taliban").returncode == 0
    until(lambda: spare_waits(server), "no process waits for a request")
    blocked = subprocess.Popen(
        [installed_command(), "show", BIG], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=environment(server.socket, corpus / "index", no_click), cwd=corpus,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a shell starts it
    )
    try:
        assert blocked.stdout.read(1) == b"t"
        blocked.send_signal(signal.SIGINT)
        select.select([blocked.stderr], [], [], BOUND)
        _, err = blocked.communicate(timeout=BOUND)
    finally:
        blocked.kill()
    assert (blocked.returncode, err.lstrip()) == (130, b"archsearch: interrupted\n")
    first, second = server.answered_by()
    assert first == second


@pytest.fixture
def process_state(monkeypatch, tmp_path):
    """This process's signal handlers and umask as they were, after the test; loaded what a server
    loads (restored() would take a module loaded first for one the request loaded)."""
    from archsearch import lasthits, searching  # noqa: F401

    server_module._rich_width_caches()
    monkeypatch.chdir(tmp_path)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGUSR1)}
    umask = os.umask(0o022)
    os.umask(umask)
    with warnings.catch_warnings():
        yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)
    os.umask(umask)


def test_what_a_query_changed_in_its_process_is_put_back(process_state, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["archsearch"])
    connection, client_end = socket.socketpair()
    settled = server_module._Settled.now()
    before = (dict(os.environ), os.getcwd(), sys.stdout, sys.argv, list(warnings.filters))
    # What a request changes
    os.environ["ARCHSEARCH_ODD"] = "1"
    os.chdir("/")
    os.umask(0o077)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, lambda signum, frame: None)
    sys.stdout = io.StringIO()
    sys.argv = ["archsearch", "query", "odd"]
    warnings.simplefilter("error")
    warnings.onceregistry[("odd", UserWarning, 1)] = True
    width_caches = server_module._rich_width_caches()
    widths = [cache.cache_info().currsize for cache in width_caches]
    from rich.cells import cell_len

    cell_len("ok")
    with client_end:
        assert settled.restored(connection, kept_searchers())
    assert (dict(os.environ), os.getcwd(), sys.stdout, sys.argv, list(warnings.filters)) == before
    assert os.umask(0o022) == settled.umask
    assert signal.getsignal(signal.SIGINT) is settled.handlers[signal.SIGINT]
    assert signal.getsignal(signal.SIGUSR1) is settled.handlers[signal.SIGUSR1]
    assert not warnings.onceregistry
    assert [cache.cache_info().currsize for cache in width_caches] == [0] * len(widths)
    assert connection.fileno() == -1


@pytest.mark.parametrize("change", ["file", "module", "module swapped", "memory", "searcher"])
def test_a_process_changed_beyond_what_it_puts_back_answers_no_other(process_state, monkeypatch, change):
    connection, client_end = socket.socketpair()
    settled = server_module._Settled.now()
    left_open = None
    inherited = kept_searchers()
    if change == "file":
        left_open = open(os.devnull)
    elif change == "module":
        monkeypatch.setitem(sys.modules, "archsearch_imported_by_a_request", sys)
    elif change == "module swapped":  # as many modules as before, one of them another
        monkeypatch.delitem(sys.modules, "archsearch.errors")
        monkeypatch.setitem(sys.modules, "archsearch_imported_by_a_request", sys)
    elif change == "memory":
        monkeypatch.setattr(server_module, "GROWTH_BYTES", -1)
    else:
        inherited = {"/an/index": object()}
    try:
        with client_end:
            assert not settled.restored(connection, inherited)
    finally:
        if left_open:
            left_open.close()



def test_a_file_of_a_kept_index_read_by_a_query_is_kept_open_but_no_other(warmed, process_state):
    """Whoosh and prefix_postings.py open some of a segment's files on first use, and keep them."""
    segment = next(warmed.resolve().glob("*.seg"))
    for mode, reusable in (("rb", True), ("r+b", False)):
        connection, client_end = socket.socketpair()
        settled = server_module._Settled.now()
        with open(segment, mode), client_end:
            assert settled.restored(connection, kept_searchers()) == reusable


def test_a_process_waiting_again_lets_go_of_an_index_deleted(socket_folder, tmp_path, no_click):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    env = environment(socket_folder / "s.sock", tmp_path / "index", no_click, ANSWERED_BY=str(tmp_path / "answered"))
    with running_server(socket_folder / "s.sock", ANSWERED_BY, ANSWERED_BY=str(tmp_path / "answered")) as server:
        for _ in range(3):  # the first opens the index; the second's process answers the third
            until(lambda: spare_waits(server), "no process waits for a request")
            assert archsearch("query", "Taliban", env=env).returncode == 0
        _, second, third = map(int, (tmp_path / "answered").read_text().split())
        assert second == third
        until(lambda: spare_waits(server) and files_under(third, tmp_path / "index"), "it does not wait")
        shutil.rmtree(tmp_path / "index")
        os.kill(server.pid, signal.SIGCHLD)  # wakes the server, as a request's end does
        until(lambda: not Path(f"/proc/{third}").exists(), "the process that answered holds the deleted index")


def test_at_most_so_many_processes_wait_again(monkeypatch):
    """Processes that say they wait again (server._take_back) beyond KEPT_IDLE are let go, as is
    one forked before the server last changed what it keeps."""
    server = server_module._Server.__new__(server_module._Server)
    server.idle, server.busy, server.requests, server.request_times = [], {}, {}, {}
    server.keeping, server.stop_reason, server.commands_run, server.last_request = 1, "", 0, 0.0
    ends = {}
    for pid, keeping in ((101, 1), (102, 0), (103, 1), (104, 1)):
        line, ends[pid] = socket.socketpair()
        server.busy[pid] = server_module._Spare(pid, line, 0.0, keeping)
        ends[pid].sendall(server_module.SPARE_WAITS)
    server_module._take_back(server, [process.line for process in server.busy.values()])
    assert [process.pid for process in server.idle] == [101, 103][: server_module.KEPT_IDLE]
    assert (server.busy, server.commands_run) == ({}, 4)
    for pid, end in ends.items():
        end.setblocking(False)
        try:
            let_go = end.recv(1) == b""  # the server's end closed
        except BlockingIOError:  # open, and nothing said
            let_go = False
        assert let_go == (pid not in [process.pid for process in server.idle])
        end.close()
    for process in server.idle:
        process.line.close()
