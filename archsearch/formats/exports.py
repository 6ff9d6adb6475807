"""Exports of many articles: JSON Lines, a JSON array of objects, CSV and TSV, one article per record.

Columns (or keys) are mapped to article fields by their usual names, compared without case,
spaces, ``-`` or ``_`` (``pubDate``, ``publish_date`` and ``Publish Date`` are one name).  A
``.archsearch-columns.toml`` beside the export sets the mapping explicitly::

    title = "headline_text"        # for every export in this folder

    ["feed.csv"]                   # for this file only
    body = "story"
    date = "first_seen"

Each record's key is where it starts: the line for JSON Lines, CSV and TSV, the position in
the array (from 1) for JSON.  A record that cannot be read, or has no text, is one BadRecord
naming its line; the others are still read.
"""

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping

from archsearch.formats.article import Article, BadRecord, UnreadableFile
from archsearch.formats.columns import COLUMNS_FILE, USUAL_NAMES, ColumnMap, column_map
from archsearch.formats.datevalues import parse_date
from archsearch.formats.source import Source
from archsearch.formats.text import Draft, collapse_spaces, derive_title, take_dateline

# csv's default limit (128 KiB a field) is smaller than a long article.
_MAX_FIELD_CHARS = 64 * 1024 * 1024


def record_article(record: Mapping[str, object], columns: dict[str, str], key: str, where: str) -> Article | None:
    """The article of one record, or None when it has no text; ``where`` names it in a warning."""
    values = {field: _as_text(record.get(name)) for field, name in columns.items()}
    body = values.get("body", "").strip()
    if not body:
        return None
    body = "\n\n".join(paragraph.strip() for paragraph in re.split(r"\n\s*\n", body.replace("\r\n", "\n")))
    warnings = ()
    date = None
    if "date" in columns and values["date"].strip():
        date = parse_date(record.get(columns["date"]))
        if date is None:
            warnings = (f"{where}: unreadable date {values['date'].strip()!r}",)
    draft = take_dateline(Draft.from_text(body))
    title = collapse_spaces(values.get("title", ""))
    return Article(
        title=title or derive_title(draft).title,
        title_derived=not title,
        body=body,
        date=date,
        source=collapse_spaces(values.get("source", "")),
        place=collapse_spaces(values.get("place", "")) or draft.place,
        section=collapse_spaces(values.get("section", "")),
        warnings=warnings,
        url=values.get("url", "").strip(),
        author=collapse_spaces(values.get("author", "")),
        language=values.get("language", "").strip(),
        key=key,
    )


def _as_text(value: object) -> str:
    """A record's value as text: lists joined, objects by their name (NewsAPI's ``source``)."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, list):
        return ", ".join(filter(None, map(_as_text, value)))
    if isinstance(value, dict):
        return _as_text(value.get("name") or value.get("title") or value.get("value"))
    return str(value)


def _records_to_articles(records: Iterable[tuple[str, str, object]], columns: ColumnMap) -> Iterator[Article | BadRecord]:
    """(key, where, record) triples to articles; where names the record in a warning."""
    assigned: dict[tuple, dict[str, str]] = {}
    for key, where, record in records:
        if isinstance(record, BadRecord):
            yield record
            continue
        if not isinstance(record, dict):
            yield BadRecord(where, f"not an object but {_json_kind(record)}")
            continue
        names = tuple(record)
        if names not in assigned:
            assigned[names] = columns.assign(names)
        article = record_article(record, assigned[names], key, where)
        yield article or BadRecord(where, f"no text (no value for {_text_names(columns)})")


def _text_names(columns: ColumnMap) -> str:
    if "body" in columns.explicit:
        return repr(columns.explicit["body"])
    return ", ".join(USUAL_NAMES["body"].split()[:4]) + ", ..."


def _json_kind(value: object) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), "null"
    )


def _text_stream(source: Source) -> io.TextIOWrapper:
    # newline="" keeps the line ends inside quoted CSV fields for csv to handle.
    return io.TextIOWrapper(source.open(), encoding="utf-8-sig", errors="replace", newline="")


# --------------------------------------------------------------------------- readers


def read_json_lines(source: Source) -> Iterator[Article | BadRecord]:
    columns = column_map(source)

    def records():
        with _text_stream(source) as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                where = f"line {number}"
                try:
                    yield str(number), where, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield str(number), where, BadRecord(where, f"malformed JSON ({exc.msg})")

    yield from _records_to_articles(records(), columns)


def read_json_array(source: Source) -> Iterator[Article | BadRecord]:
    columns = column_map(source)
    with source.reading(), _text_stream(source) as stream:
        text = stream.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            # JSON Lines under a .json name
            yield from read_json_lines(source)
            return
        raise UnreadableFile(f"malformed JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, list):
        kind = "one object" if isinstance(data, dict) else _json_kind(data)
        raise UnreadableFile(f"JSON that is not an array of objects (it is {kind})")
    yield from _records_to_articles(
        ((str(number), f"record {number}", record) for number, record in enumerate(data, start=1)), columns
    )


def read_csv(source: Source) -> Iterator[Article | BadRecord]:
    yield from _read_delimited(source, ",")


def read_tsv(source: Source) -> Iterator[Article | BadRecord]:
    yield from _read_delimited(source, "\t")


def _read_delimited(source: Source, delimiter: str) -> Iterator[Article | BadRecord]:
    columns = column_map(source)
    csv.field_size_limit(_MAX_FIELD_CHARS)

    def records():
        with _text_stream(source) as stream:
            rows = csv.reader(stream, delimiter=delimiter)
            try:
                header = next(rows)
            except StopIteration:
                raise UnreadableFile("empty file") from None
            except csv.Error as exc:
                raise UnreadableFile(f"line 1: {exc}") from exc
            if not set(columns.assign(header)) & {"body"}:
                raise UnreadableFile(
                    f"no text column in the header (looked for {_text_names(columns)}; "
                    f"name one in {COLUMNS_FILE})"
                )
            while True:
                start = rows.line_num + 1
                where = f"line {start}"
                try:
                    row = next(rows)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield str(start), where, BadRecord(where, str(exc))
                    continue
                if not any(field.strip() for field in row):
                    continue
                if len(row) != len(header):
                    yield str(start), where, BadRecord(
                        where, f"{len(row)} fields where the header has {len(header)}"
                    )
                    continue
                yield str(start), where, dict(zip(header, row))

    yield from _records_to_articles(records(), columns)
