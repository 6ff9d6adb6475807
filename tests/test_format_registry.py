import datetime
import gzip
import io
import subprocess
import sys
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.formats import FORMATS, Article, UnreadableFile, read_file
from archsearch.formats.datevalues import parse_date
from archsearch.formats.registry import sniff
from archsearch.formats.source import Source

from format_files import MULTIPART_MAIL, NEWS_PAGE, write_pdf

WIRE = " date 2021-12-10 KABUL, December 10. /TASS/. The Taliban said on Friday that talks would resume.\n"


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            # a fixed date, so that the same entries make the same bytes: test ids show some of them
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("a.txt", WIRE.encode(), "text"),
        ("a.html", b"<html><body>" + WIRE.encode(), "html"),
        ("feed.html", b'{"title": "x", "text": "y"}\n', "jsonl"),  # content first
        ("page", NEWS_PAGE.encode(), "html"),
        ("page.htm", b"<p>A fragment of a page, no html element</p>", "html"),  # extension second
        ("crawl", b"WARC/1.0\r\nWARC-Type: warcinfo\r\n\r\n", "warc"),
        ("crawl.arc", b"filedesc://crawl.arc 0.0.0.0 20230501120000 text/plain 0\n", "warc"),
        ("tip.txt", MULTIPART_MAIL, "email"),
        ("box", b"From a@example.com Fri Dec 10 09:00:00 2021\n" + MULTIPART_MAIL, "mbox"),
        ("feed.txt", b'{"title": "x", "text": "y"}\n', "jsonl"),
        ("feed.json", b'{"title": "x", "text": "y"}\n', "json"),
        ("all", b'[{"title": "x"}]', "json"),
        ("export.dat", b"title\tdate\tbody\nx\t2021\ty\n", "tsv"),
        ("note.txt", b"---\ntitle: x\n---\nText\n", "frontmatter"),
        ("report", b"%PDF-1.4\n", "pdf"),
        # Text that merely looks a little like the shapes above stays text.
        ("story.txt", b"From Kabul to Kandahar, the road is open.\n\nMore text.\n", "text"),
        ("story2.txt", b"Date: 2021-12-10\nA note that is not a mail.\n", "text"),
        ("story3.txt", b"Home, sweet home, text and more text, body\n", "text"),
        ("story4.txt", b"[Reuters] KABUL - Talks resumed.\n", "text"),
        ("story5.txt", b"{Updated} KABUL - Talks resumed.\n", "text"),
        ("story6.txt", b"---\n\nA story after a rule.\n\n---\n\nand: more\n", "text"),
    ],
)
def test_sniffing(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff(Source(path)).name == expected


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("report.docx", zip_bytes({"[Content_Types].xml": b"x", "word/document.xml": b"<w/>"}), "docx"),
        ("report", zip_bytes({"[Content_Types].xml": b"x", "word/document.xml": b"<w/>"}), "docx"),
        ("book", zip_bytes({"mimetype": b"application/epub+zip"}), "epub"),
        ("letter.odt", zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text"}), "odt"),
        ("photo.dat", b"\x89PNG\r\n\x1a\n" + bytes(100), "png"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(100), "jpg"),  # the extension names it more precisely
        ("interview.mp3", b"ID3\x03" + bytes(100), "mp3"),
        ("clip", b"\x00\x00\x00\x18ftypmp42" + bytes(100), "mp4"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "doc"),
        ("notes.rtf", b"{\\rtf1\\ansi Some text}", "rtf"),
        ("scan.tiff", b"no signature, but a known extension \x00\x01", "tiff"),
        ("page.docx.gz", gzip.compress(zip_bytes({"word/document.xml": b"<w/>"}), mtime=0), "docx"),
    ],
)
def test_known_formats_not_read_are_named(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=f"^unsupported format: {reason}$"):
        list(read_file(path))


