"""`archsearch query`: ranked articles with highlighted passages."""

import sys

import click

from archsearch.cli.options import (
    allow_partial_option,
    index_option,
    output_options,
    query_filter_options,
    sort_option,
)


class QueryCommand(click.Command):
    """Reads `-word` as a word to exclude, where click would take it for a cluster of short options."""

    def parse_args(self, ctx, args):
        options = [param for param in self.params if isinstance(param, click.Option)]
        takes_value = {name for option in options if not option.is_flag for name in option.opts}
        short_flags = {
            name[1] for option in options if option.is_flag for name in option.opts if len(name) == 2
        }
        rewritten = []
        for position, arg in enumerate(args):
            if arg == "--":
                rewritten += args[position:]
                break
            is_option_value = position > 0 and args[position - 1] in takes_value
            if arg[:1] == "-" and arg[:2] != "--" and len(arg) > 1 and not is_option_value:
                if not self._is_short_option(arg, takes_value, short_flags):
                    arg = "NOT " + arg[1:]
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)

    @staticmethod
    def _is_short_option(arg, takes_value, short_flags) -> bool:
        # -n5 and -n are options; -l0 is two flags; -nation and -coronavirus are words to exclude.
        if arg[:2] in takes_value:
            return len(arg) == 2 or arg[2:].isdigit()
        return all(letter in short_flags for letter in arg[1:])


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
    from archsearch.lasthits import remember
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_paths, print_result_notes, print_search_result
    from archsearch.engines import open_engine, print_warnings

    context = click.get_current_context()
    if (paths_only or only_new) and context.get_parameter_source("limit").name in ("DEFAULT", "DEFAULT_MAP"):
        # like grep -l, every matching file unless a limit is asked for; and every new article,
        # since those left out would not be new next time
        limit = 0
    if null and not paths_only:
        raise click.UsageError("-0/--null only goes with -l/--files-with-matches")
    if paths_only and count_only:
        raise click.UsageError("-l and -c contradict each other")
    if dry_run and not only_new:
        raise click.UsageError("--dry-run only goes with --new")
    if only_new and offset:
        raise click.UsageError("--offset does not go with --new: the articles skipped would not be new next time")

    index_dir = resolve_index_dir(index_dir)
    alert = None
    if only_new:
        from archsearch.alerts import last_seen, saved_search_name

        alert = saved_search_name(context, list(words))
    engine = open_engine(index_dir, allow_partial=allow_partial)
    result = engine.search(
        " ".join(words),
        any_words=any_words,
        limit=limit,
        offset=offset,
        sort=sort,
        since=since,
        until=until,
        include_undated=include_undated,
        with_snippets=not (paths_only or count_only),
        collapse_copies=not (all_copies or paths_only or count_only),
        fix=fix,
        expand=expand,
        ignore_case=ignore_case,
        # -c and -l answer scripts, which count on every article counted or listed having all the
        # words; so does an alert feed.
        relax_when_empty=not (strict or paths_only or count_only or only_new),
        indexed_after=last_seen(index_dir, alert) if alert else None,
    )
    print_warnings(engine, sys.stderr)
    if count_only:
        sys.stdout.write(f"{result.total}\n")
        print_result_notes(result, sys.stderr)
        mark_seen(index_dir, alert, result, dry_run)
        sys.exit(0 if result.total else 1)
    not_remembered = remember(index_dir, result.query, [(hit.rank, hit.reference) for hit in result.hits])
    if not_remembered:
        sys.stderr.write(f"archsearch: warning: {not_remembered}\n")
    if paths_only:
        print_paths(result, sys.stdout, null)
        print_result_notes(result, sys.stderr)
    else:
        print_search_result(result, sys.stdout, sys.stderr, fmt, explain=explain)
    mark_seen(index_dir, alert, result, dry_run)
    sys.exit(0 if result.hits else 1)


def mark_seen(index_dir, alert: str | None, result, dry_run: bool) -> None:
    """After the new articles are written out: the next `@alert --new` starts after them."""
    if alert and not dry_run:
        from archsearch.alerts import record_seen

        sys.stdout.flush()  # a reader gone away (BrokenPipeError) is told of first: nothing marked seen then
        record_seen(index_dir, alert, result.newest_indexed)
