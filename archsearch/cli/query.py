"""`archsearch query`: ranked articles with highlighted passages."""

import click

from archsearch.cli.options import (
    allow_partial_option,
    index_option,
    output_options,
    query_filter_options,
    sort_option,
)
from archsearch.query_line import Contradiction, excluded_words_read, run_query, settled


class QueryCommand(click.Command):
    """Reads `-word` as a word to exclude, where click would take it for a cluster of short options."""

    def parse_args(self, ctx, args):
        options = [param for param in self.params if isinstance(param, click.Option)]
        takes_value = {name for option in options if not option.is_flag for name in option.opts}
        short_flags = {
            name[1] for option in options if option.is_flag for name in option.opts if len(name) == 2
        }
        return super().parse_args(ctx, excluded_words_read(args, takes_value, short_flags))


@click.command("query", cls=QueryCommand)
@click.argument("words", nargs=-1, required=True)
@query_filter_options
@sort_option
@click.option(
    "-n", "--limit", type=click.IntRange(min=0), metavar="N", default=10, show_default=True,
    help="Hits to show; 0 shows all.",
)
@click.option(
    "--offset", type=click.IntRange(min=0), metavar="N", default=0, help="Skip the first N hits (for paging)."
)
@click.option("--explain", is_flag=True, help="Show how the query was read, and each hit's score.")
@click.option(
    "-l", "--files-with-matches", "paths_only", is_flag=True, help="Print only the paths of the matching files."
)
@click.option("-c", "--count", "count_only", is_flag=True, help="Print only the number of matching articles.")
@click.option("-0", "--null", is_flag=True, help="With -l, end each path with a NUL byte instead of a newline.")
@click.option(
    "--strict", is_flag=True,
    help="When no article has all the words, show none, rather than those with some of them.",
)
@click.option("--fix", is_flag=True, help="When a respelt query would match many more articles, run it instead.")
@click.option(
    "--expand", is_flag=True,
    help="Add the key terms of the best hits to the query (relevance feedback); --explain lists them.",
)
@click.option(
    "--all-copies", is_flag=True, help="Show near-identical articles (republished wire copy) as hits of their own."
)
@click.option(
    "--new", "only_new", is_flag=True,
    help="With one saved search (@name), only the articles indexed since it last ran with --new; all of them unless -n is given.",
)
@click.option("--dry-run", is_flag=True, help="With --new, show the new articles without marking them seen.")
@output_options
@index_option
@allow_partial_option
def command(
    words, any_words, ignore_case, since, until, include_undated, sort, limit, offset, explain, paths_only,
    count_only, null, strict, fix, expand, all_copies, only_new, dry_run, fmt, index_dir, allow_partial,
):
    """Search the index for articles matching WORDS, best first.

    All words must match unless --any is given; words match their other
    forms too ('fight' finds 'fighting'). WORDS may use OR, NOT or -word,
    parentheses, "exact phrases", prefix* and fuzzy~ words, the fields
    title: body: source: place: section: path: url: author:, lang:ru
    (a language), lead: (title or first paragraph) and date:A..B ranges. A word in capitals (US, WHO)
    matches only in capitals unless --ignore-case is given; =word matches
    that exact word, unstemmed, in any case.
    """
    params = dict(locals())  # the parameters, as click gives them
    context = click.get_current_context()
    limit_given = context.get_parameter_source("limit").name not in ("DEFAULT", "DEFAULT_MAP")
    try:
        params = settled(params, limit_given)
    except Contradiction as exc:
        raise click.UsageError(str(exc)) from None

    def alert_name(words: list[str]) -> str:
        """The saved search --new runs (archsearch.alerts loads for --new alone)."""
        from archsearch.alerts import saved_search_name

        return saved_search_name(context, words)

    run_query(**params, alert_name=alert_name)
