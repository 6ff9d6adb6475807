"""Evaluating a query over whole posting lists at once, instead of posting by posting.

Whoosh answers a query with a tree of matchers that step through the postings one document
at a time, several Python calls per posting: counting the 45,000 articles that say
"president" in a 100,000-article archive takes it 120 ms, ranking them 200 ms more.  Here each
term's postings are read into lists, from the segment's postings file where it holds the term
(postings_arrays.ListedPostings: a frequent word's arrays, no unpickling) and a block at a time
from Whoosh's postings elsewhere, and the query tree is evaluated with
set and dict operations and one list comprehension per term for its BM25F scores, which is
several times faster and gives every matching document and its score in one pass, so the
count and the ranking come from the same work.  The sets of scored documents are dicts
(DictOperations) or, for long posting lists and in the server, numpy arrays (arrays.py), behind
the same operations; the tree is walked once, by Evaluator, whichever they are.

The scores are Whoosh's: the same BM25F formula, statistics and field lengths, and the same
constants for what Whoosh scores as a constant (a date range adds its boost, a NOT its boost,
an unscorable field its weight).  Sums may be added in another order, so scores can differ in
the last bits.  Query nodes this module does not know make `evaluate` return None, and the
caller asks Whoosh instead; tests compare both on generated queries.

It reads Whoosh's posting blocks, term information and columns itself, through the segment
readers' internals, which is safe because whoosh-reloaded is pinned exactly (segments.py
writes the same format, and the tests compare with Whoosh's own reading).
"""

import heapq
import struct
import sys
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from itertools import accumulate, compress, islice, repeat
from math import log
from operator import add, eq, itemgetter, lt, mul, not_, sub
from io import BytesIO
from pickle import load, loads

from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3Codec, _lenfield
from whoosh.filedb.compound import CompoundStorage
from whoosh.fields import NUMERIC
from whoosh.formats import Positions
from whoosh.reading import EmptyReader, TermNotFound
from whoosh.scoring import BM25F
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length, length_to_byte

from archsearch.analysis import normalise, words
from archsearch.formats import UnreadableFile
from archsearch.proximity import Occurrence, are_near, closeness, in_one_sentence, phrase_occurrences
from archsearch.querying import DERIVED_TITLE_FIELD, PROXIMITY_FIELDS, WORD_FORM_FIELD, DateFilter, IndexedAfter, InSentence, Near
from archsearch.engines.whoosh import postings_arrays
from archsearch.engines.whoosh.segment_terms import read_segment_terms, segment_terms
from archsearch.engines.whoosh.postings_arrays import _COUNT_FLOATS, PositionRuns, decode_positions, listed_postings
from archsearch.engines.whoosh.store import article_body
from archsearch.records import Factory, Record

TYPE_CHECKING = False  # typing's constant, by its name (as type checkers read it): a query loads no typing
if TYPE_CHECKING:  # prefix and fuzzy words' modules load with the first such word (_prefix_expansion)
    from archsearch.engines.whoosh.fuzzy import PrefixExpansion

# Ranges over a numeric column that filter what the rest of the query matches.
_COLUMN_FILTERS = (DateFilter, IndexedAfter)

_BLOCK_LENGTH = struct.Struct("!i")  # as Whoosh's StructFile.read_int()

# The field lengths that a length byte stands for alone (Whoosh keeps a document's field length
# as one byte, length_to_byte: exact up to 10, then shared by several lengths), by byte.
_LENGTH_OF_BYTE = {length_to_byte(length): length for length in range(11)}

# A word (an OR of terms) is ranked by top_ranked.py where its terms hold this many postings or
# more: below, scoring them all costs little.
TOP_RANKED_POSTINGS = 4096

# A term's postings for a few of its documents are looked up one by one (a binary search in its
# segment's) where they are fewer than its documents over this, else picked from all its postings.
_LOOKED_UP = 8

# segment_postings reads a segment's term from its postings file from this many documents on (in
# a title's fields: their terms are in fewer documents), from Whoosh's blocks below, though the file
# may hold every term (postings_arrays.EVERY_TERM_FIELDS): in a process of its own (a query without
# the server) a block or two costs less than the file's opening and binary search, which a
# served request's arrays (arrays.py) are spared (at 100k articles, 10 segments: their files
# opened 0.5 ms, 30 lookups 0.6 ms, where Whoosh looked the 30 up in 0.3 ms).
_TITLE_FILE_POSTINGS = 16
_TITLE_FIELDS = frozenset({"title", DERIVED_TITLE_FIELD})

# A position's successor, called in C by map() (no Python frame per position, as a lambda has).
_ONE_PAST = (1).__add__

# Whoosh scores a document matched by NOT, by a date range or by Every with the query's boost alone.
CONSTANT_SCORE = 1.0

# A query is evaluated with numpy arrays (arrays.py) when numpy is loaded already (the server
# loads it), or when a word of it is in this many articles or more: arrays save about 0.3 µs of
# CPU per posting (`president`, 45,563 articles of 100k: 36 -> 22 ms), numpy's import costs about
# 65 ms, so in a process of its own they pay from about 250,000 postings (bench/README.md).
ARRAY_POSTINGS = 250_000


class _Unsupported(Exception):
    """A query node this module cannot evaluate exactly as Whoosh would."""


class Evaluation(Record):
    """What evaluating a query found: its documents' scores and what each matched."""

    # Every matching document (index-wide number) and its score: a ScoreDict, or an
    # arrays.ArrayScores when the query was evaluated with arrays; both rank (best(), by_value()).
    scores: Mapping[int, float]
    # The query's words as Whoosh reports matched terms, (field, indexed word as bytes), with the
    # documents in which each one took part in the match; NOT parts are left out.
    term_documents: list[tuple[tuple[str, bytes], set[int] | dict]] = Factory(list)
    # The query's NEAR and SENTENCE parts, with the documents each matched: the passage shown
    # must be one where they hold.
    proximities: list[tuple[Near | InSentence, Collection[int]]] = Factory(list)

    def matched_terms(self, docnum: int, body: str | None = None) -> list[tuple[str, bytes]]:
        """`body`: the document's body, where the caller has it (a listed prefix's words are found
        in it): else read from its file again."""
        found = []
        for term, documents in self.term_documents:
            if docnum in documents:
                while isinstance(documents, _WhereAllMatch):
                    documents = documents.documents
                found += documents.words_in(docnum, body) if isinstance(documents, _PrefixWords) else [term]
        return found

    def matched_proximities(self, docnum: int) -> list[Near | InSentence]:
        return [node for node, documents in self.proximities if docnum in documents]


class _WhereAllMatch:
    """A word's documents kept to those where the AND around it matched (Evaluation.term_documents)."""

    __slots__ = ("documents", "where")

    def __init__(self, documents, where):
        self.documents, self.where = documents, where

    def __contains__(self, docnum) -> bool:
        return docnum in self.where and docnum in self.documents


def evaluate(searcher, query) -> Evaluation | None:
    """Every document matching `query` with its score; None when Whoosh must answer instead."""
    return Evaluator(searcher).evaluate(query)


def matching_documents(searcher, query) -> Collection[int]:
    return Evaluator(searcher).matching_documents(query)


def _prefix_expansion(node, reader) -> "PrefixExpansion | None":
    """fuzzy.prefix_expansion of a prefix word, None for any other node: fuzzy.py and the modules
    it imports (0.5 ms) load with a query's first prefix or fuzzy word, which made its node."""
    if not isinstance(node, wq.Prefix):
        return None
    from archsearch.engines.whoosh.fuzzy import prefix_expansion

    return prefix_expansion(node, reader)


