"""The resident server behind `archsearch serve`; archsearch.client is the other end.

One long-lived process keeps Python, click, Whoosh and archsearch loaded, and a searcher open on
each index it has recently served. Each request is answered in a process of its own, forked from
it (ahead of the request, while none runs: see _fork_spare; a process that answered a plain query
answers the next request too, one at a time: see _request_process), so that requests run at once
and apart: a client that does not read its output, a slow command, a client trickling its request,
or a crash holds up no other. The request's process
runs the command as the client would have run it itself: with the client's arguments,
environment and working folder, and on the client's own stdin, stdout and stderr,
received over the socket and put on file descriptors 0-2, so that isatty(), the terminal's size,
colour and broken pipes are all the client's.

The conversation, over a Unix socket in a folder that only this user can enter:
  client: a request (a 4-byte length, then a marshalled dict), with its fds 0-2 attached
  server: RUN_HERE when it will not run the command (a client of another installation or with
          other credentials, the server busy, or its code changed on disk, after which it
          stops); a malformed request, or one that does not come in time, is not answered
  server: else OFFER: it is ready to run the command
  client: GO, if it is still waiting: it stops waiting for an OFFER after client.START_SECONDS
          and runs the command itself, so the server runs a command only once it knows the
          client will not
  server: the exit status, once the command's output is written and the client's fds closed
  client: INTERRUPT when Ctrl-C is pressed; the command is interrupted, or hanging up does it
A stop request (`archsearch serve --stop`) is answered STOPPED once the socket is gone, and its
connection ends with the server's process; a status
request (`archsearch serve --status`) with a marshalled dict, framed as a request is.

Who is served: the socket's folder keeps other users out; and since a process of this user may
still have fewer rights than the server (fewer groups, capabilities, or another namespace, as in
a sandbox), a client is served only when its credentials, as /proc shows them, are the server's.
"""

import codecs
import contextlib
import errno
import fcntl
import importlib
import io
import marshal
import os
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from archsearch import client, lean_imports, query_line
from archsearch.cli import run
from archsearch.errors import ArchsearchError

# What the forwarded commands load on first use: loaded at start, so that the first request is fast too.
PRELOADED = (
    "archsearch.cli.kwic",
    "archsearch.cli.query",
    "archsearch.cli.show",
    "archsearch.cli.similar",
    "archsearch.cli.sources",
    "archsearch.cli.stats",
    "archsearch.cli.terms",
    "archsearch.cli.timeline",
    "archsearch.engines",
    "archsearch.engines.whoosh",
    "archsearch.lasthits",
    "archsearch.location",
    "archsearch.searching",
    "archsearch.spelling",  # did-you-mean, for a query with few hits (searching imports it then)
    "archsearch.engines.whoosh.fuzzy",  # prefix and fuzzy words, with prefix_postings (querying imports it then)
    "archsearch.dates",  # --since, --until and date: (querying imports it then)
    "archsearch.query_plugins",  # Whoosh's query parser, for all but a query's plain shapes (querying imports it then)
    "archsearch.engines.whoosh.arrays",  # numpy, with which queries are evaluated in the server
    "numpy.ma",  # what numpy.unique (phrases) loads on its first call: 8-28 ms of every served phrase
    "archsearch.formats.text",  # the plain-text reader: snippets and show read text files again
    "archsearch.related",
    "sqlite3",  # the groups of copies, read by query and similar (nearduplicates.copy_groups)
    "archsearch.engines.whoosh.keys",  # where a copy's documents are found (nearduplicates.copies_of)
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
    "calendar",  # --since and --until (lean_imports defers it: loaded for real here, not in every request)
    "mmap",  # the postings sidecars (lean_imports defers it too)
    "copy",  # Whoosh's copies of query nodes and searchers, the query parser's (lean_imports defers it)
    "json",  # --json's output, and the folder list show reads (a plain query loads neither)
    "pickle",  # lean_imports stands in for it with _pickle's core
    # What some plain queries load on first use, which would keep the process that answered one
    # from answering another (see _Settled): --format csv, word~ (fuzzy.py), --expand.
    "csv",
    "rapidfuzz.process",
    "rapidfuzz.distance.OSA",
    "archsearch.expansion",
    "tomllib",  # the configuration file's, when there is one (archsearch.config: a plain query still)
    "shlex",  # a saved query's words (config.split_saved)
)

# Libraries whose files are watched, with archsearch's own, for an upgrade under the running server.
LIBRARIES = ("whoosh", "click", "rich")

BACKLOG = 64
MAX_REQUESTS = 16  # requests answered at once; a client beyond them runs its command itself
REQUEST_SECONDS = 5  # how long a client may take to send its request, and to confirm it still waits
REQUEST_BYTES = 1 << 20  # the largest request (arguments and environment) the server reads
SWEEP_SECONDS = 60  # how often an idle server looks for indexes that are gone
# How long `serve --stop` waits for the server's process to end once its socket is gone.
STOP_WAIT_SECONDS = 10
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

# How a request's process tells the server, through its exit status, that the server is to stop,
# or that it ran a command (a plain query, cleanly: see _request_process).
ASKED_TO_STOP = 3
CODE_CHANGED = 4
RAN_COMMAND = 5
ANSWERED_STATUS = 6
RAN_PLAIN_QUERY = 7

# A process that answered a plain query cleanly waits for another request (see _request_process):
# at most KEPT_IDLE of them wait at once, each answers at most REQUESTS_PER_PROCESS, and one whose
# private memory grew by more than GROWTH_BYTES since its first request ends.
KEPT_IDLE = 2
REQUESTS_PER_PROCESS = 100
GROWTH_BYTES = 64 << 20

# The lines of /proc/PID/status that say what a process may do, beyond its uid.
CREDENTIALS = (
    "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
    "Seccomp_filters",
)


@dataclass
class Listener:
    path: str
    socket: socket.socket
    lock: int  # the descriptor holding the lock that makes this the only server on path
    started_by_command: bool  # started in the background by a command, not by `archsearch serve`


def preload() -> None:
    """What makes a served command fast: modules loaded, and each index's searcher kept open
    between commands (reopened when the index changes)."""
    for name in PRELOADED:
        lean_imports.load_now(name)
    from archsearch.analysis.tokens import compile_scans
    from archsearch.engines.whoosh.store import keep_searchers_open

    compile_scans()  # what a command would compile for the first text that is not ASCII
    keep_searchers_open()
    widths = _rich_width_caches()
    if widths:
        widths[-1].__wrapped__("latest")  # the table of widths coloured output loads (not cached: see _Settled)


def _rich_width_caches() -> list | None:
    """rich's caches of characters' widths on a terminal, whose key ("auto") stands for the
    UNICODE_VERSION of the process that filled them, and the last of them loads the table of that
    version: empty for a rich without them, None for one whose caches are not these."""
    try:
        from rich import _unicode_data, cells
    except ImportError:  # before rich 14: one table, whatever the environment
        return []
    caches = [getattr(cells, "get_character_cell_size", None), getattr(cells, "cached_cell_len", None),
              getattr(_unicode_data, "load", None)]
    return caches if all(hasattr(cache, "cache_clear") for cache in caches) else None


