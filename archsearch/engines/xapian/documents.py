"""An article as a Xapian document: the same fields and terms as the embedded index's.

Every indexed field of schema.py is analysed as the embedded index's segment writer analyses
it (that field's analyzer, through its cached term lister; title and body in the article's
language), so a term here is the very term the embedded index holds and the query side, which
parses with the same schema, looks for it.  Terms carry their field as a
prefix (`XBODY:refuge`); dates, and the names facets count, are values; the stored fields,
with the body always (the querying machine may not have the files), are the document's data.
"""

import hashlib
import json
import struct
from collections import deque
from itertools import count

from whoosh.fields import NUMERIC, STORED

from archsearch.analysis.chain import TextAnalyzer
from archsearch.nearduplicates import SKETCH_SIZE, comparable

# Value slots.
DATE_SLOT = 0  # sortable_serialise(YYYYMMDD); none for an undated article (so ranges and
#                "newest" leave it out or last)
OLDEST_SLOT = 1  # the same, and UNDATED_LAST for an undated article: "oldest" sorts it last
SOURCE_SLOT, PLACE_SLOT, LANGUAGE_SLOT = 2, 3, 4  # the names as stored, for facets
COPIES_SLOT = 5  # the near-duplicate group: the identity of its first article (collapse key)
IDENTITY_SLOT = 6  # the article's identity: what orders equal scores the same whatever the shards
INDEXED_SLOT = 7  # the `indexed` stamp (alerts.py) as stamp_value(): what `query @name --new` filters on
# What the copy lookup of later articles reads of this one (copy_value): its sketch, identity and
# group, so that a match spy gathers them from every shard without a document being read.  An
# article too short to compare has none (it has no band terms either: none looks it up).
COPY_SLOT = 8
UNDATED_LAST = b"\xff" * 10

FACET_SLOTS = {"source": SOURCE_SLOT, "place": PLACE_SLOT, "language": LANGUAGE_SLOT}

# One term per article: its identity (file and record), what updates replace it by.
IDENTITY_PREFIX = "Q"
# The id as users see it (the path in its folder, "#record" for a container's), for `show ID`.
ID_PREFIX = "XID:"
# The copy group as a term too (COPIES_SLOT's value): a group's members are then a posting list,
# where a value range is a scan of every document's value (at 1M articles 1.2 s for 10 groups).
GROUP_PREFIX = "XGROUP:"
# On every article that has its group term: articles written before group terms had none, and a
# cluster holding any of them is searched by value ranges (group_query).
GROUP_TERM_MARK = "XGROUPED"
# Xapian refuses terms over 245 bytes; longer ones (long paths) are kept as a hash.
MAX_TERM_BYTES = 240

# The document's data, its stored fields as JSON: every text as the embedded index's stored fields
# (pickled) keep it, lone surrogates included (a JSON string's "\ud800", a file name's bytes that
# are not UTF-8), which strict UTF-8 refuses.
DATA_ENCODING = ("utf-8", "surrogatepass")
# Stored fields the document's data keeps, as schema.py stores them.
STORED_FIELDS = (
    "key", "record", "path", "root", "title", "date", "source", "place", "section", "url", "author",
    "language", "format", "fetched", "text", "sketch",
)


def field_prefix(fieldname: str) -> str:
    return f"X{fieldname.upper()}:"


def utf8(text: str) -> bytes:
    """A term's or value's text as the cluster keeps it: UTF-8, and the bytes of a file name that are
    not UTF-8 (Python's surrogate escapes) as they are on disk. Given a str with a surrogate,
    Xapian's bindings would raise UnicodeEncodeError."""
    return text.encode("utf-8", "surrogateescape")


def make_term(prefix: str, text: str) -> bytes:
    term = utf8(prefix + text)
    if len(term) <= MAX_TERM_BYTES:
        return term
    return utf8(prefix) + b"#" + hashlib.sha1(utf8(text)).hexdigest().encode("ascii")


def field_term(fieldname: str, text: str) -> bytes:
    return make_term(field_prefix(fieldname), text)


def stamp_value(stamp: int) -> bytes:
    """An `indexed` stamp as a value that sorts as the number: nanoseconds overflow a double's
    precision, so they are not sortable_serialise'd."""
    return stamp.to_bytes(8, "big")


def newest_stamp(database) -> int:
    """The largest `indexed` stamp the cluster holds (0 when none): the slot's upper bound, which
    deletions may leave above every stamp still there, as alerts.newest_stamp errs on the safe side."""
    bound = database.get_value_upper_bound(INDEXED_SLOT)
    return int.from_bytes(bound, "big") if bound else 0


def identity(key: str, record: str | None) -> str:
    """What names an article in the cluster, and routes it to its shard: its file, and its record."""
    return f"{key}#{record}" if record else key


def identity_term(key: str, record: str | None) -> bytes:
    return make_term(IDENTITY_PREFIX, identity(key, record))


def indexed_fields(schema) -> dict:
    return {
        name: field for name, field in schema.items()
        if field.indexed and not isinstance(field, (NUMERIC, STORED))
    }


