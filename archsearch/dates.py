"""Dates as users type them, for `--since`, `--until` and `date:A..B` inside a query.

Every expression stands for a span of whole days. `--since` takes the span's first day and
`--until` its last, so `--since 2021 --until 2021` covers all of 2021. Case and surrounding
spaces do not matter. With today being Sunday 2026-11-22:

| Expression                             | Days                                                   |
|----------------------------------------|--------------------------------------------------------|
| `2021`                                 | 2021-01-01..2021-12-31                                 |
| `2021-02`                              | 2021-02-01..2021-02-28 (the 29th in leap years)        |
| `2021-12-10`                           | that day (month and day take two digits)               |
| `today`, `yesterday`                   | 2026-11-22, 2026-11-21                                 |
| `7d`, `7 days`, `7 days ago`           | the one day 7 days back: 2026-11-15                    |
| `2w`, `2 weeks ago`                    | 2026-11-08                                             |
| `3m`, `3 months ago`                   | 2026-08-22                                             |
| `1y`, `1 year ago`                     | 2025-11-22                                             |
| `last week`                            | the previous Monday to Sunday: 2026-11-09..2026-11-15  |
| `last month`                           | 2026-10-01..2026-10-31                                 |
| `last year`                            | 2025-01-01..2025-12-31                                 |
| `this week`, `this month`, `this year` | its first day to today, e.g. 2026-11-16..2026-11-22    |

A relative amount is a whole number, an optional space, one of these unit words, and
optionally `ago`:

| Unit   | Words                        |
|--------|------------------------------|
| days   | `d`, `day`, `days`           |
| weeks  | `w`, `week`, `weeks`         |
| months | `m`, `month`, `months`       |
| years  | `y`, `year`, `years`         |

`m` always means months, never minutes. Months and years step through the calendar and keep
the day of the month when it exists, else take the month's last day: 2024-03-31 minus `1m`
is 2024-02-29. Words for days after today (`tomorrow`, `next week`) are refused; a calendar
date after today is taken as written.

In a query, `date:A..B` takes the days from the start of A to the end of B; either side may
be left out (`date:2021-12..`, `date:..2021`, `date:7d..`), and `date:X` alone means all of X.
"""

import datetime
import re

from archsearch.errors import ArchsearchError
from archsearch.records import Record

EXPECTED_FORMS = "expected YYYY, YYYY-MM, YYYY-MM-DD, today, yesterday, 7d, '3 weeks ago' or 'last month'"

# [0-9] rather than \d, which also matches Arabic-Indic and other digits that int() converts.
_CALENDAR_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_AMOUNT_AGO = re.compile(r"([0-9]+)\s*(d|days?|w|weeks?|m|months?|y|years?)(?:\s+ago)?")
_PERIOD = re.compile(r"(last|this)\s+(week|month|year)")
_FUTURE = re.compile(r"tomorrow|next\s+(?:week|month|year)")

# Ten million days is past the whole calendar (0001-01-01..9999-12-31) from any today; the
# cap also keeps int() away from digit strings it refuses to convert (over 4300 digits).
_MAX_AMOUNT_DIGITS = 7


class DateSyntaxError(ArchsearchError):
    """A date expression archsearch cannot read; the one-line message quotes the offending text."""


class DateWindow(Record, frozen=True):
    """The days from start to end, both inclusive; None leaves that side open.

    A window whose start is after its end holds no day: `intersect` returns one for
    windows that do not overlap.
    """

    start: datetime.date | None
    end: datetime.date | None


def parse_date(text: str, today: datetime.date) -> DateWindow:
    """The whole span of days one expression denotes, from its earliest to its latest day."""
    expression = text.strip()
    if not expression:
        raise DateSyntaxError(f"missing date: {EXPECTED_FORMS}")
    try:
        return _span(expression, today)
    except OverflowError:
        # Raised by date arithmetic that steps past 0001-01-01, wherever it happens.
        raise DateSyntaxError(
            f"invalid date {expression!r}: it falls before 0001-01-01, the earliest date supported"
        ) from None


def parse_since(text: str, today: datetime.date) -> datetime.date:
    """The first day of the expression: `--since 2021-12` starts on 2021-12-01."""
    return parse_date(text, today).start


def parse_until(text: str, today: datetime.date) -> datetime.date:
    """The last day of the expression: `--until 2021-12` ends on 2021-12-31."""
    return parse_date(text, today).end


