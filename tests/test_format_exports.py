import datetime
import gzip
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsearch.formats import Article, BadRecord, UnreadableFile, read_file, read_article
from archsearch.formats.columns import ColumnMap

JSON_LINES = (
    "\ufeff"
    + json.dumps({
        "headline": "Ceasefire holds in the north",
        "published": "2021-12-10T08:30:00Z",
        "text": "KABUL (Reuters) - Fighting stopped overnight.\n\nResidents returned to their homes.",
        "link": "https://wire.example/1",
        "source": {"id": None, "name": "Wire Service"},
        "byline": ["Sara Ahmadi", "Tom Lee"],
        "lang": "en",
    })
    + "\n"
    + '{"headline": "Broken record", "text": \n'
    + "\n"
    + json.dumps({"title": "No body here", "date": "2021-12-11"})
    + "\n"
    + json.dumps({"title": "Third story", "pubDate": "Sat, 11 Dec 2021 10:00:00 +0000", "content": "Markets reopened."})
    + "\n"
)


def split(items):
    items = list(items)
    return [i for i in items if isinstance(i, Article)], [str(i) for i in items if isinstance(i, BadRecord)]


def test_json_lines(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(JSON_LINES, encoding="utf-8")
    articles, bad = split(read_file(path))
    assert bad == ["line 2: malformed JSON (Expecting value)", "line 4: no text (no value for text, body, content, article, ...)"]
    first, third = articles
    assert first.title == "Ceasefire holds in the north"
    assert first.date == datetime.date(2021, 12, 10)
    assert first.body == "KABUL (Reuters) - Fighting stopped overnight.\n\nResidents returned to their homes."
    assert (first.url, first.source, first.author, first.language) == (
        "https://wire.example/1", "Wire Service", "Sara Ahmadi, Tom Lee", "en"
    )
    assert first.place == "Kabul"
    assert (first.key, third.key) == ("1", "5")  # the line each record is on
    assert first.format == "jsonl"
    assert third.date == datetime.date(2021, 12, 11)


def test_read_article_by_key(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(JSON_LINES, encoding="utf-8")
    assert read_article(path, "5").title == "Third story"
    with pytest.raises(UnreadableFile, match="^no record '3' in the file$"):
        read_article(path, "3")


def test_json_array(tmp_path):
    path = tmp_path / "export.json"
    records = [
        {"title": "One", "date": 1639125000, "body": "First text."},
        "not an object",
        {"title": "Two", "date": "2021/12/12", "body": "Second text.", "url": "https://x.example/2"},
    ]
    path.write_text(json.dumps(records, indent=2))
    articles, bad = split(read_file(path))
    assert [a.title for a in articles] == ["One", "Two"]
    assert [a.key for a in articles] == ["1", "3"]
    assert [a.date for a in articles] == [datetime.date(2021, 12, 10), datetime.date(2021, 12, 12)]
    assert bad == ["record 2: not an object but a string"]
    assert articles[0].format == "json"


@pytest.mark.parametrize(
    "content, kind", [('{"title": "x", "body": "y"}', "one object"), ("42", "a number"), ('"text"', "a string")]
)
def test_json_that_is_not_an_array_of_objects(tmp_path, content, kind):
    path = tmp_path / "odd.json"
    path.write_text(content)
    with pytest.raises(UnreadableFile, match=f"^JSON that is not an array of objects \\(it is {kind}\\)$"):
        list(read_file(path))


def test_json_lines_named_json(tmp_path):
    path = tmp_path / "feed.json"
    path.write_text('{"title": "A", "text": "one"}\n{"title": "B", "text": "two"}\n')
    assert [a.title for a in read_file(path)] == ["A", "B"]


CSV_EXPORT = (
    "\ufeffdate,source,title,text,url\r\n"
    '2021-12-10,Daily Ledger,"Quoted, title","First paragraph of the story.\r\n\r\nSecond, with ""quotes"".",https://a.example\r\n'
    "2021-12-11,Daily Ledger,Ragged row,only four fields\r\n"
    "1639212000,Daily Ledger,Last one,Closing text.,https://b.example\r\n"
)


def test_csv_with_quoted_newlines_bom_and_a_ragged_row(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(CSV_EXPORT, encoding="utf-8", newline="")
    articles, bad = split(read_file(path))
    assert bad == ["line 5: 4 fields where the header has 5"]  # the quoted text spans lines 2 to 4
    first, last = articles
    assert first.title == "Quoted, title"
    assert first.body == 'First paragraph of the story.\n\nSecond, with "quotes".'
    assert first.source == "Daily Ledger" and first.url == "https://a.example"
    assert (first.key, last.key) == ("2", "6")  # the line each record starts on
    assert last.date == datetime.date(2021, 12, 11)
    assert first.format == "csv"


def test_tsv_gzipped(tmp_path):
    path = tmp_path / "export.tsv.gz"
    path.write_bytes(gzip.compress(b"Headline\tPublish Date\tBody\nTab story\t2021-12-10 08:00\tSome text.\n"))
    [article] = read_file(path)
    assert (article.title, article.date, article.body, article.format) == (
        "Tab story", datetime.date(2021, 12, 10), "Some text.", "tsv"
    )


def test_csv_sniffed_without_its_extension(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text("title,date,text\nSniffed,2021-12-10,It is an export.\n")
    [article] = read_file(path)
    assert article.format == "csv"


def test_csv_without_a_text_column(tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(UnreadableFile, match=r"^no text column in the header \(looked for text, body, .*\.archsearch-columns\.toml\)$"):
        list(read_file(path))


def test_explicit_column_mapping(tmp_path):
    (tmp_path / ".archsearch-columns.toml").write_text(
        'title = "headline_text"\n\n["stories.csv"]\nbody = "story"\ndate = "first_seen"\n'
    )
    (tmp_path / "stories.csv").write_text(
        "headline_text,story,first_seen,text\nMapped title,The real story.,2021-12-10,not the body\n"
    )
    [article] = read_file(tmp_path / "stories.csv")
    assert (article.title, article.body, article.date) == ("Mapped title", "The real story.", datetime.date(2021, 12, 10))


def test_column_mapping_with_an_unknown_field(tmp_path):
    (tmp_path / ".archsearch-columns.toml").write_text('headline = "x"\n')
    (tmp_path / "a.csv").write_text("title,text\nA,b\n")
    with pytest.raises(UnreadableFile, match=r"^\.archsearch-columns\.toml: unknown field 'headline'"):
        list(read_file(tmp_path / "a.csv"))


def test_unreadable_date_is_a_warning_and_the_article_is_undated(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"title": "A", "date": "last Tuesday", "text": "b"}\n')
    [article] = read_file(path)
    assert article.date is None
    assert article.warnings == ("line 1: unreadable date 'last Tuesday'",)


def test_export_of_only_bad_records_is_unreadable(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n{also bad\n")
    items = []
    with pytest.raises(UnreadableFile, match="^no article among 2 records$"):
        for item in read_file(path):
            items.append(item)
    assert len(items) == 2


_NAME_VARIANTS = {
    "date": ["date", "published", "publish_date", "pubDate", "datetime", "Published At"],
    "body": ["text", "body", "content", "article", "Full Text"],
    "url": ["url", "link"],
    "source": ["source", "site", "outlet", "domain"],
    "author": ["author", "byline"],
    "language": ["language", "lang"],
    "title": ["title", "headline"],
}


@given(st.fixed_dictionaries({field: st.sampled_from(names) for field, names in _NAME_VARIANTS.items()}))
def test_usual_names_map_whatever_their_spelling(names):
    assert ColumnMap({}).assign(names.values()) == names
