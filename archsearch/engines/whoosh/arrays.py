"""Sets of scored documents as numpy arrays: evaluation.py's operations for long posting lists.

evaluation.DictOperations combines postings a document at a time in Python; for a word in a
large share of the articles (`president`, 45% of them) that is most of a query's time.  Here a
term's postings become two arrays, its documents (sorted) and their scores, scored with BM25F in
a few vectorised steps, and queries combine them as sorted arrays: AND by binary search of the
smaller in the larger, OR by summing per document (over the index, or over the parts sorted
together when they are small), a date window as a mask over the date column.  Ranking takes the best with a partition, not a sort of
every match.  The floats are evaluation.py's: the same operations in the same order per
posting; only sums of several parts may be added in another order (the last bits).

A term's postings come from its segments' postings arrays (postings_arrays.py), mapped without
a copy (SegmentArrays), where a segment has them for the term, and from Whoosh's blocks elsewhere.

numpy is imported only with this module, which evaluation.py loads where it pays (see
ARRAY_POSTINGS there): its import costs more than a rare word's whole evaluation.
"""

import mmap
import os
import struct
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from itertools import accumulate, chain
from operator import itemgetter

import numpy as np

from archsearch.engines.whoosh.evaluation import reader_kept
from archsearch.engines.whoosh.prefix_postings import PrefixEntry
from archsearch.engines.whoosh.postings_arrays import (
    EVERY_TERM_FIELDS, HEADER, NO_POSITIONS, READER_ATTRIBUTE, RECORD_FIELDS, TITLE_WORDS_KEY, WEIGHTS_STORED,
    every_term_key, kept_with_reader, mapped_whole, term_layout,
)

_DOCNUM = np.int64

# Phrase keys: a candidate's index times this, plus a position in it (articles are shorter).
_PHRASE_KEY_SPAN = 1 << 32

# An OR whose parts hold at least 1/DENSE_UNION of the index's documents sums its scores in an
# array as long as the index, faster than sorting the parts together from about there on
# (77,000 postings in 100,000 documents: 0.63 ms against 1.7-2.0 ms).
DENSE_UNION = 8


class ArrayScores(Mapping):
    """Documents (sorted, each once) and their scores, read as a dict where a caller needs one."""

    __slots__ = ("docnums", "scores")

    def __init__(self, docnums: np.ndarray, scores: np.ndarray):
        self.docnums = docnums
        self.scores = scores

    def __len__(self) -> int:
        return len(self.docnums)

    def __iter__(self) -> Iterator[int]:
        return iter(self.docnums.tolist())

    def _position(self, docnum) -> int:
        position = int(np.searchsorted(self.docnums, docnum))
        if position < len(self.docnums) and self.docnums[position] == docnum:
            return position
        return -1

    def __contains__(self, docnum) -> bool:
        return self._position(docnum) >= 0

    def __getitem__(self, docnum) -> float:
        position = self._position(docnum)
        if position < 0:
            raise KeyError(docnum)
        return float(self.scores[position])

    def values(self) -> list[float]:
        return self.scores.tolist()

    def items(self):
        return zip(self.docnums.tolist(), self.scores.tolist())

    def best(self, limit: int | None) -> list[int]:
        """The documents by score, best first and the lower number first among equals (as Whoosh
        orders them); the first `limit` (None: all)."""
        docnums, scores = self.docnums, self.scores
        if limit is not None and 0 < limit < len(scores):
            # Every document scoring at least the limit-th best score: ties at the bound included.
            threshold = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            kept = scores >= threshold
            docnums, scores = docnums[kept], scores[kept]
        order = np.lexsort((docnums, -scores))  # the last key sorts first
        return docnums[order[:limit]].tolist()

    def by_value(self, values, missing, descending: bool, limit: int | None) -> list[int]:
        """The documents by a column's value (`values`, per document: an array.array), those with
        the `missing` value last, then by score as best() orders them."""
        column = _as_array(values)[self.docnums]
        # ~ reverses the order of integers, signed or not, where a minus would wrap unsigned ones.
        order = np.lexsort((self.docnums, -self.scores, ~column if descending else column, column == missing))
        return self.docnums[order[:limit]].tolist()

    def raised(self, factors: dict[int, float]) -> "ArrayScores":
        """The scores, those of the documents in `factors` multiplied by their factor."""
        scores = self.scores.copy()
        docnums = np.fromiter(factors, _DOCNUM, len(factors))
        positions = np.searchsorted(self.docnums, docnums)
        scores[positions] = scores[positions] * np.fromiter(factors.values(), np.float64, len(factors))
        return ArrayScores(self.docnums, scores)


def _as_array(values) -> np.ndarray:
    """An array.array seen as a numpy array, without a copy."""
    return np.frombuffer(values, np.dtype(values.typecode))


_EMPTY = ArrayScores(np.empty(0, _DOCNUM), np.empty(0, np.float64))


