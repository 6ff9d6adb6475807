"""Stemmers by language: Snowball's, through PyStemmer (C, about 5x Whoosh's pure-Python Porter).

English uses Snowball's English stemmer (Porter2), which keeps apart what Porter merged
(``news``/``new``, ``university``/``universe``) and brings together what it split
(``admitted``/``admits``).  A language Snowball has no stemmer for (Ukrainian, Pashto, Uzbek,
Chinese, ...) is indexed folded but unstemmed: a query finds the forms it names, no others.
"""

from collections.abc import Callable
from functools import cache

import Stemmer

# ISO 639-1 code -> Snowball algorithm.
SNOWBALL_ALGORITHMS = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "st": "sesotho",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


@cache
def _installed_algorithms() -> frozenset[str]:
    return frozenset(Stemmer.algorithms())


def _russian(stem_word: Callable[[str], str]) -> Callable[[str], str]:
    # Snowball leaves the fleeting vowel of nouns in -ец: беженец -> беженец but беженцев ->
    # беженц (отец/отца, немец/немцы).  Dropping it from every stem that ends so puts the forms
    # together, and a word that keeps its е (жрец, жреца) is dropped alike in all its forms.
    def stem(word: str) -> str:
        stemmed = stem_word(word)
        return stemmed[:-2] + "ц" if stemmed.endswith("ец") and len(stemmed) > 3 else stemmed

    return stem


@cache
def stemmer_for(language: str) -> Callable[[str], str] | None:
    """The stemming function for an ISO 639-1 code, or None when the language has none."""
    algorithm = SNOWBALL_ALGORITHMS.get(language)
    if algorithm is None or algorithm not in _installed_algorithms():
        return None
    # PyStemmer's own cache would duplicate the per-word caches of the callers.
    stem_word = Stemmer.Stemmer(algorithm, 0).stemWord
    return _russian(stem_word) if language == "ru" else stem_word


def stemmed_languages() -> list[str]:
    return sorted(code for code in SNOWBALL_ALGORITHMS if stemmer_for(code))
