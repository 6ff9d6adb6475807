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
only from the words that hold them; text with none of either has its words split in C, without re.
"""

import re
from bisect import bisect_right
from collections.abc import Iterator
from functools import cache

from archsearch.analysis._tables import MARK_RANGES
from archsearch.analysis.charclasses import UNSPACED_RANGES, regex_class_body

# Whoosh's default tokenizer, `\w+(\.?\w+)*`, for text without marks; the same with them and
# the parts of words holding unspaced characters are compiled on first use (7 ms a query saved).
PLAIN_WORD = re.compile(r"\w+(?:\.\w+)*")
# Characters beyond the Basic Multilingual Plane may be marks: they count as such.
_BEYOND_BMP = 0x10000
_MARK_STARTS = [start for start, _ in MARK_RANGES]
_UNSPACED_STARTS = [start for start, _ in UNSPACED_RANGES]


def _marks_class() -> str:
    return regex_class_body(MARK_RANGES)


def _unspaced_class() -> str:
    return f"[{regex_class_body(UNSPACED_RANGES)}]"


# The two scans below are compiled on first use, for text that is not ASCII (neither class holds
# an ASCII character): each class spans thousands of characters, which re's compiler visits one
# by one (3 ms a process, where a query's own words and most articles are ASCII).
@cache
def _has_mark_pattern() -> re.Pattern:
    """Text has marks, or characters beyond the Basic Multilingual Plane (which may be marks): a
    class of BMP characters alone compiles to a bitmap, so the scan is as fast as \\w."""
    bmp_marks = [start_end for start_end in MARK_RANGES if start_end[1] < _BEYOND_BMP]
    return re.compile(f"[{regex_class_body([*bmp_marks, (_BEYOND_BMP, 0x10FFFF)])}]")


@cache
def _unspaced_pattern() -> re.Pattern:
    return re.compile(_unspaced_class())


def _has_mark(text: str) -> bool:
    return not text.isascii() and _has_mark_pattern().search(text) is not None


def _has_unspaced(text: str) -> bool:
    return not text.isascii() and _unspaced_pattern().search(text) is not None


def compile_scans() -> None:
    """Compiles the two scans now, for a process that forks one process per command (the server),
    so that no command compiles them for itself."""
    _has_mark_pattern()
    _unspaced_pattern()


def _in_ranges(code: int, ranges, starts: list[int]) -> bool:
    at = bisect_right(starts, code) - 1
    return at >= 0 and code <= ranges[at][1]


@cache
def _marked_word() -> re.Pattern:
    marks = _marks_class()
    return re.compile(rf"[\w{marks}]+(?:\.[\w{marks}]+)*")


@cache
def _mixed_parts() -> re.Pattern:
    """Inside a word that holds unspaced characters: their runs, and the runs of everything else."""
    unspaced = _unspaced_class()
    other = rf"(?:(?!{unspaced})[\w{_marks_class()}])"
    return re.compile(rf"{unspaced}+|{other}+(?:\.{other}+)*")


def _word_expression(text: str) -> re.Pattern:
    return _marked_word() if _has_mark(text) else PLAIN_WORD


def word_expression(text: str) -> re.Pattern | None:
    """The one expression whose matches are the words of ``text``, or None when the text holds
    unspaced scripts (cut into pairs): for counting words in C."""
    return None if _has_unspaced(text) else _word_expression(text)


def plain_word_character(char: str) -> bool:
    """Whether the character leaves words as PLAIN_WORD finds them: not a mark, a character
    beyond the Basic Multilingual Plane or one of a script written without spaces."""
    code = ord(char)
    return not (
        code >= _BEYOND_BMP or _in_ranges(code, MARK_RANGES, _MARK_STARTS) or _in_ranges(code, UNSPACED_RANGES, _UNSPACED_STARTS)
    )


def _pairs(run: str) -> list[str]:
    if len(run) < 2:
        return [run]
    return [run[index : index + 2] for index in range(len(run) - 1)]


# A text's words without the regular expression where every character beyond ASCII in it is a word
# character or none, as PLAIN_WORD reads them (no mark, none beyond the Basic Multilingual Plane and
# none of the unspaced scripts): its findall was a quarter of adding a document to the index, and a
# text of one dash or accent beyond ASCII took it 4x an ASCII text's time.  In the text's UTF-8 every
# byte of an ASCII character that is neither a word character nor a dot is made a space, and so is
# every character beyond ASCII that is no word character (a UTF-8 sequence matches only at a
# character's start); then the dots that join no two word characters go, and the rest is split.
_ASCII_NON_WORD_AS_SPACE = bytes(
    byte if byte >= 0x80 or re.match(r"[\w.]", chr(byte)) else ord(" ") for byte in range(256)
)
_ASCII_BYTES = bytes(range(0x80))
_NON_WORD = re.compile(r"\W")
# Above this many distinct characters beyond ASCII that are no word character, re finds the words:
# each of them is a scan of the text.
_MOST_REPLACED = 32


def _plain_words(text: str) -> list[str] | None:
    """words(text), or None when the text holds a mark, a character beyond the BMP or of an
    unspaced script, or too many kinds of non-word character beyond ASCII."""
    data = f" {text} ".encode("utf-8", "surrogatepass")
    if not text.isascii():
        beyond_ascii = "".join(set(data.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")))
        if _has_mark(beyond_ascii) or _has_unspaced(beyond_ascii):
            return None
        non_word = _NON_WORD.findall(beyond_ascii)
        if len(non_word) > _MOST_REPLACED:
            return None
        for character in non_word:
            data = data.replace(character.encode("utf-8", "surrogatepass"), b" ")
    # In the padded text a dot joining nothing has a space or a dot beside it; a run of dots loses
    # its pairs first, which leaves its last dot, if any, after a space.
    spaced = data.translate(_ASCII_NON_WORD_AS_SPACE).replace(b"..", b"  ").replace(b" .", b"  ").replace(b". ", b"  ")
    return spaced.decode("utf-8", "surrogatepass").split()


def words(text: str) -> list[str]:
    """The words of ``text`` in order, unspaced runs as character pairs; ``text`` NFC already."""
    found = _plain_words(text)
    return _expression_words(text) if found is None else found


def _expression_words(text: str) -> list[str]:
    """words(text) by the regular expressions, for any text."""
    found = _word_expression(text).findall(text)
    if not _has_unspaced(text):
        return found
    result = []
    for word in found:
        if not _has_unspaced(word):
            result.append(word)
            continue
        for part in _mixed_parts().findall(word):
            if _unspaced_pattern().match(part):
                result += _pairs(part)
            else:
                result.append(part)
    return result


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) for each word of ``words(text)``; character pairs overlap by one."""
    spans = []
    has_unspaced = _has_unspaced(text)
    for match in _word_expression(text).finditer(text):
        word = match.group()
        start = match.start()
        if not (has_unspaced and _has_unspaced(word)):
            spans.append((start, match.end(), word))
            continue
        for part in _mixed_parts().finditer(word):
            at = start + part.start()
            if _unspaced_pattern().match(part.group()):
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
