"""`timeline --share` and `sources --share`: matches as a share of the archive's own volume."""

import csv
import io
import json

import pytest

from archsearch.coverage import facets, share, timeline
from conftest import build_index, web, wire

# January 2020: 4 articles, 1 about floods. February: 2 articles, both about floods. March: 1,
# none. ANSA wrote 5 of them (1 on floods), AFP 2 (both on floods). One undated page on floods
# among 2 undated pages.
ARTICLES = {
    "jan1.txt": wire("2020-01-03", "ROME, Jan 3. /ANSA/.", "Floods in the north."),
    "jan2.txt": wire("2020-01-04", "ROME, Jan 4. /ANSA/.", "Elections are near."),
    "jan3.txt": wire("2020-01-05", "ROME, Jan 5. /ANSA/.", "Football results."),
    "jan4.txt": wire("2020-01-06", "ROME, Jan 6. /ANSA/.", "Weather is calm."),
    "feb1.txt": wire("2020-02-03", "PARIS, Feb 3. /AFP/.", "Floods in the south."),
    "feb2.txt": wire("2020-02-04", "PARIS, Feb 4. /AFP/.", "More floods in the south."),
    "mar1.txt": wire("2020-03-03", "ROME, Mar 3. /ANSA/.", "Spring arrives."),
    "page1.txt": web("World", "River page", "River Site", "Floods, undated."),
    "page2.txt": web("World", "Garden page", "River Site", "Roses, undated."),
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("share"), ARTICLES)


def test_share_is_a_percentage_and_nothing_of_no_volume():
    assert share(1, 4) == 25.0
    assert share(0, 0) is None


def test_timeline_divides_by_all_articles_of_each_period(index):
    result = timeline(index, "flood", by="month", with_share=True)
    assert result.periods == [("2020-01", 1), ("2020-02", 2)]
    assert result.volumes == [4, 2]
    assert (result.undated, result.undated_volume) == (1, 2)
    assert timeline(index, "flood", by="month").volumes is None


def test_timeline_share_in_every_format(run_cli, index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    args = ("timeline", "flood", "--share", "--until", "2020-03")
    records = [json.loads(line) for line in run_cli(*args, "--json").stdout.splitlines()]
    assert records[:3] == [
        {"type": "period", "period": "2020-01", "count": 1, "all": 4, "share": 25.0},
        {"type": "period", "period": "2020-02", "count": 2, "all": 2, "share": 100.0},
        {"type": "period", "period": "2020-03", "count": 0, "all": 1, "share": 0.0},
    ]
    assert records[3]["all"] == 9 and records[3]["total"] == 4 and records[3]["share"] == pytest.approx(44.4444)
    rows = list(csv.reader(io.StringIO(run_cli(*args, "--format", "csv").stdout)))
    assert rows[0] == ["period", "count", "all", "share"]
    assert rows[1:] == [["2020-01", "1", "4", "25.0"], ["2020-02", "2", "2", "100.0"], ["2020-03", "0", "1", "0.0"],
                        ["undated", "1", "2", "50.0"]]
    plain = run_cli(*args).stdout.splitlines()
    assert plain[0].split("\t") == ["2020-01", "1", "4", "25.0"]
    human = run_cli(*args, "--color", "always").stdout
    assert "25.0% 1/4" in human and "100.0% 2/2" in human and "0.0% 0/1" in human
    assert "44.4% of 9 articles" in human


def test_sources_divide_by_all_articles_of_each_source_in_the_window(index):
    result = facets(index, "flood", with_share=True)
    assert result.sources == [("AFP", 2), ("ANSA", 1), ("River Site", 1)]
    assert [result.volumes["source"][name] for name in ("AFP", "ANSA", "River Site")] == [2, 5, 2]
    windowed = facets(index, "flood", since="2020-02", with_share=True)
    assert windowed.sources == [("AFP", 2), ("ANSA", 0)]  # ANSA's March article, no flood in it
    assert (windowed.volumes["source"]["ANSA"], windowed.volume) == (1, 3)


def test_sources_share_in_every_format(run_cli, index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    records = [json.loads(line) for line in run_cli("sources", "flood", "--share", "--json").stdout.splitlines()]
    assert {"type": "source", "name": "ANSA", "count": 1, "all": 5, "share": 20.0} in records
    assert records[-1] == {"type": "summary", "query": "flood", "total": 4, "all": 9, "share": pytest.approx(44.4444)}
    table = run_cli("sources", "flood", "--share", "--format", "tsv").stdout.splitlines()
    assert table[0].split("\t") == ["kind", "name", "count", "all", "share"]
    assert "source\tANSA\t1\t5\t20.0" in table
    human = run_cli("sources", "flood", "--share", "--color", "always").stdout
    assert "20.0%" in human and "44.4% of 9 in the window" in human


def test_an_empty_index_has_a_share_of_nothing(tmp_path):
    (tmp_path / "corpus").mkdir()
    empty = build_index(tmp_path, {})
    assert timeline(empty, "flood", with_share=True).volumes == []
    result = facets(empty, "flood", with_share=True)
    assert (result.total, result.volume, result.volumes["source"]) == (0, 0, {})
