"""The passages of an article where a query matched, with the matched words located.

Whoosh's highlighter re-analyses the whole text through its chain of token objects for every
hit, which took most of a query's time. Here only the words that begin like a matched term
are looked at (see WordMatcher), each analysed once per distinct word (cached) with the
index's analyzer, so a passage marks exactly the words the index matched: `fighting` for
`fight`.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from whoosh.support.charset import accent_map

from archsearch.schema import TEXT_ANALYZER, WORD_FORM_ANALYZER, word_analyzer

PASSAGES_PER_HIT = 2
PASSAGE_CHARS = 200  # roughly; a passage is cut at whitespace
CONTEXT_CHARS = 70  # text kept before the first match of a passage

_WHITESPACE = re.compile(r"\s+")
_NOT_WHITESPACE = re.compile(r"\S")


@dataclass(frozen=True)
class Snippet:
    """A passage of one field of an article, with where the query matched inside it."""

    field: str  # which text the passage comes from: "body" or "title"
    text: str  # the passage, whitespace collapsed to single spaces
    start: int  # where the passage starts in that field's text
    end: int
    matches: tuple[tuple[int, int], ...]  # (start, end) of each match, as offsets into `text`
    reaches_end: bool = False  # whether the passage runs to the end of the field's text


# The schema's own tokenizer and per-word analysis, so passages mark what the index matched.
_WORD = TEXT_ANALYZER.items[0].expression
_analyse_word = word_analyzer(TEXT_ANALYZER)
_fold_word = word_analyzer(WORD_FORM_ANALYZER)
# Characters of _WORD's tokens: Whoosh's default `[\w\*]+(\.?[\w\*]+)*` (tests check the pattern).
_TOKEN_CHARACTER = re.compile(r"[\w*]")
# Stemming (Porter's, as Whoosh's StemFilter) rewrites at most the last two letters of what it
# keeps of a word ("employability" -> "employable"): the rest of a stem is how the word begins.
STEM_REWRITES = 2


@lru_cache(maxsize=100_000)
def indexed_form(word: str) -> str:
    return _analyse_word(word)


@lru_cache(maxsize=100_000)
def folded_form(word: str) -> str:
    """The word as the index's unstemmed forms hold it: lowercased, accents folded."""
    return _fold_word(word)


class WordMatcher:
    """Finds the words of a text that the index matched: those whose stem is one of `stems`, or
    whose unstemmed form is one of `forms` (prefix, wildcard and fuzzy words match forms).

    Only the words that begin like a stem or a form are analysed.  They are found by a
    case-blind search of the text for each beginning, in C, so the work in Python follows the
    matches, not the length of the text (a 7 MB article took 1-4 s per hit when every word was
    analysed)."""

    def __init__(self, stems: frozenset[str] = frozenset(), forms: frozenset[str] = frozenset()):
        self.stems, self.forms = stems, forms
        self._beginnings: list[str] = []
        for beginning in sorted(({stem[: max(1, len(stem) - STEM_REWRITES)] for stem in stems} | forms) - {""}):
            if not self._beginnings or not beginning.startswith(self._beginnings[-1]):
                self._beginnings.append(beginning)  # a shorter beginning finds this one's words too

    def matches(self, word: str) -> bool:
        return indexed_form(word) in self.stems or folded_form(word) in self.forms

    def spans(self, text: str) -> list[tuple[int, int]]:
        if not self._beginnings:
            return []
        # Case-blind searches of the text itself: lowercasing a copy first costs more memory than
        # the text (str.lower() sets aside three characters for each).
        accented = frozenset(char.lower() for char in set(text) if not char.isascii())
        starts = set()
        for beginning in self._beginnings:
            starts.update(found.start() for found in _beginning_pattern(beginning, accented).finditer(text))
        spans = []
        for start in sorted(starts):
            if _starts_token(text, start) and self.matches((word := _WORD.match(text, start)).group()):
                spans.append(word.span())
        return spans


def _starts_token(text: str, position: int) -> bool:
    """Whether a token of _WORD starts at `position`: one dot between word characters joins them."""
    if position == 0:
        return True
    if text[position - 1] == ".":
        return position == 1 or not _TOKEN_CHARACTER.match(text, position - 2)
    return not _TOKEN_CHARACTER.match(text, position - 1)


def _letters(word: str) -> list[str]:
    # "İ" lowercases to "i" and a combining dot: the one letter that folds to two characters.
    return [piece for part in re.split("(i\u0307)", word) for piece in ([part] if part == "i\u0307" else part)]