def listen(path: str, lock: int | None = None) -> Listener:
    """Listens on path, refusing when another server does already; a socket file left behind
    by a server that was killed is replaced. lock: the lock, already held, handed over by the
    command that started this server (archsearch.client)."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ArchsearchError(f"cannot create {folder} for the server socket: {exc.strerror}") from exc
    _check_folder(folder)
    started_by_command = lock is not None
    if started_by_command:
        try:
            os.set_inheritable(lock, False)  # a request's process, and what it runs, must not keep it
        except OSError as exc:
            raise ArchsearchError(f"no lock to take over on descriptor {lock}: {exc.strerror}") from exc
    else:
        # A lock rather than a look at the socket: two servers starting at once cannot both take it.
        lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        raise ArchsearchError(
            f"a server is already running on {path} (stop it with 'archsearch serve --stop')"
        ) from None
    with contextlib.suppress(OSError):  # (what cannot be looked at, bind says)
        # Only a socket, as a server leaves it, is replaced: ARCHSEARCH_SOCKET naming a file of the
        # user's removed it.
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            os.close(lock)
            raise ArchsearchError(f"cannot listen on {path}: it is there and is no socket (set ARCHSEARCH_SOCKET elsewhere)")
    _tell_state(lock, STARTING)  # until serve() answers: preload() takes seconds on a busy machine
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        listening.bind(path)
        listening.listen(BACKLOG)
    except OSError as exc:
        listening.close()
        os.close(lock)
        # strerror is None for what Python itself refuses (a path over the 107 bytes AF_UNIX holds)
        raise ArchsearchError(f"cannot listen on {path}: {exc.strerror or exc}") from exc
    return Listener(path, listening, lock, started_by_command)


# What the server on a socket does, in its lock file (the socket's path + ".lock"), for `serve
# --status`: STARTING from when it takes the lock until it answers, then SERVING; each with its pid.
STARTING = "starting"
SERVING = "serving"


def _tell_state(lock: int, state: str) -> None:
    with contextlib.suppress(OSError):  # only what --status says depends on it
        os.ftruncate(lock, 0)
        os.pwrite(lock, f"{state} {os.getpid()}\n".encode(), 0)


def _starting_pid(path: str) -> int | None:
    """The pid of the server on path while it is starting (it listens, and does not answer yet); None otherwise."""
    try:
        with open(path + ".lock", "rb") as lock:
            state, pid = lock.read(64).decode("ascii").split()
        return int(pid) if state == STARTING else None
    except (OSError, ValueError):  # no such file, or not what a server of this version writes
        return None


def _lock_holder(path: str) -> int | None:
    """Whether someone holds the lock of the server on path, as Linux lists it in /proc/locks:
    the pid of the process that took it when it still runs, else 0 (a server started by a command
    holds the lock that command took: the lock is listed with the command's pid); None when nobody
    holds it, or where that cannot be read. Read, not tried: taking the lock to see, even for an
    instant, would refuse a server starting in that instant."""
    try:
        lock = os.stat(path + ".lock")
        with open("/proc/locks", "rb") as listed:
            locks = listed.read()
    except OSError:
        return None
    # A line "1: FLOCK  ADVISORY  WRITE 4691 fe:00:2146321 0 EOF" (a lock waited for: "1: -> FLOCK ...").
    file = f"{os.major(lock.st_dev):02x}:{os.minor(lock.st_dev):02x}:{lock.st_ino}".encode()
    for line in locks.splitlines():
        fields = line.split()
        if fields[1:2] == [b"FLOCK"] and fields[5:6] == [file]:
            pid = int(fields[4])
            return pid if pid > 0 and os.path.exists(f"/proc/{pid}") else 0
    return None


def _check_folder(folder: str) -> None:
    problem = client.folder_problem(folder)
    if problem:
        raise ArchsearchError(problem)


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


def _connect(path: str) -> socket.socket | None:
    """A connection to the server on path; None when none listens there."""
    folder = os.path.dirname(path)
    if not os.path.lexists(folder):
        return None
    _check_folder(folder)  # in a folder others can enter, whatever answers may not be ours
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        connection.close()
        return None
    except OSError as exc:
        connection.close()
        # strerror is None for what Python itself refuses (a path over the 107 bytes AF_UNIX holds)
        raise ArchsearchError(f"cannot reach the server on {path}: {exc.strerror or exc}") from exc
    return connection


def stop(path: str) -> bool:
    """Asks the server on path to stop, and waits until its process has ended (at most
    STOP_WAIT_SECONDS after its socket is gone); False when none was listening."""
    connection = _connect(path)
    if connection is None:
        return False
    with connection:
        try:
            connection.sendall(client.frame({"type": "stop"}))
            stopped = connection.recv(1) == client.STOPPED
        except OSError:
            return False
        if stopped:
            connection.settimeout(STOP_WAIT_SECONDS)
            with contextlib.suppress(OSError):  # a timeout included: the server is stopped all the same
                while connection.recv(1):
                    pass
    # Stopped on purpose: the next reading commands must not start a server again at once.
    with contextlib.suppress(OSError):
        os.close(os.open(client.stopped_marker(path), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        os.utime(client.stopped_marker(path))
    return stopped


def status(path: str) -> dict | None:
    """What the server on path says of itself (see _Server.status); None when none listens and
    nobody holds its lock; for one that is starting, {"starting": pid, "socket": path, "listening":
    whether it listens yet}: it has taken the lock (or the command that starts it in the
    background has), and does not answer yet. Raises ArchsearchError when one listens but does not answer."""
    connection = _connect(path)
    if connection is None:
        # From the lock's taking to the socket's binding: the run of the command that starts the
        # server in the background, the server's own start (the taker's pid: 0 once it has ended).
        holder = _lock_holder(path)
        return None if holder is None else {"starting": holder, "socket": path, "listening": False}
    with connection:
        # Read once connected: a server that was killed as it started left its word, but listens no more.
        starting = _starting_pid(path)
        if starting:
            return {"starting": starting, "socket": path, "listening": True}
        connection.settimeout(REQUEST_SECONDS)
        try:
            connection.sendall(client.frame({"type": "status"}))
            answer = b""
            while len(answer) < 4 or len(answer) < 4 + int.from_bytes(answer[:4], "big"):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
            found = marshal.loads(answer[4:]) if len(answer) > 4 else None
        except (OSError, EOFError, ValueError, TypeError):
            found = None
    if not isinstance(found, dict):
        raise ArchsearchError(f"the server on {path} does not say how it is (it may serve other processes only)")
    return found


def code_fingerprint() -> dict | None:
    """What archsearch's modules and its libraries are on disk, to notice an upgrade or an edit;
    None when a file or folder has gone, which is a change too. Raises OSError when it cannot
    tell (out of file descriptors, say), which is no change. archsearch's folders are in it too
    (their paths ending in os.sep), for code_changed to see a module added or removed without
    listing them."""

    def fail(exc: OSError):
        raise exc

    try:
        paths = [importlib.import_module(name).__file__ for name in LIBRARIES]
        for folder, subfolders, names in os.walk(os.path.dirname(client.__file__), onerror=fail):
            subfolders[:] = [name for name in subfolders if name != "__pycache__"]
            paths += [os.path.join(folder, name) for name in names if name.endswith(".py")]
            paths.append(os.path.join(folder, ""))
        # The change time too: a reinstalled file can come back with its old size and mtime.
        return {path: _identity(os.stat(path)) for path in paths}
    except (FileNotFoundError, NotADirectoryError):
        return None


def code_changed(fingerprint: dict | None) -> bool:
    """Whether the code on disk differs from fingerprint (code_fingerprint's, when the server
    started); raises OSError when it cannot tell. Each request asks: when every file and folder is
    as it was, that is a stat of each (under half the cost of listing the folders again); when a
    folder changed, its modules are compared, since a folder also changes when Python writes its
    __pycache__ for the first time, which is no change of code."""
    if fingerprint is not None:
        try:
            if all(_identity(os.stat(path)) == identity for path, identity in fingerprint.items()):
                return False
        except (FileNotFoundError, NotADirectoryError):
            return True
    now = code_fingerprint()
    if now is None or fingerprint is None:
        return now is not fingerprint
    return _modules(now) != _modules(fingerprint)


def _modules(fingerprint: dict) -> dict:
    return {path: identity for path, identity in fingerprint.items() if not path.endswith(os.sep)}


def _identity(info: os.stat_result) -> tuple:
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def credentials(process: str) -> tuple:
    """What a process ("self" or a pid) may do beyond its uid: its ids and groups, capabilities,
    seccomp and no_new_privs, namespaces, root folder and security label."""
    proc = f"/proc/{process}"
    with open(f"{proc}/status", encoding="utf-8") as status:
        lines = tuple(line for line in status if line.split(":")[0] in CREDENTIALS)
    namespaces = tuple(os.readlink(f"{proc}/ns/{name}") for name in sorted(os.listdir("/proc/self/ns")))
    root = os.stat(f"{proc}/root")
    try:
        with open(f"{proc}/attr/current", "rb") as label:
            security = label.read()
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOENT):  # the kernel has no such label
            raise
        security = None
    return lines, namespaces, (root.st_dev, root.st_ino), security


def _peer_is_alike(connection: socket.socket, own: tuple) -> bool:
    """Whether the client has the server's rights (own: its credentials()), not just its uid: a
    command must not run with rights its client lacks (a sandboxed process of this user, root,
    another user)."""
    pid, uid, gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    if (uid, gid) != (os.getuid(), os.getgid()):
        return False
    try:
        return credentials(str(pid)) == own
    except (OSError, ValueError):  # gone, or hidden from this process: not known to be alike
        return False


class _Server:
    """The serving loop's state, shared with its signal handlers."""

    def __init__(self, listener: Listener, idle_minutes: float):
        self.listener = listener
        self.idle_minutes = idle_minutes
        self.started = time.time()
        # Read once: what the server may do does not change while it runs, and its request
        # processes inherit it (read per request, 0.1-0.7 ms of each).
        try:
            self.credentials = credentials("self")
        except (OSError, ValueError):  # hidden from this process: no client is known to be alike
            self.credentials = None
        self.last_request = time.monotonic()
        self.commands_run = 0
        self.stop_reason = ""
        self.requests: dict[int, socket.socket] = {}  # pid of a request's process -> its connection
        # pid of a request's process -> when it came, and the last request before it: a status
        # request is no request for the idle timeout, which it must not hold off.
        self.request_times: dict[int, tuple[float, float]] = {}
        self.stopper: socket.socket | None = None  # the connection of a stop request
        self.spare: _Spare | None = None  # a request process forked ahead, for the next connection
        self.idle: list[_Spare] = []  # processes that have answered requests, waiting for another
        self.busy: dict[int, _Spare] = {}  # pid -> a request process that may wait for another after
        # How many times what the server keeps has changed: a process forked before the last change
        # inherited what is no longer kept, and answers no other request.
        self.keeping = 0
        self.wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)  # written to on every signal
        # Request processes name the indexes they opened here, for the server to keep them open.
        self.reports = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.unread_report = b""

    def on_stop_signal(self, signum, frame):
        self.stop_reason = self.stop_reason or signal.Signals(signum).name

    def status(self) -> dict:
        """What `archsearch serve --status` shows, as a request's process sees it."""
        from archsearch.engines.whoosh.store import kept_searchers

        return {
            "pid": os.getppid(),
            "socket": self.listener.path,
            "started": self.started,
            "started_by_command": self.listener.started_by_command,
            "idle_minutes": self.idle_minutes,
            "idle_seconds": time.monotonic() - self.last_request,
            "commands_run": self.commands_run,
            "indexes": [str(folder) for folder in kept_searchers()],
        }

    def close_own_files(self) -> None:
        """In a request's process: closes what is the server's alone. The lock above all, which
        a request that outlives the server must not keep from the next server."""
        self.listener.socket.close()
        os.close(self.listener.lock)
        for connection in self.requests.values():
            connection.close()
        for fd in (*self.wake, self.reports[0]):
            os.close(fd)
        # The server's ends of the others' lines above all: a process let go learns it by its line's end.
        for process in (self.spare, *self.idle, *self.busy.values()):
            if process:
                process.line.close()


