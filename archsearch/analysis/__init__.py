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
from archsearch.analysis.language import article_language, article_languages, identify_language, language_code
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
