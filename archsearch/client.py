"""The `archsearch` console script: hands read-only commands to `archsearch serve` when one runs.

Every command pays for what this module imports, server or not, so it decides with what Python
loads at start-up, the package's small __init__, and `_socket` once a server may listen; click,
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

# $ARCHSEARCH_SERVER (else the configuration file's `server`): OFF never hands a command to a
# server; MANUAL hands it to one that runs but never starts one; anything else ("auto") also starts one.
OFF = "off"
MANUAL = "manual"

# After `serve --stop`, reading commands start no server for this long: one stopped on purpose
# does not come back with the very next command.
PAUSE_AFTER_STOP_SECONDS = 600

# forward()'s answer when no server listens: the command runs here, and may start one.
NOT_LISTENING = "not listening"

# Where a server started by a command writes what it says (in the state folder), and how large
# that log may grow before it starts again empty.
SERVER_LOG = "server.log"
SERVER_LOG_BYTES = 1 << 20


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


class _LeanImportsOnFirstUse:
    """Installs lean_imports (see there) when the first module is imported that is neither one the
    client of a server imports nor one installing imports: a command that a server runs imports
    nothing else (but _socket), and would pay 1.1 ms for installing it (with contextlib, importlib
    and functools) in a plain virtual environment. Any other import, of Whoosh, click or archsearch's
    own modules, comes first through here. It stays on sys.meta_path, done: the import system walks
    that list while a finder runs.
    Installing imports lean_imports and modules of the standard library (which of them depends on
    what Python loaded at start-up: 3.12 loads neither contextlib nor functools); one of them that
    installing imports while the import system looks for it would be loaded a second time, as a
    module of its own, once the finder returns. So those load as usual, and installing waits for
    the next import of another module.
    On archsearch's own command-line processes alone (main): its stand-ins are not the modules a
    program that imports archsearch as a library expects (a threading without Thread)."""

    installed = False

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if not cls.installed and name.partition(".")[0] not in sys.stdlib_module_names and name != "archsearch.lean_imports":
            cls.installed = True
            from archsearch import lean_imports

            lean_imports.install()
        return None  # the module is found as usual, by the finders after this one


def lean_imports_on_first_use() -> None:
    """Makes this process one of archsearch's command line: lean_imports installs itself as the
    first module beyond the client's loads (_LeanImportsOnFirstUse)."""
    if _LeanImportsOnFirstUse not in sys.meta_path:
        sys.meta_path.insert(0, _LeanImportsOnFirstUse)


def main() -> None:
    """The command line (the console script, `python -m archsearch`), run to its end."""
    lean_imports_on_first_use()
    try:
        _main()
    except KeyboardInterrupt:  # before the command's own handling (in its imports): no traceback
        os._exit(_interrupted_before_running())


def _main() -> None:
    if sys.stdout is None:  # started with its standard output closed (`>&-`): nowhere to answer
        if sys.stderr is not None:
            sys.stderr.write("archsearch: error: standard output is closed\n")
        os._exit(2)
    setting = os.environ.get("ARCHSEARCH_SERVER", "")
    if len(sys.argv) > 1 and sys.argv[1] in FORWARDED and setting != OFF:
        status = forward(sys.argv)
        if isinstance(status, int):
            # Without Python's finalization (freeing every module and object: 4 ms of CPU, more
            # than the rest of this process's own work): the client has written nothing but with
            # os.write, and holds nothing that needs closing.
            os._exit(status)
        if status is NOT_LISTENING and setting != MANUAL and not os.environ.get("CI"):
            end(run_then_start_server(socket_path()))  # as a command run here alone ends
    end(run_here())


def run_here() -> int:
    """The command line run in this process, to its exit status: a plain query read without click
    (archsearch.query_line), anything else by click (archsearch.cli)."""
    from archsearch import query_line

    status = query_line.run(sys.argv[1:])
    if status is None:
        from archsearch.cli import run

        status = run()
    return status


def end(status) -> None:
    """Ends the process with a command's exit status. A command that only reads the index (one
    archsearch.client may hand to a server) ends at once, as the server's request processes do:
    the interpreter's clean-up would free every object the command made, one by one, and collect
    them, for nothing that outlives the process (a sixth of a query's CPU at 100k articles).
    What it wrote is flushed first; a command that writes, or left a thread running, ends normally."""
    from archsearch import lean_imports

    threading = lean_imports.loaded("threading")  # a placeholder of lean_imports': no thread started by it
    threads_left = threading is not None and any(
        thread.is_alive() and not thread.daemon for thread in threading.enumerate() if thread is not threading.main_thread()
    )
    if sys.argv[1:2] and sys.argv[1] in FORWARDED and isinstance(status, int) and not threads_left:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        lean_imports.save_compiled_sources()
        os._exit(status)
    sys.exit(status)


