"""Who and what `archsearch serve` answers: only clients with its own rights, only the read-only
commands, and a malformed request only closes its own connection."""

import ast
import contextlib
import functools
import marshal
import os
import select
import shutil
import socket
import subprocess
import sys

import pytest

from archsearch import client
from test_server import (  # noqa: F401 (fixtures)
    BOUND,
    RAN_IN_CLIENT,
    archsearch,
    corpus,
    environment,
    no_click,
    running_server,
    short_folder,
    socket_folder,
)


@pytest.fixture(scope="module")
def shared_server():
    """One server for the tests that send it a request, good or bad, or have another client do:
    each leaves it as it was (one that does not is the finding), and checks it serves on. Its
    start (its preload) took more than each test. Started again when it would not run a command
    (a request left unconfirmed finds out): it stops when its code changes on disk, which
    test_server's stale-server test, on another worker, makes it see."""
    folder = short_folder()
    started = contextlib.ExitStack()
    current = []

    def serving():
        if not current or send(current[-1], frame(run_request()), confirm=False) != client.OFFER:
            started.close()
            current.append(started.enter_context(running_server(folder / "s.sock")))
        return current[-1]

    try:
        yield serving
    finally:
        started.close()
        shutil.rmtree(folder)


@pytest.fixture
def server(shared_server):
    return shared_server()


@pytest.fixture
def own_server(socket_folder):
    """A server of the test's own, to leave a request unconfirmed or open its socket folder to others."""
    with running_server(socket_folder / "s.sock") as started:
        yield started


@functools.cache
def installed_installation() -> tuple:
    """client.INSTALLATION as the installed archsearch (the server's) has it: the tests' own
    import may come from the source tree instead (python -m pytest puts the working folder first)."""
    shown = subprocess.run(
        [sys.executable, "-c", "from archsearch import client; print(repr(client.INSTALLATION))"],
        cwd="/", capture_output=True, text=True, check=True,
    ).stdout
    return ast.literal_eval(shown)


def run_request() -> dict:
    """A request as our client sends it."""
    return {
        "type": "run",
        "installation": installed_installation(),
        "argv": ["archsearch", "stats"],
        "cwd": os.getcwd(),
        "env": {key: value for key, value in os.environ.items() if key != "ARCHSEARCH_SOCKET"},
        "streams": [("utf-8", "strict", False, False)] * 3,
    }


def send(server, payload: bytes, fds=None, confirm=True) -> bytes:
    """What the server answers payload with (all of it, until it closes the connection), the
    client's fds 0-2 being fds, else a pipe nobody reads; an OFFER is taken up if confirm."""
    read, write = os.pipe()
    try:
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(BOUND)
            connection.connect(str(server.socket))
            fds = fds if fds is not None else [read, write, write]
            descriptors = b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)
            connection.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, descriptors)] if fds else [])
            answer = connection.recv(1)
            if answer == client.OFFER:
                if not confirm:
                    return answer
                connection.sendall(client.GO)
            while chunk := connection.recv(64):
                answer += chunk
    finally:
        os.close(read)
        os.close(write)
    return answer


def frame(message) -> bytes:
    payload = marshal.dumps(message)
    return len(payload).to_bytes(4, "big") + payload


def serves_on(server, corpus, no_click) -> bool:
    result = archsearch("stats", env=environment(server.socket, corpus / "index", no_click))
    return result.returncode == 0


def test_a_well_formed_request_is_answered(server, corpus):
    request = run_request()
    request["env"]["ARCHSEARCH_INDEX"] = str(corpus / "index")
    assert send(server, frame(request)) == client.OFFER + (0).to_bytes(client.STATUS_SIZE, "big")


def test_a_client_that_stops_waiting_before_it_confirms_never_gets_its_command_run(own_server, corpus):
    server = own_server
    request = run_request()
    request["env"]["ARCHSEARCH_INDEX"] = str(corpus / "index")
    read, write = os.pipe()
    try:
        assert send(server, frame(request), [read, write, write], confirm=False) == client.OFFER
        os.close(write)
        # Gone without GO: the request's process ends without writing, and closes the pipe.
        assert select.select([read], [], [], BOUND)[0] and os.read(read, 100) == b""
    finally:
        os.close(read)


def malformed(change):
    def make(corpus):
        request = run_request()
        change(request, corpus)
        return frame(request)

    return make


def without(key):
    return malformed(lambda request, corpus: request.pop(key))


def with_value(key, value):
    return malformed(lambda request, corpus: request.update({key: value}))


