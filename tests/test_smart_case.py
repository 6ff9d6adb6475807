"""Exact words: a word typed in capitals of 2-5 letters matches only where it is written in capitals
(smart case), `=word` matches that word as written, unstemmed, in any case, and --ignore-case turns
smart case off."""

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.fields import Schema

from archsearch.analysis import normalise, words
from archsearch.analysis.capitals import capital_form, capital_words, is_capital_word
from archsearch.indexing import update_index
from archsearch.querying import QuerySyntaxError, parse_query
from archsearch.schema import build_schema
from archsearch.searching import search

ARTICLES = {
    "us_troops": "US troops leave the base\n\nThe US troops left on Monday; some of us stayed behind.",
    "us_lower": "A letter to us\n\nThey wrote to us about the news from home.",
    "us_capitalised": "Us and them\n\nUs against the world, a film about a General.",
    "who_said": "Health agency warns\n\nThe WHO said the outbreak was over.",
    "who_lower": "Who knows\n\nNobody knows who did it.",
    "it_sector": "Jobs in the IT sector\n\nThe IT sector grew fast this year.",
    "headline": "US TROOPS LEAVE\n\nSoldiers went home to all of us.",
    "news_capitals": "Evening bulletin\n\nNEWS of the day, read by the anchor.",
    "generally": "Army statement\n\nThe army generally agrees.",
    "russia": "США и Россия\n\nПредставители США встретились в Женеве.",
    "russia_lower": "Письмо читателя\n\nОн пишет про сша строчными буквами.",
    "ireland": "Éire today\n\nA report on RTÉ about the Dáil.",
}


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    for name, text in ARTICLES.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    index = tmp_path_factory.mktemp("index") / "index"
    update_index(index, [str(folder)])
    return index


def found(index, text, **options) -> set[str]:
    return {hit.id.removesuffix(".txt") for hit in search(index, text, limit=0, with_snippets=False, **options).hits}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("US", {"us_troops"}),
        ("us", {"us_troops", "us_lower", "us_capitalised", "headline"}),
        ("Us", {"us_troops", "us_lower", "us_capitalised", "headline"}),
        ("=us", {"us_troops", "us_lower", "us_capitalised", "headline"}),
        ("WHO", {"who_said"}),
        ("who", {"who_said", "who_lower"}),
        ("IT", {"it_sector"}),
        ("it", {"it_sector", "who_lower"}),
        ("США", {"russia"}),
        ("сша", {"russia", "russia_lower"}),
        ("RTE", {"ireland"}),  # accents folded, as everywhere
        ("RTÉ", {"ireland"}),
        ("news", {"us_lower", "news_capitals"}),
        ("general", {"us_capitalised", "generally"}),  # both are `general` to the English stemmer
        ("=general", {"us_capitalised"}),
        ("=GENERALLY", {"generally"}),
        ("=news", {"us_lower", "news_capitals"}),
        ("=NEWS", {"us_lower", "news_capitals"}),
        ("US OR WHO", {"us_troops", "who_said"}),
        ("us -US", {"us_lower", "us_capitalised", "headline"}),
        ("us NOT =news", {"us_troops", "us_capitalised", "headline"}),
        ("=news OR IT", {"us_lower", "news_capitals", "it_sector"}),
        ("title:US", {"us_troops"}),
        ("body:WHO", {"who_said"}),
        ("(WHO OR IT) said", {"who_said"}),
        ('"US troops"', {"us_troops", "headline"}),  # phrases match in any case
        ("US*", {"us_troops", "us_lower", "us_capitalised", "headline"}),  # so do prefixes
    ],
)
def test_smart_case_and_exact_forms_find_exactly(corpus_index, query, expected):
    assert found(corpus_index, query) == expected


@pytest.mark.parametrize(
    "query, lowercase", [("US", "us"), ("США", "сша"), ("US OR WHO", "us OR who"), ("title:US", "title:us"), ("IT", "it")]
)
def test_ignore_case_finds_the_word_in_any_case(corpus_index, query, lowercase):
    assert found(corpus_index, query, ignore_case=True) == found(corpus_index, lowercase) != found(corpus_index, query)


