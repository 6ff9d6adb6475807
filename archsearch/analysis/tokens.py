"""Splitting text into words, in every script.

A word is a run of letters, digits, combining marks and zero-width joiners: marks belong to the
word they sit in (Arabic ``رحّلت``, Hindi vowel signs, a decomposed ``Zürcher``), and dots join
parts as in ``U.S`` and ``3.5``.  Scripts written without spaces (Chinese, Japanese, Thai, Lao,
Khmer, Myanmar) have no word boundaries to find without a dictionary, so each run of them is
cut into overlapping character pairs (``北京大学`` -> ``北京 京大 大学``): a query's pairs then
meet the text's in order, which finds a word wherever it is written, with some false matches
across word boundaries.

Speed: a regular expression class holding every mark is several times slower than ``\\w``, so it
is used only on text that has marks (a fast scan tells), and the unspaced scripts are split out
only from the words that hold them.
"""

import re
from collections.abc import Iterator
from functools import cache

from archsearch.analysis._tables import MARK_RANGES
from archsearch.analysis.charclasses import UNSPACED_RANGES, regex_class_body

_MARKS = regex_class_body(MARK_RANGES)
_UNSPACED_CLASS = f"[{regex_class_body(UNSPACED_RANGES)}]"
# Whoosh's default tokenizer, `\w+(\.?\w+)*`, for text without marks; the same with them and
# the parts of words holding unspaced characters are compiled on first use (7 ms a query saved).
PLAIN_WORD = re.compile(r"\w+(?:\.\w+)*")
# Text has marks, or characters beyond the Basic Multilingual Plane (which may be marks): a class
# of BMP characters alone compiles to a bitmap, so the scan is as fast as \w.
_HAS_MARK = re.compile(
    f"[{regex_class_body(start_end for start_end in MARK_RANGES if start_end[1] <= 0xFFFF)}\U00010000-\U0010ffff]"
)
_UNSPACED = re.compile(_UNSPACED_CLASS)


@cache
def _marked_word() -> re.Pattern:
    return re.compile(rf"[\w{_MARKS}]+(?:\.[\w{_MARKS}]+)*")


@cache
def _mixed_parts() -> re.Pattern:
    """Inside a word that holds unspaced characters: their runs, and the runs of everything else."""
    other = rf"(?:(?!{_UNSPACED_CLASS})[\w{_MARKS}])"
    return re.compile(rf"{_UNSPACED_CLASS}+|{other}+(?:\.{other}+)*")


def _word_expression(text: str) -> re.Pattern:
    return _marked_word() if _HAS_MARK.search(text) else PLAIN_WORD


def word_expression(text: str) -> re.Pattern | None:
    """The one expression whose matches are the words of ``text``, or None when the text holds
    unspaced scripts (cut into pairs): for counting words in C."""
    return None if _UNSPACED.search(text) else _word_expression(text)


def plain_word_character(char: str) -> bool:
    """Whether the character leaves words as PLAIN_WORD finds them: not a mark, a character
    beyond the Basic Multilingual Plane or one of a script written without spaces."""
    return not (_HAS_MARK.match(char) or _UNSPACED.match(char))


def _pairs(run: str) -> list[str]:
    if len(run) < 2:
        return [run]
    return [run[index : index + 2] for index in range(len(run) - 1)]


def words(text: str) -> list[str]:
    """The words of ``text`` in order, unspaced runs as character pairs; ``text`` NFC already."""
    found = _word_expression(text).findall(text)
    if not _UNSPACED.search(text):
        return found
    result = []
    for word in found:
        if not _UNSPACED.search(word):
            result.append(word)
            continue
        for part in _mixed_parts().findall(word):
            if _UNSPACED.match(part):
                result += _pairs(part)
            else:
                result.append(part)
    return result


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) for each word of ``words(text)``; character pairs overlap by one."""
    spans = []
    has_unspaced = _UNSPACED.search(text) is not None
    for match in _word_expression(text).finditer(text):
        word = match.group()
        start = match.start()
        if not (has_unspaced and _UNSPACED.search(word)):
            spans.append((start, match.end(), word))
            continue
        for part in _mixed_parts().finditer(word):
            at = start + part.start()
            if _UNSPACED.match(part.group()):
                spans += [(at + offset, at + offset + len(pair), pair) for offset, pair in enumerate(_pairs(part.group()))]
            else:
                spans.append((at, at + len(part.group()), part.group()))
    return spans


_WHITESPACE = re.compile(r"\s+")


def text_stretches(text: str, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) of the stretches of `text`, one after the other, each of `size` characters
    and on to where whitespace starts: no word is cut in two, and a stretch begins where the one
    before it ends, so a long text is read a piece at a time."""
    start = 0
    while start < len(text):
        cut = _WHITESPACE.search(text, start + size)
        end = cut.start() if cut else len(text)
        yield start, end
        start = end
