"""Output as other programs and terminals see it: the real installed command, through pipes and a pty."""

import fcntl
import json
import os
import pty
import shutil
import subprocess
import sys

import pytest

from conftest import SEEDS, WEB_SEED, WIRE_SEED, installed_command, read_terminal, web, wire, write_corpus

ANSI = b"\x1b["

ODD_ARTICLES = {
    "with space/a file with spaces.txt": wire("2021-03-01", "PARIS, March 1. /AFP/.", "Zebras escaped from the zoo."),
    "quote\"and\\backslash.txt": wire("2021-03-02", "LYON, March 2. /AFP/.", "Zebras were found in a park."),
    "tab\tname.txt": web("World", "Zebras, \x1b[31mred\x1b[0m and\tstriped", "Odd Site", "PARIS: More zebras, ☃ and ünïcödé."),
}


@pytest.fixture(scope="module")
def seeds_index(tmp_path_factory):
    """The seed corpus indexed once for the module's tests, each of which gets a copy."""
    from archsearch.indexing import update_index

    index = tmp_path_factory.mktemp("seeds") / "index"
    update_index(index, [str(SEEDS)])
    return index


@pytest.fixture
def seeded(run_installed, seeds_index, index_dir):
    shutil.copytree(seeds_index, index_dir)
    return run_installed


@pytest.fixture
def odd(run_installed, tmp_path):
    corpus = write_corpus(tmp_path / "odd", ODD_ARTICLES)
    os.makedirs(corpus / "bytes", exist_ok=True)
    with open(os.path.join(os.fsencode(corpus / "bytes"), b"caf\xe9.txt"), "w", encoding="latin-1") as stream:
        stream.write(" date 2021-03-03 NICE, March 3. /AFP/. Zebras in a caf\xe9.")
    indexed = run_installed("index", str(corpus))
    assert indexed.returncode == 0, indexed.stderr
    return run_installed


def run_on_terminal(args, env_overrides, index_dir, tmp_path):
    """Run the command with stdout on a pseudo-terminal, as a person at a terminal would."""
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update({"ARCHSEARCH_INDEX": str(index_dir), "TERM": "xterm-256color", **env_overrides})
    controller, terminal = pty.openpty()
    process = subprocess.Popen([installed_command(), *args], stdout=terminal, stderr=subprocess.PIPE, env=environment)
    os.close(terminal)
    output = read_terminal(controller)
    process.wait(timeout=60)
    return process.returncode, output


def test_terminal_output_is_coloured(seeded, index_dir, tmp_path):
    status, output = run_on_terminal(["query", "Taliban"], {}, index_dir, tmp_path)
    assert status == 0
    assert ANSI in output
    assert b"**" not in output


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"NO_COLOR": ""}, {"TERM": "dumb"}])
def test_no_color_and_dumb_terminals_get_no_escape_codes(seeded, index_dir, tmp_path, env):
    status, output = run_on_terminal(["query", "Taliban"], env, index_dir, tmp_path)
    assert status == 0
    assert ANSI not in output
    assert b"**Taliban**" in output


def test_color_never_on_a_terminal(seeded, index_dir, tmp_path):
    assert ANSI not in run_on_terminal(["query", "--color", "never", "Taliban"], {}, index_dir, tmp_path)[1]


def test_json_on_a_terminal_is_never_coloured(seeded, index_dir, tmp_path):
    status, output = run_on_terminal(["query", "--json", "--color", "always", "Taliban"], {}, index_dir, tmp_path)
    assert ANSI not in output
    assert all(json.loads(line) for line in output.decode().splitlines())


def test_pipe_gets_plain_text_with_marked_matches(seeded):
    result = seeded("query", "ISIS", "Central", "Asia")
    assert result.returncode == 0
    assert ANSI not in result.stdout
    assert b"**Central** **Asia**" in result.stdout


def test_color_always_colours_a_pipe(seeded):
    assert ANSI in seeded("query", "--color", "always", "Taliban").stdout


def test_exit_status_follows_ripgrep(seeded):
    assert seeded("query", "Taliban").returncode == 0
    nothing = seeded("query", "zebra")
    assert (nothing.returncode, nothing.stdout) == (1, b"")
    broken = seeded("query", "date:2021-13")
    assert broken.returncode == 2 and broken.stdout == b""
    assert seeded("query", "-c", "zebra").returncode == 1


