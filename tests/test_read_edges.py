"""Read commands on indexes at their edges: segments without dates, and indexes holding nothing."""

import datetime
import json

import pytest

from archsearch.coverage import facets, timeline
from archsearch.indexing import update_index
from archsearch.searching import search
from archsearch.stats import index_stats
from conftest import web, wire, write_corpus


def page(number: int) -> str:
    return web("Afghanistan", f"Taliban page {number}", "Pashtun Times", f"The Taliban spoke, page {number}.")


@pytest.fixture
def undated_then_dated(tmp_path):
    """An index of two segments: undated web pages only (no `date` column), then dated wire copy."""
    corpus = write_corpus(tmp_path / "corpus", {f"page{n}.txt": page(n) for n in range(3)})
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)])
    write_corpus(corpus, {
        "wire1.txt": wire("2021-12-10", "KABUL, December 10. /TASS/.", "The Taliban met envoys."),
        "wire2.txt": wire("2020-02-29", "MOSCOW, February 29. /TASS/.", "The Taliban were discussed."),
    })
    update_index(index_dir, [str(corpus)])
    return index_dir


@pytest.fixture
def dated_then_undated(tmp_path):
    """The incremental update of the issue: dated articles, then a run that adds undated pages only."""
    corpus = write_corpus(tmp_path / "corpus", {
        "wire1.txt": wire("2021-12-10", "KABUL, December 10. /TASS/.", "The Taliban met envoys."),
    })
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)])
    write_corpus(corpus, {f"page{n}.txt": page(n) for n in range(3)})
    update_index(index_dir, [str(corpus)])
    return index_dir


@pytest.mark.parametrize("layout", ["undated_then_dated", "dated_then_undated"])
def test_date_sort_and_filters_with_a_segment_without_dates(layout, request):
    index_dir = request.getfixturevalue(layout)
    newest = search(index_dir, "Taliban", sort="newest", limit=0, collapse_copies=False)
    dates = [hit.date for hit in newest.hits]
    expected = sorted((d for d in dates if d), reverse=True)
    assert dates == expected + [None] * (len(dates) - len(expected))
    assert newest.total == len(dates)
    oldest = search(index_dir, "Taliban", sort="oldest", limit=0, collapse_copies=False)
    assert [hit.date for hit in oldest.hits if hit.date] == sorted(expected)
    within = search(index_dir, "Taliban", since="2021", limit=0, collapse_copies=False)
    assert [hit.date for hit in within.hits] == [datetime.date(2021, 12, 10)]
    assert within.undated_left_out == 3


@pytest.mark.parametrize("layout", ["undated_then_dated", "dated_then_undated"])
def test_timeline_and_stats_read_each_segments_own_dates(layout, request):
    # Whoosh's reader of a column across segments reads a column-less segment's dates from another one.
    index_dir = request.getfixturevalue(layout)
    dated = {"undated_then_dated": {"2020": 1, "2021": 1}, "dated_then_undated": {"2021": 1}}[layout]
    found = timeline(index_dir, "Taliban", by="year")
    assert (found.total, found.undated) == (sum(dated.values()) + 3, 3)
    assert {period: count for period, count in found.periods if count} == dated
    stats = index_stats(index_dir)
    assert (stats.articles, stats.dated) == (sum(dated.values()) + 3, sum(dated.values()))
    assert stats.last_date == datetime.date(2021, 12, 10)


def test_dates_on_an_index_where_no_article_is_dated(tmp_path, run_cli):
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(write_corpus(tmp_path / "pages", {f"p{n}.txt": page(n) for n in range(2)}))])
    assert [hit.date for hit in search(index_dir, "Taliban", sort="oldest", collapse_copies=False).hits] == [None] * 2
    result = search(index_dir, "Taliban", until="2021")
    assert (result.total, result.undated_left_out) == (0, 2)
    assert (result.outside_window, result.date_span) == (2, None)
    shown = run_cli("query", "Taliban", "--until", "2021", "--index", str(index_dir))
    assert "2 article(s) match the words, none in the date window; no article in the index has a date" in shown.stderr
    assert timeline(index_dir, "Taliban", since="2021").undated == 2
    assert facets(index_dir, "Taliban", since="2021", include_undated=True).total == 2


def empty_index_after_first_build(tmp_path):
    index_dir = tmp_path / "index"
    (tmp_path / "empty").mkdir()
    update_index(index_dir, [str(tmp_path / "empty")])
    return index_dir


def index_of_skipped_files(tmp_path):
    # Its files turned to junk after the first run: a first run that indexes nothing makes no index.
    corpus = write_corpus(tmp_path / "junk", {"empty.txt": page(1), "binary.txt": page(2)})
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)])
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    report = update_index(index_dir, [str(corpus)])
    assert (len(report.skipped), report.total) == (2, 0)
    return index_dir


def index_after_forgetting_its_last_folder(tmp_path):
    corpus = write_corpus(tmp_path / "pages", {"p.txt": page(1)})
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)])
    update_index(index_dir, [], forget=[str(corpus)])
    return index_dir


EMPTY_INDEXES = [empty_index_after_first_build, index_of_skipped_files, index_after_forgetting_its_last_folder]
READ_COMMANDS = [
    ["query", "Taliban"],
    ["query", "-c", "Taliban"],
    ["query", "--json", "--sort", "newest", "--since", "2020", "Taliban"],
    ["query", '"Taliban spoke"~2'],  # a query evaluation.py leaves to Whoosh
    ["timeline", "Taliban"],
    ["sources", "Taliban"],
    ["show", "p.txt"],
    ["similar", "p.txt"],
    ["stats"],
]


@pytest.mark.parametrize("make_index", EMPTY_INDEXES)
@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_every_read_command_answers_an_empty_index(make_index, command, tmp_path, run_cli):
    index_dir = make_index(tmp_path)
    assert index_dir.exists()
    result = run_cli(*command, "--index", str(index_dir))
    assert result.exit_code == 1, result.output
    assert "archsearch: the index holds no articles: it is empty, or still being built\n" in result.stderr
    assert "error" not in result.stderr
    if "-c" in command:
        assert result.stdout == "0\n"
    if "--json" in command:
        assert json.loads(result.stdout.splitlines()[-1])["total"] == 0


def test_stats_of_an_empty_index_shows_no_articles(tmp_path):
    stats = index_stats(empty_index_after_first_build(tmp_path))
    assert (stats.articles, stats.dated, stats.sources, stats.first_date) == (0, 0, 0, None)


def test_the_date_span_leaves_out_deleted_articles(undated_then_dated):
    corpus = undated_then_dated.parent / "corpus"
    (corpus / "wire1.txt").unlink()  # the 2021-12-10 article
    update_index(undated_then_dated, [str(corpus)])
    result = search(undated_then_dated, "Taliban", since="2030")
    assert result.date_span == (datetime.date(2020, 2, 29), datetime.date(2020, 2, 29))
