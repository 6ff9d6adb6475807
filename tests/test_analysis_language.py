"""Language identification and declared language tags."""

import pytest

from archsearch.analysis import article_language, identify_language, language_code

PARAGRAPHS = {
    "ru": "МОСКВА, 10 февраля. /ТАСС/. Россия готова принять беженцев из Афганистана, заявил министр.",
    "uk": "КИЇВ, 10 лютого. /Укрінформ/. Уряд України ухвалив програму допомоги біженцям.",
    "fa": "کابل، ۱۰ فوریه /ایرنا/. هزاران پناهجوی افغان در هفته گذشته از مرز ایران عبور کردند.",
    "ar": "موسكو، 10 فبراير /تاس/. قال وزير الخارجية إن بلاده مستعدة لاستقبال اللاجئين.",
    "tr": "ANKARA, 10 Şubat (AA) - Binlerce mülteci geçen hafta İran sınırından Türkiye'ye geçti.",
    "de": "BERLIN, 9. Februar. /DPA/. Die Bundesregierung will mehr Flüchtlinge aus Afghanistan aufnehmen.",
    "fr": "PARIS, 8 février. /AFP/ Des milliers de réfugiés afghans ont franchi la frontière.",
    "es": "MADRID, 10 de febrero (EFE) - El Gobierno acogerá a más refugiados afganos este año.",
    "zh": "新华社北京2月10日电 外交部发言人表示，中国愿继续向阿富汗人民提供人道主义援助。",
    "en": "KABUL, December 10. /TASS/. The Taliban government asked donors to release frozen assets.",
}


@pytest.mark.parametrize("language", PARAGRAPHS)
def test_identifies_the_language_of_a_news_lead(language):
    assert identify_language(PARAGRAPHS[language]) == language


def test_too_little_text_is_not_guessed():
    assert identify_language("12 345 — 6") == ""
    assert identify_language("") == ""


@pytest.mark.parametrize(
    "declared, code",
    [
        ("en-US", "en"),
        ("fa_AF", "fa"),
        ("prs", "fa"),
        ("Dari", "fa"),
        ("rus", "ru"),
        ("RU", "ru"),
        ("pus", "ps"),
        ("arz", "ar"),
        ("", ""),
        ("not a language", ""),
    ],
)
def test_language_code_from_declared_tags(declared, code):
    assert language_code(declared) == code


def test_declared_language_wins_over_identification():
    assert article_language("de", "Title", PARAGRAPHS["en"]) == "de"
    assert article_language("", "", PARAGRAPHS["ru"]) == "ru"
    assert article_language("x-unknown-tag", "", PARAGRAPHS["ru"]) == "ru"