def test_json_lines_schema(seeded):
    result = seeded("query", "--json", "Taliban")
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    hits, summary = records[:-1], records[-1]
    assert [hit["type"] for hit in hits] == ["hit", "hit"]
    assert summary["type"] == "summary"
    assert (summary["total"], summary["shown"], summary["offset"]) == (2, 2, 0)
    assert summary["elapsed_ms"] > 0
    first = hits[0]
    assert set(first) == {
        "type", "rank", "id", "path", "title", "date", "source", "place", "section", "score", "copies", "title_matches",
        "snippets", "url", "author", "language", "format", "fetched",
    }
    assert (first["format"], first["url"], first["fetched"]) == ("text", "", None)
    assert first["id"] == WIRE_SEED and first["path"] == str(SEEDS / WIRE_SEED)
    assert first["date"] == "2021-12-10" and hits[1]["date"] is None
    assert [hit["rank"] for hit in hits] == [1, 2]
    for hit in hits:
        for snippet in hit["snippets"]:
            assert snippet["field"] == "body"
            assert [snippet["text"][a:b].lower() for a, b in snippet["matches"]] == ["taliban"] * len(snippet["matches"])
        assert [hit["title"][a:b] for a, b in hit["title_matches"]] in ([], ["Taliban"])


def test_json_survives_odd_titles_and_paths(odd):
    result = odd("query", "--json", "-n", "0", "zebras")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    hits = [record for record in records if record["type"] == "hit"]
    assert len(hits) == 4
    assert records[-1]["total"] == 4
    by_id = {hit["id"]: hit for hit in hits}
    assert by_id["tab\tname.txt"]["title"] == "Zebras, \x1b[31mred\x1b[0m and striped"
    undecodable = [hit for hit in hits if "path_bytes" in hit]
    assert len(undecodable) == 1
    import base64

    assert base64.b64decode(undecodable[0]["path_bytes"]).endswith(b"/bytes/caf\xe9.txt")


def test_plain_output_neutralises_escape_sequences_from_articles(odd):
    result = odd("query", "striped")
    assert ANSI not in result.stdout
    assert "Zebras, \ufffd[31mred\ufffd[0m and **striped**" in result.stdout.decode()


def test_tsv_has_a_header_and_escapes_tabs_and_newlines(odd):
    result = odd("query", "--format", "tsv", "-n", "0", "zebras")
    lines = result.stdout.decode().split("\n")
    assert lines[0].split("\t") == [
        "rank", "score", "date", "source", "place", "section", "title", "id", "path", "snippet",
        "url", "author", "language", "format", "fetched",
    ]
    rows = [line.split("\t") for line in lines[1:] if line]
    assert len(rows) == 4
    assert all(len(row) == 15 for row in rows)
    assert any(row[7] == "tab\\tname.txt" for row in rows)
    assert any(row[7] == 'quote"and\\\\backslash.txt' for row in rows)


