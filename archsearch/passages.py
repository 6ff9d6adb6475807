"""The passages of an article where a query matched, with the matched words located.

Whoosh's highlighter re-analyses the whole text through its chain of token objects for every
hit, which took most of a query's time. Here only the words that begin like a matched term
are looked at (see WordMatcher), each analysed once per distinct word (cached) in the
article's language, so a passage marks exactly the words the index matched: `fighting` for
`fight`, `беженцев` for `беженц`.
"""

import bisect
import re
import unicodedata
from functools import lru_cache

from archsearch.analysis import fold, normalise, word_spans, word_term
from archsearch.analysis.capitals import capital_form
from archsearch.analysis.stemming import stemmer_for
from archsearch.analysis.tokens import PLAIN_WORD, plain_word_character, text_stretches
from archsearch.records import Record, replace

PASSAGES_PER_HIT = 2
PASSAGE_CHARS = 200  # roughly; a passage is cut at whitespace
CONTEXT_CHARS = 70  # text kept before the first match of a passage
# Passages are looked for in stretches of about this many characters (the longest file of the 4k
# corpus has 28,823): a 20 MB article is read up to its first stretch holding a match.
PASSAGE_SEARCH_CHARS = 100_000

_WHITESPACE = re.compile(r"\s+")
_NOT_WHITESPACE = re.compile(r"\S")


class Snippet(Record, frozen=True):
    """A passage of one field of an article, with where the query matched inside it."""

    field: str  # which text the passage comes from: "body" or "title"
    text: str  # the passage, whitespace collapsed to single spaces
    start: int  # where the passage starts in that field's text
    end: int
    matches: tuple[tuple[int, int], ...]  # (start, end) of each match, as offsets into `text`
    reaches_end: bool = False  # whether the passage runs to the end of the field's text


# Characters of PLAIN_WORD's tokens, the tokenizer's words in text without marks.
_TOKEN_CHARACTER = re.compile(r"\w")
# The Snowball stemmers of these languages rewrite at most the last STEM_REWRITES letters of what
# they keep of a folded word ("employability" -> "employable"): the rest of a stem is how the
# word begins.  tests/test_passages.py checks it over random words of their alphabets.  The
# others do not keep beginnings: Arabic, Indonesian, Irish, Dutch (ge-), Yiddish and Sesotho
# take prefixes off, Serbian transliterates, German writes "ue" as "ü", Lithuanian "č" as "t",
# Esperanto "ux" as "ŭ", Greek and Persian fold letters the text keeps, Finnish undoubles a
# word's first consonant ("ssaaa", as "ßaaa" folds, -> "saaa").
BEGINNING_KEEPING_LANGUAGES = frozenset(
    {"ca", "cs", "da", "en", "es", "et", "eu", "fr", "hu", "it", "nb", "nn", "no", "pl", "pt", "ro", "ru", "sv", "tr"}
)
STEM_REWRITES = 2


@lru_cache(maxsize=100_000)
def indexed_form(word: str, language: str = "") -> str:
    return word_term(word, language)


@lru_cache(maxsize=100_000)
def folded_form(word: str) -> str:
    """The word as the index's unstemmed forms (the `exact` field) hold it: its term in no language."""
    return word_term(word, "")


def keeps_beginnings(language: str) -> bool:
    """Whether every term of the language begins as its folded word does, but for the last
    STEM_REWRITES letters (a language without a stemmer only folds)."""
    return language in BEGINNING_KEEPING_LANGUAGES or stemmer_for(language) is None


