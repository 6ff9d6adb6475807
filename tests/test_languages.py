"""Wire copy in the languages of the region: datelines, and (below) search end to end."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsearch.errors import ArchsearchError
from archsearch.formats.text import match_dateline, parse_article
from archsearch.searching import search
from conftest import build_index, web, wire


@pytest.mark.parametrize(
    "line, place, agency",
    [
        ("МОСКВА, 10 февраля. /ТАСС/. Президент России", "Москва", "ТАСС"),
        ("КИЇВ, 10 лютого. /Укрінформ/. Уряд", "Київ", "Укрінформ"),
        ("BERLIN, 9. Februar. /DPA/. Die Regierung", "Berlin", "DPA"),
        ("PARIS, 8 février. /AFP/ Le président", "Paris", "AFP"),
        ("MADRID, 10 de febrero (EFE) - El Gobierno", "Madrid", "EFE"),
        ("LISBOA, 10 de fevereiro de 2022 (Lusa) - O Governo", "Lisboa", "Lusa"),
        ("ROMA, 10 febbraio (ANSA) - Il governo", "Roma", "ANSA"),
        ("ANKARA, 10 Şubat (AA) - Dışişleri", "Ankara", "AA"),
        ("موسكو، 10 فبراير /تاس/. قال وزير", "موسكو", "تاس"),
        ("بيروت، 3 كانون الثاني (أ ف ب) - قال", "بيروت", "أ ف ب"),
        ("کابل، ۱۰ فوریه /ایرنا/. وزیر", "کابل", "ایرنا"),
        ("تهران، ۲۱ بهمن /ایرنا/. وزیر", "تهران", "ایرنا"),
        ("KABUL, December 10. /TASS./ The", "Kabul", "TASS"),
    ],
)
def test_datelines_in_the_wire_languages(line, place, agency):
    dateline = match_dateline(line)
    assert dateline is not None
    assert (dateline.place, dateline.agency) == (place, agency)


@pytest.mark.parametrize(
    "line",
    [
        "Москва, как и прежде, ждёт ответа.",  # a sentence, not a dateline
        "Le président a dit: nous verrons.",
        "قال وزير الخارجية إن بلاده مستعدة.",
    ],
)
def test_sentences_are_not_datelines(line):
    assert match_dateline(line) is None


@pytest.mark.parametrize(
    "text, title, place, source",
    [
        (
            " date 2022-02-10 МОСКВА, 10 февраля. /ТАСС/. Россия готова принять беженцев. Министр сказал это вчера.",
            "Россия готова принять беженцев",
            "Москва",
            "ТАСС",
        ),
        (
            " date 2022-02-09 BERLIN, 9. Februar. /DPA/. Die Regierung nimmt Flüchtlinge auf. Mehr folgt.",
            "Die Regierung nimmt Flüchtlinge auf",
            "Berlin",
            "DPA",
        ),
        (
            " date 2022-02-08 PARIS, 8 février. /AFP/ Des réfugiés ont franchi la frontière. La suite.",
            "Des réfugiés ont franchi la frontière",
            "Paris",
            "AFP",
        ),
        (
            " date 2022-02-10 موسكو، 10 فبراير /تاس/. قال الوزير إن بلاده مستعدة. وأضاف أن الحكومة جاهزة.",
            "قال الوزير إن بلاده مستعدة",
            "موسكو",
            "تاس",
        ),
    ],
)
def test_wire_copy_title_comes_from_the_lead_not_the_dateline(text, title, place, source):
    article = parse_article(text)
    assert (article.title, article.place, article.source) == (title, place, source)


# --------------------------------------------------------------------------- search, end to end

NFD = "NFD"

ARTICLES = {
    "ru.txt": wire(
        "2022-02-10",
        "МОСКВА, 10 февраля. /ТАСС/.",
        "Германия согласилась принять беженцев из Афганистана. Её правительство подтвердило решение, "
        "сообщили в министерстве.",
    ),
    "uk.txt": wire(
        "2022-02-11",
        "КИЇВ, 11 лютого. /Укрінформ/.",
        "Україна прийняла біженців з Афганістану. Уряд ухвалив програму допомоги переселенцям.",
    ),
    "fa.txt": wire(
        "2022-02-10",
        "کابل، ۱۰ فوریه /ایرنا/.",
        "هزاران پناهجوی افغان در هفته گذشته از مرز ایران عبور کردند و به کمک فوری نیاز دارند.",
    ),
    "ar.txt": wire(
        "2022-02-10",
        "موسكو، 10 فبراير /تاس/.",
        "رحّلت السلطات مئات اللاجئين الأفغان عبر الحدود خلال الأسبوع الماضي، وفق الأمم المتحدة.",
    ),
    "tr.txt": wire(
        "2022-02-10",
        "ANKARA, 10 Şubat (AA) -",
        "Türkiye, İran sınırından geçen göçmenleri geri gönderdi. Hükümetin kararı meclisde tartışılıyor.",
    ),
    # Decomposed Unicode, as macOS exports and many PDFs write it.
    "de.txt": unicodedata.normalize(
        NFD,
        wire(
            "2022-02-09",
            "BERLIN, 9. Februar. /DPA/.",
            "Die Bundesregierung will mehr Flüchtlinge aus Afghanistan aufnehmen. In der Zürcher Straße "
            "demonstrierten am Dienstag viele Menschen für die Aufnahme.",
        ),
    ),
    "fr.txt": wire(
        "2022-02-08",
        "PARIS, 8 février. /AFP/",
        "Des milliers de réfugiés afghans ont franchi la frontière iranienne la semaine dernière.",
    ),
    "es.txt": web(
        "Mundo",
        "Llegan a España más refugiados afganos",
        "Diario de Madrid",
        "El Gobierno español acogerá a más refugiados afganos este año, según informó el ministerio.",
    ),
    "zh.txt": web(
        "国际",
        "阿富汗难民抵达北京",
        "新华网",
        "外交部发言人表示，中国愿继续向阿富汗人民提供人道主义援助。北京大学的学生也参与了援助工作。",
    ),
    "en-admitted.txt": wire(
        "2021-12-10",
        "KABUL, December 10. /TASS/.",
        "The ministry admitted that the news service of the university had failed the refugees.",
    ),
    "en-admits.txt": wire(
        "2021-12-11",
        "LONDON, December 11. /Reuters/.",
        "The minister admits that a new theory of the universe is generous to its critics.",
    ),
}


@pytest.fixture(scope="module")
def region_index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("region"), ARTICLES)


def ids(index_dir, text):
    return sorted(hit.id for hit in search(index_dir, text, limit=0).hits)


def marked_words(index_dir, text):
    (hit,) = search(index_dir, text, limit=0).hits
    marked = [snippet.text[a:b] for snippet in hit.snippets for a, b in snippet.matches]
    return [unicodedata.normalize("NFC", word) for word in marked], [hit.title[a:b] for a, b in hit.title_matches]


@pytest.mark.parametrize(
    "name, language",
    [("ru.txt", "ru"), ("uk.txt", "uk"), ("fa.txt", "fa"), ("ar.txt", "ar"), ("tr.txt", "tr"), ("de.txt", "de"),
     ("fr.txt", "fr"), ("es.txt", "es"), ("zh.txt", "zh"), ("en-admits.txt", "en")],
)
def test_each_article_is_stored_with_its_language(region_index, name, language):
    assert name in ids(region_index, f"lang:{language}")
    assert ids(region_index, f"lang:{language}") == sorted(
        other for other in ARTICLES if other.split(".")[0].split("-")[0] == language
    )


@pytest.mark.parametrize("at_once, waiting_chars", [(1, 1 << 20), (3, 1 << 20), (16, 150)])
def test_articles_identified_together_are_stored_with_their_own_languages(
    region_index, tmp_path, monkeypatch, at_once, waiting_chars
):
    """FileIndexer identifies the languages of the articles it reads a few at a time (up to
    LANGUAGES_AT_ONCE, or fewer holding WAITING_CHARS): however many, each gets its own."""
    from archsearch import indexing

    monkeypatch.setattr(indexing, "LANGUAGES_AT_ONCE", at_once)
    monkeypatch.setattr(indexing, "WAITING_CHARS", waiting_chars)
    index_dir = build_index(tmp_path, ARTICLES)
    for language in ("ru", "uk", "fa", "ar", "tr", "de", "fr", "es", "zh", "en"):
        assert ids(index_dir, f"lang:{language}") == ids(region_index, f"lang:{language}")


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Германии", ["ru.txt"]),
        ("беженец", ["ru.txt"]),
        ("ее", ["ru.txt"]),
        ("біженців", ["uk.txt"]),  # Ukrainian has no stemmer: the form as written
        ("Flüchtling", ["de.txt"]),
        ("strasse", ["de.txt"]),
        ("لاجئين", ["ar.txt"]),
        ("رحّلت", ["ar.txt"]),
        ("رحلت", ["ar.txt"]),  # without the shadda
        ("مرزها", ["fa.txt"]),
        ("كمك", ["fa.txt"]),  # Arabic kaf finds the Persian
        ("sınır", ["tr.txt"]),
        # Cognates that stem alike meet across languages: the word is looked for in each.
        ("réfugié", ["fr.txt", "es.txt"]),
        ("refugiado", ["es.txt"]),
        ("frontière", ["fr.txt"]),
        ("frontiere", ["fr.txt"]),
        ("北京", ["zh.txt"]),
        ("北京大学", ["zh.txt"]),
        ("援助", ["zh.txt"]),
        ("admits", ["en-admits.txt", "en-admitted.txt"]),
        ("news", ["en-admitted.txt"]),
        ("new", ["en-admits.txt"]),
        ("university", ["en-admitted.txt"]),
        ("universe", ["en-admits.txt"]),
        ("generous", ["en-admits.txt"]),
    ],
)
def test_a_query_word_finds_its_forms_in_the_articles_language(region_index, query, expected):
    assert ids(region_index, query) == sorted(expected)


@pytest.mark.parametrize(
    "query, expected",
    [
        ('"принять беженцев"', ["ru.txt"]),
        ('"беженцев принять"', []),
        ('"Flüchtlinge aus Afghanistan"', ["de.txt"]),
        ('"Afghanistan aus Flüchtlinge"', []),
        ('"refugiados afganos"', ["es.txt"]),
        ('"اللاجئين الأفغان"', ["ar.txt"]),
        ('"北京大学"', ["zh.txt"]),
        ('"大学北京"', []),
    ],
)
def test_phrases_are_exact(region_index, query, expected):
    assert ids(region_index, query) == expected


def test_nfc_query_finds_nfd_text_and_the_reverse(region_index):
    assert ids(region_index, "Zürcher") == ["de.txt"]
    assert ids(region_index, unicodedata.normalize(NFD, "frontière")) == ["fr.txt"]
    assert ids(region_index, unicodedata.normalize(NFD, "Straße Zürcher")) == ["de.txt"]


@pytest.mark.parametrize(
    "query, body_words, title_words",
    [
        ("Германии", ["Германия"], ["Германия"]),
        ("беженец", ["беженцев"], ["беженцев"]),
        ("Zürcher", ["Zürcher"], []),
    ],
)
def test_highlights_mark_the_words_the_index_matched(region_index, query, body_words, title_words):
    body, title = marked_words(region_index, query)
    assert body[: len(body_words)] == body_words and set(body) == set(body_words)
    assert title == title_words


def test_highlights_in_scripts_without_spaces_and_with_marks(region_index):
    body, _ = marked_words(region_index, "北京大学")
    assert body == ["北京大学"]
    body, title = marked_words(region_index, "لاجئين")
    assert body == ["اللاجئين"]


def test_wire_copy_in_other_languages_gets_its_place_source_and_title(region_index):
    (hit,) = search(region_index, "lang:ru", limit=0).hits
    assert (hit.place, hit.source, hit.title) == ("Москва", "ТАСС", "Германия согласилась принять беженцев из Афганистана")
    (hit,) = search(region_index, "lang:de", limit=0).hits
    assert (hit.place, hit.source) == ("Berlin", "DPA")


def test_did_you_mean_in_another_language(tmp_path):
    articles = {f"{number}.txt": ARTICLES["ru.txt"] for number in range(6)}
    index_dir = build_index(tmp_path, articles)
    assert search(index_dir, "Германея").suggestion == "Германия"


def test_similar_finds_articles_in_the_same_language(region_index):
    from archsearch.related import similar

    result = similar(region_index, "en-admits.txt")
    assert [hit.id for hit in result.hits][:1] == ["en-admitted.txt"]


def test_an_index_of_the_previous_analysis_asks_for_a_rebuild(tmp_path):
    from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter
    from whoosh.index import create_in
    from whoosh.support.charset import accent_map

    from archsearch.indexing import update_index
    from archsearch.schema import build_schema

    index_dir = build_index(tmp_path, {"en.txt": ARTICLES["en-admits.txt"]})
    schema = build_schema()
    schema.remove("language")
    porter = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StemFilter()
    schema["title"].analyzer = schema["body"].analyzer = porter
    for path in index_dir.iterdir():
        if path.name.endswith(".toc") or path.name.endswith(".seg"):
            path.unlink()
    create_in(str(index_dir), schema)
    with pytest.raises(ArchsearchError, match="--rebuild"):
        search(index_dir, "admits")
    update_index(index_dir, [], rebuild=True)
    assert ids(index_dir, "admitted") == ["en.txt"]


def test_sources_and_stats_count_the_languages(region_index):
    from archsearch.coverage import facets
    from archsearch.stats import index_stats

    counted = dict(facets(region_index, "lang:ru OR lang:en OR lang:de").languages)
    assert counted == {"en": 2, "ru": 1, "de": 1}
    languages = dict(index_stats(region_index).languages)
    assert languages["en"] == 2 and languages["zh"] == 1 and sum(languages.values()) == len(ARTICLES)


def test_json_and_tsv_carry_the_language(region_index):
    import io
    import json

    from archsearch.rendering import print_search_result

    result = search(region_index, "Германии", limit=0)
    out = io.StringIO()
    print_search_result(result, out, io.StringIO(), "json")
    assert json.loads(out.getvalue().splitlines()[0])["language"] == "ru"
    out = io.StringIO()
    print_search_result(result, out, io.StringIO(), "tsv")
    header, row = out.getvalue().splitlines()
    assert dict(zip(header.split("\t"), row.split("\t")))["language"] == "ru"


def test_cli_filters_and_counts_languages(run_cli, tmp_path):
    from conftest import write_corpus

    corpus = write_corpus(tmp_path / "corpus", {name: ARTICLES[name] for name in ("ru.txt", "de.txt", "en-admits.txt")})
    assert run_cli("index", str(corpus)).exit_code == 0
    found = run_cli("query", "--format", "tsv", "lang:ru")
    assert found.exit_code == 0
    header, *rows = found.output.splitlines()
    assert [dict(zip(header.split("\t"), row.split("\t")))["id"] for row in rows] == ["ru.txt"]
    counted = run_cli("sources", "--format", "tsv", "Flüchtlinge OR Германия OR admits")
    assert "language\tde\t1" in counted.output and "language\tru\t1" in counted.output
    stats = run_cli("stats")
    assert "languages" in stats.output and "de 1" in stats.output


@given(st.text(alphabet="МОСКВАмосква, 0123456789февраля/ТАСС().-—: BERLINFebruar9موسكو،فبراير", max_size=60))
def test_match_dateline_never_fails_and_its_text_opens_the_line(line):
    dateline = match_dateline(line)
    if dateline is not None:
        assert line.lstrip().startswith(dateline.text.lstrip())
        assert dateline.place


def test_a_declared_language_is_stored_as_its_iso_code():
    from archsearch.indexing import Entry, article_document
    from archsearch.records import replace

    article = replace(parse_article(ARTICLES["en-admits.txt"]), language="de-DE")
    document = article_document("/corpus/a.txt", "/corpus", article, Entry("/corpus", 1, 2, "0" * 64))
    assert document["language"] == "de"
    undeclared = article_document("/corpus/a.txt", "/corpus", parse_article(ARTICLES["ru.txt"]), Entry("/corpus", 1, 2, "0" * 64))
    assert undeclared["language"] == "ru"


def test_similar_in_another_language(tmp_path):
    from archsearch.related import similar

    articles = {
        "ru.txt": ARTICLES["ru.txt"],
        "ru-more.txt": wire(
            "2022-02-12", "МОСКВА, 12 февраля. /ТАСС/.", "Правительство Германии приняло ещё тысячу беженцев из Афганистана."
        ),
        "en.txt": ARTICLES["en-admits.txt"],
    }
    result = similar(build_index(tmp_path, articles), "ru.txt")
    assert [hit.id for hit in result.hits] == ["ru-more.txt"]
    # The article's words are weighed as the index holds them: Russian stems.
    assert "body:беженц^" in result.explanation[0] and "беженцев" not in result.explanation[0]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("беженц*", ["ru.txt"]),
        ("Zürch*", ["de.txt"]),
        (unicodedata.normalize(NFD, "Zürch") + "*", ["de.txt"]),
        ("ZÜRCH*", ["de.txt"]),
        ("رحلت*", ["ar.txt"]),  # the text writes it with a shadda: one word, folded
        ("رحّلت*", ["ar.txt"]),
        ("sinir*", ["tr.txt"]),
        ("mehr Flü?htlinge", ["de.txt"]),
        ("Flüchtlinga~", ["de.txt"]),
        ("беженцев~", ["ru.txt"]),
        ("body:беженцы~", ["ru.txt"]),  # in a stemmed field, near the stem of each language
    ],
)
def test_prefix_wildcard_and_fuzzy_words_meet_the_words_as_written_in_every_language(region_index, query, expected):
    assert ids(region_index, query) == expected


def test_words_found_by_prefix_are_marked_in_the_articles_language(region_index):
    assert marked_words(region_index, "беженц*") == (["беженцев"], ["беженцев"])
    assert marked_words(region_index, "Zürch*") == (["Zürcher"], [])


def test_the_words_as_written_go_through_the_chain_without_its_stemmer():
    from archsearch.schema import WORD_FORM_ANALYZER, build_schema
    from archsearch.engines.whoosh.segments import compile_term_lister

    text = unicodedata.normalize(NFD, "Zürcher Flüchtlinge رحّلت 北京大学")
    expected = ["zurcher", "fluchtlinge", "رحلت", "北京", "京大", "大学"]
    assert [token.text for token in WORD_FORM_ANALYZER(text)] == expected
    assert [token.text for token in WORD_FORM_ANALYZER(text, mode="query")] == expected
    list_terms = compile_term_lister(build_schema()["exact"])
    assert list_terms(text, "de") == list_terms(text, "ru") == [term.encode() for term in expected]


def test_prefix_words_in_name_fields_are_folded_as_names_are(tmp_path):
    index = build_index(tmp_path, {
        "a.txt": web("World", "Refugees arrive", "Straßburger Zeitung", "Refugees arrived in Straßburg on Monday."),
        "b.txt": web("World", "Refugees leave", "İstanbul Haber", "Refugees left the city on Tuesday."),
    })
    assert ids(index, "source:Straß*") == ["a.txt"]  # names fold ß as Whoosh's accent map does
    assert ids(index, "source:İstan*") == ["b.txt"]
    assert ids(index, "Straßb*") == ["a.txt"]  # words as written fold ß to ss, in every mode
