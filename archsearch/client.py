"""The `archsearch` console script: hands read-only commands to `archsearch serve` when one runs.

Every command pays for what this module imports, server or not, so it decides with what Python
loads at start-up, the package's small __init__ and `_socket` (about 1.5 ms in all); click,
Whoosh and archsearch.cli load only when the command runs here. The command line, working folder and environment travel to the server with
the client's stdin, stdout and stderr themselves (SCM_RIGHTS), so the server writes where this
process would have, and the client ends with the command's exit status. archsearch.server is the
other end and describes the conversation.
"""

import marshal
import os
import stat
import sys

import _socket  # socket.py takes ~4 ms to import, more than the rest of this module

# Commands that only read the index; anything else (index, --help, --version) always runs here.
FORWARDED = frozenset({"query", "show", "similar", "sources", "stats", "timeline"})

# Bytes of the conversation. Client to server: a request, then INTERRUPT on Ctrl-C. Server to
# client: RUN_HERE (the server did not run the command), or RUNNING then the exit status as 4 bytes;
# STOPPED answers a stop request.
INTERRUPT = b"i"
RUN_HERE = b"L"
RUNNING = b"R"
STOPPED = b"S"

STATUS_SIZE = 4

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
            connection.connect(path)
            fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
            sent = connection.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
            if sent < len(request):
                # Not an empty sendall(): a quick command may already have ended, and sending
                # nothing to a closed connection fails with EPIPE.
                connection.sendall(request[sent:])
        except OSError:  # nobody listening (a leftover socket file), or the server went away
            return None
        except KeyboardInterrupt:
            return _interrupted_before_running()
        return _outcome(connection)
    finally:
        connection.close()


def _outcome(connection) -> int | None:
    """Waits for the server's answer, passing Ctrl-C on; a second Ctrl-C stops waiting."""
    answer = b""
    interrupted = False
    while not (answer[:1] == RUN_HERE or len(answer) == 1 + STATUS_SIZE):
        try:
            chunk = connection.recv(1 + STATUS_SIZE - len(answer))
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
            # A running command has said it was interrupted; one still queued has not.
            return 130 if answer[:1] == RUNNING else _interrupted_before_running()
        except OSError:
            chunk = b""
        if not chunk:
            break
        answer += chunk
    if answer[:1] == RUNNING:
        if len(answer) == 1 + STATUS_SIZE:
            return int.from_bytes(answer[1:], "big", signed=True)
        os.write(2, b"archsearch: error: the server stopped before the command ended\n")
        return 2
    # The server did not run the command (it went away, or its code changed): this process will.
    return _interrupted_before_running() if interrupted else None


def _interrupted_before_running() -> int:
    os.write(2, b"archsearch: interrupted\n")  # what the command says when interrupted
    return 130
