"""A reading command starts `archsearch serve` in the background, and `serve --status`.

Every test drives the installed command with a socket of its own, and ends with no server left
on it (the `autostart` fixture stops or kills whatever runs there, and fails if it cannot). A
server started by a command can be held back before it listens (HOLD): so a test sees what a
command does while its server is still starting, without timing anything."""

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import installed_command
from test_server import BOUND, archsearch, corpus, environment, no_click, short_folder, socket_folder, until

assert corpus and no_click and socket_folder  # fixtures used here

# Imported first by every Python the tests start with HOLD on its path: the process that is a
# session leader, as only a server started by a command is, waits until the file RELEASE names exists.
HOLD = """
import os, time
if os.getsid(0) == os.getpid() and os.environ.get("RELEASE"):
    while not os.path.exists(os.environ["RELEASE"]):
        time.sleep(0.02)
"""


class Autostart:
    def __init__(self, folder: Path, tmp_path: Path, corpus: Path):
        self.socket = folder / "s.sock"
        self.release = tmp_path / "release"
        self.state = tmp_path / "state"
        self.config = tmp_path / "config"
        hold = tmp_path / "hold"
        hold.mkdir()
        (hold / "sitecustomize.py").write_text(HOLD)
        self.env = environment(
            self.socket, corpus / "index", ARCHSEARCH_SERVER="auto", PYTHONPATH=str(hold), RELEASE=str(self.release),
            XDG_STATE_HOME=str(self.state), XDG_CONFIG_HOME=str(self.config),
        )
        self.env.pop("CI", None)

    def run(self, *args, **extra) -> subprocess.CompletedProcess:
        return archsearch(*args, env={**self.env, **extra})

    def query(self, **extra) -> subprocess.CompletedProcess:
        result = self.run("query", "-l", "Taliban", **extra)
        assert result.returncode == 0 and result.stdout, result.stderr
        return result

    def servers(self) -> list[int]:
        """The pids of the servers on this socket, listening or still starting: the session
        leaders (a request's process is not one) whose environment names the socket."""
        wanted = f"ARCHSEARCH_SOCKET={self.socket}".encode()
        found = []
        for name in os.listdir("/proc"):
            try:
                if name.isdigit() and os.getsid(int(name)) == int(name):
                    if wanted in Path(f"/proc/{name}/environ").read_bytes().split(b"\0"):
                        found.append(int(name))
            except OSError:  # gone meanwhile
                continue
        return found

    def status(self) -> subprocess.CompletedProcess:
        return self.run("serve", "--status")

    def log(self) -> str:
        return (self.state / "archsearch" / "server.log").read_text()


@pytest.fixture
def autostart(tmp_path, corpus):
    folder = short_folder()
    started = Autostart(folder, tmp_path, corpus)
    try:
        yield started
    finally:
        started.release.touch()
        archsearch("serve", "--stop", env=started.env)
        for pid in started.servers():
            os.kill(pid, signal.SIGTERM)
        until(lambda: not started.servers(), "a server was left running")
        shutil.rmtree(folder)


def test_the_first_command_that_finds_no_server_starts_one(autostart):
    assert autostart.status().returncode == 1
    autostart.release.touch()
    autostart.query()
    until(lambda: autostart.status().returncode == 0, "the server did not start")
    assert len(autostart.servers()) == 1


def test_the_command_that_starts_a_server_answers_without_waiting_for_it(autostart, no_click):
    local = autostart.run("query", "Taliban", ARCHSEARCH_SERVER="off")
    starting = autostart.run("query", "Taliban")
    assert (starting.returncode, starting.stdout, starting.stderr) == (local.returncode, local.stdout, local.stderr)
    assert len(autostart.servers()) == 1 and not autostart.socket.exists()  # held back, not listening yet
    status = autostart.status()  # the command that took the lock has ended: the server holds it
    assert (status.returncode, status.stdout) == (
        1, f"starting: a process holds the server's lock; nothing listens on {autostart.socket} yet\n".encode()
    )
    autostart.release.touch()
    until(lambda: autostart.status().returncode == 0, "the server did not start")
    served = autostart.run("query", "Taliban", PYTHONPATH=str(no_click))  # a client that cannot run it itself
    assert (served.returncode, served.stdout) == (local.returncode, local.stdout), served.stderr
    status = autostart.status().stdout.decode()
    assert f"pid {autostart.servers()[0]}, listening on {autostart.socket}" in status
    assert "by a command, in the background" in status
    assert "stops after 15 minutes without a request" in status
    assert "commands served: 1\n" in status
    assert f"indexes kept open: 1\n  {autostart.env['ARCHSEARCH_INDEX']}\n" in status