def parse_date_range(text: str, today: datetime.date) -> DateWindow:
    """The window of a `date:` query term: `A..B`, `A..`, `..B`, or `X` for all of X."""
    expression = text.strip()
    bounds = expression.split("..")
    if len(bounds) == 1:
        return parse_date(expression, today)
    if len(bounds) > 2:
        raise DateSyntaxError(f"invalid date range {expression!r}: use one '..' between start and end")
    first, last = bounds
    if not first and not last:
        raise DateSyntaxError(f"invalid date range {expression!r}: give a start, an end or both around '..'")
    start = parse_date(first, today).start if first else None
    end = parse_date(last, today).end if last else None
    if start is not None and end is not None and start > end:
        raise DateSyntaxError(f"invalid date range {expression!r}: it starts on {start}, after it ends on {end}")
    return DateWindow(start, end)


def intersect(a: DateWindow, b: DateWindow) -> DateWindow:
    """The days in both windows.

    Windows that do not overlap give an empty window, whose start is after its end, rather
    than an error: `--since 2022` with `date:2021` is a query that matches nothing.
    """
    return DateWindow(_tightest(max, a.start, b.start), _tightest(min, a.end, b.end))


def describe(window: DateWindow) -> str:
    """The window as --explain shows it: `2021-12-01..2021-12-31`, `2021-12-01..`, `..2021-12-31`, or `..` for all days."""
    start = window.start.isoformat() if window.start else ""
    end = window.end.isoformat() if window.end else ""
    return f"{start}..{end}"


def _span(expression: str, today: datetime.date) -> DateWindow:
    spelled = expression.lower()
    if calendar_date := _CALENDAR_DATE.fullmatch(spelled):
        return _calendar_span(expression, *calendar_date.groups())
    if spelled == "today":
        return DateWindow(today, today)
    if spelled == "yesterday":
        return _one_day(today - datetime.timedelta(days=1))
    if amount_ago := _AMOUNT_AGO.fullmatch(spelled):
        digits, unit = amount_ago.groups()
        if len(digits.lstrip("0")) > _MAX_AMOUNT_DIGITS:
            raise OverflowError(digits)
        return _one_day(_step_back(today, int(digits), unit[0]))
    if period := _PERIOD.fullmatch(spelled):
        return _period(today, *period.groups())
    if _FUTURE.fullmatch(spelled):
        raise DateSyntaxError(f"invalid date {expression!r}: dates after today are not supported")
    raise DateSyntaxError(f"invalid date {expression!r}: {EXPECTED_FORMS}")


def _calendar_span(expression: str, year_digits: str, month_digits: str | None, day_digits: str | None) -> DateWindow:
    year = int(year_digits)
    if year < 1:
        raise DateSyntaxError(f"invalid date {expression!r}: year {year} is not 1-9999")
    if month_digits is None:
        return DateWindow(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    month = int(month_digits)
    if not 1 <= month <= 12:
        raise DateSyntaxError(f"invalid date {expression!r}: month {month} is not 1-12")
    last_day = days_in_month(year, month)
    if day_digits is None:
        return DateWindow(datetime.date(year, month, 1), datetime.date(year, month, last_day))
    day = int(day_digits)
    if not 1 <= day <= last_day:
        raise DateSyntaxError(f"invalid date {expression!r}: day {day} is not 1-{last_day} in {year:04}-{month:02}")
    return _one_day(datetime.date(year, month, day))


def days_in_month(year: int, month: int) -> int:
    """As calendar.monthrange(year, month)[1], without importing calendar, which imports locale
    (4-6 ms of a query with a date window run without the server)."""
    if month == 12:
        return 31
    return (datetime.date(year, month + 1, 1) - datetime.date(year, month, 1)).days


def _step_back(today: datetime.date, amount: int, unit: str) -> datetime.date:
    if unit == "d":
        return today - datetime.timedelta(days=amount)
    if unit == "w":
        return today - datetime.timedelta(weeks=amount)
    return _months_before(today, amount if unit == "m" else 12 * amount)


def _months_before(day: datetime.date, months: int) -> datetime.date:
    year, month_index = divmod(day.year * 12 + day.month - 1 - months, 12)
    if year < 1:
        raise OverflowError(months)
    month = month_index + 1
    return datetime.date(year, month, min(day.day, days_in_month(year, month)))


def _period(today: datetime.date, which: str, unit: str) -> DateWindow:
    first = _period_start(today, unit)
    if which == "this":
        return DateWindow(first, today)
    previous_end = first - datetime.timedelta(days=1)
    return DateWindow(_period_start(previous_end, unit), previous_end)


def _period_start(day: datetime.date, unit: str) -> datetime.date:
    if unit == "week":
        return day - datetime.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _one_day(day: datetime.date) -> DateWindow:
    return DateWindow(day, day)


def _tightest(pick, first: datetime.date | None, second: datetime.date | None) -> datetime.date | None:
    return pick((bound for bound in (first, second) if bound is not None), default=None)