@dataclass
class _Spare:
    """A request process forked ahead (see _fork_spare), waiting for a connection; or one that
    answers, or has answered, a request (see _request_process)."""

    pid: int
    line: socket.socket  # the server's end of the pair it is told on what to do
    forked: float  # time.monotonic() when it was forked
    keeping: int  # the server's _Server.keeping then
    waiting: bool = False  # it has said it waits: a connection handed over now is taken at once
    told_to_rehearse: bool = False


def serve(listener: Listener, idle_minutes: float) -> str:
    """Answers clients until a stop request or signal (SIGTERM, SIGHUP, SIGINT), idle_minutes
    without a request (0: never), or a change to its own code on disk; returns why it stopped.
    The socket file is gone and the lock released when it returns; requests under way end on
    their own."""
    from archsearch.engines.whoosh.store import drop_gone_indexes, kept_searchers

    server = _Server(listener, idle_minutes)
    fingerprint = code_fingerprint()
    handlers = {signal.SIGCHLD: lambda signum, frame: None, **{s: server.on_stop_signal for s in STOP_SIGNALS}}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    previous_wake = signal.set_wakeup_fd(server.wake[1])
    listener.socket.setblocking(False)
    _tell_state(listener.lock, SERVING)
    os.chdir("/")  # a server started in a folder must not keep it busy (from being unmounted, say)
    try:
        while not server.stop_reason:
            if not (server.spare or server.idle or server.requests):  # forking is not to hold up a request
                _fork_spare(server, fingerprint)
            wait = SWEEP_SECONDS
            if idle_minutes:
                wait = min(wait, server.last_request + idle_minutes * 60 - time.monotonic())
                if wait <= 0:
                    server.stop_reason = f"idle for {idle_minutes:g} minutes"
                    break
            watched = [listener.socket, server.wake[0], server.reports[0]]
            if server.spare and not _spare_waits(server) and server.spare:  # (_spare_waits lets an ended one go)
                watched.append(server.spare.line)  # for when it says it waits, or ends
            watched += [process.line for process in server.busy.values()]  # for when one waits again
            wait = _rehearse_when_idle(server, wait)
            readable = select.select(watched, [], [], wait)[0]
            with contextlib.suppress(BlockingIOError):
                os.read(server.wake[0], 4096)
            _reap(server)
            _take_back(server, readable)
            kept = kept_searchers()
            _keep_reported(server)
            drop_gone_indexes()
            if kept_searchers() != kept:
                server.keeping += 1
                _retire_spare(server)  # the next request is to inherit the index as it is kept now
            if listener.socket in readable and not server.stop_reason:
                try:
                    connection = listener.socket.accept()[0]
                except (BlockingIOError, ConnectionAbortedError):
                    continue
                pid = _start_request(server, connection, fingerprint)
                if pid:
                    server.request_times[pid] = time.monotonic(), server.last_request
                    server.last_request = server.request_times[pid][0]
    finally:
        signal.set_wakeup_fd(previous_wake)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        listener.socket.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(listener.path)
        os.close(listener.lock)
        for fd in (*server.wake, *server.reports):
            os.close(fd)
        _retire_spare(server)
        for process in server.busy.values():
            process.line.close()  # each ends after its request
        for connection in server.requests.values():
            if connection is not server.stopper:
                connection.close()
        if server.stopper:
            with contextlib.suppress(OSError):
                server.stopper.sendall(client.STOPPED)
            # Left open until this process ends, which closes it: the stop request's end of file
            # then says the server is gone, not only its socket (stop waits for it).
            server.stopper.detach()
    return server.stop_reason


