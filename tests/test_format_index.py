"""Indexing a folder of real archive files: every format through the registry, containers by record."""

import datetime
import gzip
import io
import json
import zipfile

import pytest

from archsearch.errors import ArchsearchError
from archsearch.indexing import update_index
from archsearch.searching import find_article, search

from conftest import wire
from format_files import MULTIPART_MAIL, NEWS_PAGE, write_pdf, write_warc

FEED = "".join(
    json.dumps({"title": title, "date": "2021-12-1%d" % number, "text": text, "url": f"https://wire.example/{number}",
                "author": "Sara Ahmadi"}) + "\n"
    for number, (title, text) in enumerate(
        [("Zebra census begins", "Rangers counted zebras in the park."),
         ("Flood warning", "Rivers rose after heavy rain."),
         ("Zebra census ends", "The zebras numbered four hundred.")],
        start=1,
    )
)


@pytest.fixture
def archive(tmp_path):
    folder = tmp_path / "archive"
    (folder / "exports").mkdir(parents=True)
    (folder / "page.html").write_text(NEWS_PAGE)
    write_warc(folder / "crawl.warc.gz")
    (folder / "exports" / "feed.jsonl").write_text(FEED)
    (folder / "exports" / "bad.json").write_text('{"not": "an array"}')
    (folder / "tip.eml").write_bytes(MULTIPART_MAIL)
    write_pdf(folder / "report.pdf", ["Annual report on press freedom in Kabul"], title="Press Freedom Report")
    (folder / "note.md").write_text("---\ntitle: Field note\nauthor: Tom Lee\ndate: 2022-03-04\n---\nA note on zebras.\n")
    (folder / "wire.txt").write_text(wire("2021-12-10", "KABUL, December 10. /TASS/.", "Talks resumed."))
    with zipfile.ZipFile(folder / "letter.docx", "w") as docx:
        docx.writestr("word/document.xml", "<w:document>zebras</w:document>")
    return folder


def ids(result):
    return sorted(hit.id for hit in result.hits)


def test_a_mixed_folder_is_indexed_article_by_article(archive, index_dir):
    report = update_index(index_dir, [str(archive)])
    # Files are counted (as the progress bar counts them); the total is articles.
    assert (report.added, report.total) == (7, 10)
    assert sorted((path.rsplit("/", 1)[1], reason) for path, reason in report.skipped) == [
        ("bad.json", "JSON that is not an array of objects (it is one object)"),
        ("letter.docx", "unsupported format: docx"),
    ]
    assert ids(search(index_dir, "zebras", limit=0, collapse_copies=False)) == [
        "exports/feed.jsonl#1", "exports/feed.jsonl#3", "note.md"
    ]
    assert ids(search(index_dir, "Herat", limit=0, collapse_copies=False)) == ["crawl.warc.gz#" + find_key(index_dir, "Herat"), "page.html"]


def find_key(index_dir, word):
    [hit] = [hit for hit in search(index_dir, word, limit=0, collapse_copies=False).hits if "#" in hit.id]
    return hit.id.split("#", 1)[1]


def test_furniture_words_do_not_match(archive, index_dir):
    update_index(index_dir, [str(archive)])
    for words in ("cookies", '"cheap flights"', "gtag", "Zealously", "Earthquake", "Disallow", "DKIM", "FlateDecode"):
        assert search(index_dir, words, limit=0, collapse_copies=False).total == 0, words


