"""`archsearch open`: an article in the user's browser or editor."""

import click

from archsearch.cli.options import allow_partial_option, index_option


@click.command("open")
@click.argument("reference", metavar="@N|ID|PATH")
@click.option("--edit", is_flag=True, help="Open the article's file in $VISUAL or $EDITOR instead.")
@index_option
@allow_partial_option
def command(reference, edit, index_dir, allow_partial):
    """Open an article: its URL if it has one, else its file.

    @N is the Nth hit of the last `archsearch query` against this index.
    The opener is $BROWSER, else xdg-open (Linux) or open (macOS).
    """
    import sys

    from archsearch.lasthits import resolve
    from archsearch.location import resolve_index_dir
    from archsearch.opening import editor_command, opener_command, run_editor, start_detached
    from archsearch.engines import open_engine, print_warnings
    from archsearch.rendering import print_empty_index_note
    from archsearch.searching import EmptyIndexError

    index_dir = resolve_index_dir(index_dir)
    try:
        engine = open_engine(index_dir, allow_partial=allow_partial)
        article = engine.find_article(resolve(index_dir, reference).reference)
    except EmptyIndexError:
        print_empty_index_note(sys.stderr)
        sys.exit(1)
    print_warnings(engine, sys.stderr)
    if edit:
        sys.exit(run_editor(editor_command(article.path)))
    start_detached(opener_command(article.details.url or article.path))