class ArrayOperations:
    """evaluation.DictOperations' operations on ArrayScores."""

    def __init__(self, evaluator):
        self.evaluator = evaluator
        self._term_scores: dict[tuple[str, bytes], ArrayScores] = {}  # shared, never changed
        self._lengths: dict[str, np.ndarray] = {}
        self._length_parts: dict[str, np.ndarray] = {}
        self._postings: dict[tuple[str, bytes], tuple] = {}  # terms read whole: see _kept_postings
        self._live: np.ndarray | None = None
        self._arrays: list[SegmentArrays | None] | None = None
        self._deleted: dict[int, np.ndarray | None] = {}  # by id() of the evaluator's leaves
        # By id() of the expansion, kept in the value so that the id stays its own.
        self._prefix_documents: dict[int, tuple] = {}

    def _deleted_in(self, leaf) -> np.ndarray | None:
        """The segment's deleted documents (segment-relative), as an array made once per
        evaluator; None where it has none."""
        if id(leaf) not in self._deleted:
            deleted = leaf.deleted_docs_set
            self._deleted[id(leaf)] = np.fromiter(deleted, _DOCNUM, len(deleted)) if deleted else None
        return self._deleted[id(leaf)]

    @staticmethod
    def result(scores: ArrayScores) -> ArrayScores:
        return scores

    @staticmethod
    def empty() -> ArrayScores:
        return _EMPTY

    def live_documents(self, score: float) -> ArrayScores:
        if self._live is None:
            live = np.ones(self.evaluator.document_count, bool)
            live[np.fromiter(self.evaluator.deleted_documents(), _DOCNUM)] = False
            self._live = np.flatnonzero(live).astype(_DOCNUM)
        return ArrayScores(self._live, np.full(len(self._live), score))

    @staticmethod
    def intersection(parts: list[ArrayScores]) -> ArrayScores:
        """The documents in every part, with the sum of their scores."""
        smallest, *rest = sorted(parts, key=len)
        docnums, scores = smallest.docnums, smallest.scores
        for other in rest:
            if not len(docnums) or not len(other):
                return _EMPTY
            positions, found = _lookup(other.docnums, docnums)
            docnums, scores = docnums[found], scores[found] + other.scores[positions[found]]
        return ArrayScores(docnums, scores)

    def union(self, parts: list[ArrayScores]) -> ArrayScores:
        """The documents in any part, with the sum of their scores."""
        parts = [part for part in parts if len(part)]
        if len(parts) <= 1:
            return parts[0] if parts else _EMPTY
        docnums = np.concatenate([part.docnums for part in parts])
        scores = np.concatenate([part.scores for part in parts])
        count = self.evaluator.document_count
        if len(docnums) * DENSE_UNION < count:
            docnums, where = np.unique(docnums, return_inverse=True)
            return ArrayScores(docnums, np.bincount(where, weights=scores, minlength=len(docnums)))
        # Sums per document number of the whole index: no sort (a third of np.unique's time).
        present = np.zeros(count, bool)
        present[docnums] = True
        summed = np.bincount(docnums, weights=scores, minlength=count)
        docnums = np.flatnonzero(present)
        return ArrayScores(docnums, summed[docnums])

    @staticmethod
    def _found_in(docnums: np.ndarray, other: ArrayScores) -> np.ndarray:
        return np.isin(docnums, other.docnums, assume_unique=True)

    def difference(self, wanted: ArrayScores, unwanted: ArrayScores) -> ArrayScores:
        kept = ~self._found_in(wanted.docnums, unwanted)
        return ArrayScores(wanted.docnums[kept], wanted.scores[kept])

    def with_optional(self, required: ArrayScores, optional: ArrayScores) -> ArrayScores:
        """The required documents, with the optional part's scores added where it has them."""
        both = self.intersection([required, optional])
        scores = required.scores.copy()
        scores[np.searchsorted(required.docnums, both.docnums)] = both.scores
        return ArrayScores(required.docnums, scores)

    @staticmethod
    def common_documents(parts: list[np.ndarray]) -> np.ndarray:
        """The documents in every part (each increasing, each once), increasing."""
        if not parts:
            return _EMPTY.docnums
        smallest, *rest = sorted(parts, key=len)
        for other in rest:
            smallest = common_keys(smallest, other)
        return smallest

    def union_documents(self, parts: list[np.ndarray]) -> np.ndarray:
        """The documents in any part (each increasing, each once), increasing."""
        parts = [part for part in parts if len(part)]
        if len(parts) <= 1:
            return parts[0] if parts else _EMPTY.docnums
        docnums = np.concatenate(parts)
        if len(docnums) * DENSE_UNION < self.evaluator.document_count:
            return np.unique(docnums)
        present = np.zeros(self.evaluator.document_count, bool)
        present[docnums] = True
        return np.flatnonzero(present)

    def documents_within(self, docnums: np.ndarray, fieldname: str, low, high) -> np.ndarray:
        """The documents whose column value is within low..high."""
        values = _as_array(self.evaluator.sortable_values(fieldname))[docnums]
        return docnums[(low <= values) & (values <= high)]

    @staticmethod
    def postings_within(ids: np.ndarray, weights: np.ndarray, docnums) -> tuple[np.ndarray, np.ndarray]:
        """The postings (documents, weights) of those of `docnums` (increasing) among `ids`."""
        if not len(ids) or not len(docnums):
            return _EMPTY.docnums, _EMPTY.scores
        docnums = np.asarray(docnums, _DOCNUM)
        positions, found = _lookup(ids, docnums)
        return docnums[found], weights[positions[found]]

    def term_postings_within(self, fieldname: str, text: bytes, docnums) -> tuple[np.ndarray, np.ndarray]:
        """postings_within() of the term's postings, its weights taken from each segment's for
        those documents only: joined whole first (postings()), a frequent word's are a float64
        copy of every posting (800 KB for `the` at 100k), fresh pages in a request process."""
        read = self._kept_postings(fieldname, text, None)
        if not read.count or not len(docnums):
            return _EMPTY.docnums, _EMPTY.scores
        found, indexes = read.lookup(np.asarray(docnums, _DOCNUM))
        return found, _weights_at(read.weights, read.positions.starts, indexes)

    @staticmethod
    def unscored(ids: np.ndarray) -> ArrayScores:
        return ArrayScores(ids, np.zeros(len(ids)))

    @staticmethod
    def added(scores: ArrayScores, constant: float) -> ArrayScores:
        return ArrayScores(scores.docnums, scores.scores + constant)

    @staticmethod
    def boosted(scores: ArrayScores, boost: float) -> ArrayScores:
        if boost == 1.0:
            return scores
        return ArrayScores(scores.docnums, scores.scores * boost)

    def within(self, scores: ArrayScores, fieldname: str, low, high, added: float) -> ArrayScores:
        """The documents whose column value is within low..high, their scores raised by `added`."""
        values = _as_array(self.evaluator.sortable_values(fieldname))[scores.docnums]
        kept = (low <= values) & (values <= high)
        return ArrayScores(scores.docnums[kept], scores.scores[kept] + added)

    def matched(self, fieldname: str, text: bytes) -> ArrayScores:
        return self.unscored(self.documents_of(fieldname, text))

    def prefix_documents(self, expansion) -> ArrayScores:
        """The live documents holding a word of a listed prefix (fuzzy.PrefixExpansion), at no
        score: its segments' entries mapped, without a copy.  Made once per evaluator: an AND
        holding the prefix asks for them first to intersect (evaluation._documents), then to match."""
        kept = self._prefix_documents.get(id(expansion))
        if kept is not None:
            return kept[1]
        parts = []
        for (leaf, base), part in zip(self.evaluator.leaves, expansion.parts):
            if isinstance(part, PrefixEntry):
                local = np.frombuffer(part.documents, "<u2" if part.narrow else "<u4")
            else:
                local = np.array(self.evaluator.walked_documents(leaf, expansion.fieldname, part), _DOCNUM)
            deleted = self._deleted_in(leaf)
            if deleted is not None:
                local = local[~np.isin(local, deleted)]
            parts.append(local.astype(_DOCNUM) + base)
        docnums = np.concatenate(parts) if parts else _EMPTY.docnums
        found = ArrayScores(docnums, np.zeros(len(docnums)))
        self._prefix_documents[id(expansion)] = expansion, found
        return found

    def term_scores(self, fieldname: str, text: bytes) -> ArrayScores:
        scores = self._term_scores.get((fieldname, text))
        if scores is None:
            ids, weights, _ = self.postings(fieldname, text)
            scores = self._term_scores[fieldname, text] = self.scored(fieldname, text, ids, weights)
        return scores

    def scored(self, fieldname: str, text: bytes, ids: np.ndarray, weights: np.ndarray) -> ArrayScores:
        if not len(ids):
            return _EMPTY
        constants = self.evaluator.bm25_constants(fieldname, text)
        if constants is None:
            return ArrayScores(ids, weights)
        idf, length_part, boost = constants
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = self._lengths[fieldname] = np.frombuffer(self.evaluator.field_lengths(fieldname), np.uint8)
        length_parts = self._length_parts.get(fieldname)  # the field's, not the word's
        if length_parts is None:
            length_parts = self._length_parts[fieldname] = np.array(length_part)
        # evaluation.DictOperations.scored's expression, a step at a time over all postings.
        return ArrayScores(ids, idf * ((weights * boost) / (weights + length_parts[lengths[ids]])))

    def postings(self, fieldname: str, text: bytes):
        """(document numbers, weights, PostingPositions) of a term, deleted documents left out:
        from the segments' arrays (postings_arrays.py) where they hold the term, from Whoosh's
        postings elsewhere.  Read whole once per evaluator, positions included (they cost nothing
        until asked for): its scores, its phrases and proximity's closeness read the same term."""
        read = self._kept_postings(fieldname, text, None)
        return read.ids, _joined_weights(read.weights, read.positions.starts), read.positions

    def documents_of(self, fieldname: str, text: bytes) -> np.ndarray:
        """The term's documents, deleted ones left out."""
        return self._kept_postings(fieldname, text, None).ids

    def positional_postings(self, fieldname: str, text: bytes):
        """(document numbers, PostingPositions) of a term, for phrase_documents: its weights left
        unjoined (a float64 copy of the whole term, which a phrase scores only where it occurs)."""
        read = self._kept_postings(fieldname, text, None)
        return read.ids, read.positions

    def _kept_postings(self, fieldname: str, text: bytes, wanted: list[int] | None) -> "TermPostings":
        """postings() with each segment's weights left where they are (see _joined_weights), as
        kept for the evaluator's next reads: a float64 copy of a whole term, kept, would be pages
        that later work in a request process faults in afresh.  With `wanted`, a term not read
        yet is read for those documents only (at least those of them it holds: see
        evaluation.read_postings), and not kept."""
        read = self._postings.get((fieldname, text))
        if read is None:
            read = self._read_postings(fieldname, text, wanted)
            if wanted is None:
                self._postings[fieldname, text] = read
        return read

    def _read_postings(self, fieldname: str, text: bytes, wanted: list[int] | None):
        key = fieldname.encode("utf-8") + b"\0" + text
        mapped = set()
        # Its documents in those segments, deleted ones included: for idf, as Whoosh counts them.
        counts = self.evaluator.arrays_doc_counts.setdefault((fieldname, text), {})
        parts = []  # (first document's number, its ids, weights, positions: arrays, or Whoosh's encoded)
        directory = reader_kept(self.evaluator.searcher).get(_TERM_DIRECTORY)
        numbers = directory.numbers(key) if directory is not None else None
        for number, arrays in enumerate(self._segment_arrays()):
            if arrays is None:
                continue
            if directory is not None and directory.files[number] is arrays:
                index = -1 if numbers is None else numbers[number]
            else:  # no directory, or a file written since it was made (segments.add_missing_sidecars)
                index = arrays.key_number(key)
            if index < 0 and arrays.holds_every_term(fieldname):
                mapped.add(number)  # the segment has no such term
                counts[number] = 0
                continue
            found = arrays.whole_term(index, key)
            if found is None:  # not held, or damaged: read from Whoosh's postings
                continue
            mapped.add(number)
            count = counts[number] = arrays.postings_count(found)
            leaf, base = self.evaluator.leaves[number]
            kept = None
            deleted = self._deleted_in(leaf)
            if deleted is not None:
                leaf_ids = arrays.documents(found)
                kept = np.flatnonzero(~np.isin(leaf_ids, deleted))
                leaf_ids = leaf_ids[kept]
                count = len(kept)
            # The term's number, not views of the file: the postings are kept with the evaluator,
            # whose reference cycles would keep the file mapped after its searcher is let go.
            where = (arrays, found, kept)
            # The numbers as the segment holds them (TermPostings), not a view of the file: the
            # term's number where it has no deletions, a copy where it has.
            parts.append((base, (arrays, found) if kept is None else leaf_ids, count, where, where))
        read = self.evaluator.leaf_postings(fieldname, text, wanted, skipped=frozenset(mapped))
        for leaf, base, leaf_ids, leaf_weights, leaf_values in read:
            leaf_ids = np.array(leaf_ids, _DOCNUM) - base
            leaf_weights = np.array(leaf_weights, np.float64)
            kept = None
            deleted = self._deleted_in(leaf)
            if deleted is not None:
                kept = np.flatnonzero(~np.isin(leaf_ids, deleted))
                leaf_ids, leaf_weights = leaf_ids[kept], leaf_weights[kept]
            parts.append((base, leaf_ids, len(leaf_ids), leaf_weights, (leaf_values, kept)))
        parts.sort(key=itemgetter(0))
        positions = PostingPositions([(count, where) for _, _, count, _, where in parts])
        return TermPostings([(base, ids) for base, ids, _, _, _ in parts], [weights for _, _, _, weights, _ in parts], positions)

    def title_words(self, number: int) -> np.ndarray | None:
        """Each document's title length in words in the segment numbered `number` in the
        evaluator's leaves, from its postings file (postings_arrays.TITLE_WORDS_KEY); None where
        the file does not hold them."""
        arrays = self._segment_arrays()[number]
        if arrays is None:
            return None
        index = arrays.whole_term(self._key_number(number, TITLE_WORDS_KEY), TITLE_WORDS_KEY)
        return None if index is None else arrays.documents(index)

    def _key_number(self, number: int, key: bytes) -> int:
        """The key's number in the postings file of the segment numbered `number` in the
        evaluator's leaves (SegmentArrays.key_number): from the generation's TermDirectory where
        it was made with that file."""
        directory = reader_kept(self.evaluator.searcher).get(_TERM_DIRECTORY)
        arrays = self._segment_arrays()[number]
        if directory is not None and directory.files[number] is arrays:
            return directory.number(key, number)
        return arrays.key_number(key)

    def holds(self, number: int, fieldname: str, word: bytes, docnum: int) -> bool | None:
        """Whether the document (relative to the segment numbered `number` in the evaluator's
        leaves) holds the word in the field; None where the segment's arrays do not hold the
        term (it may still be in its Whoosh postings)."""
        arrays = self._segment_arrays()[number]
        if arrays is None:
            return None
        key = fieldname.encode("utf-8") + b"\0" + word
        index = self._key_number(number, key)
        if index < 0 and arrays.holds_every_term(fieldname):
            return False
        found = arrays.whole_term(index, key)
        if found is None:
            return None
        ids = arrays.documents(found)
        position = int(np.searchsorted(ids, docnum))
        return position < len(ids) and int(ids[position]) == docnum

    def _segment_arrays(self) -> list["SegmentArrays | None"]:
        """Each segment's arrays (None: it has none), looked for once per evaluator: `archsearch
        index` may write them for an older segment at any time."""
        if self._arrays is None:
            self._arrays = [segment_arrays(leaf) for leaf, _ in self.evaluator.leaves]
        return self._arrays

    def word_positions(self, fieldname: str, text: bytes, docnums: list[int], decode) -> dict[int, list[int]]:
        """The positions of the term in each of `docnums` (sorted) that has it."""
        read = self._kept_postings(fieldname, text, docnums)
        if not read.count:
            return {}
        found, indexes = read.lookup(np.asarray(docnums, _DOCNUM))
        counts, flat = read.positions.of(indexes, decode)
        flat = flat.tolist()
        ends = np.cumsum(counts).tolist()
        return {
            docnum: flat[end - count:end]
            for docnum, count, end in zip(found.tolist(), counts.tolist(), ends)
        }

    @staticmethod
    def values_of(ids: np.ndarray, values: "PostingPositions", docnums: list[int]):
        """The positions of each of `docnums` (all among `ids`), for phrase_documents."""
        return values, np.searchsorted(ids, np.asarray(docnums, _DOCNUM))

    @staticmethod
    def phrase_documents(candidates: list[int], word_values: list, decode) -> list[int]:
        """The candidates where the words stand in a row (`word_values`: each word's positions in
        each candidate, as values_of gives them; `decode` decodes those Whoosh's postings hold).
        Each word's positions, less its place in the phrase, become keys (candidate, where the
        phrase would start) in one array; the keys every word has are the phrases."""
        starts = None
        for offset, (values, indexes) in enumerate(word_values):
            counts, flat = values.of(indexes, decode)
            keys = np.repeat(np.arange(len(counts), dtype=np.int64), counts) * _PHRASE_KEY_SPAN + (
                flat + (len(word_values) - offset)  # never negative: no key runs into the previous candidate's
            )
            starts = _increasing(keys) if starts is None else common_keys(starts, _increasing(keys))
        found = starts // _PHRASE_KEY_SPAN
        if len(found):
            found = found[np.concatenate(([True], found[1:] != found[:-1]))]  # each candidate once
        return np.asarray(candidates, _DOCNUM)[found]


