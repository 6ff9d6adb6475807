"""Splitting text into words, in every script.

A word is a run of letters, digits, combining marks and zero-width joiners: marks belong to the
word they sit in (Arabic ``رحّلت``, Hindi vowel signs, a decomposed ``Zürcher``), and dots join
parts as in ``U.S`` and ``3.5``.  Scripts written without spaces (Chinese, Japanese, Thai, Lao,
Khmer, Myanmar) have no word boundaries to find without a dictionary, so each run of them is
cut into overlapping character pairs (``北京大学`` -> ``北京 京大 大学``): a query's pairs then
meet the text's in order, which finds a word wherever it is written, with some false matches
across word boundaries.
"""

import re

from archsearch.analysis._tables import WORD_RANGES
from archsearch.analysis.charclasses import UNSPACED_RANGES, regex_class_body

_WORD_CLASS = f"[{regex_class_body(WORD_RANGES)}]"
_UNSPACED_CLASS = f"[{regex_class_body(UNSPACED_RANGES)}]"
# The same shape as Whoosh's default tokenizer, `\w+(\.?\w+)*`, over the wider class.
WORD = re.compile(f"{_WORD_CLASS}+(?:\\.{_WORD_CLASS}+)*|{_UNSPACED_CLASS}+")
_UNSPACED = re.compile(_UNSPACED_CLASS)


def _pairs(run: str) -> list[str]:
    if len(run) < 2:
        return [run]
    return [run[index : index + 2] for index in range(len(run) - 1)]


def words(text: str) -> list[str]:
    """The words of ``text`` in order, unspaced runs as character pairs; ``text`` NFC already."""
    found = WORD.findall(text)
    if not _UNSPACED.search(text):
        return found
    result = []
    for word in found:
        if _UNSPACED.match(word):
            result += _pairs(word)
        else:
            result.append(word)
    return result


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) for each word of ``words(text)``; character pairs overlap by one."""
    spans = []
    for match in WORD.finditer(text):
        word = match.group()
        start = match.start()
        if _UNSPACED.match(word):
            spans += [(start + offset, start + offset + len(pair), pair) for offset, pair in enumerate(_pairs(word))]
        else:
            spans.append((start, match.end(), word))
    return spans
