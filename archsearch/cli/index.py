"""`archsearch index`: build or update the index from folders of articles."""

import click

from archsearch.cli.options import index_option


@click.command("index")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False))
@index_option
def command(folders, index_dir):
    """Index the articles in FOLDERS (every file, recursively).

    With no FOLDERS, re-index the folders the index already covers, or
    ./seeds for a new index. Only new and changed files are read again;
    articles whose files were deleted are removed.
    """
    from archsearch.indexing import update_index
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_index_report

    report = update_index(resolve_index_dir(index_dir), list(folders))
    print_index_report(report)