def _start_request(server: _Server, connection: socket.socket, fingerprint) -> int | None:
    """Answers the connection in a process of its own, whose pid it returns: the spare when it is
    ready, else one forked now; a client beyond MAX_REQUESTS runs its command itself."""
    pid = None
    if len(server.requests) < MAX_REQUESTS:
        pid = _hand_to_spare(server, connection)
        if pid is None:
            try:  # a line for the process to say it waits again on, as a spare does
                line, process_line = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            except OSError:  # out of descriptors: it answers this request only
                line = process_line = None
            with contextlib.suppress(OSError):  # out of processes or memory
                pid = os.fork()
            if pid == 0:
                if line:
                    line.close()
                _request_process(server, fingerprint, connection, process_line)
            if line:
                process_line.close()
                if pid:
                    line.setblocking(False)
                    server.busy[pid] = _Spare(pid, line, time.monotonic(), server.keeping)
                else:
                    line.close()
            if pid:
                _unshare_index_files()
    if pid is None:
        with contextlib.suppress(OSError):
            connection.send(client.RUN_HERE, socket.MSG_DONTWAIT)
        connection.close()
        return None
    server.requests[pid] = connection  # kept until the process ends, to answer a stop request
    return pid


def _request_process(server: _Server, fingerprint, connection: socket.socket | None, line: socket.socket | None):
    """What a forked process does, and then ends: answers the connection; or, as the spare (no
    connection yet), rehearses and answers the connection handed over on line. After a plain query
    answered cleanly, it puts back what the query may have changed in it (see _Settled) and waits
    on line for another connection, as a spare does, without rehearsing: the next request finds
    the code, the heap and the index's pages it touched warm (an AND's evaluation took 3.1 ms of
    CPU in a process that had run one before, 8-9 in a fresh one). It ends when the server lets it
    go, after any other request or a plain query that failed or was interrupted, when what it can
    put back is not all that changed (see _Settled.restored), and after REQUESTS_PER_PROCESS."""
    from archsearch.engines.whoosh.store import kept_searchers

    status = 1
    try:
        server.close_own_files()
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        inherited = kept_searchers()
        settled = None
        if connection is not None:
            with contextlib.suppress(OSError):  # out of descriptors, say: it answers this request only
                settled = _Settled.now()
        for answered in range(1, REQUESTS_PER_PROCESS + 1):
            if connection is None:
                connection, settled = _await_connection(server, line, fingerprint, settled)
            if connection is None:
                status = 0
                break
            status = _answer(connection, fingerprint, server, inherited)
            if status != RAN_PLAIN_QUERY or answered == REQUESTS_PER_PROCESS or settled is None or line is None:
                break
            if not settled.restored(connection, inherited):
                break
            connection = None
            status = 0  # the server counts the command when this process says it waits again
    except KeyboardInterrupt:  # the server's own Ctrl-C, before the command ran
        pass
    except BaseException:
        with contextlib.suppress(BaseException):
            sys.excepthook(*sys.exc_info())
    finally:
        os._exit(status)  # never back into the server's loop, nor its clean-up


@dataclass
class _Settled:
    """What a request's process is like before its first request, and what a command may change
    in it: put back after each plain query it answers (restored), for nothing of one request to
    reach the next. Its environment, working folder and umask, signal handlers, standard streams
    (their fds 0-2 are /dev/null again after each command: _run_command) and arguments, warnings'
    filters and those shown once, the request's own module state (searching.bodies_read,
    lasthits.deferred), rich's widths of characters (_rich_width_caches); rich's consoles are made
    for each command. The bodies of the articles it showed are kept, as the server keeps them
    (searching.keep_bodies: each used only while its file is as it was). What it cannot put back
    ends the process: a file left open (but one of a kept index's, read-only), a module imported
    (it may have read the request's environment as it loaded), an index's generation opened (the
    server opens it for the next requests), the request's watcher still running, a signal handler
    it cannot set again, or its private memory grown by more than GROWTH_BYTES."""

    environ: dict
    cwd: str
    umask: int
    handlers: dict  # signal number -> handler (None: not set from Python)
    streams: tuple
    argv: list
    warning_filters: list
    show_warning: object
    descriptors: frozenset
    modules: frozenset  # names in sys.modules
    private_bytes: int

    @classmethod
    def now(cls) -> "_Settled":
        import warnings

        umask = os.umask(0)
        os.umask(umask)
        return cls(
            dict(os.environ), os.getcwd(), umask,
            {signum: signal.getsignal(signum) for signum in signal.valid_signals()},
            (sys.stdin, sys.stdout, sys.stderr), sys.argv, list(warnings.filters), warnings.showwarning,
            _descriptors(), frozenset(sys.modules), _private_bytes(),
        )

    def restored(self, connection: socket.socket, inherited: dict) -> bool:
        """Puts the process back as it was (after the request's answer has gone and its connection
        has ended); whether it may answer another request."""
        import warnings

        from archsearch import lasthits, searching
        from archsearch.engines.whoosh.store import kept_searchers

        ended = _end_connection(connection)
        # Kept here too, as the server keeps them for the processes it forks after (its keep is no
        # use to a process forked before): its next query showing one again does not read its file.
        searching.keep_bodies(dict.fromkeys(searching.bodies_read or ()))
        searching.bodies_read = lasthits.deferred = None
        _set_environ(self.environ)
        os.chdir(self.cwd)
        os.umask(self.umask)
        sys.stdin, sys.stdout, sys.stderr = self.streams
        sys.argv = self.argv
        warnings.resetwarnings()  # which also has every module's warnings shown once forgotten
        warnings.filters[:] = self.warning_filters
        warnings.showwarning = self.show_warning
        warnings.onceregistry.clear()
        for signum, handler in self.handlers.items():
            if signal.getsignal(signum) is not handler:
                if handler is None:
                    return False
                signal.signal(signum, handler)
        widths = _rich_width_caches()
        for cache in widths or ():
            cache.cache_clear()
        return (
            ended
            and widths is not None
            and kept_searchers() == inherited
            and sys.modules.keys() == self.modules
            and _opened_index_files_only(self.descriptors)
            and _private_bytes() - self.private_bytes <= GROWTH_BYTES
        )


