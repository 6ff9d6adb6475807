"""The resident server behind `archsearch serve`; archsearch.client is the other end.

One long-lived process keeps Python, click, Whoosh and archsearch loaded, and runs the read-only
commands that clients hand it, one at a time, as each client would have run it itself: with the
client's arguments, environment and working folder, and on the client's own stdin, stdout and
stderr, received over the socket and put on file descriptors 0-2 for the length of the command,
so that isatty(), the terminal's size, colour and broken pipes are all the client's.

The conversation, over a Unix socket in a folder that only this user can enter:
  client: a request (a 4-byte length, then a marshalled dict), with its fds 0-2 attached
  server: RUN_HERE, when it will not run the command (a client of another installation, the
          client already gone, or this server's code changed on disk, after which it stops);
          else RUNNING, and the exit status once the command's output is written and the
          client's fds are closed
  client: INTERRUPT when Ctrl-C is pressed; the command is interrupted, or hanging up does it
A stop request (`archsearch serve --stop`) is answered STOPPED once the socket is gone.
"""

import contextlib
import fcntl
import importlib
import io
import marshal
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass

from archsearch import client
from archsearch.cli import run
from archsearch.errors import ArchsearchError

# What the forwarded commands load on first use: loaded at start, so that the first request is fast too.
PRELOADED = (
    "archsearch.cli.query",
    "archsearch.cli.show",
    "archsearch.cli.similar",
    "archsearch.cli.sources",
    "archsearch.cli.stats",
    "archsearch.cli.timeline",
    "archsearch.location",
    "archsearch.searching",
    "archsearch.formats.text",  # the plain-text reader: snippets and show read text files again
    "archsearch.related",
    "archsearch.coverage",
    "archsearch.stats",
    "archsearch.rendering",
    "rich.console",
    "rich.columns",
    "rich.padding",
    "rich.table",
    "rich.text",
    "whoosh.classify",
    "whoosh.collectors",
    "whoosh.highlight",
    "whoosh.searching",
    "whoosh.sorting",
    "whoosh.spelling",
    "encodings.utf_8_sig",  # articles are read as UTF-8 with or without a BOM, else these
    "encodings.cp1252",
    "encodings.latin_1",
)

# Libraries whose files are watched, with archsearch's own, for an upgrade under the running server.
LIBRARIES = ("whoosh", "click", "rich")

BACKLOG = 64
REQUEST_SECONDS = 5  # how long a client that has connected may take to send its request
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class _Stopped(Exception):
    """Raised by a signal handler to leave accept()."""


@dataclass
class Listener:
    path: str
    socket: socket.socket
    lock: int  # the descriptor holding the lock that makes this the only server on path


def preload() -> None:
    """What makes a served command fast: modules loaded, and each index's searcher kept open
    between commands (reopened when the index changes)."""
    for name in PRELOADED:
        importlib.import_module(name)
    from archsearch.store import keep_searchers_open

    keep_searchers_open()


def listen(path: str) -> Listener:
    """Listens on path, refusing when another server does already; a socket file left behind
    by a server that was killed is replaced."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ArchsearchError(f"cannot create {folder} for the server socket: {exc.strerror}") from exc
    problem = client.folder_problem(folder)
    if problem:
        raise ArchsearchError(problem)
    # A lock rather than a look at the socket: two servers starting at once cannot both take it.
    lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        raise ArchsearchError(
            f"a server is already running on {path} (stop it with 'archsearch serve --stop')"
        ) from None
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        listening.bind(path)
        listening.listen(BACKLOG)
    except OSError as exc:
        listening.close()
        os.close(lock)
        raise ArchsearchError(f"cannot listen on {path}: {exc.strerror}") from exc
    return Listener(path, listening, lock)


def detach() -> int:
    """Forks: returns the child's pid in the parent, and 0 in the child, which has left the
    terminal's session (Ctrl-C there is for the clients) and reads and writes /dev/null."""
    child = os.fork()
    if child:
        return child
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return 0


