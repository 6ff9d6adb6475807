"""What `archsearch index` shows: a progress bar on a terminal only, a summary, and the files
it skipped, as the installed command prints them."""

import os
import pty
import re
import subprocess

from conftest import installed_command, read_terminal, write_corpus
from test_indexing import numbered_articles

ANSI = b"\x1b["


def run_index(tmp_path, *args):
    return subprocess.run(
        [installed_command(), "index", "--index", str(tmp_path / "index"), *args],
        capture_output=True,
        timeout=60,
    )


def junk_corpus(folder, good: int, empty: int):
    write_corpus(folder, numbered_articles(good))
    for number in range(empty):
        (folder / f"empty{number:02d}.txt").write_bytes(b"")
    return folder


def test_on_a_terminal_stderr_shows_a_progress_bar(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(150))
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [installed_command(), "index", "--jobs", "1", "--index", str(tmp_path / "index"), str(corpus)],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"},
    )
    os.close(terminal)
    shown = read_terminal(controller)
    assert process.wait(timeout=60) == 0
    assert process.stdout.read() == b""
    assert ANSI in shown
    assert re.search(rb"indexing\s.*\d+/150", shown), shown[-2000:]
    assert b"added 150, updated 0, removed 0, unchanged 0, skipped 0; 150 articles in the index" in shown


def test_in_a_pipe_stderr_has_no_progress_only_the_summary(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(150))
    result = run_index(tmp_path, str(corpus))
    assert result.returncode == 0
    assert result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        f"archsearch: new index at {tmp_path / 'index'}",
        "added 150, updated 0, removed 0, unchanged 0, skipped 0; 150 articles in the index",
    ]
    again = run_index(tmp_path)
    assert again.stderr == b"added 0, updated 0, removed 0, unchanged 150, skipped 0; 150 articles in the index\n"


def test_quiet_prints_nothing_at_all(tmp_path):
    corpus = junk_corpus(tmp_path / "corpus", good=3, empty=2)
    result = run_index(tmp_path, "--quiet", str(corpus))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_skipped_files_are_listed_up_to_ten_unless_verbose(tmp_path):
    corpus = junk_corpus(tmp_path / "corpus", good=3, empty=12)
    lines = run_index(tmp_path, str(corpus)).stderr.decode().splitlines()[1:]  # after "new index at"
    assert lines[:10] == [f"archsearch: skipped {corpus}/empty{number:02d}.txt: empty file" for number in range(10)]
    assert lines[10:] == [
        "archsearch: 2 more skipped files and warnings not shown",
        "added 3, updated 0, removed 0, unchanged 0, skipped 12 (see --verbose); 3 articles in the index",
    ]
    verbose = run_index(tmp_path, "--verbose").stderr.decode().splitlines()
    assert len([line for line in verbose if line.startswith("archsearch: skipped")]) == 12
    assert verbose[-1] == "added 0, updated 0, removed 0, unchanged 3, skipped 12; 3 articles in the index"


def test_verbose_names_every_file_added_updated_or_removed(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(3))
    run_index(tmp_path, str(corpus))
    first, second, third = sorted(corpus.rglob("*.txt"))
    first.write_text(first.read_text(encoding="utf-8") + " Walruses.", encoding="utf-8")
    second.unlink()
    write_corpus(corpus, numbered_articles(1, start=7))
    lines = run_index(tmp_path, "--verbose").stderr.decode().splitlines()
    assert sorted(lines[:-1]) == sorted([
        f"updated {first}",
        f"removed {second}",
        f"added {corpus}/000/article00007.txt",
    ])
    assert lines[-1] == "added 1, updated 1, removed 1, unchanged 1, skipped 0; 3 articles in the index"


def test_quiet_and_verbose_together_is_a_usage_error(tmp_path):
    result = run_index(tmp_path, "--quiet", "--verbose")
    assert result.returncode == 2
    assert result.stderr.decode().startswith("archsearch: error: --quiet and --verbose cannot be used together")


def test_forgetting_through_the_command(tmp_path):
    one = write_corpus(tmp_path / "one", numbered_articles(2))
    two = write_corpus(tmp_path / "two", numbered_articles(3, start=10))
    assert run_index(tmp_path, str(one), str(two)).returncode == 0
    result = run_index(tmp_path, "--forget", str(two))
    assert result.returncode == 0
    assert result.stderr.decode() == "added 0, updated 0, removed 3, unchanged 2, skipped 0; 2 articles in the index\n"
    unknown = run_index(tmp_path, "--forget", str(tmp_path / "three"))
    assert unknown.returncode == 2
    assert unknown.stderr.decode() == f"archsearch: error: the index does not cover {tmp_path / 'three'} (it covers: {one})\n"


def test_the_quick_start_leaves_the_users_own_index_alone(tmp_path):
    import shlex
    import shutil

    from conftest import REPO, SEEDS

    line = next(line.strip() for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("    python3 -m venv .venv"))
    steps = [shlex.split(step) for step in line.split(" && ")]
    commands = [step[1:] for step in steps if step[0] == ".venv/bin/archsearch"]
    assert [command[0] for command in commands] == ["index", "query"]
    shutil.copytree(SEEDS, tmp_path / "seeds")
    (tmp_path / ".venv").mkdir()
    environment = {key: value for key, value in os.environ.items() if key != "ARCHSEARCH_INDEX"}
    environment.update(XDG_DATA_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "home"), ARCHSEARCH_SERVER="off")
    results = [subprocess.run([installed_command(), *command], cwd=tmp_path, env=environment, capture_output=True,
                              timeout=60) for command in commands]
    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    assert b"Central" in results[1].stdout
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()
    assert (tmp_path / ".venv" / "demo-index").is_dir()


def index_in_a_removed_folder(tmp_path, *args) -> subprocess.CompletedProcess:
    """`archsearch index ARGS` run in a folder removed before it starts (the archsearch under test)."""
    import sys

    import archsearch

    gone = tmp_path / "gone"
    gone.mkdir()

    def enter_then_remove():
        os.chdir(gone)
        os.rmdir(gone)

    code = f"import sys; sys.argv = ['archsearch', 'index', *{list(args)!r}]; from archsearch.client import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, preexec_fn=enter_then_remove,
        env={**os.environ, "PYTHONPATH": os.path.dirname(archsearch.__path__[0]), "ARCHSEARCH_SERVER": "off"},
    )


def test_index_run_in_a_removed_folder_says_so_of_a_relative_path(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(3))
    for args in (["--index", "index", str(corpus)], ["--index", str(tmp_path / "index"), "corpus"]):
        result = index_in_a_removed_folder(tmp_path, *args)
        relative = args[1] if args[1] == "index" else args[2]
        assert (result.returncode, result.stderr) == (2, (
            f"archsearch: error: cannot find {relative}: the folder this command runs in was removed "
            "(cd to another, or give a full path)\n"
        ))


def test_index_run_in_a_removed_folder_indexes_full_paths_with_its_workers(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(200))  # 100 files a worker: two of them
    result = index_in_a_removed_folder(tmp_path, "--jobs", "2", "--index", str(tmp_path / "index"), str(corpus))
    assert result.returncode == 0, result.stderr
    assert "200 articles in the index" in result.stderr