class ArticleTerms:
    """The terms of an article's indexed fields, as the embedded index's segment writer makes them:
    a field that records positions through its cached term lister (segments.compile_term_lister:
    each distinct word analysed once), the others through their analyzer's tokens."""

    def __init__(self, schema):
        from archsearch.engines.whoosh.segments import compile_term_lister

        self._fields = []  # (name, field, prefix as bytes, term lister or None)
        for name, field in indexed_fields(schema).items():
            self._fields.append((name, field, field_prefix(name).encode("utf-8"), compile_term_lister(field)))

    def add_to(self, document, fields: dict) -> None:
        """Add the terms of the article's indexed fields (prefixed with their field) to the Xapian
        document: a posting per word, from position 1, or for a field that keeps no positions, one
        more occurrence of its term."""
        language = fields.get("language") or ""
        for name, field, prefix, list_terms in self._fields:
            value = fields.get(name)
            if not value:
                continue
            if list_terms is None:
                options = {"language": language} if isinstance(field.analyzer, TextAnalyzer) else {}
                with_positions = field.format.supports("positions")
                for token in field.analyzer(value, positions=True, mode="index", **options):
                    if token.text:
                        term = _bounded(prefix + utf8(token.text))
                        if with_positions:
                            document.add_posting(term, token.pos + 1)
                        else:
                            document.add_term(term)
                continue
            terms = list_terms(value, language)
            if terms and (b"" in terms or len(prefix) + max(map(len, terms)) > MAX_TERM_BYTES):
                for position, term in enumerate(terms, 1):
                    if term:
                        document.add_posting(_bounded(prefix + term), position)
            else:
                # Most of a document's terms are here: the calls made from C (map), without a
                # Python loop.
                deque(map(document.add_posting, map(prefix.__add__, terms), count(1)), maxlen=0)


def _bounded(term: bytes) -> bytes:
    """make_term's rule on a term already prefixed: one over MAX_TERM_BYTES becomes its prefix and
    the hash of its text."""
    if len(term) <= MAX_TERM_BYTES:
        return term
    prefix, text = term.split(b":", 1)
    return prefix + b":#" + hashlib.sha1(text).hexdigest().encode("ascii")


def make_document(xapian, terms: ArticleTerms, fields: dict):
    """The Xapian document of `fields`, what indexing.article_document gives for an article, but
    its near-duplicate group and `indexed` stamp (given when its batch is written: finish_document)."""
    document = xapian.Document()
    terms.add_to(document, fields)
    document.add_boolean_term(identity_term(fields["_stored_key"], fields.get("record")))
    document.add_boolean_term(make_term(ID_PREFIX, fields["_stored_path"]))
    day = fields.get("date")
    if day:
        document.add_value(DATE_SLOT, xapian.sortable_serialise(day))
        document.add_value(OLDEST_SLOT, xapian.sortable_serialise(day))
    else:
        document.add_value(OLDEST_SLOT, UNDATED_LAST)
    for name, slot in FACET_SLOTS.items():
        if fields.get(name):
            document.add_value(slot, utf8(fields[name]))
    document.add_value(IDENTITY_SLOT, utf8(identity(fields["_stored_key"], fields.get("record"))))
    stored = {name: fields.get(f"_stored_{name}", fields.get(name)) for name in STORED_FIELDS}
    stored["text"] = fields["body"]
    stored["sketch"] = list(fields.get("sketch") or ())
    document.set_data(json.dumps(stored, ensure_ascii=False, separators=(",", ":")).encode(*DATA_ENCODING))
    return document


def finish_document(document, signature: tuple, copy_group: str, stamp: int) -> None:
    document.add_value(COPIES_SLOT, utf8(copy_group))
    add_group_term(document, copy_group)
    document.add_value(INDEXED_SLOT, stamp_value(stamp))
    if comparable(signature):
        article = document.get_value(IDENTITY_SLOT).decode("utf-8", "surrogateescape")
        document.add_value(COPY_SLOT, copy_value(article, signature, copy_group))


def add_group_term(document, copy_group: str) -> None:
    document.add_boolean_term(make_term(GROUP_PREFIX, copy_group))
    document.add_boolean_term(GROUP_TERM_MARK)


def group_query(xapian, database, keys) -> object:
    """The articles of the copy groups named by `keys` (COPIES_SLOT values): by their group terms
    when every article of the database has one, else by value ranges."""
    Query = xapian.Query
    if database.get_termfreq(GROUP_TERM_MARK) == database.get_doccount():
        terms = [make_term(GROUP_PREFIX, key.decode("utf-8", "surrogateescape")) for key in keys]
        return Query(Query.OP_OR, terms)
    return Query(Query.OP_OR, [Query(Query.OP_VALUE_RANGE, COPIES_SLOT, key, key) for key in keys])


# The sketch's numbers, then the length of the identity's UTF-8.
_COPY_HEAD = struct.Struct(f">{SKETCH_SIZE}II")


def copy_value(article: str, signature: tuple, copy_group: str) -> bytes:
    """The sketch and the identity, then the group unless the article leads its group (most do)."""
    identity_bytes = utf8(article)
    value = _COPY_HEAD.pack(*signature, len(identity_bytes)) + identity_bytes
    return value if copy_group == article else value + utf8(copy_group)


def read_copy_value(value: bytes) -> tuple[str, tuple, str]:
    """(identity, sketch, group) of a copy_value."""
    *signature, length = _COPY_HEAD.unpack_from(value)
    start = _COPY_HEAD.size
    article = value[start : start + length].decode("utf-8", "surrogateescape")
    copy_group = value[start + length :].decode("utf-8", "surrogateescape")
    return article, tuple(signature), copy_group or article


def stored_fields(document) -> dict:
    """The document's stored fields as Whoosh gives an article's: a field without a value is absent."""
    stored = {name: value for name, value in json.loads(document.get_data().decode(*DATA_ENCODING)).items() if value is not None}
    stored["sketch"] = tuple(stored.get("sketch") or ())
    return stored
