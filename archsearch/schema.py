"""The index schema: which parts of an article are searchable, stored and how they are analysed."""

from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

# No stop list: in news "US", "WHO" and "IS" are names, and phrase queries must match exactly.
# Accents are folded before stemming so "Zürich" and "Zurich" reach the same stem.
TEXT_ANALYZER = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StemFilter(cachesize=100_000)

# Names (sources, places, sections) match word by word, case- and accent-blind, never stemmed.
NAME_ANALYZER = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)

# Paths match on their parts: folder names, file name stems, extensions.
PATH_ANALYZER = RegexTokenizer(r"[^/\\._\-\s]+") | LowercaseFilter() | CharsetFilter(accent_map)

SEARCHABLE_FIELDS = ("title", "body", "source", "place", "section", "path")


def build_schema() -> Schema:
    return Schema(
        # The absolute path of the file: one document per file, whatever folder it was found under.
        key=ID(unique=True, stored=True),
        # The article's id as users see it: its path relative to the folder it was indexed from.
        path=TEXT(analyzer=PATH_ANALYZER, stored=True),
        root=ID(stored=True),
        title=TEXT(analyzer=TEXT_ANALYZER, stored=True),
        # The body is read again from the file for snippets and `show`; storing it would double the index.
        body=TEXT(analyzer=TEXT_ANALYZER),
        # Dates are whole days, kept as the integer YYYYMMDD so ranges and sorting are plain numbers.
        date=NUMERIC(int, bits=32, stored=True, sortable=True),
        source=TEXT(analyzer=NAME_ANALYZER, stored=True),
        place=TEXT(analyzer=NAME_ANALYZER, stored=True),
        section=TEXT(analyzer=NAME_ANALYZER, stored=True),
        # What incremental indexing compares to decide whether a file changed.
        mtime_ns=STORED(),
        size=STORED(),
        sha256=STORED(),
    )
