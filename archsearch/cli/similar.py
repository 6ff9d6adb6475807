"""`archsearch similar`: the articles most like a given one."""

import sys

import click

from archsearch.cli.options import allow_partial_option, index_option, output_options


@click.command("similar")
@click.argument("reference", metavar="@N|ID|PATH")
@click.option(
    "-n", "--limit", type=click.IntRange(min=0), metavar="N", default=10, show_default=True,
    help="Hits to show; 0 shows all.",
)
@output_options
@index_option
@allow_partial_option
def command(reference, limit, fmt, index_dir, allow_partial):
    """Show the articles most like ID (or @N, the Nth hit of the last query): related stories, not copies.

    Similarity comes from the article's most distinctive words (Whoosh's
    more-like-this over title and body); near-identical copies of it
    are left out.
    """
    from archsearch.lasthits import resolve
    from archsearch.location import resolve_index_dir
    from archsearch.engines import open_engine, print_warnings
    from archsearch.rendering import print_search_result

    index_dir = resolve_index_dir(index_dir)
    engine = open_engine(index_dir, allow_partial=allow_partial)
    result = engine.similar(resolve(index_dir, reference).reference, limit=limit)
    print_search_result(result, sys.stdout, sys.stderr, fmt)
    print_warnings(engine, sys.stderr)
    sys.exit(0 if result.hits else 1)
