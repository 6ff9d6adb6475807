"""The index schema: which parts of an article are searchable, stored and how they are analysed."""

import datetime
from collections.abc import Callable

from whoosh.analysis import CharsetFilter, CompositeAnalyzer, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from archsearch.analysis import TextAnalyzer, WordFormAnalyzer
from archsearch.analysis._tables import ACCENT_MAP  # Whoosh's accent_map
from archsearch.analysis.capitals import capital_words

# No stop list: in news "US", "WHO" and "IS" are names, and phrase queries must match exactly.
# Each article's words are stemmed in its own language (see archsearch/analysis/).
TEXT_ANALYZER = TextAnalyzer()

# Names (sources, places, sections) match word by word, case- and accent-blind, never stemmed.
NAME_ANALYZER = RegexTokenizer() | LowercaseFilter() | CharsetFilter(ACCENT_MAP)
# The words of title and body as written (split, normalised and folded as theirs are, not
# stemmed): what prefix, wildcard and fuzzy words expand against, so `organizat*` finds
# "organization" and `беженц*` finds "беженцев".
WORD_FORM_ANALYZER = WordFormAnalyzer()

# Paths match on their parts: folder names, file name stems, extensions.
PATH_ANALYZER = RegexTokenizer(r"[^/\\._\-\s]+") | LowercaseFilter() | CharsetFilter(ACCENT_MAP)

# The `undated` field's one term.
UNDATED_MARK = "yes"

# The field of each article's index-time stamp (see alerts.py).
INDEXED_FIELD = "indexed"

# The column of stored bodies too long to keep in the stored fields (engines/whoosh/long_bodies.py).
LONG_BODY_FIELD = "long_body"


class FilledBytesColumn(VarBytesColumn):
    """Whoosh's VarBytesColumn, its writer filling the documents left without a value at the end
    of a segment before it writes the arrays of lengths and offsets.  Whoosh's takes the arrays
    first, and where filling makes one wider (an offset past 65,535 or 2**31) writes the narrower
    one, short: in a segment of over 32,768 documents (whose offsets are written) all of its
    values then read wrong.  Most documents have no long body, the last of a segment too."""

    class Writer(VarBytesColumn.Writer):
        def finish(self, doccount):
            self.fill(doccount)
            self._count = doccount
            super().finish(doccount)

# Whole days are indexed as the integer YYYYMMDD; these bound every valid day.
FIRST_DAY, LAST_DAY = 10101, 99991231


