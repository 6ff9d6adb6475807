"""The plain-text reader's parse done over the whole text in C (formats/text.py: unify_newlines,
normalise_text, cut_boilerplate's headings, join_paragraphs) gives exactly what it gave a line at a
time in Python, kept here as the reference."""

import itertools
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import archsearch.formats.text as text_module
from archsearch.formats.source import Source
from archsearch.formats.text import Draft, UnreadableFile, is_boilerplate_marker, join_paragraphs, parse_article, read_text
from archsearch.records import replace


def reference_unify_newlines(text):
    return text.replace("\r\n", "\n").replace("\r", "\n")


def reference_normalise_text(draft):
    text = reference_unify_newlines("\n".join(draft.lines)).removeprefix("\ufeff")
    return replace(draft, lines=tuple(line.rstrip() for line in text.split("\n")))


def reference_cut_boilerplate(draft):
    lines = draft.lines
    start = next((i for i, line in enumerate(lines) if line.strip() and not is_boilerplate_marker(line)), len(lines))
    end = next((i for i in range(start + 1, len(lines)) if is_boilerplate_marker(lines[i])), len(lines))
    cut = tuple(line for line in lines[:start] + lines[end:] if line.strip())
    return replace(draft, lines=lines[start:end], boilerplate=draft.boilerplate + cut)


def reference_join_paragraphs(lines):
    """Paragraphs: the runs of lines with text, each line's trailing spaces cut."""
    runs = itertools.groupby(lines, key=lambda line: bool(line.strip()))
    return "\n\n".join("\n".join(line.rstrip() for line in run) for has_text, run in runs if has_text)


REFERENCE_STEPS = tuple(
    {text_module.normalise_text: reference_normalise_text, text_module.cut_boilerplate: reference_cut_boilerplate}.get(step, step)
    for step in text_module.STEPS
)


def reference_parse(text):
    draft = Draft.from_text(text)
    for step in REFERENCE_STEPS:
        draft = step(draft)
    return replace(draft.to_article(), body=reference_join_paragraphs(draft.lines))


# Every shape the steps look for, dressed furniture headings and near misses, every kind of line
# end, blank and whitespace (Unicode's too), byte-order marks, non-BMP characters and long lines.
_PIECES = st.sampled_from(
    [
        " date 2021-12-10 ", " date: 2021-13-45 ", "Home / World / ", "Home » ", "KABUL, December 10. /TASS/. ",
        "LONDON (Reuters) - ", "About The Pashtun Times", "about us", "Leave a Reply", "Share this:", "• Related Posts…",
        "Read More »", "3 Comments", "No comments", "Comments (2)", "Subscribe now", "Follow us on X", "You may also like",
        "Your email address will not be published.", "Check Also", "ſhare", "RELATED", "Relate", "read", "Nothing",
        "\n", "\n\n", "\n\n\n", "\r\n", "\r", "\r\r\n", "\ufeff", "\u2028", "\x85", "\x0b", "\x0c", "\x1c", "\xa0", "\u3000",
        " ", "\t", ". ", "… ", "” -KP", " -KP", "Taliban ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ", "é", "x" * 300, "word " * 30,
    ]
)
FILE_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=60).map("".join)


@settings(max_examples=1500, deadline=None)
@given(FILE_TEXT, st.sampled_from([0, 3, 1000]))
def test_the_parse_is_the_line_by_line_parse(text, many_lines):
    with mock.patch.object(text_module, "_MANY_LINES", many_lines):  # headings searched in C from so many lines on
        assert parse_article(text) == reference_parse(text)


@settings(max_examples=500, deadline=None)
@given(FILE_TEXT, st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1"]))
def test_a_file_reads_as_the_line_by_line_parse_read_it(text, encoding):
    data = text.encode(encoding, "replace")
    try:
        expected = reference_parse(reference_unify_newlines(text_module._checked_text(data)))
    except UnreadableFile:
        expected = None
    try:
        found = next(read_text(Source("article.txt", data)))
    except UnreadableFile:
        found = None
    assert found == expected


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=30))
def test_paragraphs_join_as_line_by_line(lines):
    assert join_paragraphs(lines) == reference_join_paragraphs(lines)


