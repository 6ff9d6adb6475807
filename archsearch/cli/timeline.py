"""`archsearch timeline`: how many matching articles per day, week, month or year."""

import sys

import click

from archsearch.cli.options import (
    allow_partial_option,
    any_option,
    ignore_case_option,
    index_option,
    output_options,
    since_option,
    until_option,
)


@click.command("timeline")
@click.argument("words", nargs=-1, required=True)
@click.option(
    "--by",
    type=click.Choice(["day", "week", "month", "year"]),
    default="month",
    show_default=True,
    help="Length of the periods counted.",
)
@since_option
@until_option
@any_option
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write the chart to FILE, as SVG or PNG by its extension (needs the plot extra).",
)
@ignore_case_option
@click.option(
    "--share", is_flag=True,
    help="Also divide each period's matches by all articles of that period, as a percentage.",
)
@output_options
@index_option
@allow_partial_option
def command(words, by, since, until, any_words, plot_file, ignore_case, share, fmt, index_dir, allow_partial):
    """Count the articles matching WORDS in each period: coverage over time.

    Empty periods between the first and the last are shown too; undated
    matches are counted apart. WORDS take the same syntax as query.
    """
    if plot_file is not None:
        from archsearch.plotting import check_plotting

        check_plotting(plot_file)  # before the search, which may take a while
    from archsearch.engines import open_engine, print_warnings
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_empty_index_note, print_timeline

    engine = open_engine(resolve_index_dir(index_dir), allow_partial=allow_partial)
    result = engine.timeline(
        " ".join(words), by=by, since=since, until=until, any_words=any_words,
        ignore_case=ignore_case, with_share=share,
    )
    if plot_file is not None:
        from archsearch.plotting import write_timeline_chart

        write_timeline_chart(result, plot_file)
    print_timeline(result, sys.stdout, fmt)
    print_warnings(engine, sys.stderr)
    if result.index_empty:
        print_empty_index_note(sys.stderr)
    sys.exit(0 if result.total else 1)
