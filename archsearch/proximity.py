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
from collections.abc import Callable, Sequence
from functools import cached_property, lru_cache
from operator import itemgetter

from archsearch.analysis import word_spans, words
from archsearch.analysis.tokens import text_stretches, word_expression

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


def sentence_starts(text: str) -> list[int]:
    """The index of each word of `text` that begins a sentence, the first word's aside, for the
    words of word_spans(text) (the index's words when `text` is normalised as indexing
    normalises it).  Only the gaps between words that hold a full stop, `?`, `!` or a blank
    line are looked at, and the words between them are counted in C."""
    expression = word_expression(text)
    if expression is None:
        return _sentence_starts_among(text, word_spans(text))
    starts = []
    counted = 0  # the words before `cursor`
    cursor = 0
    previous_word = ""
    for found in _MAY_END_HERE.finditer(text):
        place = found.start()
        if place < cursor or (text[place] == "." and _joins_words(text, place, expression)):
            continue  # a gap already looked at, or the dot of `U.S` or `3.5`
        following = expression.search(text, place)
        if following is None:
            break
        before = expression.findall(text, cursor, place)
        counted += len(before)
        previous_word = before[-1] if before else previous_word
        cursor = following.start()
        directly_after = place > 0 and expression.fullmatch(text[place - 1]) is not None
        if previous_word and _ends_sentence(text[place:cursor], directly_after, previous_word, text[cursor]):
            starts.append(counted)
    return starts


def _sentence_starts_among(text: str, spans: list[tuple[int, int, str]]) -> list[int]:
    """sentence_starts() for text whose words are not one expression's matches (runs of unspaced
    scripts are cut into overlapping pairs): the gaps of the words found one by one."""
    starts = []
    for index in range(1, len(spans)):
        gap = text[spans[index - 1][1] : spans[index][0]]
        first = _MAY_END_HERE.search(gap)
        if first and _ends_sentence(gap[first.start() :], first.start() == 0, spans[index - 1][2], spans[index][2][0]):
            starts.append(index)
    return starts


# Where a sentence may end: what _ends_sentence looks for.
_MAY_END_HERE = re.compile(r"[.…?!。！？؟।]|\n[^\S\n]*\n")


def _joins_words(text: str, place: int, expression: re.Pattern) -> bool:
    """Whether the full stop at `place` stands inside a word, as the tokenizer reads it."""
    return (
        0 < place < len(text) - 1
        and expression.fullmatch(text[place - 1]) is not None
        and expression.fullmatch(text[place + 1]) is not None
    )


def sentence_numbers(text: str) -> list[int]:
    """The sentence of each word of `text`, counted from 0."""
    starts = sentence_starts(text)
    return [bisect.bisect_right(starts, index) for index in range(len(word_spans(text)))]


def _ends_sentence(gap: str, directly_after: bool, previous_word: str, next_letter: str) -> bool:
    """Whether the gap between two words ends a sentence; `gap` from its first full stop, `?`,
    `!` or blank line on, `directly_after` when that follows the previous word at once."""
    if _ALWAYS_ENDS.intersection(gap) or _PARAGRAPH_BREAK.search(gap):
        return True
    if not _MAY_END.intersection(gap):
        return False
    if gap[0] == "." and directly_after and is_abbreviation(previous_word):
        return False
    return not next_letter.islower()


def are_near(operands: Sequence[Sequence[Occurrence]], distance: int) -> bool:
    """Whether near_windows() finds any: two operands are walked side by side, in one pass."""
    if len(operands) != 2:
        return bool(near_windows(operands, distance))
    first, second = operands
    i = j = 0
    while i < len(first) and j < len(second):
        (a_first, a_last), (b_first, b_last) = first[i], second[j]
        if max(a_first, b_first) - min(a_last, b_last) <= distance:
            return True
        if a_last < b_last:  # the one ending first can only be nearer to what follows
            i += 1
        else:
            j += 1
    return False


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


