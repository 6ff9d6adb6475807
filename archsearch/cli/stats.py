"""`archsearch stats`: what the index holds."""

import sys

import click

from archsearch.cli.options import allow_partial_option, index_option, output_options


@click.command("stats")
@output_options
@index_option
@allow_partial_option
def command(fmt, index_dir, allow_partial):
    """Show the number of articles, their date span, sources and places,
    the folders indexed, and the index's size, location and last update
    (on a cluster, its shards and their articles).
    """
    from archsearch.engines import open_engine, print_warnings
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_empty_index_note, print_stats

    engine = open_engine(resolve_index_dir(index_dir), allow_partial=allow_partial)
    stats = engine.stats()
    print_stats(stats, sys.stdout, fmt)
    print_warnings(engine, sys.stderr)
    if not stats.articles:
        print_empty_index_note(sys.stderr)
        sys.exit(1)
