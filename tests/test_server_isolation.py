"""`archsearch serve` answers each request apart: no client, request or crash holds up another, a
client the server cannot answer at once runs its command itself, and a command never runs twice.

Waits here are bounds for failure only: a test passes as soon as what it waits for happens."""

import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import SEEDS, installed_command
from test_server import (  # noqa: F401 (fixtures)
    BOUND,
    BIG,
    RAN_IN_CLIENT,
    archsearch,
    corpus,
    environment,
    no_click,
    open_files_under,
    outcome,
    request_processes,
    running_server,
    socket_folder,
    until,
)

@pytest.fixture
def blocked_reader(corpus, no_click):
    """Starts a served `show BIG` whose stdout nobody reads (a pager left open), once it blocks."""
    started = []

    def start(server, *args):
        process = subprocess.Popen(
            [installed_command(), *(args or ("show", BIG))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment(server.socket, corpus / "index", no_click),
            cwd=corpus,
        )
        started.append(process)
        assert select.select([process.stdout], [], [], BOUND)[0], "the command wrote nothing"
        return process

    yield start
    for process in started:
        process.kill()
        process.communicate(timeout=BOUND)


@pytest.fixture
def served_query(corpus, no_click):
    def run(server, *args):
        return archsearch(
            *(args or ("query", "Taliban")), env=environment(server.socket, corpus / "index", no_click), cwd=corpus
        )

    return run


@pytest.fixture
def server(socket_folder):
    """A server of the test's own, to block, stop or feed bad requests."""
    with running_server(socket_folder / "s.sock") as started:
        yield started


def test_a_client_that_does_not_read_blocks_no_other(server, blocked_reader, served_query):
    blocked_reader(server)
    blocked_reader(server, "query", "-n", "0", "Pasta")
    answered = served_query(server)
    assert answered.returncode == 0 and b"**Taliban**" in answered.stdout, answered.stderr


def test_a_client_trickling_its_request_blocks_no_other_and_is_cut_off(server, served_query):
    from archsearch import server as server_module

    cut_off = threading.Event()

    def trickle():
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(str(server.socket))
            connection.sendall((1000).to_bytes(4, "big"))
            deadline = time.monotonic() + BOUND
            while time.monotonic() < deadline:
                try:
                    connection.sendall(b"\0")
                except OSError:
                    break
                if select.select([connection], [], [], 0.5)[0]:
                    break  # closed by the server
            else:
                return
            cut_off.set()

    trickler = threading.Thread(target=trickle)
    trickler.start()
    try:
        answered = served_query(server)
        assert answered.returncode == 0 and b"**Taliban**" in answered.stdout, answered.stderr
    finally:
        trickler.join()
    assert cut_off.is_set(), f"a trickling request was not cut off after {server_module.REQUEST_SECONDS} s"


def test_a_crashed_request_fails_alone(server, blocked_reader, served_query):
    reader = blocked_reader(server)
    until(lambda: request_processes(server), "no request process")
    os.kill(request_processes(server)[0], signal.SIGKILL)
    reader.stdout.read()
    assert reader.wait(timeout=BOUND) == 2
    assert reader.stderr.read() == b"archsearch: error: the server stopped before the command ended\n"
    assert served_query(server).returncode == 0


def test_a_stuck_server_leaves_the_client_to_run_the_command_once(server, corpus, tmp_path):
    env = environment(server.socket, corpus / "index")
    output = tmp_path / "output"
    os.kill(server.pid, signal.SIGSTOP)
    try:
        with output.open("wb") as stdout:
            ran = subprocess.run(
                [installed_command(), "query", "-l", "Taliban"], stdout=stdout, env=env, cwd=corpus, timeout=BOUND
            )
    finally:
        os.kill(server.pid, signal.SIGCONT)
    assert ran.returncode == 0
    # The server now takes the request the client gave up on: it must not run it as well.
    assert archsearch("stats", env=env).returncode == 0
    until(lambda: not request_processes(server), "a request process did not end")
    local = archsearch("query", "-l", "Taliban", env={**env, "ARCHSEARCH_SERVER": "off"}, cwd=corpus)
    assert output.read_bytes() == local.stdout


def test_a_busy_server_leaves_the_client_to_run_the_command_at_once(socket_folder, blocked_reader, served_query):
    with running_server(socket_folder / "s.sock", "server.MAX_REQUESTS = 1") as server:
        blocked_reader(server)
        ran_here = served_query(server)
    assert ran_here.returncode == 1 and RAN_IN_CLIENT in ran_here.stderr


def test_concurrent_requests_on_a_kept_index_read_what_they_would_alone(server, corpus):
    """Requests forked from a server holding an index open must not share its file offsets."""
    env = environment(server.socket, corpus / "index")
    commands = [["query", "--json", "-n", "0", word] for word in ("Taliban", "Pasta", "Asia", "the")] + [["show", BIG]]
    expected = [outcome(archsearch(*args, env={**env, "ARCHSEARCH_SERVER": "off"}, cwd=corpus)) for args in commands]
    assert outcome(archsearch("stats", env=env)) == outcome(
        archsearch("stats", env={**env, "ARCHSEARCH_SERVER": "off"})
    )
    until(lambda: open_files_under(server, corpus / "index"), "the server did not keep the index open")
    for _ in range(3):
        processes = [
            subprocess.Popen([installed_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=corpus)
            for args in commands * 2
        ]
        results = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=BOUND)
            results.append(outcome(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)))
        assert results == expected * 2


def test_an_index_deleted_is_let_go(server, tmp_path, no_click):
    from archsearch.indexing import update_index

    shutil.copytree(SEEDS, tmp_path / "seeds")
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    env = environment(server.socket, tmp_path / "index", no_click)
    assert archsearch("query", "Taliban", env=env).returncode == 0
    until(lambda: open_files_under(server, tmp_path / "index"), "the server did not keep the index open")
    shutil.rmtree(tmp_path / "index")
    assert archsearch("stats", env=env).returncode == 2  # a request wakes the server
    until(lambda: not open_files_under(server, tmp_path / "index"), "the deleted index's files are still open")
