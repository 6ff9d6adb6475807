"""When no article has all the words: the articles with some of them, most words first (issue 14)."""

import json

import pytest

from archsearch.searching import search
from conftest import build_index, wire

ARTICLES = {
    "three.txt": wire("2021-03-01", "LIMA", "Flood waters rose after the rain and a storm hit the coast."),
    "two.txt": wire("2021-03-02", "QUITO", "The storm brought rain to the valley towns overnight, and " + "the buses ran late again. " * 8),
    # One word many times: by score alone it would outrank the article with two of the words.
    "one.txt": wire("2021-05-03", "BOGOTA", "Flood. " * 6),
    "us.txt": wire("2021-03-04", "LA PAZ", "Help us, said a farmer whose storm cellar held."),
    "none.txt": wire("2021-03-05", "CARACAS", "Markets closed higher on Friday."),
}


@pytest.fixture
def index(tmp_path):
    return build_index(tmp_path, ARTICLES)


def ids(result):
    return [hit.id for hit in result.hits]


def test_no_article_with_all_words_shows_those_with_most_words_first(index):
    result = search(index, "flood rain storm drought", relax_when_empty=True)
    assert result.relaxed
    assert ids(result)[:2] == ["three.txt", "two.txt"]
    assert set(ids(result)[2:]) == {"one.txt", "us.txt"}
    assert result.total == 4


def test_more_words_outrank_a_higher_score(index):
    scores = {hit.id: hit.score for hit in search(index, "flood rain storm", any_words=True).hits}
    assert scores["one.txt"] > scores["two.txt"]  # the test's premise: by score alone one.txt is above
    result = search(index, "flood rain storm drought", relax_when_empty=True)
    assert ids(result)[:3] == ["three.txt", "two.txt", "one.txt"]


def test_the_library_is_strict_unless_asked(index):
    result = search(index, "flood rain storm drought")
    assert (result.relaxed, result.total, result.hits, result.partial_matches) == (False, 0, [], 4)


def test_an_all_words_match_is_never_relaxed(index):
    result = search(index, "flood rain", relax_when_empty=True)
    assert not result.relaxed
    assert ids(result) == ["three.txt"]


def test_relaxed_keeps_the_date_window_and_not_words(index):
    result = search(index, "flood rain drought -coast", until="2021-04", relax_when_empty=True)
    assert result.relaxed
    assert ids(result) == ["two.txt"]  # three.txt has the coast, one.txt is dated May


def test_one_word_or_words_outside_the_window_are_not_relaxed(index):
    assert not search(index, "drought", relax_when_empty=True).relaxed
    outside = search(index, "flood rain", since="2022", relax_when_empty=True)
    assert (outside.relaxed, outside.total, outside.outside_window) == (False, 0, 1)


def test_a_word_in_capitals_stays_with_its_word(index):
    # us.txt has "us" but not in capitals: it matches storm only, as two.txt matches storm and rain.
    result = search(index, "US storm rain", relax_when_empty=True)
    assert result.relaxed
    assert ids(result)[0] in {"three.txt", "two.txt"}
    assert ids(result)[-1] == "us.txt"


def test_cli_relaxes_and_says_so(index, run_cli, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    result = run_cli("query", "flood", "rain", "drought", "--json")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records if r["type"] == "hit"][:1] == ["three.txt"]
    summary = records[-1]
    assert (summary["relaxed"], summary["total"]) == (True, 3)
    assert "no article has all the words; showing articles with some of them" in result.stderr
    assert "--strict" in result.stderr


def test_cli_strict_shows_nothing(index, run_cli, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    result = run_cli("query", "--strict", "flood", "rain", "drought", "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout.splitlines()[-1])
    assert (summary["relaxed"], summary["total"]) == (False, 0)
    assert "try --any" in result.stderr


@pytest.mark.parametrize("flag, stdout", [("-c", "0\n"), ("-l", "")])
def test_count_and_paths_stay_strict(index, run_cli, monkeypatch, flag, stdout):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    result = run_cli("query", flag, "flood", "rain", "drought")
    assert (result.exit_code, result.stdout) == (1, stdout)
    assert "try --any" in result.stderr
