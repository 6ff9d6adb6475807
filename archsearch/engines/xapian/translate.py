"""Our parsed query (querying.parse_query's Whoosh query tree) as a Xapian query, built node by
node: never through Xapian's QueryParser, whose syntax is not ours.

Words whose terms are not known in advance (prefix*, wild?ard, fuzzy~) are expanded against the
cluster's term list, as the embedded engine expands them against its own; the terms they
expand to are kept (`expanded`), for highlighting.
"""

import fnmatch
import re

from whoosh import query as wq
from whoosh.support.levenshtein import distance

from archsearch.errors import ArchsearchError
from archsearch.querying import DateFilter, IndexedAfter
from archsearch.engines.xapian.documents import DATE_SLOT, INDEXED_SLOT, field_prefix, field_term, stamp_value
from archsearch.engines.xapian.positional import PositionalFilter, PositionalNode

# A prefix, wildcard or fuzzy word matching more terms than this is refused, as a query that would
# read most of the index.
MAX_EXPANSION = 10_000


class Translation:
    def __init__(self, xapian, database):
        self.xapian = xapian
        self.database = database
        self.terms: dict[str, set[str]] = {}  # field -> the terms the query looks for there
        self._expansions: dict[tuple, list[str]] = {}
        self.positional = PositionalFilter(xapian, database, self)

    def query(self, node):
        xapian = self.xapian
        Query = xapian.Query
        if isinstance(node, DateFilter):
            return Query(
                Query.OP_VALUE_RANGE, DATE_SLOT,
                xapian.sortable_serialise(node.start), xapian.sortable_serialise(node.end),
            )
        if isinstance(node, IndexedAfter):  # a filter: it scores nothing, as on the embedded index
            return Query(Query.OP_VALUE_GE, INDEXED_SLOT, stamp_value(node.stamp + 1))
        if type(node) is wq.Term:
            self.terms.setdefault(node.fieldname, set()).add(node.text)
            return self._boosted(Query(field_term(node.fieldname, node.text)), node.boost)
        if type(node) is wq.Phrase:
            words = list(node.words)
            self.terms.setdefault(node.fieldname, set()).update(words)
            if len(words) == 1:
                return self._boosted(Query(field_term(node.fieldname, words[0])), node.boost)
            subqueries = [Query(field_term(node.fieldname, word)) for word in words]
            # Whoosh's slop 1 is words side by side; Xapian's window counts the positions spanned.
            phrase = Query(Query.OP_PHRASE, subqueries, len(words) + node.slop - 1)
            return self._boosted(phrase, node.boost)
        if isinstance(node, (wq.Prefix, wq.Wildcard, wq.FuzzyTerm)):  # fuzzy.ListedPrefix and ListedFuzzyTerm too
            return self._boosted(self._expanded(node), node.boost)
        if type(node) is wq.Every:
            return Query.MatchAll
        if type(node) is wq.NullQuery or node is wq.NullQuery:
            return Query.MatchNothing
        if type(node) is wq.Not:
            return Query(Query.OP_AND_NOT, Query.MatchAll, self.query(node.query))
        if type(node) is wq.And:
            wanted = [self.query(sub) for sub in node.subqueries if type(sub) is not wq.Not]
            unwanted = [self.query(sub.query) for sub in node.subqueries if type(sub) is wq.Not]
            positive = Query(Query.OP_AND, wanted) if wanted else Query.MatchAll
            if unwanted:
                positive = Query(Query.OP_AND_NOT, positive, Query(Query.OP_OR, unwanted))
            return self._boosted(positive, node.boost)
        if type(node) is wq.Or:
            return self._boosted(Query(Query.OP_OR, [self.query(sub) for sub in node.subqueries]), node.boost)
        if type(node) is wq.AndNot:
            return Query(Query.OP_AND_NOT, self.query(node.a), self.query(node.b))
        if type(node) is wq.AndMaybe:
            return Query(Query.OP_AND_MAYBE, self.query(node.a), self.query(node.b))
        if isinstance(node, PositionalNode):
            operands = [self.query(sub) for sub in node.subqueries]
            candidates = operands[0] if len(operands) == 1 else Query(Query.OP_AND, operands)
            return self._boosted(self.positional.matching(node, node.subqueries, candidates), node.boost)
        raise ArchsearchError(f"this part of the query does not work on a cluster yet: {node}")

    def described(self, query) -> str:
        """The query as --explain shows it: the articles a positional node kept counted, not listed."""
        description = str(query)
        for listed, shown in self.positional.shown_as.items():
            description = description.replace(f" FILTER {listed})", f" FILTER {shown})")
        return description

    def _boosted(self, query, boost: float):
        if boost == 1.0:
            return query
        return self.xapian.Query(self.xapian.Query.OP_SCALE_WEIGHT, query, boost)

    def _expanded(self, node):
        """The terms of the node's field that it matches, OR'ed."""
        prefix = field_prefix(node.fieldname)
        matched = self.expanded_words(node)
        self.terms.setdefault(node.fieldname, set()).update(matched)
        Query = self.xapian.Query
        return Query(Query.OP_OR, [Query(prefix + word) for word in matched]) if matched else Query.MatchNothing

    def expanded_words(self, node) -> list[str]:
        """The words of the node's field that a prefix, wildcard or fuzzy word matches."""
        key = (type(node), node.fieldname, node.text, getattr(node, "maxdist", None), getattr(node, "prefixlength", None))
        if key not in self._expansions:
            self._expansions[key] = self._expand(node)
        return self._expansions[key]

    def _expand(self, node) -> list[str]:
        prefix = field_prefix(node.fieldname)
        text = node.text
        if isinstance(node, wq.Prefix):
            start, keep = text, lambda word: True
        elif type(node) is wq.Wildcard:
            start = re.split(r"[*?\[]", text, maxsplit=1)[0]
            pattern = re.compile(fnmatch.translate(text))
            keep = pattern.match
        else:
            start = text[: node.prefixlength]
            maxdist = node.maxdist

            def keep(word):
                return abs(len(word) - len(text)) <= maxdist and distance(word, text) <= maxdist

        matched = []
        for item in self.database.allterms(prefix + start):
            word = item.term.decode("utf-8", "surrogateescape")[len(prefix):]
            if keep(word):
                matched.append(word)
                if len(matched) > MAX_EXPANSION:
                    raise ArchsearchError(f"'{text}' matches over {MAX_EXPANSION:,} words: give more letters")
        return matched


def translate(xapian, database, parsed_query) -> tuple[object, dict[str, frozenset[str]]]:
    """(the Xapian query, field -> the terms it looks for there)."""
    translation = Translation(xapian, database)
    query = translation.query(parsed_query)
    return query, {field: frozenset(terms) for field, terms in translation.terms.items()}
