"""Which column (or key) of an export feeds which article field: usual names, or the user's mapping.

Kept apart from exports.py so that sniffing a file's format costs no import of csv or json.
"""

import os
import re
from collections.abc import Iterable, Mapping

from archsearch.formats.article import UnreadableFile
from archsearch.formats.source import Source

COLUMNS_FILE = ".archsearch-columns.toml"
FIELDS = ("title", "date", "body", "url", "source", "author", "language", "section", "place")
# The usual names of each field, first match wins; compared as name_key() gives them.
USUAL_NAMES = {
    "title": "title headline heading name subject",
    "date": "date published publishdate publisheddate publishedat pubdate datepublished publicationdate "
    "datetime created createdat timestamp time",
    "body": "text body content article maintext fulltext articletext story description",
    "url": "url link href uri permalink canonicalurl",
    "source": "source site outlet domain publisher sourcename sitename website",
    "author": "author byline authors creator writer",
    "language": "language lang locale",
    "section": "section category categories",
    "place": "place location dateline city",
}


_NOT_IN_KEY = re.compile(r"[\W_]+")
# The ASCII bytes name_key drops but the delimiter, by delimiter, for bytes.translate.
_NOT_IN_ASCII_KEYS = {
    delimiter: bytes(byte for byte in range(0x80) if chr(byte) != delimiter and not chr(byte).isalnum())
    for delimiter in ",\t"
}
_ASCII_BYTES = bytes(range(0x80))


def name_key(name: str) -> str:
    return _NOT_IN_KEY.sub("", name).casefold()


def name_keys(line: str, delimiter: str) -> list[str]:
    """name_key of each of the line's names between delimiters ("," or a tab), made for the whole
    line at once (casefold maps a character alone): the first line sniffed for an export header is
    most often a paragraph of prose.  Its ASCII characters are dropped by bytes.translate (re's sub
    was 80 ns a character), and each distinct character beyond ASCII that is no \\w (beyond ASCII,
    one that is not isalnum()) by a replace: 0.1-0.3x the time of re's sub on a line of prose."""
    kept = line.encode("utf-8", "surrogatepass").translate(None, _NOT_IN_ASCII_KEYS[delimiter])
    if line.isascii():  # where casefold is lower
        return kept.decode().lower().split(delimiter)
    beyond_ascii = kept.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
    kept = kept.decode("utf-8", "surrogatepass")
    for character in set(beyond_ascii):
        if not character.isalnum():
            kept = kept.replace(character, "")
    return kept.casefold().split(delimiter)


class ColumnMap:
    """Which of a record's names feeds each article field."""

    def __init__(self, explicit: Mapping[str, str]):
        self.explicit = {field: name_key(name) for field, name in explicit.items()}

    def assign(self, names: Iterable[str]) -> dict[str, str]:
        """field -> the record's own name for it, for the fields the names provide."""
        by_key = {}
        for name in names:
            by_key.setdefault(name_key(name), name)
        chosen = {}
        for field in FIELDS:
            if field in self.explicit:
                candidates = [self.explicit[field]]
            else:
                candidates = USUAL_NAMES[field].split()
            name = next((by_key[key] for key in candidates if key in by_key), None)
            if name is not None:
                chosen[field] = name
        return chosen


def column_map(source: Source) -> ColumnMap:
    """The explicit mapping for this file from its folder's .archsearch-columns.toml, if any."""
    import tomllib

    path = os.path.join(os.path.dirname(source.path), COLUMNS_FILE)
    try:
        with open(path, "rb") as file:
            settings = tomllib.load(file)
    except FileNotFoundError:
        return ColumnMap({})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UnreadableFile(f"cannot read {COLUMNS_FILE}: {exc}") from exc
    mapping = {field: name for field, name in settings.items() if isinstance(name, str)}
    own = settings.get(os.path.basename(source.path), {})
    if isinstance(own, dict):
        mapping.update({field: name for field, name in own.items() if isinstance(name, str)})
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise UnreadableFile(f"{COLUMNS_FILE}: unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    return ColumnMap(mapping)
