"""Plain-text articles: wire copy and saved web pages as text, one article per file.

Every corpus file is one news article in one of two shapes:

* wire copy: a machine-added ``" date 2021-12-10 "`` header glued to the first
  paragraph, which opens with a dateline (``KABUL, December 10. /TASS/. The ...``);
  there is no title line;
* a saved web page: an optional ``Home / Section / Title`` breadcrumb, the title,
  the body, then site furniture (``About <Site>``, ``Leave a Reply``, ``Check Also``
  followed by another article's teaser, ...).

Parsing is a chain of small steps, like a Whoosh analysis chain: each step is a
plain function ``Draft -> Draft`` that looks for one thing, records it and hands
the draft on, so a step can be dropped, replaced or tested on its own.  ``STEPS``
is the default chain and :func:`parse_article` runs it.

The body keeps the dateline ("KABUL, December 10. /TASS/. The Taliban ...")
because it is part of the article as published and reads naturally there; only
the machine-added date header and the site furniture are removed.
"""

import codecs
import datetime
import functools
import itertools
import operator
import os
import re
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence

from archsearch.formats.article import Article, UnreadableFile
from archsearch.formats.source import Source
from archsearch.records import Record, replace


# --------------------------------------------------------------------------- bytes -> text

_SNIFF_BYTES = 8 * 1024
# Text has a few control characters at most (a stray DOS end-of-file mark, say);
# binary formats without NUL bytes still have far more than this.
_MAX_CONTROL_SHARE = 0.10
# Unicode's control characters (category Cc) but the whitespace ones: tab, LF, VT, FF, CR.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_ASCII_CONTROL_BYTES = bytes([*range(0x09), *range(0x0E, 0x20), 0x7F])  # its ASCII ones (tests check it)


def decode(data: bytes) -> str:
    """Decode a file's bytes to text with LF line ends, or raise UnreadableFile."""
    return unify_newlines(_checked_text(data))


def _checked_text(data: bytes) -> str:
    """A file's bytes decoded, line ends as they are, or UnreadableFile."""
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise UnreadableFile("binary file")
    text = _decode_leniently(data)
    if not text or text.isspace():  # not text.strip(), which copies the text
        raise UnreadableFile("empty file")
    if _control_share(text[:_SNIFF_BYTES]) > _MAX_CONTROL_SHARE:
        raise UnreadableFile("binary file")
    return text


def _decode_leniently(data: bytes) -> str:
    try:
        return _utf8_without_bom(data)
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # latin-1 maps every byte to a character, so nothing is lost or refused.
        return data.decode("latin-1")


def _utf8_without_bom(data: bytes) -> str:
    """data decoded as the utf-8-sig codec decodes it (UTF-8, a byte order mark first left out),
    without loading that codec: encodings.utf_8_sig was 0.13 ms of a query reading a hit's file."""
    return data.decode("utf-8").removeprefix("\ufeff")


def _control_share(text: str) -> float:
    if text.isascii():  # counted by bytes.translate: re's scan took 3 ns a character, this 1
        data = text.encode()
        return (len(data) - len(data.translate(None, _ASCII_CONTROL_BYTES))) / len(text)
    return len(_CONTROL_CHARACTERS.findall(text)) / len(text)


def unify_newlines(text: str) -> str:
    if "\r" not in text:  # a scan, where each replace() is a scan and a copy
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- the draft


class Draft(Record, frozen=True):
    """An article half-way through parsing: what is left of the text, and what was found."""

    lines: tuple[str, ...]  # what is still candidate body text
    title: str = ""
    title_derived: bool = False  # made from the lead sentence (see derive_title)
    date: datetime.date | None = None
    source: str = ""
    place: str = ""
    section: str = ""
    dateline: str = ""  # e.g. "KABUL, December 10. /TASS/."; still at the start of the body
    has_date_header: bool = False  # wire copy: it has no title line
    boilerplate: tuple[str, ...] = ()  # site furniture cut from the text
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, text: str) -> "Draft":
        return cls(lines=tuple(text.split("\n")))

    def to_article(self) -> Article:
        return Article(
            title=collapse_spaces(self.title),
            body=join_paragraphs(self.lines),
            date=self.date,
            source=collapse_spaces(self.source),
            place=collapse_spaces(self.place),
            section=collapse_spaces(self.section),
            warnings=self.warnings,
            title_derived=self.title_derived,
        )


