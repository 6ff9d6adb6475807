"""The analysis chain: tokens in every script, folding, stemming by language."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsearch.analysis import (
    TextAnalyzer,
    fold,
    query_form,
    term_alternatives,
    term_lister,
    terms,
    word_spans,
    word_term,
    words,
)
from archsearch.analysis import _tables, chain, folding, tokens
from archsearch.analysis.charclasses import compute_mark_ranges


def test_generated_tables_match_this_pythons_unicode():
    if _tables.UNICODE_VERSION != unicodedata.unidata_version:
        pytest.skip(f"tables for Unicode {_tables.UNICODE_VERSION}, Python has {unicodedata.unidata_version}")
    assert _tables.MARK_RANGES == compute_mark_ranges()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("رحّلت السلطات", ["رحّلت", "السلطات"]),  # shadda (Mn) inside an Arabic word
        ("हिन्दी समाचार", ["हिन्दी", "समाचार"]),  # Devanagari vowel signs and virama
        ("Zu\u0308rcher Zeitung", ["Zu\u0308rcher", "Zeitung"]),  # decomposed ü
        ("می\u200cخواهم", ["می\u200cخواهم"]),  # zero-width non-joiner inside a Persian word
        ("U.S. troops, 3.5 million", ["U.S", "troops", "3.5", "million"]),
        ("北京大学", ["北京", "京大", "大学"]),
        ("中 国", ["中", "国"]),
        ("2021年北京", ["2021", "年北", "北京"]),
        ("北京.com ok", ["北京", "com", "ok"]),
        ("ข่าว ไทย", ["ข่", "่า", "าว", "ไท", "ทย"]),  # Thai marks stay in the pairs of their run
        ("U.S. Zürcher", ["U.S", "Zürcher"]),  # marks elsewhere do not change the rest
    ],
)
def test_words_keep_marks_and_pair_unspaced_scripts(text, expected):
    assert words(text) == expected


@given(st.text(alphabet="ab.üّ̈北京大 ", max_size=30))
def test_word_spans_are_the_words_where_they_stand(text):
    spans = word_spans(text)
    assert [word for _, _, word in spans] == words(text)
    assert all(text[start:end] == word for start, end, word in spans)


def test_word_spans_locate_each_word_and_pair():
    text = "Kabul 北京大学"
    assert [(start, end, word) for start, end, word in word_spans(text)] == [
        (0, 5, "Kabul"),
        (6, 8, "北京"),
        (7, 9, "京大"),
        (8, 10, "大学"),
    ]
    assert all(text[start:end] == word for start, end, word in word_spans(text))


@pytest.mark.parametrize(
    "word, folded",
    [
        ("Straße", "strasse"),
        ("ЁЛКА", "елка"),
        ("رحّلت", "رحلت"),  # tashkeel
        ("الـلاجئين", "اللاجئين"),  # tatweel
        ("أفغانستان", "افغانستان"),
        ("إيران", "ايران"),
        ("آذار", "اذار"),
        ("کتابی", "كتابي"),  # Persian kaf and yeh
        ("على", "علي"),  # alef maksura
        ("می\u200cخواهم", "ميخواهم"),
        ("۱۴۰۰", "1400"),
        ("٢٠٢١", "2021"),
        ("Zürich", "zurich"),
        ("Łódź", "lodz"),
        ("Моско́вский", "московский"),  # a stress mark
        ("йод", "йод"),  # й is a letter, not и with an accent
        ("їжа", "їжа"),
    ],
)
def test_fold(word, folded):
    assert fold(word) == folded


# ASCII letters of both cases (accent_map folds some capitals), digits and the characters the tables
# do map, for the steps that skip the tables for ASCII words.
folding_text = st.text(st.sampled_from("abhinpstwyHIJNPSTWYZ019._" "éÉßİıКёأ\u0301\u200c\uff21"), max_size=8)


@given(folding_text)
def test_folding_steps_give_what_their_tables_give(word):
    assert folding.prepare(word) == word.casefold().translate(folding._PREPARE)
    assert folding.fold_accents(word) == word.translate(folding._ACCENTS)


@given(st.lists(st.text(st.characters(max_codepoint=127, blacklist_characters="\n"), max_size=8), min_size=1, max_size=6))
def test_the_ascii_steps_fold_each_word_of_a_text(words):
    text = "\n".join(words)
    assert folding.prepare_ascii(text).split("\n") == [folding.prepare(folding.normalise(word)) for word in words]
    assert folding.fold_accents_ascii(text).split("\n") == list(map(folding.fold_accents, words))


# Words of ASCII and beyond: capitals the accent table maps, letters stemmers change, a line break, none.
word_lists = st.lists(
    st.text(st.sampled_from("aeiousyngdHIJNPSTWY019._\n" "éÉßİıКёеецأی\u0301\u200c"), max_size=10)
    | st.sampled_from(["running", "Refugees", "admitted", "беженцев", "sınırları", "Flüchtlinge", "كتابها", ""]),
    max_size=12,
)


@given(word_lists, st.sampled_from(["en", "fr", "de", "tr", "ru", "ar", "fa", "uk", ""]))
def test_the_terms_of_words_at_once_are_each_words_term(words, language):
    assert chain.word_terms(words, language) == [word_term(word, language) for word in words]


@pytest.mark.parametrize(
    "language, forms",
    [
        ("ru", ["Германия", "Германии"]),
        ("ru", ["беженец", "беженцев", "беженцы"]),
        ("ru", ["отец", "отца"]),
        ("ru", ["её", "ее"]),
        ("de", ["Flüchtling", "Flüchtlinge"]),
        ("de", ["Straße", "strasse"]),
        ("ar", ["لاجئين", "اللاجئين"]),
        ("fa", ["کتاب‌ها", "كتابها", "کتاب", "كتاب"]),
        ("fr", ["réfugié", "réfugiés"]),
        ("es", ["refugiado", "refugiados"]),
        ("tr", ["sınır", "sınırdan", "sınırları"]),
        ("tr", ["hükümet", "hükümetin", "hükümetler"]),
        ("en", ["admitted", "admits", "admit"]),
        ("en", ["refugee", "refugees"]),
    ],
)
def test_inflected_forms_share_a_term(language, forms):
    assert len({word_term(form, language) for form in forms}) == 1


@pytest.mark.parametrize(
    "first, second",
    [("news", "new"), ("university", "universe"), ("general", "generous")],
)
def test_english_keeps_apart_what_porter_merged(first, second):
    assert word_term(first, "en") != word_term(second, "en")


def test_language_without_stemmer_is_folded_not_stemmed():
    assert terms("Біженці з Афганістану", "uk") == ["біженці", "з", "афганістану"]
    assert terms("Qochqinlar", "uz") == ["qochqinlar"]
    assert terms("Refugees", "") == ["refugees"]


@pytest.mark.parametrize(
    "language, forms",
    [
        ("fr", ["frontière", "frontiere", "frontières"]),
        ("fr", ["réfugiés", "refugies", "réfugié"]),
        ("de", ["Zürcher", "Zurcher"]),
        ("es", ["Afganistán", "afganistan"]),
    ],
)
def test_accents_never_matter_in_western_european_languages(language, forms):
    assert len({word_term(form, language) for form in forms}) == 1


def test_turkish_letters_are_stemmed_before_they_are_folded():
    # "ları" is a Turkish plural suffix, "lari" is not; the stem is folded afterwards.
    assert word_term("sınırları", "tr") == word_term("sınır", "tr") == "sinir"


@given(st.text(alphabet="aouäöüßéèñçzrchtлоёйاأإیككّـ \u0308\u0301", max_size=40), st.sampled_from(["en", "de", "ru", "ar", "fa", ""]))
def test_nfc_and_nfd_text_give_the_same_terms(text, language):
    assert terms(unicodedata.normalize("NFD", text), language) == terms(unicodedata.normalize("NFC", text), language)


def test_term_lister_agrees_with_terms_per_language():
    list_terms = term_lister()
    text = "Refugees fled; беженцы бежали"
    for language in ("en", "ru", ""):
        assert list_terms(text, language) == terms(text, language)


def test_term_alternatives_one_per_distinct_term():
    assert term_alternatives("Германии", ["en", "ru", "de"]) == ["германии", "герман"]
    assert term_alternatives("Kabul", ["en", "ru"]) == ["kabul"]


def test_analyzer_index_mode_stems_query_mode_keeps_the_word():
    analyzer = TextAnalyzer("en")
    assert [token.text for token in analyzer("The Refugees")] == ["the", "refuge"]
    assert [token.text for token in analyzer("The Refugees", mode="query")] == ["the", "refugees"]
    assert query_form("Refugees") == "refugees"
    located = [(token.text, token.startchar, token.endchar) for token in analyzer("a Zu\u0308rcher", mode="query", chars=True)]
    assert located == [("a", 0, 1), ("zürcher", 2, 9)]


joinable_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40) | st.lists(
    st.sampled_from(["a", "\u0301", "e\u0301", "北京", "U.S", ".", "3.5", "\n", " ", "\U0001d400", "\u0915\u093c", "Ω"]),
    max_size=12,
).map("".join)


@given(title=joinable_text, body=joinable_text)
def test_the_words_of_title_and_body_joined_are_the_titles_then_the_bodys(title, body):
    """The segment writer finds the `exact` field's words as the title's then the body's
    (segments.JOINED_FIELDS): a line break joins no words, and NFC composes nothing across it."""
    from archsearch.analysis.chain import text_words
    from archsearch.schema import exact_text

    assert text_words(exact_text(title, body)) == text_words(title) + text_words(body)


@given(st.text(st.sampled_from("ab_Z09. .\t\n,;-'\x1c\x7f"), max_size=30))
def test_ascii_text_has_the_words_of_the_regular_expression(text):
    assert words(text) == tokens.PLAIN_WORD.findall(text)


# Text beyond ASCII of the shapes _plain_words meets, and of those it hands to the expressions:
# accents, dashes and spaces beyond ASCII, Cyrillic, a mark, an unspaced character, a surrogate.
_mixed_text = st.text(
    st.sampled_from("ab_Z09. .\t\n,;-'\x1c\x7f") | st.sampled_from("éÜ—«»…\u00a0\u2003\u3000\x85ПрΩ²½\u0301北\ud800\U0001d400"),
    max_size=30,
)


@given(st.text(max_size=40) | _mixed_text)
def test_words_split_in_c_are_the_words_of_the_regular_expressions(text):
    assert words(text) == tokens._expression_words(text)


def test_words_beyond_ascii_split_in_c():
    assert tokens._plain_words(" U.S.—Zürcher «Привет»...3.5 x_y\u00a0é. ") == ["U.S", "Zürcher", "Привет", "3.5", "x_y", "é"]
    assert tokens._plain_words("Zu\u0308rcher") is None  # a mark
    assert tokens._plain_words("北京") is None
    many_non_words = "".join(chr(code) for code in range(0x2010, 0x2010 + tokens._MOST_REPLACED + 1))
    assert tokens._plain_words(f"a{many_non_words}b") is None
    assert words(f"a{many_non_words}b") == ["a", "b"]