def run_then_start_server(path: str) -> int:
    """Runs the command here, without waiting for any server; then starts one in the background
    for the commands to come (unless one was stopped on purpose lately: PAUSE_AFTER_STOP_SECONDS)."""
    lock = _autostart_lock(path)
    try:
        status = run_here()
        if lock is not None and status in (0, 1) and _autostart_configured():  # not after an error
            _start_server(lock)
        return status
    finally:
        if lock is not None:
            os.close(lock)


def _autostart_lock(path: str) -> int | None:
    """The server's lock on path, held, when no server holds it and none was stopped less than
    PAUSE_AFTER_STOP_SECONDS ago; else None. Holding the lock from here until the server takes
    it over is what keeps two commands at once from starting two servers."""
    import fcntl

    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        # The pause is looked at before the lock is taken: a lock taken only to be let go again
        # would say to `serve --status`, for that instant, that a server is starting.
        if folder_problem(folder) or _stopped_lately(path):
            return None
        lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a server holds the lock, or another command is starting one
        os.close(lock)
        return None
    return lock


def _stopped_lately(path: str) -> bool:
    """Whether `serve --stop` stopped the server on path less than PAUSE_AFTER_STOP_SECONDS ago."""
    import time

    try:
        stopped = os.stat(stopped_marker(path)).st_mtime
    except FileNotFoundError:
        return False
    return 0 <= time.time() - stopped < PAUSE_AFTER_STOP_SECONDS


def stopped_marker(path: str) -> str:
    """The file whose time says when the server on path was last stopped by `serve --stop`."""
    return path + ".stopped"


def _autostart_configured() -> bool:
    from archsearch.config import load_config
    from archsearch.errors import ArchsearchError

    try:
        return load_config().server != MANUAL
    except ArchsearchError:  # the command has said what is wrong with the file
        return False


def _start_server(lock: int) -> None:
    """`archsearch serve` in the background, on its own: in a session of its own, in /, its
    output to a log in the state folder, holding none of this process's descriptors (a pipe
    into `head` ends when this process does) but the lock, which it takes over."""
    import subprocess

    log = _open_server_log()
    try:
        subprocess.Popen(
            [sys.executable, "-m", "archsearch", "serve", "--lock-fd", str(lock)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(lock,), start_new_session=True, cwd="/",
        )
    except OSError:  # out of processes or memory: the next command tries again
        pass
    finally:
        if log != subprocess.DEVNULL:
            os.close(log)


def _open_server_log() -> int:
    import subprocess

    from archsearch.lasthits import state_dir

    folder = state_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        log = os.open(folder / SERVER_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    except OSError:
        return subprocess.DEVNULL
    if os.fstat(log).st_size > SERVER_LOG_BYTES:
        os.ftruncate(log, 0)
    return log


def forward(argv: list[str]) -> int | str | None:
    """The exit status of argv run by the server; else NOT_LISTENING when no server listens, or
    None when one does but did not run it; this process runs it then."""
    path = socket_path()
    folder = os.path.dirname(path)
    if not os.path.lexists(folder):
        return NOT_LISTENING
    if folder_problem(folder):
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
    # _socket, not socket.py (~4 ms to import, more than the rest of this module); here, not at the
    # top: a command run with the server off, or before any server made its folder, never connects.
    import _socket

    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            deadline = _monotonic() + START_SECONDS
            connection.settimeout(START_SECONDS)
            try:
                connection.connect(path)
            except (FileNotFoundError, ConnectionRefusedError):  # none, or a socket file left behind
                return NOT_LISTENING
            fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
            sent = connection.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
            while sent < len(request):
                connection.settimeout(max(deadline - _monotonic(), 0.001))
                sent += connection.send(request[sent:])
            connection.settimeout(max(deadline - _monotonic(), 0.001))
            if connection.recv(1) != OFFER:
                return None  # RUN_HERE, or the connection closed unanswered
            connection.sendall(GO)
        except OSError:  # a server gone, busy or stuck
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
