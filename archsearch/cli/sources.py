"""`archsearch sources`: matching articles per source and per place."""

import sys

import click

from archsearch.cli.options import (
    allow_partial_option,
    index_option,
    output_options,
    query_filter_options,
)


@click.command("sources")
@click.argument("words", nargs=-1, required=True)
@query_filter_options
@click.option(
    "--share", is_flag=True,
    help="Also divide each source's, place's and language's matches by all its articles, as a percentage.",
)
@output_options
@index_option
@allow_partial_option
def command(words, since, until, include_undated, any_words, ignore_case, share, fmt, index_dir, allow_partial):
    """Count the articles matching WORDS per source and per place, most first.

    WORDS take the same syntax as query; "(unknown)" counts articles
    whose source or place could not be read.
    """
    from archsearch.engines import open_engine, print_warnings
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_empty_index_note, print_facets

    engine = open_engine(resolve_index_dir(index_dir), allow_partial=allow_partial)
    result = engine.facets(
        " ".join(words),
        since=since,
        until=until,
        include_undated=include_undated,
        any_words=any_words,
        ignore_case=ignore_case,
        with_share=share,
    )
    print_facets(result, sys.stdout, fmt)
    print_warnings(engine, sys.stderr)
    if result.index_empty:
        print_empty_index_note(sys.stderr)
    sys.exit(0 if result.total else 1)
