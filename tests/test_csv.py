"""`--format csv` and `--bom`: RFC 4180 tables that spreadsheets open, read back with Python's csv
module, field for field, through the command line as users run it."""

import csv
import io
import json
import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsearch.rendering import FORMULA_STARTS, write_csv
from conftest import WEB_SEED, build_index, wire

BOM = "\ufeff".encode()

FEED = [
    {
        "title": '=HYPERLINK("http://evil.example","click")',
        "text": 'Zebras, "quoted", with commas\nand a second line. Ünïcödé ☃ zebra, 東京.',
        "date": "2021-03-01",
        "source": '-Bad, "Source"',
        "url": "https://example.com/a?b=1,2",
        "author": "@someone",
        "language": "de",
    },
    {"title": "Zebras; cheap, fast", "text": "+1 zebras here\n\nand a paragraph.", "date": "2021-03-02", "source": "AFP"},
]
ARTICLES = {
    "feed.jsonl": "".join(json.dumps(record) + "\n" for record in FEED),
    'new\nline, "name".txt': wire("2021-03-03", "PARIS, March 3. /AFP/.", "Zebras escaped, said the zoo."),
}


def neutralised(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_shown(text: str) -> str:
    """What CSV makes of a JSON value: the bytes of a name that are not UTF-8 (surrogates) as U+FFFD."""
    return neutralised(re.sub("[\ud800-\udfff]", "\ufffd", text))


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def as_dicts(rows: list[list[str]]) -> list[dict]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
def corpus_index(tmp_path, run_cli):
    index = build_index(tmp_path, ARTICLES)
    with open(os.path.join(os.fsencode(tmp_path / "corpus"), b"caf\xe9.txt"), "w", encoding="latin-1") as stream:
        stream.write(" date 2021-03-04 NICE, March 4. /AFP/. Zebras in a caf\xe9.")
    run_cli("index", str(tmp_path / "corpus"))
    return index


def test_query_csv_holds_the_json_fields_exactly(corpus_index, run_cli):
    result = run_cli("query", "--format", "csv", "-n", "0", "zebras")
    assert result.exit_code == 0
    data = result.stdout_bytes
    assert not data.startswith(BOM)
    assert data.endswith(b"\r\n") and data.count(b"\r\n") >= 5  # header and four hits at least
    rows = read_csv(data)
    assert rows[0] == [
        "rank", "score", "date", "source", "place", "section", "title", "id", "path", "snippet",
        "url", "author", "language", "format", "fetched",
    ]
    hits = [json.loads(line) for line in run_cli("query", "--json", "-n", "0", "zebras").stdout.splitlines()][:-1]
    cells = as_dicts(rows)
    assert len(cells) == len(hits) == 4
    for hit, row in zip(hits, cells, strict=True):
        assert row["rank"] == str(hit["rank"]) and row["date"] == (hit["date"] or "")
        for column in ("source", "place", "section", "title", "id", "path", "url", "author", "language", "format"):
            assert row[column] == as_shown(hit[column]), column
        assert row["snippet"] == neutralised(hit["snippets"][0]["text"])
    by_id = {row["id"]: row for row in cells}
    first = by_id["feed.jsonl#1"]
    assert first["title"] == "'" + FEED[0]["title"]
    assert first["source"] == "'" + FEED[0]["source"] and first["author"] == "'@someone"
    assert first["url"] == "https://example.com/a?b=1,2" and first["language"] == "de"
    assert "Ünïcödé ☃ zebra, 東京." in first["snippet"] and '"quoted"' in first["snippet"]
    assert by_id["feed.jsonl#2"]["snippet"].startswith("'+1 zebras")
    assert 'new\nline, "name".txt' in by_id  # a line break in a name stays, inside quotes
    assert any(row["path"].endswith("caf\ufffd.txt") for row in cells)  # bytes that are not UTF-8: U+FFFD


def test_show_csv_keeps_the_body_s_line_breaks(corpus_index, run_cli):
    article = json.loads(run_cli("show", "--json", "feed.jsonl#1").stdout)
    rows = read_csv(run_cli("show", "--format", "csv", "feed.jsonl#1").stdout_bytes)
    tsv = run_cli("show", "--format", "tsv", "feed.jsonl#1").stdout.splitlines()
    assert rows[0] == tsv[0].split("\t")
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert "\n" in article["body"] and record["body"] == article["body"]
    assert record["title"] == "'" + article["title"] and record["id"] == "feed.jsonl#1"


def tsv_rows(text: str) -> list[list[str]]:
    escapes = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}
    return [
        [re.sub(r"\\[\\tnr]", lambda escape: escapes[escape.group()], cell) for cell in line.split("\t")]
        for line in text.split("\n")[:-1]
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["query", "-n", "0", "Taliban"],
        ["similar", WEB_SEED],
        ["timeline", "--by", "year", "Taliban"],
        ["sources", "Taliban"],
        ["stats"],
        ["show", WEB_SEED],
    ],
    ids=lambda command: command[0],
)
def test_every_command_s_csv_is_its_tsv_table(seeded_index, run_cli, command):
    """The seeds hold no formula cell, so both formats must give the same cells, TSV's escapes read."""
    csv_result = run_cli(*command, "--format", "csv")
    tsv_result = run_cli(*command, "--format", "tsv")
    assert csv_result.exit_code == tsv_result.exit_code
    rows = read_csv(csv_result.stdout_bytes)
    assert len(rows) >= 2
    assert rows == tsv_rows(tsv_result.stdout)


