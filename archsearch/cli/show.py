"""`archsearch show`: one article, whole."""

import sys

import click

from archsearch.cli.options import index_option, output_options


@click.command("show")
@click.argument("reference", metavar="ID|PATH")
@output_options
@index_option
def command(reference, fmt, index_dir):
    """Print one article: its metadata, then its body.

    ID is what `archsearch query` prints (the path relative to the indexed
    folder); the article's file path works too.
    """
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_article, print_empty_index_note
    from archsearch.searching import EmptyIndexError, find_article

    try:
        article = find_article(resolve_index_dir(index_dir), reference)
    except EmptyIndexError:
        print_empty_index_note(sys.stderr)
        sys.exit(1)
    print_article(article, sys.stdout, fmt)