class Evaluator:
    """Evaluates queries on one searcher, whose segments it sees as one run of document numbers
    (as Whoosh's MultiReader numbers them).  Term postings it has scored serve its next queries
    too, such as the count of undated articles that follows a search."""

    def __init__(self, searcher, arrays: bool | None = None):
        """`arrays`: evaluate with numpy arrays (True), with dicts (False), or with arrays where
        they pay (None: see arrays_pay)."""
        self.searcher = searcher
        self.arrays = arrays
        self.schema = searcher.schema
        reader = searcher.reader()
        # An index with no committed segment hands out an EmptyReader, which has no postings to read.
        self.leaves = [] if isinstance(reader, EmptyReader) else list(reader.leaf_readers())
        self.document_count = reader.doc_count_all()
        self._deleted = None
        self._proximities: list = []
        self._title_lengths: dict[int, int] = {}
        self._title_words: dict[int, object] = {}  # by number in self.leaves: see _segment_title_words
        self._bases = [base for _, base in self.leaves]
        self._in_sentence: dict[tuple, bool] = {}
        self._postings_read: dict[tuple[str, bytes, Collection[int]], list[tuple]] = {}
        # Each segment's term information for a word (None: the segment has none), read once per
        # segment where it is needed: in key order for the words of a long prefix (see
        # _MultiTerm: every segment's then), else when the word's postings are looked for in a
        # segment whose postings arrays do not hold it.
        self._term_infos: dict[tuple[str, bytes], dict[int, object]] = {}
        self._term_infos_whole: set[tuple[str, bytes]] = set()  # the words whose every segment's are known
        self._segment_postings: dict[tuple[str, bytes], dict[int, tuple]] = {}  # see segment_postings
        # How many documents (deleted ones included) a word has in the segments whose postings
        # arrays hold it, as read there (by number in self.leaves): its term information unread.
        self.arrays_doc_counts: dict[tuple[str, bytes], dict[int, int]] = {}
        # While only some documents are scored (_scored_where_all_match): those, and the number of
        # documents of each node (by id()) over the whole index.
        self._within = None
        self._sizes: dict[int, int] = {}
        # The documents of ORs of words, as _documents united them with dicts (by node: equal
        # nodes alike), never changed: for _documents_only, as the count of undated articles after
        # a dated search asks for the words' documents again (4.8 ms at 100k articles, `election`).
        self._united: dict[wq.Query, set[int]] = {}
        self._dicts = DictOperations(self)
        self._arrays = None
        self._ops = self._dicts  # those of the evaluation under way

    def evaluate(self, query) -> Evaluation | None:
        """Every document matching `query` with its score; None when Whoosh must answer instead."""
        operations = [self._dicts]
        if self.arrays if self.arrays is not None else self.arrays_pay(query):
            if self._arrays is None:
                from archsearch.engines.whoosh.arrays import ArrayOperations

                self._arrays = ArrayOperations(self)
            operations.insert(0, self._arrays)  # then dicts for the nodes arrays leave to them
        else:
            evaluation = self._top_ranked(self._as_words(query))
            if evaluation is not None:
                return evaluation
        for self._ops in operations:
            evaluation = Evaluation(scores={})
            self._proximities = evaluation.proximities
            try:
                evaluation.scores = self._ops.result(self._evaluate(query, evaluation.term_documents, positive=True))
            except _Unsupported:
                continue
            return evaluation
        return None

    def arrays_pay(self, query) -> bool:
        """Whether arrays evaluate `query` faster, numpy's import included: numpy is loaded
        already (the server loads it), or some word of the query is in ARRAY_POSTINGS articles or
        more, or it asks for every article (Every), or a prefix read from its entries scores
        words in that many (`t*`: the, to, that...).  A date window counts for nothing: beside
        words it only filters theirs."""
        if "numpy" in sys.modules:
            return True
        reader = self.searcher.reader()
        for leaf in [query] if query.is_leaf() else query.leaves():
            expansion = _prefix_expansion(leaf, reader)
            if expansion is not None:
                postings = expansion.scored_postings
            elif isinstance(leaf, wq.Every):
                postings = self.document_count
            elif isinstance(leaf, (wq.Term, wq.Phrase)) and leaf.fieldname in self.schema:
                fieldobj = self.schema[leaf.fieldname]
                try:
                    texts = [fieldobj.to_bytes(word) for word in (leaf.words if isinstance(leaf, wq.Phrase) else [leaf.text])]
                except ValueError:  # not a value of the field
                    texts = []
                postings = max((self._postings_count(leaf.fieldname, text) for text in texts), default=0)
            else:
                postings = 0
            if postings >= ARRAY_POSTINGS:
                return True
        return False

    def _postings_count(self, fieldname: str, text: bytes) -> int:
        """The term's postings (deleted documents' included) in every segment, from the term
        information the evaluation reads next (_term_info), not from the reader's doc_frequency(),
        which looks each segment's up once more (a 3-word AND: 9 terms in each of 10 segments)."""
        infos = [self._term_info(number, leaf, fieldname, text) for number, (leaf, _) in enumerate(self.leaves)]
        return sum(info.doc_frequency() for info in infos if info is not None)

    def _top_ranked(self, query) -> Evaluation | None:
        """A frequent word (an OR of terms, or a term), evaluated with dicts, as top_ranked.py
        ranks it: its best documents scored, not all; None where it does not pay (its terms hold
        fewer than TOP_RANKED_POSTINGS postings, or the one of highest bound more than
        top_ranked.FIRST_TERM_SHARE of them), or for another shape of query."""
        if type(query) is wq.Or and all(type(sub) is wq.Term for sub in query.subqueries):
            nodes, boost = query.subqueries, query.boost
        elif type(query) is wq.Term:
            nodes, boost = [query], 1.0
        else:
            return None
        if boost <= 0 or any(node.boost <= 0 for node in nodes) or type(self.searcher.weighting) is not BM25F:
            return None
        wanted = [(node, self._term_text(node)) for node in nodes]
        wanted = [(node, text) for node, text in wanted if text is not None]  # those _Term matches nothing with
        if not wanted or any(not self.schema[node.fieldname].scorable for node, _ in wanted):
            return None
        postings = sum(self._postings_count(node.fieldname, text) for node, text in wanted)
        if postings < TOP_RANKED_POSTINGS:
            return None
        from archsearch.engines.whoosh import top_ranked  # only here: a rare word's process needs none of it

        terms = [
            top_ranked.TermPostings(
                (node.fieldname, text), node.boost, self.bm25_constants(node.fieldname, text),
                self.segment_postings(node.fieldname, text), self.field_lengths(node.fieldname),
            )
            for node, text in wanted
        ]
        if max(terms, key=top_ranked.TermPostings.bound).size > postings * top_ranked.FIRST_TERM_SHARE:
            return None

        def whole():
            self._ops = self._dicts
            return self._dicts.result(self._evaluate(query, [], positive=True))

        # Each word's count of live documents, which orders the sums (_Or) as in the whole evaluation.
        sizes = dict.fromkeys(map(id, nodes), 0)
        sizes.update((id(node), term.size) for (node, _), term in zip(wanted, terms))

        def scored_within(docnums: list[int]) -> dict[int, float]:
            kept = self._ops, self._within, self._sizes
            self._ops, self._within, self._sizes = self._dicts, docnums, sizes
            try:
                return self._evaluate(query, [], positive=True)
            finally:
                self._ops, self._within, self._sizes = kept

        scores = top_ranked.TopRankedScores(terms, boost, self._bases, whole, scored_within)
        return Evaluation(scores=scores, term_documents=[
            (term.term, top_ranked.TermDocuments(term, scores.number_of)) for term in terms
        ])

    def segment_postings(self, fieldname: str, text: bytes) -> dict[int, tuple]:
        """Per segment holding the term (number in self.leaves, in order): (its first document's
        number, document numbers (segment-relative), weights or None where they are the counts of
        positions, offsets of each posting's positions or None, its deleted documents, positions:
        flat, or Whoosh's encoded values, or None), as the postings file holds them where it does
        (arrays: nothing made per posting), else from Whoosh's postings (lists).  Read once."""
        found = self._segment_postings.get((fieldname, text))
        if found is not None:
            return found
        found = {}
        key = fieldname.encode("utf-8") + b"\0" + text
        for number, (leaf, base) in enumerate(self.leaves):
            terminfo = self._term_info(number, leaf, fieldname, text)
            if terminfo is None or terminfo.doc_frequency() < _file_postings(fieldname):
                continue
            listed = listed_postings(leaf)
            arrays = listed._arrays(key) if listed is not None else None
            if arrays is not None:
                (ids, weights, offsets, positions), flags = arrays
                if not flags & postings_arrays.WEIGHTS_STORED:
                    weights = None
                if flags & postings_arrays.NO_POSITIONS:
                    offsets = positions = None
                found[number] = (base, ids, weights, offsets, leaf.deleted_docs_set or frozenset(), positions)
        for leaf, base, ids, weights, positions in self.leaf_postings(fieldname, text, skipped=frozenset(found)):
            if base:
                ids = [docnum - base for docnum in ids]
            found[self.segment_number(base)] = (base, ids, weights, None, leaf.deleted_docs_set or frozenset(), positions)
        found = self._segment_postings[fieldname, text] = dict(sorted(found.items()))
        return found

    def read_segment_postings(self, fieldname: str, text: bytes) -> bool:
        """Whether segment_postings() read the term already."""
        return (fieldname, text) in self._segment_postings

    def count_matching(self, query) -> int:
        """How many documents match `query`: with dicts, for words, ORs, ANDs, NOTs, date windows
        and every document, as sets of documents, unscored (the count of undated articles after a
        dated search scored every posting of its words and of `undated`: 20 ms at 100k); else as
        matching_documents() finds them."""
        if not (self.arrays if self.arrays is not None else self.arrays_pay(query)):
            found = self._documents_only(query)
            if found is not None:
                return len(found)
        return len(self.matching_documents(query))

    def _documents_only(self, node) -> Collection[int] | None:
        """The live documents matching the node, as evaluate() finds them, without scores (each
        once: a word's list, or a set); None for a node of another kind, or holding one."""
        if type(node) is wq.Term:
            text = self._term_text(node)
            return self._dicts.documents_of(node.fieldname, text) if text is not None else []
        if _every_document(node):
            return set(self.live_documents())
        if type(node) in _COLUMN_FILTERS:
            low, high = self._column_range(node)
            return self._dicts.documents_within(list(self.live_documents()), node.fieldname, low, high)
        if type(node) is wq.And and node.subqueries:
            # Every document and date windows beside other parts only keep those parts' documents.
            subqueries = _and_parts(node)
            windows = [sub for sub in subqueries if type(sub) in _COLUMN_FILTERS]
            kept = [sub for sub in subqueries if type(sub) not in _COLUMN_FILTERS and not _every_document(sub)]
            if not kept:
                return self._intersection([self._documents_only(sub) for sub in subqueries])
            # A NOT beside other parts takes its documents from theirs, not from every document's.
            excluded = [self._documents_only(sub.query) for sub in kept if type(sub) is wq.Not]
            if len(excluded) < len(kept):
                kept = [sub for sub in kept if type(sub) is not wq.Not]
            else:
                excluded = []
            if not excluded and len(kept) + len(windows) > 1:
                # Words and ORs of words (the count of undated articles a dated search left out:
                # its words' and `undated`'s): segment by segment, as _scored_where_all_match finds
                # an AND's candidates, not every document of each made an index-wide number.
                postings = self._segment_parts(kept)
                if postings is not None:
                    return self._common_by_segment(postings, windows)
            found = self._intersection([self._documents_only(sub) for sub in kept])
            if found is not None and excluded:
                found = None if None in excluded else found.difference(*excluded)
            for window in windows if found is not None else ():
                low, high = self._column_range(window)
                found = self._dicts.documents_within(found, window.fieldname, low, high)
            return found
        if type(node) is wq.Or:
            if node in self._united:
                return self._united[node]
            parts = [self._documents_only(sub) for sub in node.subqueries]
            return None if None in parts else set().union(*parts)
        if type(node) is wq.AndNot:
            wanted, unwanted = self._documents_only(node.a), self._documents_only(node.b)
            return None if wanted is None or unwanted is None else set(wanted).difference(unwanted)
        if type(node) is wq.Not:
            excluded = self._documents_only(node.query)
            return None if excluded is None else set(self.live_documents()).difference(excluded)
        return None

    @staticmethod
    def _intersection(parts: list) -> set[int] | None:
        """The documents in every part: a set made of the smallest only, or the one part where it
        is a set already (its callers make new sets of what they change)."""
        if None in parts:
            return None
        if len(parts) == 1 and isinstance(parts[0], set):
            return parts[0]
        smallest, *rest = sorted(parts, key=len)
        return set(smallest).intersection(*rest)

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
        ops = self._ops
        if ops is self._dicts:
            others = [self._as_words(sub) for sub in others]
        first_term = len(terms)
        combined = self._scored_where_all_match(others, date_filters, terms, positive)
        if combined is None:
            combined = ops.intersection([self._evaluate(sub, terms, positive) for sub in others])
        for date_filter in date_filters:
            combined = self._within_dates(date_filter, combined)
        for every in everything:
            combined = ops.added(combined, CONSTANT_SCORE * every.boost)
        # A word of this AND took part in a document's match only where the whole AND holds, as
        # Whoosh reports it: `farmers` looked for in German articles (`farm`) is no match of an
        # English article that says "farming".
        terms[first_term:] = [(term, _WhereAllMatch(documents, combined)) for term, documents in terms[first_term:]]
        return ops.boosted(combined, node.boost)

    def _scored_where_all_match(self, others, date_filters, terms, positive):
        """The intersection of `others`' scores, where each is a word or an OR of words (or with
        arrays a prefix read from its entries): their documents intersected first (and kept to
        the date windows), then only those scored.  The same floats as scoring every document:
        each part's scores are summed in the order intersection() and union() sort the whole
        parts in (by their documents, which the documents found here count).

        None where a part is of another kind, or alone; and with arrays unless a part is a
        prefix: arrays score a word's documents in a few vectorised steps, and finding the
        documents first cost more than it saved (AND of three words at 100k: 14 -> 17 ms), but
        not beside a prefix's 16 most frequent words (`syria ceasefire t*`: the, to, that...).
        With dicts, scoring is a Python step per posting (AND of three words: 36-44 -> 30-31 ms)."""
        if len(others) + len(date_filters) < 2 or not all(map(self._restrictable, others)):
            return None
        if self._ops is not self._dicts and all(map(_words_only, others)):
            return None
        self._sizes = {}
        ops = self._ops
        found = self._candidates_by_segment(others, date_filters) if ops is self._dicts else None
        if found is not None:
            order, candidates = found
        else:
            documents = [self._documents(sub) for sub in others]
            order = sorted(range(len(others)), key=lambda number: len(documents[number]))
            candidates = ops.common_documents(documents)
            for date_filter in date_filters:
                low, high = self._column_range(date_filter)
                candidates = ops.documents_within(candidates, date_filter.fieldname, low, high)
        self._within = candidates
        try:
            parts = [self._evaluate(sub, terms, positive) for sub in others]
        finally:
            self._within = None
        # Each part now holds every candidate: intersection() keeps this order, the whole parts'.
        return ops.intersection([parts[number] for number in order])

    def _candidates_by_segment(self, others, date_filters=()) -> tuple[list[int], list[int]] | None:
        """(the numbers of `others` by their count of documents, fewest first, as _documents'
        counts sort them; the documents of every part within the date windows, increasing) of an
        AND of words and ORs of words, with dicts, found segment by segment on the postings as the
        segments hold them (_common_by_segment), not from every document of every word made an
        index-wide number, listed, united and intersected (`syria ceasefire talks` at 100k:
        29,000 postings for 421 documents, 2.8 -> 0.9 ms).  A word's count (kept in self._sizes,
        as _documents keeps it) is its live postings; an OR's lies between its largest word's and
        their sum, which orders the parts unless two such ranges overlap: only then are its words'
        documents united to count them.  None for a part of another kind (nested ORs)."""
        postings = self._segment_parts(others)
        if postings is None:
            return None
        ranges = []
        for node in others:
            counts = [self._sizes[id(word)] for word in _words_of(node)]
            ranges.append((max(counts, default=0), sum(counts)))
        order = sorted(range(len(others)), key=lambda number: ranges[number][0])
        if not all(high < next_low or low == high == next_low == next_high
                   for (low, high), (next_low, next_high) in zip(map(ranges.__getitem__, order), map(ranges.__getitem__, order[1:]))):
            # Their order (and so the order their scores are summed in) needs the ORs' counts.
            counts = [low if low == high else _united_count(parts) for (low, high), parts in zip(ranges, postings)]
            order = sorted(range(len(others)), key=counts.__getitem__)
        return order, self._common_by_segment(postings, date_filters)

    def _segment_parts(self, nodes) -> list[list[dict[int, tuple]]] | None:
        """Each node's words' segment_postings (the node a word or an OR of words), each word's
        count of live postings kept in self._sizes; None for a node of another kind."""
        postings = []
        for node in nodes:
            words = _words_of(node)
            if not all(type(word) is wq.Term for word in words):
                return None
            parts = []
            for word in words:
                text = self._term_text(word)
                parts.append(self.segment_postings(word.fieldname, text) if text is not None else {})
                self._sizes[id(word)] = _live_postings(parts[-1])
            postings.append(parts)
        return postings

    def _common_by_segment(self, postings: list[list[dict[int, tuple]]], date_filters=()) -> list[int]:
        """The live documents (increasing) in every part of `postings` (_segment_parts') and within
        the date windows, segment by segment: sets of the segments' own numbers, the fewest first,
        intersected with each word's postings as the segments hold them, the windows tested on
        what is left (`election` in two months at 100k: its 16,923 documents not made index-wide
        numbers, sorted and looked up in the date column as such); nothing made per posting but
        the sets' members."""
        windows = [(self._column_range(window), self.sortable_values(window.fieldname)) for window in date_filters]
        candidates = []
        for number, (leaf, base) in enumerate(self.leaves):
            held = [[part[number] for part in parts if number in part] for parts in postings]
            if not all(held):
                continue
            fewest, *rest = sorted(held, key=lambda segment_parts: sum(len(part[1]) for part in segment_parts))
            found = set().union(*[part[1] for part in fewest])
            for segment_parts in rest:
                found = set().union(*[found.intersection(part[1]) for part in segment_parts])
            found.difference_update(fewest[0][4])  # the segment's deleted documents
            for (low, high), values in windows:
                found = _within(found, values[base:base + leaf.doc_count_all()], low, high)
            candidates += map(base.__add__, sorted(found))
        return candidates

    def _restrictable(self, node) -> bool:
        """Whether _scored_where_all_match can score only some of the node's documents."""
        if isinstance(node, wq.Or):
            return all(map(self._restrictable, node.subqueries))
        return isinstance(node, wq.Term) or self._ops is not self._dicts and _prefix_expansion(node, self.searcher.reader()) is not None

    def _documents(self, node):
        """The documents of a node _restrictable allows, as the operations hold documents, their
        count kept in self._sizes."""
        if isinstance(node, wq.Term):
            text = self._term_text(node)
            found = self._ops.documents_of(node.fieldname, text) if text is not None else self._ops.common_documents([])
        elif isinstance(node, wq.Or):
            found = self._ops.union_documents([self._documents(sub) for sub in node.subqueries])
            if self._ops is self._dicts:
                self._united[node] = found
        else:  # a prefix read from its entries, with arrays: every document of its words
            found = self._ops.prefix_documents(_prefix_expansion(node, self.searcher.reader())).docnums
        self._sizes[id(node)] = len(found)
        return found

    def _Or(self, node, terms, positive):
        parts = [self._evaluate(sub, terms, positive) for sub in node.subqueries]
        if self._within is None or self._ops is not self._dicts:  # arrays sum in the parts' order
            return self._ops.boosted(self._ops.union(parts), node.boost)
        # Only some documents scored (_scored_where_all_match): summed in the whole parts' order.
        return self._ops.boosted(self._ops.union(parts, [self._sizes[id(sub)] for sub in node.subqueries]), node.boost)

    def _AndNot(self, node, terms, positive):
        wanted = self._evaluate(node.a, terms, positive)
        unwanted = self._evaluate(node.b, terms, positive=False)
        return self._ops.boosted(self._ops.difference(wanted, unwanted), node.boost)

    def _AndMaybe(self, node, terms, positive):
        required = self._evaluate(node.a, terms, positive)
        optional = self._evaluate(node.b, terms, positive)
        return self._ops.boosted(self._ops.with_optional(required, optional), node.boost)

    def _Not(self, node, terms, positive):
        excluded = self._evaluate(node.query, terms, positive=False)
        return self._ops.difference(self._ops.live_documents(CONSTANT_SCORE * node.boost), excluded)

    def _Every(self, node, terms, positive):
        if _names_field(node):
            raise _Unsupported("Every on a field")
        return self._ops.live_documents(CONSTANT_SCORE * node.boost)

    def _NullQuery(self, node, terms, positive):
        return self._ops.empty()

    def _DateFilter(self, node, terms, positive):
        return self._within_dates(node, self._ops.live_documents(0.0))

    _IndexedAfter = _DateFilter

    def _within_dates(self, node, scores):
        """The documents of `scores` whose column value (date, or index stamp) is within the range,
        their scores raised by its boost."""
        low, high = self._column_range(node)
        return self._ops.within(scores, node.fieldname, low, high, CONSTANT_SCORE * node.boost)

    def _column_range(self, node) -> tuple:
        fieldobj = self.schema[node.fieldname]
        return fieldobj.to_column_value(node.start), fieldobj.to_column_value(node.end)

    def _term_text(self, node) -> bytes | None:
        """The word's bytes in its field; None where the field is unknown or the word is not a value of it."""
        if node.fieldname not in self.schema:
            return None
        try:
            return self.schema[node.fieldname].to_bytes(node.text)
        except ValueError:
            return None

    def _Term(self, node, terms, positive):
        fieldname, text = node.fieldname, self._term_text(node)
        if text is None:
            return self._ops.empty()
        if self._within is not None:  # only the documents of self._within: see _scored_where_all_match
            ids, weights = self._ops.term_postings_within(fieldname, text, self._within)
            scores = self._ops.boosted(
                self._ops.scored(fieldname, text, ids, weights) if node.boost else self._ops.unscored(ids), node.boost
            )
        elif node.boost == 0:  # a rarer word of a long prefix expansion (fuzzy.expansion_terms): matched, unscored
            scores = self._ops.matched(fieldname, text)
        else:
            scores = self._ops.boosted(self._ops.term_scores(fieldname, text), node.boost)
        if positive:
            terms.append(((fieldname, text), scores))
        return scores

    def _Phrase(self, node, terms, positive):
        fieldname = node.fieldname
        ops = self._ops
        if fieldname not in self.schema:
            return ops.empty()
        fieldobj = self.schema[fieldname]
        if node.slop != 1 or not fieldobj.format or not fieldobj.format.supports("positions"):
            raise _Unsupported("phrase with slop or without positions")
        try:
            words = [fieldobj.to_bytes(word) for word in node.words]
        except ValueError:
            return ops.empty()
        phrase = ops.two_word_phrase(fieldname, words, _PositionsDecoder(fieldobj.format)) if ops is self._dicts else None
        if phrase is not None:
            found, word_weights = phrase
            matched = ops.boosted(ops.scored_together(fieldname, words, found, word_weights), node.boost)
            if positive:
                terms.extend(((fieldname, word), matched) for word in words)
            return matched
        postings = [ops.positional_postings(fieldname, word) for word in words]
        # Positions are looked at only where every word occurs, scores only where the phrase does.
        candidates = ops.common_documents([ids for ids, _ in postings])
        word_values = [ops.values_of(ids, values, candidates) for ids, values in postings]
        found = ops.phrase_documents(candidates, word_values, _PositionsDecoder(fieldobj.format))
        # Whoosh scores a phrase as the AND of its words, whose sums go from the first word's
        # scores (restricted to the phrases: the fewest) to the others' by their documents, fewest
        # first (intersection() sorts its parts so, and keeps the order of parts alike in length).
        order = [0, *sorted(range(1, len(words)), key=lambda number: len(postings[number][0]))]
        matched = ops.boosted(ops.intersection([
            ops.scored(fieldname, words[number], *ops.term_postings_within(fieldname, words[number], found)) for number in order
        ]), node.boost)
        if positive:
            terms.extend(((fieldname, word), matched) for word in words)
        return matched

    def _MultiTerm(self, node, terms, positive):
        expansion = _prefix_expansion(node, self.searcher.reader())
        if expansion is not None:
            return self._listed_prefix(node, expansion, terms, positive)
        return self._evaluate(self._expanded(node), terms, positive)

    def _as_words(self, node):
        """A prefix, wildcard or fuzzy word as the word or OR of words it stands for (_expanded),
        so that an AND scores only the documents where all its parts match and a word alone is
        ranked as one (_top_ranked), as typed words are; a prefix read from its entries, and
        any other node, as is."""
        if not isinstance(node, wq.MultiTerm) or isinstance(node, wq.NumericRange):
            return node
        if _prefix_expansion(node, self.searcher.reader()) is not None:
            return node
        return self._expanded(node)

    def _expanded(self, node):
        """The word, or the OR of the words, that a prefix, wildcard or fuzzy word expands to, as
        Whoosh ORs them.  Those marked constant-score lose the weighting in that OR, and
        Searcher.postings() then falls back to the searcher's own: scored as usual after all."""
        from archsearch.engines.whoosh import fuzzy  # loaded already: it made the node (_prefix_expansion)

        reader = self.searcher.reader()
        expanded = fuzzy.expansion_terms(node, reader)
        if isinstance(node, fuzzy.ListedPrefix) and len(expanded) > fuzzy.SCORED_EXPANSIONS:
            # Their term information was read in key order to choose the words scored: their
            # postings are found with it, not with a hash lookup per word and segment.
            for number, infos in enumerate(fuzzy.prefix_term_infos(node, reader)):
                for word, terminfo in infos.items():
                    self._term_infos.setdefault((node.fieldname, word), {})[number] = terminfo
                    self._term_infos_whole.add((node.fieldname, word))
        if len(expanded) == 1:
            expanded[0].boost = node.boost
            return expanded[0]
        return wq.Or(expanded, boost=node.boost)

    def _listed_prefix(self, node, expansion: "PrefixExpansion", terms, positive):
        """A prefix of many words through its segments' entries (prefix_postings.py): its scored
        words evaluated as words, and every document holding one of its words, from the entries,
        at no score: the OR expansion_terms makes of it, without a word-by-word walk.  The scored
        words' sums are added in the same order as there (the zeros in between change nothing)."""
        ops, fieldname = self._ops, node.fieldname
        scored = [self._evaluate(wq.Term(fieldname, word), terms, positive) for word in expansion.scored]
        matched = ops.prefix_documents(expansion)
        if self._within is not None:  # only some documents scored: see _scored_where_all_match
            matched = ops.unscored(ops.postings_within(matched.docnums, matched.scores, self._within)[0])
        if positive:
            terms.append(((fieldname, b""), _PrefixWords(self, fieldname, node.text, matched, expansion)))
        return ops.boosted(ops.union([*scored, matched]), node.boost)

    def walked_documents(self, leaf, fieldname: str, infos: dict) -> list[int]:
        """The documents (segment-relative, sorted) of a segment's words of the field, from their term information."""
        found = set()
        for word, terminfo in infos.items():
            found.update(term_postings(leaf, fieldname, word, terminfo, 0)[0])
        return sorted(found)

    # Proximity: where the operands' words stand (see proximity.py).

    def _Near(self, node, terms, positive):
        return self._positional(node, terms, positive, lambda operands, docnum, fieldname: are_near(operands, node.distance))

    def _InSentence(self, node, terms, positive):
        def held_in_one_sentence(operands, docnum, fieldname):
            # Kept: the count of undated articles that follows a search asks again.
            key = (docnum, fieldname, tuple(map(tuple, operands)))
            held = self._in_sentence.get(key)
            if held is None:
                held = self._in_sentence[key] = in_one_sentence(self._sentence_text(docnum, fieldname), operands)
            return held

        return self._positional(node, terms, positive, held_in_one_sentence)

    def _Mentions(self, node, terms, positive):
        self._positions_read()
        (operand,) = node.subqueries
        scores = self._evaluate(operand, terms, positive)
        occurrences = self._occurrences(operand, scores.keys(), ("body",))
        counted = {
            docnum: score
            for docnum, score in scores.items()
            if len(occurrences.get(docnum, {}).get("body", ())) >= node.minimum
        }
        return self._ops.boosted(counted, node.boost)

    def closeness(self, operands, docnums: Collection[int]) -> dict[int, float]:
        """How close together `operands` (words, phrases: see querying.checked_operand) stand in
        the body of each document, as proximity.closeness() measures it; 0 ones left out.  Where
        the operands' words stand in titles is not read (a word is looked for in the title, the
        body and the derived title: two thirds of the positions otherwise)."""
        found = [self._occurrences(operand, docnums, ("body",)) for operand in operands]
        result = {}
        for docnum in docnums:
            value = closeness([sorted(each.get(docnum, {}).get("body", ())) for each in found], len(operands))
            if value:
                result[docnum] = value
        return result

    def _positions_read(self) -> None:
        """Proximity reads where words stand per document, with dicts: arrays leave it to them."""
        if self._ops is not self._dicts:
            raise _Unsupported("proximity with arrays")

    def _positional(self, node, terms, positive, windows) -> dict[int, float]:
        """The documents where every operand occurs and `windows` finds them placed as `node`
        asks, in the title or in the body, scored as the AND of the operands."""
        self._positions_read()
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
        return self._ops.boosted(matched, node.boost)

    def _occurrences(self, node, candidates, wanted=("title", "body")) -> dict[int, dict[str, list[Occurrence]]]:
        """Per candidate document that has it, where `node` (a word, phrase, expanded word or
        OR of them, see querying.checked_operand) occurs in the title and in the body (those of
        them `wanted`: the others may be left out)."""
        if isinstance(node, wq.Term):
            return self._word_occurrences(node.fieldname, node.text, candidates, wanted)
        if isinstance(node, wq.Phrase):
            found = [self._word_occurrences(node.fieldname, word, candidates, wanted) for word in node.words]
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
            return self._occurrences(wq.Or([wq.Term(node.field(), word) for word in words]), candidates, wanted)
        if isinstance(node, wq.Or):
            result = {}
            for part in node.subqueries:
                for docnum, by_field in self._occurrences(part, candidates, wanted).items():
                    merged = result.setdefault(docnum, {})
                    for fieldname, found in by_field.items():
                        merged[fieldname] = merged.get(fieldname, []) + found
            return result
        if isinstance(node, wq.And):
            positional = [part for part in node.subqueries if _positional_fields(part)]
            for part in node.subqueries:
                if part not in positional:  # a language or smart-case test beside the word
                    candidates = set(candidates).intersection(self._evaluate(part, [], positive=False))
            return self._occurrences(positional[0], candidates, wanted) if len(positional) == 1 else {}
        raise _Unsupported(type(node).__name__)

    def _word_occurrences(self, fieldname: str, text, candidates, wanted=("title", "body")) -> dict[int, dict[str, list[Occurrence]]]:
        if fieldname not in self.schema:
            return {}
        if fieldname != WORD_FORM_FIELD and _occurrence_field(fieldname) not in wanted:
            return {}  # exact's positions run through the title and the body: read where either is wanted
        fieldobj = self.schema[fieldname]
        try:
            word = text if isinstance(text, bytes) else fieldobj.to_bytes(text)
        except ValueError:
            return {}
        # The segments' arrays where numpy is loaded (they are read whole, without a copy).
        ops = self._arrays if self._arrays is not None else self._dicts
        found = ops.word_positions(fieldname, word, sorted(candidates), _PositionsDecoder(fieldobj.format))
        return {
            docnum: occurrences_by_field(fieldname, positions, lambda: self._title_length(docnum))
            for docnum, positions in found.items()
        }

    def holds(self, fieldname: str, word: bytes, docnum: int) -> bool:
        """Whether the document holds the word in the field: from its segment's postings arrays
        where the evaluation read arrays (mapped already) and they hold the word, else from its
        segment's postings (a term lookup, and a block decompressed and unpickled)."""
        number = self.segment_number(docnum)
        leaf, base = self.leaves[number]
        if self._arrays is not None:
            held = self._arrays.holds(number, fieldname, word, docnum - base)
            if held is not None:
                return held
        return _holds(leaf, fieldname, word, docnum - base)

    def segment_number(self, docnum: int) -> int:
        """The number in self.leaves of the segment holding the document."""
        return bisect_right(self._bases, docnum) - 1

    def _title_length(self, docnum: int) -> int:
        """How many words of `exact` the document's title holds: the `title` field's length,
        which indexes one term per word (analysis.chain.TextAnalyzer), where its length byte
        tells it (titles of up to 10 words), else as its segment's postings file keeps it
        (postings_arrays.TITLE_WORDS_KEY), else counted in the stored title, which costs a
        stored-fields read (0.1 ms in a request process: a keystroke's proximity asks for 100)."""
        length = self._title_lengths.get(docnum)
        if length is None:
            byte = self.field_lengths("title")[docnum]
            length = _LENGTH_OF_BYTE.get(byte)  # 0 for 0: no title, or one made from the lead, which `exact` leaves out
            if length is None:
                number = self.segment_number(docnum)
                kept = self._segment_title_words(number)
                if kept is not None:
                    length = int(kept[docnum - self.leaves[number][1]])
                else:
                    title = self.searcher.stored_fields(docnum).get("title") or ""
                    length = len(words(normalise(title)))
            self._title_lengths[docnum] = length
        return length

    def _segment_title_words(self, number: int):
        """The title lengths the segment's postings file keeps (numpy's or the standard
        library's array, as proximity reads positions), read once per evaluator; None without."""
        if number not in self._title_words:
            ops = self._arrays if self._arrays is not None else self._dicts
            self._title_words[number] = ops.title_words(number)
        return self._title_words[number]

    def _sentence_text(self, docnum: int, fieldname: str) -> str:
        """The document's title or body, normalised as indexing normalised it before splitting it into words."""
        stored = self.searcher.stored_fields(docnum)
        try:
            text = stored.get("title") or "" if fieldname == "title" else article_body(stored, self.searcher, docnum)
        except (UnreadableFile, OSError):
            text = ""  # the file went away since indexing: no sentence to find
        return normalise(text)

    # Postings and statistics.

    def bm25_constants(self, fieldname: str, text: bytes) -> tuple[float, list[float], float] | None:
        """What bm25() of whoosh.scoring computes once per term, (idf, the length part of each
        length byte, K1 + 1), for the same operations in the same order, so the same floats; None
        where a posting's score is its weight."""
        weighting, searcher = self.searcher.weighting, self.searcher.get_parent()
        if type(weighting) is not BM25F:
            raise _Unsupported(type(weighting).__name__)
        # BM25F.scorer()'s statistics, without the BM25FScorer it makes, which also merges the
        # term's information from every segment (for a quality bound never used here).
        if not self.schema[fieldname].scorable:
            return None  # BM25F.scorer() gives a WeightScorer
        return self._idf(searcher, fieldname, text), self._length_part(fieldname), weighting.K1 + 1

    def _length_part(self, fieldname: str) -> list[float]:
        """BM25F's length part of each length byte of the field (`weighting` BM25F's): the same
        for every word of the field while the reader lasts, kept with it."""
        weighting, searcher = self.searcher.weighting, self.searcher.get_parent()
        B, K1 = weighting._field_B.get(fieldname, weighting.B), weighting.K1
        kept = reader_kept(searcher)
        length_part = kept.get(("length part", fieldname, B, K1))
        if length_part is None:
            avgfl = searcher.avg_field_length(fieldname) or 1
            length_part = kept["length part", fieldname, B, K1] = [
                K1 * ((1 - B) + B * (byte_to_length(byte) or 0) / avgfl) for byte in range(256)
            ]
        return length_part

    def warm(self) -> None:
        """Reads what the evaluations of any query on the reader keep with it (reader_kept): each
        scored field's length bytes and BM25F length parts (this searcher's weighting), and each
        numeric column (dates: a date window, a sort by date), for a server to do once before it
        forks its requests (0.3 ms a field's lengths in a request at 100k: a warming search fills
        those of the fields its word is in, not `title`'s, say; the dates 1.2 ms and 390 faults)."""
        for fieldname, fieldobj in self.schema.items():
            if fieldobj.scorable:
                self.field_lengths(fieldname)
                if type(self.searcher.weighting) is BM25F:
                    self._length_part(fieldname)
            if isinstance(fieldobj, NUMERIC) and fieldobj.column_type is not None:
                self.sortable_values(fieldname)

    def _idf(self, searcher, fieldname: str, text: bytes) -> float:
        """searcher.idf(): Whoosh's formula (WeightingModel.idf, which BM25F keeps), its document
        frequency summed from what reading the postings found in each segment (the postings
        arrays' count, or the term information), not from a hash lookup of the word in every
        segment once more (0.1-0.3 ms a word in a request process)."""
        cache = searcher._idf_cache
        idf = cache.get((fieldname, text))
        if idf is None:
            counted = self.arrays_doc_counts.get((fieldname, text), {})
            frequency = 0
            for number, (leaf, _) in enumerate(self.leaves):
                count = counted.get(number)
                if count is None:
                    terminfo = self._term_info(number, leaf, fieldname, text)
                    count = terminfo.doc_frequency() if terminfo is not None else 0
                frequency += count
            idf = cache[fieldname, text] = log(searcher.doc_count_all() / (frequency + 1)) + 1
        return idf

    def leaf_postings(self, fieldname: str, text: bytes, wanted: list[int] | None = None,
                      skipped: Collection[int] = frozenset()) -> list[tuple]:
        """Per segment holding the term: (its reader, its first document's number, the postings'
        document numbers, weights, and encoded positions where the field has them), deleted
        documents included; with `wanted`, at least those of them it holds (see read_postings);
        the segments `skipped` (numbers in self.leaves: read elsewhere) left out.

        A term's postings read whole are kept for the evaluator's later reads: the positions are
        unpickled with the rest of a block anyway, and proximity, phrases and the counts after a
        search read the same words again."""
        read = self._postings_read.get((fieldname, text, skipped))
        if read is not None:
            return read
        read = []
        for number, (leaf, base) in enumerate(self.leaves):
            if number in skipped:
                continue
            terminfo = self._term_info(number, leaf, fieldname, text)
            if terminfo is None:
                continue
            read.append((leaf, base, *term_postings(leaf, fieldname, text, terminfo, base, wanted)))
        if wanted is None:
            self._postings_read[fieldname, text, skipped] = read
        return read

    def _term_info(self, number: int, leaf, fieldname: str, text: bytes):
        """The term's information in the segment (number in self.leaves); None if it has none."""
        infos = self._term_infos.setdefault((fieldname, text), {})
        if number not in infos:
            if (fieldname, text) in self._term_infos_whole:
                return None
            infos[number] = term_info(leaf, fieldname, text)
        return infos[number]

    def field_lengths(self, fieldname: str) -> bytes:
        """Each document's field length, as the byte Whoosh encodes it (0: none)."""
        kept = reader_kept(self.searcher)
        lengths = kept.get(("lengths", fieldname))
        if lengths is None:
            parts = []
            for leaf, _ in self.leaves:
                # Trailing documents without the field have no byte.
                parts.append(_length_bytes(leaf, fieldname).ljust(leaf.doc_count_all(), b"\0"))
            lengths = kept["lengths", fieldname] = b"".join(parts)
        return lengths

    def sortable_values(self, fieldname: str):
        """A numeric field's column: per document, its value as Whoosh sorts it, or the column's default."""
        kept = reader_kept(self.searcher)
        values = kept.get(("column", fieldname))
        if values is None:
            values = kept["column", fieldname] = self._read_sortable_values(fieldname)
        return values

    def field_values(self, fieldname: str, docnums) -> list:
        """The values of a numeric field's column for these documents, as the field holds them."""
        raw, from_column = self.sortable_values(fieldname), self.schema[fieldname].from_column_value
        return [from_column(raw[docnum]) for docnum in docnums]

    def value_span(self, fieldname: str) -> tuple | None:
        """The smallest and largest value a numeric field holds in the live documents; None if none has one."""
        raw = self.sortable_values(fieldname)
        deleted = self.deleted_documents()
        present = set(raw if not deleted else (raw[docnum] for docnum in self.live_documents()))
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

    def live_documents(self):
        deleted = self.deleted_documents()
        return (docnum for docnum in range(self.document_count) if docnum not in deleted)

    def deleted_documents(self) -> set[int]:
        if self._deleted is None:
            self._deleted = {base + docnum for leaf, base in self.leaves for docnum in leaf.deleted_docs_set or ()}
        return self._deleted


