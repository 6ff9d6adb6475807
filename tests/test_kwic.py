"""`archsearch kwic`: a concordance whose positions and contexts are known word for word."""

import csv
import io
import json

import pytest

from archsearch.concordance import concordance, contexts
from archsearch.searching import find_article
from conftest import build_index, wire

COUNTING = "one two three four five six seven eight nine ten eleven floods twelve thirteen fourteen"
ARTICLES = {
    # The body starts with the dateline's words: ROME Jan 5 ANSA, then COUNTING, so "floods" is word 15.
    "rome.txt": wire("2020-01-05", "ROME, Jan 5. /ANSA/.", f"{COUNTING}. The Flooding came again."),
    "paris.txt": wire("2021-03-01", "PARIS, Mar 1. /AFP/.", "Floods at the start, and nothing else about water."),
    "dry.txt": wire("2020-06-01", "ROME, Jun 1. /ANSA/.", "A dry summer with no rain at all."),
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("kwic"), ARTICLES)


def test_every_occurrence_with_its_word_and_character_offsets(index):
    result = concordance(index, "flood", width=3, sort="oldest")
    rome = find_article(index, "rome.txt").body
    found = [(o.id, o.word, o.left, o.match, o.right) for o in result.occurrences]
    assert found == [
        ("rome.txt", 15, "nine ten eleven ", "floods", " twelve thirteen fourteen"),
        ("rome.txt", 20, "thirteen fourteen. The ", "Flooding", " came again"),
        ("paris.txt", 4, "Mar 1. /AFP/. ", "Floods", " at the start"),
    ]
    for occurrence in result.occurrences[:2]:
        assert rome[occurrence.char:].startswith(occurrence.match + occurrence.right)
        assert rome[: occurrence.char].endswith(occurrence.left)
    assert (result.articles, result.total) == (2, 2)
    assert [o.source for o in result.occurrences] == ["ANSA", "ANSA", "AFP"]
    assert str(result.occurrences[2].date) == "2021-03-01"


def test_context_is_cut_at_the_ends_of_the_body_and_can_be_nothing():
    body = "Floods, then more  floods."
    assert contexts(body, [(0, 6), (19, 25)], 2) == [
        (0, 0, "", "Floods", ", then more"), (3, 19, "then more ", "floods", ""),
    ]
    assert contexts(body, [(0, 6)], 0) == [(0, 0, "", "Floods", "")]


def test_date_filter_and_article_limit(index):
    assert {o.id for o in concordance(index, "flood", since="2021").occurrences} == {"paris.txt"}
    limited = concordance(index, "flood", limit=1, sort="newest")
    assert {o.id for o in limited.occurrences} == {"paris.txt"}
    assert (limited.articles, limited.total) == (1, 2)


def test_machine_formats_carry_the_same_occurrences(run_cli, index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    lines = run_cli("kwic", "flood", "--width", "3", "--sort", "oldest", "--json").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0] == {
        "type": "occurrence", "id": "rome.txt", "path": records[0]["path"], "date": "2020-01-05",
        "source": "ANSA", "word": 15, "char": records[0]["char"], "left": "nine ten eleven ", "match": "floods",
        "right": " twelve thirteen fourteen",
    }
    assert records[-1]["type"] == "summary" and records[-1]["occurrences"] == 3
    table = run_cli("kwic", "flood", "--width", "3", "--sort", "oldest", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [(row["id"], row["word"], row["char"], row["match"]) for row in rows] == [
        (r["id"], str(r["word"]), str(r["char"]), r["match"]) for r in records[:-1]
    ]
    tsv = run_cli("kwic", "flood", "--width", "3", "--sort", "oldest", "--format", "tsv").stdout.splitlines()
    assert tsv[0].split("\t") == ["id", "path", "date", "source", "word", "char", "left", "match", "right"]
    assert tsv[1].split("\t")[6:] == ["nine ten eleven ", "floods", " twelve thirteen fourteen"]


def test_plain_lines_align_the_matches(run_cli, index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    result = run_cli("kwic", "flood", "--width", "3", "--sort", "oldest")
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if "**" in line]
    assert len(lines) == 3
    assert len({line.index("**") for line in lines}) == 1
    assert "2020-01-05 · ANSA · rome.txt" in result.stdout


def test_colour_lines_align_the_matches(run_cli, index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    monkeypatch.setenv("COLUMNS", "60")
    result = run_cli("kwic", "flood", "--sort", "oldest", "--color", "always")
    assert result.exit_code == 0
    starts = [line.index("\x1b[1;31m") for line in result.stdout.splitlines() if "\x1b[1;31m" in line]
    assert len(starts) == 3 and len(set(starts)) == 1


def test_nothing_found_exits_1(run_cli, index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    result = run_cli("kwic", "volcano")
    assert result.exit_code == 1 and result.stdout == ""


def long_article(seed: int = 15) -> str:
    """About 60,000 characters of words drawn at random: accented words composed and decomposed
    (NFC and NFD), now and then a Chinese run, marks, dotted words, repeated words, runs of spaces and blank
    lines; a matched word at its very start and its very end."""
    import random

    rng = random.Random(seed)
    pieces = ["refugees", "Refugees", "réfugiés", "re\u0301fugie\u0301s", "Zu\u0308rich", "Zürich", "U.S.",
              "3.5", "the", "the", "the", "border", "crossing,", "said.", "«camp»", "—", "\u0301", "x" * 30]
    separators = [" "] * 12 + ["  ", "\n", "\n\n", "\t", ". ", ", "]
    words = [("北京大学" if rng.random() < 0.001 else rng.choice(pieces)) + rng.choice(separators) for _ in range(8_000)]
    return "refugees " + "".join(words) + " refugees"


@pytest.mark.parametrize("width", [0, 1, 8, 40])
def test_contexts_of_a_long_article_are_those_read_word_by_word(width):
    """The contexts located from a window around each match are those of every word of the body,
    whether its words were counted when it was stored (a long body kept apart) or not."""
    from unittest import mock

    from archsearch import concordance as kwic
    from archsearch.analysis import word_spans
    from archsearch.proximity import CountedText, WordPlaces
    from test_proximity_sentences import contexts_by_every_word

    body = long_article()
    matched = ("refug", "re\u0301fug", "zu", "北京", "the")
    spans = [(start, end) for start, end, word in word_spans(body) if word.lower().startswith(matched)]
    spans += [(start, end) for start, end, _ in word_spans(body)[::97]]
    spans = sorted(set(spans))
    assert spans[0][0] == 0 and spans[-1][1] == len(body)
    counted = CountedText.of(body, lambda: WordPlaces(body).counted())
    expected = contexts_by_every_word(body, spans, width)
    with mock.patch.object(WordPlaces, "_spans", autospec=True, side_effect=WordPlaces._spans) as read:
        assert kwic.contexts(body, spans, width) == expected
        assert kwic.contexts(counted, spans, width) == expected
    # Stretches are read word by word only around the few windows holding Chinese (pairs of
    # characters), where every match's stretch was.
    if width <= 8:
        assert read.call_count < len(spans) // 2
