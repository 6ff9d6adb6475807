"""The documents of a file, found by its key without probing every segment.

A file's documents are found by the `key` term (and a container's record by the `record` term).
Through Whoosh's multi-segment reader that is one hash-table probe in every segment: at 1M
articles, in 100 segments of 10,000, a query's copy groups probed 5,100 times to find the copies
of its ten hits.  A segment is written from a batch of files taken in the scan's order, so its
keys span a narrow range of the key order (in a fresh build the segments' ranges do not overlap),
and a key outside a segment's first..last key cannot be in it.  Each segment's first and last key
are found by binary search over the term index's sorted positions (Whoosh keeps them for
`terms_from`), once per segment reader: the server's readers keep them across requests.  That
search costs about ten probes (at 1M, 0.8 ms against 83 us a probe, the index read without
mmap), so a segment probed without its span is left so until it has been probed that often: a
query whose hits have no copies never pays for it, one with many pays at most twice the best.
"""

from collections.abc import Iterator
from weakref import WeakKeyDictionary

from whoosh.reading import TermNotFound

from archsearch.engines.whoosh.segment_terms import segment_terms
from whoosh.system import pack_ushort

# Probes of a segment without its span after which the span is read (see above).
SPAN_AFTER_PROBES = 10

_spans: WeakKeyDictionary = WeakKeyDictionary()  # segment reader -> {field: (first, last) or None}
_probes: WeakKeyDictionary = WeakKeyDictionary()  # segment reader -> {field: probes without its span}


def documents_of(reader, fieldname: str, text: str, also: tuple[str, str] | None = None) -> Iterator[int]:
    """The document numbers (deleted ones left out) holding `text` in `fieldname`, and with `also`
    (a field and its text) that term as well, probing only the segments whose span of
    `fieldname`'s terms holds it."""
    wanted = text.encode("utf-8")
    for leaf, base in reader.leaf_readers():
        span = _span_if_paid(leaf, fieldname)
        if span is not None and not span[0] <= wanted <= span[1]:
            continue
        try:
            found = set(_term_documents(leaf, fieldname, text))
            if also is not None and found:
                found.intersection_update(_term_documents(leaf, *also))
        except TermNotFound:
            continue
        yield from (base + docnum for docnum in found)


def _term_documents(leaf, fieldname: str, text: str):
    """The segment's documents holding the term, deleted ones left out (as Whoosh's postings
    leave them out): with positioned reads of the segment's file where the server prepared them
    (segment_terms.py: a term lookup and a block read without Whoosh's matcher and its seeks),
    else Whoosh's postings.  Raises TermNotFound."""
    read = segment_terms(leaf)
    if read is not None:
        from archsearch.engines.whoosh.evaluation import term_postings

        term = leaf._text_to_bytes(fieldname, text)
        terminfo = read.term_info(fieldname, term)
        if terminfo is None:
            raise TermNotFound(f"{fieldname}:{text!r}")
        if not terminfo.is_inlined():  # neither our writer nor whoosh-reloaded's inlines postings
            deleted = leaf.deleted_docs_set
            found = term_postings(leaf, fieldname, term, terminfo, 0)[0]
            return [docnum for docnum in found if docnum not in deleted] if deleted else found
    return leaf.postings(fieldname, text).all_ids()


def _span_if_paid(leaf, fieldname: str) -> tuple[bytes, bytes] | None:
    """The segment's span of the field's terms if known or now worth reading, else None (probe)."""
    known = _spans.get(leaf)
    if known is not None and fieldname in known:
        return known[fieldname]
    probes = _probes.setdefault(leaf, {})
    probes[fieldname] = probes.get(fieldname, 0) + 1
    return field_span(leaf, fieldname) if probes[fieldname] > SPAN_AFTER_PROBES else None


def field_span(leaf, fieldname: str) -> tuple[bytes, bytes] | None:
    """The first and last term of `fieldname` in the segment, or None when it cannot tell (a
    reader without Whoosh 3's term index, or a field the segment lacks: then it is probed)."""
    spans = _spans.get(leaf)
    if spans is None:
        spans = _spans[leaf] = {}
    if fieldname not in spans:
        spans[fieldname] = _read_span(leaf, fieldname)
    return spans[fieldname]


def _read_span(leaf, fieldname: str) -> tuple[bytes, bytes] | None:
    terms = getattr(leaf, "_terms", None)
    table = getattr(terms, "_tindex", None)
    number = getattr(terms, "_fieldmap", {}).get(fieldname)
    if number is None or not hasattr(table, "indexlen"):
        return None
    # Terms are keyed by the field's number (2 bytes, big-endian) then the term: a field's terms
    # are one run of the sorted keys.
    start = _first_at_least(table, pack_ushort(number))
    end = _first_at_least(table, pack_ushort(number + 1)) if number < 0xFFFF else table.indexlen
    if start >= end:
        return None
    return _key(table, start)[2:], _key(table, end - 1)[2:]


def _first_at_least(table, key: bytes) -> int:
    low, high = 0, table.indexlen
    while low < high:
        middle = (low + high) // 2
        if _key(table, middle) < key:
            low = middle + 1
        else:
            high = middle
    return low


def _key(table, index: int) -> bytes:
    return table.key_at(table._get_pos(table.indexbase + index * table.indexsize))