def sentence_windows(operands: Sequence[Sequence[Occurrence]], starts: Sequence[int]) -> list[Occurrence]:
    """(first, last) of each sentence holding an occurrence of every operand, each occurrence
    within that sentence; `starts` are the words that begin a sentence (see sentence_starts)."""
    if not operands or any(not occurrences for occurrences in operands):
        return []
    held = None
    spans: dict[int, list[int]] = {}
    for occurrences in operands:
        here = set()
        for first, last in occurrences:
            sentence = bisect.bisect_right(starts, first)
            if sentence == bisect.bisect_right(starts, last):
                here.add(sentence)
                spans.setdefault(sentence, []).extend((first, last))
        held = here if held is None else held & here
        if not held:
            return []
    return [(min(spans[sentence]), max(spans[sentence])) for sentence in sorted(held)]


# Words are counted a stretch of about this many characters at a time (see WordPlaces).
_STRETCH_CHARS = 1024


class CountedText(str):
    """A text whose words were counted when it was stored: `stretches`, (where each of its
    stretches ends, how many words come before that), as WordPlaces.counted() gives them, which
    WordPlaces then takes instead of counting them again (long_bodies.py keeps them).  They are
    read (`read_stretches()`) the first time they are asked for: only a concordance needs them, and
    None where they cannot be read (damaged), the words then counted as the text is read."""

    _read_stretches: Callable[[], tuple[Sequence[int], Sequence[int]] | None]
    utf8: bytes | None  # the text in UTF-8 (lone surrogates kept), where it was read so

    @classmethod
    def of(cls, text: str, read_stretches: Callable[[], tuple[Sequence[int], Sequence[int]] | None],
           utf8: bytes | None = None) -> "CountedText":
        counted = cls(text)
        counted._read_stretches = read_stretches
        counted.utf8 = utf8
        return counted

    @cached_property
    def stretches(self) -> tuple[Sequence[int], Sequence[int]] | None:
        return self._read_stretches()


