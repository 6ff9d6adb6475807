"""`archsearch open`: the article's URL, else its file, with the user's opener, or its file in the editor."""

import json
import time

import pytest

from archsearch import client, opening
from archsearch.errors import ArchsearchError
from conftest import wire, write_corpus

FEED = "\n".join(
    json.dumps(record)
    for record in (
        {"title": "Ceasefire holds", "url": "https://wire.example/1", "body": "Fighting stopped in Kunduz."},
        {"title": "Talks in Doha", "body": "Envoys met in Doha about Kunduz."},
    )
) + "\n"
BOUND = 60  # seconds to wait for a detached opener: reached only when a test fails


@pytest.fixture
def corpus(tmp_path, index_dir):
    from archsearch.indexing import update_index

    folder = write_corpus(tmp_path / "corpus", {
        "feed.jsonl": FEED,
        "kabul.txt": wire("2021-12-01", "KABUL, December 1. /TASS/.", "Talks about Kunduz began."),
    })
    update_index(index_dir, [str(folder)])
    return folder


@pytest.fixture
def recorder(tmp_path):
    """A program that appends its arguments to a file: stands for a browser, an opener or an editor."""
    script = tmp_path / "bin" / "recorder"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\n')
    script.chmod(0o755)
    return script


def calls(tmp_path, count: int = 1) -> list[str]:
    """What the recorder was called with, once it was called `count` times (openers run detached)."""
    path = tmp_path / "calls"
    deadline = time.monotonic() + BOUND
    while not path.exists() or len(path.read_text().splitlines()) < count:
        assert time.monotonic() < deadline, "the opener was never run"
        time.sleep(0.02)
    return path.read_text().splitlines()


def test_open_an_article_with_a_url_opens_the_url(corpus, run_cli, recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER", str(recorder))
    result = run_cli("open", "feed.jsonl#1")
    assert (result.exit_code, result.output) == (0, "")
    assert calls(tmp_path) == ["https://wire.example/1"]


def test_open_an_article_without_a_url_opens_its_file(corpus, run_cli, recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER", f"no-such-browser:{recorder} --new-window")
    assert run_cli("open", "kabul.txt").exit_code == 0
    assert calls(tmp_path) == [f"--new-window {corpus / 'kabul.txt'}"]


def test_open_at_n_is_the_nth_hit_of_the_last_query(corpus, run_cli, recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER", str(recorder))
    listed = run_cli("query", "Doha", "--json")
    assert json.loads(listed.stdout.splitlines()[0])["title"] == "Talks in Doha"
    assert run_cli("open", "@1").exit_code == 0
    assert calls(tmp_path) == [str(corpus / "feed.jsonl")]  # a record with no url: its file


def test_edit_opens_the_file_in_visual_else_editor(corpus, run_cli, recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("EDITOR", f"{recorder} --editor")
    monkeypatch.delenv("VISUAL", raising=False)
    assert run_cli("open", "--edit", "feed.jsonl#1").exit_code == 0
    assert calls(tmp_path) == [f"--editor {corpus / 'feed.jsonl'}"]  # the file, even with a url
    monkeypatch.setenv("VISUAL", f"{recorder} --visual")
    assert run_cli("open", "--edit", "kabul.txt").exit_code == 0
    assert calls(tmp_path, 2)[1] == f"--visual {corpus / 'kabul.txt'}"


def test_an_editor_s_failure_is_the_exit_status(corpus, run_cli, monkeypatch):
    monkeypatch.setenv("VISUAL", "false")
    assert run_cli("open", "--edit", "kabul.txt").exit_code == 1


def test_no_opener_is_one_line(corpus, run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("BROWSER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no xdg-open, no open
    result = run_cli("open", "kabul.txt")
    assert result.exit_code == 2
    assert result.stderr == (
        f"archsearch: error: no program to open {corpus / 'kabul.txt'} with: set $BROWSER, "
        f"or install {'open' if opening.sys.platform == 'darwin' else 'xdg-open'}\n"
    )


def test_no_editor_is_one_line(corpus, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", "no-such-editor -w")
    result = run_cli("open", "--edit", "kabul.txt")
    assert result.exit_code == 2
    assert result.stderr == (
        f"archsearch: error: no editor 'no-such-editor -w' to open {corpus / 'kabul.txt'} with: set $VISUAL or $EDITOR\n"
    )


def test_unknown_article_and_missing_hit_are_one_line(corpus, run_cli):
    assert run_cli("open", "nowhere.txt").stderr == "archsearch: error: no article with id or path 'nowhere.txt' in the index\n"
    assert run_cli("open", "@1").exit_code == 2


def test_system_opener_when_no_browser_is_set(tmp_path, recorder):
    opener = "open" if opening.sys.platform == "darwin" else "xdg-open"
    (tmp_path / "bin" / opener).symlink_to(recorder)
    assert opening.opener_command("/a.txt", {"PATH": str(tmp_path / "bin")}) == [opener, "/a.txt"]
    assert opening.opener_command("/a.txt", {"PATH": str(tmp_path / "bin"), "BROWSER": "recorder"}) == [
        "recorder", "/a.txt"
    ]
    with pytest.raises(ArchsearchError):
        opening.opener_command("/a.txt", {"PATH": str(tmp_path / "nothing"), "BROWSER": "recorder"})


def test_open_is_never_run_by_the_server():
    # It starts the user's programs: they must run in the user's own process, not the server's.
    assert "open" not in client.FORWARDED
