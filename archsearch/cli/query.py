"""`archsearch query`: ranked articles with highlighted passages."""

import sys

import click

from archsearch.cli.options import index_option


@click.command("query")
@click.argument("words", nargs=-1, required=True)
@click.option("--any", "any_words", is_flag=True, help="Match articles containing any of the words, not all.")
@click.option(
    "-n", "--limit", type=click.IntRange(min=0), default=10, show_default=True, help="Hits to show; 0 shows all."
)
@index_option
def command(words, any_words, limit, index_dir):
    """Search the index for articles matching WORDS, best first.

    All words must match unless --any is given. Words match their
    other forms too: 'fight' finds 'fighting'.
    """
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_search_result
    from archsearch.searching import search

    result = search(resolve_index_dir(index_dir), " ".join(words), any_words=any_words, limit=limit)
    print_search_result(result)
    sys.exit(0 if result.hits else 1)
