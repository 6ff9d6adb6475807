"""`archsearch stats`: what the index holds."""

import sys

import click

from archsearch.cli.options import index_option, output_options


@click.command("stats")
@output_options
@index_option
def command(fmt, index_dir):
    """Show the number of articles, their date span, sources and places,
    the folders indexed, and the index's size, location and last update.
    """
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_empty_index_note, print_stats
    from archsearch.stats import index_stats

    stats = index_stats(resolve_index_dir(index_dir))
    print_stats(stats, sys.stdout, fmt)
    if not stats.articles:
        print_empty_index_note(sys.stderr)
        sys.exit(1)
