"""`archsearch browse`: search and read interactively in the terminal (Textual, the browse extra)."""

import sys

import click

from archsearch.cli.options import (
    allow_partial_option,
    index_option,
    query_filter_options,
    sort_option,
)


@click.command(
    "browse", short_help="Search and read interactively in the terminal (the browse extra)."
)
@click.argument("words", nargs=-1)
@query_filter_options
@sort_option
@index_option
@allow_partial_option
def command(words, any_words, ignore_case, since, until, include_undated, sort, index_dir, allow_partial):
    """Browse the index interactively: search as you type, read the
    articles with their matches highlighted, narrow by source, place or
    year, see the timeline, and save the results as CSV.

    WORDS, when given, are the first query. Keys: / search, Enter or
    down to the hits, Enter to read, n and p next and previous match,
    f facets, x clear them, o open, e edit, c copy the path, s save
    CSV, q or Ctrl-C quit. Needs the browse extra:
    pip install 'archsearch[browse]'.
    """
    from archsearch.errors import ArchsearchError

    try:
        from archsearch.browser.app import BrowseApp
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "textual":
            raise ArchsearchError(
                "archsearch browse needs Textual, which is not installed: pip install 'archsearch[browse]'"
            ) from None
        raise
    from archsearch.browser.session import Session
    from archsearch.config import OptionNames, expand_references, load_config
    from archsearch.engines import is_cluster
    from archsearch.location import resolve_index_dir
    from archsearch.engines.whoosh.store import open_index

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ArchsearchError("archsearch browse needs a terminal (for a pipe, use archsearch query)")
    index = resolve_index_dir(index_dir)
    if not is_cluster(index):
        open_index(index)  # no index is an error here, not on a screen that just opened
    config = load_config()
    options = OptionNames.of(click.get_current_context().command)
    session = Session(  # a cluster's shards are reached here: one down is an error before the screen opens
        index, any_words=any_words, since=since, until=until, include_undated=include_undated, sort=sort,
        ignore_case=ignore_case, allow_partial=allow_partial,
        expand=lambda text: expand_references(config, text, options),
    )
    BrowseApp(session, " ".join(words)).run()
