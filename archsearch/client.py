"""The `archsearch` console script: hands read-only commands to `archsearch serve` when one runs.

Every command pays for what this module imports, server or not, so it decides with what Python
loads at start-up, the package's small __init__ and `_socket` (about 1.5 ms in all); click,
Whoosh and archsearch.cli load only when the command runs here. The command line, working
folder and environment travel to the server with the client's stdin, stdout and stderr
themselves (SCM_RIGHTS), so the server writes where this process would have, and the client
ends with the command's exit status. archsearch.server is the other end and describes the
conversation.
"""

import marshal
import os
import stat
import sys
from time import monotonic as _monotonic

import _socket  # socket.py takes ~4 ms to import, more than the rest of this module

# Commands that only read the index; anything else (index, --help, --version) always runs here.
FORWARDED = frozenset({"kwic", "query", "show", "similar", "sources", "stats", "terms", "timeline"})

# Bytes of the conversation (archsearch.server describes it). Client to server: a request, GO,
# then INTERRUPT on Ctrl-C. Server to client: RUN_HERE (the server will not run the command), or
# OFFER then the exit status as 4 bytes; STOPPED answers a stop request.
RUN_HERE = b"L"
OFFER = b"O"
GO = b"G"
INTERRUPT = b"i"
STOPPED = b"S"

STATUS_SIZE = 4

# How long a client waits for the server to offer to run its command, before running it itself.
START_SECONDS = 2

# A server runs commands for clients of its own installation only (the socket is per user, not
# per virtual environment).
INSTALLATION = (os.path.dirname(__file__), sys.version)

# How long a client waits, after passing Ctrl-C on, for the command to end.
INTERRUPT_GRACE_SECONDS = 2


def socket_path(environ=os.environ) -> str:
    """Where the server listens: $ARCHSEARCH_SOCKET, else in $XDG_RUNTIME_DIR, else in /tmp."""
    if environ.get("ARCHSEARCH_SOCKET"):
        return os.path.abspath(environ["ARCHSEARCH_SOCKET"])
    runtime = environ.get("XDG_RUNTIME_DIR") or ""
    if os.path.isabs(runtime):
        return os.path.join(runtime, "archsearch", "server.sock")
    return f"/tmp/archsearch-{os.getuid()}/server.sock"


def folder_problem(folder: str) -> str | None:
    """Why the socket must not live in folder, or None when it may.

    Only a folder of this user's that nobody else can enter keeps other users from answering in
    the server's place, or from reaching the server."""
    try:
        info = os.lstat(folder)
    except OSError as exc:
        return f"cannot use {folder} for the server socket: {exc.strerror}"
    if not stat.S_ISDIR(info.st_mode):
        return f"{folder} is not a folder, so it cannot hold the server socket"
    if info.st_uid != os.getuid():
        return f"{folder} belongs to another user; set ARCHSEARCH_SOCKET to a path in a folder of yours"
    if info.st_mode & 0o077:
        return f"{folder} is open to other users: run 'chmod 700 {folder}', or set ARCHSEARCH_SOCKET elsewhere"
    return None


def frame(message: dict) -> bytes:
    payload = marshal.dumps(message)
    return len(payload).to_bytes(4, "big") + payload


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in FORWARDED and os.environ.get("ARCHSEARCH_SERVER") != "off":
        status = forward(sys.argv)
        if status is not None:
            sys.exit(status)
    from archsearch.cli import main as run_here

    run_here()


def forward(argv: list[str]) -> int | None:
    """The exit status of argv run by the server, or None when it did not run it and this process should."""
    path = socket_path()
    if folder_problem(os.path.dirname(path)):
        return None
    try:
        request = frame(
            {
                "type": "run",
                "installation": INSTALLATION,
                "argv": argv,
                "cwd": os.getcwd(),
                "env": dict(os.environ),
                "streams": [
                    (stream.encoding, stream.errors, stream.line_buffering, stream.write_through)
                    for stream in (sys.stdin, sys.stdout, sys.stderr)
                ],
            }
        )
    except (OSError, AttributeError):  # no working folder left, or a standard stream closed
        return None
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            deadline = _monotonic() + START_SECONDS
            connection.settimeout(START_SECONDS)
            connection.connect(path)
            fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
            sent = connection.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
            while sent < len(request):
                connection.settimeout(max(deadline - _monotonic(), 0.001))
                sent += connection.send(request[sent:])
            connection.settimeout(max(deadline - _monotonic(), 0.001))
            if connection.recv(1) != OFFER:
                return None  # RUN_HERE, or the connection closed unanswered
            connection.sendall(GO)
        except OSError:  # nobody listening (a leftover socket file), a server gone, busy or stuck
            return None
        except KeyboardInterrupt:
            return _interrupted_before_running()
        return _outcome(connection)
    finally:
        connection.close()


def _outcome(connection) -> int:
    """Waits for the exit status of the command the server runs, passing Ctrl-C on; a second
    Ctrl-C stops waiting."""
    connection.settimeout(None)
    answer = b""
    interrupted = False
    while len(answer) < STATUS_SIZE:
        try:
            chunk = connection.recv(STATUS_SIZE - len(answer))
        except KeyboardInterrupt:
            if interrupted:
                return 130
            interrupted = True
            try:
                connection.send(INTERRUPT)
            except OSError:
                pass
            connection.settimeout(INTERRUPT_GRACE_SECONDS)
            continue
        except TimeoutError:
            return 130
        except OSError:
            chunk = b""
        if not chunk:
            os.write(2, b"archsearch: error: the server stopped before the command ended\n")
            return 2
        answer += chunk
    return int.from_bytes(answer, "big", signed=True)


def _interrupted_before_running() -> int:
    os.write(2, b"archsearch: interrupted\n")  # what the command says when interrupted
    return 130
