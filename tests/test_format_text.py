import datetime
import errno
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.formats.text import (
    STEPS,
    TITLE_MAX_CHARS,
    Article,
    Dateline,
    Draft,
    UnreadableFile,
    cut_boilerplate,
    decode,
    derive_title,
    drop_initials_signoff,
    is_boilerplate_marker,
    lead_sentence,
    match_dateline,
    normalise_text,
    parse_article,
    read_article,
    shorten,
    take_breadcrumb,
    take_date_header,
    take_dateline,
    take_source_from_about,
    take_title_line,
    title_case_place,
)

SEEDS = Path(__file__).parent.parent / "seeds"
WIRE_SEED = SEEDS / "000_0899ba5db5579e65.txt"
WEB_SEED = SEEDS / "004_bf24a2834e8b1a0a.txt"


def draft(text: str, **fields) -> Draft:
    return Draft(lines=tuple(text.split("\n")), **fields)


def body_of(result: Draft) -> str:
    return Draft(lines=result.lines).to_article().body


# --------------------------------------------------------------------------- the seed files


def test_wire_seed():
    article = read_article(WIRE_SEED)

    assert article.date == datetime.date(2021, 12, 10)
    assert article.place == "Kabul"
    assert article.source == "TASS"
    assert article.section == ""
    assert article.title == (
        "The Taliban radical militant group that came to power in Afghanistan "
        "expects Russia’s assistance in…"
    )
    assert article.body.startswith("KABUL, December 10. /TASS/. The Taliban radical militant group")
    assert article.body.endswith("has not been recognized by any country so far.")
    assert "date 2021-12-10" not in article.body
    assert article.body.count("\n\n") == 5
    assert article.warnings == ()


def test_web_seed():
    article = read_article(WEB_SEED)

    assert article.title == "ISIS loyalists as active as ever in Afghanistan: Russian Foreign Ministry"
    assert article.section == "Afghanistan"
    assert article.source == "Pashtun Times"
    assert article.place == "Kabul"
    assert article.date is None
    assert article.warnings == ()
    assert article.body.startswith("KABUL: The Russian Foreign Ministry has said")
    assert article.body.endswith("in conflict with the national interests of Afghanistan.”")
    assert "biggest American fuck ups" not in article.body
    assert "images of the fall of Kabul" not in article.body
    site_furniture = ("Home /", "About The Pashtun Times", "Leave a Reply", "Your email", "Check Also", "-KP")
    assert [text for text in site_furniture if text in article.body] == []
    assert article.body.count("\n\n") == 6
    assert "\n\n\n" not in article.body


# --------------------------------------------------------------------------- steps alone


def test_normalise_text_unifies_newlines_drops_bom_and_trailing_spaces():
    result = normalise_text(Draft(lines=("\ufeffTitle  ", "one\r\ntwo\rthree\t")))
    assert result.lines == ("Title", "one", "two", "three")


def test_take_date_header_takes_date_and_leaves_first_paragraph():
    result = take_date_header(draft(" date 2021-12-10 KABUL, December 10. /TASS/. Text.\n\nMore."))
    assert result.date == datetime.date(2021, 12, 10)
    assert result.has_date_header
    assert result.lines[0] == "KABUL, December 10. /TASS/. Text."
    assert result.warnings == ()


@pytest.mark.parametrize("value", ["2021-13-45", "yesterday", "2021-02-30", "10.12.2021"])
def test_take_date_header_malformed_date_warns(value):
    result = take_date_header(draft(f" date {value} KABUL: Text."))
    assert result.date is None
    assert result.warnings == (f"malformed date line: '{value}'",)
    assert result.lines[0] == "KABUL: Text."


def test_take_date_header_leaves_other_text_alone():
    original = draft("Home / World / Title\n\nDated text follows.")
    assert take_date_header(original) == original


