"""`archsearch show`: one article, whole."""

import sys
from itertools import chain

import click

from archsearch.cli.options import allow_partial_option, index_option, output_options
from archsearch.records import replace


@click.command("show")
@click.argument("reference", metavar="@N|ID|PATH")
@click.option(
    "--query", "query_text", metavar="WORDS",
    help="Highlight the words WORDS match in the article (for @N, the remembered query's words are the default).",
)
@click.option("--no-pager", is_flag=True, help="Print straight to the terminal rather than through $PAGER or less.")
@output_options
@index_option
@allow_partial_option
def command(reference, query_text, no_pager, fmt, index_dir, allow_partial):
    """Print one article: its metadata, then its body.

    @N is the Nth hit of the last `archsearch query` against this index.
    ID is what `archsearch query` prints (the path relative to the indexed
    folder); the article's file path works too. At a terminal the article
    goes through a pager ($PAGER, else `less -R`).
    """
    from archsearch.lasthits import resolve
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import paged, print_article, print_empty_index_note
    from archsearch.engines import open_engine, print_warnings
    from archsearch.searching import EmptyIndexError, article_matches_by_chunks, paragraph_chunks

    index_dir = resolve_index_dir(index_dir)
    named = resolve(index_dir, reference)
    engine = open_engine(index_dir, allow_partial=allow_partial)
    try:
        # A long body's opening, and the rest read as it is written (a pager may take it lazily).
        article, rest = engine.find_article_parts(named.reference)
    except EmptyIndexError:
        print_empty_index_note(sys.stderr)
        sys.exit(1)
    words = query_text if query_text is not None else named.query
    body = chain([article.body], rest)
    if fmt not in ("human", "plain"):  # the body whole, nothing marked
        title_matches, chunks = (), iter([("".join(body), ())])
    elif words.strip():
        title_matches, chunks = article_matches_by_chunks(
            article.title, body, article.details.language, engine.query_words(words)
        )
    else:
        title_matches, chunks = (), ((chunk, ()) for chunk in paragraph_chunks(body))
    first, first_matches = next(chunks)
    with paged(sys.stdout, wanted=not no_pager) as out:
        print_article(replace(article, body=first), out, fmt, title_matches, first_matches, chunks)
    print_warnings(engine, sys.stderr)
