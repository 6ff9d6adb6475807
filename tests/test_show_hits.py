"""`show @N` (and `similar @N`): the hits of the last query, remembered per user and per index;
`show --query` highlighting; `show` through the pager at a terminal, and never elsewhere."""

import json
import marshal
import os
import pty
import stat
import subprocess

import pytest

from archsearch import lasthits
from conftest import installed_command, read_terminal, wire, write_corpus

FEED = "\n".join(
    json.dumps(record)
    for record in (
        {"title": "Ceasefire holds in Kunduz", "date": "2021-12-10", "url": "https://wire.example/1",
         "body": "KUNDUZ (Reuters) - Fighting stopped overnight in Kunduz.\n\nResidents returned home."},
        {"title": "Talks in Doha", "date": "2021-12-11", "body": "DOHA - Envoys met again about Kunduz."},
    )
) + "\n"


@pytest.fixture
def corpus_index(tmp_path, index_dir):
    """Two folders that both hold the id same/n.txt, and a JSON Lines export of two articles."""
    from archsearch.indexing import update_index

    first = write_corpus(tmp_path / "a", {
        "same/n.txt": wire("2021-12-01", "KABUL, December 1. /TASS/.", "Kunduz talks began in the north."),
        "feed.jsonl": FEED,
    })
    second = write_corpus(tmp_path / "b", {
        "same/n.txt": wire("2021-12-02", "HERAT, December 2. /TASS/.", "Herat markets reopened, far from Kunduz."),
    })
    update_index(index_dir, [str(first), str(second)])
    return index_dir


def remembered(index_dir) -> dict:
    return marshal.loads(lasthits.state_file(index_dir).read_bytes())


def ranked(run_cli, *words) -> list[tuple[str, str]]:
    """(path, title) of the hits the query lists, in rank order."""
    listed = run_cli("query", "--json", *words)
    assert listed.exit_code == 0, listed.output
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    return [(record["path"], record["title"]) for record in records if record["type"] == "hit"]