@pytest.mark.parametrize("separator", ["/", ">", "»", "›"])
def test_take_breadcrumb_separators(separator):
    trail = f" {separator} ".join(["Home", "World", "Asia", "Taliban seize Kabul"])
    text = f"{trail}\n\nTaliban seize Kabul\n\nBody."
    result = take_breadcrumb(draft(text))
    assert result.section == "World / Asia"
    assert result.title == "Taliban seize Kabul"
    assert body_of(result) == "Body."


def test_take_breadcrumb_unspaced_separators():
    result = take_breadcrumb(draft("Home»Sport»Cricket\n\nAfghanistan beat Scotland\n\nBody."))
    assert result.section == "Sport / Cricket"
    assert result.title == ""
    assert body_of(result) == "Afghanistan beat Scotland\n\nBody."


def test_take_breadcrumb_without_title_crumb_keeps_all_as_sections():
    result = take_breadcrumb(draft("Home / World / Asia\n\nTaliban seize Kabul\n\nBody."))
    assert result.section == "World / Asia"
    assert result.title == ""
    assert body_of(result) == "Taliban seize Kabul\n\nBody."


def test_take_breadcrumb_long_last_crumb_is_title_even_if_not_repeated():
    result = take_breadcrumb(draft("Home / Afghanistan / Taliban seize power in the capital\n\nKABUL: Body."))
    assert result.section == "Afghanistan"
    assert result.title == "Taliban seize power in the capital"
    assert body_of(result) == "KABUL: Body."


def test_take_breadcrumb_shortened_title_crumb_takes_full_heading():
    text = "Home / World / Taliban seize power in…\n\nTaliban seize power in the capital?\n\nBody."
    result = take_breadcrumb(draft(text))
    assert result.title == "Taliban seize power in the capital?"
    assert body_of(result) == "Body."


def test_take_breadcrumb_section_ending_in_dot_is_not_a_shortened_title():
    result = take_breadcrumb(draft("Home / World / U.S.\n\nU.S. troops leave Kabul\n\nBody."))
    assert result.section == "World / U.S."
    assert result.title == ""


def test_take_breadcrumb_keeps_slash_inside_title():
    result = take_breadcrumb(draft("Home / Tech / Markets run 24/7 now, traders say\n\nBody."))
    assert result.section == "Tech"
    assert result.title == "Markets run 24/7 now, traders say"


def test_take_breadcrumb_skips_wire_copy_and_ordinary_text():
    wire = draft("Home / x / y", has_date_header=True)
    assert take_breadcrumb(wire) == wire
    homeland = draft("Homeland security / borders\n\nBody.")
    assert take_breadcrumb(homeland) == homeland


def test_take_title_line_takes_standalone_heading():
    result = take_title_line(draft("\nTaliban   seize Kabul\n\nKABUL: Body."))
    assert result.title == "Taliban   seize Kabul"
    assert body_of(result) == "KABUL: Body."


@pytest.mark.parametrize(
    "text",
    [
        "The Taliban took Kabul on Sunday.\n\nMore.",  # a sentence
        "Why did Kabul fall so fast?\n\nMore.",  # a sentence too
        "The Taliban took Kabul on Sunday and\nthe president fled.",  # hard-wrapped paragraph
        "Leave a Reply\n\nMore.",  # furniture
        "LONDON (Reuters) - Banks rallied\n\nMore.",  # first paragraph, opening with a dateline
        "2021\n\nMore.",  # no words
        "word " * 50 + "\n\nMore.",  # too long for a heading
    ],
)
def test_take_title_line_refuses_non_headings(text):
    original = draft(text)
    assert take_title_line(original) == original


def test_take_title_line_skips_wire_copy_and_known_titles():
    wire = draft("Short line\n\nBody.", has_date_header=True)
    assert take_title_line(wire) == wire
    titled = draft("Short line\n\nBody.", title="Known")
    assert take_title_line(titled) == titled


