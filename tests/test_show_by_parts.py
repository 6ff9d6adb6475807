"""`show` of a body given in parts (a long body kept apart, read a piece at a time): the same
text and marks as of the body whole, in every format, written before the last piece is read."""

import io
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.engines.whoosh import long_bodies
from archsearch.formats import article as article_module
from archsearch import searching
from archsearch.querying import CAPITALS_FIELD, LEAD_FIELD, WORD_FORM_FIELD
from archsearch.records import replace
from archsearch.rendering import print_article
from archsearch.searching import ArticleRecord, article_matches, article_matches_by_chunks, paragraph_chunks

PIECES = st.sampled_from([
    "refugees ", "Refugees", "REFUGEES ", "refugee.", "president ", "talks", "ab", " ", "\t", "\n", "\n\n", "\n \n",
    "é", "北京", "e\u0301", "\u0301", "\x00", "\ud800", ".", "**", "[b]", "Abc ",
])
WORDS = st.sampled_from([
    {"body": frozenset({"refuge", "talk"})},
    {"body": frozenset({"refuge"}), LEAD_FIELD: frozenset({"presid"})},
    {WORD_FORM_FIELD: frozenset({"ab", "abc"}), "title": frozenset({"talk"})},
    {"body": frozenset({"refuge"}), CAPITALS_FIELD: frozenset({"REFUGEES"})},
    {"body": frozenset({"北京", "ab"})},
])


@pytest.fixture(autouse=True)
def short_leads(monkeypatch):
    """Leads of at most 12 characters: the first chunk holds the lead with room to spare, so
    short texts come in many chunks."""
    monkeypatch.setattr(article_module, "LEAD_MAX_CHARS", 12)
    monkeypatch.setattr(searching, "LEAD_MAX_CHARS", 12)


def shown(article: ArticleRecord, fmt: str, title_matches, body_matches, rest=()) -> str:
    out = io.StringIO()
    print_article(article, out, fmt, title_matches, body_matches, rest)
    return out.getvalue()


@settings(max_examples=400, deadline=None)
@given(
    st.lists(PIECES, max_size=40).map("".join),
    st.lists(PIECES, max_size=4).map("".join),
    st.lists(st.integers(0, 200), max_size=6),
    WORDS,
    st.sampled_from(["human", "plain"]),
)
def test_a_body_in_parts_is_shown_as_the_body_whole(body, title, cuts, words, fmt):
    article = ArticleRecord(id="a", path="/a", title=title, date=None, source="", place="", section="", body=body)
    points = sorted({min(cut, len(body)) for cut in cuts})
    parts = [body[start:end] for start, end in zip([0, *points], [*points, len(body)])]

    title_matches, chunks = article_matches_by_chunks(title, parts, "en", words)
    (first, first_matches), *rest = list(chunks)

    assert shown(replace(article, body=first), fmt, title_matches, first_matches, rest) == shown(
        article, fmt, *article_matches(title, body, "en", words)
    )
    assert "".join([first, *(text for text, _ in rest)]) == body


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b ", "\n", "\n\n", "\n\n\n"]), max_size=40).map("".join), st.integers(1, 9),
       st.integers(0, 20))
def test_paragraph_chunks_end_where_split_cuts(text, part_chars, first_chars):
    parts = [text[start : start + part_chars] for start in range(0, len(text), part_chars)]

    *chunks, last = list(paragraph_chunks(parts, first_chars))

    assert "".join([*chunks, last]) == text
    assert [paragraph for chunk in chunks for paragraph in chunk.split("\n\n")[:-1]] + last.split("\n\n") == text.split("\n\n")
    assert not chunks or len(chunks[0]) >= first_chars


