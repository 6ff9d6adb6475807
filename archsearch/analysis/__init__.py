"""Text analysis shared by indexing and querying: Unicode normalisation and folding, words in
every script, language identification and per-language stemming (see chain.py for the order)."""

from archsearch.analysis.chain import (
    ChainAnalyzer,
    TextAnalyzer,
    WordFormAnalyzer,
    query_form,
    term_alternatives,
    term_lister,
    terms,
    word_term,
)
from archsearch.analysis.folding import fold, normalise
from archsearch.analysis.stemming import stemmer_for
from archsearch.analysis.tokens import word_spans, words

__all__ = [
    "ChainAnalyzer",
    "TextAnalyzer",
    "WordFormAnalyzer",
    "article_language",
    "article_languages",
    "fold",
    "identify_language",
    "language_code",
    "normalise",
    "query_form",
    "stemmer_for",
    "term_alternatives",
    "term_lister",
    "terms",
    "word_spans",
    "word_term",
    "words",
]

# Language identification is indexing's (and a few commands'): a query only stems and folds, so
# language.py (34 KB of code: 1.1 M of a rare word's 227 M instructions at 100k) loads when one of
# its names is asked for.
_LANGUAGE_NAMES = frozenset({"article_language", "article_languages", "identify_language", "language_code"})


def __getattr__(name):
    if name in _LANGUAGE_NAMES:
        from archsearch.analysis import language

        return getattr(language, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