def _end_connection(connection: socket.socket) -> bool:
    """Closes a request's connection once its watcher has seen it end; False when the watcher has
    not. The client's end of it, which the watcher turns into a SIGINT, is ignored by then
    (_run_command)."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    if _watcher is not None:
        _watcher.join(REQUEST_SECONDS)
    connection.close()
    return _watcher is None or not _watcher.is_alive()


def _opened_index_files_only(before: frozenset) -> bool:
    """Whether every descriptor opened since `before` reads a file of a kept index (the searcher's:
    Whoosh and prefix_postings.py open some on first use, and keep them as long as it)."""
    opened = _descriptors() - before
    folders = _kept_folders() if opened else ()
    return all(_reads_kept_index(fd, folders) for fd in opened)


def _descriptors() -> frozenset:
    """The process's open file descriptors (not those that listed them, closed by then)."""
    listed = map(int, os.listdir("/proc/self/fd"))
    return frozenset(fd for fd in listed if _is_open(fd))


def _is_open(fd: int) -> bool:
    try:
        fcntl.fcntl(fd, fcntl.F_GETFD)
    except OSError:
        return False
    return True


def _private_bytes() -> int:
    """The process's resident anonymous memory (its heap, numpy's arrays), as /proc says."""
    with open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


# What a spare says on its line when it waits; what the server tells it: to rehearse, or (with the
# connection) to answer.
SPARE_WAITS = b"W"
REHEARSE = b"R"
HANDED_OVER = b"C"


# How long the server waits, with no request running, before its spare rehearses: a command that
# comes sooner (one of a script's, or of a benchmark's, run back to back) would find the CPU taken
# by the rehearsal while it starts, and was no faster; a person types slower.
REHEARSAL_PAUSE_SECONDS = 0.1


def _fork_spare(server: _Server, fingerprint) -> None:
    """Forks the process that will answer the next connection, so that the fork is not paid by a
    request, nor, once the spare has rehearsed (see rehearse, _rehearse_when_idle), the first run
    of the code (CPython writes to every object it uses, and each page written is copied from the
    server's: about 2,000 pages, 6-8 ms of CPU at 100k articles). It inherits what the server keeps
    as it was then: once that changes, the server lets it go and forks another (and a request
    still opens an index's latest generation itself)."""
    line, spare_line = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        pid = os.fork()
    except OSError:  # out of processes or memory: each request forks its own
        line.close()
        spare_line.close()
        return
    if pid == 0:
        line.close()
        _request_process(server, fingerprint, None, spare_line)
    spare_line.close()
    line.setblocking(False)
    server.spare = _Spare(pid, line, time.monotonic(), server.keeping)
    _unshare_index_files()


def _rehearse_when_idle(server: _Server, wait: float) -> float:
    """Tells the spare to rehearse once no request has run for REHEARSAL_PAUSE_SECONDS; returns
    how long the serving loop may wait before it looks again."""
    spare = server.spare
    if spare is None or spare.told_to_rehearse or server.requests:
        return wait
    due = spare.forked + REHEARSAL_PAUSE_SECONDS - time.monotonic()
    if due > 0:
        return min(wait, due)
    if spare.waiting:
        with contextlib.suppress(OSError):  # it ended: the loop finds out
            spare.line.send(REHEARSE)
            spare.told_to_rehearse, spare.waiting = True, False
    return wait


def _retire_spare(server: _Server) -> None:
    """Lets the spare and the idle processes go: each ends when its line closes (and is reaped as
    any child)."""
    for process in (server.spare, *server.idle):
        if process:
            process.line.close()
    server.spare, server.idle = None, []


def _take_back(server: _Server, readable: list) -> None:
    """Takes the busy processes that say they wait again (see _request_process) for idle ones,
    KEPT_IDLE at most, when they inherited what the server keeps now; lets the others go."""
    for pid, process in list(server.busy.items()):
        if process.line not in readable:
            continue
        try:
            said = process.line.recv(1)
        except BlockingIOError:
            continue
        except OSError:
            said = b""
        del server.busy[pid]
        if said != SPARE_WAITS:  # it ends, or has ended
            process.line.close()
            continue
        _request_ended(server, pid, RAN_PLAIN_QUERY)
        if process.keeping == server.keeping and len(server.idle) < KEPT_IDLE and not server.stop_reason:
            process.waiting = True
            server.idle.append(process)
        else:
            process.line.close()


def _spare_waits(server: _Server) -> bool:
    """Whether the spare waits for word from the server (it may still be setting up, or
    rehearsing); a spare found to have ended is let go."""
    spare = server.spare
    if not spare.waiting:
        try:
            said = spare.line.recv(1)
        except BlockingIOError:
            return False
        except OSError:
            said = b""
        if said != SPARE_WAITS:  # it ended
            _retire_spare(server)
            return False
        spare.waiting = True
    return True


def _hand_to_spare(server: _Server, connection: socket.socket) -> int | None:
    """Hands the connection to a waiting process and returns its pid: the idle process that
    answered last (the warmest), else the spare; None when none waits (the spare is rehearsing,
    or gone), and the connection is to get a process of its own."""
    while server.idle:
        pid = _hand_over(server, server.idle.pop(), connection)
        if pid:
            return pid
    spare = server.spare
    if spare is None or not _spare_waits(server):
        return None  # a request never waits for a rehearsal
    server.spare = None
    return _hand_over(server, spare, connection)


def _hand_over(server: _Server, process: _Spare, connection: socket.socket) -> int | None:
    # With what has changed since its fork that a status request shows.
    news = HANDED_OVER + marshal.dumps((server.commands_run, server.last_request))
    try:
        socket.send_fds(process.line, [news], [connection.fileno()])
    except OSError:  # it ended meanwhile
        process.line.close()
        return None
    process.waiting = False
    server.busy[process.pid] = process
    return process.pid


# The name a spare goes by while it waits (in `ps`, and for the tests to tell it from a request).
SPARE_NAME = b"archsearch-next"  # at most 15 bytes


def _await_connection(server: _Server, line: socket.socket, fingerprint,
                      settled: "_Settled | None") -> tuple[socket.socket | None, "_Settled | None"]:
    """In the spare, or a process waiting again: waits for the connection, rehearsing when told
    to; None when let go. Also returns settled, or the process as it is before its first request
    (after its rehearsal: taken while it waits, not while a client does)."""
    with contextlib.suppress(RuntimeError):  # out of threads: the request starts its own
        _start_watcher_ahead()
    name = _process_name(SPARE_NAME)
    taken = settled
    try:
        while True:
            with contextlib.suppress(OSError):  # out of descriptors, say: it answers one request only
                taken = taken or _Settled.now()
            line.sendall(SPARE_WAITS)
            news, fds, _, _ = socket.recv_fds(line, 64, 1, socket.MSG_CMSG_CLOEXEC)
            if news != REHEARSE:
                break
            with contextlib.suppress(Exception):
                rehearse()
            with contextlib.suppress(Exception):
                _rehearse_checks(fingerprint)
            taken = settled
        if not fds:
            return None, taken
        server.commands_run, server.last_request = marshal.loads(news[len(HANDED_OVER):])
    except (OSError, EOFError, ValueError, TypeError):
        return None, taken
    finally:
        _process_name(name)
    return socket.socket(fileno=fds[0]), taken


def _process_name(name: bytes) -> bytes:
    """Renames this process (as `ps` shows it); returns its name before."""
    try:
        with open("/proc/self/comm", "r+b", buffering=0) as comm:
            before = comm.read().rstrip(b"\n")
            comm.write(name)
        return before
    except OSError:
        return name