def shown(run_cli, *args) -> tuple[str, str]:
    result = run_cli("show", *args, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    return record["path"], record["title"]


def test_show_at_n_is_the_nth_hit_of_the_last_query(corpus_index, run_cli, tmp_path):
    hits = ranked(run_cli, "Kunduz", "--sort", "oldest")
    assert len(hits) == 4
    state = remembered(corpus_index)
    assert state["query"] == "Kunduz"
    assert [rank for rank, _ in state["hits"]] == [1, 2, 3, 4]
    assert lasthits.state_file(corpus_index).parent == tmp_path / "state" / "archsearch"
    assert [shown(run_cli, f"@{number}") for number in (1, 2, 3, 4)] == hits


def test_at_n_names_the_very_article_when_folders_share_its_id(corpus_index, run_cli, tmp_path):
    run_cli("query", "Herat")
    shown = run_cli("show", "@1", "--format", "plain")
    assert shown.exit_code == 0
    assert f"path: {tmp_path / 'b' / 'same' / 'n.txt'}" in shown.stdout
    assert run_cli("show", "same/n.txt").exit_code == 2  # the id alone is ambiguous


def test_at_n_names_a_record_of_a_container(corpus_index, run_cli):
    run_cli("query", "Doha")
    assert remembered(corpus_index)["hits"][0][1].endswith("feed.jsonl#2")
    shown = run_cli("show", "@1", "--format", "plain")
    assert shown.exit_code == 0
    assert "title: Talks in **Doha**" in shown.stdout


def test_at_n_counts_ranks_as_the_query_printed_them(corpus_index, run_cli):
    hits = ranked(run_cli, "Kunduz", "--sort", "oldest")
    run_cli("query", "Kunduz", "--sort", "oldest", "--offset", "2")
    assert [rank for rank, _ in remembered(corpus_index)["hits"]] == [3, 4]
    assert shown(run_cli, "@3") == hits[2]
    beyond = run_cli("show", "@2")
    assert beyond.exit_code == 2
    assert beyond.stderr == "archsearch: error: @2: the last query, 'Kunduz', listed hits 3-4\n"


def test_show_at_n_highlights_the_remembered_query_in_title_and_body(corpus_index, run_cli):
    run_cli("query", "ceasefire", "fighting")
    shown = run_cli("show", "@1", "--format", "plain")
    assert "title: **Ceasefire** holds in Kunduz" in shown.stdout
    assert "**Fighting** stopped overnight" in shown.stdout
    # --query replaces the remembered words; JSON stays the article as stored.
    other = run_cli("show", "@1", "--format", "plain", "--query", "Kunduz")
    assert "title: Ceasefire holds in **Kunduz**" in other.stdout and "**Fighting**" not in other.stdout
    assert "**" not in json.loads(run_cli("show", "@1", "--json").stdout)["body"]


def test_show_query_highlights_an_article_named_by_id(corpus_index, run_cli):
    shown = run_cli("show", "feed.jsonl#1", "--format", "plain", "--query", "residents OR fight")
    assert "**Residents** returned home" in shown.stdout
    assert "**Fighting** stopped" in shown.stdout
    assert "**" not in run_cli("show", "feed.jsonl#1", "--format", "plain").stdout


def test_at_n_with_no_remembered_query_is_one_line(corpus_index, run_cli):
    for command in ("show", "similar", "open"):
        result = run_cli(command, "@1")
        assert result.exit_code == 2
        assert result.stderr == (
            "archsearch: error: no query to take @1 from: run `archsearch query` against this index first\n"
        )


def test_a_query_that_found_nothing_leaves_nothing_to_show(corpus_index, run_cli):
    assert run_cli("query", "zebra").exit_code == 1
    result = run_cli("show", "@1")
    assert (result.exit_code, result.stderr) == (2, "archsearch: error: @1: the last query, 'zebra', listed no hits\n")


def test_each_index_remembers_its_own_query(corpus_index, run_cli, tmp_path):
    from archsearch.indexing import update_index

    other = tmp_path / "other-index"
    update_index(other, [str(write_corpus(tmp_path / "c", {"x.txt": wire("2021-01-01", "ROME.", "Pasta.")}))])
    run_cli("query", "Doha")
    assert run_cli("query", "--index", str(other), "pasta").exit_code == 0
    assert "Talks in" in run_cli("show", "@1", "--format", "plain").stdout
    assert "x.txt" in run_cli("show", "--index", str(other), "@1", "--format", "plain").stdout


def test_similar_takes_at_n(corpus_index, run_cli):
    run_cli("query", "Herat")
    by_number, by_path = run_cli("similar", "@1", "--json"), run_cli("similar", remembered(corpus_index)["hits"][0][1], "--json")
    assert by_number.exit_code == by_path.exit_code
    assert by_number.stdout.splitlines()[:-1] == by_path.stdout.splitlines()[:-1]  # the summary holds a time


def test_count_only_keeps_the_hits_listed_before(corpus_index, run_cli):
    run_cli("query", "Doha")
    assert run_cli("query", "-c", "Kunduz").stdout == "4\n"
    assert remembered(corpus_index)["query"] == "Doha"


def test_an_unwritable_state_folder_only_warns(corpus_index, run_cli, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))  # mkdir fails here even for root
    result = run_cli("query", "Doha")
    assert result.exit_code == 0
    assert "Talks in" in result.stdout
    assert result.stderr.startswith(f"archsearch: warning: could not remember the hits for @N in {blocker / 'archsearch'}: ")
    assert result.stderr.count("\n") == 1


def test_an_unreadable_state_file_is_one_line(corpus_index, run_cli):
    run_cli("query", "Doha")
    lasthits.state_file(corpus_index).write_text("{not json", encoding="utf-8")
    result = run_cli("show", "@1")
    assert result.exit_code == 2
    assert result.stderr.startswith("archsearch: error: cannot read the remembered hits in ")
    assert result.stderr.endswith(": run the query again\n")


def test_remembering_replaces_the_file_whole_and_privately(tmp_path):
    index = tmp_path / "index"
    assert lasthits.remember(index, "one", [(1, "/a.txt"), (2, "/b.txt#3")]) is None
    assert lasthits.remember(index, "two", [(1, "/c.txt")]) is None
    path = lasthits.state_file(index)
    assert sorted(os.listdir(path.parent)) == [path.name]  # no temporary file left behind
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert lasthits.recall(index, 1) == lasthits.RememberedHit("/c.txt", "two")


