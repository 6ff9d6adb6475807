"""NEAR/n, SENTENCE() and mentions>=N: on a cluster, judged exactly as the embedded engine
judges them (evaluation.Evaluator): the articles having every operand are found by Xapian, then
the operands' word positions (read from the shards) and, for sentences, the stored text are
looked at with proximity.py's functions.  Xapian's own OP_NEAR is not used: its window counts
the positions spanned, not words between, and it knows neither phrases as operands nor sentences.
"""

from whoosh import query as wq

from archsearch.analysis import normalise, words
from archsearch.engines.whoosh.evaluation import _positional_fields, occurrences_by_field
from archsearch.proximity import Occurrence, are_near, phrase_occurrences, sentence_starts, sentence_windows
from archsearch.querying import DERIVED_TITLE_FIELD, InSentence, Mentions, Near
from archsearch.engines.whoosh.store import article_body

from archsearch.engines.xapian.documents import IDENTITY_PREFIX, IDENTITY_SLOT, field_prefix, field_term, make_term, stored_fields

PositionalNode = (Near, InSentence, Mentions)


class PositionalFilter:
    """Which of a query's candidate articles a positional node keeps, in one database."""

    def __init__(self, xapian, database, translation):
        self.xapian = xapian
        self.database = database
        self.translation = translation  # what expands words and translates the tests beside a word
        self._candidates_query = None
        self._passing: dict[str, set[int]] = {}  # a test beside a word -> the candidates passing it
        self._stored: dict[int, dict] = {}
        # The description of each list of kept articles, and what --explain shows instead of it.
        self.shown_as: dict[str, str] = {}

    def matching(self, node, operands: list, candidates_query):
        """`candidates_query` (the AND of the operands' queries) kept to the articles `node` matches."""
        Query = self.xapian.Query
        self._candidates_query, self._passing = candidates_query, {}
        kept = [docid for docid in self._candidates(candidates_query) if self._matches(node, operands, docid)]
        if not kept:
            return Query.MatchNothing
        identities = [
            Query(make_term(IDENTITY_PREFIX, self.database.get_document(docid).get_value(IDENTITY_SLOT).decode("utf-8", "surrogateescape")))
            for docid in kept
        ]
        kept_query = Query(Query.OP_OR, identities)
        self.shown_as[str(kept_query)[len("Query("):-1]] = f"<the {len(kept)} articles {node} keeps>"
        return Query(Query.OP_FILTER, candidates_query, kept_query)

    def _candidates(self, query) -> list[int]:
        enquire = self.xapian.Enquire(self.database)
        enquire.set_query(query)
        enquire.set_weighting_scheme(self.xapian.BoolWeight())
        doccount = self.database.get_doccount()
        return [item.docid for item in enquire.get_mset(0, doccount, doccount)]

    def _matches(self, node, operands, docid: int) -> bool:
        found = [self._occurrences(operand, docid) for operand in operands]
        if isinstance(node, Mentions):
            return len(found[0].get("body", ())) >= node.minimum
        for fieldname in ("title", "body"):
            placed = [sorted(each.get(fieldname, ())) for each in found]
            if not all(placed):
                continue
            if isinstance(node, Near) and are_near(placed, node.distance):
                return True
            if isinstance(node, InSentence) and sentence_windows(placed, self._sentence_starts(docid, fieldname)):
                return True
        return False

    def _occurrences(self, node, docid: int) -> dict[str, list[Occurrence]]:
        """Where `node` (see querying.checked_operand) occurs in the article's title and body."""
        if isinstance(node, wq.Term):
            return self._word_occurrences(node.fieldname, node.text, docid)
        if isinstance(node, wq.Phrase):
            found = [self._word_occurrences(node.fieldname, word, docid) for word in node.words]
            by_field = {}
            for fieldname in found[0]:
                phrases = phrase_occurrences([[first for first, _ in each.get(fieldname, ())] for each in found])
                if phrases:
                    by_field[fieldname] = phrases
            return by_field
        if isinstance(node, wq.MultiTerm):
            words = self.translation.expanded_words(node)
            return self._occurrences(wq.Or([wq.Term(node.field(), word) for word in words]), docid)
        if isinstance(node, wq.Or):
            merged: dict[str, list[Occurrence]] = {}
            for sub in node.subqueries:
                for fieldname, found in self._occurrences(sub, docid).items():
                    merged[fieldname] = merged.get(fieldname, []) + found
            return merged
        if isinstance(node, wq.And):
            # A word and its test (smart case, the language of a stem): the word where the test passes.
            positional = [sub for sub in node.subqueries if _positional_fields(sub)]
            tests = [sub for sub in node.subqueries if sub not in positional]
            if len(positional) != 1 or not all(docid in self._passing_test(test) for test in tests):
                return {}
            return self._occurrences(positional[0], docid)
        return {}

    def _passing_test(self, test) -> set[int]:
        key = repr(test)
        if key not in self._passing:
            Query = self.xapian.Query
            query = Query(Query.OP_FILTER, self._candidates_query, self.translation.query(test))
            self._passing[key] = set(self._candidates(query))
        return self._passing[key]

    def _positions(self, fieldname: str, text: str, docid: int) -> list[int]:
        try:
            # Xapian counts positions from 1, Whoosh (and proximity.py) from 0.
            return [position - 1 for position in self.database.positionlist(docid, field_term(fieldname, text))]
        except self.xapian.Error:
            return []

    def _word_occurrences(self, fieldname: str, text, docid: int) -> dict[str, list[Occurrence]]:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        positions = self._positions(fieldname, text, docid)
        if not positions:
            return {}
        return occurrences_by_field(fieldname, positions, lambda: self._title_length(docid))

    def _stored_fields(self, docid: int) -> dict:
        stored = self._stored.get(docid)
        if stored is None:
            stored = self._stored[docid] = stored_fields(self.database.get_document(docid))
        return stored

    def _title_length(self, docid: int) -> int:
        """The words of the title as `exact` holds them: none for a title made from the lead."""
        prefix = field_prefix(DERIVED_TITLE_FIELD).encode("utf-8")
        terms = self.database.termlist(docid)
        try:
            derived = terms.skip_to(prefix).term.startswith(prefix)
        except StopIteration:
            derived = False
        if derived:
            return 0
        return len(words(normalise(self._stored_fields(docid).get("title") or "")))

    def _sentence_starts(self, docid: int, fieldname: str) -> list[int]:
        stored = self._stored_fields(docid)
        text = stored.get("title") or "" if fieldname == "title" else article_body(stored)
        return sentence_starts(normalise(text))
