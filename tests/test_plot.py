"""`archsearch timeline --plot FILE`: charts to publish, and weeks as a person reads them."""

import io
import re
import struct
import sys
import warnings
import xml.etree.ElementTree as ElementTree

import pytest

from archsearch.coverage import Timeline, period_label
from archsearch.errors import ArchsearchError
from archsearch.plotting import write_timeline_chart
from conftest import build_index, web, wire

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

ARTICLES = {
    "jan1.txt": wire("2021-01-05", "ROME, Jan 5. /ANSA/.", "Pasta prices rise. Беженцы. لاجئون. 難民."),
    "jan2.txt": wire("2021-01-20", "ROME, Jan 20. /ANSA/.", "Pasta exports fall."),
    "mar.txt": wire("2021-03-02", "ROME, Mar 2. /ANSA/.", "Pasta makers strike."),
    "page1.txt": web("Food", "Pasta page", "Food Site", "Pasta, undated."),
    "page2.txt": web("Food", "More pasta", "Food Site", "Pasta again, undated."),
}


@pytest.fixture(scope="module")
def pasta_index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("pasta"), ARTICLES)


@pytest.fixture
def run(run_cli, pasta_index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(pasta_index))
    return run_cli


def svg_texts(path) -> list[str]:
    return [element.text for element in ElementTree.parse(path).iter(f"{SVG}text")]


def svg_bars(path) -> list[str]:
    return sorted(element.get("id") for element in ElementTree.parse(path).iter() if element.get("id", "").startswith("bar-"))


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# SVG and PNG ------------------------------------------------------------------------------------


def test_svg_chart_has_title_axes_a_bar_per_dated_period_and_the_undated_note(run, tmp_path):
    chart = tmp_path / "pasta.svg"
    result = run("timeline", "--plot", str(chart), "pasta")
    assert result.exit_code == 0, result.stderr
    texts = svg_texts(chart)  # parsed as XML: a broken file fails here
    assert "“pasta”" in texts
    assert "matching articles per month, 2021-01 to 2021-03" in texts
    assert {"month", "matching articles"} <= set(texts)
    assert svg_bars(chart) == ["bar-2021-01", "bar-2021-03"]  # February is empty: its place, no bar
    assert "5 matching articles, 3 dated; 2 undated articles, which no month holds, not drawn" in texts
    assert not any(name.startswith(".") for name in (p.name for p in tmp_path.iterdir()))  # no leftover part


def test_plot_prints_the_usual_output_too(run, tmp_path):
    plotted = run("timeline", "--plot", str(tmp_path / "pasta.svg"), "--json", "pasta")
    assert plotted.stdout == run("timeline", "--json", "pasta").stdout
    assert plotted.stderr == ""


def test_png_chart_is_a_png_of_a_plausible_size(run, tmp_path):
    chart = tmp_path / "pasta.PNG"  # the extension in any case
    result = run("timeline", "--by", "week", "--plot", str(chart), "pasta")
    assert result.exit_code == 0, result.stderr
    assert png_size(chart) == (1000, 520)
    assert 10_000 < chart.stat().st_size < 500_000


def test_a_chart_replaces_the_file_there(run, tmp_path):
    chart = tmp_path / "pasta.svg"
    chart.write_text("an older chart")
    assert run("timeline", "--plot", str(chart), "pasta").exit_code == 0
    assert "“pasta”" in svg_texts(chart)


def test_weeks_are_titled_by_their_monday_and_bars_named_by_iso_week(tmp_path):
    result = Timeline(query="pasta", by="week", periods=[("2017-W06", 3), ("2017-W07", 0), ("2017-W08", 1)],
                      undated=0, total=4)
    chart = tmp_path / "weeks.svg"
    write_timeline_chart(result, chart)
    texts = svg_texts(chart)
    assert "matching articles per week, 2017-02-06 (W06) to 2017-02-20 (W08)" in texts
    assert "2017-02-13 (W07)" in texts  # a tick label
    assert svg_bars(chart) == ["bar-2017-W06", "bar-2017-W08"]


def test_a_century_of_years_gets_readable_ticks(tmp_path):
    periods = [(f"{year:04}", year % 7) for year in range(1920, 2021)]
    chart = tmp_path / "century.svg"
    write_timeline_chart(Timeline(query="pasta", by="year", periods=periods, undated=0, total=0), chart)
    ticks = [text for text in svg_texts(chart) if text.isdigit() and len(text) == 4]
    assert 5 <= len(ticks) <= 16
    assert len(svg_bars(chart)) == sum(1 for _, count in periods if count)


# Mistakes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pasta.pdf", "pasta", "pasta.svg.txt"])
def test_an_unknown_extension_is_a_one_line_error_before_any_search(run, tmp_path, name):
    result = run("timeline", "--plot", str(tmp_path / name), "pasta")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"archsearch: error: cannot tell the chart format of '{tmp_path / name}': name the file .svg or .png\n"
    )
    assert not (tmp_path / name).exists()


def test_without_matplotlib_the_error_names_the_extra(run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    result = run("timeline", "--plot", str(tmp_path / "pasta.svg"), "pasta")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "archsearch: error: charts need matplotlib, which is not installed: pip install 'archsearch[plot]'\n"
    )
    assert not (tmp_path / "pasta.svg").exists()


