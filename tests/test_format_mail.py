import datetime

import pytest

from archsearch.formats import Article, BadRecord, UnreadableFile, read_file

from format_files import MULTIPART_MAIL


def test_multipart_message(tmp_path):
    path = tmp_path / "tip.eml"
    path.write_bytes(MULTIPART_MAIL)
    [article] = read_file(path)
    assert article.title == "Tip: Zürich council vote rigged?"  # RFC 2047, base64
    assert article.author == "Jürgen Müller"  # RFC 2047, quoted-printable
    assert article.date == datetime.date(2021, 12, 10)
    assert article.format == "email"
    # Quoted-printable decoded, soft line break joined; no headers, no attachment, no HTML copy.
    assert article.body == (
        "The council vote in Zürich on Thursday was decided before the meeting, according to two "
        "members who asked not to be named.\n\nThey say the minutes were written in advance."
    )
    for word in ("DKIM", "AbCdEf", "attachmentword", "JVBERi0", "HTML copy", "Received"):
        assert word not in article.body


def test_html_only_message_is_read_as_html(tmp_path):
    path = tmp_path / "newsletter.eml"
    paragraph = "<p>The ministry confirmed on Friday that the border crossing at Torkham would reopen next week for trucks carrying food and medicine.</p>"
    path.write_bytes(
        b"From: Desk <desk@example.com>\nTo: you@example.com\nSubject: Border news\n"
        b"Date: Fri, 10 Dec 2021 09:00:00 +0000\nMIME-Version: 1.0\n"
        b"Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + __import__("base64").encodebytes(f"<html><body><nav>Unsubscribe</nav>{paragraph * 2}</body></html>".encode())
    )
    [article] = read_file(path)
    assert article.title == "Border news"
    assert "Torkham would reopen" in article.body and "<p>" not in article.body
    assert article.author == "Desk"


def test_message_without_text_is_unreadable(tmp_path):
    path = tmp_path / "empty.eml"
    path.write_bytes(b"From: a@example.com\nTo: b@example.com\nSubject: nothing\nMIME-Version: 1.0\n"
                     b"Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n")
    with pytest.raises(UnreadableFile, match="^no text part in the message$"):
        list(read_file(path))


def test_mbox(tmp_path):
    path = tmp_path / "tips"  # no extension: sniffed
    content = (
        b"From juergen@example.org Fri Dec 10 09:00:00 2021\n" + MULTIPART_MAIL
        + b"\nFrom b@example.com Sat Dec 11 10:00:00 2021\nFrom: Bea <b@example.com>\nTo: desk@example.com\n"
        b"Subject: Second tip\nDate: Sat, 11 Dec 2021 10:00:00 +0000\n\nA body line.\n>From the archive, quoted.\n"
        b"\nFrom c@example.com Sat Dec 11 11:00:00 2021\nFrom: c@example.com\nSubject: only an image\n"
        b"Content-Type: image/png\n\nxx\n"
    )
    path.write_bytes(content)
    third_line = content.split(b"\n").index(b"From c@example.com Sat Dec 11 11:00:00 2021") + 1
    items = list(read_file(path))
    first, second, third = items
    assert first.title == "Tip: Zürich council vote rigged?" and first.key == "1"
    assert second.title == "Second tip" and second.key == "2" and second.author == "Bea"
    assert second.body == "A body line.\nFrom the archive, quoted."  # mboxrd quoting undone
    assert second.format == "mbox"
    assert isinstance(third, BadRecord) and str(third) == f"message 3 (line {third_line}): no text part"