def _joined_weights(parts: list, starts: list[int]) -> np.ndarray:
    """A term's weights (float64) from its segments' (ArrayOperations._read_postings): an array,
    or the term in a segment's file (SegmentArrays, the term's number there, and the postings
    deletions left, None: all); `starts`: where each segment's begin among the term's, and the
    end.  Written into one array, segment by segment: no array of a segment's made in between
    (their pages are fresh ones in a request process, a fault each)."""
    joined = np.empty(starts[-1])
    for part, start, end in zip(parts, starts, starts[1:]):
        if not isinstance(part, tuple):
            joined[start:end] = part
            continue
        arrays, term, kept = part
        arrays.weights_into(term, joined[start:end], kept)
    return joined


def _weights_at(parts: list, starts: list[int], indexes: np.ndarray) -> np.ndarray:
    """_joined_weights(parts, starts)[indexes] (increasing), without joining them: the same floats,
    written into one array, segment by segment."""
    found = np.empty(len(indexes))
    bounds = np.searchsorted(indexes, starts).tolist()
    for number, part in enumerate(parts):
        low, high = bounds[number], bounds[number + 1]
        if low == high:
            continue
        chosen = indexes[low:high] - starts[number]
        if isinstance(part, tuple):
            arrays, term, kept = part
            arrays.weights_into(term, found[low:high], chosen if kept is None else kept[chosen])
        else:
            found[low:high] = part[chosen]
    return found


