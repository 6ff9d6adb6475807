"""Date expressions for --since, --until and date:A..B, against fixed todays."""

import datetime

import pytest
from hypothesis import given, strategies as st

from archsearch.dates import (
    DateSyntaxError,
    DateWindow,
    describe,
    intersect,
    parse_date,
    parse_date_range,
    parse_since,
    parse_until,
)
from archsearch.errors import ArchsearchError

D = datetime.date
EXPECTED = "expected YYYY, YYYY-MM, YYYY-MM-DD, today, yesterday, 7d, '3 weeks ago' or 'last month'"
TODAY = D(2026, 11, 22)  # a Sunday, the last day of its ISO week
MONTH_END = D(2024, 3, 31)  # a Sunday at the end of a 31-day month in a leap year


def window(start: str | None, end: str | None) -> DateWindow:
    return DateWindow(start and D.fromisoformat(start), end and D.fromisoformat(end))


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("2021", "2021-01-01", "2021-12-31"),
        ("2021-12", "2021-12-01", "2021-12-31"),
        ("2021-02", "2021-02-01", "2021-02-28"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("1900-02", "1900-02-01", "1900-02-28"),  # divisible by 100, not by 400: not leap
        ("2000-02", "2000-02-01", "2000-02-29"),
        ("2021-04", "2021-04-01", "2021-04-30"),
        ("2021-12-10", "2021-12-10", "2021-12-10"),
        ("2024-02-29", "2024-02-29", "2024-02-29"),
        ("0001", "0001-01-01", "0001-12-31"),
        ("9999-12", "9999-12-01", "9999-12-31"),
        ("2031-05-01", "2031-05-01", "2031-05-01"),  # a calendar date after today is a plain date
    ],
)
def test_calendar_dates_cover_their_whole_span(text, start, end):
    assert parse_date(text, TODAY) == window(start, end)


@pytest.mark.parametrize(
    "text, day",
    [
        ("today", "2026-11-22"),
        ("yesterday", "2026-11-21"),
        ("0d", "2026-11-22"),
        ("1 day ago", "2026-11-21"),
        ("7d", "2026-11-15"),
        ("7 days", "2026-11-15"),
        ("7 days ago", "2026-11-15"),
        ("7d ago", "2026-11-15"),
        ("2w", "2026-11-08"),
        ("1 week", "2026-11-15"),
        ("2 weeks ago", "2026-11-08"),
        ("3m", "2026-08-22"),
        ("1 month ago", "2026-10-22"),
        ("3 months ago", "2026-08-22"),
        ("11m", "2025-12-22"),
        ("1y", "2025-11-22"),
        ("1 year", "2025-11-22"),
        ("2 years ago", "2024-11-22"),
        ("007d", "2026-11-15"),
    ],
)
def test_single_days_back_from_today(text, day):
    assert parse_date(text, TODAY) == window(day, day)


@pytest.mark.parametrize(
    "text, day",
    [
        ("1m", "2024-02-29"),
        ("1 month ago", "2024-02-29"),
        ("2m", "2024-01-31"),
        ("13m", "2023-02-28"),
        ("1m ago", "2024-02-29"),
        ("1w", "2024-03-24"),
        ("31d", "2024-02-29"),
    ],
)
def test_months_back_clamp_to_the_last_day_of_a_shorter_month(text, day):
    assert parse_date(text, MONTH_END) == window(day, day)


def test_a_year_back_from_february_29_lands_on_february_28():
    assert parse_date("1y", D(2024, 2, 29)) == window("2023-02-28", "2023-02-28")
    assert parse_date("4y", D(2024, 2, 29)) == window("2020-02-29", "2020-02-29")


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("last week", "2026-11-09", "2026-11-15"),
        ("this week", "2026-11-16", "2026-11-22"),
        ("last month", "2026-10-01", "2026-10-31"),
        ("this month", "2026-11-01", "2026-11-22"),
        ("last year", "2025-01-01", "2025-12-31"),
        ("this year", "2026-01-01", "2026-11-22"),
    ],
)
def test_named_periods(text, start, end):
    assert parse_date(text, TODAY) == window(start, end)


def test_named_periods_on_a_monday_in_january():
    monday = D(2027, 1, 4)
    assert parse_date("this week", monday) == window("2027-01-04", "2027-01-04")
    assert parse_date("last week", monday) == window("2026-12-28", "2027-01-03")
    assert parse_date("last month", monday) == window("2026-12-01", "2026-12-31")
    assert parse_date("last year", monday) == window("2026-01-01", "2026-12-31")


def test_last_month_from_march_is_a_leap_february():
    assert parse_date("last month", MONTH_END) == window("2024-02-01", "2024-02-29")


@pytest.mark.parametrize(
    "text", ["  Today ", "TODAY", "Last Month", "7D", "7 DAYS AGO", "\t3m\n", "2 weeks  ago", "last\tweek", "7   d"]
)
def test_case_and_spacing_do_not_matter(text):
    assert parse_date(text, TODAY) == parse_date(" ".join(text.lower().split()), TODAY)