def day_number(day: datetime.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def number_day(number: int | None) -> datetime.date | None:
    """The day an indexed number stands for; None for a missing date (Whoosh's column default)."""
    if number is None or not FIRST_DAY <= number <= LAST_DAY:
        return None
    return datetime.date(number // 10000, number // 100 % 100, number % 100)


def word_analyzer(analyzer) -> Callable[[str], str] | None:
    """A function from one token to the analyzer's term for it, or None if there is no exact one.

    Only for analyzers that are a RegexTokenizer followed by any of LowercaseFilter,
    CharsetFilter and StemFilter (without an ignore list): each of those maps one token to one
    token, so the chain can run once per distinct word.
    """
    if not isinstance(analyzer, CompositeAnalyzer):
        return None
    tokenizer, *filters = analyzer.items
    if type(tokenizer) is not RegexTokenizer or tokenizer.gaps:
        return None
    steps = []
    for item in filters:
        if type(item) is LowercaseFilter:
            steps.append(str.lower)
        elif type(item) is CharsetFilter:
            steps.append(lambda word, charmap=item.charmap: word.translate(charmap))
        elif type(item) is StemFilter and not item.ignore:
            steps.append(item._stem)
        else:
            return None

    def term(word: str) -> str:
        for step in steps:
            word = step(word)
        return word

    return term


def exact_text(title: str, body: str) -> str:
    """What the `exact` field indexes: the title's words, then the body's."""
    return f"{title}\n{body}"


def capitals_text(title: str, body: str) -> str | None:
    """What the `capitals` field indexes: the distinct words of title and body written in capitals
    (see analysis/capitals.py), space-separated; None when there are none."""
    return " ".join(capital_words(exact_text(title, body))) or None


def build_schema() -> Schema:
    return Schema(
        # The absolute path of the file, whatever folder it was found under: one document per
        # article, so a container file (an export, a crawl, a mailbox) has one per record.
        key=ID(stored=True),
        # Which record of a container file the article is ("17", a WARC record id); "" otherwise.
        record=ID(stored=True),
        # The file's path relative to the folder it was indexed from, searched by its parts;
        # stored as the article's id as users see it: that path, and "#record" for a container's.
        path=TEXT(analyzer=PATH_ANALYZER, stored=True),
        root=ID(stored=True),
        # A title the article gives (a headline, a subject, a <title>) is indexed here; one made from
        # the lead (Article.title_derived) is stored here for display but indexed in `derived_title`:
        # its words are the lead's, which would count twice in ranking (issue 14).
        title=TEXT(analyzer=TEXT_ANALYZER, stored=True),
        # A title made from the lead: `title:` finds its words as it finds a headline's; plain words
        # do not look here (they find them in body and lead).
        derived_title=TEXT(analyzer=TEXT_ANALYZER),
        # The body's first paragraph (formats/article.py: lead_end), with positions: `lead:` finds its
        # words (or the title's), and ranking weighs it on its own (querying.FIELD_BOOSTS).  Not
        # stored: it is the start of the body.
        lead=TEXT(analyzer=TEXT_ANALYZER),
        # A plain-text body is read again from the file for snippets and `show`: storing it
        # would double the index.  Other formats store it in `text` (see indexing.py).
        body=TEXT(analyzer=TEXT_ANALYZER),
        text=STORED(),
        # A stored body of more than long_bodies.LONG_BODY_CHARS characters, kept here in its place
        # (its `text` None): in Whoosh's stored fields it would be read whole with any other field.
        long_body=COLUMN(FilledBytesColumn()),
        # Title and body words as written, unstemmed (see WORD_FORM_ANALYZER): prefix, wildcard and
        # fuzzy words expand against these, and `=word` exact-form search will match them.  With
        # positions, which FastSegmentWriter analyses as fast as the body (and phrases could use).
        exact=TEXT(analyzer=WORD_FORM_ANALYZER),
        # The words of title and body written in capitals of 2-5 letters (`US`, `WHO`, `США`), as
        # written, once each: smart case makes a query word typed so a Term here, beside the word
        # in title and body, which ranks.  A few terms an article, no positions, no scores.
        capitals=KEYWORD(lowercase=False, scorable=False),
        # Dates are whole days, kept as the integer YYYYMMDD so ranges and sorting are plain numbers.
        date=NUMERIC(int, bits=32, stored=True, sortable=True),
        # One term on every undated article: counting the undated matches a date filter left
        # out is then a posting list, not the complement of a range over every date.
        undated=ID(),
        # Columns (sortable) let `sources` count matches per source and place without loading
        # stored fields; every document must carry a value, "" when unknown (Whoosh misreads a
        # column whose last documents lack one).
        source=TEXT(analyzer=NAME_ANALYZER, stored=True, sortable=True),
        place=TEXT(analyzer=NAME_ANALYZER, stored=True, sortable=True),
        section=TEXT(analyzer=NAME_ANALYZER, stored=True),
        url=TEXT(analyzer=PATH_ANALYZER, stored=True),
        author=TEXT(analyzer=NAME_ANALYZER, stored=True),
        # The article's language, ISO 639-1 ("ru"), "" when unknown: the one its file declares
        # (HTML lang, an export's field), else the one identified; it chose the stemmer of title
        # and body; `lang:ru` filters on it and `sources` counts it.
        language=KEYWORD(stored=True, lowercase=True, sortable=True),
        format=ID(stored=True),  # the reader's name: text, html, warc, jsonl, ...
        fetched=STORED(),  # ISO 8601 crawl time of a WARC record, never its date
        # Near-duplicate detection (see nearduplicates.py): the body's MinHash sketch; the groups
        # of copies are made at index time and kept in the record of indexed files.
        sketch=STORED(),
        # When the article was indexed: a nanosecond stamp, the same for a segment's articles and
        # larger than any stamp the index held before (alerts.py); `query @name --new` shows the
        # articles stamped after its last run.  A column, so that filter is a test per document.
        indexed=NUMERIC(int, bits=64, sortable=True),
        # What incremental indexing compares to decide whether a file changed.
        mtime_ns=STORED(),
        size=STORED(),
        sha256=STORED(),
    )


def schema_shape(schema: Schema) -> dict[str, tuple[str, str, str]]:
    """Each field's kind, column and analyzer, by their class names: what is_current compares."""
    return {
        name: (type(field).__name__, type(field.column_type).__name__, type(getattr(field, "analyzer", None)).__name__)
        for name, field in schema.items()
    }


# build_schema()'s shape, written out: a query compares the index's with it, where making the Schema
# took 0.5-0.9 ms of its CPU (Whoosh's Schema.add).  tests/test_schema_shape.py fails when the two differ.
CURRENT_SHAPE = {
    "author": ("TEXT", "NoneType", "CompositeAnalyzer"),
    "body": ("TEXT", "NoneType", "TextAnalyzer"),
    "capitals": ("KEYWORD", "NoneType", "RegexTokenizer"),
    "date": ("NUMERIC", "NumericColumn", "IDTokenizer"),
    "derived_title": ("TEXT", "NoneType", "TextAnalyzer"),
    "exact": ("TEXT", "NoneType", "WordFormAnalyzer"),
    "fetched": ("STORED", "NoneType", "NoneType"),
    "format": ("ID", "NoneType", "IDTokenizer"),
    "indexed": ("NUMERIC", "NumericColumn", "IDTokenizer"),
    "key": ("ID", "NoneType", "IDTokenizer"),
    "language": ("KEYWORD", "VarBytesColumn", "CompositeAnalyzer"),
    "lead": ("TEXT", "NoneType", "TextAnalyzer"),
    LONG_BODY_FIELD: ("COLUMN", "FilledBytesColumn", "NoneType"),
    "mtime_ns": ("STORED", "NoneType", "NoneType"),
    "path": ("TEXT", "NoneType", "CompositeAnalyzer"),
    "place": ("TEXT", "VarBytesColumn", "CompositeAnalyzer"),
    "record": ("ID", "NoneType", "IDTokenizer"),
    "root": ("ID", "NoneType", "IDTokenizer"),
    "section": ("TEXT", "NoneType", "CompositeAnalyzer"),
    "sha256": ("STORED", "NoneType", "NoneType"),
    "size": ("STORED", "NoneType", "NoneType"),
    "sketch": ("STORED", "NoneType", "NoneType"),
    "source": ("TEXT", "VarBytesColumn", "CompositeAnalyzer"),
    "text": ("STORED", "NoneType", "NoneType"),
    "title": ("TEXT", "NoneType", "TextAnalyzer"),
    "undated": ("ID", "NoneType", "IDTokenizer"),
    "url": ("TEXT", "NoneType", "CompositeAnalyzer"),
}


def is_current(schema: Schema) -> bool:
    """Whether an index was built with this version's schema (fields, their kinds, columns and
    analyzers), or with the one before LONG_BODY_FIELD, which keeps every stored body in `text`."""
    shape = schema_shape(schema)
    if LONG_BODY_FIELD not in shape:
        shape[LONG_BODY_FIELD] = CURRENT_SHAPE[LONG_BODY_FIELD]
    return shape == CURRENT_SHAPE