def test_files_with_matches_and_null_feed_xargs(odd, index_dir, tmp_path):
    environment = {**os.environ, "ARCHSEARCH_INDEX": str(index_dir)}
    count_files = f"'{sys.executable}' -c 'import os, sys; print(sum(map(os.path.isfile, sys.argv[1:])))'"
    listed = subprocess.run(
        f"'{installed_command()}' query -l -0 zebras | xargs -0 {count_files}",
        shell=True, capture_output=True, env=environment, timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == b"4\n"  # every file arrives whole: spaces, tabs and odd bytes in names included
    newline_list = subprocess.run(
        [installed_command(), "query", "-l", "zebras"], capture_output=True, env=environment, timeout=60
    )
    paths = newline_list.stdout.split(b"\n")[:-1]
    assert len(paths) == 4 and all(os.path.exists(path) for path in paths)


def test_count_prints_the_number_of_matching_articles(seeded):
    result = seeded("query", "-c", "Afghanistan")
    assert (result.returncode, result.stdout) == (0, b"2\n")


def test_null_without_files_is_an_error(seeded):
    result = seeded("query", "-0", "Taliban")
    assert result.returncode == 2 and b"-0/--null only goes with -l" in result.stderr


@pytest.fixture(scope="module")
def big_index(tmp_path_factory):
    """Output far larger than a pipe holds from every command: 300 folders of one article each,
    300 sources, three centuries of dates and one long article."""
    from archsearch.indexing import update_index

    root = tmp_path_factory.mktemp("big")
    folders = [
        write_corpus(
            root / f"folder {n:03} with a name long enough to fill a pipe",
            {f"{n:03}.txt": wire(f"{1700 + n}-01-01", f"ROME, Jan 1. /Agency {n:03} Wire Service/.", f"Pasta story {n}.")},
        )
        for n in range(300)
    ]
    (folders[0] / "000.txt").write_text(wire("2000-01-01", "ROME, Jan 1. /ANSA/.", "Pasta " * 30000), encoding="utf-8")
    update_index(root / "index", [str(folder) for folder in folders])
    return root / "index"


def read_a_line_and_close(args, index_dir):
    """Run the command into a pipe that takes one line and is closed, as `| head -1` does.

    The pipe is shrunk to one page, so every command's output overflows it and the write after the
    reader left fails every time, not only when the reader wins a race."""
    environment = {**os.environ, "ARCHSEARCH_INDEX": str(index_dir), "ARCHSEARCH_SERVER": "off"}
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    process = subprocess.Popen([installed_command(), *args], stdout=write_end, stderr=subprocess.PIPE, env=environment)
    os.close(write_end)
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(read_end, 1)
        if not byte:
            break
        line += byte
    os.close(read_end)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, line, stderr


FORMATS = ([], ["--json"], ["--format", "tsv"], ["--color", "always"])
CLOSED_PIPE_COMMANDS = [
    *(["query", "-n", "0", "pasta", *fmt] for fmt in FORMATS),
    ["query", "-l", "pasta"],
    ["query", "-l", "-0", "pasta"],
    *(["timeline", "--by", "month", "pasta", *fmt] for fmt in FORMATS),
    *(["sources", "pasta", *fmt] for fmt in FORMATS),
    *(["show", "000.txt", *fmt] for fmt in FORMATS),
    *(["similar", "-n", "0", "001.txt", *fmt] for fmt in FORMATS),
    *(["stats", *fmt] for fmt in FORMATS),
    ["--help"],
]


@pytest.mark.parametrize("args", ["-n 0 pasta", "--json -n 0 pasta", "-l pasta", "--color always -n 0 pasta"])
def test_piping_into_head_succeeds_under_pipefail(big_index, args):
    """What a script does, with the pipe as the shell makes it: the reader may win or lose the race."""
    environment = {**os.environ, "ARCHSEARCH_INDEX": str(big_index), "ARCHSEARCH_SERVER": "off"}
    for _ in range(3):
        piped = subprocess.run(
            ["bash", "-o", "pipefail", "-c", f"'{installed_command()}' query {args} | head -1"],
            capture_output=True, env=environment, timeout=60,
        )
        assert (piped.returncode, piped.stderr, len(piped.stdout.splitlines())) == (0, b"", 1), args


@pytest.mark.parametrize("args", CLOSED_PIPE_COMMANDS, ids=" ".join)
def test_a_reader_that_goes_away_ends_the_command_with_status_0(big_index, args):
    status, line, stderr = read_a_line_and_close(args, big_index)
    assert line  # the command did write
    assert (status, stderr) == (0, b"")


@pytest.mark.parametrize("args", [["query", "Taliban"], ["query", "Taliban", "--json"], ["sources"], ["--help"]], ids=" ".join)
def test_a_closed_standard_output_is_one_error_line(seeded, index_dir, args):
    """Started with `>&-`: one line on stderr and status 2, not a traceback."""
    environment = {**os.environ, "ARCHSEARCH_INDEX": str(index_dir), "ARCHSEARCH_SERVER": "off"}
    done = subprocess.run(
        ["bash", "-c", f"'{installed_command()}' {' '.join(args)} >&-"], capture_output=True, env=environment, timeout=60,
    )
    assert (done.returncode, done.stderr) == (2, b"archsearch: error: standard output is closed\n")


def test_show_prints_an_article_by_id_or_path(seeded):
    by_id = seeded("show", WEB_SEED)
    assert by_id.returncode == 0
    text = by_id.stdout.decode()
    assert text.startswith("title: ISIS loyalists as active as ever in Afghanistan: Russian Foreign Ministry\n")
    assert "date: undated\n" in text and "source: Pashtun Times\n" in text
    assert "Central Asia" in text and "Check Also" not in text
    by_path = seeded("show", str(SEEDS / WIRE_SEED), "--json")
    record = json.loads(by_path.stdout)
    assert (record["type"], record["id"], record["date"], record["source"]) == ("article", WIRE_SEED, "2021-12-10", "TASS")
    assert record["body"].startswith("KABUL, December 10. /TASS/. The Taliban")


def test_show_and_similar_find_a_file_whose_name_is_not_utf8(odd, tmp_path):
    path = os.path.join(os.fsencode(tmp_path / "odd" / "bytes"), b"caf\xe9.txt")
    shown = odd("show", "--json", os.fsdecode(path))
    assert shown.returncode == 0, shown.stderr
    assert "Zebras in a caf\u00e9." in json.loads(shown.stdout)["body"]
    assert odd("similar", os.fsdecode(path)).returncode in (0, 1)


def test_show_unknown_article_is_an_error(seeded):
    result = seeded("show", "nope.txt")
    assert result.returncode == 2
    assert result.stderr == b"archsearch: error: no article with id or path 'nope.txt' in the index\n"


BIDI_AND_ESCAPES = "\u202e\u2066\u200f\u061c\x1b[31m\x1b]0;title\x07"
UNSAFE_ON_A_TERMINAL = [b"\x1b", *(char.encode() for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")]
# Right-to-left text uses these with reason; only names lose them.
BIDI_MARKS = [char.encode() for char in "\u200e\u200f\u061c"]


@pytest.fixture
def unsafe_names(run_installed, tmp_path):
    """Files whose names hold escape sequences and bidi controls, one of them empty (so skipped)."""
    corpus = write_corpus(
        tmp_path / "unsafe",
        {
            f"evil{BIDI_AND_ESCAPES}.txt": wire("2021-03-01", "PARIS, March 1. /AFP/.", "Zebras escaped."),
            "title.txt": wire("2021-03-02", "PARIS, March 2. /AFP/.", f"Zebras{BIDI_AND_ESCAPES} seen."),
            f"empty{BIDI_AND_ESCAPES}.txt": "",
        },
    )
    indexed = run_installed("index", str(corpus))
    assert indexed.returncode == 0, indexed.stderr
    return corpus, indexed


def shows_nothing_unsafe(output: bytes, names_only: bool = True) -> bool:
    unsafe = UNSAFE_ON_A_TERMINAL + (BIDI_MARKS if names_only else [])
    return not any(sequence in output for sequence in unsafe)


def test_file_names_reach_a_terminal_made_safe_and_a_pipe_byte_exact(unsafe_names, run_installed, index_dir, tmp_path):
    corpus, _ = unsafe_names
    evil = os.fsencode(corpus / f"evil{BIDI_AND_ESCAPES}.txt")
    for args in (["query", "-l", "escaped"], ["query", "-l", "-0", "escaped"]):
        status, shown = run_on_terminal(args, {}, index_dir, tmp_path)
        assert status == 0
        assert shows_nothing_unsafe(shown)
        assert b"evil\xef\xbf\xbd" in shown
    assert run_installed("query", "-l", "escaped").stdout == evil + b"\n"
    assert run_installed("query", "-l", "-0", "escaped").stdout == evil + b"\0"


@pytest.mark.parametrize("fmt", [[], ["--color", "always"]])
def test_names_and_text_in_results_reach_a_terminal_made_safe(unsafe_names, index_dir, tmp_path, fmt):
    # --no-pager: what is checked is archsearch's own output, not a pager's screen handling.
    for args in (["query", "zebras", *fmt], ["show", f"evil{BIDI_AND_ESCAPES}.txt", "--no-pager", *fmt]):
        status, shown = run_on_terminal(args, {}, index_dir, tmp_path)
        assert status == 0
        assert b"\xef\xbf\xbd" in shown
        # Control sequences of its own only (colour): none from a name or an article.
        assert shows_nothing_unsafe(shown.replace(b"\x1b[", b""), names_only=False) and b"\x1b]" not in shown
        assert f"evil\ufffd\ufffd\ufffd\ufffd\ufffd[31m\ufffd]0;title\ufffd.txt".encode() in shown


def test_right_to_left_marks_stay_in_article_text():
    from archsearch.rendering import printable, printable_name

    arabic = "\u0643\u0627\u0628\u0644\u200f (Kabul)"
    assert printable(arabic) == arabic
    assert printable_name(arabic) == arabic.replace("\u200f", "\ufffd")
    assert printable("a\u202eb\u2067c") == "a\ufffdb\ufffdc"


def test_warnings_and_errors_quoting_names_are_made_safe(unsafe_names, run_installed):
    _, indexed = unsafe_names
    assert b"skipped" in indexed.stderr
    assert shows_nothing_unsafe(indexed.stderr)
    missing = run_installed("show", f"nope{BIDI_AND_ESCAPES}.txt")
    assert missing.returncode == 2
    assert missing.stderr.startswith(b"archsearch: error: no article with id or path 'nope\xef\xbf\xbd")
    assert shows_nothing_unsafe(missing.stderr)


MARKUP_ARTICLES = {
    "a.txt": wire("2021-03-01", "PARIS (Agency [/] One) -", "Zebras escaped."),
    "b.txt": wire("2021-03-02", "PARIS (Agency [red] Two) -", "Zebras seen."),
}


def test_names_that_look_like_rich_markup_are_shown_as_written(run_installed, tmp_path):
    folders = [write_corpus(tmp_path / name, MARKUP_ARTICLES) for name in ("closing [/] tag", "[red]colour", "[bold")]
    assert run_installed("index", *map(str, folders)).returncode == 0
    stats = run_installed("stats", "--color", "always", env={"COLUMNS": "500"})  # no folder wrapped
    assert stats.returncode == 0, stats.stderr
    text = stats.stdout.decode()
    assert all(str(folder) in text for folder in folders)
    assert "\x1b[31m" not in text
    sources = run_installed("sources", "--color", "always", "zebras")
    assert sources.returncode == 0, sources.stderr
    assert "Agency [/] One" in sources.stdout.decode() and "Agency [red] Two" in sources.stdout.decode()
    assert b"\x1b[31m" not in sources.stdout
