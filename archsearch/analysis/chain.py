"""The analysis chain: text -> terms, for indexing and for queries alike.

    NFC -> words (tokens.py) -> prepare (case, script variants) -> stem (the article's language)
        -> fold accents

Indexing runs it with the article's language.  A query does not know which language the words
it should find are in, so its words are kept prepared but unstemmed (``query_form``), and each
is then looked for as its term in every language the index holds (``term_alternatives``), the
alternatives OR'ed: ``Германии`` finds ``Германия`` in Russian articles, ``refugees`` finds
``refugee`` in English ones, and a phrase is matched within one language at a time.
"""

import itertools
from collections.abc import Callable, Iterable

from whoosh.analysis import Analyzer, Token

from archsearch.analysis.folding import fold_accents, fold_accents_ascii, normalise, prepare, prepare_ascii
from archsearch.analysis.stemming import stemmer_for
from archsearch.analysis.tokens import word_spans, words

# Distinct words whose terms a lister remembers, per language; past this it starts afresh.
KNOWN_WORDS_LIMIT = 200_000


# Languages whose accents are folded before stemming, so that a word typed without them
# (`frontiere`, `refugies`) reaches the stem of the word with them.  Their stemmers lose little
# (German takes the umlauts off itself).  In the other languages with a stemmer the marked
# letters are letters of their own that the stemmer's rules name (Turkish ı ş ğ, Hungarian ő,
# Swedish å, Romanian ș...), so they are stemmed first and folded after.
ACCENTS_FOLDED_FIRST = frozenset({"ca", "de", "en", "es", "fr", "it", "nl", "pt"})


def word_term(word: str, language: str) -> str:
    """The term one word is indexed as in an article of ``language`` (ISO 639-1, "" if unknown)."""
    prepared = prepare(normalise(word))
    stem = stemmer_for(language)
    if stem is None:
        return fold_accents(prepared)
    if language in ACCENTS_FOLDED_FIRST:
        return stem(fold_accents(prepared))
    return fold_accents(stem(prepared))


def word_terms(words: list[str], language: str) -> list[str]:
    """[word_term(word, language) for word in words]: the same terms, each step taken over all the
    ASCII words at once, joined by line breaks (one call of C, where it was a few calls of Python a
    word), the others' one by one."""
    joined = "\n".join(words)
    if joined.isascii():
        terms = _ascii_terms(joined, language)
        return terms if len(terms) == len(words) else [word_term(word, language) for word in words]  # a line break in a word
    plain = [word.isascii() for word in words]
    ascii_terms = iter(word_terms(list(itertools.compress(words, plain)), language))
    return [next(ascii_terms) if is_plain else word_term(word, language) for word, is_plain in zip(words, plain)]


def _ascii_terms(joined: str, language: str) -> list[str]:
    """The terms of ASCII words joined by line breaks, as word_term makes each."""
    prepared = prepare_ascii(joined)
    stem = stemmer_for(language)
    if stem is None:
        return fold_accents_ascii(prepared).split("\n")
    if language in ACCENTS_FOLDED_FIRST:
        return list(map(stem, fold_accents_ascii(prepared).split("\n")))
    stems = list(map(stem, prepared.split("\n")))
    joined_stems = "\n".join(stems)
    return fold_accents_ascii(joined_stems).split("\n") if joined_stems.isascii() else list(map(fold_accents, stems))


def query_form(word: str) -> str:
    """A query word before its language is chosen: prepared but neither stemmed nor accent-folded."""
    return prepare(normalise(word))


def term_alternatives(word: str, languages: Iterable[str]) -> list[str]:
    """A word's terms in each of the languages, without repeats, in the languages' order."""
    return list(dict.fromkeys(word_term(word, language) for language in languages))


def text_words(text: str) -> list[str]:
    """The words of a text, as the chain analyses them: each one becomes one term (word_term)."""
    return words(normalise(text))


def term_lister(encoding: str | None = None) -> Callable[[str, str], list]:
    """A function (text, language) -> the text's terms in order (encoded, with an encoding),
    remembering each distinct word's term."""
    known: dict[str, dict] = {}

    def list_terms(text: str, language: str) -> list:
        found = text_words(text)
        cache = known.setdefault(language, {})
        if len(cache) > KNOWN_WORDS_LIMIT:
            cache.clear()
        new = list(set(found).difference(cache))
        terms = word_terms(new, language)
        cache.update(zip(new, [term.encode(encoding) for term in terms] if encoding else terms))
        return list(map(cache.__getitem__, found))

    return list_terms


def terms(text: str, language: str) -> list[str]:
    return [word_term(word, language) for word in text_words(text)]


class ChainAnalyzer(Analyzer):
    """The chain's words as Whoosh tokens; subclasses say which term each word becomes."""

    language = ""

    def __eq__(self, other):
        return type(other) is type(self) and other.language == self.language

    def term(self, word: str, language: str, mode: str) -> str:
        raise NotImplementedError

    def term_lister(self, encoding: str | None = None) -> Callable[[str, str], list]:
        """A function (text, article language) -> the field's terms, as segments.py indexes them."""
        raise NotImplementedError

    def word_term(self, word: str, language: str) -> str:
        """The field's term for one of text_words(text) in an article of the language."""
        return self.term(word, language, "index")

    def word_terms(self, words: list[str], language: str) -> list[str]:
        """word_term of each of the words."""
        return [self.word_term(word, language) for word in words]

    def __call__(
        self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
        start_pos=0, start_char=0, mode="", language=None, tokenize=True, **kwargs,
    ):
        text = normalise(value)
        language = self.language if language is None else language
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        # Untokenized (the parser's wildcards and fuzzy words): the whole value is one word.
        spans = word_spans(text) if tokenize else [(0, len(text), text)]
        for position, (start, end, word) in enumerate(spans):
            token.text = self.term(word, language, mode)
            if keeporiginal:
                token.original = word
            token.stopped = False
            token.boost = 1.0
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


class TextAnalyzer(ChainAnalyzer):
    """The chain as a Whoosh analyzer, for the title and body fields.

    Index mode gives the terms of the analyzer's language (archsearch's own segment writer
    passes each article's language instead, see segments.py); query mode gives query forms,
    which querying.py turns into the terms of each language in the index.
    """

    def __init__(self, language: str = ""):
        self.language = language

    def term(self, word: str, language: str, mode: str) -> str:
        return query_form(word) if mode == "query" else word_term(word, language)

    def word_terms(self, words: list[str], language: str) -> list[str]:
        return word_terms(words, language)

    def term_lister(self, encoding: str | None = None) -> Callable[[str, str], list]:
        return term_lister(encoding)


class WordFormAnalyzer(ChainAnalyzer):
    """The chain without its stemmer, for the `exact` field: the words of title and body as
    written, split, normalised and folded as theirs are (a word's term in no language), the same
    in every article and in queries, so prefix, wildcard and fuzzy words meet them in any script."""

    def term(self, word: str, language: str, mode: str) -> str:
        return word_term(word, "")

    def word_terms(self, words: list[str], language: str) -> list[str]:
        return word_terms(words, "")

    def term_lister(self, encoding: str | None = None) -> Callable[[str, str], list]:
        list_terms = term_lister(encoding)
        return lambda text, language: list_terms(text, "")