@pytest.mark.parametrize(
    "marker",
    [
        "Related Articles",
        "Related Posts",
        "You may also like",
        "Share this:",
        "Leave a Reply",
        "Leave a Comment",
        "Comments",
        "3 Comments",
        "Check Also",
        "Read more »",
        "About The Kabul Times",
        "About Us",
        "Subscribe to our newsletter",
        "Your email address will not be published. Required fields are marked *",
        "Follow us on Twitter",
        "RELATED POSTS",
        "• Related Stories »",
    ],
)
def test_cut_boilerplate_cuts_at_marker(marker):
    result = cut_boilerplate(draft(f"First paragraph.\n\nSecond.\n\n{marker}\n\nTeaser of another story."))
    assert body_of(result) == "First paragraph.\n\nSecond."
    assert "Teaser of another story." in result.boilerplate
    assert is_boilerplate_marker(marker)


@pytest.mark.parametrize(
    "line",
    [
        "Read more about the Taliban's finances in our report.",
        "About 200 people gathered outside the airport",
        "About the victims",
        "Shares of Afghan carpet makers fell",
        "Comments made by the spokesman were later withdrawn.",
    ],
)
def test_cut_boilerplate_keeps_body_lines_that_only_resemble_markers(line):
    assert not is_boilerplate_marker(line)
    result = cut_boilerplate(draft(f"First.\n\n{line}\n\nLast."))
    assert body_of(result) == f"First.\n\n{line}\n\nLast."


def test_cut_boilerplate_cuts_at_first_marker_and_drops_leading_furniture():
    text = "Share this:\n\nBody one.\n\nBody two.\n\nRelated Posts\n\nOther.\n\nAbout The Site\n\nMore."
    result = cut_boilerplate(draft(text))
    assert body_of(result) == "Body one.\n\nBody two."
    assert result.boilerplate == ("Share this:", "Related Posts", "Other.", "About The Site", "More.")


def test_cut_boilerplate_of_only_furniture_leaves_no_body():
    result = cut_boilerplate(draft("Leave a Reply\n\nComments\n"))
    assert body_of(result) == ""


def test_take_source_from_about_drops_leading_the():
    result = take_source_from_about(Draft(lines=(), boilerplate=("Leave a Reply", "About The Kabul Times")))
    assert result.source == "Kabul Times"
    result = take_source_from_about(Draft(lines=(), boilerplate=("About Khaama Press",)))
    assert result.source == "Khaama Press"