class DictOperations:
    """Sets of scored documents as dicts (document number -> score), combined a document at a
    time: no start-up cost, for small posting lists and where numpy is not loaded (see
    ARRAY_POSTINGS)."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator
        # The dicts kept here are shared, never changed: every combination builds a new one.
        self._term_scores: dict[tuple[str, bytes], dict[int, float]] = {}
        self._postings: dict[tuple[str, bytes, bool], tuple] = {}
        self._documents: dict[tuple[str, bytes], list[int]] = {}  # see documents_of

    def result(self, scores: dict[int, float]) -> "ScoreDict":
        return ScoreDict(scores)

    def title_words(self, number: int):
        """ArrayOperations.title_words, read with the standard library (an array.array)."""
        listed = listed_postings(self.evaluator.leaves[number][0])
        return listed.numbers(postings_arrays.TITLE_WORDS_KEY) if listed is not None else None

    def empty(self) -> dict[int, float]:
        return {}

    def live_documents(self, score: float) -> dict[int, float]:
        return dict.fromkeys(self.evaluator.live_documents(), score)

    @staticmethod
    def intersection(parts: list[dict[int, float]]) -> dict[int, float]:
        """The documents in every part, with the sum of their scores."""
        smallest, *rest = sorted(parts, key=len)
        combined = {}
        for docnum, score in smallest.items():
            for other in rest:
                other_score = other.get(docnum)
                if other_score is None:
                    break
                score += other_score
            else:
                combined[docnum] = score
        return combined

    @staticmethod
    def union(parts: list[dict[int, float]], sizes: list[int] | None = None) -> dict[int, float]:
        """The documents in any part, with the sum of their scores (`sizes`: the parts' sizes to
        sort them by, where they hold only some of their documents)."""
        if not parts:
            return {}
        order = sorted(range(len(parts)), key=(sizes or [len(part) for part in parts]).__getitem__, reverse=True)
        largest, *rest = [parts[number] for number in order]
        # The largest part is copied whole, in C; only the others are merged in a loop.
        combined = dict(largest)
        for part in rest:
            if not any(part.values()):
                # Adding nothing but zeros (a long prefix's rarer words, matched unscored): only
                # the documents not there yet join, in the order the loop below would add them.
                deque(map(combined.setdefault, part, repeat(0.0)), maxlen=0)
                continue
            for docnum, score in part.items():
                known = combined.get(docnum)
                combined[docnum] = score if known is None else known + score
        return combined

    @staticmethod
    def difference(wanted: dict[int, float], unwanted: dict[int, float]) -> dict[int, float]:
        return {docnum: score for docnum, score in wanted.items() if docnum not in unwanted}

    @staticmethod
    def with_optional(required: dict[int, float], optional: dict[int, float]) -> dict[int, float]:
        """The required documents, with the optional part's scores added where it has them."""
        return {docnum: score + optional.get(docnum, 0.0) for docnum, score in required.items()}

    @staticmethod
    def common_documents(parts: list) -> list[int]:
        """The documents in every part (lists or sets), increasing."""
        if not parts:
            return []
        smallest, *rest = sorted(parts, key=len)
        return sorted(set(smallest).intersection(*rest))

    def documents_of(self, fieldname: str, text: bytes) -> list[int]:
        """The term's documents (increasing), deleted ones left out: those of its postings where
        they were read, else from its segments' postings (Evaluator.segment_postings), with no
        weight or position made per posting (an AND scores a few of them: term_postings_within)."""
        found = self._postings.get((fieldname, text, True)) or self._postings.get((fieldname, text, False))
        if found is not None:
            return found[0]
        documents = self._documents.get((fieldname, text))
        if documents is None:
            documents = self._documents[fieldname, text] = []
            for base, ids, _, _, deleted, _ in self.evaluator.segment_postings(fieldname, text).values():
                documents += [base + docnum for docnum in ids if docnum not in deleted] if deleted else map(base.__add__, ids)
        return documents

    def positional_postings(self, fieldname: str, text: bytes):
        """(document numbers, positions) of a term, for phrase_documents."""
        ids, _, values = self.postings(fieldname, text, with_positions=True)
        return ids, values

    def two_word_phrase(self, fieldname: str, words: list[bytes], decode) -> tuple[list[int], tuple[list, list]] | None:
        """For a phrase of two words (None for another): the live documents (increasing) where the second word comes right after the first, and
        each word's weights there, from the segments' postings
        (Evaluator.segment_postings), segment by segment: the candidates, their postings and,
        where each word occurs once (most articles), their positions picked and compared in C;
        only those with more positions compared in Python (`decode`: Whoosh's encoded positions,
        in a segment whose postings file does not hold the word).  What _Phrase's general way
        finds, without every posting made into lists first ("prime minister" at 100k: 15,000
        documents hold both words in each field, the two words 35,000 postings)."""
        if len(words) != 2:
            return None
        first_parts, second_parts = (self.evaluator.segment_postings(fieldname, word) for word in words)
        found: list[int] = []
        word_weights = [], []
        for number, first in first_parts.items():
            second = second_parts.get(number)
            if second is None:
                continue
            base, first_ids, _, _, deleted, _ = first
            # Each number made an int once (three passes read them).
            first_ids, second_ids = (ids.tolist() if type(ids) is array else ids for ids in (first_ids, second[1]))
            both = set(first_ids).intersection(second_ids)
            both.difference_update(deleted)
            if not both:
                continue
            # Each word's postings marked candidate or not: the candidates' numbers, offsets and
            # weights are then picked by compress() in C, not looked up one by one at their indexes.
            held = both.__contains__
            candidates = [list(map(held, ids)) for ids in (first_ids, second_ids)]
            kept, counts = _in_a_row(first, second, *candidates, decode)
            found += map(add, compress(compress(first_ids, candidates[0]), kept), repeat(base))
            for weights, part, part_candidates, part_counts in zip(word_weights, (first, second), candidates, counts):
                weights += _weights(part, part_candidates, kept, part_counts)
        return found, word_weights

    @staticmethod
    def union_documents(parts: list) -> set[int]:
        return set().union(*parts)

    def term_postings_within(self, fieldname: str, text: bytes, docnums: list[int]) -> tuple[list[int], list[float]]:
        """The term's postings (documents, weights) of those of `docnums` (increasing): looked up
        segment by segment in its segments' postings where those were read (Evaluator.segment_postings)
        and these are few (an AND's candidates), else from all its postings."""
        evaluator = self.evaluator
        if not evaluator.read_segment_postings(fieldname, text):
            segments = None
        else:
            segments = evaluator.segment_postings(fieldname, text)
            if len(docnums) * _LOOKED_UP > sum(len(part[1]) for part in segments.values()):
                segments = None
        if segments is None:
            ids, weights, _ = self.postings(fieldname, text)
            return self.postings_within(ids, weights, docnums)
        found_ids, found_weights = [], []
        for part, wanted in _segment_slices(segments, evaluator._bases, docnums):
            base, ids, weights, offsets, deleted, _ = part
            if len(ids) <= _LOOKED_UP * len(wanted):
                # Few postings (a title's word): each tested in C, not the candidates looked up.
                wanted = set(map(base.__rsub__, wanted))
                wanted.difference_update(deleted)
                held = list(map(wanted.__contains__, ids))
                found_ids += [base + docnum for docnum in compress(ids, held)]
                found_weights += compress(weights, held) if weights is not None else map(
                    _COUNT_FLOATS.__getitem__, map(sub, compress(offsets[1:], held), compress(offsets, held)))
                continue
            for docnum, index in _held(part, wanted):
                found_ids.append(docnum)
                found_weights.append(weights[index] if weights is not None else float(offsets[index + 1] - offsets[index]))
        return found_ids, found_weights

    def documents_within(self, docnums: list[int], fieldname: str, low, high) -> list[int]:
        """The documents whose column value is within low..high."""
        return _within(docnums, self.evaluator.sortable_values(fieldname), low, high)

    @staticmethod
    def postings_within(ids: list[int], weights: list[float], docnums: list[int]) -> tuple[list[int], list[float]]:
        """The postings (documents, weights) of those of `docnums` (increasing) among `ids`."""
        if len(docnums) * 8 < len(ids):  # fewer: each looked up by binary search
            found_ids, found_weights = [], []
            index = 0
            for docnum in docnums:
                index = bisect_left(ids, docnum, index)
                if index == len(ids):
                    break
                if ids[index] == docnum:
                    found_ids.append(docnum)
                    found_weights.append(weights[index])
            return found_ids, found_weights
        # Each posting tested and kept in C (a Python step per posting cost twice as much).
        kept = list(map(set(docnums).__contains__, ids))
        return list(compress(ids, kept)), list(compress(weights, kept))

    @staticmethod
    def unscored(ids: list[int]) -> dict[int, float]:
        return dict.fromkeys(ids, 0.0)


    @staticmethod
    def added(scores: dict[int, float], constant: float) -> dict[int, float]:
        return {docnum: score + constant for docnum, score in scores.items()}

    @staticmethod
    def boosted(scores: dict[int, float], boost: float) -> dict[int, float]:
        if boost == 1.0:
            return scores
        return {docnum: score * boost for docnum, score in scores.items()}

    def within(self, scores: dict[int, float], fieldname: str, low, high, added: float) -> dict[int, float]:
        """The documents whose column value is within low..high, their scores raised by `added`."""
        values = self.evaluator.sortable_values(fieldname)
        return {docnum: score + added for docnum, score in scores.items() if low <= values[docnum] <= high}

    def matched(self, fieldname: str, text: bytes) -> dict[int, float]:
        return self.unscored(self.postings(fieldname, text)[0])

    def prefix_documents(self, expansion: "PrefixExpansion") -> dict[int, float]:
        """The live documents holding a word of a listed prefix, at no score."""
        from archsearch.engines.whoosh.prefix_postings import PrefixEntry

        found = []
        for (leaf, base), part in zip(self.evaluator.leaves, expansion.parts):
            local = part.local_documents() if isinstance(part, PrefixEntry) else self.evaluator.walked_documents(leaf, expansion.fieldname, part)
            deleted = leaf.deleted_docs_set
            found += [base + docnum for docnum in local if docnum not in deleted] if deleted else map(base.__add__, local)
        return dict.fromkeys(found, 0.0)

    def term_scores(self, fieldname: str, text: bytes) -> dict[int, float]:
        scores = self._term_scores.get((fieldname, text))
        if scores is None:
            ids, weights, _ = self.postings(fieldname, text)
            scores = self._term_scores[fieldname, text] = self.scored(fieldname, text, ids, weights)
        return scores

    def scored(self, fieldname: str, text: bytes, ids: list[int], weights: list[float]) -> dict[int, float]:
        if not ids:
            return {}
        constants = self.evaluator.bm25_constants(fieldname, text)
        if constants is None:
            return dict(zip(ids, weights))
        idf, length_part, boost = constants
        lengths = self.evaluator.field_lengths(fieldname)
        return {
            docnum: idf * ((tf * boost) / (tf + length_part[lengths[docnum]]))
            for docnum, tf in zip(ids, weights)
        }

    def scored_together(self, fieldname: str, words: list[bytes], ids: list[int], word_weights) -> dict[int, float]:
        """The sum of two words' scores in the same documents (`word_weights`: each word's
        weights in them), the first word's plus the second's, as intersection() sums their scored():
        the same floats, without a dict of each word's and a Python step per document to add them
        (a phrase's 15,000 documents in a field at 100k articles), each computed once for the
        documents that share both weights and the length byte (_ScoresByWeights)."""
        if not ids:
            return {}
        constants = [self.evaluator.bm25_constants(fieldname, word) for word in words]
        if None in constants:
            return self.intersection([self.scored(fieldname, word, ids, weights) for word, weights in zip(words, word_weights)])
        (first_idf, length_part, boost), (second_idf, _, _) = constants
        scores = _ScoresByWeights(first_idf, second_idf, length_part, boost)
        lengths = self.evaluator.field_lengths(fieldname)
        return dict(zip(ids, map(scores.__getitem__, zip(*word_weights, _picked(lengths, ids)))))

    def postings(self, fieldname: str, text: bytes, with_positions: bool = False, wanted: list[int] | None = None):
        """(document numbers, weights, positions or None) of a term, deleted documents left out:
        from the segments' postings files where they hold the term, from Whoosh's postings
        elsewhere (with `wanted`, at least those of them it holds: see read_postings).  Positions:
        a _JoinedValues of each posting's, encoded (Whoosh's) or as lists (PositionRuns).

        With `wanted` (proximity's hundred documents at most) the term's blocks holding them are
        cheaper to read than its whole postings file entry, unless that was read already.

        A term's whole postings are kept for the evaluator's next asking (never changed: the
        callers only read them)."""
        found = self._postings.get((fieldname, text, True))
        if found is not None:
            return found
        if wanted is None:
            found = self._postings.get((fieldname, text, with_positions))
            if found is None:
                found = self._postings[fieldname, text, with_positions] = self._read_postings(fieldname, text, with_positions, None)
            return found
        return self._read_postings(fieldname, text, with_positions, wanted)

    def _read_postings(self, fieldname: str, text: bytes, with_positions: bool, wanted: list[int] | None):
        evaluator = self.evaluator
        if wanted is None:  # as Evaluator.segment_postings read them (once: also for top_ranked.py and documents_of)
            parts = [(evaluator.leaves[number][0], base, *_as_lists(ids, weights, offsets, positions, with_positions), 0)
                     for number, (base, ids, weights, offsets, _, positions) in evaluator.segment_postings(fieldname, text).items()]
        else:
            parts = [(*read, read[1]) for read in evaluator.leaf_postings(fieldname, text, wanted)]
        ids: list[int] = []
        weights: list[float] = []
        values = _JoinedValues() if with_positions else None
        for leaf, base, leaf_ids, leaf_weights, leaf_values, read_base in parts:
            deleted = leaf.deleted_docs_set
            if deleted:
                kept = [i for i, docnum in enumerate(leaf_ids) if docnum - read_base not in deleted]
                leaf_ids = [leaf_ids[i] for i in kept]
                leaf_weights = [leaf_weights[i] for i in kept]
                if with_positions:
                    leaf_values = leaf_values.kept(kept) if isinstance(leaf_values, PositionRuns) else [leaf_values[i] for i in kept]
            ids += map(base.__add__, leaf_ids) if read_base != base else leaf_ids
            weights += leaf_weights
            if with_positions:
                values.add(leaf_values)
        return ids, weights, values

    def word_positions(self, fieldname: str, text: bytes, docnums: list[int], decode) -> dict[int, list[int]]:
        """The positions of the term in each of `docnums` (sorted) that has it."""
        if self.evaluator.read_segment_postings(fieldname, text) and (fieldname, text, True) not in self._postings:
            return self._positions_looked_up(fieldname, text, docnums, decode)
        # Only the blocks that may hold one: proximity looks at a hundred documents at most.
        ids, _, values = self.postings(fieldname, text, with_positions=True, wanted=docnums)
        found = {}
        for docnum in docnums:
            index = bisect_left(ids, docnum)
            if index < len(ids) and ids[index] == docnum:
                found[docnum] = decode(values[index])
        return found

    def _positions_looked_up(self, fieldname: str, text: bytes, docnums: list[int], decode) -> dict[int, list[int]]:
        """word_positions() from the term's segments' postings (Evaluator.segment_postings), segment
        by segment (proximity's hundred best documents: a segment's search per document and word
        before)."""
        found = {}
        for part, wanted in _segment_slices(self.evaluator.segment_postings(fieldname, text), self.evaluator._bases, docnums):
            _, _, _, offsets, _, positions = part
            for docnum, index in _held(part, wanted):
                found[docnum] = positions[offsets[index]:offsets[index + 1]].tolist() if offsets is not None else decode(positions[index])
        return found

    @staticmethod
    def values_of(ids: list[int], values: "_JoinedValues", docnums: list[int]) -> list:
        """The positions of each of `docnums` (all among `ids`, in increasing order), as `values`
        holds them."""
        # Both in increasing order: the postings' indexes picked in C, with no dict of every posting.
        return values.of(list(compress(range(len(ids)), map(set(docnums).__contains__, ids))))

    @staticmethod
    def phrase_documents(candidates: list[int], word_values: list[list], decode) -> list[int]:
        """The candidates where the words stand in a row (`word_values`: each word's positions in
        each candidate as values_of gives them, encoded or decoded; `decode` decodes the encoded)."""
        first, *following = word_values
        if len(following) == 1:
            return _two_word_phrases(candidates, first, following[0], decode)
        found = []
        for index, docnum in enumerate(candidates):
            # Where the phrase could start: the first word's positions, less each next word's offset.
            starts = set(decode(first[index]))
            for offset, values in enumerate(following, start=1):
                starts.intersection_update(map(offset.__rsub__, decode(values[index])))
                if not starts:
                    break
            else:
                found.append(docnum)
        return found


