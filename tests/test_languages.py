"""Wire copy in the languages of the region: datelines, and (below) search end to end."""

import pytest

from archsearch.formats.text import match_dateline, parse_article


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