def test_a_heading_dressed_in_unicode_spaces_still_ends_a_long_body():
    body = "Body text here.\n\n" * 1000
    article = parse_article(f"Title\n\n{body}\u3000•\xa0Related Posts\n\nA teaser")
    assert article.body == body.strip() and article.title == "Title"


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=30).map(tuple))
def test_lines_normalise_as_line_by_line(lines):
    draft = Draft(lines=lines)
    assert text_module.normalise_text(draft) == reference_normalise_text(draft)


def reference_is_boilerplate_marker(line):
    """is_boilerplate_marker as it was, every line's spaces collapsed before its opening was looked at."""
    text = text_module._marker_text(line)
    if not text or len(text) > text_module._MARKER_LINE_MAX_CHARS:
        return False
    return bool(text_module._MARKER.fullmatch(text)) or text_module.site_name_from_about_line(text) is not None


# Headings' first letters in other cases and scripts: re.I's equivalents (ſ, K), dotted and dotless i.
_OPENING_PIECES = st.sampled_from(["R", "S", "ſ", "K", "İ", "ı", "S", "O", "E", "Ⅻ", "٣", "5", "•", "-", ":", "»"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.one_of(_PIECES, _OPENING_PIECES, st.text(max_size=3)), max_size=8).map("".join))
def test_furniture_headings_are_told_as_when_every_line_was_collapsed(line):
    assert is_boilerplate_marker(line) == reference_is_boilerplate_marker(line)


def test_every_furniture_heading_opens_as_one():
    """_MARKER_OPENINGS holds the first two letters of _MARKER's headings: one added to _MARKER
    alone would never be found."""
    import re

    alternatives = re.split(r"\n\s*\|", text_module._MARKER.pattern)
    first_words = {match.group() for alternative in alternatives if (match := re.match(r"\s*[a-z]+", alternative))}
    assert len(first_words) >= 10
    # and "no", of "No comments", which the pattern's first words leave out
    assert {word.strip()[:2] for word in first_words | {"about", "no"}} == text_module._MARKER_OPENINGS


def test_every_character_the_openings_match_ignoring_case_is_found():
    """What re.I matches for the openings' letters is what _may_be_marker looks for: their two cases,
    and ſ for s."""
    import re

    letters = "".join(sorted(set("".join(text_module._MARKER_OPENINGS))))
    every = "".join(map(chr, range(0x110000)))
    assert re.compile(f"[{letters}]", re.I).findall(every) == [
        character for character in every if character.lower().replace("ſ", "s") in set(letters)
    ]


_SIGNOFF_PIECES = st.sampled_from([".", "!", "”", ")", "…", " ", "\t", "\n", "\xa0", "-", "–", "—", "KP", "A", "ABCDE", "3", "x"])


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(_SIGNOFF_PIECES, st.text(max_size=3)), max_size=12).map("".join))
def test_initials_are_dropped_as_the_look_behind_dropped_them(line):
    import re

    look_behind = re.compile(r"(?<=[.!?…\"'”’)])\s+[-–—]\s?[A-Z]{1,4}$")
    draft = Draft(lines=("Body.", "", line))
    assert text_module.drop_initials_signoff(draft).lines[-1] == look_behind.sub("", line)


_PLACE_PIECES = st.sampled_from(["KABUL", "DAR", "ES", "de", "AL", "/", "-", " ", "\t", "\xa0", "\u2003", "İ", "ß", "Ǆ", "МОСКВА", "x", "NEWS"])


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(_PLACE_PIECES, st.text(max_size=3)), max_size=10).map("".join))
def test_places_are_title_cased_and_refused_as_by_re_s_splits(place):
    """title_case_place splits a word by re only where it holds "/" or "-"; match_dateline's words
    that are no place are found between str.split's spaces and slashes."""
    import re

    words = []
    for position, word in enumerate(place.lower().split()):
        if position and word in text_module._PLACE_PARTICLES:
            words.append(word)
        else:
            words.append("".join(part[:1].upper() + part[1:] for part in re.split(r"([/-])", word)))
    assert text_module.title_case_place(place) == " ".join(words)
    assert sorted(filter(None, re.split(r"[\s/]+", place))) == sorted(place.replace("/", " ").split())