def test_since_and_until_take_the_first_and_last_day():
    assert parse_since("2021-12", TODAY) == D(2021, 12, 1)
    assert parse_until("2021-12", TODAY) == D(2021, 12, 31)
    assert parse_since("last week", TODAY) == D(2026, 11, 9)
    assert parse_until("last week", TODAY) == D(2026, 11, 15)
    assert parse_since("7d", TODAY) == parse_until("7d", TODAY) == D(2026, 11, 15)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("2021-13", "month 13 is not 1-12"),
        ("2021-00-10", "month 0 is not 1-12"),
        ("2021-02-30", "day 30 is not 1-28 in 2021-02"),
        ("2021-02-29", "day 29 is not 1-28 in 2021-02"),
        ("2024-04-31", "day 31 is not 1-30 in 2024-04"),
        ("2024-04-00", "day 0 is not 1-30 in 2024-04"),
        ("0000", "year 0 is not 1-9999"),
        ("tomorrowish", EXPECTED),
        ("3 fortnights", EXPECTED),
        ("5min", EXPECTED),
        ("3 wk", EXPECTED),
        ("3weeksago", EXPECTED),
        ("ago", EXPECTED),
        ("-3d", EXPECTED),
        ("21-12-10", EXPECTED),
        ("2021-1-5", EXPECTED),
        ("2021/12/10", EXPECTED),
        ("20211", EXPECTED),
        ("2021-12-10T08:00", EXPECTED),
        ("\u0662\u0660\u0662\u0661", EXPECTED),  # Arabic-Indic digits
        ("last decade", EXPECTED),
        ("tomorrow", "dates after today are not supported"),
        ("Next Week", "dates after today are not supported"),
    ],
)
def test_bad_dates_are_named_in_the_message(text, reason):
    with pytest.raises(DateSyntaxError) as caught:
        parse_date(f" {text} ", TODAY)
    assert str(caught.value) == f"invalid date '{text}': {reason}"


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_missing_date_says_what_is_expected(text):
    with pytest.raises(DateSyntaxError) as caught:
        parse_date(text, TODAY)
    assert str(caught.value) == f"missing date: {EXPECTED}"


@pytest.mark.parametrize(
    "text, today",
    [
        ("yesterday", D.min),
        ("1d", D.min),
        ("1m", D(1, 1, 31)),
        ("1y", D(1, 12, 31)),
        ("last week", D(1, 1, 7)),
        ("last month", D(1, 1, 15)),
        ("last year", D(1, 6, 1)),
        ("9999999d", TODAY),
        ("1000000000w", TODAY),
        ("99999999999y", TODAY),
        ("9" * 5000 + "d", TODAY),
    ],
)
def test_reaching_before_year_1_is_a_date_error(text, today):
    with pytest.raises(DateSyntaxError, match=r"falls before 0001-01-01") as caught:
        parse_date(text, today)
    assert caught.value.__suppress_context__  # the user sees one line, not the OverflowError behind it


def test_the_earliest_day_is_reachable():
    assert parse_date("yesterday", D(1, 1, 2)) == window("0001-01-01", "0001-01-01")
    assert parse_date(f"{TODAY.toordinal() - 1}d", TODAY) == window("0001-01-01", "0001-01-01")
    assert parse_date("this week", D.min) == window("0001-01-01", "0001-01-01")


def test_date_errors_are_archsearch_errors_shown_on_one_line():
    with pytest.raises(ArchsearchError) as caught:
        parse_date("20\n21", TODAY)
    assert str(caught.value) == "invalid date '20\\n21': " + EXPECTED


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("2021-12..", "2021-12-01", None),
        ("..2021", None, "2021-12-31"),
        ("2021..2022-06", "2021-01-01", "2022-06-30"),
        ("2021-12-10..2021-12-10", "2021-12-10", "2021-12-10"),
        ("2021..2021", "2021-01-01", "2021-12-31"),
        ("2021-12", "2021-12-01", "2021-12-31"),
        ("7d..", "2026-11-15", None),
        ("..7d", None, "2026-11-15"),
        ("3m..1m", "2026-08-22", "2026-10-22"),
        ("last month..today", "2026-10-01", "2026-11-22"),
        ("last week..last week", "2026-11-09", "2026-11-15"),
        ("yesterday", "2026-11-21", "2026-11-21"),
        (" 2021 .. 2022 ", "2021-01-01", "2022-12-31"),
    ],
)
def test_date_ranges(text, start, end):
    assert parse_date_range(text, TODAY) == window(start, end)


@pytest.mark.parametrize(
    "text, message",
    [
        ("..", "invalid date range '..': give a start, an end or both around '..'"),
        (" .. ", "invalid date range '..': give a start, an end or both around '..'"),
        ("2020..2021..2022", "invalid date range '2020..2021..2022': use one '..' between start and end"),
        ("....", "invalid date range '....': use one '..' between start and end"),
        ("2022..2021", "invalid date range '2022..2021': it starts on 2022-01-01, after it ends on 2021-12-31"),
        ("today..last month", "invalid date range 'today..last month': it starts on 2026-11-22, after it ends on 2026-10-31"),
        ("2021-13..", "invalid date '2021-13': month 13 is not 1-12"),
        ("2021..soon", "invalid date 'soon': " + EXPECTED),
        ("2021...2022", "invalid date '.2022': " + EXPECTED),
        ("", "missing date: " + EXPECTED),
    ],
)
def test_bad_date_ranges_name_the_problem(text, message):
    with pytest.raises(DateSyntaxError) as caught:
        parse_date_range(text, TODAY)
    assert str(caught.value) == message