def test_take_source_from_about_ignores_about_us_and_keeps_known_source():
    assert take_source_from_about(Draft(lines=(), boilerplate=("About Us", "About the Author"))).source == ""
    known = Draft(lines=(), source="TASS", boilerplate=("About The Kabul Times",))
    assert take_source_from_about(known).source == "TASS"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("KABUL, December 10. /TASS/. The Taliban", Dateline("KABUL, December 10. /TASS/.", "Kabul", "TASS")),
        ("MOSCOW, Dec 10 (Reuters) - Russia", Dateline("MOSCOW, Dec 10 (Reuters) -", "Moscow", "Reuters")),
        ("LONDON (Reuters) - Britain", Dateline("LONDON (Reuters) -", "London", "Reuters")),
        ("WASHINGTON (AP) — The", Dateline("WASHINGTON (AP) —", "Washington", "AP")),
        ("BEIJING, Dec. 10 (Xinhua) -- China", Dateline("BEIJING, Dec. 10 (Xinhua) --", "Beijing", "Xinhua")),
        ("BEIJING, 10 Dec /Xinhua/ - China", Dateline("BEIJING, 10 Dec /Xinhua/ -", "Beijing", "Xinhua")),
        (
            "MOSCOW, March 3, 2022 /RIA Novosti/. Russia",
            Dateline("MOSCOW, March 3, 2022 /RIA Novosti/.", "Moscow", "RIA Novosti"),
        ),
        ("NEW YORK (Reuters) - Stocks", Dateline("NEW YORK (Reuters) -", "New York", "Reuters")),
        (
            "RIO DE JANEIRO, Feb 1 (Reuters) - Brazil",
            Dateline("RIO DE JANEIRO, Feb 1 (Reuters) -", "Rio de Janeiro", "Reuters"),
        ),
        ("ZÜRICH (Reuters) - Swiss", Dateline("ZÜRICH (Reuters) -", "Zürich", "Reuters")),
        ("SÃO PAULO, Jan 5 (AP) — Brazil", Dateline("SÃO PAULO, Jan 5 (AP) —", "São Paulo", "AP")),
        (
            "ST. PETERSBURG, May 4 /TASS/. A",
            Dateline("ST. PETERSBURG, May 4 /TASS/.", "St. Petersburg", "TASS"),
        ),
        ("KABUL, Afghanistan (AP) — The", Dateline("KABUL, Afghanistan (AP) —", "Kabul", "AP")),
        ("LONDON: The", Dateline("LONDON:", "London", "")),
        ("LONDON — The", Dateline("LONDON —", "London", "")),
        ("  KABUL: The", Dateline("KABUL:", "Kabul", "")),
        ("Kabul, Dec 10 — The", Dateline("Kabul, Dec 10 —", "Kabul", "")),
        ("Kabul (Reuters) - The", Dateline("Kabul (Reuters) -", "Kabul", "Reuters")),
    ],
)
def test_match_dateline(line, expected):
    assert match_dateline(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "The Taliban said on Friday.",
        "BREAKING: Kabul falls",
        "KABUL. The city is quiet.",
        "Kabul: the city is quiet.",
        "On Friday, Dec 10 — the city was quiet.",
        "President Biden said — then stopped.",
        "KABUL, Afghanistan: text",
        "",
    ],
)
def test_match_dateline_refuses_non_datelines(line):
    assert match_dateline(line) is None


def test_title_case_place():
    assert title_case_place("DAR ES SALAAM") == "Dar es Salaam"
    assert title_case_place("ISLAMABAD/KABUL") == "Islamabad/Kabul"
    assert title_case_place("AL-MUKALLA") == "Al-Mukalla"
    assert title_case_place("SÃO PAULO") == "São Paulo"


def test_take_dateline_keeps_dateline_in_body_and_known_source():
    result = take_dateline(draft("\nMOSCOW, Dec 10 (Reuters) - Text.", source="Site"))
    assert (result.place, result.source, result.dateline) == ("Moscow", "Site", "MOSCOW, Dec 10 (Reuters) -")
    assert body_of(result) == "MOSCOW, Dec 10 (Reuters) - Text."


def test_drop_initials_signoff():
    result = drop_initials_signoff(draft("Body.\n\nLast words.” -KP\n\n"))
    assert body_of(result) == "Body.\n\nLast words.”"
    untouched = draft("Body.\n\nThe score was 3 -KP")
    assert drop_initials_signoff(untouched) == untouched


def test_derive_title_uses_lead_sentence_after_dateline():
    result = derive_title(
        draft(
            "LONDON (Reuters) - Britain's U.S. envoy met Gen. Smith on Friday. Then more.",
            dateline="LONDON (Reuters) -",
        )
    )
    assert result.title == "Britain's U.S. envoy met Gen. Smith on Friday"


def test_derive_title_cuts_long_lead_at_word_boundary():
    lead = "The " + "very " * 40 + "long sentence ends here."
    title = derive_title(draft(lead)).title
    assert len(title) <= TITLE_MAX_CHARS
    assert title.endswith("very…")
    assert lead.startswith(title.removesuffix("…"))


def test_derive_title_keeps_existing_title():
    assert derive_title(draft("Lead sentence.", title="Own title")).title == "Own title"