Step = Callable[[Draft], Draft]


def collapse_spaces(text: str) -> str:
    return " ".join(text.split())


def _any_holds(lines: Sequence[str], character: str) -> bool:
    return any(map(operator.contains, lines, itertools.repeat(character)))


def join_paragraphs(lines: Sequence[str]) -> str:
    """Lines to body text: paragraphs separated by exactly one blank line."""
    if not _any_holds(lines, "\n"):
        # Then a blank line is an empty one once stripped, and paragraphs meet at runs of two line
        # ends or more: made two, in C (a line at a time in Python was 2-3 ms a MB of text).
        text = "\n".join(map(str.rstrip, lines))
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        return text.strip("\n")
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def _first_content_index(lines: Sequence[str], start: int = 0) -> int | None:
    return next((i for i in range(start, len(lines)) if lines[i].strip()), None)


def _last_content_index(lines: Sequence[str]) -> int | None:
    return next((i for i in reversed(range(len(lines))) if lines[i].strip()), None)


def _first_paragraph(lines: Sequence[str]) -> str:
    start = _first_content_index(lines)
    if start is None:
        return ""
    paragraph = []
    for line in lines[start:]:
        if not line.strip():
            break
        paragraph.append(line.strip())
    return " ".join(paragraph)


# --------------------------------------------------------------------------- steps


def normalise_text(draft: Draft) -> Draft:
    """LF line ends, no byte-order mark, no trailing spaces."""
    lines = draft.lines
    if not lines or lines[0].startswith("\ufeff") or _any_holds(lines, "\r") or _any_holds(lines, "\n"):
        lines = unify_newlines("\n".join(lines)).removeprefix("\ufeff").split("\n")
    stripped = tuple(map(str.rstrip, lines))
    # The same draft when nothing changed: a record made anew costs as much as the stripping.
    return draft if stripped == draft.lines else replace(draft, lines=stripped)