def test_unknown_binary_is_still_a_binary_file(tmp_path):
    path = tmp_path / "blob.xyz"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UnreadableFile, match="^binary file$"):
        list(read_file(path))


def test_gzip_of_any_format(tmp_path):
    path = tmp_path / "wire.txt.gz"
    path.write_bytes(gzip.compress(WIRE.encode()))
    [article] = read_file(path)
    assert article.date == datetime.date(2021, 12, 10) and article.format == "text"
    assert Source(path).name == "wire.txt" and Source(path).extension == "txt"


def test_gzip_content_under_a_plain_name(tmp_path):
    path = tmp_path / "wire.txt"
    path.write_bytes(gzip.compress(WIRE.encode()))
    [article] = read_file(path)
    assert article.place == "Kabul"


def test_truncated_gzip_of_one_article(tmp_path):
    path = tmp_path / "wire.txt.gz"
    path.write_bytes(gzip.compress((WIRE * 50).encode())[:-12])
    with pytest.raises(UnreadableFile, match="^truncated gzip file$"):
        list(read_file(path))


def test_damaged_gzip(tmp_path):
    path = tmp_path / "wire.txt.gz"
    data = bytearray(gzip.compress((WIRE * 50).encode()))
    data[20:40] = bytes(20)
    path.write_bytes(bytes(data))
    with pytest.raises(UnreadableFile, match=r"^damaged gzip file \("):
        list(read_file(path))


def test_bytes_already_read_are_used(tmp_path):
    path = tmp_path / "wire.txt"
    [article] = read_file(path, data=WIRE.encode())  # the file itself does not exist
    assert article.place == "Kabul"


def test_every_format_has_a_reader():
    for fmt in FORMATS.values():
        assert callable(fmt.load())


def test_pdf_folder_sniffed_by_content(tmp_path):
    path = write_pdf(tmp_path / "report.bin", ["Words of the report"])
    assert sniff(Source(path)).name == "pdf"


def test_readers_load_their_libraries_only_when_used():
    code = (
        "import sys, archsearch.formats as f, archsearch.indexing;"
        "print(sorted(m for m in ('trafilatura', 'htmldate', 'warcio', 'pypdf', 'lxml') if m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "value",
    [
        "2021-12-10", "2021-12-10T08:30:00Z", "2021-12-10T23:30:00-05:00", "2021-12-10 08:30:00.123+05:30",
        "2021-12-10T08:30", "Fri, 10 Dec 2021 08:30:00 +0000", "10 Dec 2021 08:30:00 GMT", "2021/12/10",
        "December 10, 2021", "10 December 2021", "Dec. 10, 2021", 1639125000, 1639125000.5, "1639125000",
    ],
)
def test_usual_date_forms(value):
    assert parse_date(value) == datetime.date(2021, 12, 10)


@pytest.mark.parametrize("value", ["", "yesterday", "2021-13-01", "2021-02-30", "12/10/2021", None, True, "abc 2021"])
def test_not_dates(value):
    assert parse_date(value) is None


@given(st.dates(min_value=datetime.date(1971, 1, 1), max_value=datetime.date(2200, 12, 31)))
def test_dates_round_trip(day):
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%Y/%m/%d")) == day
    assert parse_date(day.strftime("%a, %d %b %Y 12:00:00 +0000")) == day


@given(st.text(max_size=40))
def test_parse_date_never_raises(text):
    parse_date(text)


_SHAPES = st.sampled_from([
    b"", b"{", b"[", b"---\n", b"<html>", b"From a@b ", b"From: a@b\nSubject: s\nDate: x\n\n", b"title,text\n",
    b"title\ttext\n", b"WARC/1.0\r\n", b"%PDF-1.4\n", b"\x1f\x8b\x08\x00", b"PK\x03\x04",
])
_NAMES = st.sampled_from(["a.txt", "a.html", "a.jsonl", "a.json", "a.csv", "a.tsv", "a.eml", "a.mbox", "a.warc", "a.pdf", "a.gz", "a"])