def test_timeline_csv_has_the_undated_row(tmp_path, run_cli):
    build_index(tmp_path, {"a.txt": wire("2021-03-01", "PARIS, March 1. /AFP/.", "Zebras."), "b.txt": "Zebras, undated."})
    rows = read_csv(run_cli("timeline", "--format", "csv", "zebras").stdout_bytes)
    assert rows == [["period", "count"], ["2021-03", "1"], ["undated", "1"]]


def test_bom_only_when_asked_through_the_installed_command(seeded_index, run_installed):
    plain = run_installed("sources", "--format", "csv", "Taliban")
    marked = run_installed("sources", "--format", "csv", "--bom", "Taliban")
    assert plain.returncode == marked.returncode == 0
    assert not plain.stdout.startswith(BOM)
    assert marked.stdout == BOM + plain.stdout
    assert read_csv(marked.stdout[len(BOM):]) == read_csv(plain.stdout)
    assert read_csv(plain.stdout)[0] == ["kind", "name", "count"]


def test_csv_is_utf8_whatever_the_locale_s_encoding(corpus_index, run_installed):
    result = run_installed("query", "--format", "csv", "--bom", "zebras", env={"PYTHONIOENCODING": "latin-1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(BOM)
    assert "Ünïcödé ☃ zebra, 東京." in result.stdout.decode("utf-8")


def test_bom_without_csv_is_a_one_line_error(seeded_index, run_installed):
    result = run_installed("stats", "--format", "tsv", "--bom")
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.decode().count("\n") == 1 and "--bom goes with --format csv only" in result.stderr.decode()


def test_tsv_is_unchanged_by_csv(corpus_index, run_cli):
    lines = run_cli("query", "--format", "tsv", "-n", "0", "zebras").stdout.split("\n")
    row = next(line.split("\t") for line in lines if "feed.jsonl#1" in line)
    assert row[6] == FEED[0]["title"]  # no quote in front: neutralising is for CSV only
    assert any("new\\nline" in line for line in lines)


@pytest.mark.parametrize(
    "text, cell",
    [
        ("=1+2", "'=1+2"),
        ("+33 1 23", "'+33 1 23"),
        ("-5% in a week", "'-5% in a week"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("'quoted'", "'quoted'"),
        ("", ""),
    ],
)
def test_formula_cells_get_a_quote_in_front(text, cell):
    out = io.StringIO()
    write_csv(out, "csv", ["cell"], [[text]])
    assert read_csv(out.getvalue().encode()) == [["cell"], [cell]]


@given(st.lists(st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]) | st.sampled_from(',"\n\r\t=+-@')), min_size=1, max_size=4))
def test_any_text_round_trips_through_csv(values):
    out = io.StringIO()
    write_csv(out, "csv", [f"c{number}" for number in range(len(values))], [values])
    rows = read_csv(out.getvalue().encode())
    assert rows[1] == [neutralised(value.translate(BIDI_CONTROLS)) for value in values]


BIDI_CONTROLS = {code: "\ufffd" for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def test_browser_export_writes_through_the_shared_writer(corpus_index, tmp_path, run_cli):
    from archsearch.browser.session import Session

    session = Session(corpus_index)
    path = session.export_csv(session.run("zebras"), tmp_path)
    exported = as_dicts(read_csv(path.read_bytes()))
    listed = as_dicts(read_csv(run_cli("query", "--format", "csv", "-n", "0", "zebras").stdout_bytes))
    assert not path.read_bytes().startswith(BOM) and path.read_bytes().endswith(b"\r\n")
    assert list(exported[0]) == [
        "rank", "date", "title", "source", "place", "section", "copies", "id", "path",
        "url", "author", "language", "format", "fetched",
    ]
    shared = ("rank", "date", "title", "source", "id", "path", "url", "author", "language", "format")
    assert [{column: row[column] for column in shared} for row in exported] == [
        {column: row[column] for column in shared} for row in listed
    ]
    assert exported[0]["copies"] == ""
    assert any(row["title"] == "'" + FEED[0]["title"] for row in exported)  # formulas neutralised there too
