"""Unicode normalisation and folding: what makes two spellings of a word one term.

Text is NFC-normalised before it is split into words, so a decomposed ``Zürcher`` (macOS
exports, many PDFs) is the same string as a composed one.  Each word is then folded in two
steps, the stemmer between them or after both (see chain.py for which languages are which):

* before stemming (``prepare``): case (``casefold``, so ``ß`` -> ``ss``), ``ё`` -> ``е``,
  Arabic tashkeel (short vowels, shadda, sukun, dagger alef) and tatweel removed, alef with
  hamza or madda (``أ إ آ ٱ``) -> ``ا``, Persian and Arabic yeh (``ی ى`` -> ``ي``) and kaf
  (``ک`` -> ``ك``) unified, ``ۀ`` -> ``ه``, Arabic-Indic and Persian digits -> ``0-9``, and
  zero-width joiners removed (``می‌خواهم`` = ``میخواهم``);
* after stemming (``fold_accents``): accents off Latin and Greek letters as Whoosh's
  accent_map does (``Zürich`` = ``Zurich``, ``ł`` -> ``l``), any combining accent left over
  (Cyrillic stress marks), and yeh and kaf again (the Persian stemmer gives back Persian forms).  Cyrillic ``й`` and ``ї`` are letters of their own and stay.
"""

import unicodedata

from archsearch.analysis._tables import ACCENT_MAP  # Whoosh's accent_map


def normalise(text: str) -> str:
    """NFC; cheap for text that is NFC already (most text)."""
    return unicodedata.normalize("NFC", text)


# Persian and Arabic letters unified; applied after stemming too, since the Persian stemmer gives
# back Persian forms.
_ARABIC_LETTERS = {ord("ی"): "ي", ord("ى"): "ي", ord("ک"): "ك", ord("ۀ"): "ه"}


def _prepare_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord("ё"): "е", **_ARABIC_LETTERS}
    for code in [*range(0x064B, 0x0660), 0x0670, 0x0640, 0x200C, 0x200D]:
        table[code] = None  # tashkeel, dagger alef, tatweel, zero-width (non-)joiner
    table.update({ord(alef): "ا" for alef in "أإآٱ"})
    for digit in range(10):
        table[0x0660 + digit] = table[0x06F0 + digit] = str(digit)
    return table


_PREPARE = _prepare_table()


def prepare(word: str) -> str:
    """A word as stemmers take it: case and script variants folded, accents kept."""
    folded = word.casefold()
    # The table holds no ASCII character, and translate() looks each character up (most words are ASCII).
    return folded if folded.isascii() else folded.translate(_PREPARE)


def prepare_ascii(text: str) -> str:
    """prepare(normalise(word)) of each word of an ASCII text at once (NFC and the table leave ASCII as
    it is, and casefold is lower)."""
    return text.lower()


def _accent_table() -> dict[int, str | None]:
    # accent_map folds ß to "s"; casefold has already made it "ss", so that entry never applies.
    table: dict[int, str | None] = {**ACCENT_MAP, **_ARABIC_LETTERS}
    for code in range(0x0300, 0x0370):  # combining diacritical marks left after NFC
        table[code] = None
    return table


_ACCENTS = _accent_table()


def fold_accents(word: str) -> str:
    # accent_map's ASCII entries are capitals, and small letters that stay as they are: a word of
    # small ASCII letters or digits needs no look-up a character.
    if word.isascii() and (word.islower() or word.isdigit()):
        return word
    return word.translate(_ACCENTS)


def fold_accents_ascii(text: str) -> str:
    """fold_accents(word) of each word of an ASCII text at once: translate takes ASCII text from a cache
    of its characters, one step for the text where fold_accents is a call of Python a word."""
    return text.translate(_ACCENTS)


def fold(word: str) -> str:
    """Both folding steps without a stemmer between them: a word as unstemmed fields index it."""
    return fold_accents(prepare(word))
