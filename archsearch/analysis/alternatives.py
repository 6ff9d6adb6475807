"""A parsed query's words looked for in every language of the index.

The query parser leaves the words of the title and body in their query form (see chain.py);
here each becomes its term in each language the index holds, the alternatives OR'ed, each kept
to the articles of its languages: `refugees` is `refuge` in English articles and `refugees` in
German ones.  A phrase is matched within one language at a time: its words all take the same
language's terms.
"""

import weakref
from collections.abc import Sequence

from whoosh import query as wq

from archsearch.analysis.chain import TextAnalyzer, word_term


# A reader's languages, read once: a reader is one generation of the index, and the server's
# requests inherit its kept readers (reading them took each request 3 ms at 100k articles).
_languages_read: "weakref.WeakKeyDictionary[object, tuple[str, ...]]" = weakref.WeakKeyDictionary()


def index_languages(searcher) -> tuple[str, ...]:
    """The languages of the index's articles, those of the most articles first, and "" last when
    some article has none."""
    reader = searcher.reader()
    if reader not in _languages_read:
        _languages_read[reader] = _read_languages(reader)
    return _languages_read[reader]


def _read_languages(reader) -> tuple[str, ...]:
    if "language" not in reader.schema:
        return ("",)
    counts = {}
    for term, info in reader.iter_field("language"):
        counts[term.decode("utf-8") if isinstance(term, bytes) else term] = info.doc_frequency()
    languages = sorted(counts, key=lambda language: (-counts[language], language))
    if sum(counts.values()) < reader.doc_count() or not languages:
        languages.append("")
    return tuple(languages)


def in_every_language(query: wq.Query, schema, languages: Sequence[str]) -> wq.Query:
    """The query with each word of a language-analysed field replaced by its terms in `languages`
    (the index's main language first, see index_languages)."""
    analysed = {name for name, field in schema.items() if isinstance(getattr(field, "analyzer", None), TextAnalyzer)}
    languages = list(languages) or [""]
    main_language = languages[0] if "language" in schema else None

    def replace(node):
        if type(node) is wq.Term and node.fieldname in analysed and isinstance(node.text, str):
            by_term = _group(languages, lambda language: word_term(node.text, language))
            return _any_of(
                [(wq.Term(node.fieldname, term, boost=node.boost), group) for term, group in by_term.items()],
                main_language,
            )
        if type(node) is wq.FuzzyTerm and node.fieldname in analysed:  # compared with each language's stems
            by_term = _group(languages, lambda language: word_term(node.text, language))
            return _any_of(
                [
                    (
                        wq.FuzzyTerm(
                            node.fieldname, term, boost=node.boost, maxdist=node.maxdist,
                            prefixlength=node.prefixlength, constantscore=node.constantscore,
                        ),
                        group,
                    )
                    for term, group in by_term.items()
                ],
                main_language,
            )
        if type(node) is wq.Phrase and node.fieldname in analysed:
            by_words = _group(languages, lambda language: tuple(word_term(word, language) for word in node.words))
            return _any_of(
                [
                    (wq.Phrase(node.fieldname, list(words), slop=node.slop, boost=node.boost), group)
                    for words, group in by_words.items()
                ],
                main_language,
            )
        return node

    return query.accept(replace)


def _group(languages, analyse) -> dict:
    """The languages by what `analyse` gives for them, in their order."""
    groups: dict = {}
    for language in languages:
        groups.setdefault(analyse(language), []).append(language)
    return groups


def _any_of(alternatives: list[tuple[wq.Query, list[str]]], main_language: str | None) -> wq.Query:
    """One alternative as it is; several OR'ed, each kept to the articles of its languages.

    Without that, `news` would find `new` in English articles through a language whose stemmer
    takes the s off.  Two alternatives stay unrestricted: the main language's (with
    `main_language`, the language of the most articles), whose restriction would read a posting
    list as long as most of the index on every query, and the one that holds the unstemmed form
    ("": articles of no known language), which finds the very word typed.  What they may find
    elsewhere is a word of another language with the same stem, mostly the same word borrowed.
    The language terms score nothing (boost 0), so an article scores as for the plain word.
    """
    if len(alternatives) == 1 or main_language is None:
        queries = [query for query, _ in alternatives]
        return queries[0] if len(queries) == 1 else wq.Or(queries)
    kept = []
    for query, group in alternatives:
        if "" in group or main_language in group:
            kept.append(query)
        else:
            in_languages = [wq.Term("language", language, boost=0.0) for language in group]
            kept.append(wq.And([query, in_languages[0] if len(in_languages) == 1 else wq.Or(in_languages)]))
    return wq.Or(kept)
