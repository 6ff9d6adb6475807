"""Evaluating a query over whole posting lists at once, instead of posting by posting.

Whoosh answers a query with a tree of matchers that step through the postings one document
at a time, several Python calls per posting: counting the 45,000 articles that say
"president" in a 100,000-article archive takes it 120 ms, ranking them 200 ms more.  Here each
term's postings are read a block at a time into lists, and the query tree is evaluated with
set and dict operations and one list comprehension per term for its BM25F scores, which is
several times faster and gives every matching document and its score in one pass, so the
count and the ranking come from the same work.

The scores are Whoosh's: the same BM25F formula, statistics and field lengths, and the same
constants for what Whoosh scores as a constant (a date range adds its boost, a NOT its boost,
an unscorable field its weight).  Sums may be added in another order, so scores can differ in
the last bits.  Query nodes this module does not know make `evaluate` return None, and the
caller asks Whoosh instead; tests compare both on generated queries.

It reads Whoosh's posting blocks, term information and columns itself, through the segment
readers' internals, which is safe because whoosh-reloaded is pinned exactly (segments.py
writes the same format, and the tests compare with Whoosh's own reading).
"""

import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from itertools import accumulate
from io import BytesIO
from pickle import load, loads

from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, _lenfield
from whoosh.formats import Positions
from whoosh.reading import EmptyReader, TermNotFound
from whoosh.scoring import BM25FScorer, WeightScorer
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

from archsearch.analysis import normalise, words
from archsearch.formats import UnreadableFile
from archsearch.proximity import Occurrence, are_near, closeness, phrase_occurrences, sentence_starts, sentence_windows
from archsearch.querying import DERIVED_TITLE_FIELD, PROXIMITY_FIELDS, WORD_FORM_FIELD, DateFilter, IndexedAfter, InSentence, Mentions, Near
from archsearch.engines.whoosh.fuzzy import expansion_terms
from archsearch.engines.whoosh.store import article_body

# Ranges over a numeric column that filter what the rest of the query matches.
_COLUMN_FILTERS = (DateFilter, IndexedAfter)

_BLOCK_LENGTH = struct.Struct("!i")  # as Whoosh's StructFile.read_int()

# Whoosh scores a document matched by NOT, by a date range or by Every with the query's boost alone.
CONSTANT_SCORE = 1.0


class _Unsupported(Exception):
    """A query node this module cannot evaluate exactly as Whoosh would."""


@dataclass
class Evaluation:
    scores: dict[int, float]  # every matching document (index-wide number) and its score
    # The query's words as Whoosh reports matched terms, (field, indexed word as bytes), with the
    # documents in which each one took part in the match; NOT parts are left out.
    term_documents: list[tuple[tuple[str, bytes], set[int] | dict]] = field(default_factory=list)
    # The query's NEAR and SENTENCE parts, with the documents each matched: the passage shown
    # must be one where they hold.
    proximities: list[tuple[Near | InSentence, Collection[int]]] = field(default_factory=list)

    def matched_terms(self, docnum: int) -> list[tuple[str, bytes]]:
        return [term for term, documents in self.term_documents if docnum in documents]

    def matched_proximities(self, docnum: int) -> list[Near | InSentence]:
        return [node for node, documents in self.proximities if docnum in documents]


def evaluate(searcher, query) -> Evaluation | None:
    """Every document matching `query` with its score; None when Whoosh must answer instead."""
    return Evaluator(searcher).evaluate(query)


def matching_documents(searcher, query) -> Collection[int]:
    return Evaluator(searcher).matching_documents(query)