def test_new_fields_are_searchable_and_shown(archive, index_dir):
    update_index(index_dir, [str(archive)])
    assert ids(search(index_dir, "url:wire.example", limit=0, collapse_copies=False)) == [f"exports/feed.jsonl#{n}" for n in (1, 2, 3)]
    assert ids(search(index_dir, "author:rahimi", limit=0, collapse_copies=False)) == sorted(
        ["page.html", "crawl.warc.gz#" + find_key(index_dir, "Herat"), "crawl.warc.gz#" + find_key(index_dir, "Mazar")]
    )
    assert ids(search(index_dir, 'author:"tom lee"', limit=0, collapse_copies=False)) == ["note.md"]
    [warc_hit] = [hit for hit in search(index_dir, "Mazar", limit=0, collapse_copies=False).hits]
    assert warc_hit.details.url == "https://ledger.example.com/world/mazar"
    assert warc_hit.details.format == "warc"
    assert warc_hit.details.fetched == "2023-05-01T12:00:00+00:00"
    assert warc_hit.date == datetime.date(2021, 12, 10)  # the page's date, not the crawl's
    assert warc_hit.snippets  # the stored body gives the passages


def test_show_one_record_of_a_container(archive, index_dir):
    update_index(index_dir, [str(archive)])
    record = find_article(index_dir, "exports/feed.jsonl#2")
    assert (record.title, record.body, record.details.url) == (
        "Flood warning", "Rivers rose after heavy rain.", "https://wire.example/2"
    )
    with pytest.raises(ArchsearchError, match="holds many articles: name one by its id, as in 'exports/feed.jsonl#1'"):
        find_article(index_dir, "exports/feed.jsonl")
    with pytest.raises(ArchsearchError, match="no article with id or path 'exports/feed.jsonl#9'"):
        find_article(index_dir, "exports/feed.jsonl#9")


def test_a_changed_container_replaces_its_articles_and_a_deleted_one_removes_them(archive, index_dir):
    update_index(index_dir, [str(archive)])
    feed = archive / "exports" / "feed.jsonl"
    feed.write_text(FEED.splitlines()[1] + "\n")  # only the flood warning is left, on line 1
    report = update_index(index_dir, [])
    assert (report.updated, report.total) == (1, 8)
    assert ids(search(index_dir, "zebras", limit=0, collapse_copies=False)) == ["note.md"]
    assert ids(search(index_dir, "flood", limit=0, collapse_copies=False)) == ["exports/feed.jsonl#1"]
    feed.unlink()
    report = update_index(index_dir, [])
    assert (report.removed, report.total) == (1, 7)
    assert search(index_dir, "flood", limit=0, collapse_copies=False).total == 0


def test_bad_records_are_warnings_and_the_rest_is_indexed(tmp_path, index_dir):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "feed.jsonl").write_text(FEED.replace('"Flood warning"', "oops", 1))
    crawl = write_warc(tmp_path / "crawl.warc.gz")
    (folder / "cut.warc.gz").write_bytes(crawl.read_bytes()[:-30])
    (folder / "cut.txt.gz").write_bytes(gzip.compress(b"some text " * 100)[:-10])
    report = update_index(index_dir, [str(folder)])
    assert report.total == 3  # two of the feed, one of the cut crawl
    assert sorted((path.rsplit("/", 1)[1], message) for path, message in report.warnings) == [
        ("cut.warc.gz", "truncated WARC file: the file ends inside record 8 (https://ledger.example.com/world/mazar); "
                        "read 1 articles before it"),
        ("feed.jsonl", "line 2: malformed JSON (Expecting value)"),
    ]
    assert [(path.rsplit("/", 1)[1], reason) for path, reason in report.skipped] == [("cut.txt.gz", "truncated gzip file")]


def test_a_folder_of_pdfs_alone_is_indexed(tmp_path, run_cli):
    folder = tmp_path / "reports"
    folder.mkdir()
    write_pdf(folder / "one.pdf", ["Press freedom in Kabul"], title="One")
    write_pdf(folder / "two.pdf", ["Press freedom in Herat"], title="Two")
    result = run_cli("index", str(folder))
    assert result.exit_code == 0, result.output
    assert "2 articles in the index" in result.output