def rehearse() -> None:
    """Runs, its output thrown away, a count of the warming word of the index warmed last (`query
    -c`: its line read as a request reads a plain query's, the command, the query's parsing and
    evaluation; nothing remembered, no copies grouped, see warm). At 100k articles it takes 12 ms
    of CPU and saves the request 6-8 ms of its first run; hits and snippets rehearsed as well
    would cost 9 ms more for 1-3 ms. Then opens that
    index's record of copies for the request to group its hits with (nearduplicates.prepare_copy_groups:
    in the spare, which alone uses it, never in the server, whose every child would share it), and
    makes memory its own for the request's arrays, as much as that index's size asks (prepare_heap)."""
    from archsearch.engines.whoosh.store import kept_searchers
    from archsearch.nearduplicates import prepare_copy_groups

    folders = [folder for folder in kept_searchers() if folder in _warming_words]
    if not folders:
        return
    streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        _run_line(["query", "--index", str(folders[-1]), "--count", _warming_words[folders[-1]]], "archsearch")
    finally:
        sys.stdout, sys.stderr = streams
    prepare_copy_groups(folders[-1])
    prepare_heap(heap_bytes(kept_searchers()[folders[-1]].doc_count_all()))


# The variable a spare sets and unsets in its environment when it rehearses _set_environ.
REHEARSAL_VARIABLE = "ARCHSEARCH_REHEARSAL"


def _rehearse_checks(fingerprint) -> None:
    """Runs once in the spare what its request runs before the command, for the request to find
    its code run once already (each a request's first run of it took it 2-4 times as long): the
    peer check's reading of a process's credentials (its own, for its client's), the check of
    the code on disk, the environment set (a variable set and unset again)."""
    credentials(str(os.getpid()))
    code_changed(fingerprint)
    environ = dict(os.environ)
    _set_environ({**environ, REHEARSAL_VARIABLE: "1"})
    _set_environ(environ)


# The heap a spare makes its own for its request's arrays: HEAP_BYTES_PER_ARTICLE of the index it
# rehearsed on, within HEAP_BYTES_RANGE. A request at 100,000 articles grew the heap by 0.4-3.6 MiB.
HEAP_BYTES_PER_ARTICLE = 80
# glibc's largest mmap threshold on 64 bits (mallopt refuses more): a block of that size or more is
# mapped apart and unmapped when freed, so the range stays under it.
MMAP_THRESHOLD = 32 << 20
HEAP_BYTES_RANGE = (4 << 20, 30 << 20)

# glibc's mallopt() parameters and Linux's madvise() advice (MADV_POPULATE_WRITE: Linux >= 5.14).
from archsearch.glibc_malloc import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD  # noqa: E402
MADV_HUGEPAGE = 14
MADV_POPULATE_WRITE = 23
HUGE_PAGE = 2 << 20


def heap_bytes(articles: int) -> int:
    low, high = HEAP_BYTES_RANGE
    return min(max(articles * HEAP_BYTES_PER_ARTICLE, low), high)


