"""The best documents of a frequent word without scoring every posting of it (MaxScore).

A query of one word is an OR of its fields (title, body, the derived title at a quarter), and
`president` is in 45,564 of 100,000 articles: without the server (dicts: numpy's import costs
more than it saves) scoring every posting and summing the fields took 25 of a 40 ms command, to
show 10 hits (the ranking reads the best 50, for copy groups) and their total.

BM25F bounds what a word adds to a document's score in a field: idf x (K1 + 1) x the term's
boost, whatever the word's count in the document and the document's length (tf / (tf + a
positive length part) < 1).  So (MaxScore: Turtle and Flood, 1995) the terms with the highest
bounds are taken first, every live document of each scored whole (every term of the query
summed), and once `limit` documents are scored and the bounds of the terms not taken sum to
less than the limit-th best score so far, no document of those terms alone can be among the
best: `president`'s 519 titles are scored, not its 45,497 bodies.  A prefix word is an OR of
the words it stands for (`syria*`: syria, syrian, syrians), ranked alike: its rarer words first.
The total is counted with sets, in C.

The terms taken at a time are scored together, by the evaluation itself restricted to their
documents (Evaluator's `_within`, as an AND scores only where all its parts match): each term's
postings looked up for them at once, in the same floats as the whole evaluation's (each term's
by the same expression, its boost applied as boosted() applies it, the terms summed in the order
union() sums them: by their number of live documents, most first).  A document asked for alone
is scored by binary search in each term's document numbers.  Whatever else is asked of them
(every document, a sort by date, scores raised for proximity) evaluates the query as before,
once (`whole`)."""

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping

# A query is ranked here where its term of highest bound holds at most this share of its
# postings (evaluation.py): a word whose title holds more (`talks`: 942 of 16,178) is seldom ranked
# before its body is taken too, which costs more than the whole evaluation.
FIRST_TERM_SHARE = 1 / 20
# Scoring a document here (its terms' postings looked up for the documents taken together) costs
# about six times what scoring a posting costs in the whole evaluation (at 100k articles, 1-3 us
# against 0.35, reading included): beyond a sixth of the postings scored here, the whole costs less.
SCORED_SHARE = 1 / 6
# A bound is raised by this much before it is compared: the float arithmetic of a score rounds
# at each step, and a bound too low by a rounding would lose a document.
_BOUND_MARGIN = 1.0 + 1e-9


class TermPostings:
    """One term of the query: its postings, segment by segment (segment-relative document
    numbers, increasing; weights, or the offsets of its positions whose differences are the
    weights), and how a posting is scored."""

    __slots__ = ("term", "boost", "constants", "segments", "lengths", "size")

    def __init__(self, term: tuple[str, bytes], boost: float, constants: tuple, segments: dict, lengths: bytes):
        """`constants`: (idf, the length part of each length byte, K1 + 1) as bm25_constants
        gives them; `segments`: Evaluator.segment_postings(); `lengths`: the field's length byte
        of each document."""
        self.term, self.boost, self.constants, self.segments, self.lengths = term, boost, constants, segments, lengths
        self.size = sum(len(ids) - sum(1 for docnum in deleted if _index(ids, docnum) is not None)
                        for _, ids, _, _, deleted, _ in segments.values())

    def bound(self) -> float:
        """The most the term adds to a document's score (BM25F's idf x (K1 + 1), times its boost),
        raised by _BOUND_MARGIN."""
        idf, _, k1_plus_one = self.constants
        return idf * k1_plus_one * self.boost * _BOUND_MARGIN

    def live_documents(self):
        """Every live document holding the term (index-wide numbers)."""
        for base, ids, _, _, deleted, _ in self.segments.values():
            for local in ids:
                if local not in deleted:
                    yield base + local


class TermDocuments:
    """The documents holding one term, as Evaluation.term_documents holds them (`in` only)."""

    __slots__ = ("_postings", "_number_of")

    def __init__(self, postings: TermPostings, number_of: Callable[[int], int]):
        self._postings, self._number_of = postings, number_of

    def __contains__(self, docnum) -> bool:
        found = self._postings.segments.get(self._number_of(docnum))
        if found is None:
            return False
        base, ids, _, _, deleted, _ = found
        return docnum - base not in deleted and _index(ids, docnum - base) is not None


