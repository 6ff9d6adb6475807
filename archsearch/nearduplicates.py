"""Near-identical articles: wire stories republished by many sites with small edits.

Each body gets a MinHash sketch of its 5-word shingles, made with one-permutation hashing:
every shingle is hashed once (CRC-32) and falls into one of SKETCH_SIZE buckets, which keeps
its smallest hash. That costs one hash per shingle, where classic MinHash costs one per
shingle per permutation, so sketching stays a small part of indexing in pure Python (datasketch
would bring numpy and SciPy for the same estimate). The share of buckets two sketches agree
on estimates the Jaccard resemblance of their shingle sets. For finding candidates in a large
index, the sketch is cut into bands whose values become index terms (locality-sensitive
hashing): two articles that share a band term are candidates, checked with `resemblance`.

A body too short to compare (`-1`, `View Comments`, a caption) has no sketch: a few shingles
fill only a few buckets, and densifying copies them into the rest, so any two such bodies that
share a phrase would look like copies whatever their titles.
"""

import re
import zlib
from collections.abc import Collection
from weakref import WeakKeyDictionary

SKETCH_SIZE = 32
ROWS_PER_BAND = 4  # 8 bands: articles 80% alike share a band 99% of the time, 50% alike 40%
SHINGLE_WORDS = 5
# Articles whose estimated resemblance reaches this are copies of one another.
NEAR_DUPLICATE = 0.8
EMPTY = -1
# Buckets a body's shingles must fill for it to be compared at all: about 10 shingles, a body of
# 14 words or more.  Counted as distinct values, so sketches that indexes already hold (densified
# from however few buckets) are judged by the same rule.
MIN_FILLED_BUCKETS = 8

_WORD = re.compile(r"\w+")


def shingle_hashes(text: str) -> set[int]:
    """32-bit hashes of the text's 5-word shingles, built in C calls: word CRCs, then tuple hashes
    (deterministic for tuples of ints, unlike str hashes)."""
    word_hashes = list(map(zlib.crc32, map(str.encode, _WORD.findall(text.lower()))))
    if len(word_hashes) < SHINGLE_WORDS:
        return {hash(tuple(word_hashes)) & 0xFFFFFFFF} if word_hashes else set()
    shifted = [word_hashes[offset:] for offset in range(SHINGLE_WORDS)]
    return {value & 0xFFFFFFFF for value in map(hash, zip(*shifted))}


def sketch(text: str) -> tuple[int, ...]:
    minima = [EMPTY] * SKETCH_SIZE
    unfilled = SKETCH_SIZE
    # In ascending order the first value seen in a bucket is its minimum, and once every bucket
    # has one the rest can be skipped.
    for value in sorted(shingle_hashes(text)):
        bucket = value % SKETCH_SIZE
        if minima[bucket] == EMPTY:
            minima[bucket] = value // SKETCH_SIZE
            unfilled -= 1
            if not unfilled:
                break
    if SKETCH_SIZE - unfilled < MIN_FILLED_BUCKETS:
        return (EMPTY,) * SKETCH_SIZE
    return _densify(minima)


def _densify(minima: list[int]) -> tuple[int, ...]:
    """Fill empty buckets from the next full one, so short texts still compare (Shrivastava's rotation)."""
    if EMPTY not in minima or all(value == EMPTY for value in minima):
        return tuple(minima)
    filled = list(minima)
    for bucket, value in enumerate(minima):
        offset = 1
        while value == EMPTY:
            value = minima[(bucket + offset) % SKETCH_SIZE]
            offset += 1
        filled[bucket] = value
    return tuple(filled)


def comparable(signature: tuple[int, ...]) -> bool:
    """Whether the body behind `signature` is long enough to be compared (see MIN_FILLED_BUCKETS)."""
    return bool(signature) and signature[0] != EMPTY and len(set(signature)) >= MIN_FILLED_BUCKETS


def resemblance(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    if not comparable(first) or not comparable(second):
        return 0.0
    return sum(a == b for a, b in zip(first, second)) / SKETCH_SIZE


def band_terms(signature: tuple[int, ...]) -> list[str]:
    if not comparable(signature):
        return []
    return [
        f"{band}:" + ".".join(f"{value:x}" for value in signature[start : start + ROWS_PER_BAND])
        for band, start in enumerate(range(0, SKETCH_SIZE, ROWS_PER_BAND))
    ]


# The copies of an article stay the same as long as the reader (one generation of the index):
# a searcher kept open between queries (the resident server) looks each article's up once.
_copies_seen_by_reader: "WeakKeyDictionary[object, dict[int, list[int]]]" = WeakKeyDictionary()


def copies_among(searcher, matching: Collection[int] | None, docnum: int, signature: tuple[int, ...]) -> list[int]:
    """The documents near-identical to `docnum`, among `matching` (None: the whole index).

    Candidates come straight from the postings of the article's band terms: a handful of
    documents, where a query would cost a whole search."""
    reader = searcher.reader()
    seen = _copies_seen_by_reader.setdefault(reader, {})
    copies = seen.get(docnum)
    if copies is None:
        copies = seen[docnum] = _copies(searcher, reader, docnum, signature)
    return copies if matching is None else [copy for copy in copies if copy in matching]


def _copies(searcher, reader, docnum: int, signature: tuple[int, ...]) -> list[int]:
    from whoosh.reading import TermNotFound

    candidates = set()
    for band in band_terms(signature):
        try:
            # The reader's postings, not the searcher's: no scorer to set up for each band.
            candidates.update(reader.postings("dupbands", band).all_ids())
        except TermNotFound:
            continue
    candidates.discard(docnum)
    return sorted(
        candidate
        for candidate in candidates
        if not reader.is_deleted(candidate)
        and resemblance(signature, searcher.stored_fields(candidate).get("sketch") or ()) >= NEAR_DUPLICATE
    )