@pytest.mark.parametrize("named_by", ["crc32", "sha256"])
def test_hits_remembered_in_json_by_an_earlier_version_are_still_found(tmp_path, named_by):
    """After an upgrade, `show @1` finds the hits of the query run before it, which versions before
    kept in JSON (named by SHA-256, then by CRC-32); the next query's hits replace that file."""
    import hashlib
    import zlib

    index = tmp_path / "index"
    key = os.fsencode(str(index))
    name = f"last-query-{zlib.crc32(key):08x}.json" if named_by == "crc32" else f"last-query-{hashlib.sha256(key).hexdigest()[:16]}.json"
    earlier = lasthits.state_dir() / name
    earlier.parent.mkdir(parents=True)
    earlier.write_text(json.dumps({"index": str(index), "query": "one", "hits": [[1, "/a.txt"], [2, "/\udcff.txt"]]}))
    assert lasthits.recall(index, 2) == lasthits.RememberedHit("/\udcff.txt", "one")
    assert lasthits.remember(index, "two", [(1, "/b.txt")]) is None
    assert lasthits.recall(index, 1) == lasthits.RememberedHit("/b.txt", "two")
    assert sorted(os.listdir(earlier.parent)) == sorted({lasthits.state_file(index).name, name} - {f"last-query-{zlib.crc32(key):08x}.json"})


def test_a_path_s_undecodable_bytes_are_remembered(tmp_path):
    index = tmp_path / "index"
    assert lasthits.remember(index, "one", [(1, "/caf\udce9.txt")]) is None
    assert lasthits.recall(index, 1) == lasthits.RememberedHit("/caf\udce9.txt", "one")


def test_another_index_whose_file_name_is_the_same_lends_no_hits(tmp_path):
    index = tmp_path / "index"
    assert lasthits.remember(tmp_path / "other", "one", [(1, "/a.txt")]) is None
    lasthits.state_file(tmp_path / "other").rename(lasthits.state_file(index))
    with pytest.raises(lasthits.ArchsearchError, match="no query to take @1 from"):
        lasthits.recall(index, 1)


def test_state_folder_follows_xdg(tmp_path):
    assert lasthits.state_dir({"XDG_STATE_HOME": str(tmp_path), "HOME": "/home/x"}) == tmp_path / "archsearch"
    assert lasthits.state_dir({"XDG_STATE_HOME": "relative", "HOME": "/home/x"}) == lasthits.Path(
        "/home/x/.local/state/archsearch"
    )


# The pager ----------------------------------------------------------------------------------------


@pytest.fixture
def recording_pager(tmp_path):
    """A pager that copies what it reads, and the LESS it was given, to files."""
    script = tmp_path / "pager"
    script.write_text(f'#!/bin/sh\necho "LESS=$LESS" > {tmp_path}/pager-env\ncat > {tmp_path}/paged\n')
    script.chmod(0o755)
    return script


def show_on_terminal(args, env, tmp_path):
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR", "LESS")}
    environment.update({"TERM": "xterm-256color", "ARCHSEARCH_SERVER": "off", **env})
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [installed_command(), "show", *args], stdin=terminal, stdout=terminal, stderr=subprocess.PIPE, env=environment
    )
    os.close(terminal)
    shown = read_terminal(controller)
    assert process.wait(timeout=60) == 0, process.stderr.read()
    return shown


def test_show_at_a_terminal_goes_through_the_pager_in_colour(corpus_index, run_cli, recording_pager, tmp_path):
    run_cli("query", "Doha")
    env = {"ARCHSEARCH_INDEX": str(corpus_index), "PAGER": str(recording_pager)}
    shown = show_on_terminal(["@1"], env, tmp_path)
    paged = (tmp_path / "paged").read_bytes()
    assert b"Envoys met again" in paged and b"Envoys" not in shown
    assert b"\x1b[1;31mDoha\x1b[0m" in paged  # the match, in colour through the pager
    assert (tmp_path / "pager-env").read_text() == "LESS=FRX\n"
    show_on_terminal(["@1"], {**env, "LESS": "-S"}, tmp_path)
    assert (tmp_path / "pager-env").read_text() == "LESS=-S\n"


