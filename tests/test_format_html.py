import datetime
import gzip
import re

import pytest

from archsearch.formats import UnreadableFile, read_file
from archsearch.formats import html as html_format
from archsearch.formats.html import extract_page

from format_files import FURNITURE_WORDS, NEWS_PAGE


def test_news_page_fields():
    article = extract_page(NEWS_PAGE)
    assert article.title == "Taliban reopen girls' schools in Herat"
    assert article.date == datetime.date(2021, 12, 10)
    assert article.source == "Daily Ledger"
    assert article.author == "Amina Rahimi"
    assert article.url == "https://ledger.example.com/world/2021/12/taliban-schools-herat"
    assert article.language == "en"
    assert article.place == "Herat"  # from the dateline
    assert article.format == "html"
    assert article.body.startswith("HERAT, Afghanistan (AP) — Hundreds of girls returned")
    assert "million girls without access" in article.body


@pytest.mark.parametrize("word", FURNITURE_WORDS)
def test_news_page_body_has_no_furniture(word):
    article = extract_page(NEWS_PAGE)
    furniture = re.compile(rf"\b{word}\b", re.I)
    assert not furniture.search(article.body)
    assert not furniture.search(article.title)


def test_heading_is_not_repeated_in_the_body():
    assert "Taliban reopen" not in extract_page(NEWS_PAGE).body


def test_url_given_by_a_crawl_wins_over_the_canonical_link():
    assert extract_page(NEWS_PAGE, url="https://web.example/x").url == "https://web.example/x"


UNDATED_PAGE = NEWS_PAGE.replace('"datePublished": "2021-12-10T08:30:00+04:30",', "")


def test_date_from_a_time_element():
    page = UNDATED_PAGE.replace("By Amina Rahimi", 'By Amina Rahimi, <time datetime="2021-12-09T10:00">Thursday</time>')
    assert extract_page(page).date == datetime.date(2021, 12, 9)


def test_no_date_is_guessed_from_a_copyright_line_or_a_partial_url():
    # htmldate's extensive search would say 2021-01-01 (from "Copyright 2021") or 2021-12-01.
    assert "Copyright 2021" in UNDATED_PAGE and "/2021/12/" in UNDATED_PAGE
    assert extract_page(UNDATED_PAGE).date is None


def test_language_from_content_language_meta():
    page = NEWS_PAGE.replace('<html lang="en">', "<html>").replace(
        '<meta charset="utf-8">', '<meta charset="utf-8"><meta http-equiv="Content-Language" content="de-AT">'
    )
    assert extract_page(page).language == "de-AT"


def test_page_without_an_article_is_unreadable():
    with pytest.raises(UnreadableFile, match="^no article text found in the HTML page$"):
        extract_page("<html><head><title>Empty</title></head><body></body></html>")


def test_read_file_sniffs_html_under_any_name(tmp_path):
    path = tmp_path / "saved-page.txt"
    path.write_text(NEWS_PAGE)
    [article] = read_file(path)
    assert article.format == "html"
    assert article.title == "Taliban reopen girls' schools in Herat"


def test_gzipped_page(tmp_path):
    path = tmp_path / "page.html.gz"
    path.write_bytes(gzip.compress(NEWS_PAGE.encode("cp1252").replace(b'charset="utf-8"', b'charset="windows-1252"')))
    [article] = read_file(path)
    assert article.source == "Daily Ledger"


def test_huge_page_is_skipped_with_one_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(html_format, "MAX_HTML_BYTES", 4096)
    path = tmp_path / "dump.html"
    path.write_text(NEWS_PAGE + "<!-- " + "x" * 8192 + " -->")
    with pytest.raises(UnreadableFile, match=r"^HTML page too large \(over 0 MiB\)$"):
        list(read_file(path))


def test_fifty_megabyte_page_is_skipped_without_being_parsed(tmp_path):
    path = tmp_path / "huge.html"
    with open(path, "w") as file:
        file.write(NEWS_PAGE.replace("</body>", ""))
        file.write("<p>" + "filler " * (50 * 1024 * 1024 // 7) + "</p></body></html>")
    with pytest.raises(UnreadableFile, match=r"^HTML page too large \(over 16 MiB\)$"):
        list(read_file(path))


def test_library_logging_stays_off_stderr_and_does_not_pile_up(capfd):
    import logging

    handlers = []
    for _ in range(3):
        with pytest.raises(UnreadableFile):
            extract_page("<html><head><title>Empty</title></head><body></body></html>")
        handlers.append(len(logging.getLogger("trafilatura").handlers))
    logging.getLogger("trafilatura").warning("a complaint")
    assert capfd.readouterr().err == ""
    assert handlers[0] == handlers[-1]
