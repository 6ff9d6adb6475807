"""Output as other programs and terminals see it: the real installed command, through pipes and a pty."""

import json
import os
import pty
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


@pytest.fixture
def seeded(run_installed):
    assert run_installed("index", str(SEEDS)).returncode == 0
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
        "type", "rank", "id", "path", "title", "date", "source", "place", "section", "language", "score", "copies", "title_matches",
        "snippets",
    }
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
        "rank", "score", "date", "source", "place", "section", "language", "title", "id", "path", "snippet"
    ]
    rows = [line.split("\t") for line in lines[1:] if line]
    assert len(rows) == 4
    assert all(len(row) == 11 for row in rows)
    assert any(row[8] == "tab\\tname.txt" for row in rows)
    assert any(row[8] == 'quote"and\\\\backslash.txt' for row in rows)


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


def test_broken_pipe_is_quiet(run_installed, tmp_path, index_dir):
    corpus = write_corpus(
        tmp_path / "many",
        {f"{n:03}.txt": wire("2020-01-01", "ROME, Jan 1. /ANSA/.", "Pasta " * 200 + f"story {n}.") for n in range(300)},
    )
    assert run_installed("index", str(corpus)).returncode == 0
    environment = {**os.environ, "ARCHSEARCH_INDEX": str(index_dir)}
    for args in ("-n 0 pasta", "--json -n 0 pasta", "-l pasta", "--color always -n 0 pasta"):
        piped = subprocess.run(
            f"'{installed_command()}' query {args} | head -1",
            shell=True, capture_output=True, env=environment, timeout=60,
        )
        assert piped.stderr == b"", (args, piped.stderr)
        assert len(piped.stdout.splitlines()) == 1


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
