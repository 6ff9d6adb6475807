"""Words written in capitals (`US`, `WHO`, `IT`, `ISIS`, `США`): what smart case matches.

A query word typed in capitals of 2-5 letters finds that word only where it is written in
capitals, so `US` is the country and not "us".  The index keeps, per article, the distinct words
of title and body written so (the `capitals` field): a few terms an article, as written but for
their accents (`RTÉ` is `RTE`, as `Zürich` is `Zurich` to the other fields).

A line with no lowercase letter and two words or more (a headline in capitals, "US TROOPS
LEAVE", a wire dateline "WASHINGTON (AP) -") carries no case: its words are not counted as
written in capitals, or `US` would find every shouted "us".  Scripts without case (Chinese,
Arabic, Hebrew...) have no capitals: smart case never applies to their words.
"""

import re
from functools import cache

from archsearch.analysis.charclasses import regex_class_body
from archsearch.analysis.folding import fold_accents, normalise
from archsearch.analysis.tokens import plain_word_character

SHORTEST, LONGEST = 2, 5


@cache
def _capital_run() -> re.Pattern:
    """2-5 capitals standing as a whole word, as tokens.py splits words (a dot between letters
    joins them: `U.S` is no word in capitals).  Capitals of the Basic Multilingual Plane, searched
    in C: the Python work follows the capitals, not the text's length.  The first capital comes
    first, the character before it looked behind at from the one after: re skips to each capital
    by the class alone, where a pattern opening with the look-behind is tried at every position
    (three times the time)."""
    ranges, start = [], None
    for code in range(0x10000):
        if chr(code).isupper():
            start = code if start is None else start
        elif start is not None:
            ranges.append((start, code - 1))
            start = None
    capital = f"[{regex_class_body(ranges)}]"
    return re.compile(rf"{capital}(?<![\w.].){capital}{{{SHORTEST - 1},{LONGEST - 1}}}(?!\w|\.\w)")


def is_capital_word(word: str) -> bool:
    """Whether smart case applies: 2-5 letters, every one a capital (`US`, `США`; not `Us`, `G7`, `北京`)."""
    return SHORTEST <= len(word) <= LONGEST and word.isalpha() and word.isupper()


def capital_form(word: str) -> str:
    """A word written in capitals as the `capitals` field holds it: accents folded, case kept
    (the accent table lowercases what it folds, so the capitals are put back).  An ASCII word has
    no accent to fold: the table only lowercases its capitals (tests check it)."""
    return word.upper() if word.isascii() else fold_accents(word).upper()


def _shouted(line: str) -> bool:
    return line == line.upper() and len(line.split()) > 1


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Whether no mark (or character beyond the BMP) joins the run to the word around it, as
    tokens.py reads words: `\\w` leaves marks out, so `क़AA` (a nukta before AA) matched `AA`.
    No ASCII character is either (tests check it): most runs are told so without a look-up."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return (before.isascii() or plain_word_character(before)) and (after.isascii() or plain_word_character(after))


# An ASCII text's bytes with its capitals as b"A" and every other byte as b" ", in which the runs of
# two capitals or more are found (re skips to each b"AA" in C).
_ASCII_CAPITALS_AS_A = bytes(ord("A") if "A" <= chr(byte) <= "Z" else ord(" ") for byte in range(256))
_ASCII_CAPITALS_RUN = re.compile(rb"AA+")


def capital_runs(text: str):
    """_capital_run()'s matches in `text`, as its finditer finds them.  In an ASCII text, only where
    two capitals or more start a run: a match takes a whole run (a capital after it is a word
    character), and starts none inside one (its look-behind sees a capital); there the pattern is
    matched where each run starts, not tried at every character (4.8 µs an ASCII article of c4k, not 8.7)."""
    pattern = _capital_run()
    if not text.isascii():
        return pattern.finditer(text)
    runs = _ASCII_CAPITALS_RUN.finditer(text.encode().translate(_ASCII_CAPITALS_AS_A))
    return filter(None, (pattern.match(text, run.start()) for run in runs))


def capital_words(text: str) -> list[str]:
    """The distinct words of `text` written in capitals, outside lines written all in capitals."""
    text = normalise(text)
    found: dict[str, None] = {}
    shouted: dict[int, bool] = {}  # line start -> whether the line is in capitals
    for match in capital_runs(text):
        word = match.group()
        if word in found or not word.isalpha() or not _stands_alone(text, *match.span()):
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        if line_start not in shouted:
            line_end = text.find("\n", match.end())
            shouted[line_start] = _shouted(text[line_start : None if line_end < 0 else line_end])
        if not shouted[line_start]:
            found[word] = None
    return list(dict.fromkeys(map(capital_form, found)))
