"""A hit's body read as far as its passages need (formats.text.body_openings, passages' `whole`,
searching's openings of long plain-text files): the same passages as from the whole body."""

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archsearch.formats.text as text_module
import archsearch.passages as passages_module
from archsearch.formats.source import Source
from archsearch.formats.text import UnreadableFile, body_openings, read_text
from archsearch.passages import WordMatcher, indexed_form, passages
from archsearch.searching import search

from conftest import build_index, web, wire

# Pieces of plain-text files: headers, breadcrumbs, datelines, furniture headings, initials,
# every kind of line end and blank, byte-order marks, non-BMP and control characters.
_PIECES = st.sampled_from(
    [
        " date 2021-12-10 ", "Home / World / ", "Home / ", "KABUL, December 10. /TASS/. ", "Kabul refugees",
        "About The Site", "Leave a Reply", "Share this:", "Related", "3 Comments", "• Read More »",
        "\n", "\n\n", "\n \n", "\r\n", "\r", "\r\r\n", "\ufeff", "\u2028", "\x85", "\x0b", "\x1c", " \t",
        ". ", "… ", " -KP", "word ", "refugees ", "𝔘𝔫𝔦 ", "é", "\x81", "x" * 40,
    ]
)
FILE_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=40).map("".join)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])


def whole_body(data: bytes) -> str:
    return next(read_text(Source("article.txt", data))).body


@settings(max_examples=600, deadline=None)
@given(FILE_TEXT, ENCODINGS, st.integers(1, 80), st.sampled_from([1, 4, 8192]), st.sampled_from([1, 3, 4096]))
def test_each_opening_starts_the_body_and_the_last_is_the_whole_body(content, encoding, characters, sniff, check):
    with mock.patch.object(text_module, "_SNIFF_BYTES", sniff), mock.patch.object(text_module, "_UTF8_CHECK_BYTES", check):
        check_openings(content.encode(encoding, "replace"), characters)


def check_openings(data, characters):
    try:
        body = whole_body(data)
    except UnreadableFile as exc:
        with pytest.raises(UnreadableFile, match=str(exc)):
            list(body_openings(Source("article.txt", data), characters))
        return
    openings = list(body_openings(Source("article.txt", data), characters))
    assert openings[-1] == (body, True)
    for opening, whole in openings[:-1]:
        assert not whole and body.startswith(opening)
        assert body[len(opening) :].strip()  # more than whitespace after it


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=30) | st.text(max_size=10).map(str.encode), st.integers(1, 5))
def test_utf8_is_checked_a_piece_at_a_time_as_decoding_checks_it_whole(data, check):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        valid = False
    else:
        valid = True
    with mock.patch.object(text_module, "_UTF8_CHECK_BYTES", check):
        assert text_module._is_utf8(data) == valid


def test_an_opening_is_parsed_from_the_first_lines_alone(monkeypatch):
    paragraph = "Refugees crossed the border at dawn, officials said on Friday. " * 20 + "\n\n"
    content = wire("2021-12-10", "KABUL, December 10. /TASS/.", paragraph * 2000) + "Thanks. -KP\n"
    parsed = []
    real_from_text = text_module.Draft.from_text.__func__
    monkeypatch.setattr(text_module.Draft, "from_text",
                        classmethod(lambda cls, text: parsed.append(len(text)) or real_from_text(cls, text)))
    opening, whole = next(body_openings(Source("article.txt", content.encode()), 200_000))
    assert not whole and max(parsed) < 200_000
    assert len(opening) > 190_000 and whole_body(content.encode()).startswith(opening)


def test_a_body_ended_by_furniture_in_the_opening_is_whole():
    content = web("World", "Refugees at the border", "Site", "Refugees crossed at dawn. -KP") + "\n\nmore " * 100_000
    (opening,) = body_openings(Source("article.txt", content.encode()), 1_000)
    assert opening == (whole_body(content.encode()), True) and opening[0] == "Refugees crossed at dawn."


PASSAGE_WORDS = ["Kabul ", "Taliban ", "quiet ", "day ", "in ", "the ", ". ", "\n\n", "  "]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PASSAGE_WORDS), min_size=1, max_size=150).map("".join), st.data(),
       st.sampled_from([30, 100, 400]))
def test_passages_of_an_opening_are_those_of_the_whole_text_or_none(text, data, stretch):
    last = max(index for index, char in enumerate(text) if not char.isspace()) if text.strip() else 0
    opening = text[: data.draw(st.integers(0, last))]  # more than whitespace after it
    matcher = WordMatcher(frozenset({indexed_form("taliban", "en"), indexed_form("kabul", "en")}), language="en")
    with mock.patch.object(passages_module, "PASSAGE_SEARCH_CHARS", stretch):
        found = passages(opening, matcher, whole=False)
        assert found is None or found == passages(text, matcher)


# Long articles (over searching.KEPT_BODY_CHARS, 1 MiB) whose query words stand at the start,
# past the first opening, only near the end, or before site furniture.
FILLER = "Nothing of note happened on this quiet day in the valley, the farmers said. " * 12 + "\n\n"


@pytest.fixture(scope="module")
def long_articles(tmp_path_factory):
    long = FILLER * 1_400  # 1.3 MB
    articles = {
        "start.txt": wire("2021-12-10", "KABUL, December 10. /TASS/.", "Taliban envoy in Kabul.\n\n" + long),
        "later.txt": wire("2021-12-11", "KABUL, December 11. /TASS/.", "Quiet.\n\n" + long[:500_000]
                          + "Taliban envoy near Kabul.\n\n" + long[500_000:] + "End. -KP"),
        "end.txt": wire("2021-12-12", "HERAT, December 12. /TASS/.", "Quiet.\n\n" + long + "Last Taliban word"),
        "web.txt": web("World", "Taliban in Herat", "Site", "Taliban envoy.\n\n" + long),
        "short.txt": wire("2021-12-13", "KABUL, December 13. /TASS/.", "A Taliban envoy in Kabul."),
    }
    return build_index(tmp_path_factory.mktemp("long"), articles)


