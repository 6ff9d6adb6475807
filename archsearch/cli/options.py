"""Options shared by several commands."""

import functools

import click

index_option = click.option(
    "--index",
    "index_dir",
    metavar="DIR",
    envvar="ARCHSEARCH_INDEX",
    help="Index folder, or a cluster file (*.toml). Default: $ARCHSEARCH_INDEX, else $XDG_DATA_HOME/archsearch "
    "(~/.local/share/archsearch).",
)

allow_partial_option = click.option(
    "--allow-partial",
    is_flag=True,
    help="On a cluster index, answer from the shards that answer when some are down (with a warning).",
)

any_option = click.option(
    "--any", "any_words", is_flag=True, help="Match articles containing any of the plain words, not all."
)
since_option = click.option(
    "--since", metavar="DATE", help="Only articles dated DATE or later (YYYY, YYYY-MM, YYYY-MM-DD, 7d, ...)."
)
until_option = click.option(
    "--until", metavar="DATE", help="Only articles dated DATE or earlier; a month or year counts whole."
)
undated_option = click.option(
    "--undated", "include_undated", is_flag=True, help="Keep undated articles when filtering by date."
)
ignore_case_option = click.option(
    "-i",
    "--ignore-case",
    is_flag=True,
    help="Turn smart case off: words typed in capitals (US, WHO) match in any case.",
)


def query_filter_options(command):
    """--any, --ignore-case, --since, --until and --undated: what narrows the articles a query
    matches, the same on every command that takes a query."""
    for option in (undated_option, until_option, since_option, ignore_case_option, any_option):
        command = option(command)
    return command


sort_option = click.option(
    "--sort",
    type=click.Choice(["relevance", "newest", "oldest"]),
    default="relevance",
    show_default=True,
    help="Order of the hits; undated articles come last when sorting by date.",
)


def output_options(command):
    """--json, --format, --bom and --color, resolved into one `fmt` argument: human, plain, json, tsv,
    csv or csv+bom."""

    @click.option("--json", "as_json", is_flag=True, help="JSON Lines output (same as --format json).")
    @click.option(
        "--format",
        "requested_format",
        type=click.Choice(["plain", "json", "tsv", "csv"]),
        help="Output format. Default: coloured on a terminal, plain text in a pipe.",
    )
    @click.option(
        "--bom",
        is_flag=True,
        help="With --format csv, start with a UTF-8 byte order mark, so that Excel reads the accents right.",
    )
    @click.option(
        "--color",
        "--colour",
        "color",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        show_default=True,
        help="Colour: auto means only on a terminal, and never when NO_COLOR is set or TERM=dumb.",
    )
    @functools.wraps(command)
    def wrapper(*args, as_json, requested_format, bom, color, **kwargs):
        import sys

        from archsearch.query_line import Contradiction, chosen_format

        try:
            fmt = chosen_format(as_json, requested_format, bom, color, sys.stdout)
        except Contradiction as exc:
            raise click.UsageError(str(exc)) from None
        return command(*args, fmt=fmt, **kwargs)

    return wrapper