def prepare_heap(size: int) -> bool:
    """In a spare: makes size bytes at the top of the C heap this process's own, and keeps them
    there for the request's large allocations (numpy's arrays); False where it cannot (not glibc).

    Else each page a request's arrays first touch is a page fault: glibc maps a block over its
    mmap threshold (128 KiB, rising to the largest freed) afresh, zero-filled a page at a time,
    and grows the heap's top the same way; a page left of the server's is copied when first
    written. At 100,000 articles that was 350-1,130 of a request's faults (numpy's), 1-6 ms of
    its CPU (bench/spare_profile.py).
    Here the block is allocated once, its pages filled in by one madvise() (in huge pages where
    the kernel gives them: 16 MiB took 2.5 ms, not 9-20 ms a page at a time), and freed;
    thresholds raised, so that glibc neither gives it back nor maps arrays under MMAP_THRESHOLD
    apart. In the spare alone: the server, whose children share its
    pages, and a command run in its own process keep glibc's defaults."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 (mallopt's parameters are glibc's)
    except (ImportError, OSError, AttributeError):
        return False
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.restype, libc.free.argtypes = None, [ctypes.c_void_p]
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if not (libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD)):
        return False
    block = libc.malloc(size)
    if not block:
        return False
    try:
        huge_start, huge_end = -(-block // HUGE_PAGE) * HUGE_PAGE, (block + size) // HUGE_PAGE * HUGE_PAGE
        if huge_end > huge_start:
            libc.madvise(huge_start, huge_end - huge_start, MADV_HUGEPAGE)  # refused where there are none
        page = os.sysconf("SC_PAGESIZE")
        start, end = -(-block // page) * page, (block + size) // page * page
        if libc.madvise(start, end - start, MADV_POPULATE_WRITE):
            ctypes.memset(block, 0, size)  # an older kernel: a page fault at a time
    finally:
        libc.free(block)
    return True


def _reap(server: _Server) -> None:
    """Collects the request processes that have ended, and what their ending asks of the server."""
    while True:  # request processes, and spares let go
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        busy = server.busy.pop(pid, None)
        for process in [busy, *(process for process in server.idle if process.pid == pid)]:
            if process:
                process.line.close()
        server.idle = [process for process in server.idle if process.pid != pid]
        _request_ended(server, pid, os.waitstatus_to_exitcode(status))


def _request_ended(server: _Server, pid: int, code: int) -> None:
    """What a request's end asks of the server: code is its process's exit status, or
    RAN_PLAIN_QUERY from a process that waits again."""
    connection = server.requests.pop(pid, None)
    came, before = server.request_times.pop(pid, (None, None))
    if code == ANSWERED_STATUS and server.last_request == came:
        server.last_request = before
    if code == ASKED_TO_STOP and connection and not server.stopper:
        server.stop_reason, server.stopper, connection = "asked to stop", connection, None
    elif code in (RAN_COMMAND, RAN_PLAIN_QUERY):
        server.commands_run += 1
    elif code == CODE_CHANGED:
        server.stop_reason = "its code changed on disk; start it again to use the new code"
    if connection:
        connection.close()


def _unshare_index_files() -> None:
    """Gives the server's open index files descriptions of their own again after a fork.

    Whoosh reads its files with seek() and read(), and a forked process shares the file offsets
    of what it inherits: two requests reading the same kept searcher at once would read each
    other's places. So each request keeps the descriptions it inherited to itself, and the server
    takes new ones, at the same offsets (it is not inside a read between two forks)."""
    from archsearch.engines.whoosh.store import close_kept_searchers

    folders = _kept_folders()
    if not folders:
        return
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if not _reads_kept_index(fd, folders):
                continue
            replacement = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
            os.lseek(replacement, os.lseek(fd, 0, os.SEEK_CUR), os.SEEK_SET)
            os.dup2(replacement, fd, inheritable=False)
            os.close(replacement)
    except OSError:  # out of descriptors, say: shared descriptions must not be read again
        close_kept_searchers()


def _kept_folders() -> tuple[str, ...]:
    """The folders of the indexes whose searchers are kept, each ending in os.sep."""
    from archsearch.engines.whoosh.store import kept_searchers

    return tuple(str(folder) + os.sep for folder in kept_searchers())


def _reads_kept_index(fd: int, folders: tuple[str, ...]) -> bool:
    """Whether fd is open read-only on a file in one of folders (_kept_folders)."""
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
        return target.startswith(folders) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
    except OSError:  # closed meanwhile (the descriptor that listed them)
        return False


def _keep_reported(server: _Server) -> None:
    """Opens (or reopens, after a change) the searchers that request processes had to open, and
    warms each one opened, so that the next requests on those indexes find them open and read;
    keeps the bodies of the articles they showed, for the next requests to show them again."""
    from archsearch.engines.whoosh.store import index_searcher, kept_searchers
    from archsearch.searching import keep_bodies

    try:
        server.unread_report += os.read(server.reports[0], 65536)
    except BlockingIOError:
        return
    *reports, server.unread_report = server.unread_report.split(b"\0")
    folders = [report[1:] for report in reports if report[:1] == INDEX_OPENED]
    bodies = [os.fsdecode(report[1:]) for report in reports if report[:1] == BODY_READ]
    if bodies:
        keep_bodies(dict.fromkeys(bodies))
    for folder in dict.fromkeys(folders):
        index_dir = Path(os.fsdecode(folder))
        kept = kept_searchers().get(index_dir)
        with contextlib.suppress(Exception):  # the request that used it has said what was wrong
            with index_searcher(index_dir):
                pass
            if kept_searchers().get(index_dir) is not kept:
                warm(index_dir)


# How many articles the word searched to warm an index may be in, at the most.
WARMING_ARTICLES = 20

# Index folder -> the word its kept generation was warmed with, which spares rehearse with.
_warming_words: dict[Path, str] = {}


def warm(index_dir: Path) -> None:
    """Reads once, in the server, what every request on the index's newly opened generation would
    otherwise read again in its own process, and lose with it: each segment's stored-field
    offsets, word lists (prefix and fuzzy words; merged for prefixes), span of keys, postings
    sidecars' keys numbered (and one directory of them all: arrays.TermDirectory) and largest
    terms' checksums, each segment's file opened for term lookups (segment_terms.py), every scored field's lengths, the regular expressions of the article readers and of snippets compiled
    (Whoosh's query parser's are, when PRELOADED imports query_plugins).  It searches the index for a rare
    word (the first of letters in the body of at most WARMING_ARTICLES articles: a common one
    would cost a large index a second), the result thrown away; the requests forked afterwards
    inherit it all.  Copies
    are not grouped: that opens the index's SQLite record, whose reader touches its shared-memory
    file, and `stats` would see the index change then (a request's first SQLite connection costs
    it 1.5 ms, whether the server has opened one or not).  Nothing is shared that can go stale:
    each request still checks that the searcher it inherits is on the latest generation, and
    opens the latest itself when it is not (the server then opens and warms that one for the
    next requests)."""
    from archsearch.engines.whoosh.evaluation import Evaluator
    from archsearch.engines.whoosh.fuzzy import merge_word_lists, segment_word_lists
    from archsearch.engines.whoosh.prefix_postings import PREFIX_FIELDS
    from archsearch.engines.whoosh.keys import field_span
    from archsearch.engines.whoosh.segment_terms import read_segment_terms
    from archsearch.engines.whoosh.store import index_searcher
    from archsearch.searching import search, weighting

    with index_searcher(index_dir, weighting()) as searcher:
        Evaluator(searcher).warm()  # every field's lengths, not only the warming word's fields'
        leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
        for leaf in leaves:
            segment_word_lists(leaf)
            field_span(leaf, "key")  # where copy groups look their copies up
            if leaf.doc_count_all():
                leaf.stored_fields(0)  # reads where each article's stored fields are in the segment
        for fieldname in PREFIX_FIELDS:  # where live search's prefixes look
            merge_word_lists(searcher.reader(), fieldname)
        _prepare_postings_arrays(searcher)
        for leaf in leaves:
            read_segment_terms(leaf)  # for its term information and postings (segment_terms.py)
        # Letters sort after digits: from "a" on, the first word of letters is near.
        words = (word.decode("utf-8") for word, info in leaves[0].iter_field("body", "a") if info.doc_frequency() <= WARMING_ARTICLES)
        word = next((word for word in words if word.isalpha()), None)
    _warming_words.pop(index_dir, None)
    if word:
        search(index_dir, word, collapse_copies=False)
        _warming_words[index_dir] = word


# Bytes of the postings sidecars' largest terms whose checksums the server checks when it opens
# an index's generation (61 ms of its CPU at 100k articles), so that its requests do not each check them.
CHECKED_TERM_BYTES = 64 << 20


def _prepare_postings_arrays(searcher) -> None:
    """The searcher's segments' postings sidecars' keys numbered (arrays.SegmentArrays.number_keys),
    their largest terms' checksums checked in the server (SegmentArrays.check_largest),
    CHECKED_TERM_BYTES shared out by the files' sizes, and the generation's arrays.TermDirectory
    made from them."""
    from archsearch.engines.whoosh.arrays import keep_term_directory, segment_arrays

    files = [segment_arrays(leaf) for leaf, _ in searcher.reader().leaf_readers()]
    present = [found for found in files if found is not None]
    total = sum(found.data_size() for found in present) or 1
    for found in present:
        found.number_keys()
        found.check_largest(CHECKED_TERM_BYTES * found.data_size() // total)
    keep_term_directory(searcher, files)


# What a request process reports to the server, each a byte, a path and a NUL: an index it opened
# that the server did not keep open, and an article file whose body it read.
INDEX_OPENED = b"i"
BODY_READ = b"b"


def _report(reports: int, inherited: dict) -> None:
    """Tells the server the indexes this request opened and the article files it read (see
    _keep_reported)."""
    from archsearch import searching
    from archsearch.engines.whoosh.store import kept_searchers

    opened = [str(folder) for folder, searcher in kept_searchers().items() if inherited.get(folder) is not searcher]
    for kind, paths in ((INDEX_OPENED, opened), (BODY_READ, searching.bodies_read or ())):
        for path in dict.fromkeys(paths):
            message = kind + os.fsencode(path) + b"\0"
            if len(message) <= select.PIPE_BUF:  # written at once, never mixed with another's
                with contextlib.suppress(OSError):
                    os.write(reports, message)


class _Malformed(Exception):
    """A request that our client does not send."""


def _answer(connection: socket.socket, fingerprint, server: _Server, inherited: dict) -> int:
    """Answers one connection, in its own process; returns that process's exit status.
    inherited: the searchers the server kept when it forked the process."""
    from archsearch import lasthits, searching

    fds = []
    try:
        if server.credentials is None or not _peer_is_alike(connection, server.credentials):
            _send(connection, client.RUN_HERE)
            return 0
        request, fds = _receive(connection)
        if request == {"type": "stop"} and not fds:
            return ASKED_TO_STOP
        if request == {"type": "status"} and not fds:
            _send(connection, client.frame(server.status()))
            return ANSWERED_STATUS
        _check_run_request(request, fds)
        try:
            changed = code_changed(fingerprint)
        except OSError:  # cannot tell now: the client runs the command itself, the server serves on
            _send(connection, client.RUN_HERE)
            return 0
        if changed:
            # Never answer with code older than the client's: it runs the command itself.
            _send(connection, client.RUN_HERE)
            return CODE_CHANGED
        if request["installation"] != client.INSTALLATION:
            _send(connection, client.RUN_HERE)
            return 0
        try:
            os.chdir(request["cwd"])
        except OSError:
            _send(connection, client.RUN_HERE)
            return 0
        connection.settimeout(REQUEST_SECONDS)
        connection.sendall(client.OFFER)
        if connection.recv(1) != client.GO:
            return 0  # the client gave up waiting, and runs the command itself
        connection.settimeout(None)
        handed_over, fds = fds, []
        searching.bodies_read = []
        lasthits.deferred = []
        status, plain = _run_command(connection, request, handed_over)
        lasthits.lock_deferred()
        _send(connection, status.to_bytes(client.STATUS_SIZE, "big", signed=True))
        lasthits.write_deferred()
        _report(server.reports[1], inherited)
        # Found or not found: an error may have left a step half done, an interrupt surely did.
        return RAN_PLAIN_QUERY if plain and status in (0, 1) else RAN_COMMAND
    except (_Malformed, OSError, EOFError, ValueError, TypeError):
        return 0  # the connection closes unanswered
    finally:
        for fd in fds:
            os.close(fd)


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    """The request and the descriptors that came with it, read within REQUEST_SECONDS."""
    deadline = time.monotonic() + REQUEST_SECONDS
    connection.settimeout(REQUEST_SECONDS)
    data, fds, flags, _ = socket.recv_fds(connection, 1 << 16, 3, socket.MSG_CMSG_CLOEXEC)
    try:
        if flags & socket.MSG_CTRUNC:
            raise _Malformed
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
            size = int.from_bytes(data[:4], "big") if len(data) >= 4 else 0
            if size > REQUEST_BYTES:
                raise _Malformed
            connection.settimeout(max(deadline - time.monotonic(), 0.001))
            chunk = connection.recv(max(4, size + 4 - len(data)))
            if not chunk:
                raise EOFError
            data += chunk
        request = marshal.loads(data[4:])  # from a process with the server's own rights, checked before
        if not isinstance(request, dict):
            raise _Malformed
        return request, fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _check_run_request(request: dict, fds: list[int]) -> None:
    """Raises _Malformed unless the request is one our client sends, for a read-only command."""

    def strings(value) -> bool:
        return isinstance(value, str) and "\0" not in value

    argv, environ, streams = request.get("argv"), request.get("env"), request.get("streams")
    if not (
        set(request) == {"type", "installation", "argv", "cwd", "env", "streams"}
        and request["type"] == "run"
        and isinstance(argv, list) and len(argv) >= 2 and all(map(strings, argv))
        and argv[1] in client.FORWARDED  # never `index`, nor `serve`: the server runs reading commands only
        and strings(request["cwd"])
        and isinstance(environ, dict)
        and all(strings(key) and key and "=" not in key and strings(value) for key, value in environ.items())
        and isinstance(streams, list) and len(streams) == 3 and all(map(_stream_settings, streams))
        and len(fds) == 3 and all(_usable(fd, writing=number > 0) for number, fd in enumerate(fds))
    ):
        raise _Malformed


def _stream_settings(settings) -> bool:
    if not (isinstance(settings, tuple) and len(settings) == 4):
        return False
    encoding, errors, line_buffering, write_through = settings
    if not (isinstance(encoding, str) and isinstance(errors, str)):
        return False
    if not (isinstance(line_buffering, bool) and isinstance(write_through, bool)):
        return False
    try:
        codecs.lookup(encoding)
        codecs.lookup_error(errors)
    except LookupError:
        return False
    return True


def _usable(fd: int, writing: bool) -> bool:
    """Whether fd can be a standard stream: open for reading (stdin) or writing, not a folder."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    mode = flags & os.O_ACCMODE
    return (
        not flags & os.O_PATH
        and not stat.S_ISDIR(os.fstat(fd).st_mode)
        and mode != (os.O_RDONLY if writing else os.O_WRONLY)
    )