def test_json_tsv_and_files_with_matches(archive, run_cli):
    assert run_cli("index", str(archive)).exit_code == 0
    lines = run_cli("query", "--json", "-n", "0", "zebras").output.splitlines()
    hits = [json.loads(line) for line in lines if '"hit"' in line]
    feed_hit = next(hit for hit in hits if hit["id"] == "exports/feed.jsonl#1")
    assert (feed_hit["url"], feed_hit["author"], feed_hit["format"], feed_hit["fetched"]) == (
        "https://wire.example/1", "Sara Ahmadi", "jsonl", None
    )
    tsv = run_cli("query", "--format", "tsv", "-n", "0", "zebras").output.splitlines()
    header = tsv[0].split("\t")
    row = next(line.split("\t") for line in tsv[1:] if "feed.jsonl#3" in line)
    assert row[header.index("url")] == "https://wire.example/3"
    # -l names each file once, however many of its records matched (the ids say which).
    paths = run_cli("query", "-l", "-n", "0", "zebras").output.splitlines()
    assert sorted(path.rsplit("/", 1)[1] for path in paths) == ["feed.jsonl", "note.md"]


def test_show_command_prints_the_record_and_its_fields(archive, run_cli):
    run_cli("index", str(archive))
    shown = run_cli("show", "exports/feed.jsonl#3", "--format", "plain").output
    assert "title: Zebra census ends\n" in shown
    assert "url: https://wire.example/3\n" in shown and "author: Sara Ahmadi\n" in shown
    assert "format: jsonl\n" in shown and "id: exports/feed.jsonl#3\n" in shown
    assert shown.endswith("The zebras numbered four hundred.\n")


def test_url_phrase_matches_consecutive_parts(archive, index_dir):
    update_index(index_dir, [str(archive)])
    assert ids(search(index_dir, 'url:"ledger.example.com/world"', limit=0, collapse_copies=False)) == sorted(
        ["page.html", "crawl.warc.gz#" + find_key(index_dir, "Herat"), "crawl.warc.gz#" + find_key(index_dir, "Mazar")]
    )
    assert search(index_dir, 'url:"world/ledger"', limit=0).total == 0


def test_progress_counts_files_whatever_they_hold(archive, index_dir):
    events = []
    update_index(index_dir, [str(archive)], progress=events.append)
    reading = [event for event in events if event.stage == "indexing" and event.path]
    assert len(reading) == reading[-1].done == reading[-1].total == 9  # files, not the 10 articles


def test_similar_to_a_record(archive, index_dir):
    from archsearch.related import similar

    update_index(index_dir, [str(archive)])
    result = similar(index_dir, "exports/feed.jsonl#1")
    assert result.hits[0].id == "exports/feed.jsonl#3"  # the other zebra census story


def test_worker_processes_read_every_format_as_one_process_does(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(120):
        (folder / f"feed{number}.jsonl").write_text(FEED)
        (folder / f"tip{number}.eml").write_bytes(MULTIPART_MAIL.replace(b"Thursday", b"day %d" % number))
    alone = update_index(tmp_path / "alone", [str(folder)], jobs=1)
    workers = update_index(tmp_path / "workers", [str(folder)], jobs=2)
    assert alone.total == workers.total == 120 * 4
    assert search(tmp_path / "alone", "zebras", limit=0).total == search(tmp_path / "workers", "zebras", limit=0).total == 240


def test_a_container_with_a_hash_in_its_name(tmp_path, index_dir):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "issue#5.jsonl").write_text(FEED)
    update_index(index_dir, [str(folder)])
    assert find_article(index_dir, "issue#5.jsonl#3").title == "Zebra census ends"
    with pytest.raises(ArchsearchError, match="'issue#5.jsonl' holds many articles"):
        find_article(index_dir, "issue#5.jsonl")


def test_a_missing_folder_counts_the_articles_it_keeps(tmp_path, index_dir):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "feed.jsonl").write_text(FEED)
    update_index(index_dir, [str(folder)])
    folder.rename(tmp_path / "unmounted")
    report = update_index(index_dir, [])
    assert [message for _, message in report.warnings] == ["folder not found; its 3 articles are kept (--forget drops them)"]
    assert report.total == 3