class _ScoresByWeights(dict):
    """Two words' summed BM25F scores (DictOperations.scored_together's) by (the first word's weight,
    the second's, the document's length byte), each computed when first asked for: most of a
    phrase's documents share a few such triples (a body's 10,200 at 100k articles: 640), so the
    documents' scores are looked up in C, not computed in a Python step each (1.65 -> 1.30 ms)."""

    __slots__ = ("_first_idf", "_second_idf", "_length_part", "_boost")

    def __init__(self, first_idf: float, second_idf: float, length_part: list[float], boost: float):
        super().__init__()
        self._first_idf, self._second_idf, self._length_part, self._boost = first_idf, second_idf, length_part, boost

    def __missing__(self, key: tuple[float, float, int]) -> float:
        first, second, byte = key
        part, boost = self._length_part[byte], self._boost
        score = self[key] = self._first_idf * ((first * boost) / (first + part)) + self._second_idf * ((second * boost) / (second + part))
        return score


class ScoreDict(dict):
    """The documents a query matches and their scores, as a dict, with the orders ranking asks for."""

    def best(self, limit: int | None) -> list[int]:
        """The documents by score, best first and the lower number first among equals (as Whoosh
        orders them); the first `limit` (None: all)."""
        candidates = self.keys()
        if limit is not None and 0 < limit < len(self):
            # The limit-th best score bounds the candidates: a heap of `limit` bare floats finds it
            # (0.6 ms for 45,000 scores, where sorting them all took 5.4).
            threshold = heapq.nlargest(limit, self.values())[-1]
            candidates = [docnum for docnum, score in self.items() if score >= threshold]

        def order(docnum):
            return -self[docnum], docnum

        return heapq.nsmallest(limit, candidates, key=order) if limit is not None else sorted(candidates, key=order)

    def by_value(self, values, missing, descending: bool, limit: int | None) -> list[int]:
        """The documents by a column's value (`values`, per document), those with the `missing`
        value last, then by score as best() orders them."""
        sign = -1 if descending else 1

        def order(docnum):
            return values[docnum] == missing, sign * values[docnum], -self[docnum], docnum

        return heapq.nsmallest(limit, self, key=order) if limit is not None else sorted(self, key=order)

    def raised(self, factors: dict[int, float]) -> "ScoreDict":
        """The scores, those of the documents in `factors` multiplied by their factor."""
        return ScoreDict({**self, **{docnum: self[docnum] * factor for docnum, factor in factors.items()}})