def test_a_folder_that_does_not_exist_is_a_one_line_error(run, tmp_path):
    result = run("timeline", "--plot", str(tmp_path / "missing" / "pasta.png"), "pasta")
    assert result.exit_code == 2
    assert result.stderr == (
        f"archsearch: error: cannot write the chart '{tmp_path / 'missing' / 'pasta.png'}': No such file or directory\n"
    )


def test_matplotlib_is_loaded_by_plot_only(pasta_index, tmp_path):
    import subprocess

    code = (
        "import sys\nfrom archsearch.cli import cli\n"
        "try:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('matplotlib' in sys.modules, file=sys.stderr)"
    )
    for plot, loaded in (([], "False"), (["--plot", str(tmp_path / "pasta.svg")], "True")):
        command = [sys.executable, "-c", code, "timeline", "--index", str(pasta_index), *plot, "pasta"]
        assert subprocess.run(command, capture_output=True, text=True).stderr == f"{loaded}\n"


# Charts with nothing dated, and queries in any script --------------------------------------------


def test_a_timeline_with_no_dated_article_says_so_and_draws_no_bar(run, tmp_path):
    chart = tmp_path / "undated.svg"
    result = run("timeline", "--plot", str(chart), "pasta", "undated")
    assert result.exit_code == 0, result.stderr
    texts = svg_texts(chart)
    assert "matching articles per month, no dated match" in texts
    assert "no dated article matches" in texts
    assert "2 matching articles, 0 dated; 2 undated articles, which no month holds, not drawn" in texts
    assert svg_bars(chart) == []


def test_a_query_matching_nothing_still_writes_its_chart(run, tmp_path):
    chart = tmp_path / "nothing.png"
    result = run("timeline", "--plot", str(chart), "couscous")
    assert result.exit_code == 1  # as without --plot: nothing matched
    assert png_size(chart) == (1000, 520)


def test_a_window_with_no_match_keeps_its_periods_and_says_so(run, tmp_path):
    chart = tmp_path / "window.svg"
    assert run("timeline", "--since", "2020-11", "--until", "2020-12", "--plot", str(chart), "pasta").exit_code == 0
    texts = svg_texts(chart)
    assert "2 matching articles, 0 dated; 2 undated articles, which no month holds, not drawn" in texts
    assert {"2020-11", "2020-12", "no dated article matches"} <= set(texts)
    assert "matching articles per month, 2020-11 to 2020-12" in texts
    assert svg_bars(chart) == []


@pytest.mark.parametrize("query", ["Беженцы", "لاجئون", "難民", "शरणार्थी", "$5 and $6 pasta", "pasta\tʻokina ẞ 🍝"])
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_any_script_is_drawn_without_a_warning(tmp_path, query, suffix):
    chart = tmp_path / f"chart{suffix}"
    result = Timeline(query=query, by="month", periods=[("2021-01", 2)], undated=1, total=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_timeline_chart(result, chart)
    assert [str(warning.message) for warning in caught] == []
    if suffix == ".svg":
        assert f"“{' '.join(query.split())}”" in svg_texts(chart)
    else:
        assert png_size(chart) == (1000, 520)


def test_the_installed_command_plots_a_non_latin_query_quietly(run_installed, pasta_index, tmp_path):
    chart = tmp_path / "refugees.png"
    result = run_installed("timeline", "--plot", str(chart), "беженцы", "難民", env={
        "ARCHSEARCH_INDEX": str(pasta_index), "ARCHSEARCH_SERVER": "off", "MPLCONFIGDIR": str(tmp_path / "mpl"),
    })
    assert result.returncode in (0, 1)
    assert result.stderr == b""
    assert png_size(chart) == (1000, 520)


def test_library_refuses_an_unknown_extension(tmp_path):
    with pytest.raises(ArchsearchError, match="name the file .svg or .png"):
        write_timeline_chart(Timeline(query="pasta", by="month", periods=[], undated=0, total=0), tmp_path / "x.jpg")


# Weeks on the terminal --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "period, label",
    [("2017-W06", "2017-02-06 (W06)"), ("2021-W01", "2021-01-04 (W01)"), ("2020-W53", "2020-12-28 (W53)"),
     ("0001-W01", "0001-01-01 (W01)"), ("9999-W52", "9999-12-27 (W52)")],
)
def test_a_week_reads_as_its_monday_and_iso_number(period, label):
    assert period_label(period, "week") == label


def test_other_periods_read_as_named():
    assert [period_label(period, by) for period, by in [("2017-02-06", "day"), ("2017-02", "month"), ("0987", "year")]] \
        == ["2017-02-06", "2017-02", "0987"]


def test_terminal_weeks_read_by_their_monday_while_json_and_tsv_keep_iso_names(monkeypatch):
    from archsearch.rendering import print_timeline

    monkeypatch.setenv("COLUMNS", "60")
    result = Timeline(query="pasta", by="week", periods=[("2017-W06", 3), ("2017-W07", 0)], undated=2, total=5)
    human, tsv, json = io.StringIO(), io.StringIO(), io.StringIO()
    print_timeline(result, human, "human")
    print_timeline(result, tsv, "tsv")
    print_timeline(result, json, "json")
    lines = re.sub(r"\x1b\[[0-9;]*m", "", human.getvalue()).splitlines()
    assert lines[0].startswith("2017-02-06 (W06) 3 █")
    assert lines[1] == "2017-02-13 (W07) 0 "
    assert lines[2] == "undated          2"
    assert "2017-W06\t3" in tsv.getvalue() and "(W06)" not in tsv.getvalue()
    assert '"period": "2017-W06"' in json.getvalue()