class Evaluator:
    """Evaluates queries on one searcher, whose segments it sees as one run of document numbers
    (as Whoosh's MultiReader numbers them).  Term postings it has scored serve its next queries
    too, such as the count of undated articles that follows a search."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.schema = searcher.schema
        reader = searcher.reader()
        # An index with no committed segment hands out an EmptyReader, which has no postings to read.
        self.leaves = [] if isinstance(reader, EmptyReader) else list(reader.leaf_readers())
        self.document_count = reader.doc_count_all()
        self._deleted = None
        self._lengths: dict[str, bytes] = {}
        self._columns: dict[str, array] = {}
        self._term_scores_read: dict[tuple[str, bytes], dict[int, float]] = {}
        self._proximities: list = []
        self._title_lengths: dict[int, int] = {}
        self._sentences: dict[tuple[int, str], list[int]] = {}

    def evaluate(self, query) -> Evaluation | None:
        """Every document matching `query` with its score; None when Whoosh must answer instead."""
        evaluation = Evaluation(scores={})
        self._proximities = evaluation.proximities
        try:
            evaluation.scores = self._evaluate(query, evaluation.term_documents, positive=True)
        except _Unsupported:
            return None
        return evaluation

    def matching_documents(self, query) -> Collection[int]:
        """The documents matching `query`, evaluated here or, where it must, by Whoosh."""
        evaluation = self.evaluate(query)
        if evaluation is not None:
            return evaluation.scores.keys()
        return self.documents_whoosh_matches(query)

    def documents_whoosh_matches(self, query) -> set[int]:
        """The documents matching `query` by Whoosh's own search, for queries evaluate() leaves to it."""
        # Never with a limit: Whoosh can undercount then (see whoosh notes).
        return set(self.searcher.search(query, limit=None, scored=False).docs())

    # The tree.

    def _evaluate(self, node, terms: list, positive: bool) -> dict[int, float]:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None and isinstance(node, wq.MultiTerm) and not isinstance(node, wq.NumericRange):
            method = self._MultiTerm
        if method is None:
            raise _Unsupported(type(node).__name__)
        return method(node, terms, positive)

    def _And(self, node, terms, positive):
        # Whoosh scores a NOT inside an AND as a match of its own, worth its boost.  Date ranges
        # next to other parts are tests on the documents those parts match, not sets of their own.
        # Every (a date filter dropped to count undated articles) only adds its score there.
        date_filters = [sub for sub in node.subqueries if isinstance(sub, _COLUMN_FILTERS)]
        everything = [sub for sub in node.subqueries if isinstance(sub, wq.Every) and not _names_field(sub)]
        others = [
            sub for sub in node.subqueries if not isinstance(sub, (*_COLUMN_FILTERS, wq.Every)) or _names_field(sub)
        ]
        if not others:
            others, date_filters, everything = node.subqueries, [], []
        parts = sorted((self._evaluate(sub, terms, positive) for sub in others), key=len)
        smallest, rest = parts[0], parts[1:]
        combined = {}
        for docnum, score in smallest.items():
            for other in rest:
                other_score = other.get(docnum)
                if other_score is None:
                    break
                score += other_score
            else:
                combined[docnum] = score
        for date_filter in date_filters:
            combined = self._within_dates(date_filter, combined)
        for every in everything:
            added = CONSTANT_SCORE * every.boost
            combined = {docnum: score + added for docnum, score in combined.items()}
        return self._boosted(combined, node.boost)

    def _Or(self, node, terms, positive):
        parts = sorted((self._evaluate(sub, terms, positive) for sub in node.subqueries), key=len, reverse=True)
        if not parts:
            return {}
        # The largest part is copied whole, in C; only the others are merged in a loop.
        combined = dict(parts[0])
        for part in parts[1:]:
            for docnum, score in part.items():
                known = combined.get(docnum)
                combined[docnum] = score if known is None else known + score
        return self._boosted(combined, node.boost)

    def _AndNot(self, node, terms, positive):
        wanted = self._evaluate(node.a, terms, positive)
        unwanted = self._evaluate(node.b, terms, positive=False)
        return self._boosted({d: s for d, s in wanted.items() if d not in unwanted}, node.boost)

    def _AndMaybe(self, node, terms, positive):
        required = self._evaluate(node.a, terms, positive)
        optional = self._evaluate(node.b, terms, positive)
        return self._boosted({d: s + optional.get(d, 0.0) for d, s in required.items()}, node.boost)

    def _Not(self, node, terms, positive):
        excluded = self._evaluate(node.query, terms, positive=False)
        score = CONSTANT_SCORE * node.boost
        return {docnum: score for docnum in self._live_documents() if docnum not in excluded}

    def _Every(self, node, terms, positive):
        if _names_field(node):
            raise _Unsupported("Every on a field")
        score = CONSTANT_SCORE * node.boost
        return dict.fromkeys(self._live_documents(), score)

    def _NullQuery(self, node, terms, positive):
        return {}

    def _DateFilter(self, node, terms, positive):
        return self._within_dates(node, dict.fromkeys(self._live_documents(), 0.0))

    _IndexedAfter = _DateFilter

    def _within_dates(self, node, scores: dict[int, float]) -> dict[int, float]:
        """The documents of `scores` whose column value (date, or index stamp) is within the range,
        their scores raised by its boost."""
        fieldobj = self.schema[node.fieldname]
        values = self.sortable_values(node.fieldname)
        low, high = fieldobj.to_column_value(node.start), fieldobj.to_column_value(node.end)
        added = CONSTANT_SCORE * node.boost
        return {
            docnum: score + added
            for docnum, score in scores.items()
            if low <= values[docnum] <= high
        }

    def _Term(self, node, terms, positive):
        fieldname = node.fieldname
        if fieldname not in self.schema:
            return {}
        try:
            text = self.schema[fieldname].to_bytes(node.text)
        except ValueError:
            return {}
        if node.boost == 0:  # a rarer word of a long prefix expansion (fuzzy.expansion_terms): matched, unscored
            scores = dict.fromkeys(self._postings(fieldname, text)[0], 0.0)
        else:
            scores = self._term_scores(fieldname, text)
        if node.boost != 1.0:
            scores = self._boosted(scores, node.boost)
        if positive:
            terms.append(((fieldname, text), scores))
        return scores

    def _Phrase(self, node, terms, positive):
        fieldname = node.fieldname
        if fieldname not in self.schema:
            return {}
        fieldobj = self.schema[fieldname]
        if node.slop != 1 or not fieldobj.format or not fieldobj.format.supports("positions"):
            raise _Unsupported("phrase with slop or without positions")
        try:
            words = [fieldobj.to_bytes(word) for word in node.words]
        except ValueError:
            return {}
        postings = [self._postings(fieldname, word, with_positions=True) for word in words]
        scored = [self._scores(fieldname, word, ids, weights) for word, (ids, weights, _) in zip(words, postings)]
        candidates = set(scored[0]).intersection(*scored[1:])
        first, *following = [dict(zip(ids, values)) for ids, _, values in postings]
        following = list(enumerate(following, start=1))
        decode = _positions_decoder(fieldobj.format)
        if len(following) == 1:
            found = _two_word_phrases(candidates, first, following[0][1], decode)
        else:
            found = []
            for docnum in candidates:
                # Where the phrase could start: the first word's positions, less each next word's offset.
                starts = set(decode(first[docnum]))
                for offset, word_positions in following:
                    starts.intersection_update(map(offset.__rsub__, decode(word_positions[docnum])))
                    if not starts:
                        break
                else:
                    found.append(docnum)
        # Whoosh scores a phrase as the AND of its words.
        matched = dict.fromkeys(found, 0.0)
        for scores in scored:
            matched = {docnum: score + scores[docnum] for docnum, score in matched.items()}
        matched = self._boosted(matched, node.boost)
        if positive:
            terms.extend(((fieldname, word), matched) for word in words)
        return matched

    def _MultiTerm(self, node, terms, positive):
        # Prefix, wildcard and fuzzy words: Whoosh ORs the words they expand to.  Those marked
        # constant-score lose the weighting in that OR, and Searcher.postings() then falls back
        # to the searcher's own: scored as usual after all.
        expanded = expansion_terms(node, self.searcher.reader())
        if len(expanded) == 1:
            expanded[0].boost = node.boost
            return self._evaluate(expanded[0], terms, positive)
        return self._Or(wq.Or(expanded, boost=node.boost), terms, positive)

    # Proximity: where the operands' words stand (see proximity.py).

    def _Near(self, node, terms, positive):
        return self._positional(node, terms, positive, lambda operands, docnum, fieldname: are_near(operands, node.distance))

    def _InSentence(self, node, terms, positive):
        def in_one_sentence(operands, docnum, fieldname):
            return sentence_windows(operands, self._sentence_starts(docnum, fieldname))

        return self._positional(node, terms, positive, in_one_sentence)

    def _Mentions(self, node, terms, positive):
        (operand,) = node.subqueries
        scores = self._evaluate(operand, terms, positive)
        occurrences = self._occurrences(operand, scores.keys())
        counted = {
            docnum: score
            for docnum, score in scores.items()
            if len(occurrences.get(docnum, {}).get("body", ())) >= node.minimum
        }
        return self._boosted(counted, node.boost)

    def closeness(self, operands, docnums: Collection[int]) -> dict[int, float]:
        """How close together `operands` (words, phrases: see querying._checked_operand) stand in
        the body of each document, as proximity.closeness() measures it; 0 ones left out."""
        found = [self._occurrences(operand, docnums) for operand in operands]
        result = {}
        for docnum in docnums:
            value = closeness([sorted(each.get(docnum, {}).get("body", ())) for each in found], len(operands))
            if value:
                result[docnum] = value
        return result

    def _positional(self, node, terms, positive, windows) -> dict[int, float]:
        """The documents where every operand occurs and `windows` finds them placed as `node`
        asks, in the title or in the body, scored as the AND of the operands."""
        parts = [self._evaluate(sub, terms, positive) for sub in node.subqueries]
        candidates = set(min(parts, key=len)).intersection(*parts)
        occurrences = [self._occurrences(sub, candidates) for sub in node.subqueries]
        matched = {}
        for docnum in candidates:
            for fieldname in ("title", "body"):
                operands = [sorted(found[docnum].get(fieldname, ())) for found in occurrences]
                if all(operands) and windows(operands, docnum, fieldname):
                    matched[docnum] = sum(part[docnum] for part in parts)
                    break
        if positive:
            self._proximities.append((node, matched.keys()))
        return self._boosted(matched, node.boost)

    def _occurrences(self, node, candidates) -> dict[int, dict[str, list[Occurrence]]]:
        """Per candidate document that has it, where `node` (a word, phrase, expanded word or
        OR of them, see querying._checked_operand) occurs in the title and in the body."""
        if isinstance(node, wq.Term):
            return self._word_occurrences(node.fieldname, node.text, candidates)
        if isinstance(node, wq.Phrase):
            found = [self._word_occurrences(node.fieldname, word, candidates) for word in node.words]
            result = {}
            for docnum in set(found[0]).intersection(*found[1:]):
                by_field = {}
                for fieldname in found[0][docnum]:
                    positions = [[first for first, _ in each[docnum].get(fieldname, ())] for each in found]
                    phrases = phrase_occurrences(positions)
                    if phrases:
                        by_field[fieldname] = phrases
                if by_field:
                    result[docnum] = by_field
            return result
        if isinstance(node, wq.MultiTerm):
            words = [word for word in node._btexts(self.searcher.reader()) if word]
            return self._occurrences(wq.Or([wq.Term(node.field(), word) for word in words]), candidates)
        if isinstance(node, wq.Or):
            result = {}
            for sub in node.subqueries:
                for docnum, by_field in self._occurrences(sub, candidates).items():
                    merged = result.setdefault(docnum, {})
                    for fieldname, found in by_field.items():
                        merged[fieldname] = merged.get(fieldname, []) + found
            return result
        if isinstance(node, wq.And):
            positional = [sub for sub in node.subqueries if _positional_fields(sub)]
            for sub in node.subqueries:
                if sub not in positional:  # a language or smart-case test beside the word
                    candidates = set(candidates).intersection(self._evaluate(sub, [], positive=False))
            return self._occurrences(positional[0], candidates) if len(positional) == 1 else {}
        raise _Unsupported(type(node).__name__)

    def _word_occurrences(self, fieldname: str, text, candidates) -> dict[int, dict[str, list[Occurrence]]]:
        if fieldname not in self.schema:
            return {}
        fieldobj = self.schema[fieldname]
        try:
            word = text if isinstance(text, bytes) else fieldobj.to_bytes(text)
        except ValueError:
            return {}
        ids, _, values = self._postings(fieldname, word, with_positions=True)
        decode = _positions_decoder(fieldobj.format)
        result = {}
        for docnum, value in zip(ids, values):
            if docnum not in candidates:
                continue
            result[docnum] = occurrences_by_field(fieldname, decode(value), lambda: self._title_length(docnum))
        return result

    def _title_length(self, docnum: int) -> int:
        length = self._title_lengths.get(docnum)
        if length is None:
            if not self.searcher.reader().doc_field_length(docnum, "title", 0):
                # No title, or one made from the lead, which `exact` leaves out (indexing.article_document).
                length = self._title_lengths[docnum] = 0
            else:
                title = self.searcher.stored_fields(docnum).get("title") or ""
                length = self._title_lengths[docnum] = len(words(normalise(title)))
        return length

    def _sentence_starts(self, docnum: int, fieldname: str) -> list[int]:
        """The words that begin a sentence in the document's title or body, read from its text,
        which is split into words as indexing split it."""
        starts = self._sentences.get((docnum, fieldname))
        if starts is None:
            stored = self.searcher.stored_fields(docnum)
            try:
                text = stored.get("title") or "" if fieldname == "title" else article_body(stored)
            except (UnreadableFile, OSError):
                text = ""  # the file went away since indexing: no sentence to find
            starts = self._sentences[docnum, fieldname] = sentence_starts(normalise(text))
        return starts

    # Postings and statistics.

    @staticmethod
    def _boosted(scores: dict[int, float], boost: float) -> dict[int, float]:
        if boost == 1.0:
            return scores
        return {docnum: score * boost for docnum, score in scores.items()}

    def _term_scores(self, fieldname: str, text: bytes) -> dict[int, float]:
        # The dicts kept here are shared, never changed: every combination builds a new one.
        scores = self._term_scores_read.get((fieldname, text))
        if scores is None:
            ids, weights, _ = self._postings(fieldname, text)
            scores = self._term_scores_read[fieldname, text] = self._scores(fieldname, text, ids, weights)
        return scores

    def _scores(self, fieldname: str, text: bytes, ids: list[int], weights: list[float]) -> dict[int, float]:
        if not ids:
            return {}
        scorer = self.searcher.weighting.scorer(self.searcher, fieldname, text)
        if type(scorer) is WeightScorer:
            return dict(zip(ids, weights))
        if type(scorer) is not BM25FScorer:
            raise _Unsupported(type(scorer).__name__)
        idf, avgfl, B, K1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        # bm25() of whoosh.scoring with the length part computed once per length byte: the
        # same operations in the same order, so the same floats.
        length_part = [K1 * ((1 - B) + B * (byte_to_length(byte) or 0) / avgfl) for byte in range(256)]
        lengths = self._field_lengths(fieldname)
        boost = K1 + 1
        return {
            docnum: idf * ((tf * boost) / (tf + length_part[lengths[docnum]]))
            for docnum, tf in zip(ids, weights)
        }

    def _postings(self, fieldname: str, text: bytes, with_positions: bool = False):
        """(document numbers, weights, encoded positions or None) of a term, deleted documents left out."""
        ids: list[int] = []
        weights: list[float] = []
        values: list[bytes] | None = [] if with_positions else None
        for leaf, base in self.leaves:
            try:
                terminfo = leaf._terms.term_info(fieldname, text)
            except TermNotFound:
                continue
            leaf_ids, leaf_weights, leaf_values = _read_postings(leaf._terms._postfile, terminfo, base, with_positions)
            deleted = leaf.deleted_docs_set
            if deleted:
                kept = [i for i, docnum in enumerate(leaf_ids) if docnum - base not in deleted]
                leaf_ids = [leaf_ids[i] for i in kept]
                leaf_weights = [leaf_weights[i] for i in kept]
                if with_positions:
                    leaf_values = [leaf_values[i] for i in kept]
            ids += leaf_ids
            weights += leaf_weights
            if with_positions:
                values += leaf_values
        return ids, weights, values

    def _field_lengths(self, fieldname: str) -> bytes:
        """Each document's field length, as the byte Whoosh encodes it (0: none)."""
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            parts = []
            for leaf, _ in self.leaves:
                count = leaf.doc_count_all()
                column = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
                raw = column._dbfile.get(column._basepos, column._count) if column is not None else b""
                parts.append(raw.ljust(count, b"\0"))  # trailing documents without the field have no byte
            lengths = self._lengths[fieldname] = b"".join(parts)
        return lengths

    def sortable_values(self, fieldname: str):
        """A numeric field's column: per document, its value as Whoosh sorts it, or the column's default."""
        values = self._columns.get(fieldname)
        if values is None:
            values = self._columns[fieldname] = self._read_sortable_values(fieldname)
        return values

    def field_values(self, fieldname: str, docnums) -> list:
        """The values of a numeric field's column for these documents, as the field holds them."""
        raw, from_column = self.sortable_values(fieldname), self.schema[fieldname].from_column_value
        return [from_column(raw[docnum]) for docnum in docnums]

    def value_span(self, fieldname: str) -> tuple | None:
        """The smallest and largest value a numeric field holds in the live documents; None if none has one."""
        raw = self.sortable_values(fieldname)
        deleted = self._deleted_documents()
        present = set(raw if not deleted else (raw[docnum] for docnum in self._live_documents()))
        present.discard(self.schema[fieldname].default_column()._default)  # documents without a value
        if not present:
            return None
        from_column = self.schema[fieldname].from_column_value
        return from_column(min(present)), from_column(max(present))

    def _read_sortable_values(self, fieldname: str):
        column = self.schema[fieldname].default_column()
        values = array(column._typecode)
        for leaf, _ in self.leaves:
            count = leaf.doc_count_all()
            leaf_values = array(column._typecode)
            # A segment where no document has a value (only undated articles, say) has no column file.
            if leaf.has_column(fieldname):
                reader = leaf.column_reader(fieldname, column, translate=False)
                leaf_values.frombytes(reader._dbfile.get(reader._basepos, reader._count * reader._fixedlen))
                if sys.byteorder == "little":
                    leaf_values.byteswap()  # columns are written big-endian
            leaf_values.extend([column._default] * (count - len(leaf_values)))
            values += leaf_values
        return values

    def _live_documents(self):
        deleted = self._deleted_documents()
        return (docnum for docnum in range(self.document_count) if docnum not in deleted)

    def _deleted_documents(self) -> set[int]:
        if self._deleted is None:
            self._deleted = {base + docnum for leaf, base in self.leaves for docnum in leaf.deleted_docs_set or ()}
        return self._deleted