def occurrences_by_field(fieldname: str, positions, title_length: Callable[[], int]) -> dict[str, list[Occurrence]]:
    """A word's positions in `fieldname` as occurrences in the title or in the body: a title made
    from the lead is indexed apart (schema.py) but is the title all the same, and the words as
    written run on from the title's (`title_length()` of them) to the body's (schema.exact_text)."""
    if fieldname != WORD_FORM_FIELD:
        return {_occurrence_field(fieldname): [(position, position) for position in positions]}
    length = title_length()
    by_field: dict[str, list[Occurrence]] = {}
    for position in positions:
        if position < length:
            by_field.setdefault("title", []).append((position, position))
        else:
            by_field.setdefault("body", []).append((position - length, position - length))
    return by_field


def _occurrence_field(fieldname: str) -> str:
    """Where a word of the field occurs for proximity (a field other than exact, whose positions
    run through the title and the body)."""
    return "title" if fieldname == DERIVED_TITLE_FIELD else fieldname


def reader_kept(searcher) -> dict:
    """What evaluation keeps with a searcher's reader (its top searcher's) while it lasts: each
    field's length bytes and BM25F length parts, which do not change while it does.  The server
    keeps readers open (a query's searcher is new, on the kept reader: store.index_searcher), and
    its warming search fills this, so its request processes inherit it."""
    return searcher.get_parent().reader().__dict__.setdefault(_READER_KEPT, {})


