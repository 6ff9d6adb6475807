"""`archsearch serve`: commands run by the server print, fail and exit exactly as when run in-process.

Every test drives the installed command. A command the server must run is run with a PYTHONPATH
where click cannot be imported: the client never imports click, so such a run succeeds only if
the server ran the command, and a silent fallback to running it in the client fails."""

import contextlib
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import pytest

from conftest import SEEDS, WEB_SEED, installed_command, read_terminal, wire

BIG = "big.txt"  # an article far larger than a pipe holds, to block or break its reader
RAN_IN_CLIENT = b"ran in the client process"
TIMINGS = re.compile(rb'\d+(\.\d+)? ms|"elapsed_ms": [0-9.]+')
BOUND = 60  # seconds a test waits for what must happen: reached only when it fails
NOT_INHERITED = ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "LINES", "PYTHONPATH", "ARCHSEARCH_SERVER")


def archsearch(*args, env, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([installed_command(), *args], capture_output=True, env=env, timeout=BOUND, **kwargs)


def environment(socket_path: Path, index: Path | None = None, no_click: Path | None = None, **extra) -> dict:
    """The socket, the index, and with no_click a client that cannot run a command itself; a
    client that uses a server that runs, but never starts one."""
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env["ARCHSEARCH_SOCKET"] = str(socket_path)
    env["ARCHSEARCH_SERVER"] = "manual"
    if index:
        env["ARCHSEARCH_INDEX"] = str(index)
    if no_click:
        env["PYTHONPATH"] = str(no_click)
    return {**env, **extra}


PATCHED_SERVER = """
import sys
from archsearch import server
{patch}
from archsearch.cli import main
sys.argv = ["archsearch", "serve"]
main()
"""


def outcome(result: subprocess.CompletedProcess) -> tuple:
    return result.returncode, TIMINGS.sub(b"N ms", result.stdout), TIMINGS.sub(b"N ms", result.stderr)


@contextlib.contextmanager
def running_server(path: Path, patch: str = "", **extra):
    """`archsearch serve` on path, extra in its environment; with patch, Python run on
    archsearch.server (as `server`) first."""
    command = [installed_command(), "serve"]
    if patch:
        # -P: archsearch as installed, as the client imports it, not the checkout the tests run in
        # (a client refuses a server of another installation and runs its command itself)
        command = [sys.executable, "-P", "-c", PATCHED_SERVER.format(patch=patch)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment(path, **extra)
    )
    try:
        assert select.select([process.stderr], [], [], 30)[0], "the server did not start"
        assert process.stderr.readline() == f"archsearch: listening on {path} (pid {process.pid})\n".encode()
        process.socket = path
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        process.stderr.close()


@pytest.fixture(scope="module")
def no_click(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("noclick")
    (folder / "click.py").write_text(f"raise ImportError({RAN_IN_CLIENT.decode()!r})\n")
    # A plain query runs without click (archsearch.query_line), but not without Whoosh; it ends as
    # a command that failed to import click does (status 1, the message on stderr).
    (folder / "whoosh.py").write_text(f"raise SystemExit({RAN_IN_CLIENT.decode()!r})\n")
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A folder with a copy of the seeds, and a big article, in seeds/, and their index in index/."""
    from archsearch.indexing import update_index

    folder = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SEEDS, folder / "seeds")
    (folder / "seeds" / BIG).write_text(wire("2020-01-01", "ROME, Jan 1. /ANSA/.", "Pasta al dente. " * 20_000))
    update_index(folder / "index", [str(folder / "seeds")])
    return folder


def short_folder() -> Path:
    """A Unix socket's path may not be longer than 107 bytes, and tmp_path's can be."""
    return Path(tempfile.mkdtemp(prefix="as-"))


@pytest.fixture
def socket_folder():
    folder = short_folder()
    yield folder
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def server(corpus):
    folder = short_folder()
    with running_server(folder / "s.sock") as started:
        yield started
    shutil.rmtree(folder)


@pytest.fixture
def served(server, corpus, no_click):
    """Runs a command that the server must run, from the corpus folder."""
    return lambda *args, **extra: archsearch(
        *args, env=environment(server.socket, corpus / "index", no_click, **extra), cwd=corpus
    )


@pytest.fixture
def local(server, corpus):
    """Runs a command in the client process (ARCHSEARCH_SERVER=off), from the corpus folder."""
    return lambda *args, **extra: archsearch(
        *args, env=environment(server.socket, corpus / "index", ARCHSEARCH_SERVER="off", **extra), cwd=corpus
    )


@pytest.fixture
def same_either_way(served, local):
    """Runs a command in the server and in-process, checks that they agree, and returns what it did."""

    def run(*args):
        by_server, in_process = served(*args), local(*args)
        assert outcome(by_server) == outcome(in_process)
        return by_server.returncode, by_server.stdout, by_server.stderr

    return run


def test_query_with_hits(same_either_way):
    status, stdout, _ = same_either_way("query", "Taliban")
    assert status == 0 and b"**Taliban**" in stdout


def test_query_without_hits_exits_1(same_either_way):
    status, stdout, stderr = same_either_way("query", "--strict", "coronavirus", "Zakharova")
    assert (status, stdout) == (1, b"") and b"--any" in stderr


def test_query_syntax_error_exits_2(same_either_way):
    status, _, stderr = same_either_way("query", 'Taliban "peace')
    assert status == 2 and stderr.startswith(b"archsearch: error: ")


def test_usage_error_names_the_command(same_either_way):
    status, _, stderr = same_either_way("query", "--limt", "3", "Taliban")
    assert status == 2 and b"'archsearch query --help'" in stderr


def test_files_with_matches_and_null(same_either_way):
    status, stdout, _ = same_either_way("query", "-l", "-0", "Taliban")
    assert status == 0 and stdout.count(b"\0") == 2


def test_json(same_either_way):
    status, stdout, _ = same_either_way("query", "--json", "Taliban")
    assert status == 0 and b'"type": "summary"' in stdout


def test_show(same_either_way):
    status, stdout, _ = same_either_way("show", WEB_SEED)
    assert status == 0 and b"Central Asia" in stdout


def test_stats(same_either_way):
    status, stdout, _ = same_either_way("stats")
    assert status == 0 and b"articles" in stdout


def test_relative_paths_are_the_client_s(same_either_way):
    status, stdout, _ = same_either_way("show", f"seeds/{WEB_SEED}")  # the server itself is in /
    assert status == 0 and b"Central Asia" in stdout


def on_terminal(args, env) -> tuple[int, bytes]:
    """Runs a command with stdin, stdout and stderr on a 60-column pseudo-terminal."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    process = subprocess.Popen(
        [installed_command(), *args], stdin=terminal, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    shown = read_terminal(controller)
    return process.wait(timeout=60), TIMINGS.sub(b"N ms", shown)


def test_terminal_output_is_the_same(server, corpus, no_click):
    terminal = {"TERM": "xterm-256color"}
    by_server = on_terminal(["query", "Taliban"], environment(server.socket, corpus / "index", no_click, **terminal))
    in_process = on_terminal(
        ["query", "Taliban"], environment(server.socket, corpus / "index", ARCHSEARCH_SERVER="off", **terminal)
    )
    assert by_server == in_process
    assert by_server[0] == 0 and b"\x1b[" in by_server[1]


def test_environment_is_each_client_s(server, corpus, no_click, tmp_path):
    terminal = environment(server.socket, corpus / "index", no_click, TERM="xterm-256color")
    assert b"\x1b[" not in on_terminal(["query", "Taliban"], {**terminal, "NO_COLOR": "1"})[1]
    assert b"\x1b[" in on_terminal(["query", "Taliban"], terminal)[1]
    elsewhere = archsearch("stats", env=environment(server.socket, tmp_path / "none", no_click))
    assert elsewhere.returncode == 2 and str(tmp_path / "none").encode() in elsewhere.stderr


def test_a_variable_the_server_has_and_the_client_not_is_unset(socket_folder, corpus, no_click):
    path = socket_folder / "s.sock"
    with running_server(path, NO_COLOR="1", TERM="dumb"):
        shown = on_terminal(["query", "Taliban"], environment(path, corpus / "index", no_click, TERM="xterm-256color"))
    assert shown[0] == 0 and b"\x1b[" in shown[1]


def test_the_server_reads_its_own_credentials_once(socket_folder, corpus, no_click):
    path = socket_folder / "s.sock"
    patch = """
real = server.credentials
def counted(process):
    if process == "self":
        sys.stderr.write("own credentials read\\n")
        sys.stderr.flush()
    return real(process)
server.credentials = counted
"""
    env = environment(path, corpus / "index", no_click)
    with running_server(path, patch) as process:
        assert [archsearch("stats", env=env).returncode for _ in range(3)] == [0, 0, 0]
        process.terminate()
        process.wait(timeout=10)
        assert process.stderr.read().count(b"own credentials read") == 1


def test_a_served_plain_query_is_read_without_click(socket_folder, corpus, no_click, local):
    """A request runs a plain query's line as the client does (archsearch.query_line), click's
    parsing and dispatch left out; any other line still goes to click."""
    path = socket_folder / "s.sock"
    patch = """
real = server.run
def by_click(args, prog_name):
    sys.stderr.write("read by click\\n")
    return real(args, prog_name)
server.run = by_click
"""
    env = environment(path, corpus / "index", no_click)
    with running_server(path, patch):
        plain = archsearch("query", "-n", "2", "Taliban", env=env, cwd=corpus)
        assert outcome(plain) == outcome(local("query", "-n", "2", "Taliban"))
        assert b"read by click" not in plain.stderr
        saved = archsearch("query", "--new", "Taliban", env=env, cwd=corpus)
        assert b"read by click" in saved.stderr
        assert b"read by click" in archsearch("stats", env=env, cwd=corpus).stderr


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package folder of two modules standing in for archsearch's own, in code_fingerprint."""
    from archsearch import server

    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for name in ("client.py", "sub/module.py"):
        (tmp_path / "pkg" / name).write_text("")
    monkeypatch.setattr(server.client, "__file__", str(tmp_path / "pkg" / "client.py"))
    return tmp_path / "pkg"


def test_unchanged_code_is_checked_without_listing_its_folders(package, monkeypatch):
    from archsearch import server

    fingerprint = server.code_fingerprint()

    def listed(*args, **kwargs):
        raise AssertionError("the folders listed again")

    monkeypatch.setattr(os, "walk", listed)
    assert not server.code_changed(fingerprint)


@pytest.mark.parametrize("change", ["module added", "module removed", "folder added", "module edited", "cache made"])
def test_a_change_of_code_is_seen_and_a_cache_folder_is_none(package, change):
    from archsearch import server

    fingerprint = server.code_fingerprint()
    if change == "module added":
        (package / "sub" / "new.py").write_text("")
    elif change == "module removed":
        (package / "sub" / "module.py").unlink()
    elif change == "folder added":
        (package / "other").mkdir()
        (package / "other" / "new.py").write_text("")
    elif change == "module edited":
        (package / "client.py").write_text("# edited")
    else:
        (package / "sub" / "__pycache__").mkdir()
        (package / "sub" / "__pycache__" / "module.cpython-311.pyc").write_bytes(b"")
    assert server.code_changed(fingerprint) == (change != "cache made")


class ClockAhead:
    """The time module as searching sees it, its clock moved on where a test would wait for a file
    to settle (SETTLED_NS, 2 s each) instead."""

    def __init__(self):
        self.ahead_ns = 0

    def __getattr__(self, name):
        return getattr(time, name)

    def time_ns(self) -> int:
        return time.time_ns() + self.ahead_ns


@pytest.fixture
def kept_bodies(monkeypatch):
    from archsearch import searching

    monkeypatch.setattr(searching, "_kept_bodies", {})
    monkeypatch.setattr(searching, "bodies_read", [])
    monkeypatch.setattr(searching, "time", ClockAhead())
    return searching


def settled_article(folder: Path, kept_bodies, text: str) -> str:
    """An article written, then settled for keep_bodies: by its clock moved on where the test
    patched it (kept_bodies), else (a server's process) by waiting."""
    article = folder / "a.txt"
    article.write_text(wire("2021-03-01", "PARIS, March 1. /AFP/.", text))
    changed = os.stat(article).st_ctime_ns
    clock = kept_bodies.time
    if isinstance(clock, ClockAhead):
        clock.ahead_ns = max(clock.ahead_ns, changed + kept_bodies.SETTLED_NS - time.time_ns())
    while clock.time_ns() - changed < kept_bodies.SETTLED_NS:
        time.sleep(0.1)
    return str(article)


def test_a_kept_body_is_used_while_its_file_is_as_it_was(tmp_path, kept_bodies, monkeypatch):
    article = settled_article(tmp_path, kept_bodies, "Zebras escaped from the zoo.")
    kept_bodies.keep_bodies([article])
    with monkeypatch.context() as reading:
        reading.setattr(kept_bodies, "article_body", lambda stored: pytest.fail("read again"))
        assert kept_bodies._current_body({"key": article}).endswith(" Zebras escaped from the zoo.")
    assert kept_bodies.bodies_read == []
    Path(article).write_text(Path(article).read_text().replace("Zebras", "Lemurs"))
    assert kept_bodies._current_body({"key": article}).endswith(" Lemurs escaped from the zoo.")
    assert kept_bodies.bodies_read == [article]


def test_a_kept_file_read_again_after_a_change_is_kept_as_it_is_now(tmp_path, kept_bodies):
    article = settled_article(tmp_path, kept_bodies, "Zebras escaped from the zoo.")
    kept_bodies.keep_bodies([article])
    settled_article(tmp_path, kept_bodies, "Lemurs escaped from the zoo.")
    assert kept_bodies._current_body({"key": article}).endswith(" Lemurs escaped from the zoo.")
    kept_bodies.keep_bodies(kept_bodies.bodies_read)
    assert kept_bodies._kept_bodies[article][1].endswith(" Lemurs escaped from the zoo.")


def test_a_command_run_on_its_own_records_no_body_read(corpus):
    from archsearch import searching

    assert searching.search(corpus / "index", "Taliban").hits and searching.bodies_read is None


def test_a_file_changed_just_now_is_not_kept(tmp_path, kept_bodies):
    article = tmp_path / "a.txt"
    article.write_text(wire("2021-03-01", "PARIS, March 1. /AFP/.", "Zebras escaped from the zoo."))
    kept_bodies.keep_bodies([str(article)])
    assert kept_bodies._kept_bodies == {}


def test_a_large_file_is_neither_read_nor_kept(tmp_path, kept_bodies, monkeypatch):
    article = settled_article(tmp_path, kept_bodies, "Zebras escaped from the zoo. " * 40)
    monkeypatch.setattr(kept_bodies, "KEPT_BODY_CHARS", os.path.getsize(article) - 1)
    monkeypatch.setattr(kept_bodies, "article_body", lambda stored: pytest.fail("read"))
    kept_bodies.keep_bodies([article])
    assert kept_bodies._kept_bodies == {}


def test_a_file_its_reader_fails_on_is_not_kept_and_the_others_are(tmp_path, kept_bodies, monkeypatch):
    (tmp_path / "other").mkdir()
    failing = settled_article(tmp_path, kept_bodies, "Zebras escaped from the zoo.")
    article = settled_article(tmp_path / "other", kept_bodies, "Lemurs escaped from the zoo.")
    read = kept_bodies.article_body

    def reader(stored):
        if stored["key"] == failing:
            raise ValueError("a reader's bug")
        return read(stored)

    monkeypatch.setattr(kept_bodies, "article_body", reader)
    kept_bodies.keep_bodies([failing, article])
    assert list(kept_bodies._kept_bodies) == [article]


def test_the_bodies_kept_first_go_first_beyond_the_limit(tmp_path, kept_bodies, monkeypatch):
    paths = [str(tmp_path / f"{name}.txt") for name in ("one", "two", "six")]
    for path in paths:
        Path(path).write_text(wire("2021-03-01", "PARIS, March 1. /AFP/.", f"{path} " * 5))
    settled_article(tmp_path, kept_bodies, "")
    each = len(kept_bodies.article_body({"key": paths[0]}))
    monkeypatch.setattr(kept_bodies, "KEPT_BODIES_CHARS", 2 * each)
    for path in paths:
        kept_bodies.keep_bodies([path])
    assert list(kept_bodies._kept_bodies) == paths[1:]


def test_a_served_hit_shows_its_file_as_it_is_now_after_its_body_was_kept(socket_folder, tmp_path, no_click):
    from archsearch import searching
    from archsearch.indexing import update_index

    (tmp_path / "corpus").mkdir()
    article = settled_article(tmp_path / "corpus", searching, "Zebras escaped from the city zoo on Monday.")
    update_index(tmp_path / "index", [str(tmp_path / "corpus")])
    patch = """
from archsearch import searching
real = searching.keep_bodies
def told(paths):
    paths = list(paths)
    real(paths)
    sys.stderr.write("kept %r\\n" % sorted(searching._kept_bodies))
    sys.stderr.flush()
searching.keep_bodies = told
"""
    path = socket_folder / "s.sock"
    served = environment(path, tmp_path / "index", no_click)
    local = environment(path, tmp_path / "index", ARCHSEARCH_SERVER="off")
    with running_server(path, patch) as process:
        first = archsearch("query", "zebras", env=served)
        assert first.returncode == 0 and b"zoo on Monday." in first.stdout
        assert select.select([process.stderr], [], [], BOUND)[0]
        assert process.stderr.readline() == f"kept [{article!r}]\n".encode()
        Path(article).write_text(Path(article).read_text().replace("Monday", "Sunday"))
        second = archsearch("query", "zebras", env=served)
    assert b"zoo on Sunday." in second.stdout and outcome(second) == outcome(archsearch("query", "zebras", env=local))


def test_a_shown_hit_s_stored_fields_are_read_once(corpus, monkeypatch):
    from archsearch import searching

    reads = []
    real = searching.index_searcher

    @contextlib.contextmanager
    def counted(*args, **kwargs):
        with real(*args, **kwargs) as searcher:
            stored_fields = searcher.stored_fields
            searcher.stored_fields = lambda docnum: reads.append(docnum) or stored_fields(docnum)
            yield searcher

    monkeypatch.setattr(searching, "index_searcher", counted)
    shown = searching.search(corpus / "index", "Taliban").hits
    assert shown and reads and sorted(reads) == sorted(set(reads))


def test_a_command_that_ends_at_once_still_reports_its_status(server, tmp_path, no_click):
    # The server can finish a quick command before the client has returned from sending its
    # request; the client once made one more (empty) send then, failed with EPIPE, and ran the
    # command a second time itself.
    env = environment(server.socket, tmp_path / "none", no_click)
    outcomes = [archsearch("stats", env=env) for _ in range(30)]
    assert all(outcome.returncode == 2 and RAN_IN_CLIENT not in outcome.stderr for outcome in outcomes)


def test_broken_pipe_is_quiet_and_leaves_nothing_behind(server, corpus, no_click, served, local):
    pipeline = f"'{installed_command()}' show {BIG} | head -1; exit ${{PIPESTATUS[0]}}"
    by_server, in_process = (
        subprocess.run(["bash", "-c", pipeline], capture_output=True, env=env, timeout=60)
        for env in (
            environment(server.socket, corpus / "index", no_click),
            environment(server.socket, corpus / "index", ARCHSEARCH_SERVER="off"),
        )
    )
    assert outcome(by_server) == outcome(in_process)
    assert (by_server.returncode, by_server.stdout[:7], by_server.stdout.count(b"\n"), by_server.stderr) == (
        0, b"title: ", 1, b""
    )
    assert outcome(served("query", "Taliban")) == outcome(local("query", "Taliban"))


def until(condition, what: str):
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def request_processes(server) -> list[int]:
    """The server's children but the spare (which waits for the next request, see server._fork_spare)."""
    from archsearch.server import SPARE_NAME

    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children if not is_spare(pid, SPARE_NAME)]


def spare_waits(server) -> bool:
    """Whether the server has a spare, asleep: waiting for the next request."""
    from archsearch.server import SPARE_NAME

    for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split():
        try:
            if Path(f"/proc/{pid}/comm").read_bytes().rstrip(b"\n") == SPARE_NAME:
                return sleeps(pid)
        except OSError:  # ended meanwhile
            pass
    return False


def sleeps(pid: int | str) -> bool:
    """Whether the process sleeps (interruptibly): the server does only in its loop's select, and
    a process woken by what it waits for runs (or is ready to) until it sleeps again."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "S"


def is_spare(pid: str, name: bytes) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_bytes().rstrip(b"\n") == name
    except OSError:  # ended meanwhile
        return True


def open_files_under(server, folder: Path) -> list[str]:
    """The files under folder that the server process holds open."""
    prefix = str(folder.resolve()) + os.sep
    targets = []
    for fd in os.listdir(f"/proc/{server.pid}/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile
            targets.append(os.readlink(f"/proc/{server.pid}/fd/{fd}"))
    return [target for target in targets if target.startswith(prefix)]


def test_no_descriptor_is_left_open_after_a_request(server, served, corpus):
    served("query", "Taliban")
    until(lambda: open_files_under(server, corpus / "index"), "the server did not keep the index open")
    before = until_counted(server, "no spare waits for the next request")
    for args in (["query", "Taliban"], ["query", "("], ["show", BIG], ["stats", "--json"]):
        served(*args)
    # Each request's connection is closed once its process has ended.
    until(lambda: settled_descriptors(server) == before, "a descriptor was left open")


def settled_descriptors(server) -> int | None:
    """The server's descriptors, counted while it is settled (else None): no request runs, the
    spare waits, and the server sleeps in its loop, having taken each word its processes sent.
    Counted less its lines to the processes that wait (see server._fork_spare): the spare's, which
    a request takes and a new spare replaces, and one to each process that answered a plain query
    and waits again (at most KEPT_IDLE, more or fewer as the requests fell).
    A process that says it waits again has ended its request; the server closes the request's
    connection once it has read that word: until then (the server not yet run again, on a loaded
    machine) the count held one descriptor more, and the test waited its whole BOUND for a count
    that had been taken one too high."""
    if request_processes(server) or not spare_waits(server) or not sleeps(server.pid):
        return None
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    count = len(os.listdir(f"/proc/{server.pid}/fd")) - len(children)  # each child waiting: none is a request's
    return count if sleeps(server.pid) and not request_processes(server) else None


def until_counted(server, what: str) -> int:
    counted = []
    until(lambda: counted.append(settled_descriptors(server)) or counted[-1] is not None, what)
    return counted[-1]


def test_an_index_updated_meanwhile_is_seen(server, no_click, tmp_path):
    from archsearch.indexing import update_index

    shutil.copytree(SEEDS, tmp_path / "seeds")
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    env = environment(server.socket, tmp_path / "index", no_click)
    assert archsearch("query", "zebras", env=env).returncode == 1
    (tmp_path / "seeds" / "zebra.txt").write_text(wire("2021-03-01", "PARIS, March 1. /AFP/.", "Zebras escaped."))
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    found = archsearch("query", "-l", "zebras", env=env)
    assert (found.returncode, found.stdout) == (0, f"{tmp_path / 'seeds' / 'zebra.txt'}\n".encode())


@pytest.mark.parametrize("args", [["index"], ["--version"], ["--help"]])
def test_index_and_global_options_are_never_forwarded(served, args):
    result = served(*args)
    assert result.returncode == 1 and RAN_IN_CLIENT in result.stderr


def test_ctrl_c_interrupts_the_command_and_the_server_serves_on(server, corpus, no_click, served, local):
    for env in (
        environment(server.socket, corpus / "index", no_click),
        environment(server.socket, corpus / "index", ARCHSEARCH_SERVER="off"),
    ):
        # Started as a shell starts a command, with Ctrl-C at its default: a Python started with
        # SIGINT ignored keeps ignoring it, and in some full runs an earlier test had left this
        # pytest process ignoring it (found, not yet traced: see the closing note of 2026-11-30).
        process = subprocess.Popen(
            [installed_command(), "show", BIG], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        # Once output comes, the command soon blocks on the full pipe that nobody reads yet.
        assert select.select([process.stdout], [], [], 30)[0]
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        # The command says it was interrupted before it gives up its output: until it has (the
        # client passing Ctrl-C on, the request process then scheduled: 0.2 s was too short for a
        # loaded machine), nobody reads, so the command cannot finish instead.
        select.select([process.stderr], [], [], BOUND)
        process.stdout.read()
        assert (process.wait(timeout=10), process.stderr.read().lstrip()) == (130, b"archsearch: interrupted\n")
        process.stdout.close()
        process.stderr.close()
    assert outcome(served("query", "Taliban")) == outcome(local("query", "Taliban"))


def test_a_stale_server_answers_nothing_and_stops(socket_folder, corpus, no_click):
    path = socket_folder / "s.sock"
    # The package as installed (not the work tree's with `pip install .`), copied, so that the change
    # of its file is this server's alone: a ctime moves on for good, and would stop every other
    # worker's server too.
    installed = Path(
        subprocess.run(
            [sys.executable, "-c", "import archsearch; print(archsearch.__file__)"],
            cwd=socket_folder, capture_output=True, text=True, check=True,
        ).stdout.strip()
    ).parent
    copy = socket_folder / "code"
    shutil.copytree(installed, copy / "archsearch", ignore=shutil.ignore_patterns("__pycache__"))
    package_file = copy / "archsearch" / "errors.py"
    code = {"PYTHONPATH": f"{copy}{os.pathsep}{os.environ.get('PYTHONPATH', '')}".rstrip(os.pathsep)}
    env = environment(path, corpus / "index", PYTHONPATH=f"{no_click}{os.pathsep}{code['PYTHONPATH']}")
    with running_server(path, **code) as process:
        assert archsearch("stats", env=env).returncode == 0
        times = os.stat(package_file)
        os.utime(package_file, ns=(times.st_atime_ns, times.st_mtime_ns + 1_000_000_000))
        ran_here = archsearch("stats", env=env)
        assert ran_here.returncode == 1 and RAN_IN_CLIENT in ran_here.stderr
        assert process.wait(timeout=10) == 0
        assert b"code changed" in process.stderr.read()
    assert not path.exists()


def test_without_a_server_commands_run_in_the_client(socket_folder, corpus, local):
    path = socket_folder / "s.sock"
    env = environment(path, corpus / "index")
    assert outcome(archsearch("query", "Taliban", env=env)) == outcome(local("query", "Taliban"))
    with socket.socket(socket.AF_UNIX) as leftover:
        leftover.bind(str(path))  # what a server killed with SIGKILL leaves behind
    assert outcome(archsearch("query", "Taliban", env=env)) == outcome(local("query", "Taliban"))


def test_serve_replaces_a_leftover_socket_and_stop_stops_it(socket_folder, corpus, no_click):
    path = socket_folder / "s.sock"
    with socket.socket(socket.AF_UNIX) as leftover:
        leftover.bind(str(path))
    with running_server(path) as process:
        assert archsearch("stats", env=environment(path, corpus / "index", no_click)).returncode == 0
        assert archsearch("serve", "--stop", env=environment(path)).returncode == 0
        assert process.wait(timeout=10) == 0
        assert not path.exists()
    again = archsearch("serve", "--stop", env=environment(path))
    assert (again.returncode, again.stderr) == (1, f"archsearch: no server is running on {path}\n".encode())


def test_a_second_server_on_the_same_socket_is_refused(server):
    second = archsearch("serve", env=environment(server.socket))
    assert (second.returncode, second.stderr) == (
        2,
        f"archsearch: error: a server is already running on {server.socket} "
        "(stop it with 'archsearch serve --stop')\n".encode(),
    )


def test_detach_returns_once_the_server_listens(socket_folder, corpus, no_click):
    path = socket_folder / "s.sock"
    started = archsearch("serve", "--detach", env=environment(path))
    assert started.returncode == 0, started.stderr
    pid = int(re.fullmatch(rb"archsearch: listening on .* \(pid (\d+)\)\n", started.stderr)[1])
    try:
        assert archsearch("stats", env=environment(path, corpus / "index", no_click)).returncode == 0
    finally:
        assert archsearch("serve", "--stop", env=environment(path)).returncode == 0
    assert not path.exists()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and b"zombie" not in Path(f"/proc/{pid}/status").read_bytes():
        assert time.monotonic() < deadline, "the server did not end"
        time.sleep(0.05)


def test_a_socket_folder_open_to_others_is_refused(socket_folder, server, corpus, no_click):
    socket_folder.chmod(0o755)
    refused = archsearch("serve", env=environment(socket_folder / "s.sock"))
    assert refused.returncode == 2 and b"is open to other users" in refused.stderr
    server.socket.parent.chmod(0o750)
    try:
        ran_here = archsearch("stats", env=environment(server.socket, corpus / "index", no_click))
    finally:
        server.socket.parent.chmod(0o700)
    assert RAN_IN_CLIENT in ran_here.stderr


def test_preloading_covers_what_the_commands_load(corpus):
    code = f"""
import io, sys
from archsearch import server
from archsearch.cli import run
server.preload()
before = dict(sys.modules)
sys.stdout = io.TextIOWrapper(io.BytesIO())
# Each kind of query takes its own path through the evaluation (a phrase's through numpy.unique).
for args in (["query", "Taliban"], ["query", "--json", "Taliban"], ["query", '"health ministry"'],
             ["query", "Taliban", "OR", "pandemic"], ["query", "taliban", "health", "assistance"],
             ["query", "--since", "2021-12", "--until", "2021-12", "Taliban"], ["show", {BIG!r}],
             ["similar", {WEB_SEED!r}], ["sources", "Taliban"], ["timeline", "Taliban"], ["stats"]):
    run(args, "archsearch")
# A module new, or loaded in place of the placeholder lean_imports put for it (calendar for dates).
print(sorted(name for name, module in sys.modules.items() if before.get(name) is not module), file=sys.stderr)
"""
    env = environment(corpus / "s.sock", corpus / "index")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert result.stderr.splitlines()[-1] == b"[]"


def test_a_socket_path_too_long_is_said_so(socket_folder):
    """Python refuses such a path itself, with no strerror: the message said 'None'."""
    from archsearch.errors import ArchsearchError
    from archsearch import server

    with pytest.raises(ArchsearchError, match=r"cannot listen on .*: AF_UNIX path too long$"):
        server.listen(os.path.join(socket_folder, "s" * 200))