def _send(connection: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # a client gone has nobody to tell
        connection.sendall(data)


def _run_line(args: list[str], program: str) -> tuple[int, bool]:
    """A command line's exit status, a plain query's line read without click, as the client reads it
    when it runs one itself (click's parsing and dispatch were 2-3 ms of a served query's request);
    and whether it was such a line."""
    status = query_line.run_loaded(args)
    return (run(args, program), False) if status is None else (status, True)


def _run_command(connection: socket.socket, request: dict, fds: list[int]) -> tuple[int, bool]:
    """Runs the command on the client's fds (closing them), with its arguments and environment;
    returns its exit status, and whether it was a plain query run without click (_run_line)."""
    for fd, client_fd in enumerate(fds):
        os.dup2(client_fd, fd)
        os.close(client_fd)
    sys.stdin, sys.stdout, sys.stderr = (
        _standard_stream(fd, settings) for fd, settings in enumerate(request["streams"])
    )
    sys.argv = argv = request["argv"]
    _set_environ(request["env"])
    _start_watcher(connection)
    plain = False
    try:
        try:
            status, plain = _run_line(argv[1:], os.path.basename(argv[0]))
        except Exception:  # only with ARCHSEARCH_DEBUG set, which asks for the traceback
            sys.excepthook(*sys.exc_info())
            status = 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C now has nothing left to interrupt
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    except KeyboardInterrupt:  # an interrupt that came after the command's own handling
        status, plain = 130, False
    # The client's fds closed before the status goes: a reader of its pipe sees the end when the
    # client does. What is still buffered (for a reader that went away) is dropped.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return status, plain


# In a spare: the watcher thread, started ahead (starting one cost a request 0.3-1 ms of CPU), and
# what hands it its connection: a lock it waits on, and the list the connection is put in.
_watcher_ahead: tuple[threading.Thread, threading.Lock, list] | None = None
# The watcher of the request under way, or of the last one.
_watcher: threading.Thread | None = None


def _start_watcher_ahead() -> None:
    global _watcher_ahead
    given = threading.Lock()
    given.acquire()
    connections = []
    thread = threading.Thread(target=_watch_when_given, args=(given, connections, threading.get_ident()), daemon=True)
    thread.start()
    _watcher_ahead = thread, given, connections


def _watch_when_given(given: threading.Lock, connections: list, main_thread: int) -> None:
    given.acquire()
    _watch(connections[0], main_thread)


def _start_watcher(connection: socket.socket) -> None:
    """Sets _watch going beside the command: the thread started ahead when there is one."""
    global _watcher, _watcher_ahead
    if _watcher_ahead is None:
        _watcher = threading.Thread(target=_watch, args=(connection, threading.get_ident()), daemon=True)
        _watcher.start()
    else:
        (_watcher, given, connections), _watcher_ahead = _watcher_ahead, None
        connections.append(connection)
        given.release()


def _watch(connection: socket.socket, main_thread: int) -> None:
    """Beside a running command: the client's Ctrl-C, or the client going away, interrupts it
    as Ctrl-C would in the client's own process. A real SIGINT also breaks a write blocked on a
    full pipe."""
    while True:
        try:
            gone = not connection.recv(1)
        except OSError:
            gone = True
        signal.pthread_kill(main_thread, signal.SIGINT)
        if gone:
            return


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
    # What differs only: a client's environment is mostly the server's, and each variable set
    # or unset costs (clearing and setting them all took 0.5-0.9 ms of a request).
    for key in os.environ.keys() - environ.keys():
        del os.environ[key]
    for key, value in environ.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    if os.environ.get("TZ") != zone:
        time.tzset()  # the C library reads TZ only when told to, and 'today' depends on it