_READER_KEPT = "archsearch_evaluation"


def _segment_slices(segments: dict[int, tuple], bases: list[int], docnums: list[int]):
    """(a term's postings in a segment as Evaluator.segment_postings holds them, those of `docnums`
    (increasing) in that segment) for each segment holding the term and some of them."""
    for number, part in segments.items():
        start = bisect_left(docnums, part[0])
        end = bisect_left(docnums, bases[number + 1], start) if number + 1 < len(bases) else len(docnums)
        if start < end:
            yield part, docnums[start:end]


def _held(part: tuple, docnums: list[int]):
    """(document, its posting's index) of those of `docnums` (increasing, all in the segment) that a
    term's postings in the segment (Evaluator.segment_postings) hold for a live document."""
    base, ids, _, _, deleted, _ = part
    index, count = 0, len(ids)
    for docnum in docnums:
        local = docnum - base
        index = bisect_left(ids, local, index)
        if index == count:
            return
        if ids[index] == local and local not in deleted:
            yield docnum, index


def _within(docnums, values, low, high) -> list[int]:
    """Those of `docnums` (in their order) whose value (`values[docnum]`, a column's) is within
    low..high.  A comprehension: testing each value with a range's __contains__ in C took three
    times as long (generic arithmetic per value: 0.83 -> 0.27 ms for 2,000 dates)."""
    return [docnum for docnum in docnums if low <= values[docnum] <= high]