def marked(text, spans):
    return [text[start:end] for start, end in spans]


def test_highlighting_marks_only_the_occurrences_in_capitals(corpus_index):
    [hit] = search(corpus_index, "US").hits
    assert marked(hit.title, hit.title_matches) == ["US"]
    [snippet] = hit.snippets
    assert marked(snippet.text, snippet.matches) == ["US"]  # not the "us" of "some of us"
    hits = {hit.id: hit for hit in search(corpus_index, "us", limit=0).hits}
    snippet = hits["us_troops.txt"].snippets[0]
    assert marked(snippet.text, snippet.matches) == ["US", "us"]


def test_an_exact_form_marks_that_word_in_any_case_and_not_its_stem(corpus_index):
    hits = {hit.id: hit for hit in search(corpus_index, "=news", limit=0).hits}
    assert [marked(s.text, s.matches) for s in hits["news_capitals.txt"].snippets] == [["NEWS"]]
    assert [marked(s.text, s.matches) for s in hits["us_lower.txt"].snippets] == [["news"]]


def test_ignore_case_on_every_command_taking_a_query(corpus_index, run_cli, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(corpus_index))
    assert run_cli("query", "-c", "US").output == "1\n"
    assert run_cli("query", "-c", "--ignore-case", "US").output == "4\n"
    assert run_cli("query", "-c", "-i", "US").output == "4\n"
    for command in ("timeline", "sources"):
        smart = json.loads(run_cli(command, "--json", "US").output.splitlines()[-1])
        ignoring = json.loads(run_cli(command, "--json", "--ignore-case", "US").output.splitlines()[-1])
        assert smart != ignoring, command


def test_when_smart_case_leaves_nothing_the_note_counts_the_matches_in_any_case(corpus_index, run_cli, monkeypatch):
    result = search(corpus_index, "WHO knows")
    assert (result.total, result.capitals, result.any_case_matches) == (0, ("WHO",), 1)
    assert search(corpus_index, "WHO said").any_case_matches == 0  # it found something: no note
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(corpus_index))
    shown = run_cli("query", "-c", "WHO knows")
    assert shown.stdout == "0\n"
    assert "no article has all the words with WHO written in capitals; 1 match in any case" in shown.stderr


def test_explain_shows_both_operators(corpus_index, run_cli, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(corpus_index))
    output = run_cli("query", "--explain", "US", "OR", "=news").output
    assert "in capitals only (smart case; --ignore-case turns it off): US" in output
    assert "exact forms, unstemmed, any case: news" in output
    assert "in capitals only" not in run_cli("query", "--explain", "-i", "US").output


@pytest.mark.parametrize(
    "query, message",
    [
        ("title:=news", "takes no field"),
        ("=", "needs a plain word"),
        ("=new*", "needs a plain word"),
    ],
)
def test_bad_exact_forms_are_clear_errors(query, message):
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(query, build_schema())


def test_an_exact_form_of_several_words_is_a_phrase_of_words_as_written():
    parsed = parse_query("=U.S.-led", build_schema()).query
    assert str(parsed) == 'exact:"u.s led"'


def test_words_written_in_capitals():
    text = "US TROOPS LEAVE\nThe US and us, Us. WHO said; U.S. IT-sector NATO's ABCDEF G7 США и сша 北京\nEU"
    assert capital_words(text) == ["US", "WHO", "IT", "NATO", "США", "EU"]
    assert capital_words("A report on RTÉ") == ["RTE"]
    assert capital_words("BREAKING: US troops") == ["US"]  # a line with lowercase letters has case
    assert capital_words("WASHINGTON (AP) - Troops") == ["AP"]
    assert capital_words("WASHINGTON (AP) -") == []  # a dateline in capitals carries no case


