"""Markdown or text with YAML front matter: title, date, source, url and author from the front matter.

Only the front matter's plain ``key: value`` lines are read (quoted or not); lists and nested
maps are passed over.  The text after it is read as plain text (text.py), a Markdown
``# Heading`` on its first line being the title when the front matter has none.
"""

import re
from collections.abc import Iterator

from archsearch.formats.article import Article
from archsearch.formats.datevalues import parse_date
from archsearch.formats.source import Source
from archsearch.formats.text import collapse_spaces, parse_article, parse_body, read_text_content
from archsearch.records import replace

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(?P<yaml>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_KEY_VALUE = re.compile(r"(?P<key>[A-Za-z_][\w-]*)[ \t]*:[ \t]*(?P<value>.*)")
_MARKDOWN_HEADING = re.compile(r"\A\s*#{1,6}[ \t]+(?P<title>.+?)[ \t#]*$", re.M)
# Front matter names for each field, first match wins.
_KEYS = {
    "title": ("title", "headline"),
    "date": ("date", "published", "publishdate", "pubdate", "created"),
    "source": ("source", "site", "publication", "outlet", "publisher"),
    "url": ("url", "link", "canonical", "canonical_url", "permalink"),
    "author": ("author", "byline", "authors"),
    "language": ("language", "lang", "locale"),
    "section": ("section", "category", "categories"),
    "place": ("place", "location", "dateline"),
}


def read_front_matter(source: Source) -> Iterator[Article]:
    text, warnings = read_text_content(source)
    values, heading, rest = _split(text)

    def value(field: str) -> str:
        return _value(values, field)

    article = parse_article(rest)

    date = article.date
    if value("date"):
        date = parse_date(value("date"))
        if date is None:
            warnings += (f"front matter: unreadable date {value('date')!r}",)
    yield replace(
        article,
        title=value("title") or (collapse_spaces(heading["title"]) if heading else article.title),
        title_derived=not (value("title") or heading) and article.title_derived,
        date=date,
        source=value("source") or article.source,
        place=value("place") or article.place,
        section=value("section") or article.section,
        url=value("url"),
        author=value("author"),
        language=value("language"),
        warnings=article.warnings + warnings,
    )


def read_front_matter_body(source: Source) -> str:
    """The body of the article read_front_matter reads, parsed by the steps that shape it alone."""
    return parse_body(_split(read_text_content(source)[0])[2])


def _split(text: str) -> tuple[dict[str, str], re.Match | None, str]:
    """A file's text as (its front matter's values, the Markdown heading that is its title or None,
    the text the article is parsed from: after the front matter and that heading)."""
    found = _FRONT_MATTER.match(text)
    values = parse_front_matter(found["yaml"]) if found else {}
    rest = text[found.end() :] if found else text
    heading = _MARKDOWN_HEADING.match(rest)
    if heading and _value(values, "title") and collapse_spaces(heading["title"]) != _value(values, "title"):
        heading = None  # a heading of the text, not its title: it stays in the body
    if heading:
        rest = rest[heading.end() :]
    return values, heading, rest


def _value(values: dict[str, str], field: str) -> str:
    """The first of the front matter's names for `field` with a value, "" if none has one."""
    return next((values[key] for key in _KEYS[field] if values.get(key)), "")


def parse_front_matter(yaml: str) -> dict[str, str]:
    """The plain ``key: value`` lines of YAML front matter, keys lower-cased, quotes removed."""
    values = {}
    for line in yaml.split("\n"):
        pair = _KEY_VALUE.fullmatch(line.rstrip())
        if pair is None:
            continue
        value = pair["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif value.startswith(("[", "{", "|", ">")) or " #" in value:
            value = _plain_scalar(value)
        values.setdefault(pair["key"].lower(), collapse_spaces(value))
    return values


def _plain_scalar(value: str) -> str:
    """A flow list's items joined (``[A, B]`` -> ``A, B``); block scalars and comments give ""."""
    if value.startswith("[") and value.endswith("]"):
        return ", ".join(item.strip().strip("\"'") for item in value[1:-1].split(",") if item.strip())
    if value.startswith(("{", "|", ">")):
        return ""
    return value.split(" #", 1)[0].strip()
