"""An article as a Xapian document: the same fields and terms as the embedded index's.

Every indexed field of schema.py is analysed by that field's own analyzer (title and body in
the article's language), so a term here is the very term the embedded index holds and the
query side, which parses with the same schema, looks for it.  Terms carry their field as a
prefix (`XBODY:refuge`); dates, and the names facets count, are values; the stored fields,
with the body always (the querying machine may not have the files), are the document's data.
"""

import hashlib
import json

from whoosh.fields import NUMERIC, STORED

from archsearch.analysis.chain import TextAnalyzer

# Value slots.
DATE_SLOT = 0  # sortable_serialise(YYYYMMDD); none for an undated article (so ranges and
#                "newest" leave it out or last)
OLDEST_SLOT = 1  # the same, and UNDATED_LAST for an undated article: "oldest" sorts it last
SOURCE_SLOT, PLACE_SLOT, LANGUAGE_SLOT = 2, 3, 4  # the names as stored, for facets
COPIES_SLOT = 5  # the near-duplicate group: the identity of its first article (collapse key)
IDENTITY_SLOT = 6  # the article's identity: what orders equal scores the same whatever the shards
INDEXED_SLOT = 7  # the `indexed` stamp (alerts.py) as stamp_value(): what `query @name --new` filters on
UNDATED_LAST = b"\xff" * 10

FACET_SLOTS = {"source": SOURCE_SLOT, "place": PLACE_SLOT, "language": LANGUAGE_SLOT}

# One term per article: its identity (file and record), what updates replace it by.
IDENTITY_PREFIX = "Q"
# The id as users see it (the path in its folder, "#record" for a container's), for `show ID`.
ID_PREFIX = "XID:"
# Xapian refuses terms over 245 bytes; longer ones (long paths) are kept as a hash.
MAX_TERM_BYTES = 240

# Stored fields the document's data keeps, as schema.py stores them.
STORED_FIELDS = (
    "key", "record", "path", "root", "title", "date", "source", "place", "section", "url", "author",
    "language", "format", "fetched", "text", "sketch",
)


def field_prefix(fieldname: str) -> str:
    return f"X{fieldname.upper()}:"


def make_term(prefix: str, text: str) -> str:
    term = prefix + text
    if len(term.encode("utf-8", "surrogateescape")) <= MAX_TERM_BYTES:
        return term
    return prefix + "#" + hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


def field_term(fieldname: str, text: str) -> str:
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


def identity_term(key: str, record: str | None) -> str:
    return make_term(IDENTITY_PREFIX, identity(key, record))


def indexed_fields(schema) -> dict:
    return {
        name: field for name, field in schema.items()
        if field.indexed and not isinstance(field, (NUMERIC, STORED))
    }


def article_terms(schema, fields: dict) -> list[tuple[str, int | None]]:
    """(term, position) for every indexed word of the document's fields (positions None where the
    field keeps none)."""
    found = []
    for name, field in indexed_fields(schema).items():
        value = fields.get(name)
        if not value:
            continue
        prefix = field_prefix(name)
        options = {"language": fields.get("language") or ""} if isinstance(field.analyzer, TextAnalyzer) else {}
        with_positions = field.format.supports("positions")
        for token in field.analyzer(value, positions=True, mode="index", **options):
            if token.text:
                found.append((make_term(prefix, token.text), token.pos + 1 if with_positions else None))
    return found


def make_document(xapian, schema, fields: dict, copy_group: str):
    """The Xapian document of `fields`, what indexing.article_document gives for an article."""
    document = xapian.Document()
    for term, position in article_terms(schema, fields):
        if position is None:
            document.add_term(term)
        else:
            document.add_posting(term, position)
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
            document.add_value(slot, fields[name])
    document.add_value(COPIES_SLOT, copy_group)
    document.add_value(IDENTITY_SLOT, identity(fields["_stored_key"], fields.get("record")))
    if fields.get("indexed"):
        document.add_value(INDEXED_SLOT, stamp_value(fields["indexed"]))
    stored = {name: fields.get(f"_stored_{name}", fields.get(name)) for name in STORED_FIELDS}
    stored["text"] = fields["body"]
    stored["sketch"] = list(fields.get("sketch") or ())
    document.set_data(json.dumps(stored, ensure_ascii=False, separators=(",", ":")))
    return document


def stored_fields(document) -> dict:
    """The document's stored fields as Whoosh gives an article's: a field without a value is absent."""
    stored = {name: value for name, value in json.loads(document.get_data()).items() if value is not None}
    stored["sketch"] = tuple(stored.get("sketch") or ())
    return stored