@lru_cache(maxsize=1)
def _folding_to() -> dict[str, str]:
    """Each folded letter, and the characters that fold to it."""
    # str.lower() writes a final sigma by its context, and "İ" as "i" and a combining dot.
    sources: dict[str, str] = {"σ": "ς", "ς": "σ", "i\u0307": "\u0130"}
    for code, folded in accent_map.items():
        sources[folded] = sources.get(folded, "") + chr(code)
    return sources


@lru_cache(maxsize=1024)
def _beginning_pattern(beginning: str, accented: frozenset[str]) -> re.Pattern:
    """A case-blind expression for `beginning` in a text whose non-ASCII letters, lowercased, are
    `accented`: each letter also matches those of them that fold to it, so a beginning is searched
    as a literal when the text has none."""
    folding_to = _folding_to()
    pieces = []
    for letter in _letters(beginning):
        others = [char for char in folding_to.get(letter, "") if char.lower() in accented] if accented else []
        if not others:
            pieces.append(re.escape(letter))
        elif len(letter) > 1:
            pieces.append("(?:" + "|".join(map(re.escape, [letter, *others])) + ")")
        else:
            pieces.append("[" + re.escape(letter + "".join(others)) + "]")
    return re.compile("".join(pieces), re.IGNORECASE)


def collapse_whitespace(fieldname, text, start, end, spans) -> Snippet:
    """Cut text[start:end] with runs of whitespace made single spaces, keeping the match spans aligned."""
    pieces = []
    new_spans = []
    cursor = start
    length = 0
    for span_start, span_end in [*spans, (end, end)]:
        before = _WHITESPACE.sub(" ", text[cursor:span_start])
        pieces.append(before)
        length += len(before)
        if span_start == span_end == end:
            break
        word = _WHITESPACE.sub(" ", text[span_start:span_end])
        new_spans.append((length, length + len(word)))
        pieces.append(word)
        length += len(word)
        cursor = span_end
    collapsed = "".join(pieces)
    stripped = collapsed.lstrip()
    shift = len(collapsed) - len(stripped)
    return Snippet(
        field=fieldname,
        text=stripped.rstrip(),
        start=start,
        end=end,
        matches=tuple((a - shift, b - shift) for a, b in new_spans),
        reaches_end=not _NOT_WHITESPACE.search(text, end),  # not text[end:].strip(): no copy of a long rest
    )


def _widen_to_whitespace(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the punctuation around a cut (quotes, full stops) so no word is split."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def _candidate_passages(spans):
    """Runs of matches, as lists of indexes into `spans`, that fit in one passage."""
    group = []
    for index, span in enumerate(spans):
        if group and span[1] - spans[group[0]][0] > PASSAGE_CHARS - CONTEXT_CHARS:
            yield group
            group = []
        group.append(index)
    if group:
        yield group


def passages(text: str, matcher: WordMatcher, fieldname: str = "body", top: int = PASSAGES_PER_HIT) -> list[Snippet]:
    """The `top` passages with the most distinct matched words (then the most matches), in text order."""
    spans = matcher.spans(text)
    if not spans:
        return []
    words = [indexed_form(text[a:b]) for a, b in spans]
    groups = list(_candidate_passages(spans))
    ranked = sorted(groups, key=lambda group: (-len({words[i] for i in group}), -len(group), spans[group[0]][0]))
    chosen = sorted(ranked[:top], key=lambda group: spans[group[0]][0])
    result = []
    previous_end = 0
    for group in chosen:
        first, last = spans[group[0]], spans[group[-1]]
        room = max(PASSAGE_CHARS - (last[1] - first[0]), 0)
        before = min(CONTEXT_CHARS, room)
        # Context never reaches back into the passage before, so no words are shown twice.
        start = max(first[0] - before, previous_end)
        start, end = _widen_to_whitespace(text, start, min(last[1] + room - before, len(text)))
        start = max(start, previous_end)
        result.append(collapse_whitespace(fieldname, text, start, end, [spans[i] for i in group]))
        previous_end = end
    return result


def lead_passage(body: str, length: int = PASSAGE_CHARS) -> Snippet:
    """The opening of the body, for hits that matched only on other fields."""
    cut = body[:length]
    if len(body) > length and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return collapse_whitespace("body", body, 0, len(cut), [])