class WordPlaces:
    """Where the n-th word of a text stands (the words of word_spans): the words are counted a
    stretch at a time, in C where the text has no unspaced script, and only the stretches holding
    a word asked for are read word by word.  A CountedText's words are not counted again: a
    concordance of a word throughout a 12 MB page counted all of its 2 million words."""

    def __init__(self, text: str):
        self.text = text
        self._stretch_words: dict[int, list[tuple[int, int]]] = {}
        stretches = text.stretches if isinstance(text, CountedText) else None
        if stretches is not None:
            ends, words_before = stretches
            # Each stretch read is told apart (see _stretch_expression): looking through all of
            # the text for marks and unspaced scripts would cost what the counts save.
            self.expression = None
            self._stretches = iter(())
            self._stretch_starts = [0, *ends]
            self._words_before = [0, *words_before]
            return
        # None where the text holds an unspaced script: each stretch is then told apart.
        self.expression = word_expression(text)
        self._stretches = text_stretches(text, _STRETCH_CHARS)
        self._stretch_starts = [0]  # stretches are cut at whitespace, which no word holds
        self._words_before = [0]  # words before each stretch, and after the last one read

    def span(self, index: int) -> tuple[int, int]:
        """(start, end) in the text of word `index` (counted from 0); IndexError past the last word."""
        if not self.holds(index):
            raise IndexError(index)
        stretch = bisect.bisect_right(self._words_before, index) - 1
        return self._spans(stretch)[index - self._words_before[stretch]]

    def holds(self, index: int) -> bool:
        """Whether the text has a word `index` (counted from 0): the stretches up to it counted, none located."""
        while self._words_before[-1] <= index:
            if not self._read_stretch():
                return False
        return True

    def count(self) -> int:
        """How many words the text has."""
        while self._read_stretch():
            pass
        return self._words_before[-1]

    def counted(self) -> tuple[list[int], list[int]]:
        """(where each stretch of the text ends, how many words come before that), all counted:
        what a CountedText of the text keeps."""
        self.count()
        return self._stretch_starts[1:], self._words_before[1:]

    def words_before(self, position: int) -> int:
        """How many words come before character `position`, a place no word holds (whitespace, the
        end of the text): those of the stretches before its own counted, and of its own those before it."""
        if position == 0:
            return 0
        stretch = self._stretch_at(position)
        start, end = self._stretch_starts[stretch], self._stretch_starts[stretch + 1]
        expression, text, offset = self._stretch_expression(start, end)
        if expression is not None:
            count = len(_counting(expression).findall(text, start - offset, min(position, end) - offset))
        else:
            count = len(words(self.text[start:position]))
        return self._words_before[stretch] + count

    def first_ending_after(self, position: int) -> int:
        """The number of the first word that ends after character `position` (the count of words if none)."""
        stretch = self._stretch_at(position)
        return self._words_before[stretch] + bisect.bisect_right(self._spans(stretch), position, key=_end)

    def first_starting_from(self, position: int) -> int:
        """The number of the first word that starts at character `position` or later (the count of words if none).
        Where one expression's matches are the stretch's words, those before `position` are counted in C,
        the stretch's words not located: a word reaching past `position` is cut there, and what is left of
        it is still one match (its letters, perhaps less a dot), and the words before it are the same."""
        stretch = self._stretch_at(position)
        start, end = self._stretch_starts[stretch], self._stretch_starts[stretch + 1]
        if stretch not in self._stretch_words:
            expression, text, offset = self._stretch_expression(start, end)
            if expression is not None:
                return self._words_before[stretch] + len(
                    _counting(expression).findall(text, start - offset, max(start, min(position, end)) - offset)
                )
        return self._words_before[stretch] + bisect.bisect_left(self._spans(stretch), position, key=_start)

    def _stretch_at(self, position: int) -> int:
        """The stretch holding character `position`, read (the last one for a position past the text)."""
        while self._stretch_starts[-1] <= position and self._read_stretch():
            pass
        return min(bisect.bisect_right(self._stretch_starts, position), len(self._stretch_starts) - 1) - 1

    def _read_stretch(self) -> bool:
        """Count the words of the next stretch; False when the text is all read."""
        start, end = next(self._stretches, (None, None))
        if start is None:
            return False
        expression, text, offset = self._stretch_expression(start, end)
        if expression is not None:
            count = len(_counting(expression).findall(text, start - offset, end - offset))
        else:
            count = len(words(text))
        self._stretch_starts.append(end)
        self._words_before.append(self._words_before[-1] + count)
        return True

    def _spans(self, stretch: int) -> list[tuple[int, int]]:
        spans = self._stretch_words.get(stretch)
        if spans is None:
            start, end = self._stretch_starts[stretch], self._stretch_starts[stretch + 1]
            expression, text, offset = self._stretch_expression(start, end)
            if expression is not None:
                spans = [(offset + first, offset + last) for first, last in
                         map(re.Match.span, expression.finditer(text, start - offset, end - offset))]
            else:
                spans = [(start + first, start + last) for first, last, _ in word_spans(text)]
            self._stretch_words[stretch] = spans
        return spans

    def _stretch_expression(self, start: int, end: int) -> tuple[re.Pattern | None, str, int]:
        """The expression whose matches are the words of the stretch (None: it holds an unspaced
        script), the text to match it in and where that text starts in the whole.  A text holding
        one Chinese word is read as words(), a Python call per word, in the stretch around it
        alone: its other stretches are read in C.  On a stretch without marks the expression for
        marks finds the words PLAIN_WORD does, so a stretch's words are the same told apart."""
        if self.expression is not None:
            return self.expression, self.text, 0
        text = self.text[start:end]
        return word_expression(text), text, start


_start = itemgetter(0)
_end = itemgetter(1)


@lru_cache(maxsize=8)
def _counting(expression: re.Pattern) -> re.Pattern:
    """`expression` with an empty group at its end: findall() then lists the same empty string
    once per match instead of making a string of each word, a count in C."""
    return re.compile(f"(?:{expression.pattern})()", expression.flags)


# Texts longer than this are split into sentences only around the occurrences (in_one_sentence):
# shorter ones are split whole in fewer calls, as the many short windows of a frequent word in an
# ordinary article cost more (SENTENCE(president said) at 4k: 1.3x the time).
LOCAL_SENTENCES_CHARS = 20_000