@pytest.mark.parametrize(
    "make",
    [
        lambda corpus: frame(["archsearch", "stats"]),
        lambda corpus: b"\0\0\0\x05garbage",
        lambda corpus: (1 << 31).to_bytes(4, "big") + b"{",
        without("argv"),
        without("env"),
        without("streams"),
        with_value("argv", "archsearch stats"),
        with_value("argv", ["archsearch"]),
        with_value("argv", ["archsearch", "stats", 3]),
        with_value("env", {"HOME": 1}),
        with_value("env", {"HOME": "/\0"}),
        with_value("cwd", None),
        with_value("streams", [("utf-8", "strict", False, False)] * 2),
        with_value("streams", [("no-such-codec", "strict", False, False)] * 3),
    ],
)
def test_a_malformed_request_is_closed_unanswered_and_the_server_serves_on(server, corpus, no_click, make):
    assert send(server, make(corpus)) == b""
    assert serves_on(server, corpus, no_click)


def test_a_request_without_its_descriptors_is_closed(server, corpus, no_click):
    assert send(server, frame(run_request()), fds=[]) == b""
    assert serves_on(server, corpus, no_click)


def test_a_folder_as_standard_stream_is_refused(server, corpus, no_click, tmp_path):
    folder = os.open(tmp_path, os.O_RDONLY)
    try:
        assert send(server, frame(run_request()), fds=[folder, 1, 2]) == b""
    finally:
        os.close(folder)
    assert serves_on(server, corpus, no_click)


@pytest.mark.parametrize("argv", [["archsearch", "index", "FOLDER"], ["archsearch", "serve", "--stop"], ["archsearch", "--version"]])
def test_only_the_read_only_commands_are_run(server, corpus, no_click, tmp_path, argv):
    request = run_request()
    request["argv"] = [str(tmp_path / "articles") if arg == "FOLDER" else arg for arg in argv]
    request["env"]["ARCHSEARCH_INDEX"] = str(tmp_path / "index")
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_text("An article.")
    assert send(server, frame(request)) == b""
    assert not (tmp_path / "index").exists()
    assert serves_on(server, corpus, no_click)


def test_a_client_with_other_credentials_runs_the_command_itself(socket_folder, corpus, no_click):
    # The server sees every client as having one more credential than itself.
    patch = "real = server.credentials\nserver.credentials = lambda process: real(process) + ((process,) if process != 'self' else ())"
    with running_server(socket_folder / "s.sock", patch) as server:
        ran_here = archsearch("stats", env=environment(server.socket, corpus / "index", no_click))
        assert ran_here.returncode == 1 and RAN_IN_CLIENT in ran_here.stderr
        ran_here = archsearch("stats", env=environment(server.socket, corpus / "index"))
        assert ran_here.returncode == 0 and b"articles" in ran_here.stdout


def wrapped(server, corpus, no_click, *wrapper) -> subprocess.CompletedProcess:
    from conftest import installed_command

    return subprocess.run(
        [*wrapper, installed_command(), "stats"],
        capture_output=True,
        env=environment(server.socket, corpus / "index", no_click),
        timeout=BOUND,
    )


@pytest.mark.parametrize(
    "wrapper",
    [
        ("setpriv", "--no-new-privs"),  # as a sandbox sets it
        ("unshare", "--user", "--map-current-user"),  # another user namespace
        ("setpriv", "--groups", "12345", "--"),  # other supplementary groups (needs root)
    ],
)
def test_a_sandboxed_client_of_the_same_user_runs_the_command_itself(server, corpus, no_click, wrapper):
    if not shutil.which(wrapper[0]):
        pytest.skip(f"no {wrapper[0]} here")
    probe = subprocess.run([*wrapper, "true"], capture_output=True)
    if probe.returncode:
        pytest.skip(f"{' '.join(wrapper)} does not work here: {probe.stderr.decode().strip()}")
    assert serves_on(server, corpus, no_click)
    ran_here = wrapped(server, corpus, no_click, *wrapper)
    assert ran_here.returncode == 1 and RAN_IN_CLIENT in ran_here.stderr


def test_stop_checks_the_socket_folder(own_server, corpus, no_click):
    server = own_server
    server.socket.parent.chmod(0o755)
    try:
        refused = archsearch("serve", "--stop", env=environment(server.socket))
    finally:
        server.socket.parent.chmod(0o700)
    assert refused.returncode == 2 and b"is open to other users" in refused.stderr
    assert serves_on(server, corpus, no_click)


def test_stop_without_a_socket_folder_says_no_server_runs(tmp_path):
    path = tmp_path / "none" / "s.sock"
    stopped = archsearch("serve", "--stop", env=environment(path))
    assert (stopped.returncode, stopped.stderr) == (1, f"archsearch: no server is running on {path}\n".encode())
