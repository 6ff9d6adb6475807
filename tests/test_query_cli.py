"""The query options as typed at a shell: flags, -word, errors and --explain."""

import pytest

from conftest import WEB_SEED, WIRE_SEED


@pytest.fixture
def seeded_cli(run_cli, seeds_copy):
    assert run_cli("index", str(seeds_copy)).exit_code == 0
    return run_cli


def hit_ids(output: str) -> list[str]:
    return [line.rsplit(" · ", 1)[-1] for line in output.splitlines() if line.startswith("   ") and " · " in line]


def test_dash_word_excludes_it_rather_than_being_read_as_options(seeded_cli):
    result = seeded_cli("query", "Taliban", "-coronavirus")
    assert result.exit_code == 0, result.stderr
    assert hit_ids(result.stdout) == [WEB_SEED]


def test_double_dash_ends_options(seeded_cli):
    assert hit_ids(seeded_cli("query", "--", "Taliban", "-coronavirus").stdout) == [WEB_SEED]


def test_misspelt_long_option_is_still_an_error(seeded_cli):
    result = seeded_cli("query", "Taliban", "--limt", "3")
    assert result.exit_code == 2
    assert "--limt" in result.stderr


def test_date_filter_tells_how_many_undated_articles_were_left_out(seeded_cli):
    result = seeded_cli("query", "--since", "2021", "Taliban")
    assert hit_ids(result.stdout) == [WIRE_SEED]
    assert "1 undated article(s) matched but were left out" in result.stderr
    assert "--undated" in result.stderr
    with_undated = seeded_cli("query", "--since", "2021", "--undated", "Taliban")
    assert sorted(hit_ids(with_undated.stdout)) == sorted([WIRE_SEED, WEB_SEED])
    assert "left out" not in with_undated.stderr


def test_sort_oldest_puts_undated_last(seeded_cli):
    assert hit_ids(seeded_cli("query", "--sort", "oldest", "Taliban").stdout) == [WIRE_SEED, WEB_SEED]


@pytest.mark.parametrize(
    "args, message",
    [
        (["date:2021-13"], "invalid date '2021-13'"),
        (['"Central Asia'], "unbalanced quote"),
        (["(Taliban"], "unclosed '('"),
        (["--since", "tomorrowish", "Taliban"], "--since: invalid date 'tomorrowish'"),
        (["--sort", "random", "Taliban"], "'random' is not one of"),
        (["-n", "-3", "Taliban"], "-3"),
    ],
)
def test_errors_are_one_line_with_status_2(seeded_cli, args, message):
    result = seeded_cli("query", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr
    assert result.stderr.startswith("archsearch: error: ")


def test_explain_prints_the_parsed_query_and_each_score(seeded_cli):
    result = seeded_cli("query", "--explain", "--since", "2021-12", "Taliban")
    assert "archsearch: parsed: " in result.stderr
    assert "date window: 2021-12-01.." in result.stderr
    assert "score " in result.stdout


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_scores_sorted_by_date_are_the_relevance_scores(seeded_cli, sort):
    """Sorting by date orders hits by date, but each still has its relevance (the README says so)."""
    import json

    def scores(*args):
        lines = seeded_cli("query", "--json", *args, "Taliban OR ISIS").stdout.splitlines()
        return {record["id"]: record["score"] for record in map(json.loads, lines) if record["type"] == "hit"}

    by_date = scores("--sort", sort)
    assert by_date == scores() and len(by_date) == 2
    assert all(isinstance(score, float) for score in by_date.values())
    plain = seeded_cli("query", "--explain", "--sort", sort, "Taliban").stdout
    assert "score not computed" not in plain and "score " in plain