def _and_parts(node) -> list:
    """The parts of an AND, those of the ANDs among them in their place (a dated search's words
    are an AND of the words and every document: the count of undated articles it left out ANDs
    them with `undated`)."""
    return [part for sub in node.subqueries for part in (_and_parts(sub) if type(sub) is wq.And else [sub])]


def _words_of(node) -> list:
    """The words of a node that is a word or an OR (its parts), as _segment_parts takes them."""
    return [node] if type(node) is wq.Term else node.subqueries if type(node) is wq.Or else [node]


def _live_postings(parts: dict[int, tuple]) -> int:
    """How many live documents a word's postings (Evaluator.segment_postings) hold."""
    count = 0
    for _, ids, _, _, deleted, _ in parts.values():
        count += len(ids) - (len(deleted.intersection(ids)) if deleted else 0)
    return count


def _united_count(parts: list[dict[int, tuple]]) -> int:
    """How many live documents hold one of some words at least (their Evaluator.segment_postings)."""
    count = 0
    for number in set().union(*parts):
        held = [part[number] for part in parts if number in part]
        found = set().union(*[ids for _, ids, _, _, _, _ in held])
        count += len(found.difference(held[0][4]))
    return count


def _words_only(node) -> bool:
    """Whether the node is a word, or an OR of words (or of such ORs)."""
    return isinstance(node, wq.Term) or isinstance(node, wq.Or) and all(map(_words_only, node.subqueries))


def _positional_fields(node) -> bool:
    """Whether the node looks for words whose positions the index holds."""
    leaves = [node] if node.is_leaf() else list(node.leaves())
    return all(leaf.field() in PROXIMITY_FIELDS for leaf in leaves)


def _every_document(node) -> bool:
    return type(node) is wq.Every and not _names_field(node)


def _names_field(node) -> bool:
    return isinstance(node, wq.Every) and node.fieldname not in (None, "", "*")


def term_postings(leaf, fieldname: str, text: bytes, terminfo, base: int, wanted: list[int] | None = None):
    """read_postings of a term of the segment reader's (its `terminfo`), from its postings file in
    a field whose postings only that file holds (postings_arrays.file_only_fields: then all of
    them, each posting's positions a list, which decoders of Whoosh's values take as they are)."""
    if fieldname in postings_arrays.file_only_fields(getattr(leaf, "_segment", None)):
        end = base + leaf.doc_count_all()
        if wanted is not None and not any(base <= docnum < end for docnum in wanted):
            return [], [], []  # the file gives a term's postings whole: none wanted here, none read
        ids, weights, positions = postings_arrays.file_postings(leaf, fieldname, text)
        return ([docnum + base for docnum in ids] if base else ids), weights, [b""] * len(ids) if positions is None else list(positions)
    return read_postings(_postings_file(leaf), terminfo, base, wanted)


def read_postings(postfile, terminfo, base: int, wanted: list[int] | None = None):
    """A term's postings in one segment, document numbers offset by `base`: read in one piece and
    split into W3 blocks here (length, pickled block information, pickled data), which takes a
    third of the Python calls W3LeafMatcher makes to step from block to block.

    With `wanted` (document numbers, sorted), only the blocks that may hold one of them are
    decompressed and unpickled: a block's information gives its last document."""
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
    next_wanted = 0 if wanted is None else bisect_left(wanted, base)  # the first of `wanted` past the blocks read
    while True:
        block_length = _BLOCK_LENGTH.unpack(data.read(_INT_SIZE))[0]
        block_start = data.tell()
        count, last, _, compression, _, _ = load(data)
        block = data.read(abs(block_length) - (data.tell() - block_start))
        if wanted is not None:
            first_wanted, next_wanted = next_wanted, bisect_right(wanted, base + last, next_wanted)
            if first_wanted == next_wanted:  # none of them in this block
                if block_length < 0:
                    return ids, weights, values
                continue
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
        if type(block_values) is tuple:  # encoded positions; other formats store none (or fixed sizes)
            values += block_values
        if block_length < 0:  # the last block's length is written negative
            return ids, weights, values


def _as_lists(ids, weights, offsets, positions, with_positions: bool) -> tuple:
    """A segment's postings of a term as Evaluator.segment_postings holds them, as lists (document
    numbers, weights) and, `with_positions`, a PositionRuns or Whoosh's encoded positions."""
    if weights is None:  # each posting's count of positions, as the float Whoosh reads
        weights = list(map(_COUNT_FLOATS.__getitem__, map(sub, offsets[1:], offsets)))
    if not with_positions:
        positions = None
    elif offsets is not None:
        positions = PositionRuns(offsets, positions)
    return (ids.tolist() if isinstance(ids, array) else ids), (weights.tolist() if isinstance(weights, array) else weights), positions