def test_a_range_within_one_day_is_valid_but_a_reversed_one_is_not():
    assert parse_date_range("2021-12-10..2021-12", TODAY) == window("2021-12-10", "2021-12-31")
    with pytest.raises(DateSyntaxError, match="after it ends"):
        parse_date_range("2021-12-11..2021-12-10", TODAY)


@pytest.mark.parametrize(
    "a, b, both",
    [
        (window("2021-01-01", "2021-12-31"), window("2021-06-01", "2022-06-30"), window("2021-06-01", "2021-12-31")),
        (window("2021-01-01", None), window(None, "2021-03-31"), window("2021-01-01", "2021-03-31")),
        (window(None, None), window("2021-01-01", None), window("2021-01-01", None)),
        (window(None, "2021-12-31"), window(None, "2021-06-30"), window(None, "2021-06-30")),
        (window(None, None), window(None, None), window(None, None)),
        (window("2021-12-10", "2021-12-10"), window("2021-12-10", "2021-12-10"), window("2021-12-10", "2021-12-10")),
    ],
)
def test_intersect_keeps_the_days_in_both_windows(a, b, both):
    assert intersect(a, b) == both
    assert intersect(b, a) == both


def test_windows_that_do_not_overlap_intersect_to_an_empty_window():
    empty = intersect(window("2022-01-01", None), window("2021-01-01", "2021-12-31"))
    assert empty == window("2022-01-01", "2021-12-31")
    assert empty.start > empty.end


@pytest.mark.parametrize(
    "w, text",
    [
        (window("2021-12-01", "2021-12-31"), "2021-12-01..2021-12-31"),
        (window("2021-12-01", None), "2021-12-01.."),
        (window(None, "2021-12-31"), "..2021-12-31"),
        (window(None, None), ".."),
        (window("0099-01-01", "0099-01-01"), "0099-01-01..0099-01-01"),
    ],
)
def test_describe(w, text):
    assert describe(w) == text


# Text shaped like date expressions, so that generated examples reach past the first check.
near_dates = st.one_of(
    st.text(),
    st.from_regex(r"\A\s?[0-9]{1,5}(-[0-9]{1,3}){0,2}\s?\Z"),
    st.from_regex(r"\A[0-9]{1,12} ?(d|days?|w|weeks?|m|months?|y|years?|min|fortnights)( ago)?\Z"),
    st.from_regex(r"\A(last|this|next) (week|month|year|decade)\Z"),
    st.sampled_from(["today", "yesterday", "tomorrow"]),
)
near_ranges = st.builds(lambda a, sep, b: f"{a}{sep}{b}", near_dates, st.sampled_from(["..", " .. ", "...", ""]), near_dates)


def window_or_date_error(parse, text, today) -> DateWindow | None:
    """The window parsed, or None after checking the error is a one-line DateSyntaxError."""
    try:
        parsed = parse(text, today)
    except DateSyntaxError as error:
        assert len(str(error).splitlines()) == 1
        return None
    assert isinstance(parsed, DateWindow)
    return parsed


@given(near_dates, st.dates())
def test_any_text_gives_a_closed_window_or_a_date_error(text, today):
    parsed = window_or_date_error(parse_date, text, today)
    if parsed is not None:
        assert parsed.start <= parsed.end


@given(near_ranges, st.dates())
def test_any_range_text_gives_a_window_or_a_date_error(text, today):
    parsed = window_or_date_error(parse_date_range, text, today)
    if parsed is not None and parsed.start is not None and parsed.end is not None:
        assert parsed.start <= parsed.end


@given(st.dates(), st.dates())
def test_every_iso_date_denotes_itself(day, today):
    assert parse_date(day.isoformat(), today) == DateWindow(day, day)


@given(st.dates(), st.dates(), st.dates())
def test_every_ordered_pair_of_days_is_a_range_that_describe_round_trips(a, b, today):
    start, end = min(a, b), max(a, b)
    parsed = parse_date_range(f"{start}..{end}", today)
    assert parsed == DateWindow(start, end)
    assert parse_date_range(describe(parsed), today) == parsed
    assert parse_date_range(f"{start}..", today) == DateWindow(start, None)
    assert parse_date_range(f"..{end}", today) == DateWindow(None, end)


def test_days_in_month_are_the_calendars_in_every_month_of_every_year():
    import calendar

    from archsearch.dates import days_in_month

    assert all(
        days_in_month(year, month) == calendar.monthrange(year, month)[1]
        for year in range(1, 10_000) for month in range(1, 13)
    )