def occurrences_by_field(fieldname: str, positions, title_length: Callable[[], int]) -> dict[str, list[Occurrence]]:
    """A word's positions in `fieldname` as occurrences in the title or in the body: a title made
    from the lead is indexed apart (schema.py) but is the title all the same, and the words as
    written run on from the title's (`title_length()` of them) to the body's (schema.exact_text)."""
    if fieldname != WORD_FORM_FIELD:
        return {"title" if fieldname == DERIVED_TITLE_FIELD else fieldname: [(position, position) for position in positions]}
    length = title_length()
    by_field: dict[str, list[Occurrence]] = {}
    for position in positions:
        if position < length:
            by_field.setdefault("title", []).append((position, position))
        else:
            by_field.setdefault("body", []).append((position - length, position - length))
    return by_field


def _positional_fields(node) -> bool:
    """Whether the node looks for words whose positions the index holds."""
    leaves = [node] if node.is_leaf() else list(node.leaves())
    return all(leaf.field() in PROXIMITY_FIELDS for leaf in leaves)


def _names_field(node) -> bool:
    return isinstance(node, wq.Every) and node.fieldname not in (None, "", "*")


def _read_postings(postfile, terminfo, base: int, with_positions: bool):
    """A term's postings in one segment, document numbers offset by `base`: read in one piece and
    split into W3 blocks here (length, pickled block information, pickled data), which takes a
    third of the Python calls W3LeafMatcher makes to step from block to block."""
    if terminfo.is_inlined():
        raise _Unsupported("inlined postings")  # neither our writer nor whoosh-reloaded's inlines them
    start, length = terminfo.extent()
    if isinstance(length, tuple):
        length = length[0]  # W3TermInfo.from_bytes() keeps the unpacked tuple, not its number
    data = BytesIO(postfile.get(start, length))
    if data.read(len(WHOOSH3_HEADER_MAGIC)) != WHOOSH3_HEADER_MAGIC:
        raise _Unsupported("postings without Whoosh 3's header")
    ids: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    while True:
        block_length = _BLOCK_LENGTH.unpack(data.read(_INT_SIZE))[0]
        block_start = data.tell()
        count, _, _, compression, _, _ = load(data)
        block = data.read(abs(block_length) - (data.tell() - block_start))
        gaps, block_weights, block_values = loads(zlib.decompress(block) if compression else block)
        first = len(ids)
        ids += accumulate(gaps, initial=base)
        del ids[first]  # accumulate's initial value
        if block_weights is None:
            weights += [1.0] * count
        elif isinstance(block_weights, float):
            weights += [block_weights] * count
        else:
            weights += block_weights
        if with_positions:
            values += block_values
        if block_length < 0:  # the last block's length is written negative
            return ids, weights, values


