"""The embedded engine behind the engine interface: the Whoosh index's own functions, unchanged."""

from pathlib import Path


class WhooshEngine:
    def __init__(self, index_dir: Path):
        self.location = Path(index_dir)
        self.warnings: list[str] = []

    def search(self, text: str, **options):
        from archsearch.searching import search

        return search(self.location, text, **options)

    def timeline(self, text: str, **options):
        from archsearch.coverage import timeline

        return timeline(self.location, text, **options)

    def facets(self, text: str, **options):
        from archsearch.coverage import facets

        return facets(self.location, text, **options)

    def find_article(self, reference: str):
        from archsearch.searching import find_article

        return find_article(self.location, reference)

    def find_article_parts(self, reference: str):
        from archsearch.searching import find_article_parts

        return find_article_parts(self.location, reference)

    def similar(self, reference: str, *, limit: int = 10):
        from archsearch.related import similar

        return similar(self.location, reference, limit=limit)

    def stats(self):
        from archsearch.stats import index_stats

        return index_stats(self.location)

    def query_words(self, text: str, **parse_options) -> dict[str, frozenset[str]]:
        from archsearch.searching import query_words

        return query_words(self.location, text, **parse_options)

    def bodies(self, references: list[str]) -> list[str]:
        """The bodies of the articles named, in order, read through one searcher."""
        from archsearch.searching import locate_article
        from archsearch.engines.whoosh.store import index_searcher

        with index_searcher(self.location) as searcher:
            return [locate_article(searcher, self.location, reference)[1].body for reference in references]

    def read_result_set(self, text: str, reading, **parse_options):
        """reading(result set): what reading the articles matching `text` gives (see ResultSet)."""
        from archsearch.engines.whoosh.store import index_searcher

        with index_searcher(self.location) as searcher:
            return reading(_ResultSet(searcher, text, parse_options))


class _ResultSet:
    """The articles a query matches and the whole archive's document frequencies, as keyterms reads them."""

    def __init__(self, searcher, text: str, parse_options: dict):
        from archsearch.engines.whoosh.evaluation import Evaluator

        self._searcher = searcher
        self._reader = searcher.reader()
        self._evaluator = Evaluator(searcher)
        self._text = text
        self._parse_options = parse_options

    def doc_count(self) -> int:
        return self._searcher.doc_count()

    def matching(self):
        """(how many articles match, an iterator of their stored fields, a body kept apart read
        into `text`: long_bodies.py)."""
        from archsearch.analysis.alternatives import index_languages
        from archsearch.querying import parse_query

        parsed = parse_query(
            self._text, self._searcher.schema, languages=index_languages(self._searcher), **self._parse_options
        )
        docnums = self._evaluator.matching_documents(parsed.query)
        return len(docnums), (self._stored_fields(docnum) for docnum in docnums)

    def _stored_fields(self, docnum: int) -> dict:
        from archsearch.engines.whoosh import long_bodies

        stored = self._searcher.stored_fields(docnum)
        if long_bodies.kept_apart(stored):
            stored = {**stored, "text": long_bodies.read_body(self._searcher, docnum)}
        return stored

    def doc_frequency(self, term: str) -> int:
        """Articles whose bodies hold the index term (deleted ones too, until their segments merge)."""
        return self._reader.doc_frequency("body", term)

    def phrase_frequency(self, terms: list[str]) -> int:
        """Articles whose bodies hold the index terms in a row."""
        from whoosh.query import Phrase

        return len(self._evaluator.matching_documents(Phrase("body", terms)))