@settings(deadline=None)  # the first HTML or PDF example imports its library
@given(name=_NAMES, start=_SHAPES, rest=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_content_gives_articles_bad_records_or_one_reason(tmp_path_factory, name, start, rest):
    path = tmp_path_factory.mktemp("any") / name
    path.write_bytes(start + rest)
    try:
        for item in read_file(path):
            assert (item.title or item.body).strip() if isinstance(item, Article) else "\n" not in str(item)
    except UnreadableFile as exc:
        assert str(exc) and "\n" not in str(exc)


# Names of export columns, and what stands between them in a line of prose or a header.
column_name_parts = st.sampled_from(
    ["text", "Body", "main_text", "Full-Text", "TITLE", "date", "ß", "ﬁ", "İ", "Ⅻ", "_", "a", "٣", "é", " ", ".", "\u00a0",
     "\u2014", "\u0301", "\ud800", "\t", ",", ", ", "\r", "ſtory", "K", "€", "SÃO PAULO", "МОСКВА", "\u200b", "😀"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(column_name_parts, max_size=40).map("".join) | st.text(st.characters(exclude_categories=()), max_size=200),
       st.sampled_from([",", "\t"]))
def test_a_lines_keys_are_its_names_keys_one_by_one(line, delimiter):
    from archsearch.formats.columns import name_key, name_keys

    assert name_keys(line, delimiter) == [name_key(name) for name in line.split(delimiter)]


@pytest.mark.parametrize("signature, offset, kind", [
    (b"\x89PNG", 0, "png"), (b"WEBP", 8, "webp"), (b"ftypM4A", 4, "m4a"), (b"ftyp", 4, "mp4"), (b"Rar!", 0, "rar"),
])
def test_each_signature_names_its_format_wherever_it_is(tmp_path, signature, offset, kind):
    path = tmp_path / "file.dat"
    path.write_bytes(b"\x01" * offset + signature + b"\x02" * 64)
    with pytest.raises(UnreadableFile, match=f"unsupported format: {kind}"):
        sniff(Source(path))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=20_000) | st.binary(max_size=3_000).map(gzip.compress) | st.just(b"\x1f\x8b"),
       st.integers(0, 25_000))
def test_bytes_already_read_read_as_the_file_does(tmp_path_factory, data, max_bytes):
    path = tmp_path_factory.mktemp("source") / "file.txt"
    path.write_bytes(data)
    on_disk, in_memory = Source(path), Source(path, data)
    assert (in_memory.compressed, in_memory.head) == (on_disk.compressed, on_disk.head)

    def content(source):
        try:
            return source.read(max_bytes)
        except UnreadableFile as exc:
            return str(exc)

    assert content(in_memory) == content(on_disk)


_HEADER_LINES = st.sampled_from(
    ["From: a@b.c", "To: d@e.f", "Received: by x", "Subject: hi", "X-Other: y", " folded on", "\tfolded",
     "Not a header", "", "\r", "From a@b", "date: 2021-01-01", "Message-ID: <m>"]
)


@given(st.lists(_HEADER_LINES | st.text(st.sampled_from("Fr: \t\r\nab-"), max_size=12), max_size=12),
       st.sampled_from(["\n", "\r\n"]))
def test_a_mail_header_block_is_told_as_the_whole_heads_lines_tell_it(lines, line_end):
    from archsearch.formats import registry

    text = line_end.join(lines)
    names = set()
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            expected = len(names & registry._MAIL_HEADERS) >= 2 and bool(names & registry._SENDER_HEADERS)
            break
        if line[0] in " \t":
            continue
        header = registry._MAIL_HEADER.match(line)
        if header is None:
            expected = False
            break
        names.add(header[1].lower())
    else:
        expected = False
    assert registry._is_mail_header_block(text) == expected