def test_lead_sentence_and_shorten():
    assert lead_sentence("“We won.” He left.") == "“We won.”"
    assert lead_sentence("Is it over? Yes.") == "Is it over?"
    assert lead_sentence("No full stop at all") == "No full stop at all"
    assert shorten("a  b", 10) == "a b"
    assert shorten("abcdefghijkl", 5) == "abcd…"
    assert shorten("one two three four", 10) == "one two…"


# --------------------------------------------------------------------------- whole articles


def test_wire_copy_from_other_agency_and_city():
    body = "RIO DE JANEIRO, March 1 (Reuters) - Brazil's real rose on Tuesday. Traders cheered.\n\nMore."
    article = parse_article(f" date 2022-03-01 {body}")
    assert article.date == datetime.date(2022, 3, 1)
    assert (article.place, article.source) == ("Rio de Janeiro", "Reuters")
    assert article.title == "Brazil's real rose on Tuesday"
    assert article.body == body


def test_wire_copy_with_short_one_sentence_lead_gets_no_title_line():
    article = parse_article(" date 2022-03-01 ZÜRICH (Reuters) - Banks rallied\n\nSecond paragraph.")
    assert article.place == "Zürich"
    assert article.title == "Banks rallied"
    assert article.body.startswith("ZÜRICH (Reuters) - Banks rallied")


def test_web_page_from_other_site():
    text = (
        "Home › World › Asia › Flooding hits Kabul suburbs\n\n"
        "Flooding hits Kabul suburbs\n\n"
        "Share this:\n\n"
        "KABUL — Heavy rain flooded several suburbs on Monday.\n\n"
        "Officials said dozens of homes were damaged.\n\n"
        "Related Posts\n\n"
        "Snow closes Salang pass\n\n"
        "About Ariana News\n"
    )
    article = parse_article(text)
    assert article.title == "Flooding hits Kabul suburbs"
    assert article.section == "World / Asia"
    assert article.source == "Ariana News"
    assert article.place == "Kabul"
    assert article.date is None
    assert article.body == (
        "KABUL — Heavy rain flooded several suburbs on Monday.\n\n"
        "Officials said dozens of homes were damaged."
    )


def test_web_page_without_breadcrumb():
    article = parse_article("Flooding hits Kabul suburbs\n\nLONDON: Heavy rain fell.\n\nLeave a Comment\n\nx")
    assert (article.title, article.section, article.place) == ("Flooding hits Kabul suburbs", "", "London")
    assert article.body == "LONDON: Heavy rain fell."


def test_missing_title_is_derived_from_lead():
    article = parse_article("KABUL: Heavy rain fell on Monday. Homes were damaged.\n\nMore rain is expected.")
    assert article.title == "Heavy rain fell on Monday"
    assert article.body.startswith("KABUL: Heavy rain")


def test_missing_date_gives_none_without_warning():
    article = parse_article("KABUL, December 10. /TASS/. The Taliban spoke. Then left.")
    assert article.date is None
    assert article.warnings == ()
    assert (article.place, article.source, article.title) == ("Kabul", "TASS", "The Taliban spoke")


def test_malformed_date_line_still_parses_the_rest():
    article = parse_article(" date 2021-13-45 KABUL, December 10. /TASS/. The Taliban spoke. Then left.")
    assert article.date is None
    assert article.warnings == ("malformed date line: '2021-13-45'",)
    assert (article.place, article.source, article.title) == ("Kabul", "TASS", "The Taliban spoke")
    assert article.body == "KABUL, December 10. /TASS/. The Taliban spoke. Then left."


def test_only_boilerplate_gives_empty_article():
    article = parse_article("Leave a Reply\n\nYour email address will not be published.\n")
    assert (article.title, article.body) == ("", "")


def test_body_whitespace_is_tidied():
    article = parse_article("Title\n\n\n\nFirst line   \nsame paragraph.\n\n\n\n\nSecond.   \n\n")
    assert article.body == "First line\nsame paragraph.\n\nSecond."