def test_no_pager_prints_to_the_terminal(corpus_index, run_cli, recording_pager, tmp_path):
    run_cli("query", "Doha")
    env = {"ARCHSEARCH_INDEX": str(corpus_index), "PAGER": str(recording_pager)}
    for args, extra in ((["@1", "--no-pager"], {}), (["@1"], {"PAGER": "cat"}), (["@1"], {"PAGER": ""})):
        assert b"Envoys met again" in show_on_terminal(args, {**env, **extra}, tmp_path)
        assert not (tmp_path / "paged").exists()


def test_no_pager_when_stdout_is_not_a_terminal(corpus_index, run_cli, recording_pager, tmp_path):
    run_cli("query", "Doha")
    result = subprocess.run(
        [installed_command(), "show", "@1"], capture_output=True, timeout=60,
        env={**os.environ, "ARCHSEARCH_INDEX": str(corpus_index), "PAGER": str(recording_pager), "ARCHSEARCH_SERVER": "off"},
    )
    assert result.returncode == 0 and b"Envoys met again" in result.stdout
    assert not (tmp_path / "paged").exists()


def test_quitting_the_pager_early_is_quiet(corpus_index, run_cli, tmp_path):
    long_article = write_corpus(tmp_path / "long", {"long.txt": wire("2021-01-01", "ROME.", "Pasta al dente. " * 50_000)})
    from archsearch.indexing import update_index

    update_index(corpus_index, [str(long_article)])
    quitter = tmp_path / "quitter"
    quitter.write_text("#!/bin/sh\nhead -c 100 > /dev/null\n")
    quitter.chmod(0o755)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [installed_command(), "show", "long.txt"], stdin=terminal, stdout=terminal, stderr=subprocess.PIPE,
        env={**os.environ, "ARCHSEARCH_INDEX": str(corpus_index), "PAGER": str(quitter), "ARCHSEARCH_SERVER": "off"},
    )
    os.close(terminal)
    read_terminal(controller)
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""


def test_served_query_remembers_in_the_client_s_state_folder_and_show_pages_there(
    corpus_index, recording_pager, tmp_path
):
    import shutil

    from test_server import archsearch, environment, running_server, short_folder

    folder = short_folder()
    no_click = tmp_path / "noclick"  # a client that cannot run a command itself: the server must
    no_click.mkdir()
    (no_click / "click.py").write_text("raise ImportError('ran in the client')\n")
    try:
        with running_server(folder / "s.sock") as server:
            client = environment(
                server.socket, corpus_index, no_click, XDG_STATE_HOME=str(tmp_path / "client-state"),
                PAGER=str(recording_pager),
            )
            assert archsearch("query", "Doha", env=client).returncode == 0
            # Written just after the answer (lasthits.deferred): recall waits for them.
            assert lasthits.recall(corpus_index, 1, client).query == "Doha"
            assert lasthits.state_file(corpus_index, client).exists()
            assert not lasthits.state_file(corpus_index).exists()  # the server's own state folder
            show_on_terminal(["@1"], {**client, "ARCHSEARCH_SERVER": "on"}, tmp_path)
            assert b"Envoys met again" in (tmp_path / "paged").read_bytes()
    finally:
        shutil.rmtree(folder)


def test_a_path_of_undecodable_bytes_is_remembered_as_it_is(tmp_path):
    undecodable = os.fsdecode(b"/news/caf\xe9.txt")  # a Latin-1 name on a UTF-8 system
    assert lasthits.remember(tmp_path / "index", "caf\u00e9", [(1, undecodable)]) is None
    assert lasthits.recall(tmp_path / "index", 1) == lasthits.RememberedHit(undecodable, "caf\u00e9")


def test_a_pager_that_is_not_installed_leaves_the_article_on_the_terminal(corpus_index, run_cli, tmp_path):
    run_cli("query", "Doha")
    env = {"ARCHSEARCH_INDEX": str(corpus_index), "PAGER": "no-such-pager -R"}
    assert b"Envoys met again" in show_on_terminal(["@1"], env, tmp_path)
