"""More like this: the articles closest to a given one, near-identical copies of it left out."""

import time
from collections import Counter
from pathlib import Path

from whoosh.classify import Expander
from whoosh.query import Or, Term

from archsearch.analysis import terms as analysed_terms
from archsearch.engines.whoosh.store import index_searcher
from archsearch.nearduplicates import copies_of, copy_groups
from archsearch.searching import EmptyIndexError, SearchResult, locate_article, make_hit, weighting

# How many distinctive words of the article make the query, from its body and its title.
BODY_TERMS = 25
TITLE_TERMS = 6


def similar(index_dir: Path, reference: str, *, limit: int = 10) -> SearchResult:
    started = time.perf_counter()
    with index_searcher(index_dir, weighting()) as searcher:
        try:
            docnum, article = locate_article(searcher, index_dir, reference)
        except EmptyIndexError:
            return SearchResult(
                query=f"similar to {reference}", hits=[], total=0, elapsed=time.perf_counter() - started,
                index_empty=True,
            )
        stored = searcher.stored_fields(docnum)
        language = stored.get("language", "")
        with copy_groups(index_dir) as groups:
            excluded = {docnum, *copies_of(searcher, groups, docnum, stored, None)}
        terms = [
            Term(fieldname, word, boost=weight)
            for fieldname, text, count in (("body", article.body, BODY_TERMS), ("title", article.title, TITLE_TERMS))
            if text
            for word, weight in key_terms(searcher, fieldname, text, language, count)
        ]
        query = Or(terms)
        results = searcher.search(query, limit=limit or None, mask=excluded, terms=True)
        hits = [make_hit(rank, hit) for rank, hit in enumerate(results, start=1)]
        total = len(searcher.search(query, limit=None, scored=False, mask=excluded))
    return SearchResult(
        query=f"similar to {article.id}",
        hits=hits,
        total=total,
        elapsed=time.perf_counter() - started,
        explanation=[f"similar to {article.id}: {query}", f"left out as copies: {len(excluded) - 1}"],
    )


def key_terms(searcher, fieldname: str, text: str, language: str, count: int) -> list[tuple[str, float]]:
    """The text's most distinctive terms in the field, analysed in the article's language.

    Whoosh's key_terms_from_text() would analyse the text without its language.
    """
    expander = Expander(searcher.reader(), fieldname)
    expander.add(Counter(analysed_terms(text, language)).items())
    return expander.expanded_terms(count)