@pytest.mark.parametrize("options", [["--format", "plain"], ["--color", "always"]])  # plain, human
def test_show_writes_a_long_body_before_it_decompresses_the_rest(tmp_path, monkeypatch, capsys, options):
    """The opening of a page kept apart is written, marked, before its last pieces are read."""
    from archsearch.cli import run
    from archsearch.indexing import update_index

    monkeypatch.setattr(long_bodies, "LONG_BODY_CHARS", 3_000)
    monkeypatch.setattr(long_bodies, "PIECE_CHARS", 700)
    monkeypatch.setattr(searching, "SHOWN_FIRST_CHARS", 1_400)
    paragraphs = "\n".join(f"<p>Paragraph {n}: the refugees of the valley brought the harvest in.</p>" for n in range(200))
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "page.html").write_text(
        f"<html><head><title>Refugees</title></head><body><article>{paragraphs}</article></body></html>", encoding="utf-8"
    )
    update_index(tmp_path / "index", [str(tmp_path / "corpus")])
    events = []
    decompress = zlib.decompress
    monkeypatch.setattr(long_bodies.zlib, "decompress", lambda data: events.append("piece") or decompress(data))
    written = io.StringIO()

    class Out(io.StringIO):
        def write(self, text):
            events.append("text" if "Paragraph 0:" in text else "other")
            return written.write(text)

    monkeypatch.setattr("sys.stdout", Out())
    capsys.readouterr()
    assert run(["show", "page.html", "--query", "refugees", *options, "--index", str(tmp_path / "index")]) == 0

    assert written.getvalue().count("refugees") == 200
    assert written.getvalue().count("**refugees**") == (200 if "plain" in options else 0)
    # (zlib.decompress: the pieces, and Whoosh's stored fields)
    assert events.count("piece") > 3
    # the first chunk is written before the last piece is decompressed
    assert events.index("text") < len(events) - 1 - events[::-1].index("piece")


def index_long_text_file(tmp_path) -> None:
    """tmp_path/index of one plain-text file, long.txt, of 1,200 paragraphs (~80 kB)."""
    from archsearch.indexing import update_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paragraphs = "\n\n".join(f"Paragraph {n}: the Refugees of the valley brought the harvest in." for n in range(1200))
    (corpus / "long.txt").write_text(f" date 2017-02-15 OSLO, February 15. /NTB/. Refugees waited.\n\n{paragraphs}\n\nEnd.\n",
                                     encoding="utf-8")
    update_index(tmp_path / "index", [str(corpus)])


def read_as_too_long_to_keep(monkeypatch) -> None:
    """A file of over 1,000 bytes is read by openings, the first of 20,000 (one that reaches past
    the head's lines)."""
    monkeypatch.setattr(searching, "KEPT_BODY_CHARS", 1_000)
    monkeypatch.setattr(searching, "SHOWN_FIRST_CHARS", 20_000)


@pytest.mark.parametrize("fmt", ["plain", "json", "csv"])
def test_a_long_text_file_is_shown_from_its_opening_as_it_was_whole(tmp_path, monkeypatch, run_cli, fmt):
    """A plain-text file too long to be kept is shown from its opening, the rest once it is parsed
    whole: the same output as the body read whole at once."""
    index_long_text_file(tmp_path)
    command = ["show", "long.txt", "--query", "refugees", "--format", fmt, "--index", str(tmp_path / "index")]
    whole = run_cli(*command)

    read_as_too_long_to_keep(monkeypatch)
    article, rest = searching.find_article_parts(tmp_path / "index", "long.txt")
    assert 10_000 <= len(article.body) < 30_000 and len("".join(rest)) > 40_000
    by_parts = run_cli(*command)

    assert by_parts.exit_code == whole.exit_code == 0, (whole.output, by_parts.output)
    assert by_parts.output == whole.output


@pytest.mark.parametrize("options", [["--format", "plain"], ["--color", "always"]])  # plain, human
def test_show_writes_a_long_text_files_opening_before_it_parses_the_whole(tmp_path, monkeypatch, capsys, options):
    from archsearch.cli import run
    from archsearch.formats import text as text_module

    index_long_text_file(tmp_path)
    read_as_too_long_to_keep(monkeypatch)
    events = []
    parse = text_module.parse_article
    monkeypatch.setattr(text_module, "parse_article", lambda *args, **kwargs: events.append("parse") or parse(*args, **kwargs))

    class Out(io.StringIO):
        def write(self, text):
            events.append("text" if "Paragraph 0:" in text else "other")
            return super().write(text)

    monkeypatch.setattr("sys.stdout", Out())
    capsys.readouterr()
    assert run(["show", "long.txt", "--query", "refugees", *options, "--index", str(tmp_path / "index")]) == 0

    assert events.count("parse") == 1 and events.index("text") < events.index("parse")


def test_show_of_a_text_file_removed_since_it_was_indexed_says_so_as_it_did(tmp_path, run_cli):
    """Its size was asked before it was read: Python's own words reached the user."""
    index_long_text_file(tmp_path)
    (tmp_path / "corpus" / "long.txt").unlink()
    result = run_cli("show", "long.txt", "--index", str(tmp_path / "index"))
    assert result.exit_code == 2
    assert "long.txt: no such file or directory (run 'archsearch index'" in result.output
    assert "Errno" not in result.output