@given(st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs", "M"]), max_size=40))
@example("\u0958AA")  # क़ decomposes to क and a nukta, a mark: the tokenizer reads one word
@example("AA\u0301\u0489 BB")
def test_only_whole_words_in_capitals_are_kept(text):
    written = {capital_form(word) for word in words(normalise(text)) if is_capital_word(word)}
    assert set(capital_words(text)) <= written


@given(st.text(max_size=8) | st.text(st.characters(max_codepoint=0x7F), max_size=8))
def test_a_words_capital_form_is_its_accents_folded_in_capitals(word):
    """capital_form takes an ASCII word's as its capitals alone: the accent table only lowercases ASCII."""
    from archsearch.analysis.folding import fold_accents

    assert capital_form(word) == fold_accents(word).upper()
    assert all(fold_accents(chr(code)).upper() == chr(code).upper() for code in range(0x80))


def test_no_ascii_character_joins_a_run_of_capitals_to_a_word_as_a_mark_would():
    """capitals._stands_alone takes ASCII neighbours as plain without looking them up."""
    from archsearch.analysis.tokens import plain_word_character

    assert all(plain_word_character(chr(code)) for code in range(0x80))


# Capitals and what stands around them: dots, word characters, marks, line ends, capitals beyond
# the Basic Multilingual Plane (not searched) and of other scripts.
capital_surroundings = st.sampled_from(list("ABZ.a9_ \n-'(") + ["\u0301", "\u0130", "\u0414", "\u0393", "\U0001d400", "\u00c9"])


@given(st.lists(capital_surroundings, max_size=60).map("".join) | st.text(max_size=200))
def test_words_in_capitals_are_found_where_the_look_behind_first_found_them(text):
    import re

    from archsearch.analysis.capitals import _capital_run

    pattern = _capital_run().pattern
    capital = pattern[: pattern.index("(?<!")]
    look_behind_first = re.compile(rf"(?<![\w.]){capital}{{2,5}}(?!\w|\.\w)")
    assert [match.span() for match in _capital_run().finditer(text)] == [
        match.span() for match in look_behind_first.finditer(text)
    ]


@given(st.lists(st.sampled_from(list("ABZ.a9_ \n-'(\t") + ["US", "NATO", "ABCDEF", "U.S", "A.B.", "x1"]), max_size=60).map("".join)
       | st.text(st.characters(max_codepoint=0x7F), max_size=200) | st.text(max_size=100))
def test_capital_runs_are_the_pattern_s_matches_in_any_text(text):
    """capital_runs matches only where ASCII runs start: the same matches as the pattern's finditer."""
    from archsearch.analysis.capitals import _capital_run, capital_runs

    assert [match.span() for match in capital_runs(text)] == [match.span() for match in _capital_run().finditer(text)]


def test_smart_case_applies_only_to_words_with_case():
    words_typed = ("US", "США", "ΗΠΑ", "Us", "us", "G7", "U", "ABCDEF", "北京")
    assert [is_capital_word(word) for word in words_typed] == [
        True, True, True, False, False, False, False, False, False,
    ]


def test_an_index_without_the_capitals_field_asks_for_a_rebuild(index_dir, run_cli):
    older = Schema(**{name: field for name, field in build_schema().items() if name != "capitals"})
    index_dir.mkdir()
    whoosh_index.create_in(str(index_dir), older)
    result = run_cli("query", "US")
    assert result.exit_code == 2
    assert "archsearch index --rebuild" in result.output


def test_browse_applies_smart_case_to_hits_facets_timeline_and_preview(corpus_index):
    from archsearch.browser.session import Session

    smart = Session(corpus_index).run("US")
    assert (smart.search.total, smart.facets.total, smart.undated) == (1, 1, 1)
    preview = Session(corpus_index).preview(smart.search.hits[0], smart.terms)
    assert marked(preview.article.body, preview.body_matches) == ["US"]
    ignoring = Session(corpus_index, ignore_case=True).run("US")
    assert (ignoring.search.total, ignoring.facets.total, ignoring.undated) == (4, 4, 4)
