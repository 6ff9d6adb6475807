"""Did you mean: a better spelling for query words that the index hardly knows.

A rare word's candidates are whole words of title and body as articles write them (the `exact`
field: unstemmed, lowercased, accents folded), close to the word as typed. Searched among stems,
a typo near a word's end could never be found: `eavcuation` is one swap from "evacuation" but
three edits from its stem `evacu`. Among the corrections of the query's rare words, the one
chosen is the one whose corrected query finds articles (see `corrected_query`).
"""

import itertools
import re
from collections.abc import Callable

from whoosh.support.levenshtein import damerau_levenshtein

from archsearch.analysis import fold, normalise, term_alternatives, words
from archsearch.analysis.alternatives import index_languages
from archsearch.records import Record

# A word rarer than this may be misspelt; a suggestion must be this many times as common, and
# at most MAX_EDITS letters away.
RARE = 5
MORE_COMMON = 3
MAX_EDITS = 2
# The closest candidates of each rare word are tried, in at most MAX_TRIALS corrected queries.
CANDIDATES_PER_WORD = 4
MAX_TRIALS = 16
# The field of the words of title and body as written (querying.WORD_FORM_FIELD; not imported
# from there, which would load the query parser for nothing).
_WHOLE_WORDS = "exact"
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "NEAR", "SENTENCE"}
# Plain words only: not a field name, a prefix*, a fuzzy~ word, part of a hyphenated one or `mentions>=`.
_PLAIN_WORD = re.compile(r"(?<![\w:*~\-])([^\W\d_]{3,})(?![\w:*~\->])")


class Correction(Record, frozen=True):
    """A respelt query."""

    text: str  # the query with its rare words respelt
    matches: int  # the articles it finds, as the judge counted them


class _Candidate(Record, frozen=True):
    """A word that a rare word of the query may have been meant as."""

    form: str  # as the `exact` field holds it: lowercased, accents folded
    edits: int
    frequency: int  # articles with the form in title or body


def corrected_query(searcher, text: str, judge: Callable[[str], tuple[int, float]]) -> Correction | None:
    """The query with its rare words replaced by close, much more common whole words; None if no
    word of it is rare or none has a candidate.

    `judge(text)` runs a query and gives (articles found, best score). Each combination of the
    closest candidates is judged, and the one chosen is, in order: one that finds articles, with
    the fewest edits, finding the most articles, then with the best top score and the commonest
    words. So `betsy devos pencte` becomes `betsy devos pence`, not `betsy devos peace`
    (2 edits), and a typo is not "corrected" into a word that finds nothing with the others."""
    languages = index_languages(searcher)
    spots = []  # (start, end, word as typed, its candidates)
    for match in _PLAIN_WORD.finditer(text):
        word = match.group(1)
        if word in _OPERATORS or text.count('"', 0, match.start()) % 2:
            continue  # an operator, or a word inside a phrase
        candidates = _candidates(searcher, word, languages)
        if candidates:
            spots.append((match.start(), match.end(), word, candidates[:CANDIDATES_PER_WORD]))
    if not spots:
        return None
    combinations = sorted(
        itertools.product(*(candidates for *_, candidates in spots)),
        key=lambda combination: sum(candidate.edits for candidate in combination),
    )[:MAX_TRIALS]
    best_key, best = None, None
    for combination in combinations:
        corrected = _respelt(text, spots, combination)
        matches, top_score = judge(corrected)
        key = (
            matches == 0,
            sum(candidate.edits for candidate in combination),
            -matches,
            -top_score,
            -min(candidate.frequency for candidate in combination),
        )
        if best_key is None or key < best_key:
            best_key, best = key, Correction(corrected, matches)
    return best if best.text != text else None


def _respelt(text: str, spots, combination) -> str:
    pieces, cursor = [], 0
    for (start, end, word, _), candidate in zip(spots, combination):
        # The form is lowercased; a word typed with a capital keeps it (`Talibn` -> `Taliban`).
        form = word if not candidate.edits else candidate.form.capitalize() if word[0].isupper() else candidate.form
        pieces += [text[cursor:start], form]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _candidates(searcher, word: str, languages) -> list[_Candidate]:
    """Whole words within MAX_EDITS of a rare `word`, closest then commonest first; none for a
    word the index knows well, or that is not one word (Chinese)."""
    if len(words(normalise(word))) != 1:
        return []
    stems = term_alternatives(word, languages)
    frequency = sum(searcher.doc_frequency("body", stem) + searcher.doc_frequency("title", stem) for stem in stems)
    if frequency >= RARE:
        return []
    typed = fold(normalise(word))
    least = MORE_COMMON * max(frequency, 1)
    found = []
    for form, edits in _close_forms(searcher.reader(), typed):
        form_frequency = searcher.doc_frequency(_WHOLE_WORDS, form)
        if form_frequency >= least and not set(term_alternatives(form, languages)) & set(stems):
            found.append(_Candidate(form, edits, form_frequency))
    if found and frequency:
        # A rare word may be what was meant: kept, it is judged with the others.
        found.append(_Candidate(word, 0, frequency))
    return sorted(found, key=lambda candidate: (candidate.edits, -candidate.frequency, candidate.form))


def _close_forms(reader, typed: str):
    """(form, edits) for the whole words within MAX_EDITS (Damerau-Levenshtein) of `typed`.

    Misspellings seldom touch the first letter: requiring it narrows the search to the words
    with that letter, and cheap bounds (length, letters gained or lost) spare most of them the
    edit distance, which costs far more in Python."""
    letters = set(typed)
    for term in reader.expand_prefix(_WHOLE_WORDS, typed[0]):
        form = term.decode("utf-8")
        if abs(len(form) - len(typed)) > MAX_EDITS or form == typed:
            continue
        # Each edit brings in at most one letter and takes out at most one.
        other = set(form)
        if len(other - letters) > MAX_EDITS or len(letters - other) > MAX_EDITS:
            continue
        edits = damerau_levenshtein(typed, form, limit=MAX_EDITS)
        if edits <= MAX_EDITS:
            yield form, edits
