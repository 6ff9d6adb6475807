"""Did you mean and --fix: whole words found near a typo, and the respelling chosen by what it finds."""

import datetime
import random

import pytest
from click.testing import CliRunner

from archsearch.searching import search
from conftest import build_index, wire

TODAY = datetime.date(2026, 11, 22)
FILLER = "harvest station council railway festival hospital factory harbour museum bridge".split()


def story(seed: int, text: str) -> str:
    words = random.Random(seed).choices(FILLER, k=60)
    # The lead sentence is also the title of wire copy: `text` comes after it, so that its words
    # are found in as many articles as have it.
    return wire("2021-03-02", "KABUL, March 2. /TASS/.", f"Officials spoke on Tuesday. {text} {' '.join(words)}.")


CORPUS = {
    # "evacuation" stems to `evacu`, three edits from `eavcuat`: only whole words find it.
    **{f"evacuation{n}.txt": story(n, "The evacuation of the city went on through the night.") for n in range(4)},
    # `rairs` is one edit from both "rains" (common) and "raids" (rarer); only "raids" goes with "senate".
    **{f"rains{n}.txt": story(100 + n, "Heavy rains flooded the valley and the rains went on.") for n in range(12)},
    **{f"raids{n}.txt": story(20 + n, "The senate questioned the police about the raids.") for n in range(3)},
    # Only one article has all of "border", "drought" and "convoy"; others have some of them.
    "convoy.txt": story(30, "A convoy crossed the border during the drought."),
    **{f"drought{n}.txt": story(40 + n, "The drought near the border worsened.") for n in range(3)},
    **{f"convoys{n}.txt": story(50 + n, "The convoy of aid trucks waited.") for n in range(3)},
}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("spelling"), CORPUS)


def test_a_typo_near_the_end_of_a_word_is_corrected(index_dir):
    result = search(index_dir, "eavcuation", today=TODAY)
    assert (result.total, result.suggestion, result.suggestion_total) == (0, "evacuation", 4)
    fixed = search(index_dir, "eavcuation", fix=True, today=TODAY)
    assert (fixed.query, fixed.corrected_from, fixed.total) == ("evacuation", "eavcuation", 4)


def test_the_respelling_chosen_is_the_one_that_finds_articles(index_dir):
    # "rains" is as close and commoner, but no article has it with "senate".
    result = search(index_dir, "senate rairs", today=TODAY)
    assert (result.suggestion, result.suggestion_total) == ("senate raids", 3)
    assert search(index_dir, "rairs", today=TODAY).suggestion == "rains"


def test_a_rare_word_that_finds_articles_with_the_others_is_kept(index_dir):
    # "raids" is rare (3 articles) and one edit from "rains" (12), but it goes with "senate".
    assert search(index_dir, "senatte raids", today=TODAY).suggestion == "senate raids"


def test_fix_after_the_fallback_ranks_the_articles_with_all_the_words_first(index_dir):
    # No article has `bordr`, so the query as typed falls back to articles with some of its words;
    # respelt, one article has all of them: it comes first, and the others with some still follow.
    typed = search(index_dir, "bordr drought convoy", relax_when_empty=True, today=TODAY)
    assert typed.relaxed and typed.suggestion == "border drought convoy"
    fixed = search(index_dir, "bordr drought convoy", fix=True, relax_when_empty=True, limit=0, today=TODAY)
    assert (fixed.corrected_from, fixed.relaxed, fixed.words_first) == ("bordr drought convoy", False, True)
    assert fixed.hits[0].id == "convoy.txt" and len(fixed.hits) == 7
    strict = search(index_dir, "bordr drought convoy", fix=True, today=TODAY)
    assert [hit.id for hit in strict.hits] == ["convoy.txt"] and not strict.words_first


def test_a_respelling_is_offered_when_neither_has_all_the_words(index_dir):
    # No article has "evacuation" with "raids": the respelling finds more articles with some of them.
    result = search(index_dir, "eavcuation raids", relax_when_empty=True, today=TODAY)
    assert (result.suggestion, result.suggestion_relaxed, result.suggestion_total) == ("evacuation raids", True, 7)


def test_the_command_line_says_what_fix_did(index_dir, monkeypatch):
    from archsearch.cli import cli

    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index_dir))
    runner = CliRunner()
    offered = runner.invoke(cli, ["query", "eavcuation", "raids"])
    assert "did you mean 'evacuation raids'? (7 articles with some of its words; --fix runs it)" in offered.stderr
    fixed = runner.invoke(cli, ["query", "--fix", "bordr", "drought", "convoy"])
    assert fixed.exit_code == 0
    assert "showing results for 'border drought convoy' instead of 'bordr drought convoy'" in fixed.stderr
    assert "showing articles with all the words first, then those with some of them" in fixed.stderr
