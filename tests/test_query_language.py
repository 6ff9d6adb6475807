"""Every piece of query syntax, run against a small corpus whose right answers are known."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.errors import ArchsearchError
from archsearch.querying import check_syntax, parse_query
from archsearch.schema import build_schema
from archsearch.searching import search
from conftest import build_index, web, wire

TODAY = datetime.date(2026, 11, 22)

ARTICLES = {
    "kabul.txt": wire(
        "2021-12-10",
        "KABUL, December 10. /TASS/.",
        "The Taliban expect assistance in fighting the coronavirus pandemic, a spokesman said.",
    ),
    "moscow.txt": wire(
        "2021-11-30",
        "MOSCOW, November 30. /TASS/.",
        "Russia is rendering humanitarian assistance to Afghanistan, the foreign ministry said.",
    ),
    "zurich.txt": wire(
        "2022-01-15",
        "ZÜRICH, January 15. /Reuters/.",
        "Swiss banks in Zürich reported record deposits as the franc rose against the euro.",
    ),
    "london/2020.txt": wire(
        "2020-06-01",
        "LONDON, June 1. /Reuters/.",
        "Markets fell as the assistance package for airlines was delayed by the government.",
    ),
    "pashtun.txt": web(
        "Afghanistan",
        "Taliban leaders meet envoys in Doha",
        "Pashtun Times",
        "KABUL: Taliban leaders met foreign envoys to discuss humanitarian corridors and assistance.",
    ),
    "recent.txt": wire(
        "2026-11-20",
        "PARIS, November 20. /AFP/.",
        "Ministers in Paris debated assistance for farmers hit by the drought.",
    ),
}


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("language"), ARTICLES)


def ids(corpus_index, text, **options):
    options.setdefault("limit", 0)
    return sorted(hit.id for hit in search(corpus_index, text, today=TODAY, **options).hits)


ALL = sorted(ARTICLES)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Taliban assistance", ["kabul.txt", "pashtun.txt"]),  # AND by default
        ("coronavirus OR deposits", ["kabul.txt", "zurich.txt"]),
        ("assistance NOT Taliban", ["london/2020.txt", "moscow.txt", "recent.txt"]),
        ("assistance -Taliban", ["london/2020.txt", "moscow.txt", "recent.txt"]),
        ("assistance AND NOT (Taliban OR Russia)", ["london/2020.txt", "recent.txt"]),
        ("(coronavirus OR deposits) Swiss", ["zurich.txt"]),
        ('"humanitarian assistance"', ["moscow.txt"]),  # pashtun.txt has both words, not as a phrase
        ("humanitarian assistance", ["moscow.txt", "pashtun.txt"]),
        ("title:Doha", ["pashtun.txt"]),
        ("Doha", ["pashtun.txt"]),
        ("source:TASS", ["kabul.txt", "moscow.txt"]),
        ('source:"Pashtun Times"', ["pashtun.txt"]),
        ("source:reuters assistance", ["london/2020.txt"]),
        ("place:Zurich", ["zurich.txt"]),
        ("place:zürich", ["zurich.txt"]),
        ("section:afghanistan", ["pashtun.txt"]),
        ("path:london", ["london/2020.txt"]),
        ("path:2020", ["london/2020.txt"]),
        ("afghan*", ["moscow.txt"]),
        ("depos*", ["zurich.txt"]),
        ("talibn~", ["kabul.txt", "pashtun.txt"]),
        ("ZURICH", ["zurich.txt"]),  # accents and case never matter
        ("Zürich deposits", ["zurich.txt"]),
        ("fight", ["kabul.txt"]),  # stemmed: fighting
        ("+Swiss banks", ["zurich.txt"]),
    ],
)
def test_syntax(corpus_index, text, expected):
    assert ids(corpus_index, text) == expected


def test_any_makes_plain_words_optional(corpus_index):
    assert ids(corpus_index, "coronavirus deposits") == []
    assert ids(corpus_index, "coronavirus deposits", any_words=True) == ["kabul.txt", "zurich.txt"]


@pytest.mark.parametrize(
    "text, expected",
    [
        # Date terms and NOT words stay required: only the plain words become optional.
        ("coronavirus deposits date:2021", ["kabul.txt"]),
        ("coronavirus deposits -franc", ["kabul.txt"]),
        ("assistance coronavirus -Taliban date:2021..", ["moscow.txt", "recent.txt"]),
    ],
)
def test_any_keeps_date_terms_and_not_words_required(corpus_index, text, expected):
    assert ids(corpus_index, text, any_words=True) == expected


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"since": "2021-12-10"}, ["kabul.txt", "recent.txt", "zurich.txt"]),  # inclusive
        ({"until": "2021-12-10"}, ["kabul.txt", "london/2020.txt", "moscow.txt"]),  # inclusive
        ({"since": "2021", "until": "2021"}, ["kabul.txt", "moscow.txt"]),  # a year, whole
        ({"since": "2021-12", "until": "2022-01"}, ["kabul.txt", "zurich.txt"]),  # whole months
        ({"since": "7d"}, ["recent.txt"]),  # relative to today, 2026-11-22
        ({"since": "last month"}, ["recent.txt"]),  # 2026-10-01 onwards
        ({"until": "last year"}, ["kabul.txt", "london/2020.txt", "moscow.txt", "zurich.txt"]),
    ],
)
def test_date_flags(corpus_index, options, expected):
    assert ids(corpus_index, "*", **options) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("date:2021", ["kabul.txt", "moscow.txt"]),
        ("date:2021-12", ["kabul.txt"]),
        ("date:2021-11-30", ["moscow.txt"]),
        ("date:2021-12..", ["kabul.txt", "recent.txt", "zurich.txt"]),
        ("date:..2021", ["kabul.txt", "london/2020.txt", "moscow.txt"]),
        ("date:2020..2021-11", ["london/2020.txt", "moscow.txt"]),
        ("date:3w..", ["recent.txt"]),
        ("assistance date:2021", ["kabul.txt", "moscow.txt"]),
        ("assistance NOT date:2021", ["london/2020.txt", "pashtun.txt", "recent.txt"]),
        ("date:2020 OR date:2022", ["london/2020.txt", "zurich.txt"]),
    ],
)
def test_date_terms_in_the_query(corpus_index, text, expected):
    assert ids(corpus_index, text) == expected


def test_date_filter_leaves_out_undated_articles_and_counts_them(corpus_index):
    result = search(corpus_index, "Taliban", since="2021", today=TODAY)
    assert [hit.id for hit in result.hits] == ["kabul.txt"]
    assert result.undated_left_out == 1
    with_undated = search(corpus_index, "Taliban", since="2021", include_undated=True, today=TODAY)
    assert sorted(hit.id for hit in with_undated.hits) == ["kabul.txt", "pashtun.txt"]
    assert with_undated.undated_left_out == 0


def test_undated_count_is_zero_without_a_date_filter(corpus_index):
    assert search(corpus_index, "Taliban", today=TODAY).undated_left_out == 0


def test_date_terms_with_undated_flag(corpus_index):
    assert ids(corpus_index, "Taliban date:2021", include_undated=True) == ["kabul.txt", "pashtun.txt"]


def test_flags_and_date_terms_intersect(corpus_index):
    assert ids(corpus_index, "date:2021", since="2021-12") == ["kabul.txt"]
    assert ids(corpus_index, "date:2020", since="2021") == []


def test_sort_by_date_puts_undated_last(corpus_index):
    newest = [hit.id for hit in search(corpus_index, "assistance", sort="newest", limit=0, today=TODAY).hits]
    oldest = [hit.id for hit in search(corpus_index, "assistance", sort="oldest", limit=0, today=TODAY).hits]
    assert newest == ["recent.txt", "kabul.txt", "moscow.txt", "london/2020.txt", "pashtun.txt"]
    assert oldest == ["london/2020.txt", "moscow.txt", "kabul.txt", "recent.txt", "pashtun.txt"]


def test_limit_and_offset_page_through_hits(corpus_index):
    everything = [hit.id for hit in search(corpus_index, "assistance", sort="oldest", limit=0, today=TODAY).hits]
    page = search(corpus_index, "assistance", sort="oldest", limit=2, offset=2, today=TODAY)
    assert [hit.id for hit in page.hits] == everything[2:4]
    assert [hit.rank for hit in page.hits] == [3, 4]
    assert page.total == 5


def test_relevance_is_the_default_order_with_scores(corpus_index):
    result = search(corpus_index, "Taliban", today=TODAY)
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True) and all(score > 0 for score in scores)
    assert result.hits[0].id == "pashtun.txt"  # Taliban in the title


def test_explanation_shows_the_parsed_query_and_window(corpus_index):
    result = search(corpus_index, "Taliban -coronavirus date:2021", since="2021-12", today=TODAY)
    text = "\n".join(result.explanation)
    assert "NOT" in text and "taliban" in text and "coronaviru" in text
    assert "date window: 2021-12-01.." in text
    assert "date:2021-01-01..2021-12-31" in text


@pytest.mark.parametrize(
    "text, message",
    [
        ("date:2021-13", "'2021-13'"),
        ("date:", "'date:' needs a value"),
        ('"exact phrase', 'unbalanced quote: "exact phrase'),
        ("(Taliban OR Russia", "unclosed '(' in (Taliban"),
        ("Taliban)", "unbalanced ')'"),
        ("Taliban AND", "'AND' needs a query after it"),
        ("OR Taliban", "'OR' needs a query before it"),
        ("Taliban OR OR Russia", "'OR' needs a query after it"),
        ("NOT", "'NOT' needs a query after it"),
        ("byline:smith", "unknown field 'byline:'"),
        ("title:", "'title:' needs a value"),
        ("date:2022..2021", "after"),
        ("date:tomorrowish", "'tomorrowish'"),
        ("", "empty query"),
    ],
)
def test_malformed_queries_are_errors_naming_the_bad_part(corpus_index, text, message):
    with pytest.raises(ArchsearchError) as raised:
        search(corpus_index, text, today=TODAY)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"since": "tomorrowish"}, "--since: invalid date 'tomorrowish'"),
        ({"until": "2021-02-30"}, "--until: invalid date '2021-02-30'"),
        ({"since": "2022", "until": "2021"}, "--since 2022 is after --until 2021"),
        ({"sort": "random"}, "unknown sort order 'random'"),
    ],
)
def test_malformed_options_are_errors(corpus_index, options, message):
    with pytest.raises(ArchsearchError, match=message):
        search(corpus_index, "Taliban", today=TODAY, **options)


def test_check_syntax_rewrites_signs_and_keeps_the_rest():
    assert check_syntax('Taliban -"peace talks" +Kabul') == 'Taliban NOT "peace talks" Kabul'
    assert check_syntax('source:"Pashtun Times" title:(a OR b)') == 'source:"Pashtun Times" title:(a OR b)'
    assert check_syntax("well-known COVID-19") == "well-known COVID-19"


SCHEMA = build_schema()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(list('ab :-+()"*~.12') + ["date:", " OR ", " NOT ", " AND ", "2021", "..", "-12"])).map(
        "".join
    )
)
def test_any_text_parses_or_fails_with_a_one_line_user_error(text):
    try:
        parse_query(text, SCHEMA, today=TODAY)
    except ArchsearchError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_unicode_never_raises_anything_but_user_errors(text):
    try:
        parse_query(text, SCHEMA, today=TODAY)
    except ArchsearchError:
        pass


WORD_FORMS = {
    "organization.txt": wire("2021-01-05", "OSLO, January 5. /NTB/.", "The organization and its organizations met."),
    "organ.txt": wire("2021-01-06", "OSLO, January 6. /NTB/.", "Doctors said the organ was donated."),
    "policies.txt": wire("2021-01-07", "OSLO, January 7. /NTB/.", "New policies were announced."),
    "policy.txt": wire("2021-01-08", "OSLO, January 8. /NTB/.", "A new policy was announced."),
    "doing.txt": wire("2021-01-09", "OSLO, January 9. /NTB/.", "What the ministers are doing matters."),
    "afghan.txt": wire("2021-01-10", "KABUL, January 10. /TASS/.", "Afghans and Afghanistan's neighbours spoke."),
    "zurich.txt": wire("2021-01-11", "ZÜRICH, January 11. /Reuters/.", "Organisations in Zürich met."),
    "previous.txt": wire("2021-01-12", "OSLO, January 12. /NTB/.", "The previous talks failed."),
    "president.txt": wire("2021-01-13", "OSLO, January 13. /NTB/.", "The president spoke."),
}


@pytest.fixture(scope="module")
def word_forms_index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("word_forms"), WORD_FORMS)


@pytest.mark.parametrize(
    "text, expected",
    [
        # Against stems these found nothing, or the wrong words: "organization" is indexed as
        # `organiz`, "doing" as `do`, and `policie*` expanded to the stem of "policy" too.
        ("organizat*", ["organization.txt"]),
        ("organ*", ["organ.txt", "organization.txt", "zurich.txt"]),
        ("policie*", ["policies.txt"]),
        ("doin*", ["doing.txt"]),
        ("pres*", ["president.txt"]),  # Whoosh stemmed the prefix itself: pre*, and found "previous"
        ("afghan*", ["afghan.txt"]),
        ("zuri*", ["zurich.txt"]),  # accents folded as the index folds them
        ("ZÜR*", ["zurich.txt"]),
        ("organi?ation", ["organization.txt"]),  # wildcards too
        ("organisatons~", ["zurich.txt"]),  # fuzzy words are within edits of words as written
        ("organizat* OR policie*", ["organization.txt", "policies.txt"]),
        ("title:polic*", ["policies.txt", "policy.txt"]),  # in a named field, the field's own (stemmed) words
        ("title:pres*", ["president.txt"]),  # but the prefix itself is not stemmed (pre*)
        ("body:Pres?d*", ["president.txt"]),  # a wildcard word there matches stems too (`presid`)
    ],
)
def test_prefix_wildcard_and_fuzzy_words_expand_to_words_as_written(word_forms_index, text, expected):
    assert ids(word_forms_index, text) == expected


def test_words_a_prefix_matched_are_marked_as_written(word_forms_index):
    (hit,) = search(word_forms_index, "afghan*", today=TODAY).hits
    marked = [hit.snippets[0].text[a:b] for a, b in hit.snippets[0].matches]
    assert marked == ["Afghans", "Afghanistan"]
    assert [hit.title[a:b] for a, b in hit.title_matches] == ["Afghans", "Afghanistan"]
    both = search(word_forms_index, "organizat* OR donated", today=TODAY).hits
    assert {hit.id: [hit.snippets[0].text[a:b] for a, b in hit.snippets[0].matches] for hit in both} == {
        "organization.txt": ["organization", "organizations"],
        "organ.txt": ["donated"],
    }


def test_an_index_without_word_forms_asks_for_a_rebuild(tmp_path):
    from whoosh import index as whoosh_index

    from archsearch.engines.whoosh.store import open_index

    schema = build_schema()
    schema.remove("exact")
    (tmp_path / "old").mkdir()
    whoosh_index.create_in(str(tmp_path / "old"), schema)
    with pytest.raises(ArchsearchError, match="archsearch index --rebuild"):
        open_index(tmp_path / "old")


def test_plain_words_still_match_their_other_forms(word_forms_index):
    # Stem `organiz` (English Porter2, which keeps "organ" apart): "organization" is found.
    assert ids(word_forms_index, "organized") == ["organization.txt"]
