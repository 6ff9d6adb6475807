"""Real, messy folders: each kind of junk is skipped, or indexed with a warning, naming the file
and the reason, and every good article is still indexed. Run through the installed command."""

import os
import subprocess
import sys
from pathlib import Path


from conftest import installed_command, wire, write_corpus
from test_indexing import index_state, numbered_articles



def without_root_read_override() -> None:
    """Drop root's right to read any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) in a child."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0):  # PR_CAPBSET_DROP: gone after exec
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


# Run as root, a file without read permission would be read anyway.
AS_ORDINARY_USER = {"preexec_fn": without_root_read_override} if os.geteuid() == 0 else {}


def index_command(base: Path, *args, **kwargs):
    return subprocess.run(
        [installed_command(), "index", "--index", str(base / "index"), *args],
        capture_output=True,
        env={**os.environ, "XDG_DATA_HOME": str(base / "xdg")},
        timeout=60,
        **kwargs,
    )


def test_junk_is_skipped_with_its_reason_and_good_articles_are_indexed(tmp_path):
    base = tmp_path
    corpus = write_corpus(base / "corpus", numbered_articles(3))
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "blank.txt").write_text("\n \n\t\n", encoding="utf-8")
    (corpus / "image.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" * 50)
    (corpus / "latin1.txt").write_bytes(" date 2021-03-03 NICE, March 3. /AFP/. Zebras in a caf\xe9.".encode("latin-1"))
    (corpus / "bad-date.txt").write_text(" date 2021-13-45 OSLO, March 1. /NTB/. Zebras again.", encoding="utf-8")
    (corpus / "locked.txt").write_text(wire("2021-03-04", "OSLO, March 4. /NTB/.", "Locked."), encoding="utf-8")
    (corpus / "locked.txt").chmod(0)
    os.mkfifo(corpus / "pipe.txt")  # opening it to read would wait forever
    (corpus / "loop").symlink_to(corpus)
    (corpus / "ping.txt").symlink_to(corpus / "pong.txt")
    (corpus / "pong.txt").symlink_to(corpus / "ping.txt")
    (corpus / "dangling.txt").symlink_to(corpus / "nowhere.txt")

    result = index_command(base, str(corpus), **AS_ORDINARY_USER)

    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    expected = {
        "empty.txt": "skipped {}: empty file",
        "blank.txt": "skipped {}: empty file",
        "image.jpg": "skipped {}: unsupported format: jpg",
        "locked.txt": "skipped {}: permission denied",
        "pipe.txt": "skipped {}: not a regular file",
        "loop": "skipped {}: symbolic link loop",
        "ping.txt": "skipped {}: symbolic link loop",
        "pong.txt": "skipped {}: symbolic link loop",
        "dangling.txt": "skipped {}: broken symbolic link",
        "bad-date.txt": "warning: {}: malformed date line: '2021-13-45'",
    }
    for name, line in expected.items():
        assert f"archsearch: {line.format(corpus / name)}" in lines
    assert lines[-1] == "added 5, updated 0, removed 0, unchanged 0, skipped 9; 5 articles in the index"
    assert {Path(key).name for key in index_state(base / "index")} == {
        "article00000.txt", "article00001.txt", "article00002.txt", "latin1.txt", "bad-date.txt"
    }


def test_a_50_mb_file_is_indexed_from_its_start_in_bounded_memory(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    line = "The minister said talks on the ceasefire would resume in Geneva next week.\n"
    (corpus / "huge.txt").write_text(" date 2021-01-01 OSLO, Jan 1. /NTB/. " + line * (50_000_000 // len(line)))
    # The largest resident size of the command and its children, measured by a parent of its own.
    measure = (
        "import resource, subprocess, sys; result = subprocess.run(sys.argv[1:], capture_output=True); "
        "sys.stdout.write(f'{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n'); "
        "sys.stderr.buffer.write(result.stderr); sys.exit(result.returncode)"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure, installed_command(), "index", "-j", "1", "--index", str(tmp_path / "index"), str(corpus)],
        capture_output=True,
        # A guard against a hang, not a speed check (bench/ has those): ~12 s of CPU, which took
        # 56-133 s of wall beside other test suites on 2 cores.
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"warning: {corpus / 'huge.txt'}: file truncated to first 8 MiB for indexing" in result.stderr.decode()
    peak_kib = int(result.stdout)
    assert peak_kib < 512 * 1024, f"peak resident size {peak_kib // 1024} MiB"


def test_a_folder_of_nothing_but_junk_is_an_error(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "image.jpg").write_bytes(b"\x00" * 100)
    result = index_command(tmp_path, str(corpus))
    assert result.returncode == 2
    assert result.stderr.decode().splitlines()[-1] == (
        f"archsearch: error: none of the 2 files found could be indexed; no index was made at {tmp_path / 'index'}"
    )


def test_an_empty_folder_is_not_an_error(tmp_path):
    (tmp_path / "corpus").mkdir()
    result = index_command(tmp_path, str(tmp_path / "corpus"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().endswith("skipped 0; 0 articles in the index\n")


def test_an_unreadable_subfolder_keeps_its_articles(tmp_path):
    base = tmp_path
    corpus = write_corpus(base / "corpus", numbered_articles(45))  # 40 in 000/, 5 in 001/
    assert index_command(base, str(corpus)).returncode == 0
    (corpus / "001").chmod(0)
    try:
        result = index_command(base, **AS_ORDINARY_USER)
    finally:
        (corpus / "001").chmod(0o755)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.decode().splitlines()
    assert f"archsearch: skipped {corpus / '001'}: cannot read the folder: permission denied" in lines
    assert lines[-1] == "added 0, updated 0, removed 0, unchanged 45, skipped 1; 45 articles in the index"


def test_file_names_that_are_not_utf8_are_indexed_and_findable(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    name = os.path.join(os.fsencode(corpus), b"caf\xe9.txt")
    with open(name, "w", encoding="utf-8") as stream:
        stream.write(wire("2021-03-03", "NICE, March 3. /AFP/.", "Zebras in a cafe."))
    assert index_command(tmp_path, str(corpus)).returncode == 0
    assert list(index_state(tmp_path / "index")) == [os.fsdecode(name)]
    from archsearch.searching import search

    assert [hit.path for hit in search(tmp_path / "index", "zebras").hits] == [os.fsdecode(name)]
    os.remove(name)
    result = index_command(tmp_path)
    assert result.stderr.decode().splitlines()[-1].startswith("added 0, updated 0, removed 1,")


def test_an_index_that_cannot_be_written_is_a_clear_error(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(2))
    assert index_command(tmp_path, str(corpus)).returncode == 0
    write_corpus(corpus, numbered_articles(1, start=5))
    (tmp_path / "index").chmod(0o555)
    try:
        result = index_command(tmp_path, "--jobs", "1", **AS_ORDINARY_USER)
    finally:
        (tmp_path / "index").chmod(0o755)
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"archsearch: error: cannot update the index at {tmp_path / 'index'}: ")
    assert "permission denied" in lines[0] or "read-only" in lines[0]


def test_a_lone_combining_mark_between_spaces_is_indexed_with_its_article(tmp_path):
    # `exact` keeps such a mark as an empty word, which the prefix entries once failed on,
    # taking the whole batch with it
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(2))
    (corpus / "mark.txt").write_text(wire("2021-03-05", "OSLO, March 5. /NTB/.", "Zebras \u0300 grazing."), encoding="utf-8")

    result = index_command(tmp_path, str(corpus))

    assert result.returncode == 0, result.stderr
    assert len(index_state(tmp_path / "index")) == 3
    found = subprocess.run(
        [installed_command(), "query", "--index", str(tmp_path / "index"), "-l", "grazing"],
        capture_output=True, env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "ARCHSEARCH_SERVER": "off"},
        timeout=60,
    )
    assert found.stdout.decode().split() == [str(corpus / "mark.txt")], found.stderr