def test_parse_article_accepts_undecoded_line_ends_and_bom():
    article = parse_article("\ufeffFlooding hits Kabul\r\n\r\nKABUL: Rain fell.  \r\rMore rain.\r")
    assert article.title == "Flooding hits Kabul"
    assert article.place == "Kabul"
    assert article.body == "KABUL: Rain fell.\n\nMore rain."


def test_steps_are_replaceable():
    article = parse_article("Title\n\nKABUL: Body.", steps=(normalise_text,))
    expected = Article(title="", body="Title\n\nKABUL: Body.", date=None, source="", place="", section="")
    assert article == expected
    assert parse_article("Title\n\nKABUL: Body.", steps=STEPS).title == "Title"


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    "data",
    [
        b"Title\r\n\r\nBody line\r\n",
        b"Title\r\rBody line\r",
        b"\xef\xbb\xbfTitle\n\nBody line\n",
        b"\xef\xbb\xbfTitle\r\n\r\nBody line",
    ],
)
def test_decode_newlines_and_bom(data):
    text = decode(data)
    assert text.rstrip("\n") == "Title\n\nBody line"


def test_decode_cp1252():
    assert decode(b"Russia\x92s \x93aid\x94 \x96 caf\xe9") == "Russia’s “aid” – café"


def test_decode_latin1_when_cp1252_fails():
    data = b"Caf\xe9 au lait \x8d and more words here"  # 0x8D is undefined in cp1252
    assert decode(data) == data.decode("latin-1")


def test_decode_utf8():
    assert decode("Zürich – “quoted”".encode()) == "Zürich – “quoted”"