def in_one_sentence(text: str, operands: Sequence[Sequence[Occurrence]]) -> bool:
    """Whether sentence_windows(operands, sentence_starts(text)) finds any.  In a long text, only
    the stretches that could hold the operands together are read: the shortest groups of one
    occurrence per operand, in text order, each until one lies within a sentence.  Each
    operand's occurrences are its words' positions in `text` (see sentence_starts)."""
    if not operands or any(not occurrences for occurrences in operands):
        return False
    if len(text) <= LOCAL_SENTENCES_CHARS:
        return bool(sentence_windows(operands, sentence_starts(text)))
    try:
        return _in_one_sentence(text, operands, WordPlaces(text))
    except IndexError:  # positions past the text's words: the file changed since it was indexed
        return bool(sentence_windows(operands, sentence_starts(text)))


def _in_one_sentence(text: str, operands: Sequence[Sequence[Occurrence]], places: WordPlaces) -> bool:
    def crosses(first: int, last: int) -> bool:
        """Whether a sentence starts at a word after `first`, up to `last`: sentence_starts() of
        the text from the one's start to the other's end, which sees the same gaps."""
        if first == last:
            return False
        start, end = places.span(first)[0], places.span(last)[1]
        return _MAY_END_HERE.search(text, start, end) is not None and bool(sentence_starts(text[start:end]))

    # A phrase across a sentence's end is in no sentence.  Without those, a sentence holding every
    # operand holds the shortest group ending at its last occurrence, and all that group spans.
    kept = [[(first, last) for first, last in occurrences if not crosses(first, last)] for occurrences in operands]
    if any(not occurrences for occurrences in kept):
        return False
    occurrences = sorted((first, last, number) for number, found in enumerate(kept) for first, last in found)
    held = [0] * len(kept)
    missing = len(kept)
    left = 0
    for right, (_, _, number) in enumerate(occurrences):
        held[number] += 1
        missing -= held[number] == 1
        if missing:
            continue
        while held[occurrences[left][2]] > 1:
            held[occurrences[left][2]] -= 1
            left += 1
        if not crosses(occurrences[left][0], max(last for _, last, _ in occurrences[left : right + 1])):
            return True
    return False


def phrase_occurrences(word_positions: Sequence[Sequence[int]]) -> list[Occurrence]:
    """Where the words stand one after another, from each word's positions."""
    if not word_positions:
        return []
    starts = set(word_positions[0])
    for offset, positions in enumerate(word_positions[1:], start=1):
        starts &= {position - offset for position in positions}
    length = len(word_positions) - 1
    return [(start, start + length) for start in sorted(starts)]


def shortest_cover(operands: Sequence[Sequence[Occurrence]], enough: int = -1) -> int | None:
    """The fewest words from the first to the last of a group of one occurrence per operand
    (0: one word; None when an operand has none); each operand's occurrences sorted.  The first
    span of `enough` words or fewer found is taken: the rest of a long article is not read."""
    if not operands or any(not occurrences for occurrences in operands):
        return None
    occurrences = sorted((first, last, number) for number, found in enumerate(operands) for first, last in found)
    held = [0] * len(operands)
    missing = len(operands)
    best = None
    left = 0
    for first, last, number in occurrences:
        held[number] += 1
        missing -= held[number] == 1
        while not missing:
            span = last - occurrences[left][0]
            best = span if best is None else min(best, span)
            if best <= enough:
                return best
            dropped = occurrences[left][2]
            held[dropped] -= 1
            missing += held[dropped] == 0
            left += 1
    return best


def closeness(operands: Sequence[Sequence[Occurrence]], wanted: int) -> float:
    """How close together the operands found stand, for ranking: (m/n)·(m−1)/span, where m of
    the `wanted` n operands occur and the shortest stretch holding one of each spans `span`
    words; 1 for all of them side by side, 0 when fewer than two occur."""
    present = [occurrences for occurrences in operands if occurrences]
    if len(present) < 2:
        return 0.0
    # Any span of len(present) - 1 words or fewer makes the closeness 1.
    span = shortest_cover(present, enough=len(present) - 1)
    return len(present) / wanted * min(1.0, (len(present) - 1) / max(span, 1))