def test_a_pipe_into_head_ends_with_the_command_not_with_the_server(autostart):
    pipeline = subprocess.run(
        f"'{installed_command()}' query -l Taliban | head -n 1", shell=True, capture_output=True,
        env=autostart.env, timeout=BOUND,
    )
    assert pipeline.returncode == 0 and pipeline.stdout.count(b"\n") == 1, pipeline.stderr
    assert len(autostart.servers()) == 1  # still held back, and holding neither stdout nor stderr
    client = subprocess.Popen(
        [installed_command(), "stats"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=autostart.env
    )
    out, err = client.communicate(timeout=BOUND)  # both pipes at their end: no process holds them
    assert client.returncode == 0, err


def test_commands_at_once_or_while_it_starts_start_one_server(autostart):
    clients = [
        subprocess.Popen([installed_command(), "query", "-l", "Taliban"], stdout=subprocess.DEVNULL, env=autostart.env)
        for _ in range(2)
    ]
    assert [client.wait(timeout=BOUND) for client in clients] == [0, 0]
    autostart.query()  # while the server started is still starting
    assert len(autostart.servers()) == 1
    autostart.release.touch()
    until(lambda: autostart.status().returncode == 0, "the server did not start")
    assert autostart.log().count("listening on") == 1 and "error" not in autostart.log()


@pytest.mark.parametrize(
    "setting",
    [{"ARCHSEARCH_SERVER": "off"}, {"ARCHSEARCH_SERVER": "manual"}, {"CI": "true"}, 'server = "manual"\n'],
    ids=["off", "manual", "CI", "config-manual"],
)
def test_no_server_is_started_when_told_so(autostart, setting):
    if isinstance(setting, str):
        (autostart.config / "archsearch").mkdir(parents=True)
        (autostart.config / "archsearch" / "config.toml").write_text(setting)
        setting = {}
    for _ in range(3):
        autostart.query(**setting)
    assert autostart.servers() == []


def test_a_command_that_fails_starts_no_server(autostart, tmp_path):
    for _ in range(3):
        assert autostart.run("query", "Taliban", ARCHSEARCH_INDEX=str(tmp_path / "nowhere")).returncode == 2
    assert autostart.servers() == []


def test_a_command_that_writes_starts_no_server(autostart, tmp_path):
    for _ in range(2):
        result = autostart.run("index", "--index", str(tmp_path / "index"), str(tmp_path / "hold"))
        assert result.returncode == 0, result.stderr
    assert autostart.servers() == []


def test_the_server_stops_after_its_idle_timeout(autostart):
    (autostart.config / "archsearch").mkdir(parents=True)
    (autostart.config / "archsearch" / "config.toml").write_text("[serve]\nidle-timeout = 0.01\n")
    autostart.release.touch()
    autostart.query()
    until(lambda: "listening on" in autostart.log(), "the server did not start")
    # Asking for its status, again and again, is no request that keeps it from stopping.
    until(lambda: autostart.status().returncode == 1, "the server did not stop when idle")
    until(lambda: not autostart.servers(), "the server did not end")
    assert "server stopped: idle for 0.01 minutes" in autostart.log()


def test_serve_stop_returns_once_the_server_process_has_ended(autostart):
    autostart.release.touch()
    autostart.query()
    until(lambda: autostart.status().returncode == 0, "the server did not start")
    assert autostart.servers()
    assert autostart.run("serve", "--stop").returncode == 0
    assert autostart.servers() == []


def test_after_serve_stop_the_next_command_starts_none(autostart):
    autostart.release.touch()
    autostart.query()
    until(lambda: autostart.status().returncode == 0, "the server did not start")
    assert autostart.run("serve", "--stop").returncode == 0
    autostart.query()
    assert autostart.servers() == []


def test_status_when_none_runs(autostart):
    status = autostart.status()
    assert (status.returncode, status.stdout, status.stderr) == (
        1, f"not running (nothing listens on {autostart.socket})\n".encode(), b""
    )


def test_status_of_a_server_started_by_hand(autostart):
    started = autostart.run("serve", "--detach", "--idle-timeout", "0")
    assert started.returncode == 0, started.stderr
    status = autostart.status()
    assert status.returncode == 0 and status.stderr == b""
    lines = status.stdout.decode().splitlines()
    assert lines[0] == f"running: pid {autostart.servers()[0]}, listening on {autostart.socket}"
    assert "by 'archsearch serve' (up " in lines[1]
    assert lines[2].endswith("never stops by itself")
    assert lines[3:] == ["commands served: 0", "indexes kept open: 0"]


def test_a_server_setting_the_configuration_does_not_know_is_an_error(autostart):
    (autostart.config / "archsearch").mkdir(parents=True)
    (autostart.config / "archsearch" / "config.toml").write_text('server = "off"\n')
    result = autostart.run("query", "Taliban")
    assert result.returncode == 2
    assert b'server: must be "auto" or "manual"' in result.stderr


def test_a_lock_to_take_over_that_is_not_there_is_a_one_line_error(autostart):
    result = autostart.run("serve", "--lock-fd", "987")
    assert (result.returncode, result.stderr) == (
        2, b"archsearch: error: no lock to take over on descriptor 987: Bad file descriptor\n"
    )
    assert autostart.servers() == []


def test_status_of_a_server_still_starting_says_so_at_once(socket_folder, monkeypatch):
    """Between listening and answering, a server loads what commands need (server.preload): seconds
    on a busy machine, when --status waited, then said the server 'does not say how it is'."""
    from click.testing import CliRunner

    from archsearch import server
    from archsearch.cli import cli

    path = socket_folder / "s.sock"
    monkeypatch.setenv("ARCHSEARCH_SOCKET", str(path))
    listener = server.listen(str(path))  # and not serving yet
    try:
        asked = time.monotonic()
        result = CliRunner().invoke(cli, ["serve", "--status"])
        assert time.monotonic() - asked < server.REQUEST_SECONDS
    finally:
        listener.socket.close()
        os.close(listener.lock)
    assert (result.exit_code, result.output) == (
        1, f"starting: pid {os.getpid()}, listening on {path}; it answers once it has loaded what commands need\n"
    )
    # Once it has stopped listening, what it wrote as it started is not taken for a server starting.
    result = CliRunner().invoke(cli, ["serve", "--status"])
    assert (result.exit_code, result.output) == (1, f"not running (nothing listens on {path})\n")


@pytest.mark.parametrize("leftover", [False, True], ids=["no-socket-file", "socket-file-left"])
def test_status_once_the_lock_is_taken_and_before_the_server_listens_says_starting(socket_folder, monkeypatch, leftover):
    """A command takes the server's lock, runs, then starts the server, which binds its socket once
    Python has started: all that while --status said "not running"."""
    from click.testing import CliRunner

    from archsearch.cli import cli

    path = socket_folder / "s.sock"
    monkeypatch.setenv("ARCHSEARCH_SOCKET", str(path))
    if leftover:  # what a server killed with SIGKILL leaves: a socket nobody listens on
        with socket.socket(socket.AF_UNIX) as left:
            left.bind(str(path))
    lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = CliRunner().invoke(cli, ["serve", "--status"])
    finally:
        os.close(lock)
    assert (result.exit_code, result.output) == (
        1, f"starting: pid {os.getpid()} holds the server's lock; nothing listens on {path} yet\n"
    )
    result = CliRunner().invoke(cli, ["serve", "--status"])
    assert (result.exit_code, result.output) == (1, f"not running (nothing listens on {path})\n")


def test_a_command_after_serve_stop_does_not_take_the_lock_even_for_an_instant(socket_folder, monkeypatch):
    """Taken and let go at once, as it was, the lock said to a --status at that instant that a server was starting."""
    from archsearch import client

    path = str(socket_folder / "s.sock")
    Path(client.stopped_marker(path)).touch()
    taken = []
    monkeypatch.setattr(fcntl, "flock", lambda *args: taken.append(args))
    assert client._autostart_lock(path) is None
    assert taken == []


def test_a_socket_path_naming_a_file_that_is_no_socket_is_refused_and_the_file_kept(socket_folder):
    """A socket file left by a server that was killed is replaced; anything else there is the
    user's (ARCHSEARCH_SOCKET set to the wrong path), which `serve` removed."""
    from archsearch import server
    from archsearch.errors import ArchsearchError

    path = socket_folder / "notes.txt"
    path.write_text("mine")
    try:
        listener = server.listen(str(path))
    except ArchsearchError as exc:
        assert str(exc) == f"cannot listen on {path}: it is there and is no socket (set ARCHSEARCH_SOCKET elsewhere)"
    else:
        listener.socket.close()
        os.close(listener.lock)
        pytest.fail("it listened in the file's place")
    assert path.read_text() == "mine"


def test_a_socket_path_too_long_to_reach_says_why(socket_folder):
    from archsearch import server
    from archsearch.errors import ArchsearchError

    path = socket_folder / ("x" * 120)
    for ask in (server.status, server.stop):
        with pytest.raises(ArchsearchError) as raised:
            ask(str(path))
        assert str(raised.value) == f"cannot reach the server on {path}: AF_UNIX path too long"
