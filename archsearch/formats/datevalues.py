"""Publication dates as exports, mail and front matter write them, to a calendar date.

The date is the one written, in the writer's own time zone: ``2021-12-10T23:30:00-05:00``
is December 10, not converted to UTC.  Unix seconds have no zone and are read as UTC.
"""

import datetime
import email.utils
import re

_ISO = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)?)?",
    re.I,
)
_SLASHED = re.compile(r"(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:[T ].*)?")
_UNIX_SECONDS = re.compile(r"\d{9,10}(?:\.\d+)?")
_MONTHS = {
    name: number
    for number, names in enumerate(
        ("jan january", "feb february", "mar march", "apr april", "may", "jun june",
         "jul july", "aug august", "sep sept september", "oct october", "nov november",
         "dec december"),
        start=1,
    )
    for name in names.split()
}
_MONTH_FIRST = re.compile(r"(?P<month>[a-z]+)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})", re.I)
_DAY_FIRST = re.compile(r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[a-z]+)\.?,?\s+(?P<year>\d{4})", re.I)


def parse_date(value: object) -> datetime.date | None:
    """A date from the usual forms, or None.

    Accepted: ISO 8601 with or without time and zone (``2021-12-10``,
    ``2021-12-10T08:30:00Z``, ``2021-12-10 08:30+05:30``), RFC 2822 (``Fri, 10 Dec 2021
    08:30:00 +0000``), ``2021/12/10``, ``December 10, 2021``, ``10 December 2021`` and Unix
    seconds (``1639125000``, as a number or a string).
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _from_unix_seconds(value)
    text = str(value).strip()
    if not text:
        return None
    if _UNIX_SECONDS.fullmatch(text):
        return _from_unix_seconds(float(text))
    for pattern in (_ISO, _SLASHED):
        found = pattern.fullmatch(text)
        if found:
            return _calendar_date(int(found["year"]), int(found["month"]), int(found["day"]))
    for pattern in (_MONTH_FIRST, _DAY_FIRST):
        found = pattern.fullmatch(text.removesuffix("."))
        if found and found["month"].lower() in _MONTHS:
            return _calendar_date(int(found["year"]), _MONTHS[found["month"].lower()], int(found["day"]))
    return _from_rfc2822(text)


def _calendar_date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _from_unix_seconds(seconds: float) -> datetime.date | None:
    try:
        return datetime.datetime.fromtimestamp(seconds, datetime.UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def _from_rfc2822(text: str) -> datetime.date | None:
    try:
        return email.utils.parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None