def stop(path: str) -> bool:
    """Asks the server on path to stop, and waits until it has; False when none was listening."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        try:
            connection.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            return False
        except OSError as exc:
            raise ArchsearchError(f"cannot reach the server on {path}: {exc.strerror}") from exc
        try:
            connection.sendall(client.frame({"type": "stop"}))
            return connection.recv(1) == client.STOPPED
        except OSError:
            return False


def code_fingerprint() -> dict | None:
    """What archsearch's modules and its libraries are on disk, to notice an upgrade or an edit;
    None when a file has gone, which is a change too."""
    paths = [importlib.import_module(name).__file__ for name in LIBRARIES]
    for folder, subfolders, names in os.walk(os.path.dirname(client.__file__)):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        paths += [os.path.join(folder, name) for name in names if name.endswith(".py")]
    try:
        # The change time too: a reinstalled file can come back with its old size and mtime.
        return {path: _identity(os.stat(path)) for path in paths}
    except OSError:
        return None


def _identity(info: os.stat_result) -> tuple:
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


class _State:
    """What the serving loop shares with signal handlers and with the thread watching a client."""

    def __init__(self):
        self.main_thread = threading.get_ident()
        self.waiting = False  # in accept(), which a stop signal may leave at once
        self.running = False  # in a command, which the client's Ctrl-C interrupts
        self.forwarded = False  # the SIGINT under way stands for the client's Ctrl-C
        self.stop_reason = ""  # set when the server is to stop after the request under way

    def on_stop_signal(self, signum, frame):
        self.stop_reason = self.stop_reason or signal.Signals(signum).name
        if self.waiting:
            raise _Stopped

    def on_sigint(self, signum, frame):
        if self.forwarded:
            self.forwarded = False
            if self.running:
                raise KeyboardInterrupt
            return  # it came after the command had ended: nothing is left to interrupt
        # The server's own Ctrl-C: it stops, and a command under way ends as interrupted.
        if self.running:
            self.stop_reason = self.stop_reason or "SIGINT"
            raise KeyboardInterrupt
        self.on_stop_signal(signum, frame)

    def interrupt_command(self):
        """From the watching thread. A real SIGINT, where _thread.interrupt_main() only sets a flag,
        also breaks a write blocked on a full pipe, as Ctrl-C does in the client's own process."""
        if self.running:
            self.forwarded = True
            signal.pthread_kill(self.main_thread, signal.SIGINT)


def serve(listener: Listener, idle_minutes: float) -> str:
    """Answers clients until a stop request or signal (SIGTERM, SIGHUP, SIGINT), idle_minutes
    without a request (0: never), or a change to its own code on disk; returns why it stopped.
    The socket file is gone and the lock released when it returns."""
    state = _State()
    fingerprint = code_fingerprint()
    own_fds = [os.dup(fd) for fd in (0, 1, 2)]
    handlers = {signal.SIGINT: state.on_sigint, **{signum: state.on_stop_signal for signum in STOP_SIGNALS}}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    listener.socket.settimeout(idle_minutes * 60 or None)
    os.chdir("/")  # a server started in a folder must not keep it busy (from being unmounted, say)
    stopper = None
    try:
        while not state.stop_reason:
            connection = _accept(listener.socket, state, idle_minutes)
            if connection is None:
                break
            try:
                if _answer(connection, state, fingerprint, own_fds):
                    stopper, connection = connection, None
                    state.stop_reason = "asked to stop"
            finally:
                if connection:
                    connection.close()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        listener.socket.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(listener.path)
        os.close(listener.lock)
        for fd in own_fds:
            os.close(fd)
        if stopper:
            with contextlib.suppress(OSError):
                stopper.sendall(client.STOPPED)
            stopper.close()
    return state.stop_reason


def _accept(listening: socket.socket, state: _State, idle_minutes: float) -> socket.socket | None:
    try:
        state.waiting = True
        if state.stop_reason:
            return None
        return listening.accept()[0]
    except TimeoutError:
        state.stop_reason = f"idle for {idle_minutes:g} minutes"
        return None
    except _Stopped:
        return None
    finally:
        state.waiting = False


def _answer(connection: socket.socket, state: _State, fingerprint, own_fds: list[int]) -> bool:
    """Serves one connection; True when it asks the server to stop."""
    received = _receive(connection)
    if received is None:
        return False
    request, fds = received
    try:
        if request.get("type") == "stop":
            return True
        if code_fingerprint() != fingerprint:
            # Never answer with code older than the client's: it runs the command itself.
            state.stop_reason = "its code changed on disk; start it again to use the new code"
            _send(connection, client.RUN_HERE)
            return False
        if request.get("installation") != client.INSTALLATION or len(fds) != 3 or _client_spoke(connection):
            _send(connection, client.RUN_HERE)
            return False
        try:
            os.chdir(request["cwd"])
        except OSError:
            _send(connection, client.RUN_HERE)
            return False
        _send(connection, client.RUNNING)
        handed_over, fds = fds, []
        status = _run_command(connection, request, handed_over, own_fds, state)
        _send(connection, status.to_bytes(client.STATUS_SIZE, "big", signed=True))
        return False
    finally:
        for fd in fds:
            os.close(fd)
        os.chdir("/")


