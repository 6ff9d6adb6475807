"""`archsearch query`: ranked articles with highlighted passages."""

import sys

import click

from archsearch.cli.options import index_option


class QueryCommand(click.Command):
    """Reads `-word` as a word to exclude, where click would take it for a cluster of short options."""

    def parse_args(self, ctx, args):
        options = [param for param in self.params if isinstance(param, click.Option)]
        short_options = {name for option in options for name in option.opts if len(name) == 2 and name[1] != "-"}
        takes_value = {name for option in options if not option.is_flag for name in option.opts}
        rewritten = []
        for position, arg in enumerate(args):
            if arg == "--":
                rewritten += args[position:]
                break
            is_option_value = position > 0 and args[position - 1] in takes_value
            if arg[:1] == "-" and arg[:2] != "--" and arg[:2] not in short_options and not is_option_value:
                arg = "NOT " + arg[1:]
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


@click.command("query", cls=QueryCommand)
@click.argument("words", nargs=-1, required=True)
@click.option("--any", "any_words", is_flag=True, help="Match articles containing any of the plain words, not all.")
@click.option("--since", metavar="DATE", help="Only articles dated DATE or later (YYYY, YYYY-MM, YYYY-MM-DD, 7d, ...).")
@click.option("--until", metavar="DATE", help="Only articles dated DATE or earlier; a month or year counts whole.")
@click.option("--undated", "include_undated", is_flag=True, help="Keep undated articles when filtering by date.")
@click.option(
    "--sort",
    type=click.Choice(["relevance", "newest", "oldest"]),
    default="relevance",
    show_default=True,
    help="Order of the hits; undated articles come last when sorting by date.",
)
@click.option(
    "-n", "--limit", type=click.IntRange(min=0), default=10, show_default=True, help="Hits to show; 0 shows all."
)
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip the first N hits (for paging).")
@click.option("--explain", is_flag=True, help="Show how the query was read, and each hit's score.")
@index_option
def command(words, any_words, since, until, include_undated, sort, limit, offset, explain, index_dir):
    """Search the index for articles matching WORDS, best first.

    All words must match unless --any is given; words match their other
    forms too ('fight' finds 'fighting'). WORDS may use OR, NOT or -word,
    parentheses, "exact phrases", prefix* and fuzzy~ words, the fields
    title: source: place: section: path:, and date:A..B ranges.
    """
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_search_result
    from archsearch.searching import search

    result = search(
        resolve_index_dir(index_dir),
        " ".join(words),
        any_words=any_words,
        limit=limit,
        offset=offset,
        sort=sort,
        since=since,
        until=until,
        include_undated=include_undated,
    )
    print_search_result(result, explain=explain)
    sys.exit(0 if result.hits else 1)
