"""How well and how fast the language identifier names the language of short news leads.

    .venv/bin/python bench/language_eval.py

The leads are written for this test in the languages of the region (one or two sentences each,
as the first lines of wire copy are); the accuracy is the share named right, and the time is
per lead, after the model is loaded.  bench/README.md keeps the figures.
"""

import time

from archsearch.analysis.language import IDENTIFY_CHARS, _get_identifier, identify_language

LEADS = {
    "en": [
        "KABUL, December 10. /TASS/. The Taliban government has asked foreign donors to release frozen assets.",
        "Aid agencies warned on Tuesday that millions of Afghans face hunger this winter.",
        "The United Nations said refugees returning from Pakistan need shelter and food.",
    ],
    "ru": [
        "МОСКВА, 10 февраля. /ТАСС/. Президент России провёл переговоры с делегацией Афганистана.",
        "Беженцы из Афганистана продолжают прибывать в Таджикистан, сообщили в пограничной службе.",
        "Министр иностранных дел заявил, что Россия не признает новое правительство в Кабуле.",
    ],
    "uk": [
        "КИЇВ, 10 лютого. /Укрінформ/. Президент України провів зустріч з послами країн Європи.",
        "Біженці з Афганістану отримали тимчасовий притулок у західних областях країни.",
        "Уряд схвалив нову програму допомоги переселенцям, повідомили у міністерстві.",
    ],
    "fa": [
        "کابل، ۱۰ فوریه /ایرنا/. وزیر امور خارجه ایران با همتای افغان خود دیدار کرد.",
        "هزاران پناهجوی افغان در هفته گذشته از مرز ایران عبور کردند.",
        "سازمان ملل متحد از کمبود شدید غذا در ولایت‌های شمالی افغانستان خبر داد.",
    ],
    "ps": [
        "کابل کې د ملګرو ملتونو استازي د طالبانو له مشرانو سره وکتل.",
        "په تېره اونۍ کې زرګونه کډوال له پاکستان څخه بېرته هېواد ته راستانه شول.",
    ],
    "ar": [
        "موسكو، 10 فبراير /تاس/. قال وزير الخارجية الروسي إن بلاده مستعدة لاستقبال اللاجئين.",
        "أعلنت الأمم المتحدة أن ملايين الأفغان يواجهون الجوع هذا الشتاء.",
        "رحّلت السلطات مئات المهاجرين عبر الحدود خلال الأسبوع الماضي.",
    ],
    "tr": [
        "ANKARA, 10 Şubat (AA) - Dışişleri Bakanı Afgan mevkidaşıyla bir araya geldi.",
        "Binlerce mülteci geçen hafta İran sınırından Türkiye'ye geçti.",
        "Birleşmiş Milletler, Afganistan'da açlık tehlikesinin arttığını açıkladı.",
    ],
    "de": [
        "BERLIN, 9. Februar. /DPA/. Die Bundesregierung will mehr Flüchtlinge aus Afghanistan aufnehmen.",
        "Der Außenminister sprach am Dienstag mit Vertretern der Taliban in Doha.",
        "Hilfsorganisationen warnen vor einer Hungersnot in den nördlichen Provinzen.",
    ],
    "fr": [
        "PARIS, 8 février. /AFP/ Le président a reçu les représentants des organisations humanitaires.",
        "Des milliers de réfugiés afghans ont franchi la frontière la semaine dernière.",
        "Le ministre des Affaires étrangères a appelé à la libération des avoirs gelés.",
    ],
    "es": [
        "MADRID, 10 de febrero (EFE) - El Gobierno español acogerá a más refugiados afganos.",
        "Las agencias de ayuda advirtieron que millones de personas pasarán hambre este invierno.",
        "El ministro de Exteriores se reunió con sus homólogos de Asia Central.",
    ],
    "uz": [
        "Toshkent, 10 fevral. O'zbekiston tashqi ishlar vaziri afg'on hamkasbi bilan uchrashdi.",
        "Chegara orqali minglab qochqinlar o'tgan hafta mamlakatga kirib keldi.",
    ],
    "zh": [
        "新华社北京2月10日电 外交部发言人表示，中国愿继续向阿富汗人民提供人道主义援助。",
        "联合国称，数百万阿富汗人今年冬天面临饥饿。",
    ],
    "ur": [
        "اسلام آباد میں وزیر خارجہ نے افغان مہاجرین کی واپسی کے بارے میں بات کی۔",
        "اقوام متحدہ نے کہا ہے کہ لاکھوں افغان شہری بھوک کا شکار ہیں۔",
    ],
}


def main() -> None:
    _get_identifier()  # the model is loaded once per process, outside the timing
    right = total = 0
    wrong = []
    started = time.perf_counter()
    for language, leads in LEADS.items():
        for lead in leads:
            found = identify_language(lead)
            total += 1
            right += found == language
            if found != language:
                wrong.append(f"{language} -> {found or '?'}: {lead[:50]}")
    elapsed = time.perf_counter() - started
    print(f"{right}/{total} leads named right ({right / total:.0%}), {elapsed / total * 1000:.2f} ms per lead")
    for line in wrong:
        print("  wrong:", line)
    article = " ".join(lead for leads in LEADS.values() for lead in leads[:1]) * 20
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        identify_language(article)
    print(f"{(time.perf_counter() - started) / runs * 1000:.2f} ms per article (the first {IDENTIFY_CHARS} characters)")


if __name__ == "__main__":
    main()