_DATE_HEADER = re.compile(r"[ \t]*date:?[ \t]+(?P<value>\S+)[ \t]*(?P<rest>.*)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def take_date_header(draft: Draft) -> Draft:
    """Wire copy's ``" date 2021-12-10 "`` header: the date, removed from the text.

    The word after ``date`` is always taken as the date, so a header like
    ``" date yesterday KABUL, ..."`` gives no date and a warning, but leaves the
    rest of the line as body.
    """
    first = _first_content_index(draft.lines)
    if first is None:
        return draft
    header = _DATE_HEADER.fullmatch(draft.lines[first])
    if header is None:
        return draft
    value = header["value"]
    date = _parse_iso_date(value)
    warnings = draft.warnings if date is not None else draft.warnings + (f"malformed date line: {value!r}",)
    lines = draft.lines[:first] + (header["rest"],) + draft.lines[first + 1 :]
    return replace(draft, lines=lines, date=date, has_date_header=True, warnings=warnings)


def _parse_iso_date(value: str) -> datetime.date | None:
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


_BREADCRUMB_START = re.compile(r"\s*home(?P<before>\s*)(?P<separator>[/>»›])(?P<after>\s*)", re.I)
_BREADCRUMB_TITLE_MIN_WORDS = 5  # a crumb this long is a headline, not a section name


def take_breadcrumb(draft: Draft) -> Draft:
    """``Home / Section / Title``: the section(s), and the title when the trail ends with it.

    The title is the last crumb when the next line repeats it (the page's own
    heading, taken whole because breadcrumbs may shorten it with "…") or when the
    crumb is too long to be a section name.
    """
    if draft.has_date_header:
        return draft
    first = _first_content_index(draft.lines)
    if first is None:
        return draft
    line = draft.lines[first]
    start = _BREADCRUMB_START.match(line)
    if start is None:
        return draft
    separator = re.escape(start["separator"])
    # "24/7" inside a title must not split a " / " trail, so a spaced separator
    # only splits where it is spaced.
    if start["before"] or start["after"]:
        splitter = rf"\s+{separator}\s+"
    else:
        splitter = rf"\s*{separator}\s*"
    crumbs = [crumb for crumb in re.split(splitter, line[start.end() :].strip()) if crumb]
    lines = draft.lines[:first] + draft.lines[first + 1 :]
    if not crumbs:
        return replace(draft, lines=lines)

    heading_index = _first_content_index(lines, first)
    if heading_index is not None and _is_same_heading(crumbs[-1], lines[heading_index]):
        return replace(
            draft,
            lines=lines[:heading_index] + lines[heading_index + 1 :],
            title=lines[heading_index],
            section=" / ".join(crumbs[:-1]),
        )
    if len(crumbs[-1].split()) >= _BREADCRUMB_TITLE_MIN_WORDS:
        return replace(draft, lines=lines, title=crumbs[-1], section=" / ".join(crumbs[:-1]))
    return replace(draft, lines=lines, section=" / ".join(crumbs))


def _is_same_heading(crumb: str, line: str) -> bool:
    crumb_key = collapse_spaces(crumb).casefold()
    line_key = collapse_spaces(line).casefold()
    if crumb_key == line_key:
        return True
    if not crumb_key.endswith(("…", "...")):
        return False
    stem = crumb_key.rstrip(".… ")
    return bool(stem) and line_key.startswith(stem)


TITLE_LINE_MAX_CHARS = 200
_ENDS_LIKE_SENTENCE = re.compile(r"[.!?…:;,][\"'”’)\]]*$")


def take_title_line(draft: Draft) -> Draft:
    """A web page's heading: a first line that stands alone and does not read as a sentence.

    It must be a paragraph of its own, so the first line of hard-wrapped body
    text is never mistaken for a heading, and must not open with a dateline,
    which marks the first paragraph of the body.  Wire copy has no title line.
    """
    if draft.title or draft.has_date_header:
        return draft
    first = _first_content_index(draft.lines)
    if first is None:
        return draft
    line = draft.lines[first].strip()
    stands_alone = first + 1 == len(draft.lines) or not draft.lines[first + 1].strip()
    if (
        stands_alone
        and len(line) <= TITLE_LINE_MAX_CHARS
        and not _ENDS_LIKE_SENTENCE.search(line)
        and any(char.isalpha() for char in line)
        and not is_boilerplate_marker(line)
        and match_dateline(line) is None
    ):
        return replace(draft, title=line, lines=draft.lines[:first] + draft.lines[first + 1 :])
    return draft


_MARKER_LINE_MAX_CHARS = 100
_MARKER = re.compile(
    r"""
      related(?:\s+(?:articles?|posts?|stories|story|news|content|reading|coverage))?
    | you\s+(?:may|might)\s+also\s+like
    | share(?:\s+(?:this|on|via)\b.*)?
    | leave\s+a\s+(?:reply|comment)(?:\s+cancel\s+reply)?
    | (?:(?:\d+|no)\s+)?comments?(?:\s*\(\d+\))?
    | comments\s+are\s+closed
    | check\s+also
    | read\s+(?:more|also)
    | about\s+(?:us|me|the\s+author|this\s+(?:author|site))
    | subscribe\b.*
    | your\s+email\s+address\s+will\s+not\s+be\s+published\b.*
    | follow\s+us\b.*
    """,
    re.X | re.I,
)
_ABOUT_SITE = re.compile(r"about\s+(?:the\s+)?(?P<site>.+)", re.I)
_SITE_NAME_MAX_WORDS = 6


# Headings of site boxes come dressed up: "Share this:", "Read More »", "• Related Posts…".
_MARKER_DECORATION = ":.…!»«›‹→>*•·|#-–— "
# Bodies of this many lines or more are searched for furniture headings with _marker_start().
_MANY_LINES = 1000


@functools.cache
def _marker_start() -> re.Pattern:
    """How every line that is_boilerplate_marker takes for a heading starts: spaces and decoration,
    then the first word of one of _MARKER's headings or of _ABOUT_SITE's (case-blind as they are).
    Compiled on first use (0.3-0.5 ms), not by every query that reads an ordinary article again."""
    return re.compile(
        rf"[\s{re.escape(_MARKER_DECORATION)}]*(?:related|you|share|leave|\d|no|comment|check|read|about|subscribe|follow)",
        re.I,
    )


def _marker_text(line: str) -> str:
    return collapse_spaces(line).strip(_MARKER_DECORATION)


def site_name_from_about_line(line: str) -> str | None:
    """``"About The Pashtun Times"`` -> ``"Pashtun Times"``; None for any other line."""
    text = _marker_text(line)
    about = _ABOUT_SITE.fullmatch(text)
    if about is None or _MARKER.fullmatch(text):
        return None
    site = about["site"]
    if not site[0].isupper() or len(site.split()) > _SITE_NAME_MAX_WORDS:
        return None
    return site


# The first two letters of every furniture heading (_MARKER's and _ABOUT_SITE's first words but
# the number of comments), lowercased; and what goes before a heading's first word, less the
# whitespace beyond ASCII.
_MARKER_OPENINGS = frozenset("re yo sh le no co ch ab su fo".split())
_BEFORE_MARKER = _MARKER_DECORATION + "\t\n\x0b\x0c\r"


def _may_be_marker(line: str) -> bool:
    """Whether the line can be a furniture heading, by how it opens: most are not, and are told so
    without collapsing their spaces; a line of decoration and spaces alone (a blank one: every
    other of a body's lines) has no heading's words.  re.I's s is ſ too (no other letter of the
    openings is more than its two cases, which lower() finds)."""
    opening = line.lstrip(_BEFORE_MARKER)
    return bool(opening) and (
        opening[0].isspace()
        or opening[0].isdecimal()
        or opening[:2].lower().replace("ſ", "s") in _MARKER_OPENINGS
    )


def is_boilerplate_marker(line: str) -> bool:
    """Whether a whole line is the heading of site furniture ("Leave a Reply", "About <Site>", ...)."""
    if not _may_be_marker(line):
        return False
    text = _marker_text(line)
    if not text or len(text) > _MARKER_LINE_MAX_CHARS:
        return False
    return bool(_MARKER.fullmatch(text)) or site_name_from_about_line(text) is not None


def cut_boilerplate(draft: Draft) -> Draft:
    """Drop everything from the first furniture heading after the body has started.

    Furniture headings before the body (a share bar under the title) are dropped
    too; the body starts at the first line that is not one.  The cut lines are
    kept in ``draft.boilerplate`` for steps that mine them.
    """
    lines = draft.lines
    start, end = _body_bounds(lines)
    cut = tuple(filter(str.strip, lines[:start] + lines[end:]))
    return replace(draft, lines=lines[start:end], boilerplate=draft.boilerplate + cut)


def _body_bounds(lines: Sequence[str]) -> tuple[int, int]:
    """(start, end) of the body among the lines: from the first line of text that is no furniture
    heading (len(lines) if none is) to the first heading after it (len(lines) if none is)."""
    start = next(
        (i for i, line in enumerate(lines) if line.strip() and not is_boilerplate_marker(line)), len(lines)
    )
    after = itertools.islice(lines, start + 1, None)
    if len(lines) - start < _MANY_LINES:
        # An empty line (every other of a body's) is none: left out in C.
        candidates = itertools.compress(itertools.count(start + 1), after)
    else:
        # Only the lines that start as a heading can be one (found in C): checking every line in
        # Python took 9 ms a MB of text.
        candidates = itertools.compress(itertools.count(start + 1), map(_marker_start().match, after))
    end = next((i for i in candidates if is_boilerplate_marker(lines[i])), len(lines))
    return start, end


def take_source_from_about(draft: Draft) -> Draft:
    """The site's name from an ``About <Site>`` box among the cut furniture."""
    if draft.source:
        return draft
    for line in draft.boilerplate:
        site = site_name_from_about_line(line)
        if site:
            return replace(draft, source=site)
    return draft


# text: the dateline as written, e.g. "KABUL, December 10. /TASS/."; place: e.g. "Kabul"; agency:
# e.g. "TASS", "" when the dateline names none.  collections' namedtuple rather than typing's: a
# query reads its hits' files with this module, and loads no typing otherwise (2 ms).
Dateline = namedtuple("Dateline", ["text", "place", "agency"])


_WORD = r"[^\W\d_][\w'’.-]*"
# Month names (or their usual abbreviations) in the wire languages: English, Russian, Ukrainian,
# French, German, Spanish, Portuguese, Italian, Turkish, Arabic (Egyptian and Levantine names) and
# Persian (Gregorian and Solar Hijri names).  A prefix stands for every form of the month
# (``февраля``, ``Febr.``); the date itself comes from the file, so only the words are needed.
_MONTH_PREFIXES = (
    "jan feb mar apr may jun jul aug sep oct nov dec "  # English
    "янв фев мар апр ма[йя] июн июл авг сен окт ноя дек "  # Russian
    "січ лют бер квіт трав черв лип серп вер жовт лист груд "  # Ukrainian
    "janv f[ée]vr mars avr mai juin juil ao[uû]t sept d[ée]c "  # French
    "j[äa]n m[äa]r[zc] maerz okt dez "  # German, beyond the English prefixes
    "ene abr ago set dic "  # Spanish
    "fev mai out dez "  # Portuguese
    "gen febb magg giu lug ott "  # Italian
    "ocak [şs]ubat mart nisan may[ıi]s haziran temmuz a[ğg]ustos eyl[üu]l ekim kas[ıi]m aral[ıi]k "  # Turkish
    "يناير فبراير مارس [أا]بريل مايو يونيو يوليو [أا]غسطس سبتمبر [أا]كتوبر نوفمبر ديسمبر "  # Arabic
    "كانون شباط [آا]ذار نيسان [أا]يار حزيران تموز آب [أا]يلول تشرين "  # Arabic (Levant)
    "ژانویه فوریه آوریل مه ژوئن ژوئیه اوت سپتامبر اکتبر نوامبر دسامبر "  # Persian
    "فروردین اردیبهشت خرداد تیر مرداد شهریور مهر آبان آذر دی بهمن اسفند"  # Persian (Solar Hijri)
).split()
_MONTH = rf"(?i:(?:{'|'.join(_MONTH_PREFIXES)})\w*(?:\s+(?:الثاني|الأول|الاول))?)\.?"
# German writes the day as an ordinal ("9. Februar"); Spanish and Portuguese put "de" between day
# and month ("10 de febrero") and before the year.
_DAY = r"\d{1,2}(?:st|nd|rd|th|\.)?"
_DAY_MONTH = rf"(?:{_MONTH}\s+{_DAY}|{_DAY}\s+(?:de\s+)?{_MONTH})(?:,?\s+(?:de\s+)?\d{{4}})?"
_DATELINE = re.compile(
    rf"""
    \s*
    (?P<text>
      (?P<place>{_WORD}(?:(?:\s+|/){_WORD}){{0,4}})
      (?:\s*[,،]\s*(?:
          (?P<when>{_DAY_MONTH})\.?
        | (?P<region>{_WORD}(?:\s+{_WORD}){{0,2}})
      ))?
      (?:\s*(?:
          /\s*(?P<slash_agency>[^\W\d_][^/]{{1,39}}?)\s*/
        | \((?P<paren_agency>[^\W\d_][^()]{{1,39}})\)
      ))?
      # A /SLASHED/ agency closes the dateline by itself ("PARIS, 8 février. /AFP/ Le ...").
      (?:\s*(?P<separator>--|[-—–:.]))?
    )
    (?=\s|$)
    """,
    re.X,
)
_DASHES = frozenset({"-", "--", "—", "–"})
# Words that open a story the way a city does but are no place: shouted labels
# ("BREAKING: ...", "UPDATE - ...") and days ("On Friday, Dec 10 — ...").
_NOT_PLACE_WORDS = frozenset(
    "breaking update updated exclusive watch video photo photos live analysis opinion "
    "editorial comment news file report note urgent flash correction advertisement "
    "monday tuesday wednesday thursday friday saturday sunday today yesterday".split()
)
# Words kept lower case inside a title-cased place name ("Rio de Janeiro", "Dar es Salaam").
_PLACE_PARTICLES = frozenset(
    "de da do dos das del della di du des la le les el es of on upon am an der den y".split()
)


def match_dateline(line: str) -> Dateline | None:
    """The dateline opening a paragraph, in the common wire and web styles.

    Accepted: ``KABUL, December 10. /TASS/.``, ``MOSCOW, Dec 10 (Reuters) -``,
    ``WASHINGTON (AP) —``, ``KABUL, Afghanistan (AP) —``, ``LONDON:``, ``LONDON —``
    and, for places not written in capitals, ``Kabul, Dec 10 —`` or ``Kabul (Reuters) -``;
    month names in the wire languages too (``МОСКВА, 10 февраля. /ТАСС/.``,
    ``BERLIN, 9. Februar. /DPA/.``, ``MADRID, 10 de febrero (EFE) -``, ``موسكو، 10 فبراير /تاس/.``).
    A place in capitals is title-cased (``Москва``); a place in a script without capitals is
    kept as written.
    """
    found = _DATELINE.match(line)
    if found is None:
        return None
    place = found["place"]
    agency = normalise_agency(found["slash_agency"] or found["paren_agency"] or "")
    separator = found["separator"]
    if separator is None and not found["slash_agency"]:
        return None
    # Its words between spaces and slashes (str.split's spaces are re's \s).
    if any(word.casefold() in _NOT_PLACE_WORDS for word in place.replace("/", " ").split()):
        return None
    in_capitals = place.isupper()
    if in_capitals:
        plausible = bool(agency or found["when"] or separator != ".")
    else:
        # Arabic and Persian have no capitals: there only an agency or a date says "dateline".
        caseless = not any(char.isupper() or char.islower() for char in place)
        is_name = caseless or all(word[0].isupper() or word in _PLACE_PARTICLES for word in place.split())
        plausible = is_name and bool(agency or (found["when"] and separator in _DASHES | {":"}))
    # Only AP-style datelines name a region, and they always name the agency too.
    if not plausible or (found["region"] and not agency):
        return None
    return Dateline(
        text=found["text"],
        place=title_case_place(place) if in_capitals else place,
        agency=agency,
    )


def normalise_agency(agency: str) -> str:
    """An agency as the source it names: as the agency writes itself, less the punctuation around it.

    ``TASS.`` and ``TASS`` are one source; ``ТАСС`` stays apart, as the Russian service writes
    itself: names are not transliterated, so ``source:тасс`` finds the Russian wire alone.
    """
    return agency.strip(" .,:;-–—")


def title_case_place(place: str) -> str:
    """``"RIO DE JANEIRO"`` -> ``"Rio de Janeiro"``, ``"ISLAMABAD/KABUL"`` -> ``"Islamabad/Kabul"``."""
    words = []
    for position, word in enumerate(place.lower().split()):
        if position and word in _PLACE_PARTICLES:
            words.append(word)
        elif "/" in word or "-" in word:
            parts = re.split(r"([/-])", word)
            words.append("".join(part[:1].upper() + part[1:] for part in parts))
        else:  # most places: one part, without re's split (2 µs a dateline)
            words.append(word[:1].upper() + word[1:])
    return " ".join(words)


def take_dateline(draft: Draft) -> Draft:
    """Place (and agency, as the source if none is known yet) from the first paragraph's dateline."""
    first = _first_content_index(draft.lines)
    if first is None:
        return draft
    dateline = match_dateline(draft.lines[first])
    if dateline is None:
        return draft
    return replace(
        draft,
        dateline=dateline.text,
        place=draft.place or dateline.place,
        source=draft.source or dateline.agency,
    )


# Only after a sentence's end (kept: the group), so "3 -KP" in running text stays.  Opening with
# the sentence's end, not a look-behind at it: re skips to each end by the class alone.
_INITIALS_SIGNOFF = re.compile(r"([.!?…\"'”’)])\s+[-–—]\s?[A-Z]{1,4}$")


def drop_initials_signoff(draft: Draft) -> Draft:
    """The reporter's initials closing the body (``... Afghanistan.” -KP``)."""
    last = _last_content_index(draft.lines)
    if last is None:
        return draft
    line = draft.lines[last]
    # Found, then cut by hand: re's sub with a template runs Python code in re for every line.
    # The signoff ends the line, so there is one at most.
    signoff = _INITIALS_SIGNOFF.search(line)
    if signoff is None:
        return draft
    signed_off = line[: signoff.end(1)] + line[signoff.end() :]
    return replace(draft, lines=draft.lines[:last] + (signed_off,) + draft.lines[last + 1 :])


TITLE_MAX_CHARS = 100
# A lead longer than this is cut to TITLE_MAX_CHARS anyway; looking further is wasted work.
_LEAD_SEARCH_CHARS = 2_000
# Its first character a class of its own: re then skips to each candidate by the class, where a
# pattern opening with a repeat is tried at every character (0.6x the time of `[.!?…؟]+`).
_SENTENCE_END = re.compile(r"[.!?…؟][.!?…؟]*[\"'”’)\]]*(?=\s|$)")
# The characters before a dot that tell whether it ends an abbreviation.
_ABBREVIATION_CHARS = 20
_SENTENCE_OPENERS = "\"'“‘(["
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof gen lt col sgt capt maj gov sen rep st jr sr inc ltd co corp vs etc no "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def derive_title(draft: Draft) -> Draft:
    """A title from the lead sentence, for articles that have none of their own."""
    if draft.title:
        return draft
    paragraph = _first_paragraph(draft.lines)
    lead = lead_sentence(paragraph.removeprefix(draft.dateline).strip())
    if lead.endswith(".") and not lead.endswith(".."):
        lead = lead[:-1]
    return replace(draft, title=shorten(lead, TITLE_MAX_CHARS), title_derived=True)


def lead_sentence(text: str) -> str:
    """The first sentence of ``text``; abbreviations and initials ("U.S.", "Gen.") do not end one."""
    text = text[:_LEAD_SEARCH_CHARS]
    for end in _SENTENCE_END.finditer(text):
        rest = text[end.end() :].lstrip()
        # Only a lower-case letter says a sentence goes on; scripts without capitals start anew.
        if rest and (rest[0].islower() or not (rest[0].isalpha() or rest[0].isdigit() or rest[0] in _SENTENCE_OPENERS)):
            continue
        if end.group() == "." and _is_abbreviation(text[max(end.start() - _ABBREVIATION_CHARS, 0) : end.start()]):
            continue
        return text[: end.end()]
    return text


def _is_abbreviation(text_before_dot: str) -> bool:
    words = text_before_dot[-_ABBREVIATION_CHARS:].split()
    if not words:
        return False
    word = words[-1]
    return (len(word) == 1 and word.isalpha()) or "." in word or word.casefold() in _ABBREVIATIONS


def shorten(text: str, limit: int) -> str:
    """``text`` with collapsed spaces, cut at a word boundary to at most ``limit`` characters with "…"."""
    text = collapse_spaces(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-–—") + "…"


STEPS: tuple[Step, ...] = (
    normalise_text,
    take_date_header,
    take_breadcrumb,
    take_title_line,
    cut_boilerplate,
    take_source_from_about,
    take_dateline,
    drop_initials_signoff,
    derive_title,
)


def parse_article(text: str, steps: Sequence[Step] = STEPS) -> Article:
    draft = Draft.from_text(text)
    for step in steps:
        draft = step(draft)
    return draft.to_article()


# The steps that shape the body.  The others only record what they find (a source, a dateline, a
# title) and no later step reads it, so the body is the same without them: a hit's snippet, read
# from its file again, does not pay for them (take_dateline and derive_title were 0.3 of the parse).
BODY_STEPS: tuple[Step, ...] = tuple(step for step in STEPS if step not in (take_source_from_about, take_dateline, derive_title))


def parse_body(text: str) -> str:
    """parse_article(text).body, from BODY_STEPS alone."""
    return parse_article(text, BODY_STEPS).body


# --------------------------------------------------------------------------- files


MAX_TEXT_BYTES = 8 * 1024 * 1024


def read_text(source: Source, max_bytes: int = MAX_TEXT_BYTES) -> Iterator[Article]:
    """The reader of plain-text files: one article, from the first ``max_bytes`` of the file."""
    text, warnings = read_text_content(source, max_bytes)
    article = parse_article(text)
    yield replace(article, warnings=article.warnings + warnings) if warnings else article


def read_text_body(source: Source, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The body of the article read_text reads from a plain-text file."""
    return parse_body(read_text_content(source, max_bytes)[0])


def read_article(path: os.PathLike | str, max_bytes: int = MAX_TEXT_BYTES) -> Article:
    """A plain-text file's article, whatever its content looks like (no sniffing)."""
    return next(read_text(Source(path), max_bytes))


def read_text_content(source: Source, max_bytes: int = MAX_TEXT_BYTES) -> tuple[str, tuple[str, ...]]:
    """A text file's decoded content (its first ``max_bytes``), and a warning if it was cut."""
    data, cut = _read_bytes(source, max_bytes)
    return decode(data), (f"file truncated to first {_format_size(max_bytes)} for indexing",) if cut else ()


def _read_bytes(source: Source, max_bytes: int) -> tuple[bytes, bool]:
    """A text file's first ``max_bytes`` (no UTF-8 character cut in two), and whether it had more."""
    data = source.read(max_bytes)
    if len(data) <= max_bytes:
        return data, False
    return _cut_at_character_boundary(data[:max_bytes]), True


def body_openings(
    source: Source, first_bytes: int, max_bytes: int = MAX_TEXT_BYTES, growth: int = 4,
) -> Iterator[tuple[str, bool]]:
    """The body of a plain-text file's article as ever longer openings: (text, whole), where the
    body starts with text, and whole says that text is all of it.  An opening that is not whole
    has more than whitespace after it in the body.  The first is parsed from about `first_bytes`
    bytes of the file, each next from `growth` times as many, the last is the whole body.

    Only an opening's lines are decoded and parsed: the encoding is the whole file's (UTF-8 only if
    all of it is: checked without making its text), the steps before cut_boilerplate look at the
    first lines alone, the body ends at the first furniture heading, and only the body's last line
    changes after it (drop_initials_signoff).  So an opening is exact up to its last line."""
    data, _ = _read_bytes(source, max_bytes)
    utf8 = _is_utf8(data)
    size = first_bytes
    while size < len(data):
        text = _checked_start(data, size) if utf8 else None
        if text is None:
            break  # only the whole text tells
        end = _line_end(text)
        opening = _body_opening(unify_newlines(text[:end])) if end else None
        if opening is not None:
            yield opening
            if opening[1]:
                return
        size *= growth
    yield parse_article(decode(data)).body, True


# UTF-8 is checked this many bytes at a time: a text made of them stays narrow where they are ASCII
# (decoding 8 MiB of text whole, for one wide character, took 8-9 ms; in pieces 2 ms).
_UTF8_CHECK_BYTES = 4096


def _is_utf8(data: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), _UTF8_CHECK_BYTES):
            decoder.decode(data[start : start + _UTF8_CHECK_BYTES])
        decoder.decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


def _checked_start(data: bytes, size: int) -> str | None:
    """The start of the text UTF-8 `data` decodes to, from its first `size` bytes (fewer than all),
    where that tells all _checked_text would of the whole (that it is text, not empty); None where
    it does not."""
    if b"\x00" in data[:_SNIFF_BYTES]:
        return None
    text = _utf8_without_bom(_cut_at_character_boundary(data[:size]))
    if len(text) < _SNIFF_BYTES or text.isspace() or _control_share(text[:_SNIFF_BYTES]) > _MAX_CONTROL_SHARE:
        return None
    return text


def _line_end(text: str) -> int:
    """Where the last whole line of text ends, 0 if none does.  A CR last may be half of a CRLF
    whose LF the next opening holds: either way it ends that line."""
    return max(text.rfind("\n"), text.rfind("\r")) + 1


def _body_opening(lines_text: str) -> tuple[str, bool] | None:
    """The body's opening that the first lines of a file give (lines_text: them, each ended by
    "\n"), as body_openings says; None if they do not reach into the body."""
    draft = Draft.from_text(lines_text[:-1])
    for step in STEPS[: STEPS.index(cut_boilerplate)]:
        draft = step(draft)
    start, end = _body_bounds(draft.lines)
    if start == len(draft.lines):
        return None  # the head steps could have read the lines after these otherwise
    if end < len(draft.lines):  # the furniture that ends the body is among these lines
        for step in STEPS[STEPS.index(cut_boilerplate) :]:
            draft = step(draft)
        return draft.to_article().body, True
    # Up to the last line, which may end the body and lose its initials.
    return join_paragraphs(draft.lines[start : _last_content_index(draft.lines)]), False


def _cut_at_character_boundary(data: bytes) -> bytes:
    """Drop a UTF-8 character split by the cut, so the rest still decodes as UTF-8."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if (byte & 0xC0) != 0x80:  # not a continuation byte: the start of the last character
            needed = 2 if byte >= 0xC0 else 1
            needed += (byte >= 0xE0) + (byte >= 0xF0)
            return data[:-back] if needed > back else data
    return data


def _format_size(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"
