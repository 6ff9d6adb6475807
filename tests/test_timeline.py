"""`archsearch timeline`: periods at the ends of the calendar, and the chart a person sees."""

import pytest

from archsearch.coverage import timeline
from conftest import build_index, web, wire

EDGE_ARTICLES = {
    "first.txt": wire("0001-01-01", "ROME, Jan 1. /ANSA/.", "Pasta at the start of time."),
    "last.txt": wire("9999-12-31", "ROME, Dec 31. /ANSA/.", "Pasta at the end of time."),
    "page.txt": web("World", "Pasta page", "Food Site", "Pasta, undated."),
}


@pytest.fixture(scope="module")
def edge_index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("edges"), EDGE_ARTICLES)


@pytest.mark.parametrize(
    "by, since, until, periods",
    [
        ("day", "9999-12-31", None, [("9999-12-31", 1)]),
        ("week", "9999-12-31", None, [("9999-W52", 1)]),
        ("month", "9999-12-31", None, [("9999-12", 1)]),
        ("year", "9999-12-31", None, [("9999", 1)]),
        ("day", None, "0001-01-01", [("0001-01-01", 1)]),
        ("week", None, "0001-01-01", [("0001-W01", 1)]),
        ("month", None, "0001-01-01", [("0001-01", 1)]),
        ("year", None, "0001-01-01", [("0001", 1)]),
        ("day", "9999-12-30", "9999", [("9999-12-30", 0), ("9999-12-31", 1)]),
        ("week", "9999-12", "9999-12", [("9999-W48", 0), ("9999-W49", 0), ("9999-W50", 0), ("9999-W51", 0), ("9999-W52", 1)]),
        ("month", "9999", "9999", [(f"9999-{month:02}", int(month == 12)) for month in range(1, 13)]),
        ("month", "0001", "0001", [(f"0001-{month:02}", int(month == 1)) for month in range(1, 13)]),
        ("year", None, None, [("0001", 1), *((f"{year:04}", 0) for year in range(2, 9999)), ("9999", 1)]),
    ],
)
def test_periods_reach_the_first_and_the_last_day_a_date_can_have(edge_index, by, since, until, periods):
    result = timeline(edge_index, "pasta", by=by, since=since, until=until)
    assert result.periods == periods
    assert result.undated == 1


@pytest.mark.parametrize("by", ["day", "week", "month", "year"])
@pytest.mark.parametrize("fmt", [[], ["--json"], ["--color", "always"]])
def test_timeline_command_at_the_calendar_edges(run_cli, edge_index, monkeypatch, by, fmt):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(edge_index))
    for window in (["--since", "9999-12-25"], ["--until", "0001-01-07"], ["--since", "9999-12-31", "--until", "9999"]):
        result = run_cli("timeline", "--by", by, *window, "pasta", *fmt)
        assert result.exit_code == 0, result.stderr
        assert "internal error" not in result.stderr
