from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.passages import (
    _WORD, PASSAGE_CHARS, WordMatcher, folded_form, indexed_form, lead_passage, passages,
)
from archsearch.schema import TEXT_ANALYZER


def terms(*words):
    return WordMatcher(frozenset(indexed_form(word) for word in words))


def marked(snippet):
    return [snippet.text[a:b] for a, b in snippet.matches]


def test_indexed_form_is_what_the_index_analyzer_gives():
    for word in ["Fighting", "Zürich", "ÜBER", "refugees", "COVID", "ties", "ay", "Ça", "naïve"]:
        assert indexed_form(word) == [token.text for token in TEXT_ANALYZER(word)][0]


def test_other_forms_and_accents_are_marked():
    text = "Fighting in Zürich; the fighters fight. Zurich is calm."
    spans = terms("fight", "zurich").spans(text)
    assert [text[a:b] for a, b in spans] == ["Fighting", "Zürich", "fight", "Zurich"]


def test_passages_prefer_the_most_distinct_words_and_keep_text_order():
    filler = "Nothing of note happened on this quiet day in the valley. " * 8
    text = filler + "Taliban fighters entered Kabul at dawn. " + filler + "Taliban again. " + filler + "Kabul residents fled."
    chosen = passages(text, terms("taliban", "kabul"), top=1)
    assert len(chosen) == 1 and marked(chosen[0]) == ["Taliban", "Kabul"]
    both = passages(text, terms("taliban", "kabul"), top=2)
    assert [s.start for s in both] == sorted(s.start for s in both)


def test_passages_are_cut_at_whitespace_and_bounded():
    text = "word " * 200 + "needle " + "word " * 200
    (snippet,) = passages(text, terms("needle"))
    assert marked(snippet) == ["needle"]
    assert len(snippet.text) <= PASSAGE_CHARS + 20
    assert text[snippet.start - 1] == " " and text[snippet.end] == " "


def test_no_terms_no_passages_and_a_lead_instead():
    assert passages("some text", WordMatcher()) == []
    lead = lead_passage("First words of the body. " * 30)
    assert lead.start == 0 and lead.text.startswith("First words") and lead.matches == ()


def test_passages_never_repeat_text():
    from archsearch.formats import read_article
    from conftest import SEEDS, WIRE_SEED

    body = read_article(SEEDS / WIRE_SEED).body
    chosen = passages(body, terms("taliban"), top=2)  # its first two mentions are 100 characters apart
    assert len(chosen) == 2
    assert chosen[0].end <= chosen[1].start


# Letters that fold (case, accents, the dotted capital I), digits, and the dots and marks that
# decide where the tokenizer's words start ("U.S" is one word, "a..b" two).
TEXT_CHARACTERS = st.sampled_from(list("aeiostnrlyAEIOSTzZüÜéÉıİΣσς19_*.,. -'\n") + ["ing", "ed", "ies", "ation", "bility"])


def words_by_scanning(text, stems, forms=frozenset()):
    """What passages found before they searched for beginnings: every token, analysed."""
    return [
        match.span()
        for match in _WORD.finditer(text)
        if indexed_form(match.group()) in stems or folded_form(match.group()) in forms
    ]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(TEXT_CHARACTERS, max_size=60).map("".join),
    st.lists(st.lists(TEXT_CHARACTERS, min_size=1, max_size=6).map("".join), max_size=4),
    st.data(),
)
def test_the_words_found_are_those_a_scan_of_every_word_finds(text, other_words, data):
    tokens = [match.group() for match in _WORD.finditer(text)]
    chosen = data.draw(st.lists(st.sampled_from(tokens), max_size=3)) if tokens else []
    stems = frozenset(indexed_form(word) for word in chosen + other_words if _WORD.fullmatch(word))
    forms = frozenset(folded_form(word) for word in data.draw(st.lists(st.sampled_from(tokens), max_size=2))) if tokens else frozenset()
    assert WordMatcher(stems, forms).spans(text) == words_by_scanning(text, stems, forms)


def test_stems_that_rewrite_the_words_end_still_mark_it():
    text = "Employability, cities, hoping, possibly, Zürich, İstanbul, U.S. and u.s.a."
    words = ["employability", "cities", "hoping", "possibly", "zurich", "İstanbul", "U.S"]
    spans = terms(*words).spans(text)
    assert [text[a:b] for a, b in spans] == ["Employability", "cities", "hoping", "possibly", "Zürich", "İstanbul", "U.S"]


def test_passages_read_the_tokenizer_they_assume():
    # _TOKEN_START finds where this expression's words start.
    assert _WORD.pattern == r"[\w\*]+(\.?[\w\*]+)*"
