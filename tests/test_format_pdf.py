import datetime
import gzip

import pytest

from archsearch.formats import UnreadableFile, read_file

from format_files import write_pdf


def test_text_layer_and_metadata(tmp_path):
    path = write_pdf(
        tmp_path / "report.pdf",
        ["Annual report on press freedom", "Journalists in Kabul faced new restrictions in 2021."],
        title="Press Freedom Report 2021",
        created="D:20211210083000+01'00'",
    )
    [article] = read_file(path)
    assert article.title == "Press Freedom Report 2021"
    assert article.date == datetime.date(2021, 12, 10)
    assert "Journalists in Kabul faced new restrictions" in article.body
    assert "FlateDecode" not in article.body and "Helvetica" not in article.body
    assert article.format == "pdf"


def test_title_from_the_first_line_without_metadata(tmp_path):
    path = write_pdf(tmp_path / "notes.pdf", ["Field notes from Herat", "Second line."])
    [article] = read_file(path)
    assert article.title == "Field notes from Herat"
    assert article.date is None


def test_pdf_without_text_layer(tmp_path):
    path = write_pdf(tmp_path / "scan.pdf", [])
    with pytest.raises(UnreadableFile, match=r"^no text layer \(scanned image\?\)$"):
        list(read_file(path))


def test_damaged_pdf_is_one_line(tmp_path):
    path = write_pdf(tmp_path / "cut.pdf", ["Some words"])
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(UnreadableFile, match=r"^cannot read the PDF \(\w+: [^\n]*\)$"):
        list(read_file(path))


def test_gzipped_pdf(tmp_path):
    plain = write_pdf(tmp_path / "a.pdf", ["Compressed report text"])
    path = tmp_path / "a.pdf.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    [article] = read_file(path)
    assert "Compressed report text" in article.body


def test_malformed_creation_date_leaves_the_pdf_undated(tmp_path):
    path = write_pdf(tmp_path / "odd.pdf", ["Text of an odd report"], title="Odd", created="D:2021XX10")
    [article] = read_file(path)
    assert (article.title, article.date) == ("Odd", None)
