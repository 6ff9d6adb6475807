"""A hit's body read again from its file (formats.read_body, text.parse_body): the body the full
reader gives, for less (the file read once, only the steps that shape a plain-text body)."""

import builtins
import gzip
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archsearch.formats.registry as registry
from archsearch.engines.whoosh.store import article_body
from archsearch.formats import UnreadableFile, read_article, read_body
from archsearch.formats.text import BODY_STEPS, STEPS, parse_article, parse_body

from conftest import web, wire
from format_files import news_page, write_pdf, write_warc

# Lines of plain-text articles: every shape the steps look for, where they look for it or not.
_LINES = st.sampled_from(
    [
        " date 2021-12-10 KABUL, December 10. /TASS/. The Taliban said on Friday.", " date yesterday KABUL -",
        " date 2017-02-30 ", "Home / World / Asia / Taliban reopen girls' schools in Herat",
        "Home » Politics", "home>News>Long enough crumb to be a title here", "Taliban reopen girls' schools in Herat",
        "WASHINGTON (AP) — Officials said.", "Kabul, Dec 10 — The talks", "МОСКВА, 10 февраля. /ТАСС/. Начались",
        "موسكو، 10 فبراير /تاس/. قال", "BREAKING: news", "The ceasefire held, Gen. Smith said.", "U.S. officials met.",
        "It ended.” -KP", "Thanks. —AB", "About The Pashtun Times", "About us", "Leave a Reply", "Share this:",
        "• Related Posts…", "3 Comments", "Check Also", "Read More »", "Subscribe now", "", "", "", " ", "\t",
        "refugees crossed the border", "x" * 120, "A headline without a full stop", "Question?",
    ]
)
ARTICLE_TEXT = st.lists(st.one_of(_LINES, st.text(max_size=15)), max_size=25).map("\n".join)


@settings(max_examples=800, deadline=None)
@given(ARTICLE_TEXT)
def test_the_body_steps_give_the_body_of_the_whole_parse(text):
    assert parse_body(text) == parse_article(text).body


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_the_body_steps_give_the_body_of_the_whole_parse_for_any_text(text):
    assert parse_body(text) == parse_article(text).body


def test_the_steps_left_out_record_what_they_find_and_change_no_line():
    left_out = [step.__name__ for step in STEPS if step not in BODY_STEPS]
    assert left_out == ["take_source_from_about", "take_dateline", "derive_title"]
    assert BODY_STEPS == tuple(step for step in STEPS if step.__name__ not in left_out)  # in the same order


def _files(tmp_path):
    """Files of every format the index may read again, and some it cannot read."""
    text = wire("2021-12-10", "KABUL, December 10. /TASS/.", "Refugees crossed the border. -KP\n")
    page = web("World", "Taliban reopen girls' schools in Herat", "Pashtun Times", "Girls returned to school.")
    files = {
        "wire.txt": text.encode(),
        "page.txt": page.encode("cp1252"),
        "crlf.txt": ("\ufeff" + page).replace("\n", "\r\n").encode("utf-8"),
        "wire.txt.gz": gzip.compress(text.encode()),
        "truncated.txt.gz": gzip.compress(page.encode() * 50)[:200],
        "front.md": b"---\ntitle: Herat schools\ndate: 2021-12-10\n---\n# Herat schools\n\nGirls returned.\n",
        "front-heading.md": b"---\ntitle: Herat\n---\n# Another heading\n\nHome / World / Herat\n\nGirls returned. -KP\n\nShare this:\nx\n",
        "front-no-title.md": b"---\nsource: Ledger\n---\n# Herat schools reopen\n\nHERAT (AP) -- Girls returned.\n",
        "front-plain.md": b"---\nauthor: A. Rahimi\n---\n date 2021-12-10 KABUL, December 10. /TASS/. Girls returned.\n",
        "page.html": news_page().encode(),
        "empty.txt": b"",
        "blank.txt": b" \n\t\n",
        "binary.txt": b"\x00\x01binary",
        "controls.txt": bytes(range(1, 9)) * 100,
        "doc.docx": b"PK\x03\x04word/document.xml",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    write_warc(tmp_path / "crawl.warc.gz")
    write_pdf(tmp_path / "report.pdf", ["Herat schools reopen", "Girls returned to secondary schools."])
    (tmp_path / "folder.txt").mkdir()
    return sorted(tmp_path.iterdir()) + [tmp_path / "missing.txt"]


def _body_or_reason(read, path):
    try:
        return read(path)
    except UnreadableFile as exc:
        return UnreadableFile, str(exc)


@pytest.mark.parametrize("read_once_bytes", [1 << 20, 0])
def test_read_body_gives_what_the_whole_reader_gives(tmp_path, monkeypatch, read_once_bytes):
    """Its body, or its UnreadableFile with the same reason, for files read whole once and for
    files too large for that (read as the reader reads them)."""
    monkeypatch.setattr(registry, "_READ_ONCE_BYTES", read_once_bytes)
    for path in _files(tmp_path):
        expected = _body_or_reason(lambda path: read_article(path).body, path)
        assert _body_or_reason(read_body, path) == expected, path.name
        assert _body_or_reason(lambda path: article_body({"key": str(path)}), path) == expected, path.name


def test_a_plain_text_file_is_opened_once(tmp_path, monkeypatch):
    path = tmp_path / "wire.txt"
    path.write_text(wire("2021-12-10", "KABUL, December 10. /TASS/.", "Refugees crossed the border.\n"))
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda file, *args, **kwargs: opened.append(file) or real_open(file, *args, **kwargs))
    assert read_body(path) == "KABUL, December 10. /TASS/. Refugees crossed the border."
    assert opened == [path]


def test_a_file_larger_than_the_whole_read_is_read_as_the_reader_reads_it(tmp_path, monkeypatch):
    path = tmp_path / "wire.txt"
    path.write_text(wire("2021-12-10", "KABUL, December 10. /TASS/.", "Refugees. " * 50))
    monkeypatch.setattr(registry, "_READ_ONCE_BYTES", os.path.getsize(path) - 1)
    read_whole = []
    monkeypatch.setattr(registry.Source, "__init__", _recording_init(registry.Source.__init__, read_whole))
    assert read_body(path) == read_article(path).body
    assert read_whole[0] is None  # no bytes handed to the first Source: it reads the file itself


def _recording_init(real_init, data_given):
    def init(self, path, data=None):
        data_given.append(data)
        real_init(self, path, data)

    return init
