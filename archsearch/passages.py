"""The passages of an article where a query matched, with the matched words located.

Whoosh's highlighter re-analyses the whole text through its chain of token objects for every
hit, which took most of a query's time. Here each word is found with the index's own tokenizer
and analysed once per distinct word (cached), in the article's language, so a passage marks
exactly the words the index matched: `fighting` for `fight`, `беженцев` for `беженц`.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from archsearch.analysis import word_spans, word_term

PASSAGES_PER_HIT = 2
PASSAGE_CHARS = 200  # roughly; a passage is cut at whitespace
CONTEXT_CHARS = 70  # text kept before the first match of a passage

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Snippet:
    """A passage of one field of an article, with where the query matched inside it."""

    field: str  # which text the passage comes from: "body" or "title"
    text: str  # the passage, whitespace collapsed to single spaces
    start: int  # where the passage starts in that field's text
    end: int
    matches: tuple[tuple[int, int], ...]  # (start, end) of each match, as offsets into `text`
    reaches_end: bool = False  # whether the passage runs to the end of the field's text


@lru_cache(maxsize=100_000)
def indexed_form(word: str, language: str = "") -> str:
    return word_term(word, language)


def match_spans(text: str, terms: frozenset[str], language: str = "") -> list[tuple[int, int]]:
    """Where the words whose indexed form (in `language`) is in `terms` stand in `text`.

    The text is not normalised first, so the spans stand where its words do: a decomposed
    word is one word, and its term is that of its composed form.  The overlapping character
    pairs of Chinese or Thai text make one span per run of matched pairs.
    """
    if not terms:
        return []
    spans: list[tuple[int, int]] = []
    for start, end, word in word_spans(text):
        if indexed_form(word, language) in terms:
            if spans and start < spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


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
        reaches_end=not text[end:].strip(),
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


def passages(
    text: str, terms: frozenset[str], fieldname: str = "body", top: int = PASSAGES_PER_HIT, language: str = ""
) -> list[Snippet]:
    """The `top` passages with the most distinct matched words (then the most matches), in text order."""
    spans = match_spans(text, terms, language)
    if not spans:
        return []
    words = [indexed_form(text[a:b], language) for a, b in spans]
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
