"""Which language an article is in: declared by its format, or identified from its text.

Identification uses py3langid (a maintained fork of langid.py: a naive Bayes model over byte
n-grams for 140 languages, shipped inside its wheel, so nothing is downloaded).  It is loaded on
first use only (numpy and 0.7 s), which indexing pays once per worker and queries never.
Languages are kept as ISO 639-1 codes (``ru``, ``fa``); the few the identifier names by a
regional code are folded into their language (Egyptian and Moroccan Arabic -> ``ar``, Southern
Uzbek -> ``uz``, Cantonese and Wu -> ``zh``), and those with no two-letter code keep their
three letters.
"""

import re

# The opening of an article decides: the identifier's accuracy no longer grows past a few
# sentences, and its cost grows with the length.
IDENTIFY_CHARS = 600
# Too few letters to say anything: a table of figures, a caption, a one-word file.
MIN_LETTERS = 12

_REGIONAL = {"ary": "ar", "arz": "ar", "uzs": "uz", "yue": "zh", "wuu": "zh"}
# Three-letter (ISO 639-2/3) codes and names that exports and feeds declare for the languages of
# the region, with Dari (prs) and Farsi as Persian, and Norwegian Bokmål as Norwegian.
_DECLARED = {
    "ara": "ar", "arb": "ar", "deu": "de", "ger": "de", "eng": "en", "fas": "fa", "per": "fa",
    "prs": "fa", "pes": "fa", "fra": "fr", "fre": "fr", "pus": "ps", "pbu": "ps", "pst": "ps",
    "rus": "ru", "spa": "es", "tur": "tr", "ukr": "uk", "uzb": "uz", "uzn": "uz", "zho": "zh",
    "chi": "zh", "cmn": "zh", "urd": "ur", "hin": "hi", "tgk": "tg", "tuk": "tk", "kaz": "kk",
    "kir": "ky", "por": "pt", "ita": "it", "nob": "no", "nb": "no", "nno": "nn",
    "english": "en", "russian": "ru", "persian": "fa", "farsi": "fa", "dari": "fa", "pashto": "ps",
    "uzbek": "uz", "arabic": "ar", "turkish": "tr", "german": "de", "french": "fr",
    "spanish": "es", "ukrainian": "uk", "chinese": "zh", "urdu": "ur", "tajik": "tg",
}
_TWO_LETTERS = re.compile(r"[a-z]{2}")
_LETTER = re.compile(r"[^\W\d_]")


def language_code(declared: str) -> str:
    """An ISO 639-1 code from a declared language (``en-US``, ``fa_AF``, ``prs``, ``Russian``);
    "" when it names none (three-letter codes are known for the languages of the region only)."""
    declared = declared.strip().lower()
    if declared in _DECLARED:
        return _DECLARED[declared]
    primary = re.split(r"[-_\s]", declared, maxsplit=1)[0]
    if primary in _DECLARED:
        return _DECLARED[primary]
    if primary in _REGIONAL:
        return _REGIONAL[primary]
    return primary if _TWO_LETTERS.fullmatch(primary) else ""


_identifier = None


def _get_identifier():
    global _identifier
    if _identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    return _identifier


def identify_language(text: str) -> str:
    """The ISO 639-1 code of the language ``text`` is written in; "" when it is too short to tell."""
    text = text[:IDENTIFY_CHARS]
    if len(_LETTER.findall(text)) < MIN_LETTERS:
        return ""
    code, _ = _get_identifier().classify(text)
    if code == "zxx":  # "no linguistic content"
        return ""
    return _REGIONAL.get(code, code)


def article_language(declared: str, title: str, body: str) -> str:
    """The declared language when it names one, else the one identified from the title and body."""
    return language_code(declared) or identify_language(f"{title}\n{body}")