def _two_word_phrases(candidates, first: dict, second: dict, decode) -> list[int]:
    """The candidates where the second word comes right after the first: the common phrase, where
    each word is most often in the article once."""
    found = []
    for docnum in candidates:
        first_positions, second_positions = decode(first[docnum]), decode(second[docnum])
        if len(first_positions) == 1 and len(second_positions) == 1:
            if second_positions[0] - first_positions[0] == 1:
                found.append(docnum)
        elif not set(first_positions).isdisjoint(map((1).__rsub__, second_positions)):
            found.append(docnum)
    return found


def _positions_decoder(fieldformat):
    """The format's decode_positions(), remembering what it decoded: most words occur once in an
    article, so the same few thousand encoded single positions come back again and again."""
    decode = _decode_positions if type(fieldformat) is Positions else fieldformat.decode_positions
    decoded: dict[bytes, list[int]] = {}

    def decode_once(value: bytes) -> list[int]:
        positions = decoded.get(value)
        if positions is None:
            positions = decoded[value] = decode(value)
        return positions

    return decode_once


def _decode_positions(value: bytes) -> list[int]:
    """Positions.decode_positions(), with the gaps summed in C."""
    if value[-1:] != b".":
        value += b"."  # minified values may lose pickle's final STOP
    return list(accumulate(loads(value[_INT_SIZE:])))
