"""`archsearch terms`: the words most characteristic of the articles a query matches."""

import sys

import click

from archsearch.cli.options import (
    allow_partial_option,
    index_option,
    output_options,
    query_filter_options,
)
from archsearch.cli.query import QueryCommand


@click.command("terms", cls=QueryCommand)
@click.argument("words", nargs=-1, required=True)
@query_filter_options
@click.option(
    "-n", "--limit", type=click.IntRange(min=0), metavar="N", default=20, show_default=True,
    help="Key terms to list, best first; 0 lists all.",
)
@click.option(
    "--phrases", is_flag=True,
    help="List two-word phrases (two words in a row) instead of single words.",
)
@output_options
@index_option
@allow_partial_option
def command(words, any_words, ignore_case, since, until, include_undated, limit, phrases, fmt, index_dir, allow_partial):
    """List the words most characteristic of the articles matching WORDS.

    Each word is scored by Dunning's log-likelihood (G²) of the number of
    matching articles using it against the number of all articles using
    it; the query's own words are left out. WORDS take the same syntax as
    query.
    """
    from archsearch.keyterms import key_terms
    from archsearch.engines import open_engine, print_warnings
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_empty_index_note, print_key_terms

    engine = open_engine(resolve_index_dir(index_dir), allow_partial=allow_partial)
    result = key_terms(
        engine, " ".join(words), limit=limit, phrases=phrases, any_words=any_words, since=since, until=until,
        include_undated=include_undated, ignore_case=ignore_case,
    )
    print_key_terms(result, sys.stdout, sys.stderr, fmt)
    print_warnings(engine, sys.stderr)
    if result.index_empty:
        print_empty_index_note(sys.stderr)
    sys.exit(0 if result.terms else 1)
