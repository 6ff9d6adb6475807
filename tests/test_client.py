"""The client's side of a served command: what it costs before it talks to the server.

A served command pays for every module its process loads; the client must load none of the
command's (click, rich, Whoosh, archsearch.cli): the server has them."""

import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from archsearch import client

LOADED_AT_EXIT = """
import atexit, os, sys
exit_now = os._exit

def exit_reporting(status):
    print(sorted(
        name for name, module in sys.modules.items()
        if name.partition(".")[0] in ("archsearch", "click", "rich", "whoosh")
        and type(module).__name__ != "_DeferredModule"  # lean_imports' placeholders: nothing loaded
    ), file=sys.stderr, flush=True)
    exit_now(status)

os._exit = exit_reporting
atexit.register(lambda: print("finalized", file=sys.stderr))
sys.argv = ["archsearch", "query", "Taliban"]
from archsearch.client import main
main()
"""


def answer_one(listening: socket.socket, status: int) -> None:
    """What the server does for a request it runs: OFFER, then the status once GO has come."""
    connection, _ = listening.accept()
    with connection:
        data, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        size = int.from_bytes(data[:4], "big")
        while len(data) < 4 + size:
            data += connection.recv(1 << 20)
        for fd in fds:
            os.close(fd)
        connection.sendall(client.OFFER)
        assert connection.recv(1) == client.GO
        connection.sendall(status.to_bytes(client.STATUS_SIZE, "big", signed=True))


def served_in_client(status: int) -> subprocess.CompletedProcess:
    """LOADED_AT_EXIT run against a server that answers with status."""
    folder = Path(tempfile.mkdtemp(prefix="as-"))  # short: a socket's path is at most 107 bytes
    try:
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listening.bind(str(folder / "s.sock"))
        listening.listen(1)
        server = threading.Thread(target=answer_one, args=(listening, status))
        server.start()
        env = {**os.environ, "ARCHSEARCH_SOCKET": str(folder / "s.sock"), "ARCHSEARCH_SERVER": "manual"}
        result = subprocess.run([sys.executable, "-c", LOADED_AT_EXIT], env=env, capture_output=True, text=True, timeout=60)
        server.join(timeout=60)
        listening.close()
    finally:
        for name in os.listdir(folder):
            os.unlink(folder / name)
        folder.rmdir()
    return result


def test_a_served_command_loads_nothing_of_the_command_in_the_client():
    result = served_in_client(1)
    assert result.returncode == 1  # the status the server sent
    # Nor lean_imports, which only the command needs (archsearch.client._LeanImportsOnFirstUse).
    assert result.stderr.splitlines()[-1] == "['archsearch', 'archsearch.client']"


def test_a_served_command_ends_the_client_without_python_s_finalization():
    result = served_in_client(130)
    assert result.returncode == 130
    assert "finalized" not in result.stderr


INTERRUPTED_IN_ITS_IMPORTS = """
import sys
from archsearch import client

def interrupted():
    raise KeyboardInterrupt  # as a Ctrl-C in a command's first ~100 ms, while it imports

client.run_here = interrupted
sys.argv = ["archsearch", "query", "Taliban"]
client.main()
"""


def test_a_ctrl_c_before_the_command_handles_it_says_interrupted_without_a_traceback(tmp_path):
    """A Ctrl-C in a query's first ~100 ms (its imports, before the command's own handling) printed
    a KeyboardInterrupt traceback (the review of wt-noserver3; so before too)."""
    ended = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_IN_ITS_IMPORTS], capture_output=True, text=True, timeout=60,
        env={**os.environ, "ARCHSEARCH_SERVER": "off", "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert (ended.returncode, ended.stderr) == (130, "archsearch: interrupted\n")