def snippets_both_ways(index, query, monkeypatch):
    from_openings = search(index, query, collapse_copies=False).hits
    monkeypatch.setattr("archsearch.searching.KEPT_BODY_CHARS", 1 << 30)  # every body read whole
    from_whole_bodies = search(index, query, collapse_copies=False).hits
    return {hit.id: hit.snippets for hit in from_openings}, {hit.id: hit.snippets for hit in from_whole_bodies}


@pytest.mark.parametrize("query", ["taliban", "taliban kabul", "taliban NEAR/3 envoy", "farmers", "lead:taliban", "title:herat", "tal*", "SENTENCE(taliban envoy)"])
def test_hits_of_long_articles_have_the_passages_of_their_whole_bodies(long_articles, query, monkeypatch):
    found, expected = snippets_both_ways(long_articles, query, monkeypatch)
    assert list(found.items()) == list(expected.items())
    assert all(found.values())


def test_a_long_article_s_hit_reads_what_its_passages_need(long_articles, monkeypatch):
    parsed = []
    real_from_text = text_module.Draft.from_text.__func__
    monkeypatch.setattr(text_module.Draft, "from_text",
                        classmethod(lambda cls, text: parsed.append(len(text)) or real_from_text(cls, text)))
    (hit,) = [hit for hit in search(long_articles, '"envoy in kabul"', collapse_copies=False).hits if hit.id == "start.txt"]
    assert "Taliban envoy in Kabul" in hit.snippets[0].text
    assert parsed and max(parsed) < 300_000  # not the 1.3 MB


def test_a_long_article_that_matched_its_title_alone_reads_the_opening_of_its_lead_passage(long_articles, monkeypatch):
    parsed = []
    real_from_text = text_module.Draft.from_text.__func__
    monkeypatch.setattr(text_module.Draft, "from_text",
                        classmethod(lambda cls, text: parsed.append(len(text)) or real_from_text(cls, text)))
    (hit,) = search(long_articles, "title:herat", collapse_copies=False).hits
    (snippet,) = hit.snippets
    assert snippet.text.startswith("Taliban envoy.") and not snippet.matches and not snippet.reaches_end
    assert parsed and max(parsed) < 300_000


def test_an_opening_gives_no_passages_where_no_word_matched():
    nothing = WordMatcher(frozenset(), language="en")
    assert passages("Kabul " * 50_000, nothing, whole=False) == []


# From the review of this change: cases where the first opening does not decide the passages.
REVIEW_LONG = FILLER * 1_400  # 1.3 MB


@pytest.fixture(scope="module")
def review_articles(tmp_path_factory):
    # The first opening (200,000 bytes) holds only whole lines: the title, "A." and "B." here,
    # then a line longer than it; the body's opening is "A." (the last line is left out).
    long_line = "word " * 60_000 + "\n\n"
    # More than prefix_postings.WORDS_LISTED words start with "zq": `zq*` is a listed prefix, its
    # 16 most frequent words scored; "zqrare" (one article) is found in the hit's body alone.
    common = " ".join(f"zq{letter}" for letter in "abcdefghijklmnopqrst")
    articles = {
        "short-title.txt": "Herat envoy report\n\nA.\nB.\n" + long_line + REVIEW_LONG,
        "prefix-late.txt": wire("2021-12-11", "KABUL, December 11. /TASS/.", "Quiet.\n\n" + REVIEW_LONG[:1_000_000]
                                + "The zqrare word.\n\n" + REVIEW_LONG[1_000_000:] + "End."),
        "common-1.txt": wire("2021-12-12", "KABUL, December 12. /TASS/.", f"Words {common}."),
        "common-2.txt": wire("2021-12-13", "KABUL, December 13. /TASS/.", f"Words {common}."),
    }
    return build_index(tmp_path_factory.mktemp("review"), articles)



def test_a_title_only_hit_whose_first_opening_is_short_shows_the_lead_of_the_whole_body(review_articles, monkeypatch):
    found, expected = snippets_both_ways(review_articles, "title:herat", monkeypatch)
    assert found == expected
    (snippet,) = found["short-title.txt"]
    assert snippet.text.startswith("A. B. word word")


def test_a_listed_prefix_whose_word_stands_beyond_the_first_opening_is_marked_there(review_articles, monkeypatch):
    found, expected = snippets_both_ways(review_articles, "zq*", monkeypatch)
    assert found == expected
    (snippet,) = found["prefix-late.txt"]
    start, end = snippet.matches[0]
    assert snippet.text[start:end] == "zqrare"


def test_a_file_of_furniture_alone_gives_its_empty_body_whole():
    # An opening of more than the 8 KiB sniffed is parsed (fewer bytes tell nothing): its lines
    # reach no body, which is empty, so no opening of it can have text after it.
    data = b"Share this:\n" * 2_000
    assert list(body_openings(Source("article.txt", data), 10_000)) == [("", True)]


def test_every_furniture_heading_starts_as_marker_start_matches():
    """_marker_start lists the first words of _MARKER's headings: one added to _MARKER alone would
    no longer end the bodies of long files."""
    import re

    alternatives = re.split(r"\n\s*\|", text_module._MARKER.pattern)
    first_words = {match.group() for alternative in alternatives if (match := re.match(r"\s*[a-z]+", alternative))}
    assert len(first_words) >= 10
    for word in first_words | {"about"}:
        assert text_module._marker_start().match(f" • {word.strip()}"), word