class WordMatcher:
    """Finds the words of a text that the index matched: those whose term in `language` is one of
    `stems`, or whose unstemmed form is one of `forms` (prefix, wildcard, fuzzy and `=` words match
    forms); a word whose term is that of one of `capitals` (smart case) only where it is written so.

    Only the words that begin like a stem or a form are analysed.  They are found by a
    case-blind search of the text for each beginning, in C (of a long text's UTF-8, lowered: see
    _scanned_in_bytes), so the work in Python follows the matches, not the length of the text (a
    7 MB article took 1-4 s per hit when every word was analysed).  That needs each word to begin
    like its term, letter for letter: where it may not, every word is analysed instead: in the
    whole text for a stemmer that does not keep beginnings, in the runs of text that are not NFC
    or hold marks, unspaced scripts and characters that fold to more or less than one letter
    otherwise.
    """

    def __init__(
        self, stems: frozenset[str] = frozenset(), forms: frozenset[str] = frozenset(), language: str = "",
        capitals: frozenset[str] = frozenset(),
    ):
        self.stems, self.forms, self.language, self.capitals = stems, forms, language, capitals
        # Smart case: the stems of words typed in capitals mark only the words written so.
        self._capital_stems = frozenset(indexed_form(word, language) for word in capitals)
        self._beginnings: list[str] = []
        for beginning in sorted(({stem[: max(1, len(stem) - STEM_REWRITES)] for stem in stems} | forms) - {""}):
            if not self._beginnings or not beginning.startswith(self._beginnings[-1]):
                self._beginnings.append(beginning)  # a shorter beginning finds this one's words too

    @property
    def finds_nothing(self) -> bool:
        """Whether spans() finds nothing in any text: no word was matched."""
        return not self._beginnings

    def matches(self, word: str) -> bool:
        stem = indexed_form(word, self.language)
        if stem in self._capital_stems:
            written = normalise(word)
            return written.isupper() and capital_form(written) in self.capitals
        return stem in self.stems or folded_form(word) in self.forms

    def spans(self, text: str) -> list[tuple[int, int]]:
        if not self._beginnings:
            return []
        if not keeps_beginnings(self.language):
            return self.spans_word_by_word(text)
        found = _scanned_in_bytes(text, self._beginnings) if len(text) > BYTES_SCAN_CHARS else None
        if found is None:
            found = self._scanned(text)
        starts, runs = found
        return self._spans_from(text, starts, runs)

    def _scanned(self, text: str) -> tuple[set[int], list[tuple[int, int]]]:
        """(where a word may begin like a stem or a form, the runs of the text read word by word),
        searched in the text itself."""
        accented = non_ascii_characters(text)
        unsearchable = accented.difference(filter(_searchable, accented))
        # The runs of non-space characters holding any of those (an English article quoting
        # 北京, say), or that are not NFC (one decomposed "é" in a 5 MB article), are read word
        # by word; the rest of the text is searched.
        runs = _runs_holding(text, unsearchable) if unsearchable else []
        if len(text) > _NORMALISED_CHECK_CHARS or not unicodedata.is_normalized("NFC", text):
            runs = sorted(set(runs).union(_unnormalised_runs(text)))
        # Case-blind searches of the text itself: lowercasing a copy first costs more memory than
        # the text (str.lower() sets aside three characters for each).
        starts = set()
        for beginning in self._beginnings:
            pattern = _beginning_pattern(beginning, accented - unsearchable)
            starts.update(found.start() for found in pattern.finditer(text))
        return starts, runs

    def _spans_from(self, text: str, starts: set[int], runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        run_starts = [start for start, _ in runs]
        spans = []
        for start in sorted(starts):
            word = PLAIN_WORD.match(text, start) if _starts_token(text, start) else None
            if word and not _inside(runs, run_starts, start) and self.matches(word.group()):
                spans.append(word.span())
        for run_start, run_end in runs:
            spans += [(run_start + a, run_start + b) for a, b in self.spans_word_by_word(text[run_start:run_end])]
        return sorted(spans)

    def spans_word_by_word(self, text: str) -> list[tuple[int, int]]:
        """The matched words found by analysing every word of the text.  The text is not normalised
        first, so the spans stand where its words do: a decomposed word is one word, and its term
        is that of its composed form.  The overlapping character pairs of Chinese or Thai text
        make one span per run of matched pairs."""
        spans: list[tuple[int, int]] = []
        for start, end, word in word_spans(text):
            if self.matches(word):
                if spans and start < spans[-1][1]:
                    spans[-1] = (spans[-1][0], end)
                else:
                    spans.append((start, end))
        return spans


_ASCII_BYTES = bytes(range(128))


def non_ascii_characters(text: str) -> frozenset[str]:
    """The characters of `text` that are not ASCII, found in C: their UTF-8 is what is left of the
    text's once the ASCII bytes are deleted (a set of the text made an object of every character:
    55 ms for 8 MiB of text, 20 µs for an ordinary article's body, which this takes in 1-2)."""
    encoded = text.encode("utf-8", "surrogatepass")
    return frozenset(encoded.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass"))


def _starts_token(text: str, position: int) -> bool:
    """Whether a token of PLAIN_WORD starts at `position`: one dot between word characters joins them."""
    if position == 0:
        return True
    if text[position - 1] == ".":
        return position == 1 or not _TOKEN_CHARACTER.match(text, position - 2)
    return not _TOKEN_CHARACTER.match(text, position - 1)


@lru_cache(maxsize=4096)
def _folded_letter(char: str) -> str:
    return fold(normalise(char))


@lru_cache(maxsize=4096)
def _searchable(char: str) -> bool:
    """Whether the words holding the character are PLAIN_WORD's and begin as their terms, letter
    for letter: it folds to one letter (not `ß` -> `ss`, nor a tatweel to nothing) and is no mark."""
    return len(_folded_letter(char)) == 1 and plain_word_character(char)


_NON_SPACE = re.compile(r"\S*")


def _runs_holding(text: str, chars: frozenset[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of non-space characters holding one of `chars`, in order: no word
    reaches across a space, so a run's words are its own."""
    pattern = re.compile("[" + re.escape("".join(sorted(chars))) + "]")
    return _runs_at(text, (found.start() for found in pattern.finditer(text)))


def _runs_at(text: str, positions) -> list[tuple[int, int]]:
    """_runs_holding of the characters at `positions`, in order."""
    runs: list[tuple[int, int]] = []
    for position in positions:
        if runs and position < runs[-1][1]:
            continue
        start = position
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        runs.append((start, _NON_SPACE.match(text, position).end()))
    return runs


# The text is checked in stretches of about this many characters, and the runs of those that
# are not NFC one by one: a run alone would be a Python call per word.
_NORMALISED_CHECK_CHARS = 8192


def _unnormalised_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of non-space characters of `text` that is not NFC, in order.
    Whitespace neither composes with nor reorders around its neighbours, so a text is NFC exactly
    when each of its runs is, and stretches cut at whitespace can be checked apart (in C).  A long
    text is checked a stretch at a time without checking it whole first: where NFC's quick check
    cannot tell (a character that may compose with the one before it, as a combining accent),
    Python normalises all of the text checked to compare, 170 ms for a 12 MB page holding one such
    character (its stretches, 16 ms)."""
    runs = []
    for start, end in text_stretches(text, _NORMALISED_CHECK_CHARS):
        if not unicodedata.is_normalized("NFC", text[start:end]):
            runs += [
                run.span() for run in _NOT_SPACE_RUN.finditer(text, start, end)
                if not unicodedata.is_normalized("NFC", run.group())
            ]
    return runs


_NOT_SPACE_RUN = re.compile(r"\S+")


def _inside(runs: list[tuple[int, int]], run_starts: list[int], position: int) -> bool:
    index = bisect.bisect_right(run_starts, position) - 1
    return index >= 0 and position < runs[index][1]


@lru_cache(maxsize=1024)
def _beginning_pattern(beginning: str, accented: frozenset[str]) -> re.Pattern:
    """A case-blind expression for `beginning` (folded) in a text whose non-ASCII characters are
    `accented`: each letter also matches those of them that fold to it (`ü` for `u`, `ς` for `σ`,
    `İ` for `i`), so a beginning is searched as a literal when the text has none."""
    return re.compile("".join(_beginning_pieces(beginning, accented)), re.IGNORECASE)


def _beginning_pieces(beginning: str, accented: frozenset[str]) -> list[str]:
    """The expression of each letter of _beginning_pattern (case-blind)."""
    pieces = []
    for letter in beginning:
        others = sorted(char for char in accented if _folded_letter(char) == letter and char != letter)
        pieces.append("[" + re.escape(letter + "".join(others)) + "]" if others else re.escape(letter))
    return pieces


# A text longer than this is searched in its UTF-8 (_scanned_in_bytes): ordinary articles, whose
# search costs little, in the text itself.
BYTES_SCAN_CHARS = 65_536
# ... unless more than one of this many of its characters is not ASCII (a French, Russian or Arabic
# page): each is a Python step there (~0.9 µs, where the text's own search takes 0.01-0.1 µs a character).
_NON_ASCII_SHARE = 100
# One character that is not ASCII, in UTF-8 (as str.encode() writes it: lone surrogates too).
_NON_ASCII_CHARACTER = re.compile(rb"[\xc0-\xff][\x80-\xbf]*")
_ASCII = [chr(code) for code in range(128)]
_NOT_FIRST_BYTES = bytes(range(0xC0))  # ASCII, and the bytes that go on a character
# The runs around the characters that are not ASCII are checked for NFC one by one (~2 µs each)
# where there is at most one such character in this many, else the whole text a stretch at a
# time (_unnormalised_runs: 18 ms for 12 MB).
_RUNS_CHECKED_APART = 2000


def _scanned_in_bytes(text: str, beginnings: list[str]) -> tuple[set[int], list[tuple[int, int]]] | None:
    """WordMatcher._scanned() of a long text, found in its UTF-8 instead, in fewer and faster passes
    in C: a case-blind search of text is a step per character (68 ms for the 12 MB page of
    bench/huge_article.py), a search of its UTF-8 lowercased (bytes.lower() lowers ASCII alone, so
    every offset stays) for a beginning of ASCII letters a literal one (12 ms).  The characters that are
    not ASCII are found once, one match each, and the runs to read word by word are those around
    them: ASCII is NFC and searchable.  None when over one character in _NON_ASCII_SHARE is not
    ASCII, or a letter could not be searched so."""
    encoded = getattr(text, "utf8", None) or text.encode("utf-8", "surrogatepass")  # proximity.CountedText's
    positions = []  # of each character that is not ASCII, in the text
    byte_starts = []  # and in `encoded`
    extra_bytes = [0]  # bytes beyond one a character before each of them
    # Counted in C first (the first byte of each, 6 ms for 12 MB): one at a time, a page over the
    # share took ~100 ms to be found so.
    if len(encoded.translate(None, _NOT_FIRST_BYTES)) > len(text) // _NON_ASCII_SHARE:
        return None
    for found in _non_ascii_characters_in(encoded):
        start, end = found.span()
        byte_starts.append(start)
        positions.append(start - extra_bytes[-1])
        extra_bytes.append(extra_bytes[-1] + end - start - 1)
    accented = frozenset(text[position] for position in positions)
    unsearchable = accented.difference(filter(_searchable, accented))
    runs = set(_runs_at(text, (position for position in positions if text[position] in unsearchable)))
    if len(positions) > len(text) // _RUNS_CHECKED_APART:
        runs.update(_unnormalised_runs(text))
    else:
        # A run of non-space characters that is not NFC holds a character that is not ASCII.
        run_end = 0
        for position in positions:
            if position < run_end or text[position].isspace():
                continue
            ((start, run_end),) = _runs_at(text, (position,))
            if not unicodedata.is_normalized("NFC", text[start:run_end]):
                runs.add((start, run_end))
    lowered = encoded.lower()
    starts = set()
    for beginning in beginnings:
        searched = _beginning_bytes_pattern(beginning, accented - unsearchable, accented)
        if searched is None:
            return None
        pattern, literal, letters_of = searched
        if pattern is _MATCHES_NOTHING:
            continue
        if literal is None:
            found_at = [found.start() for found in pattern.finditer(lowered)]
        else:
            # Where the beginning is ASCII alone, a literal search; where it holds a character
            # that is not ASCII, it is matched around each that one of its letters matches (not
            # around a curly quote).  It cannot overlap itself, so these are the matches
            # finditer() would find one after the other.
            found_at = [found.start() for found in re.finditer(re.escape(literal), lowered)]
            tried = set()
            for position in positions:
                for letter in letters_of.get(text[position], ()):
                    start = position - letter
                    if start >= 0 and start not in tried:
                        tried.add(start)
                        at = start + extra_bytes[bisect.bisect_left(positions, start)]
                        if pattern.match(lowered, at):
                            found_at.append(at)
        if literal is not None:
            found_at.sort()
        starts.update(_characters_at(found_at, byte_starts, extra_bytes))
    return starts, sorted(runs)


def _characters_at(offsets: list[int], byte_starts: list[int], extra_bytes: list[int]) -> list[int]:
    """Where the characters at `offsets` (sorted) of UTF-8 stand in its text, the characters that
    are not ASCII starting at `byte_starts` and `extra_bytes` before each (bytes beyond one a
    character): one walk through both, as a frequent word has hundreds of thousands of offsets."""
    found = []
    passed = 0  # the characters that are not ASCII before `offset`
    count = len(byte_starts)
    for offset in offsets:
        while passed < count and byte_starts[passed] < offset:
            passed += 1
        found.append(offset - extra_bytes[passed])
    return found


# UTF-8 is looked through in blocks of this many bytes, those of ASCII alone passed over
# (bytes.isascii(), a word at a time): 17% of the 12 MB page's blocks hold a character that is not.
_ASCII_BLOCK_BYTES = 1024


def _non_ascii_characters_in(encoded: bytes):
    """The matches of _NON_ASCII_CHARACTER in `encoded` (UTF-8), in order."""
    stretches: list[list[int]] = []  # the runs of blocks that are not ASCII alone
    for start in range(0, len(encoded), _ASCII_BLOCK_BYTES):
        if not encoded[start : start + _ASCII_BLOCK_BYTES].isascii():
            if stretches and stretches[-1][1] == start:
                stretches[-1][1] = start + _ASCII_BLOCK_BYTES
            else:
                stretches.append([start, start + _ASCII_BLOCK_BYTES])
    for start, end in stretches:
        # A character begun in the stretch ends at most 3 bytes after it; those begun after it
        # are another stretch's.
        for found in _NON_ASCII_CHARACTER.finditer(encoded, start, end + 3):
            if found.start() >= end:
                break
            yield found


_MATCHES_NOTHING = re.compile(b"(?!)")


@lru_cache(maxsize=1024)
def _beginning_bytes_pattern(
    beginning: str, searchable: frozenset[str], accented: frozenset[str]
) -> tuple[re.Pattern, bytes | None, dict[str, tuple[int, ...]]] | None:
    """_beginning_pattern(beginning, searchable) in UTF-8 lowered by bytes.lower(), for a text
    whose characters that are not ASCII are `accented`: each letter the characters of ASCII and
    of `accented` its case-blind expression matches; None if one of ASCII matches where the other
    case of it does not (lowered, they would be one); _MATCHES_NOTHING if a letter matches none.
    With it, the beginning's ASCII form lowered where each letter has one and no two matches of it
    can overlap (no ending of it can be a beginning of it), else None: an expression holding
    alternatives is searched a step per byte (50 ms for the 12 MB page), a literal in fewer; and
    for each character of `accented` that a letter matches, the places of those letters."""
    pieces, matched, literal = [], [], b""
    for piece in _beginning_pieces(beginning, searchable):
        letter = re.compile(piece, re.IGNORECASE)
        ascii_matched = [char for char in _ASCII if letter.fullmatch(char)]
        if any(not letter.fullmatch(char.swapcase()) for char in ascii_matched):
            return None
        lowered = sorted({char.lower().encode() for char in ascii_matched})
        others = [char for char in sorted(accented) if letter.fullmatch(char)]
        if not lowered and not others:
            return _MATCHES_NOTHING, None, {}  # a letter none of the text's characters are
        matched.append(frozenset(ascii_matched).union(others))
        literal = literal + lowered[0] if literal is not None and len(lowered) == 1 else None
        others = [re.escape(char.encode("utf-8", "surrogatepass")) for char in others]
        if len(lowered) == 1 and not others:
            pieces.append(re.escape(lowered[0]))
        else:
            pieces.append(b"(?:" + b"|".join(([b"[" + re.escape(b"".join(lowered)) + b"]"] if lowered else []) + others) + b")")
    overlapping = any(
        all(matched[index] & matched[index + shift] for index in range(len(matched) - shift)) for shift in range(1, len(matched))
    )
    letters_of = {char: tuple(index for index, chars in enumerate(matched) if char in chars) for char in accented}
    return re.compile(b"".join(pieces)), None if overlapping else literal, letters_of


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


class ProximityRule(Record, frozen=True):
    """A NEAR or SENTENCE part of a query, as passages look for it: each operand is a tuple of
    alternatives, each alternative a run of word matchers that must match words in a row (one
    for a word, several for a phrase)."""

    operands: tuple[tuple[tuple[WordMatcher, ...], ...], ...]
    distance: int | None  # NEAR's; None: all operands in one sentence

    def windows(self, text: str) -> list[tuple[int, int]]:
        """(start, end) in `text` of each stretch where the rule holds, shortest first.  Only the
        words at and after each match are located (proximity.WordPlaces counts the others in C):
        tokenising all of a long body's 100,000-character stretch cost NEAR most of its time."""
        from archsearch.proximity import WordPlaces, near_windows, sentence_starts, sentence_windows

        places = WordPlaces(text)
        operands = [sorted({found for run in alternatives for found in _runs(text, places, run)})
                    for alternatives in self.operands]
        if self.distance is None:
            found = sentence_windows(operands, sentence_starts(text))
        else:
            found = near_windows(operands, self.distance)
        windows = [(places.span(first)[0], places.span(last)[1]) for first, last in found]
        return sorted(windows, key=lambda window: (window[1] - window[0], window[0]))


def _runs(text: str, places, run: tuple[WordMatcher, ...]) -> list[tuple[int, int]]:
    """(first, last) word index of each place where the run's matchers match words in a row;
    `places` the WordPlaces of `text`."""
    found = []
    for start, _ in run[0].spans(text):
        first = places.first_starting_from(start)
        last = first + len(run) - 1
        if places.holds(last) and all(
            matcher.matches(text[a:b]) for matcher, (a, b) in zip(run[1:], map(places.span, range(first + 1, last + 1)))
        ):
            found.append((first, last))
    return found


def passages(
    text: str, matcher: WordMatcher, fieldname: str = "body", top: int = PASSAGES_PER_HIT,
    proximities: tuple[ProximityRule, ...] = (), whole: bool = True,
) -> list[Snippet] | None:
    """The `top` passages with the most distinct matched words (then the most matches), in text
    order; the stretches where the query's NEAR and SENTENCE parts hold come before any other.

    In a text longer than PASSAGE_SEARCH_CHARS they are those of the first stretch of about that
    many characters that holds a match: the work per hit stays that of an ordinary article.
    `whole`: False when `text` is the opening of a longer field, with more than whitespace after
    it; then the passages are those of the whole field, or None when the opening cannot tell."""
    if matcher.finds_nothing:
        return []  # as a whole text would give, read or not (a hit that matched its title alone)
    if len(text) <= PASSAGE_SEARCH_CHARS:
        return _passages(text, matcher, fieldname, top, proximities) if whole else None
    for start, end in text_stretches(text, PASSAGE_SEARCH_CHARS):
        if not whole and end == len(text):
            return None  # the stretch may go on past the opening
        found = _passages(text[start:end], matcher, fieldname, top, proximities)
        if found:
            reaches_end = whole and not _NOT_WHITESPACE.search(text, end)
            return [
                replace(snippet, start=start + snippet.start, end=start + snippet.end,
                        reaches_end=snippet.reaches_end and reaches_end)
                for snippet in found
            ]
    return []


def _passages(text, matcher, fieldname, top, proximities) -> list[Snippet]:
    spans = matcher.spans(text)
    if not spans:
        return []
    words = [indexed_form(text[a:b], matcher.language) for a, b in spans]
    groups = list(_candidate_passages(spans))
    ranked = sorted(groups, key=lambda group: (-len({words[i] for i in group}), -len(group), spans[group[0]][0]))
    proximity_ranked = _proximity_groups(text, spans, proximities) if proximities else []
    ranked = proximity_ranked + ranked
    chosen = []
    for group in ranked:
        if len(chosen) == top:
            break
        if not any(group[0] <= other[-1] and other[0] <= group[-1] for other in chosen):
            chosen.append(group)
    proximity_groups = {id(group) for group in proximity_ranked}
    chosen.sort(key=lambda group: spans[group[0]][0])
    result = []
    previous_end = 0
    for number, group in enumerate(chosen):
        first, last = spans[group[0]], spans[group[-1]]
        room = max(PASSAGE_CHARS - (last[1] - first[0]), 0)
        before = min(CONTEXT_CHARS, room)
        # Context never reaches back into the passage before, so no words are shown twice.
        start = max(first[0] - before, previous_end)
        start, end = _widen_to_whitespace(text, start, min(last[1] + room - before, len(text)))
        start = max(start, previous_end)
        if number + 1 < len(chosen):
            # Nor forward into the next passage's matches (a stretch where NEAR holds may follow closely).
            end = _cut_before(text, end, spans[chosen[number + 1][0]][0], last[1])
        # Every match the passage shows is marked, those in its context too: a word matched
        # further off than a group reaches (`terrorist` for `t*` just before the group's first)
        # would otherwise read as unmatched.
        shown = spans[bisect.bisect_left(spans, (start, start)) : bisect.bisect_left(spans, (end, end))]
        result.append(collapse_whitespace(fieldname, text, start, end, [span for span in shown if span[1] <= end]))
        previous_end = end
    # The passages where the query's NEAR and SENTENCE parts hold come first (TSV shows the first).
    order = sorted(range(len(chosen)), key=lambda number: id(chosen[number]) not in proximity_groups)
    return [result[number] for number in order]


def _cut_before(text: str, end: int, limit: int, floor: int) -> int:
    """`end`, or the last whitespace before `limit` when `end` passes it (never before `floor`)."""
    if end <= limit:
        return end
    cut = limit
    while cut > floor and not text[cut - 1].isspace():
        cut -= 1
    return max(cut, floor)


def _proximity_groups(text: str, spans, proximities) -> list[list[int]]:
    """The matches inside each stretch where a proximity rule holds, as groups of indexes into
    `spans`: the shortest stretch of each rule first."""
    span_starts = [start for start, _ in spans]
    ranked = []  # (place among its rule's stretches, rule, group): each rule's best first
    for number, rule in enumerate(proximities):
        for place, (start, end) in enumerate(rule.windows(text)):
            inside = list(range(bisect.bisect_left(span_starts, start), bisect.bisect_left(span_starts, end)))
            if inside:
                ranked.append((place, number, inside))
    return [group for _, _, group in sorted(ranked)]


def proximity_rule(node, language: str, reader) -> ProximityRule:
    """The rule of a query's Near or InSentence node (after the words were put in every language,
    see querying.py) in the body of an article in `language`; `reader` expands prefix words."""
    operands = tuple(tuple(_alternatives(operand, language, reader, frozenset())) for operand in node.subqueries)
    return ProximityRule(operands, getattr(node, "distance", None))


def _alternatives(node, language, reader, capitals):
    """The runs of word matchers one operand may match in the body."""
    from whoosh import query as wq

    if isinstance(node, wq.Or):
        for sub in node.subqueries:
            yield from _alternatives(sub, language, reader, capitals)
    elif isinstance(node, wq.And):
        tests = frozenset(sub.text for sub in node.subqueries if sub.field() == "capitals")
        for sub in node.subqueries:
            if sub.field() not in ("capitals", "language"):  # the word beside its smart-case or language test
                yield from _alternatives(sub, language, reader, capitals | tests)
    elif node.field() == "body" and isinstance(node, (wq.Term, wq.Phrase)):
        texts = [node.text] if isinstance(node, wq.Term) else node.words
        yield tuple(WordMatcher(frozenset({text}), language=language, capitals=capitals) for text in texts)
    elif node.field() == "exact" and isinstance(node, wq.Phrase):
        yield tuple(WordMatcher(forms=frozenset({text}), language=language) for text in node.words)
    elif node.field() == "exact":
        texts = [node.text] if isinstance(node, wq.Term) else [word.decode("utf-8") for word in node._btexts(reader)]
        yield (WordMatcher(forms=frozenset(texts), language=language),)


def lead_passage(body: str, length: int = PASSAGE_CHARS) -> Snippet:
    """The opening of the body, for hits that matched only on other fields."""
    cut = body[:length]
    if len(body) > length and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return collapse_whitespace("body", body, 0, len(cut), [])
