import datetime
import gzip

import pytest

from archsearch.formats import Article, BadRecord, UnreadableFile, read_file

from format_files import news_page, write_warc


def articles(items):
    return [item for item in items if isinstance(item, Article)]


@pytest.mark.parametrize("compressed", [True, False])
def test_one_article_per_successful_html_response(tmp_path, compressed):
    path = write_warc(tmp_path / ("crawl.warc.gz" if compressed else "crawl.warc"), gzip=compressed)
    items = list(read_file(path))
    assert all(isinstance(item, Article) for item in items)  # robots.txt and the redirect: no warning
    herat, mazar = items
    assert herat.title == "Taliban reopen girls' schools in Herat"
    assert mazar.title == "Taliban reopen girls' schools in Mazar"
    assert herat.url == "https://ledger.example.com/world/herat"  # the record's target, not the canonical link
    assert herat.format == "warc"
    assert herat.date == datetime.date(2021, 12, 10)  # from the page
    assert herat.fetched == datetime.datetime(2023, 5, 1, 12, tzinfo=datetime.UTC)  # the crawl, kept apart
    assert herat.key.startswith("urn:uuid:") and herat.key != mazar.key
    assert "cookies" not in herat.body and "Disallow" not in herat.body


def test_record_keys_are_stable(tmp_path):
    path = write_warc(tmp_path / "crawl.warc.gz")
    assert [a.key for a in read_file(path)] == [a.key for a in read_file(path)]


def test_a_whole_file_gzip_is_read_too(tmp_path):
    plain = write_warc(tmp_path / "crawl.warc", gzip=False)
    path = tmp_path / "recompressed.warc.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    assert len(articles(read_file(path))) == 2


@pytest.mark.parametrize("compressed", [True, False])
def test_truncated_crawl_keeps_the_records_before_the_cut(tmp_path, compressed):
    path = write_warc(tmp_path / ("crawl.warc.gz" if compressed else "crawl.warc"), gzip=compressed)
    path.write_bytes(path.read_bytes()[:-30])  # inside the last response
    items = list(read_file(path))
    assert [type(item) for item in items] == [Article, BadRecord]
    assert items[0].title.endswith("Herat")
    reason = str(items[1])
    assert reason.startswith("truncated WARC file: the file ends inside record 8 (https://ledger.example.com/world/mazar)")
    assert reason.endswith("; read 1 articles before it")


def test_a_crawl_cut_before_any_page_is_unreadable(tmp_path):
    path = write_warc(tmp_path / "crawl.warc.gz")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UnreadableFile, match="^truncated gzip file$"):
        list(read_file(path))


def test_damaged_warc_is_one_reason(tmp_path):
    path = tmp_path / "junk.warc"
    path.write_bytes(b"WARC/1.0\r\nthis is not a header block\r\n\r\n" * 3)
    with pytest.raises(UnreadableFile, match="^no article in the warc file$"):
        list(read_file(path))


def test_damage_after_the_first_record_is_one_warning(tmp_path):
    path = write_warc(tmp_path / "crawl.warc", gzip=False)
    path.write_bytes(path.read_bytes() + b"garbage that is no record\r\n\r\n")
    items = list(read_file(path))
    assert len(articles(items)) == 2
    [bad] = [item for item in items if isinstance(item, BadRecord)]
    assert str(bad).startswith("damaged WARC file after record 8: ")


def test_arc_file(tmp_path):
    page = news_page("Kunduz").encode()
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + page
    version = b"1 0 Test\nURL IP-address Archive-date Content-type Archive-length\n"
    path = tmp_path / "crawl.arc.gz"
    path.write_bytes(
        gzip.compress(b"filedesc://crawl.arc 0.0.0.0 20230501120000 text/plain %d\n%s\n" % (len(version), version))
        + gzip.compress(b"https://ledger.example.com/kunduz 1.2.3.4 20230501120000 text/html %d\n%s\n" % (len(http), http))
    )
    [article] = read_file(path)
    assert article.title == "Taliban reopen girls' schools in Kunduz"
    assert article.url == "https://ledger.example.com/kunduz"
    assert article.fetched == datetime.datetime(2023, 5, 1, 12, tzinfo=datetime.UTC)