def _receive(connection: socket.socket) -> tuple[dict, list[int]] | None:
    """The request and the descriptors that came with it; None when there was no proper request."""
    fds = []
    try:
        credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", credentials)[1] != os.getuid():
            return None  # root, say: a command must not run with someone else's rights
        connection.settimeout(REQUEST_SECONDS)
        data, fds, flags, _ = socket.recv_fds(connection, 1 << 16, 3, socket.MSG_CMSG_CLOEXEC)
        size = int.from_bytes(data[:4], "big")
        while len(data) < 4 + size:
            chunk = connection.recv(4 + size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        connection.settimeout(None)
        request = marshal.loads(data[4:])  # the sender is this user, checked above
        if flags & socket.MSG_CTRUNC or not isinstance(request, dict):
            raise ValueError
        return request, fds
    except (OSError, EOFError, ValueError, TypeError):
        for fd in fds:
            os.close(fd)
        return None


def _client_spoke(connection: socket.socket) -> bool:
    """Whether the client pressed Ctrl-C or hung up while its request waited its turn."""
    return bool(select.select([connection], [], [], 0)[0])


def _send(connection: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # a client gone has nobody to tell
        connection.sendall(data)


def _run_command(connection: socket.socket, request: dict, fds: list[int], own_fds: list[int], state: _State) -> int:
    argv = request["argv"]
    with _as_client(request, fds, own_fds):
        wake_read, wake_write = os.pipe()
        watcher = threading.Thread(target=_watch, args=(connection, wake_read, state), daemon=True)
        state.running = True
        try:
            watcher.start()
            try:
                status = run(argv[1:], os.path.basename(argv[0]))
            except Exception:  # only with ARCHSEARCH_DEBUG set, which asks for the traceback
                sys.excepthook(*sys.exc_info())
                status = 1
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
        except KeyboardInterrupt:  # an interrupt that came after the command's own handling
            status = 130
        finally:
            state.running = False
        os.write(wake_write, b"!")
        watcher.join()
        os.close(wake_read)
        os.close(wake_write)
    return status


def _watch(connection: socket.socket, wake: int, state: _State) -> None:
    """Beside a running command: the client's Ctrl-C, or the client going away, interrupts it
    as Ctrl-C would in the client's own process."""
    while True:
        readable = select.select([connection, wake], [], [])[0]
        if wake in readable:
            return
        try:
            gone = not connection.recv(1)
        except OSError:
            gone = True
        state.interrupt_command()
        if gone:
            return


@contextlib.contextmanager
def _as_client(request: dict, fds: list[int], own_fds: list[int]):
    """For the length of a command: the client's fds on 0-2 (the received ones are closed),
    standard streams set up like the client's own, its arguments and its environment."""
    saved = sys.stdin, sys.stdout, sys.stderr, sys.argv, dict(os.environ)
    streams = []
    try:
        for fd, client_fd in enumerate(fds):
            os.dup2(client_fd, fd)
            os.close(client_fd)
        streams += [_standard_stream(fd, settings) for fd, settings in enumerate(request["streams"])]
        sys.stdin, sys.stdout, sys.stderr = streams
        sys.argv = request["argv"]
        _set_environ(request["env"])
        yield
    finally:
        # What is still buffered (for a reader that went away) is dropped here, not written to
        # the next client or to the server's own output.
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        for stream in streams:
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        sys.stdin, sys.stdout, sys.stderr, sys.argv, environ = saved
        _set_environ(environ)
        for fd, own in enumerate(own_fds):
            os.dup2(own, fd)


def _standard_stream(fd: int, settings) -> io.TextIOWrapper:
    """sys.stdin, stdout or stderr on fd, set up as Python set up the client's own."""
    encoding, errors, line_buffering, write_through = settings
    unbuffered = write_through and fd != 0  # python -u leaves stdout and stderr unbuffered, never stdin
    binary = open(fd, "rb" if fd == 0 else "wb", buffering=0 if unbuffered else -1, closefd=False)
    (binary if unbuffered else binary.raw).name = ("<stdin>", "<stdout>", "<stderr>")[fd]
    stream = io.TextIOWrapper(
        binary, encoding, errors, newline="\n", line_buffering=line_buffering, write_through=write_through
    )
    stream.mode = "r" if fd == 0 else "w"
    return stream


def _set_environ(environ: dict) -> None:
    zone = os.environ.get("TZ")
    os.environ.clear()
    os.environ.update(environ)
    if os.environ.get("TZ") != zone:
        time.tzset()  # the C library reads TZ only when told to, and 'today' depends on it
