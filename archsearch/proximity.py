"""Where words stand near each other: NEAR/n windows, sentences, and the proximity of ranking.

Everything here works on word positions, numbered as the index numbers them (the n-th word of
a field, words as analysis.tokens splits them), so the evaluation of a query (positions read
from the index) and the choice of the passage shown (positions counted in the text) agree.

An occurrence is (first, last): the positions of a word (first == last) or of a phrase's first
and last words.  Two occurrences are within n words when the later one starts at most n words
after the earlier one ends: adjacent words are 1 apart, so `NEAR/1` is a two-word phrase in
either order.  Several operands are within n when every two of them are, which is when the
latest start is at most n after the earliest end.
"""

import bisect
import re
from collections.abc import Sequence

from archsearch.analysis import word_spans

Occurrence = tuple[int, int]

# `NEAR` without a number: within 10 words, as GDELT's near10.
DEFAULT_DISTANCE = 10

# What ends a sentence.  `?` and `!` (and their forms in Chinese, Arabic, Devanagari) always
# do; a full stop or an ellipsis does when the next word does not start in lower case and the
# word before it is not an abbreviation; a blank line (a paragraph break) always does.
_ALWAYS_ENDS = frozenset("?!。！？؟।")
_MAY_END = frozenset(".…")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
# Words that a full stop follows without ending the sentence ("Mr. Smith", "Gen. Miller",
# "No. 5"); so do single letters ("J. Smith") and dotted words, which the tokenizer keeps whole
# ("U.S", "e.g").  "in the U.S. The" is then one sentence: the price of "the U.S. Army" being one.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof gen lt col maj capt sgt adm cmdr gov sen rep rev hon pres st mt ft jr sr
    inc corp ltd co bros no nos vs etc approx dept est fig jan feb mar apr jun jul aug sep sept oct
    nov dec""".split()
)


def is_abbreviation(word: str) -> bool:
    return len(word) == 1 or "." in word or word.lower() in ABBREVIATIONS


def sentence_numbers(text: str) -> list[int]:
    """The sentence of each word of `text`, counted from 0, for the words of word_spans(text)
    (the index's words when `text` is normalised as indexing normalises it)."""
    numbers = []
    sentence = 0
    previous_end, previous_word = None, ""
    for start, end, word in word_spans(text):
        if previous_end is not None and _ends_sentence(text[previous_end:start], previous_word, word):
            sentence += 1
        numbers.append(sentence)
        previous_end, previous_word = end, word
    return numbers


def _ends_sentence(between: str, previous_word: str, next_word: str) -> bool:
    if _ALWAYS_ENDS.intersection(between) or _PARAGRAPH_BREAK.search(between):
        return True
    if not _MAY_END.intersection(between):
        return False
    if between[0] == "." and is_abbreviation(previous_word):
        return False
    return not next_word[0].islower()


def near_windows(operands: Sequence[Sequence[Occurrence]], distance: int) -> list[Occurrence]:
    """The (first, last) word of each shortest group of one occurrence per operand, all within
    `distance` words of each other; one group per occurrence that ends first in its group.

    Each operand's occurrences sorted by their first word."""
    if not operands or any(not occurrences for occurrences in operands):
        return []
    starts = [[first for first, _ in occurrences] for occurrences in operands]
    longest = [max(last - first for first, last in occurrences) for occurrences in operands]
    windows = []
    for anchor, anchor_occurrences in enumerate(operands):
        for first, end in anchor_occurrences:
            # The anchor ends first: every other operand needs an occurrence ending at or after
            # `end` and starting no later than `end + distance`.
            window_first, window_last = first, end
            for other, occurrences in enumerate(operands):
                if other == anchor:
                    continue
                low = bisect.bisect_left(starts[other], end - longest[other])
                high = bisect.bisect_right(starts[other], end + distance)
                reaching = [occurrence for occurrence in occurrences[low:high] if occurrence[1] >= end]
                if not reaching:
                    break
                chosen = min(reaching)  # the nearest start, the shortest window
                window_first, window_last = min(window_first, chosen[0]), max(window_last, chosen[1])
            else:
                windows.append((window_first, window_last))
    return sorted(set(windows))


def sentence_windows(operands: Sequence[Sequence[Occurrence]], sentences: Sequence[int]) -> list[Occurrence]:
    """(first, last) of each sentence holding an occurrence of every operand, each occurrence
    within that sentence; `sentences` numbers the sentence of each word."""
    if not operands or any(not occurrences for occurrences in operands):
        return []
    held = None
    spans: dict[int, list[int]] = {}
    for occurrences in operands:
        here = set()
        for first, last in occurrences:
            if last < len(sentences) and sentences[first] == sentences[last]:
                sentence = sentences[first]
                here.add(sentence)
                spans.setdefault(sentence, []).extend((first, last))
        held = here if held is None else held & here
        if not held:
            return []
    windows = []
    for sentence in sorted(held):
        windows.append((min(spans[sentence]), max(spans[sentence])))
    return windows


def phrase_occurrences(word_positions: Sequence[Sequence[int]]) -> list[Occurrence]:
    """Where the words stand one after another, from each word's positions."""
    if not word_positions:
        return []
    starts = set(word_positions[0])
    for offset, positions in enumerate(word_positions[1:], start=1):
        starts &= {position - offset for position in positions}
    length = len(word_positions) - 1
    return [(start, start + length) for start in sorted(starts)]
