"""Did you mean: a better spelling for query words that the index hardly knows."""

import re
from collections import Counter

from whoosh.support.levenshtein import damerau_levenshtein

from archsearch.analysis import normalise, term_alternatives, words
from archsearch.analysis.alternatives import index_languages
from archsearch.formats import UnreadableFile
from archsearch.passages import WordMatcher
from archsearch.store import article_body

# A word rarer than this may be misspelt; a suggestion must be this many times as common, and
# at most MAX_EDITS letters away.
RARE = 5
MORE_COMMON = 3
MAX_EDITS = 2
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "NEAR", "SENTENCE"}
# Plain words only: not a field name, a prefix*, a fuzzy~ word, part of a hyphenated one or `mentions>=`.
_PLAIN_WORD = re.compile(r"(?<![\w:*~\-])([^\W\d_]{3,})(?![\w:*~\->])")


def _stems(word: str, languages) -> list[str]:
    """The word's terms in each language of the index; none for what is not one word (Chinese)."""
    return term_alternatives(word, languages) if len(words(normalise(word))) == 1 else []


def _frequency(searcher, stems) -> int:
    return sum(searcher.doc_frequency("body", stem) + searcher.doc_frequency("title", stem) for stem in stems)


def corrected_query(searcher, text: str) -> str | None:
    """The query with its rare words replaced by close, much more common ones; None if none is."""
    pieces = []
    cursor = 0
    changed = False
    languages = index_languages(searcher)
    for match in _PLAIN_WORD.finditer(text):
        word = match.group(1)
        if word in _OPERATORS or text.count('"', 0, match.start()) % 2:
            continue  # an operator, or a word inside a phrase
        replacement = _better_spelling(searcher, word, languages)
        if replacement:
            pieces += [text[cursor : match.start()], replacement]
            cursor = match.end()
            changed = True
    pieces.append(text[cursor:])
    return "".join(pieces) if changed else None


def _better_spelling(searcher, word: str, languages) -> str | None:
    stems = _stems(word, languages)
    if not stems:
        return None
    frequency = _frequency(searcher, stems)
    if frequency >= RARE:
        return None
    typed = word.lower()
    candidates = []
    # Misspellings seldom touch the first letter; requiring it keeps the search fast.
    suggestions = dict.fromkeys(
        suggestion for stem in stems for suggestion in searcher.suggest("body", stem, limit=5, maxdist=2, prefix=1)
    )
    for suggestion in suggestions:
        suggestion_frequency = _frequency(searcher, [suggestion])
        if suggestion in stems or suggestion_frequency < MORE_COMMON * max(frequency, 1):
            continue
        found = _closest_surface_form(searcher, suggestion, typed)
        if found is None:
            continue
        surface, capitalised = found
        # Judged against the word as typed, not its stem: `elecion` is near `election`, while
        # the stems `elecion` and `electron` are nearer than `elecion` and `elect`. A name typed
        # with a capital (`Putn`) is nearer to names (`Putin`) than to other words (`put`).
        edits = damerau_levenshtein(typed, surface)
        if edits <= MAX_EDITS:
            case_differs = word[0].isupper() != capitalised
            candidates.append((edits, case_differs, -suggestion_frequency, surface))
    if not candidates:
        return None
    best = min(candidates)[-1]
    return best.capitalize() if word[0].isupper() else best


def _closest_surface_form(searcher, stem: str, typed: str) -> tuple[str, bool] | None:
    """The word as articles write it (`refugees`) for an indexed stem (`refuge`), nearest to
    `typed`, and whether articles mostly write it with a capital."""
    from whoosh.query import Term

    capitals = Counter()
    occurrences = Counter()
    for hit in searcher.search(Term("body", stem), limit=3):
        fields = hit.fields()
        try:
            body = article_body(fields)
        except (UnreadableFile, OSError):
            continue
        for start, end in WordMatcher(frozenset({stem}), language=fields.get("language", "")).spans(body):
            form = body[start:end].lower()
            occurrences[form] += 1
            capitals[form] += body[start].isupper()
    if not occurrences:
        return None
    form = min(occurrences, key=lambda form: (damerau_levenshtein(typed, form), form))
    return form, capitals[form] * 2 > occurrences[form]
