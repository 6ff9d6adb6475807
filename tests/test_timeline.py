"""`archsearch timeline`: periods at the ends of the calendar, and the chart a person sees."""

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import termios

import pytest

from archsearch.coverage import timeline
from conftest import build_index, installed_command, read_terminal, web, wire

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


ANSI_SEQUENCE = re.compile(r"\x1b\[[0-9;]*m")
EIGHTHS = {"█": 8, **{block: eighths for eighths, block in enumerate(" ▏▎▍▌▋▊▉") if eighths}}


def chart_rows(output: str) -> dict[str, tuple[int, str]]:
    """Each row of a chart: its count, and the bar as drawn."""
    rows = {}
    for line in chart_lines(output):
        period, count, *bar = line.split(maxsplit=2)
        rows[period] = int(count), "".join(bar)
    return rows


def chart_lines(output: str) -> list[str]:
    lines = ANSI_SEQUENCE.sub("", output).splitlines()
    return [line for line in lines if re.match(r"(\d{4}\S*|undated) +\d", line)]


def eighths(bar: str) -> int:
    return sum(EIGHTHS[block] for block in bar)


@pytest.mark.parametrize("columns", [40, 80, 133])
def test_bars_fill_the_terminal_to_an_eighth_and_undated_articles_set_no_scale(monkeypatch, columns):
    from archsearch.coverage import Timeline
    from archsearch.rendering import print_timeline

    monkeypatch.setenv("COLUMNS", str(columns))
    result = Timeline(
        query="pasta", by="month", periods=[("2021-01", 80), ("2021-02", 40), ("2021-03", 0), ("2021-04", 1)],
        undated=5000, total=5121,
    )
    out = io.StringIO()
    print_timeline(result, out, "human")
    rows = chart_rows(out.getvalue())
    assert max(map(len, chart_lines(out.getvalue()))) == columns  # the largest bar reaches the right edge, and no further
    assert rows["undated"] == (5000, "")  # counted apart, with no bar to flatten the others
    largest = eighths(rows["2021-01"][1])
    assert largest == 8 * (columns - len("2021-01 5000 "))
    assert eighths(rows["2021-02"][1]) == largest / 2
    assert rows["2021-03"] == (0, "")
    assert eighths(rows["2021-04"][1]) == round(largest / 80)  # to the eighth, not to the cell


def test_chart_on_a_real_terminal_takes_its_width(edge_index, tmp_path):
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "COLUMNS", "LINES")}
    environment.update({"ARCHSEARCH_INDEX": str(edge_index), "ARCHSEARCH_SERVER": "off", "TERM": "xterm-256color"})
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(
        [installed_command(), "timeline", "--by", "year", "--since", "9990", "pasta"],
        stdin=subprocess.DEVNULL, stdout=terminal, stderr=subprocess.PIPE, env=environment,
    )
    os.close(terminal)
    shown = read_terminal(controller).decode()
    assert process.wait(timeout=60) == 0
    rows = chart_rows(shown)
    assert list(rows) == [str(year) for year in range(9990, 10000)] + ["undated"]
    assert rows["9999"] == (1, "█" * (100 - len("undated 1 ")))
    assert rows["undated"] == (1, "")