def _increasing(keys: np.ndarray) -> np.ndarray:
    """The phrase keys, strictly increasing as they come (candidates in order, each one's positions
    increasing, as the index writes them), or sorted, each once, if they ever are not."""
    if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
        return np.unique(keys)
    return keys


def common_keys(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The values in both strictly increasing arrays: the smaller one's looked up in the larger by
    binary search, with no sort of the two together (as np.intersect1d does) nor its copies."""
    if len(first) > len(second):
        first, second = second, first
    if not len(first):
        return first
    return first[_lookup(second, first)[1]]


def _lookup(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `wanted` is or would be in `ids` (increasing, not empty), and whether it is there."""
    positions = np.searchsorted(ids, wanted).clip(max=len(ids) - 1)
    return positions, ids[positions] == wanted


class TermPostings:
    """A term's postings as ArrayOperations read them, segment by segment: each segment's document
    numbers as the segment holds them (relative to its first document: the postings file's
    uint16/uint32 numbers, where it holds the term), its weights (see _joined_weights) and
    positions (PostingPositions).  The index-wide numbers (`ids`, int64) are joined only when
    asked: a prefix's frequent words (`t*`: the, to, that...), looked up for a few candidates,
    would otherwise each be copied whole, 800 KB apiece at 100k, fresh pages in a request.

    A segment's numbers are an array, or where they are the postings file's own, (SegmentArrays,
    the term's number there): not a view of the file, which the evaluator keeping them (in
    reference cycles) would keep mapped after its searcher is let go."""

    __slots__ = ("parts", "weights", "positions", "count", "_ids")

    def __init__(self, parts: list[tuple[int, np.ndarray | tuple]], weights: list, positions: "PostingPositions"):
        self.parts, self.weights, self.positions = parts, weights, positions
        self.count = positions.starts[-1]
        self._ids = None

    @property
    def ids(self) -> np.ndarray:
        """The documents (index-wide numbers, increasing)."""
        if self._ids is None:
            # Each segment's numbers offset into one array: no array of a segment's made in between.
            self._ids = np.empty(self.count, _DOCNUM)
            starts = self.positions.starts
            for (base, ids), start, end in zip(self.parts, starts, starts[1:]):
                np.add(_segment_ids(ids), base, out=self._ids[start:end], dtype=_DOCNUM)
        return self._ids

    def lookup(self, docnums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(those of `docnums` (increasing) that the term has, where each is among its postings),
        searched segment by segment: _lookup(ids, docnums) of the joined numbers, without them."""
        if self._ids is not None:
            if not len(self._ids):
                return _EMPTY.docnums, _EMPTY.docnums
            indexes, found = _lookup(self._ids, docnums)
            return docnums[found], indexes[found]
        starts = self.positions.starts
        found_documents, found_indexes = [], []
        for number, (base, ids) in enumerate(self.parts):
            ids = _segment_ids(ids)
            if not len(ids):
                continue
            # Past its last document no candidate can be the segment's; the next part's begin later.
            low, high = np.searchsorted(docnums, (base, base + int(ids[-1]) + 1)).tolist()
            if low == high:
                continue
            local = (docnums[low:high] - base).astype(ids.dtype)  # within the segment's numbers' type: no copy of `ids` to compare
            indexes, found = _lookup(ids, local)
            found_documents.append(docnums[low:high][found])
            found_indexes.append(indexes[found] + starts[number])
        if not found_documents:
            return _EMPTY.docnums, _EMPTY.docnums
        return np.concatenate(found_documents), np.concatenate(found_indexes)


def _segment_ids(ids: np.ndarray | tuple) -> np.ndarray:
    """A segment's numbers of a term, as TermPostings holds them."""
    if isinstance(ids, tuple):
        arrays, term = ids
        return arrays.documents(term)
    return ids


class PostingPositions:
    """Where a term stands in each of its postings (ArrayOperations.postings), segment by segment:
    in the segment's arrays (SegmentArrays, the term's number there, and the postings deletions
    left, None: all), or encoded as Whoosh's postings hold them (a list, and the postings
    deletions left)."""

    def __init__(self, parts: list[tuple[int, tuple]]):
        self._parts = [where for _, where in parts]
        # Where each segment's postings start among the term's, and where they end.
        self.starts = list(accumulate((count for count, _ in parts), initial=0))

    def of(self, indexes: np.ndarray, decode) -> tuple[np.ndarray, np.ndarray]:
        """(how many positions each posting of `indexes` (increasing) has, their positions in a row)."""
        counts, flats = [], []
        bounds = np.searchsorted(indexes, self.starts).tolist()
        for number, where in enumerate(self._parts):
            if bounds[number] == bounds[number + 1]:
                continue  # none of its postings asked for
            chosen = indexes[bounds[number]:bounds[number + 1]] - self.starts[number]
            if isinstance(where[0], list):  # Whoosh's encoded positions
                values, kept = where
                if kept is not None:
                    chosen = kept[chosen]
                positions = decode.many([values[index] for index in chosen.tolist()])
                part_counts = np.fromiter(map(len, positions), np.int64, len(positions))
                counts.append(part_counts)
                flats.append(np.fromiter(chain.from_iterable(positions), np.int64, int(part_counts.sum())))
                continue
            arrays, term, kept = where
            offsets, flat = arrays.positions(term)
            if kept is not None:
                chosen = kept[chosen]
            begins = offsets[chosen].astype(np.int64)
            part_counts = offsets[chosen + 1] - begins  # int64, as begins
            # Each posting's run of positions, flat[begin:end], gathered in one step (ndarray's
            # methods, not numpy's functions: this runs for each segment of each word asked).
            ends = part_counts.cumsum()
            gather = np.arange(int(ends[-1])) + (begins - (ends - part_counts)).repeat(part_counts)
            counts.append(part_counts)
            flats.append(flat[gather])
        if not counts:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(counts), np.concatenate(flats, dtype=np.int64)


def _file_identity(path: str) -> tuple | None:
    """What changes when a file is written or replaced: its inode, size and times (ctime, which no
    program can set back, included)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns


class SegmentArrays:
    """A segment's postings arrays (postings_arrays.py), mapped: a term's are views of the file."""

    def __init__(self, path: str, document_count: int):
        """Raises ValueError if the file is not a whole one for a segment of that many documents."""
        self._map, terms, directory = mapped_whole(path, document_count)
        self._directory = directory
        self._path, self._identity = path, _file_identity(path)
        self._checked_in = os.getpid()  # the process whose checks _checked holds
        # Left as arrays, not made lists: a request process opens every segment's file for the
        # few terms it looks up.
        records_start = directory + 8 * (terms + 1)
        self._records = np.frombuffer(self._map, "<i8", terms * RECORD_FIELDS, records_start).reshape(terms, RECORD_FIELDS)
        crcs_start = records_start + 8 * RECORD_FIELDS * terms
        self._crcs = np.frombuffer(self._map, "<u4", terms, crcs_start)
        self._keys = self._map[crcs_start + 4 * terms:]
        self._checked: dict[int, bool] = {}  # term -> whether its data is whole
        self._layouts: dict[int, tuple] = {}  # term -> _layout(): numbers only, never views of the file
        self._every_term: dict[str, bool] = {}  # see holds_every_term

    def number_keys(self) -> None:
        """Readies the file for the request processes the server forks, when it opens a
        generation, before it numbers the generation's keys (TermDirectory: in a request, a term is
        looked up there once, not by a binary search in each segment's keys, 14 keys unpacked a
        search): the terms' records and checksums are copied out of the map (44 bytes a term),
        and which fields the file holds every term of is known.  A page of a file's map that a
        request process reads first is a page fault in it (fork() does not hand a shared file
        map's pages on), and a term's record and checksum are read on different pages, two faults
        for each term of each segment a query reads."""
        self._records, self._crcs = self._records.copy(), self._crcs.copy()
        for fieldname in EVERY_TERM_FIELDS:
            self.holds_every_term(fieldname)

    def keys(self) -> list[bytes]:
        """Every key of the file, by number."""
        bounds = struct.unpack_from(f"<{len(self._crcs) + 1}Q", self._map, self._directory)
        keys = self._keys
        return [keys[start:end] for start, end in zip(bounds, bounds[1:])]

    def close(self) -> None:
        """Unmap the file, unless arrays of it are still in use (then it goes when they do)."""
        self._records = self._crcs = None
        try:
            self._map.close()
        except BufferError:
            pass

    def _key(self, index: int) -> bytes:
        # Unpacked from the map, not a numpy view of the directory: a binary search asks for 16
        # keys, and each view and list made is memory a request process writes afresh.
        start, end = _KEY_SPAN.unpack_from(self._map, self._directory + 8 * index)
        return self._keys[start:end]

    def term(self, key: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(document numbers, weights, each posting's first position in the flat positions (and
        one more), the positions; both None in a field without positions) of a term (key: field
        name, NUL, term); None if the file does not hold it, or holds it damaged (its checksum fails)."""
        index = self.find(key)
        return None if index is None else self.arrays(index)

    def find(self, key: bytes) -> int | None:
        """The term's number in the file (key: field name, NUL, term); None if the file does not
        hold it, or holds it damaged (its checksum fails)."""
        return self.whole_term(self.key_number(key), key)

    def key_number(self, key: bytes) -> int:
        """The key's number in the file, its data unchecked; -1 if the file does not hold it."""
        count = len(self._crcs)
        index = bisect_left(range(count), key, key=self._key)
        return -1 if index == count or self._key(index) != key else index

    def whole_term(self, index: int, key: bytes) -> int | None:
        """find(key) where the term's number is known (key_number, TermDirectory: -1 where the
        file does not hold the key): the number, or None where it is -1 or its data is damaged."""
        return index if index >= 0 and self._whole(index, key) else None

    def holds_every_term(self, fieldname: str) -> bool:
        """Whether the file holds every term of the field the segment has
        (postings_arrays.EVERY_TERM_FIELDS): then a term it does not hold is in none of the
        segment's documents.  Known once per file opened (number_keys: in the server)."""
        if fieldname not in EVERY_TERM_FIELDS:
            return False
        held = self._every_term.get(fieldname)
        if held is None:
            held = self._every_term[fieldname] = self.find(every_term_key(fieldname)) is not None
        return held

    def _whole(self, index: int, key: bytes) -> bool:
        """Whether the data of the term numbered `index` (key: its key) is whole: its checksum,
        computed once per file opened."""
        whole = self._checked.get(index)
        if whole and self._checked_in != os.getpid():
            self._forget_checks_if_changed()
            whole = self._checked.get(index)
        if whole is None:
            _, _, start, end, size = self._layout(index)
            whole = HEADER.size <= start and start + size == end <= self._directory and (
                zlib.crc32(memoryview(self._map)[start:end], zlib.crc32(key)) == int(self._crcs[index])
            )
            self._checked[index] = whole
        return whole

    def _forget_checks_if_changed(self) -> None:
        """In a process forked after the checks (a served request): the file is changed in place
        since it was opened (another program wrote into it: its mapping shows what was written), so
        the checks no longer hold, and each term is checked again as it is read."""
        self._checked_in = os.getpid()
        if _file_identity(self._path) != self._identity:
            self._checked.clear()

    def data_size(self) -> int:
        """The bytes of the terms' data in the file."""
        return self._directory - HEADER.size

    def check_largest(self, budget: int) -> None:
        """Checks the checksums of the file's largest terms, the largest first, up to `budget`
        bytes of their data: the server does so for the request processes it forks, which would
        each check every term they read again (zlib.crc32 runs at about 1.8 GB/s, and a short
        prefix's most frequent words hold tens of megabytes at 100,000 articles)."""
        sizes = self._records[:, 3] - self._records[:, 1]  # each term's data: end - start
        for index in np.argsort(-sizes, kind="stable").tolist():
            budget -= int(sizes[index])
            if budget < 0:
                return
            self._whole(index, self._key(index))

    def arrays(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """term()'s arrays of the term numbered `index` by find(), views of the file: whoever
        keeps them keeps the file mapped."""
        flags = self._layout(index)[0]
        ids, weights = self._view(index, _IDS), self.weights(index)
        if flags & NO_POSITIONS:
            return ids, weights, None, None
        return ids, weights, self._view(index, _OFFSETS), self._view(index, _POSITIONS)

    def weights(self, index: int) -> np.ndarray:
        """arrays()'s weights of the term numbered `index` by find(): a view of the file, or
        each posting's count of positions where its weights are not stored."""
        if self._layout(index)[0] & (NO_POSITIONS | WEIGHTS_STORED):
            return self._view(index, _WEIGHTS)
        return np.diff(self._view(index, _OFFSETS))

    def weights_into(self, index: int, floats: np.ndarray, chosen: np.ndarray | None = None) -> None:
        """Writes weights() of the term numbered `index` by find() into `floats` (float64, one
        for each posting, or for each of the postings `chosen`): the counts of positions
        subtracted into it, not an array of them made first (np.diff) and converted."""
        if self._layout(index)[0] & (NO_POSITIONS | WEIGHTS_STORED):
            weights = self._view(index, _WEIGHTS)
            floats[:] = weights if chosen is None else weights[chosen]
            return
        offsets = self._view(index, _OFFSETS)
        if chosen is None:
            np.subtract(offsets[1:], offsets[:-1], out=floats, dtype=np.float64)
        else:
            np.subtract(offsets[chosen + 1], offsets[chosen], out=floats, dtype=np.float64)

    def postings_count(self, index: int) -> int:
        """How many postings the term numbered `index` by find() has, as its record says: no view made."""
        return self._layout(index)[1][_IDS][1]

    def documents(self, index: int) -> np.ndarray:
        """The document numbers of the term numbered `index` by find(): a view of the file."""
        return self._view(index, _IDS)

    def positions(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(each posting's first position in the flat positions, and one more; the positions) of
        the term numbered `index` by find(), in a field with positions: views of the file."""
        return self._view(index, _OFFSETS), self._view(index, _POSITIONS)

    def _view(self, index: int, part: int) -> np.ndarray:
        """One of the term's arrays (_IDS, _WEIGHTS, _OFFSETS, _POSITIONS), a view of the file:
        only the one asked for (an evaluation asks for a term's documents in each segment two or
        three times, its weights once, its positions for a few candidates)."""
        dtype, length, offset = self._layout(index)[1][part]
        return np.frombuffer(self._map, dtype, length, offset)

    def _layout(self, index: int) -> tuple:
        """(flags, (dtype, length, offset in the file) of each of its arrays, start of its data,
        end of its data as recorded, its data's size as its layout makes it) of the term numbered
        `index`: its record read and its layout (postings_arrays.term_layout) worked out once per
        file opened, not for every view (they were 6-7 µs of the 9 or so of making one, 200 views
        for a 3-word AND at 100k)."""
        layout = self._layouts.get(index)
        if layout is None:
            postings, start, positions, end, flags = self._records[index].tolist()
            *parts, size = term_layout(postings, positions, flags)
            views = tuple((_DTYPES[typecode], length, start + offset) for typecode, length, offset in parts)
            layout = self._layouts[index] = (flags, views, start, end, size)
        return layout


_DTYPES = {"H": np.dtype("<u2"), "I": np.dtype("<u4"), "f": np.dtype("<f4")}
# A term's arrays in its data, in postings_arrays.term_layout's order.
_IDS, _WEIGHTS, _OFFSETS, _POSITIONS = range(4)

_KEY_SPAN = struct.Struct("<QQ")  # where a key starts and ends, two entries of the directory


class TermDirectory:
    """The number of each key (field name, NUL, term) in each of a generation's postings files,
    -1 where a file does not hold it: made by the server when it opens the generation
    (server.warm), for the requests it forks to look a term up once, not in each segment's file
    (9 words of a 3-word AND in 10 segments at 100k articles: 90 binary searches, each a page
    fault or two in the file's map).  The files' keys repeat: 442,000 in the 100k index's 10
    files, 58,000 of them apart.

    Kept in one anonymous map, no Python object per key: a hash table of the keys (CRC-32,
    probed in order), their bytes, and each one's number in each file.  A request reads it and
    writes nothing there (a dict's keys and numbers are objects whose references a lookup counts,
    a page copied for each one met); and it is no part of the C heap, where the server's freed
    memory takes the requests' arrays, a page fault a page (bench/README.md, "Every term in the
    postings file").  What building it allocates on the heap is all freed when it is made."""

    def __init__(self, files: list[SegmentArrays | None]):
        """`files`: each segment's (None: it has none)."""
        self.files = files
        # Python's lists and dicts only (freed together, the heap's top again), no numpy: its
        # cache of small arrays' memory would keep some, the freed rest about them holes.
        rows: dict[bytes, int] = {}
        columns = []
        for column, found in enumerate(files):
            if found is not None:
                add = rows.setdefault
                columns.append((column, [add(key, len(rows)) for key in found.keys()]))
        count, width = len(rows), len(files)
        self._width = width
        self._mask = (1 << max(2 * count - 1, 1).bit_length()) - 1  # at most half the slots taken
        keys = b"".join(rows)
        sizes = (4 * (self._mask + 1), 8 * (count + 1), 4 * count * width, len(keys))
        self._map = mmap.mmap(-1, max(sum(sizes), 1), flags=mmap.MAP_PRIVATE)
        view = memoryview(self._map)
        starts = list(accumulate(sizes, initial=0))
        self._slots = view[starts[0]:starts[1]].cast("I")  # a key's row + 1; 0: free
        self._offsets = view[starts[1]:starts[2]].cast("Q")  # where each key starts among `keys`, and the end
        self._numbers = view[starts[2]:starts[3]].cast("i")  # row by row, each file's number of the key
        self._keys = view[starts[3]:starts[4]]
        self._keys[:] = keys
        self._offsets[:] = array("Q", accumulate(map(len, rows), initial=0))
        numbers = self._numbers
        numbers[:] = array("i", [-1]) * (count * width)
        for column, file_rows in columns:
            # From the last to the first: a key written twice (a damaged directory) is found
            # where the binary search finds it, first.
            for number in range(len(file_rows) - 1, -1, -1):
                numbers[file_rows[number] * width + column] = number
        slots, mask = self._slots, self._mask
        for row, key in enumerate(rows, start=1):
            slot = zlib.crc32(key) & mask
            while slots[slot]:
                slot = (slot + 1) & mask
            slots[slot] = row

    def _row(self, key: bytes) -> int:
        """The key's row; -1 where no file holds it."""
        slots, offsets, keys, mask = self._slots, self._offsets, self._keys, self._mask
        slot = zlib.crc32(key) & mask
        while row := slots[slot]:
            if keys[offsets[row - 1]:offsets[row]] == key:
                return row - 1
            slot = (slot + 1) & mask
        return -1

    def numbers(self, key: bytes) -> list[int] | None:
        """The key's number in each file (-1: none); None where no file holds it."""
        row = self._row(key)
        return None if row < 0 else self._numbers[row * self._width:(row + 1) * self._width].tolist()

    def number(self, key: bytes, column: int) -> int:
        """The key's number in the file numbered `column` (-1: none)."""
        row = self._row(key)
        return -1 if row < 0 else self._numbers[row * self._width + column]


# Where the server keeps a generation's TermDirectory: with its reader (evaluation.reader_kept).
_TERM_DIRECTORY = "term directory"


def keep_term_directory(searcher, files: list[SegmentArrays | None]) -> None:
    """Makes the TermDirectory of the searcher's segments' postings files (`files`, in the order
    of its leaves, keys numbered), kept with its reader for the evaluations on it."""
    reader_kept(searcher)[_TERM_DIRECTORY] = TermDirectory(files)


def segment_arrays(leaf) -> SegmentArrays | None:
    """The arrays of a segment reader's segment; None if it has none, or none whole (kept with
    the reader: postings_arrays.kept_with_reader)."""
    return kept_with_reader(leaf, READER_ATTRIBUTE, SegmentArrays)