def _in_a_row(first: tuple, second: tuple, first_candidates: list[bool], second_candidates: list[bool],
              decode) -> tuple[list, list]:
    """Whether the second word comes right after the first in each candidate, and each word's
    count of positions in each (`first`, `second`: the words' postings in one segment as
    Evaluator.segment_postings holds them; `first_candidates`, `second_candidates`: per posting,
    whether it is a candidate's; counts None for Whoosh's encoded positions)."""
    (_, _, _, first_offsets, _, first_positions), (_, _, _, second_offsets, _, second_positions) = first, second
    if first_offsets is None or second_offsets is None:  # Whoosh's encoded positions (for one word or both)
        firsts, seconds = _positions_at(first, first_candidates, decode), _positions_at(second, second_candidates, decode)
        in_a_row = [not set(positions).isdisjoint(map((1).__rsub__, following)) for positions, following in zip(firsts, seconds)]
        return in_a_row, [None, None]
    # Each posting's positions run from its offset to the next posting's: the candidates' picked
    # from the offsets and from the offsets shifted by one, made a list first (each offset made an
    # int once: picking from the array made each twice, 1.3 -> 0.7 ms for a body's ten segments).
    first_offsets, second_offsets = first_offsets.tolist(), second_offsets.tolist()
    first_starts = list(compress(first_offsets, first_candidates))
    second_starts = list(compress(second_offsets, second_candidates))
    first_ends = list(compress(islice(first_offsets, 1, None), first_candidates))
    second_ends = list(compress(islice(second_offsets, 1, None), second_candidates))
    counts = [list(map(sub, first_ends, first_starts)), list(map(sub, second_ends, second_starts))]
    # Each word's first position against the other's: all in C, and the answer where each word
    # occurs once (most articles), or where those two stand in a row.
    in_a_row = list(map(eq, map(sub, _picked(second_positions, second_starts), _picked(first_positions, first_starts)),
                        repeat(1)))
    # Of those not in a row so (a few in ten at most), where the second word occurs more than once
    # its second position against the first word's first, in C too: that is where most of them
    # hold the phrase ("... minister ... Prime Minister": at 100k, 1,203 of the body's 1,621).
    not_in_a_row = list(compress(range(len(in_a_row)), map(not_, in_a_row)))
    first_counts, second_counts = counts
    several = list(compress(not_in_a_row, map(lt, repeat(1), _picked(second_counts, not_in_a_row))))
    seconds_second = _picked(second_positions, list(map(add, _picked(second_starts, several), repeat(1))))
    firsts_first = _picked(first_positions, _picked(first_starts, several))
    for candidate in compress(several, map(eq, map(sub, seconds_second, firsts_first), repeat(1))):
        in_a_row[candidate] = True
    # The rest, where a word occurs more than once: the counts looked at for those alone.
    not_in_a_row = list(compress(not_in_a_row, map(not_, _picked(in_a_row, not_in_a_row))))
    others = list(compress(not_in_a_row, map(lt, repeat(1), map(mul, _picked(first_counts, not_in_a_row),
                                                                _picked(second_counts, not_in_a_row)))))
    # Those (a few hundred of a body's 10,000 candidates at 100k), one by one: making each of
    # their positions a key of its candidate's, in C, cost more for so few (_in_a_row for
    # "prime minister"'s three fields, warm: 10.9 -> 9.5 ms).
    for candidate in others:
        if _follows(first_positions[first_starts[candidate]:first_ends[candidate]],
                    second_positions[second_starts[candidate]:second_ends[candidate]]):
            in_a_row[candidate] = True
    return in_a_row, counts


def _picked(values, indexes: list[int]) -> Sequence:
    """values[index] for each of `indexes`, in C: an itemgetter of them all (a map of an array's
    __getitem__ calls a wrapper per item, twice as long: 117 -> 66 us for a body's first positions
    of a phrase's candidates in a segment, 1,000 of them)."""
    if len(indexes) > 1:
        return itemgetter(*indexes)(values)
    return [values[index] for index in indexes]


def _follows(firsts, seconds) -> bool:
    """Whether one of `seconds` (positions) is one past one of `firsts`."""
    return not set(map(_ONE_PAST, firsts)).isdisjoint(seconds)


def _positions_at(part: tuple, candidates: list[bool], decode) -> list[list[int]]:
    """The positions of the candidates' postings (marked True in `candidates`) of a segment's
    (Evaluator.segment_postings)."""
    _, _, _, offsets, _, positions = part
    indexes = compress(range(len(candidates)), candidates)
    if offsets is None:
        return [decode(positions[index]) for index in indexes]
    return [positions[offsets[index]:offsets[index + 1]].tolist() for index in indexes]


def _weights(part: tuple, candidates: list[bool], kept: list[bool], counts: list[int] | None) -> list[float]:
    """The weights of the kept candidates' postings of a segment's (Evaluator.segment_postings;
    `candidates`: per posting, whether it is a candidate's; `kept`: per candidate), or their
    counts of positions (`counts`: per candidate, or None), where weights are those."""
    _, _, weights, offsets, _, _ = part
    if weights is not None:
        return list(compress(compress(weights, candidates), kept))
    if counts is None:
        counts = map(sub, compress(offsets[1:], candidates), compress(offsets, candidates))
    return list(map(_COUNT_FLOATS.__getitem__, compress(counts, kept)))


def _two_word_phrases(candidates, first: list, second: list, decode) -> list[int]:
    """The candidates where the second word comes right after the first (`first` and `second`:
    the words' positions in each candidate, as phrase_documents takes them): the common phrase,
    where each word is most often in the article once."""
    found = []
    for docnum, first_positions, second_positions in zip(candidates, decode.many(first), decode.many(second)):
        if len(first_positions) == 1 and len(second_positions) == 1:
            if second_positions[0] - first_positions[0] == 1:
                found.append(docnum)
        elif not set(first_positions).isdisjoint(map((1).__rsub__, second_positions)):
            found.append(docnum)
    return found


class _PrefixWords:
    """The documents of a listed prefix (Evaluator._listed_prefix), and which of its words each
    holds, found when a hit's words are marked: from the words of its title and body that start
    with the prefix, those the index holds for it.  A word of the prefix that the article no
    longer says (its file changed since) could not be marked in it anyway."""

    def __init__(self, evaluator: Evaluator, fieldname: str, prefix: str, documents, expansion: "PrefixExpansion"):
        self._evaluator, self._fieldname, self._prefix = evaluator, fieldname, prefix
        self._documents, self._scored = documents, frozenset(expansion.scored)

    def __contains__(self, docnum) -> bool:
        return docnum in self._documents

    def words_in(self, docnum: int, body: str | None = None) -> list[tuple[str, bytes]]:
        from archsearch.passages import folded_form

        evaluator = self._evaluator
        stored = evaluator.searcher.stored_fields(docnum)
        if body is None:
            try:
                body = article_body(stored, evaluator.searcher, docnum)
            except (UnreadableFile, OSError):
                body = ""
        forms = _forms_starting(self._prefix, f"{stored.get('title') or ''}\n{body}", folded_form)
        words = [form.encode("utf-8") for form in sorted(forms)]
        return [(self._fieldname, word) for word in words
                if word not in self._scored and evaluator.holds(self._fieldname, word, docnum)]


def _forms_starting(prefix: str, text: str, folded_form) -> set[str]:
    """The unstemmed forms of the words of `text` that start with `prefix`, found as the words a
    hit's passages mark are (passages.WordMatcher)."""
    from archsearch.passages import WordMatcher

    found = set()

    class Finder(WordMatcher):
        def matches(self, word: str) -> bool:
            form = folded_form(word)
            if form.startswith(prefix):
                found.add(form)
                return True
            return False

    Finder(forms=frozenset({prefix})).spans(text)
    return found


def _file_postings(fieldname: str) -> int:
    """From how many of a segment's documents segment_postings reads a term of the field from its postings file."""
    if fieldname in _TITLE_FIELDS:
        return min(_TITLE_FILE_POSTINGS, postings_arrays.SIDECAR_POSTINGS)
    return postings_arrays.SIDECAR_POSTINGS


def _holds(leaf, fieldname: str, word: bytes, docnum: int) -> bool:
    """Whether the segment's document (segment-relative) holds the word in the field."""
    terminfo = term_info(leaf, fieldname, word)
    if terminfo is None:
        return False
    if fieldname in postings_arrays.file_only_fields(getattr(leaf, "_segment", None)):
        return postings_arrays.file_postings_hold(leaf, fieldname, word, docnum)
    return docnum in read_postings(_postings_file(leaf), terminfo, 0, [docnum])[0]


def _length_bytes(leaf, fieldname: str) -> bytes:
    """The field's length bytes in the segment, a byte a document up to the last that has the
    field: the column's sub-file read whole with one positioned read of the compound segment's
    file where its SegmentTerms reads that file (Whoosh's column reader opens the sub-file through
    four layers, ~15 us a segment: 30 a query at 100k articles), else through Whoosh's reader."""
    read = read_segment_terms(leaf)
    compound = getattr(leaf._perdoc._storage, "a", None)
    name = W3Codec.column_filename(leaf._segment, _lenfield(fieldname))
    if read is not None and type(compound) is CompoundStorage and read.reads(compound._file) and compound.file_exists(name):
        return read.read(*compound.range(name))
    column = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    return column._dbfile.get(column._basepos, column._count) if column is not None else b""


def term_info(leaf, fieldname: str, text: bytes):
    """The term's information in the segment reader's segment (W3TermInfo); None if it has none.
    With positioned reads of the segment's file (segment_terms.py: the server prepares them for
    its requests, a query in a process of its own on its first lookup: 90 lookups 1.15 -> 0.6 ms
    at 100k articles), else (a segment of another kind) through Whoosh's reader."""
    read = read_segment_terms(leaf)
    if read is not None:
        return read.term_info(fieldname, text)
    try:
        return leaf._terms.term_info(fieldname, text)
    except TermNotFound:
        return None


def _postings_file(leaf):
    """What read_postings reads the segment's postings from: its SegmentTerms (segment_terms.py) or Whoosh's file."""
    read = segment_terms(leaf)
    return read if read is not None else leaf._terms._postfile


class _JoinedValues:
    """The positions of a term's postings, segment after segment, each segment's as it was read:
    encoded (a list of Whoosh's values) or PositionRuns (a postings file's)."""

    __slots__ = ("_parts", "_ends")

    def __init__(self):
        self._parts: list = []
        self._ends: list[int] = []

    def add(self, part) -> None:
        self._parts.append(part)
        self._ends.append((self._ends[-1] if self._ends else 0) + len(part))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __iter__(self):
        for part in self._parts:
            yield from part

    def __getitem__(self, index: int):
        number = bisect_right(self._ends, index)
        return self._parts[number][index - (self._ends[number - 1] if number else 0)]

    def of(self, indexes: list[int]) -> list:
        """The positions of these postings (increasing indexes), each as its segment holds them."""
        found = []
        start = first = 0
        for part, end in zip(self._parts, self._ends):
            last = bisect_left(indexes, end, first)
            local = [index - start for index in indexes[first:last]]
            found += part.of(local) if isinstance(part, PositionRuns) else map(part.__getitem__, local)
            start, first = end, last
        return found


class _PositionsDecoder:
    """The format's decode_positions(), remembering what it decoded: most words occur once in an
    article, so the same few thousand encoded single positions come back again and again.
    Positions read from a postings file come decoded (lists): those are given back as they are."""

    def __init__(self, fieldformat):
        self._decode = decode_positions if type(fieldformat) is Positions else fieldformat.decode_positions
        self._decoded: dict[bytes, list[int]] = {}

    def __call__(self, value: bytes | list[int]) -> list[int]:
        if type(value) is list:
            return value
        positions = self._decoded.get(value)
        if positions is None:
            positions = self._decoded[value] = self._decode(value)
        return positions

    def many(self, values: list) -> list[list[int]]:
        """The positions of each value: those decoded before looked up in one pass of C."""
        get = self._decoded.get
        positions = [value if type(value) is list else get(value) for value in values]
        for index in [index for index, found in enumerate(positions) if found is None]:
            positions[index] = self(values[index])
        return positions

