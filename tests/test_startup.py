"""A command run without the server: how it ends (archsearch.cli.end), in real processes."""

import json
import os
import subprocess
import sys

import pytest

# The console script's own code, with a clean-up the interpreter would run at a normal exit.
COMMAND_WITH_CLEAN_UP = """
import atexit, sys
atexit.register(lambda: print("interpreter clean-up ran", file=sys.stderr))
sys.argv = ["archsearch", *{args!r}]
from archsearch.client import main
main()
"""


def run_command(args, index, stdout=subprocess.PIPE):
    return subprocess.run(
        [sys.executable, "-c", COMMAND_WITH_CLEAN_UP.format(args=list(args))],
        stdout=stdout, stderr=subprocess.PIPE,
        env={**os.environ, "ARCHSEARCH_INDEX": str(index), "ARCHSEARCH_SERVER": "off"}, timeout=120,
    )


@pytest.mark.parametrize(
    "args, status",
    [
        (["query", "Taliban", "--json", "-n", "0"], 0),
        (["query", "wordthatnoarticlehas"], 1),
        (["query", "Taliban", "-c"], 0),
        (["stats"], 0),
    ],
)
def test_a_reading_command_ends_at_once_with_its_output_written(seeded_index, args, status):
    ended = run_command(args, seeded_index)
    assert ended.returncode == status, ended.stderr
    assert b"interpreter clean-up ran" not in ended.stderr
    if "--json" in args:
        lines = ended.stdout.decode().splitlines()
        assert len(lines) > 1 and all(json.loads(line) for line in lines)  # every line whole, none cut off


def test_the_output_of_a_reading_command_reaches_a_file_whole(seeded_index, tmp_path):
    """Piped to a file, as a script reads it: the same bytes as a command that ends normally."""
    args = ["query", "Taliban", "-n", "0"]
    with open(tmp_path / "fast", "wb") as fast:
        assert run_command(args, seeded_index, stdout=fast).returncode == 0
    normal = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.argv = {['archsearch', *args]!r}; "
         "from archsearch.cli import run; sys.exit(run())"],
        capture_output=True, env={**os.environ, "ARCHSEARCH_INDEX": str(seeded_index)}, timeout=120,
    )
    assert normal.returncode == 0 and normal.stdout
    assert (tmp_path / "fast").read_bytes() == normal.stdout


def test_a_reader_gone_away_still_ends_quietly(seeded_index):
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    ended = run_command(["query", "Taliban", "-n", "0"], seeded_index, stdout=reader.stdin)
    reader.stdin.close()
    reader.wait()
    assert ended.returncode == 0 and ended.stderr == b""


def test_a_command_that_writes_ends_normally(seeds_copy, index_dir):
    ended = run_command(["index", "-q", str(seeds_copy)], index_dir)
    assert ended.returncode == 0, ended.stderr
    assert b"interpreter clean-up ran" in ended.stderr


def test_an_error_still_ends_with_status_2_and_one_line(tmp_path):
    ended = run_command(["query", "Taliban"], tmp_path / "nothing here")
    assert ended.returncode == 2
    assert ended.stderr.decode().startswith("archsearch: error: no index at ")
    assert b"interpreter clean-up ran" not in ended.stderr


def test_the_first_command_of_a_session_ends_at_once_too(seeded_index, tmp_path):
    """With the server on (the default), a command that finds none runs here, starts one, and
    ends as a command run here alone does (the server's start is left out: test_autostart.py)."""
    code = COMMAND_WITH_CLEAN_UP.replace(
        "from archsearch.client import main",
        "import archsearch.client as client\n"
        "from archsearch.cli import run\n"
        "client.run_then_start_server = lambda path: run()\n"
        "from archsearch.client import main",
    ).format(args=["query", "Taliban", "--json"])
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    ended = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=120,
        env={**env, "ARCHSEARCH_INDEX": str(seeded_index), "ARCHSEARCH_SERVER": "auto",
             "ARCHSEARCH_SOCKET": str(tmp_path / "no server here" / "s.sock")},
    )
    assert ended.returncode == 0 and ended.stdout.count(b"\n") >= 1, ended.stderr
    assert b"interpreter clean-up ran" not in ended.stderr


def test_a_reading_command_that_left_a_thread_running_ends_normally(seeded_index):
    """Its thread is waited for, as at any interpreter exit (here the thread can only end once
    cli.end has chosen sys.exit, so ending at once would cut it off)."""
    code = COMMAND_WITH_CLEAN_UP.replace(
        "from archsearch.client import main",
        "import threading\n"
        "chosen = threading.Event()\n"
        "def finish():\n"
        "    chosen.wait()\n"
        "    print('thread finished', file=sys.stderr)\n"
        "threading.Thread(target=finish).start()\n"
        "exit_normally = sys.exit\n"
        "def exit_chosen(status=None):\n"
        "    if sys._getframe(1).f_code.co_name == 'end':  # not the command's own sys.exit\n"
        "        chosen.set()\n"
        "    exit_normally(status)\n"
        "sys.exit = exit_chosen\n"
        "from archsearch.client import main",
    ).format(args=["query", "Taliban", "-c"])
    ended = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=120,
        env={**os.environ, "ARCHSEARCH_INDEX": str(seeded_index), "ARCHSEARCH_SERVER": "off"},
    )
    assert ended.returncode == 0, ended.stderr
    assert b"thread finished" in ended.stderr and b"interpreter clean-up ran" in ended.stderr
