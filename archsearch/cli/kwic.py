"""`archsearch kwic`: every occurrence of a query's words, with the words around it (a concordance)."""

import sys

import click

from archsearch.cli.options import (
    allow_partial_option,
    index_option,
    output_options,
    query_filter_options,
    sort_option,
)
from archsearch.cli.query import QueryCommand


@click.command("kwic", cls=QueryCommand)
@click.argument("words", nargs=-1, required=True)
@query_filter_options
@sort_option
@click.option(
    "-n", "--limit", type=click.IntRange(min=0), metavar="N", default=10, show_default=True,
    help="Articles whose occurrences to list, best first; 0 lists them all.",
)
@click.option(
    "--width", type=click.IntRange(min=0), metavar="N", default=8, show_default=True,
    help="Words of context on each side of an occurrence.",
)
@output_options
@index_option
@allow_partial_option
def command(words, any_words, ignore_case, since, until, include_undated, sort, limit, width, fmt, index_dir, allow_partial):
    """List every occurrence of the words WORDS matched, in context (keyword in context).

    Each line is one occurrence in an article's body, with --width words
    on each side; on a terminal the matched words line up in one column.
    WORDS take the same syntax as query.
    """
    from archsearch.concordance import concordance
    from archsearch.engines import open_engine, print_warnings
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_concordance, print_empty_index_note

    engine = open_engine(resolve_index_dir(index_dir), allow_partial=allow_partial)
    result = concordance(
        engine, " ".join(words), limit=limit, width=width, sort=sort, any_words=any_words,
        since=since, until=until, include_undated=include_undated, ignore_case=ignore_case,
    )
    print_concordance(result, sys.stdout, sys.stderr, fmt)
    print_warnings(engine, sys.stderr)
    if result.index_empty:
        print_empty_index_note(sys.stderr)
    sys.exit(0 if result.occurrences else 1)