class TopRankedScores(Mapping):
    """The documents of an OR of terms (or of one term) and their scores, each score computed
    when asked for; best() ranks by MaxScore.  Iterating, or any order but best()'s, evaluates
    the whole query (`whole`: a ScoreDict of the same documents and floats)."""

    def __init__(self, terms: list[TermPostings], boost: float, bases: list[int], whole: Callable[[], Mapping],
                 scored_within: Callable[[list[int]], dict[int, float]]):
        """`terms` in the query's order; `boost` the OR's (1.0 for a term alone); `bases` each
        segment's first document number; `scored_within` the scores of some documents (increasing,
        each holding a term), the whole evaluation's floats."""
        self._terms = terms
        self._boost = boost
        self._bases = bases
        self._whole_of = whole
        self._scored_within = scored_within
        self._whole = None
        # union()'s order: the terms by their number of documents, most first (sorted() keeps
        # the query's order among equals, also when reversed).
        self._summed = [terms[number] for number in sorted(range(len(terms)), key=lambda number: terms[number].size, reverse=True)]
        self._scored: dict[int, float] = {}
        self._taken: set[int] = set()  # the terms (by id) whose every live document is in _scored
        self._count = None

    def number_of(self, docnum: int) -> int:
        """The segment holding the document."""
        return bisect_right(self._bases, docnum) - 1

    def _score(self, docnum: int) -> float | None:
        """The document's score, summed as union() sums it; None if it holds no term, or is deleted."""
        number = bisect_right(self._bases, docnum) - 1
        total = None
        for term in self._summed:
            found = term.segments.get(number)
            if found is None:
                continue
            base, ids, weights, offsets, deleted, _ = found
            local = docnum - base
            index = bisect_left(ids, local)
            if index == len(ids) or ids[index] != local:
                continue
            if local in deleted:
                return None
            tf = weights[index] if weights is not None else float(offsets[index + 1] - offsets[index])
            idf, length_part, k1_plus_one = term.constants
            score = idf * ((tf * k1_plus_one) / (tf + length_part[term.lengths[docnum]]))
            if term.boost != 1.0:
                score = score * term.boost
            total = score if total is None else total + score
        if total is None or self._boost == 1.0:
            return total
        return total * self._boost

    def __getitem__(self, docnum) -> float:
        score = self._scored.get(docnum)
        if score is None:
            score = self._score(docnum) if isinstance(docnum, int) else None
            if score is None:
                raise KeyError(docnum)
        return score

    def __contains__(self, docnum) -> bool:
        if docnum in self._scored:
            return True
        if not isinstance(docnum, int):
            return False
        return self._score(docnum) is not None

    def __len__(self) -> int:
        if self._whole is not None:
            return len(self._whole)
        if self._count is None:
            by_segment: dict[int, tuple[list, set]] = {}
            for term in self._terms:
                for number, (_, ids, _, _, deleted, _) in term.segments.items():
                    by_segment.setdefault(number, ([], deleted))[0].append(ids)
            count = 0
            for parts, deleted in by_segment.values():
                # The largest part counted whole, the others' documents not in it added: no set
                # made of the largest (45,497 postings of `president`'s bodies).
                largest = max(parts, key=len)
                others = set().union(*(part for part in parts if part is not largest))
                others.difference_update(largest)
                count += len(largest) + len(others)
                count -= sum(1 for docnum in deleted if docnum in others or _index(largest, docnum) is not None)
            self._count = count
        return self._count

    def whole(self) -> Mapping:
        if self._whole is None:
            self._whole = self._whole_of()
        return self._whole

    def __iter__(self):
        return iter(self.whole())

    def items(self):
        return self.whole().items()

    def values(self):
        return self.whole().values()

    def by_value(self, values, missing, descending: bool, limit: int | None) -> list[int]:
        return self.whole().by_value(values, missing, descending, limit)

    def raised(self, factors: dict[int, float]):
        return self.whole().raised(factors)

    def best(self, limit: int | None) -> list[int]:
        """ScoreDict.best(): the documents by score, best first and the lower number first among
        equals; the first `limit`."""
        if self._whole is not None or limit is None or limit <= 0:
            return self.whole().best(limit)
        scored = self._scored
        untaken = sorted((term for term in self._terms if id(term) not in self._taken), key=TermPostings.bound, reverse=True)
        bounds = [term.bound() * self._boost * _BOUND_MARGIN for term in untaken]
        scored_most = sum(term.size for term in self._terms) * SCORED_SHARE
        while untaken:
            # Any document not scored holds only untaken terms: its score is at most theirs summed.
            threshold = heapq.nlargest(limit, scored.values())[-1] if len(scored) >= limit else None
            if threshold is not None and sum(bounds) < threshold:
                break
            # The terms taken next are scored together, each term's postings looked up for their
            # documents at once: as many as it takes to have `limit` documents, or for the bounds
            # of those left to fall below the threshold so far, short of scoring too many (the
            # threshold rises as more are scored: then look again).
            taking = []
            found = set()
            while untaken and len(scored) + len(found) + untaken[0].size <= scored_most:
                taking.append(untaken.pop(0))
                bounds.pop(0)
                found.update(docnum for docnum in taking[-1].live_documents() if docnum not in scored)
                if len(scored) + len(found) >= limit if threshold is None else sum(bounds) < threshold:
                    break
            if not taking:
                return self.whole().best(limit)
            self._taken.update(map(id, taking))
            if found:
                scored.update(self._scored_within(sorted(found)))
        return heapq.nsmallest(limit, scored, key=lambda docnum: (-scored[docnum], docnum))


def _index(ids, docnum: int) -> int | None:
    """Where the document is among `ids` (increasing); None if it is not there."""
    index = bisect_left(ids, docnum)
    return index if index < len(ids) and ids[index] == docnum else None
