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

    def similar(self, reference: str, *, limit: int = 10):
        from archsearch.related import similar

        return similar(self.location, reference, limit=limit)

    def query_words(self, text: str, **parse_options) -> dict[str, frozenset[str]]:
        from archsearch.searching import query_words

        return query_words(self.location, text, **parse_options)