@pytest.mark.parametrize("data", [b"", b" \n\t\r\n  ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_decode_empty(data):
    with pytest.raises(UnreadableFile, match="^empty file$"):
        decode(data)


@pytest.mark.parametrize(
    "data", [b"text\x00more text", bytes(range(1, 9)) * 4, b"PK\x03\x04\x14\x06\x08\x01\x02abc"]
)
def test_decode_binary(data):
    with pytest.raises(UnreadableFile, match="^binary file$"):
        decode(data)


# --------------------------------------------------------------------------- files


def test_read_article_crlf_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(WEB_SEED.read_bytes().replace(b"\n", b"\r\n"))
    assert read_article(path) == read_article(WEB_SEED)


def test_read_article_truncates_at_character_boundary(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(("Kabul " + "Zürich " * 300).encode())  # "ü" is two bytes
    max_bytes = 2048
    assert path.read_bytes()[max_bytes - 1] == 0xC3  # the cut falls inside "ü"
    article = read_article(path, max_bytes=max_bytes)
    assert article.warnings == ("file truncated to first 2 KiB for indexing",)
    assert article.body.endswith("Z")
    assert "Ã" not in article.body  # no mojibake from a cp1252 fallback
    assert len(article.body.encode()) == max_bytes - 1


def test_read_article_default_limit_warning(tmp_path):
    path = tmp_path / "huge.txt"
    line = b"KABUL: words words words words words words words words words words words.\n\n"
    path.write_bytes(line * (8 * 1024 * 1024 // len(line) + 1))
    assert read_article(path).warnings == ("file truncated to first 8 MiB for indexing",)


def test_read_article_small_file_is_not_truncated(tmp_path):
    path = tmp_path / "small.txt"
    path.write_bytes(b"Title\n\nBody.")
    assert read_article(path, max_bytes=12).warnings == ()


def test_read_article_empty_and_binary_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"  \n")
    with pytest.raises(UnreadableFile, match="^empty file$"):
        read_article(empty)
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(UnreadableFile, match="^binary file$"):
        read_article(binary)


def test_read_article_directory(tmp_path):
    with pytest.raises(UnreadableFile, match="^is a directory$"):
        read_article(tmp_path)


def test_read_article_missing_file(tmp_path):
    with pytest.raises(UnreadableFile, match="^no such file or directory$"):
        read_article(tmp_path / "missing.txt")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_read_article_permission_denied(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_bytes(b"Title\n\nBody.")
    path.chmod(0)
    with pytest.raises(UnreadableFile, match="^permission denied$"):
        read_article(path)


def test_read_article_reports_os_errors_in_one_line(monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr("archsearch.formats.source.open", refuse, raising=False)
    with pytest.raises(UnreadableFile, match="^permission denied$"):
        read_article("anything.txt")


# --------------------------------------------------------------------------- properties

_PIECES = st.sampled_from(
    [
        " date 2021-12-10 ",
        " date 2021-13-45 ",
        "Home / ",
        " » ",
        "KABUL, December 10. /TASS/. ",
        "LONDON (Reuters) - ",
        "About The ",
        "Leave a Reply",
        "Share this:",
        "\n",
        "\n\n",
        "\r\n",
        "\r",
        "\ufeff",
        ". ",
        "… ",
        " -KP",
    ]
)


@settings(max_examples=300)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=30)), max_size=25).map("".join))
def test_parse_article_never_raises(text):
    article = parse_article(text)
    assert isinstance(article, Article)
    assert "\n\n\n" not in article.body
    assert "\n" not in article.title


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_decode_returns_text_or_unreadable(data):
    try:
        text = decode(data)
    except UnreadableFile as exc:
        assert str(exc) in {"empty file", "binary file"}
    else:
        assert isinstance(text, str)
        assert "\r" not in text
        assert text.strip()



@given(st.one_of(
    st.binary(max_size=60),
    st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
), st.sampled_from([b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xef\xbb"]))
def test_text_decoded_without_the_utf_8_sig_codec_is_what_it_gave(data, start):
    """Files are decoded as UTF-8 with a byte order mark left out, else cp1252, else latin-1, as
    Python's utf-8-sig codec, which a query no longer loads, decoded them."""
    from archsearch.formats.text import _decode_leniently

    data = start + data
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            before = data.decode(encoding)
            break
        except UnicodeDecodeError:
            pass
    assert _decode_leniently(data) == before


@given(st.text(alphabet=st.characters(max_codepoint=0xFF), min_size=1, max_size=80))
def test_control_characters_are_counted_alike_in_ascii_text_and_beyond(text):
    import re

    from archsearch.formats import text as module

    assert module._ASCII_CONTROL_BYTES == bytes(code for code in range(0x80) if module._CONTROL_CHARACTERS.match(chr(code)))
    assert module._control_share(text) == len(re.findall(module._CONTROL_CHARACTERS, text)) / len(text)


_PIECE_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=30)), max_size=25).map("".join)


@given(_PIECE_TEXT)
def test_initials_signoff_is_dropped_as_re_sub_drops_it(text):
    import re

    from archsearch.formats import text as module

    lines = text.split("\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=None)
    expected = list(lines)
    if last is not None:
        expected[last] = re.sub(module._INITIALS_SIGNOFF, r"\1", lines[last])
    assert list(drop_initials_signoff(draft(text)).lines) == expected


@given(st.text(st.sampled_from(".!?…؟\"'”’)] \nab"), max_size=30))
def test_sentence_ends_are_the_repeated_class_s(text):
    import re

    from archsearch.formats import text as module

    repeated = re.compile(r"[.!?…؟]+[\"'”’)\]]*(?=\s|$)")
    assert [m.span() for m in module._SENTENCE_END.finditer(text)] == [m.span() for m in repeated.finditer(text)]


@given(st.lists(st.one_of(_PIECES, st.text(max_size=30), st.just("")), max_size=25))
def test_the_body_ends_at_the_first_heading_after_its_start(lines):
    from archsearch.formats import text as module

    start = next((i for i, line in enumerate(lines) if line.strip() and not is_boilerplate_marker(line)), len(lines))
    end = next((i for i in range(start + 1, len(lines)) if is_boilerplate_marker(lines[i])), len(lines))
    assert module._body_bounds(lines) == (start, end)
